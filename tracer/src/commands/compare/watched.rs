//! The processes a live compare watches, and how each one ended, seen the
//! same way in every window whatever the mode: by tracer's fork, exec and
//! exit tracepoint programs alone (`sched_process_fork/exec/exit`). The
//! syscall programs are detached for the whole compare, so the untraced
//! windows stay untraced: a process pays for these programs only when it
//! forks, execs or exits, never on a syscall.
//!
//! The set is the tree under `-p PID` (the kernel marks every child as it
//! is forked), the processes that exec with a `--comm` name (plus their
//! parents, watched but not counted, so that a supervisor's restarts are
//! seen from their fork), or those of a `--cgroup` (its processes at the
//! start, and the ones that exec in it). Each becomes a [`Process`] of the
//! table that `windows` places.

use std::{
    collections::HashMap,
    os::fd::OwnedFd,
    path::{Path, PathBuf},
};

use anyhow::{Context as _, Result, bail};

use super::windows::Process;
use crate::{
    daemon::host::{Host, ProcFs},
    ebpf::EbpfSource,
    event::{Event, TaskEvent},
    procfs,
};

/// Ring for task records only: 4 MiB holds ~100k of them, more than any
/// service forks between two drains.
const RING_BYTES: u32 = 4 << 20;

/// What the compare watches.
#[derive(Clone, Debug)]
pub enum Target {
    /// This process and every process it starts.
    Pid(u32),
    /// The processes of this name.
    Comm(String),
    /// The processes of this cgroup (its path as given, its id).
    Cgroup { path: PathBuf, id: u64 },
}

impl Target {
    /// Checks what the user named, before anything is loaded.
    pub fn check(pid: Option<i32>, comm: Option<&str>, cgroup: Option<&Path>) -> Result<Self> {
        if let Some(pid) = pid {
            procfs::check(pid)?;
            let tgid = procfs::tgid(pid)?;
            return Ok(Self::Pid(tgid as u32));
        }
        if let Some(comm) = comm {
            if comm.is_empty() || comm.len() > 15 || comm.contains('\0') {
                bail!(
                    "--comm {comm:?} is not a process name (1 to 15 bytes, as in /proc/PID/comm)"
                );
            }
            return Ok(Self::Comm(comm.to_owned()));
        }
        if let Some(path) = cgroup {
            let text = path.to_string_lossy();
            let cgroup = ProcFs
                .resolve_cgroup(&text)
                .map_err(|e| anyhow::anyhow!("--cgroup {text}: {e}"))?;
            return Ok(Self::Cgroup {
                path: path.to_owned(),
                id: cgroup.id,
            });
        }
        bail!("nothing to watch: give -p PID, --comm NAME or --cgroup PATH")
    }

    /// How the target is named in the output.
    pub fn describe(&self) -> String {
        match self {
            Self::Pid(pid) => format!(
                "process {pid} ({}) and its children",
                procfs::comm(*pid).unwrap_or_default()
            ),
            Self::Comm(name) => format!("processes named {name}"),
            Self::Cgroup { path, .. } => format!("cgroup {}", path.display()),
        }
    }
}

/// A live process of the table, by tgid.
#[derive(Clone, Copy, Debug)]
struct Live {
    index: usize,
}

/// The watched set and every process of it seen so far.
pub struct Watched {
    source: EbpfSource,
    target: Target,
    /// Every process seen, in the order seen: what `windows` places.
    pub procs: Vec<Process>,
    /// The live ones, by tgid.
    live: HashMap<u32, Live>,
    /// Tasks forked by watched processes, not yet known to be processes
    /// rather than threads: tid → (fork time, parent's index).
    forked: HashMap<u32, (u64, Option<usize>)>,
    /// How the `-p` process ended, once it has.
    pub root_ended: Option<Option<i32>>,
    /// Run-time statistics while on (`enable_stats`), and what the task
    /// programs had run when they were turned on.
    stats: Option<(OwnedFd, (u64, u64))>,
    /// Task program (run time ns, runs) summed over the measured stretches,
    /// and how long those lasted.
    pub cost: (u64, u64),
    pub cost_ns: u64,
    stats_since: u64,
}

impl Watched {
    /// Loads the task programs (the syscall programs detached), and puts
    /// the target's processes running now in the set.
    pub fn start(target: Target) -> Result<Self> {
        let mut source = EbpfSource::load_task_programs(RING_BYTES)
            .context("cannot load the fork/exec/exit programs")?;
        // No sampling of its own: the compare measures the task programs
        // itself, and never while a recorder's programs run (statistics
        // cost every program two clock reads per run).
        source.stop_sampling();
        let mut watched = Self {
            source,
            target,
            procs: Vec::new(),
            live: HashMap::new(),
            forked: HashMap::new(),
            root_ended: None,
            stats: None,
            cost: (0, 0),
            cost_ns: 0,
            stats_since: 0,
        };
        match watched.target.clone() {
            Target::Pid(pid) => {
                // Twice: a child forked while the first pass marked its
                // parent may have been missed by both the pass and the
                // kernel.
                for _ in 0..2 {
                    for tgid in tree(pid) {
                        watched.add_running(tgid, true)?;
                    }
                }
                if !watched.live.contains_key(&pid) {
                    bail!("process {pid} exited before it could be watched");
                }
            }
            Target::Comm(name) => {
                watched
                    .source
                    .watch_comm(&name)
                    .context("cannot watch the name")?;
                for tgid in all_processes() {
                    if procfs::comm(tgid).as_deref() == Some(name.as_str()) {
                        watched.add_running(tgid, true)?;
                        watched.add_parent_of(tgid)?;
                    }
                }
            }
            Target::Cgroup { id, path } => {
                watched
                    .source
                    .watch_cgroup(id)
                    .context("cannot watch the cgroup")?;
                let dir = cgroup_dir(&path)?;
                let procs = std::fs::read_to_string(dir.join("cgroup.procs"))
                    .with_context(|| format!("cannot read {}/cgroup.procs", dir.display()))?;
                for tgid in procs.lines().filter_map(|l| l.trim().parse().ok()) {
                    watched.add_running(tgid, true)?;
                }
            }
        }
        Ok(watched)
    }

    /// Puts process `tgid`, running since before the compare, in the set.
    fn add_running(&mut self, tgid: u32, counted: bool) -> Result<Option<usize>> {
        if let Some(live) = self.live.get(&tgid) {
            return Ok(Some(live.index));
        }
        if tgid == std::process::id() || procfs::check(tgid as i32).is_err() {
            return Ok(None);
        }
        self.source
            .trace(tgid, false)
            .with_context(|| format!("cannot watch process {tgid}"))?;
        Ok(Some(self.insert(tgid, None, None, counted)))
    }

    /// With `--comm`: watches the parent of a named process too (not
    /// counted), so that the processes it starts are seen from their fork
    /// and a recorder attached to it follows them. Never PID 1.
    fn add_parent_of(&mut self, tgid: u32) -> Result<()> {
        match parent_of(tgid) {
            Some(parent) if parent > 1 => {
                if let Some(parent) = self.add_running(parent, false)?
                    && let Some(child) = self.live.get(&tgid)
                {
                    self.procs[child.index].parent = Some(parent);
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn insert(
        &mut self,
        tgid: u32,
        start_ns: Option<u64>,
        parent: Option<usize>,
        counted: bool,
    ) -> usize {
        let index = self.procs.len();
        self.procs.push(Process {
            tgid,
            parent,
            start_ns,
            end: None,
            counted,
        });
        self.live.insert(tgid, Live { index });
        index
    }

    /// Whether a process is counted as a run.
    fn counts(&self, comm: &str) -> bool {
        match &self.target {
            Target::Comm(name) => comm == name,
            Target::Pid(_) | Target::Cgroup { .. } => true,
        }
    }

    /// The process `tgid` as the table has it, made a process of the table
    /// if it was only known as a forked task.
    fn index_of(&mut self, tgid: u32) -> Option<usize> {
        if let Some(live) = self.live.get(&tgid) {
            return Some(live.index);
        }
        let (ts, parent) = self.forked.remove(&tgid)?;
        Some(self.insert(tgid, Some(ts), parent, true))
    }

    /// Takes in what the kernel reported since the last call.
    pub fn poll(&mut self) -> Result<()> {
        let mut events = Vec::new();
        self.source.drain(|e| events.push(e));
        for event in events {
            let Event::Task(task) = event else { continue };
            match task {
                TaskEvent::Spawned {
                    ts_ns,
                    parent_tgid,
                    tid,
                    ..
                } => {
                    let parent = self.index_of(parent_tgid);
                    self.forked.insert(tid, (ts_ns, parent));
                }
                TaskEvent::Named {
                    ts_ns, tgid, comm, ..
                } => {
                    if self.index_of(tgid).is_none() {
                        // Started outside the set and exec'd into it (the
                        // name or cgroup matched): from its exec on.
                        let parent =
                            parent_of(tgid).and_then(|p| self.live.get(&p).map(|l| l.index));
                        let counted = self.counts(&comm);
                        self.insert(tgid, Some(ts_ns), parent, counted);
                        if matches!(self.target, Target::Comm(_)) {
                            self.add_parent_of(tgid)?;
                        }
                    }
                }
                TaskEvent::Exited {
                    ts_ns,
                    tgid,
                    tid,
                    group_dead,
                    ref comm,
                    status,
                    ..
                } => {
                    if !group_dead {
                        // A thread: not a process of the table.
                        self.forked.remove(&tid);
                        continue;
                    }
                    let counted = self.counts(comm);
                    let Some(index) = self.index_of(tgid) else {
                        continue;
                    };
                    self.live.remove(&tgid);
                    self.forked.remove(&tid);
                    let p = &mut self.procs[index];
                    p.end = Some((ts_ns, status));
                    // The name at exit decides (a child of a named
                    // process that exec'd something else is not a run).
                    p.counted &= counted;
                    if self.target_root() == Some(tgid) {
                        self.root_ended = Some(status);
                    }
                }
                // Deliveries are the signal program's, which is not attached.
                TaskEvent::Signal { .. } | TaskEvent::Stopped { .. } => {}
            }
        }
        Ok(())
    }

    fn target_root(&self) -> Option<u32> {
        match self.target {
            Target::Pid(pid) => Some(pid),
            _ => None,
        }
    }

    /// The processes a recorder should attach to now: the `-p` process,
    /// and every live process of the set that has run for `min_age_ns` (a
    /// younger one may be gone before the recorder gets to it; what it
    /// starts is not counted as followed, which the placement sees).
    pub fn attach_targets(&self, now_ns: u64, min_age_ns: u64) -> Vec<(u32, usize)> {
        let mut targets: Vec<(u32, usize)> = self
            .live
            .iter()
            .filter(|(tgid, live)| {
                Some(**tgid) == self.target_root()
                    || self.procs[live.index]
                        .start_ns
                        .is_none_or(|s| s + min_age_ns <= now_ns)
            })
            .map(|(&tgid, live)| (tgid, live.index))
            .collect();
        targets.sort_unstable();
        targets
    }

    /// Task records the ring could not take: exits that may have been
    /// missed.
    pub fn lost(&self) -> u64 {
        self.source.lost_tasks()
    }

    /// Turns the kernel's run-time statistics on (`true`) or off, adding
    /// what the task programs ran while they were on to [`Watched::cost`].
    pub fn measure(&mut self, on: bool, now_ns: u64) {
        match (on, self.stats.take()) {
            (true, None) => {
                if let Ok(fd) = aya::sys::enable_stats(aya::sys::Stats::RunTime) {
                    let at = self.source.task_program_totals().unwrap_or_default();
                    self.stats = Some((fd, at));
                    self.stats_since = now_ns;
                }
            }
            (false, Some((fd, at))) => {
                let now = self.source.task_program_totals().unwrap_or(at);
                drop(fd);
                self.cost.0 += now.0.saturating_sub(at.0);
                self.cost.1 += now.1.saturating_sub(at.1);
                self.cost_ns += now_ns.saturating_sub(self.stats_since);
            }
            (_, stats) => self.stats = stats,
        }
    }
}

/// The parent of process `pid` (`/proc/PID/stat`), while it runs.
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(") ")?;
    rest.split(' ').nth(1)?.parse().ok()
}

/// Every process now, by tgid.
fn all_processes() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Process `root` and its descendants now.
fn tree(root: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = all_processes()
        .into_iter()
        .filter_map(|pid| Some((pid, parent_of(pid)?)))
        .collect();
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let p = found[i];
        found.extend(parents.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    found
}

/// The directory of cgroup `path` (absolute, or relative to the cgroup v2
/// mount as `/proc/PID/cgroup` names it).
fn cgroup_dir(path: &Path) -> Result<PathBuf> {
    if path.join("cgroup.procs").exists() {
        return Ok(path.to_owned());
    }
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")
        .context("cannot read /proc/self/mountinfo")?;
    let mount = crate::daemon::host::cgroup2_mount(&mountinfo)
        .context("no cgroup v2 hierarchy is mounted")?;
    let relative = path.to_string_lossy();
    Ok(PathBuf::from(format!(
        "{}/{}",
        mount.trim_end_matches('/'),
        relative.trim_start_matches('/')
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tree_of_this_process_holds_its_children() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let t = tree(std::process::id());
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(t[0], std::process::id());
        assert!(t.contains(&child.id()), "{t:?}");
        assert_eq!(
            parent_of(std::process::id()),
            Some(std::os::unix::process::parent_id())
        );
    }
}
