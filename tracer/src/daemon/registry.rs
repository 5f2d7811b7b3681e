//! The daemon's registry of watches and watched processes: who watches
//! what (and may), which process belongs to which watch, and what each
//! event does: into the process's ring, to the watch's streams, or a
//! trigger that turns a ring into a dump.
//!
//! Everything here runs on the collector thread and is plain state: the
//! kernel is reached through [`Kernel`], `/proc` and the cgroup tree
//! through [`Host`], so that the logic is tested with synthetic events.
//! The parts it uses each have their own module: [`super::ring`] (the
//! bounded history), [`super::triggers`] (why and how often to dump),
//! [`super::ending`] (how a process ended), [`super::streams`] (clients
//! following a watch).

use std::collections::{HashMap, VecDeque};

use regex::bytes::RegexSet;
use tokio::sync::mpsc;

use super::{
    api::{DumpInfo, ProcessInfo, WatchInfo, WatchTarget},
    dump::DumpJob,
    ending::Ending,
    host::{Host, Kernel},
    ring::{Keep, Ring},
    streams::Stream,
    triggers::{Bucket, Reason},
};
use crate::{
    event::{Event, Owner, SyscallEvent, TaskEvent},
    hash::IntHasher,
    pipeline::SHOWN_BYTES,
    recording::Item,
    request::{Attributor, patterns::Patterns},
    stdio::note,
    syscalls::capture_spec,
};
use tracer_common::capture;

/// The registry's knobs (from the command line and the config file).
#[derive(Clone, Debug)]
pub struct Settings {
    /// How much history each process's ring keeps.
    pub keep: Keep,
    /// After-context: how long a live process goes on being recorded after
    /// a trigger before its ring is dumped.
    pub after_ns: u64,
    /// Patterns in written data that trigger a dump, with their names.
    pub patterns: Vec<(String, String)>,
    /// Rate limit per watch: at most `burst` dumps at once, then one per
    /// `refill_ns`.
    pub burst: u32,
    pub refill_ns: u64,
    /// Keep captured data whole in rings and dumps; by default only the
    /// prefix text mode shows (as `record` without `--keep-payload`),
    /// once patterns and attribution have seen all of it.
    pub keep_payload: bool,
    /// Request ID patterns for attribution, as `record`'s.
    pub request_ids: Patterns,
}

struct Watch {
    target: WatchTarget,
    owner: u32,
    cgroup_id: Option<u64>,
    dumps: u64,
    suppressed: u64,
    bucket: Bucket,
    streams: Vec<Stream>,
}

/// A watched process: its ring and what the registry knows of it.
struct Watched {
    watch: u64,
    comm: String,
    uid: u32,
    ring: Ring,
    attributor: Attributor,
    syscalls: u64,
    started_ns: u64,
    ending: Ending,
    /// A trigger waiting for its after-context: (reason, trigger, due).
    pending: Option<(Reason, u64, u64)>,
}

impl Watched {
    /// A copy holding only what a dump needs: the watch, the name, the
    /// owner and these ring items.
    fn snapshot(watch: u64, comm: String, uid: u32, items: VecDeque<Item>) -> Self {
        Watched {
            watch,
            comm,
            uid,
            ring: Ring::snapshot(items),
            attributor: Attributor::default(),
            syscalls: 0,
            started_ns: 0,
            ending: Ending::default(),
            pending: None,
        }
    }
}

/// What is known of a process as a watch picks it up.
struct Seen {
    comm: String,
    /// As the kernel recorded it at exec, if it did.
    owner: Option<Owner>,
}

/// Totals for `stats`.
#[derive(Debug, Default)]
pub struct Counters {
    pub events: u64,
    pub dumps_suppressed: u64,
    /// Events of tasks no watch claims (stragglers after an unwatch).
    pub unclaimed: u64,
    /// Processes that exec'd under a comm or cgroup watch but were gone
    /// before their owner could be checked (missed by non-root watches).
    pub unowned: u64,
}

pub struct Registry {
    settings: Settings,
    patterns: RegexSet,
    watches: HashMap<u64, Watch>,
    next_watch: u64,
    procs: HashMap<u32, Watched, IntHasher>,
    /// Some watch has a stream: events are copied for it.
    streaming: bool,
    /// Processes found gone from `/proc` by the last [`Registry::reconcile`].
    suspects: Vec<u32>,
    /// Tasks created by watched processes, until their first event says
    /// whether they are threads or processes: tid → watch.
    spawned: HashMap<u32, u64>,
    pub counters: Counters,
    /// Dumps ready to be written.
    pub jobs: Vec<DumpJob>,
    /// The kernel's lost-event total, kept current by the collector.
    pub lost: u64,
}

/// Why a request on the registry was refused.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("permission denied: {0}")]
    Permission(String),
    #[error("no watch {0}")]
    NoWatch(u64),
    #[error("no process {0}")]
    NoProcess(u32),
    #[error("{0}")]
    Failed(String),
}

impl Registry {
    pub fn new(settings: Settings) -> anyhow::Result<Self> {
        let patterns = RegexSet::new(settings.patterns.iter().map(|(_, re)| re.as_str()))?;
        Ok(Self {
            settings,
            patterns,
            watches: HashMap::new(),
            next_watch: 1,
            procs: HashMap::default(),
            streaming: false,
            suspects: Vec::new(),
            spawned: HashMap::new(),
            counters: Counters::default(),
            jobs: Vec::new(),
            lost: 0,
        })
    }

    /// Whether `uid` may record process `pid`: root may; others only their
    /// own processes, all three uids theirs (the rule ptrace uses, so a
    /// setuid program is out of reach). `known` is the owner the kernel
    /// recorded at exec: `/proc` is asked only without it, since a
    /// short-lived process may be gone from there already.
    fn may_watch(host: &dyn Host, uid: u32, pid: u32, known: Option<Owner>) -> bool {
        uid == 0
            || match known {
                Some(owner) => owner == Owner::Uid(uid),
                None => host.uids(pid).is_some_and(|uids| uids == [uid; 3]),
            }
    }

    /// The real uid shown for process `pid`: the one recorded at exec,
    /// else `/proc`'s, else `fallback`.
    fn uid_of(host: &dyn Host, pid: u32, known: Option<Owner>, fallback: u32) -> u32 {
        match known {
            Some(Owner::Uid(uid)) => uid,
            _ => host.uids(pid).map_or(fallback, |u| u[0]),
        }
    }

    /// Adds a watch for `owner` (already authenticated by the caller).
    pub fn watch(
        &mut self,
        target: WatchTarget,
        owner: u32,
        now: u64,
        kernel: &mut dyn Kernel,
        host: &dyn Host,
    ) -> Result<u64, Refused> {
        let mut cgroup_id = None;
        // A thread's id names its process; a cgroup is named as in
        // /proc/PID/cgroup, relative to wherever cgroup v2 is mounted.
        let target = match target {
            WatchTarget::Pid(pid) => {
                WatchTarget::Pid(host.tgid(pid).ok_or(Refused::NoProcess(pid))?)
            }
            WatchTarget::Cgroup(path) => {
                let cgroup = host.resolve_cgroup(&path).map_err(Refused::Failed)?;
                cgroup_id = Some(cgroup.id);
                WatchTarget::Cgroup(cgroup.path)
            }
            other => other,
        };
        match &target {
            WatchTarget::Pid(pid) => {
                let Some(_) = host.uids(*pid) else {
                    return Err(Refused::NoProcess(*pid));
                };
                if !Self::may_watch(host, owner, *pid, None) {
                    return Err(Refused::Permission(format!(
                        "uid {owner} may not watch pid {pid} (not its owner)"
                    )));
                }
                if self.procs.contains_key(pid) {
                    return Err(Refused::Failed(format!("pid {pid} is watched already")));
                }
            }
            WatchTarget::Comm(comm) => {
                if !self.watches.values().any(|w| w.target == target) {
                    kernel
                        .watch_comm(comm)
                        .map_err(|e| Refused::Failed(format!("{e:#}")))?;
                }
            }
            WatchTarget::Cgroup(_) => {
                let id = cgroup_id.unwrap_or_default();
                if !self.watches.values().any(|w| w.cgroup_id == Some(id)) {
                    kernel
                        .watch_cgroup(id)
                        .map_err(|e| Refused::Failed(format!("{e:#}")))?;
                }
            }
        }
        let id = self.next_watch;
        self.next_watch += 1;
        self.watches.insert(
            id,
            Watch {
                target: target.clone(),
                owner,
                cgroup_id,
                dumps: 0,
                suppressed: 0,
                bucket: Bucket::new(self.settings.burst, self.settings.refill_ns, now),
                streams: Vec::new(),
            },
        );
        if let WatchTarget::Pid(pid) = target {
            if let Err(e) = kernel.trace(pid) {
                self.watches.remove(&id);
                return Err(Refused::Failed(format!("{e:#}")));
            }
            let uid = host.uids(pid).map_or(owner, |u| u[0]);
            let comm = host.comm(pid).unwrap_or_default();
            self.adopt(pid, id, uid, comm, now);
        }
        Ok(id)
    }

    fn adopt(&mut self, tgid: u32, watch: u64, uid: u32, comm: String, now: u64) {
        self.procs.insert(
            tgid,
            Watched {
                watch,
                comm,
                uid,
                ring: Ring::default(),
                attributor: Attributor::new(self.settings.request_ids.clone()),
                syscalls: 0,
                started_ns: now,
                ending: Ending::default(),
                pending: None,
            },
        );
    }

    /// The watch `id`, if `uid` may act on it (its owner, or root).
    fn owned(&mut self, id: u64, uid: u32) -> Result<&mut Watch, Refused> {
        match self.watches.get_mut(&id) {
            Some(w) if uid == 0 || w.owner == uid => Ok(w),
            // Someone else's watch is reported as missing: its existence is
            // none of the caller's business.
            _ => Err(Refused::NoWatch(id)),
        }
    }

    pub fn unwatch(&mut self, id: u64, uid: u32, kernel: &mut dyn Kernel) -> Result<(), Refused> {
        self.owned(id, uid)?;
        self.remove_watch(id, kernel);
        Ok(())
    }

    fn remove_watch(&mut self, id: u64, kernel: &mut dyn Kernel) {
        let Some(watch) = self.watches.remove(&id) else {
            return;
        };
        // What the streams have buffered still goes out; then they end.
        for s in &watch.streams {
            s.close();
        }
        match &watch.target {
            WatchTarget::Comm(comm) => {
                if !self.watches.values().any(|w| w.target == watch.target) {
                    kernel.unwatch_comm(comm);
                }
            }
            WatchTarget::Cgroup(_) => {
                if let Some(cg) = watch.cgroup_id
                    && !self.watches.values().any(|w| w.cgroup_id == Some(cg))
                {
                    kernel.unwatch_cgroup(cg);
                }
            }
            WatchTarget::Pid(_) => {}
        }
        let gone: Vec<u32> = self
            .procs
            .iter()
            .filter(|(_, p)| p.watch == id)
            .map(|(&tgid, _)| tgid)
            .collect();
        for tgid in gone {
            self.procs.remove(&tgid);
            kernel.untrace(tgid);
        }
        self.spawned.retain(|_, w| *w != id);
    }

    /// Starts streaming watch `id` to `tx`.
    pub fn stream(
        &mut self,
        id: u64,
        uid: u32,
        tx: mpsc::Sender<Vec<u8>>,
        now: u64,
    ) -> Result<(), Refused> {
        let known: Vec<(u32, String)> = self
            .procs
            .iter()
            .filter(|(_, p)| p.watch == id)
            .map(|(&tgid, p)| (tgid, p.comm.clone()))
            .collect();
        let watch = self.owned(id, uid)?;
        watch.streams.push(Stream::new(tx, known, now));
        self.streaming = true;
        Ok(())
    }

    /// Takes one event from the kernel.
    pub fn event(&mut self, event: Event, now: u64, kernel: &mut dyn Kernel, host: &dyn Host) {
        self.counters.events += 1;
        match event {
            Event::Syscall(ev) => self.syscall(ev, now, kernel, host),
            Event::Task(task) => self.task(task, now, kernel, host),
        }
    }

    fn syscall(
        &mut self,
        mut ev: SyscallEvent,
        now: u64,
        kernel: &mut dyn Kernel,
        host: &dyn Host,
    ) {
        let tgid = ev.tgid;
        if ev.tid != tgid && !self.spawned.is_empty() {
            // A thread: no longer a candidate process.
            self.spawned.remove(&ev.tid);
        }
        if !self.procs.contains_key(&tgid) {
            // A process forked by a watched one: its first own event.
            match self.spawned.remove(&tgid) {
                Some(watch) if self.watches.contains_key(&watch) => {
                    let seen = Seen {
                        comm: host.comm(tgid).unwrap_or_default(),
                        owner: None,
                    };
                    self.pick_up(tgid, watch, seen, kernel, host, now);
                }
                _ => {}
            }
        }
        // One lookup per event on the hot path (the map hashes cheaply).
        let Some(proc_) = self.procs.get_mut(&tgid) else {
            self.counters.unclaimed += 1;
            return;
        };
        proc_.syscalls += 1;
        proc_.ending.syscall(&ev);
        let anomaly = proc_.attributor.syscall(&mut ev);
        let mut trigger = None;
        if let Some(data) = &ev.data
            && is_write(ev.nr)
            && let Some(i) = self.patterns.matches(&data.bytes).iter().next()
        {
            trigger = Some(Reason::Pattern(self.settings.patterns[i].0.clone()));
        }
        if !self.settings.keep_payload
            && let Some(data) = &mut ev.data
            && data.bytes.len() > SHOWN_BYTES
        {
            data.bytes.truncate(SHOWN_BYTES);
            data.bytes.shrink_to_fit();
            data.truncated = true;
        }
        let watch = proc_.watch;
        if let Some(anomaly) = anomaly {
            trigger = Some(Reason::Anomaly(anomaly.kind.clone()));
            proc_.ring.push(Item::Anomaly(anomaly), self.settings.keep);
        }
        let event = Event::Syscall(ev);
        if self.streaming {
            let copy = event.clone();
            proc_.ring.push(Item::Event(event), self.settings.keep);
            self.send_to_streams(watch, &copy);
        } else {
            proc_.ring.push(Item::Event(event), self.settings.keep);
        }
        if let Some(reason) = trigger {
            self.trigger(tgid, reason, now);
        }
    }

    fn task(&mut self, task: TaskEvent, now: u64, kernel: &mut dyn Kernel, host: &dyn Host) {
        let tgid = match &task {
            TaskEvent::Spawned {
                parent_tgid, tid, ..
            } => {
                if let Some(p) = self.procs.get(parent_tgid) {
                    self.spawned.insert(*tid, p.watch);
                }
                *parent_tgid
            }
            TaskEvent::Named {
                tgid, comm, owner, ..
            } => {
                let (tgid, known) = (*tgid, *owner);
                match self.procs.get_mut(&tgid) {
                    Some(p) => {
                        p.comm.clone_from(comm);
                        // An exec may have made it someone else's (setuid).
                        let owner = self.watches.get(&p.watch).map_or(0, |w| w.owner);
                        if !Self::may_watch(host, owner, tgid, known) {
                            self.procs.remove(&tgid);
                            kernel.untrace(tgid);
                            return;
                        }
                        p.uid = Self::uid_of(host, tgid, known, p.uid);
                    }
                    None => {
                        let watch = self
                            .spawned
                            .remove(&tgid)
                            .or_else(|| self.claim(tgid, comm, known, host));
                        match watch {
                            Some(watch) => {
                                let seen = Seen {
                                    comm: comm.clone(),
                                    owner: known,
                                };
                                self.pick_up(tgid, watch, seen, kernel, host, now)
                            }
                            None => {
                                // Traced by the kernel for a watch that may
                                // not have it (another user's process), or
                                // gone before its owner could be checked.
                                if known.is_none() && host.uids(tgid).is_none() {
                                    self.counters.unowned += 1;
                                    note!(
                                        "tracer-daemon: pid {tgid} ({comm}) was gone before its owner could be read from /proc: not recorded for non-root watches"
                                    );
                                }
                                kernel.untrace(tgid);
                                return;
                            }
                        }
                    }
                }
                tgid
            }
            TaskEvent::Exited { tgid, tid, .. } => {
                self.spawned.remove(tid);
                *tgid
            }
            TaskEvent::Signal { tgid, .. } | TaskEvent::Stopped { tgid, .. } => *tgid,
        };
        let Some(proc_) = self.procs.get_mut(&tgid) else {
            self.counters.unclaimed += 1;
            return;
        };
        proc_.attributor.task(&task);
        let watch = proc_.watch;
        let event = Event::Task(task);
        self.send_to_streams(watch, &event);
        let Some(proc_) = self.procs.get_mut(&tgid) else {
            return;
        };
        let dead = matches!(
            &event,
            Event::Task(TaskEvent::Exited {
                group_dead: true,
                ..
            })
        );
        let exited_tid = match &event {
            Event::Task(TaskEvent::Exited { tid, .. }) => *tid,
            _ => 0,
        };
        proc_.ring.push(Item::Event(event), self.settings.keep);
        if dead {
            self.died(tgid, exited_tid, now, kernel);
        }
    }

    /// The watch that claims a process that just exec'd as `comm`: a comm
    /// or cgroup watch whose owner may record it.
    fn claim(&self, tgid: u32, comm: &str, known: Option<Owner>, host: &dyn Host) -> Option<u64> {
        let mut cgroup: Option<Option<String>> = None;
        let mut ids: Vec<&u64> = self.watches.keys().collect();
        ids.sort();
        ids.into_iter().copied().find(|id| {
            let w = &self.watches[id];
            let matches = match &w.target {
                WatchTarget::Comm(c) => c == comm,
                WatchTarget::Cgroup(path) => {
                    cgroup.get_or_insert_with(|| host.cgroup(tgid)).as_deref() == Some(path)
                }
                WatchTarget::Pid(_) => false,
            };
            matches && Self::may_watch(host, w.owner, tgid, known)
        })
    }

    fn pick_up(
        &mut self,
        tgid: u32,
        watch: u64,
        seen: Seen,
        kernel: &mut dyn Kernel,
        host: &dyn Host,
        now: u64,
    ) {
        let owner = self.watches.get(&watch).map_or(0, |w| w.owner);
        if !Self::may_watch(host, owner, tgid, seen.owner) {
            kernel.untrace(tgid);
            return;
        }
        let uid = Self::uid_of(host, tgid, seen.owner, owner);
        self.adopt(tgid, watch, uid, seen.comm, now);
        if let Some(w) = self.watches.get_mut(&watch) {
            for s in &mut w.streams {
                s.add_process(tgid, now);
            }
        }
    }

    fn send_to_streams(&mut self, watch: u64, event: &Event) {
        if let Some(w) = self.watches.get_mut(&watch) {
            for s in &mut w.streams {
                s.push(event);
            }
        }
    }

    /// Sends what streams have buffered; drops clients that went away.
    pub fn flush_streams(&mut self) {
        if !self.streaming {
            return;
        }
        for w in self.watches.values_mut() {
            w.streams.retain_mut(Stream::flush);
        }
        self.streaming = self.watches.values().any(|w| !w.streams.is_empty());
    }

    /// A trigger fired for process `tgid`: start its after-context, unless
    /// a dump is pending already or the watch is over its rate.
    fn trigger(&mut self, tgid: u32, reason: Reason, now: u64) {
        let Some(proc_) = self.procs.get_mut(&tgid) else {
            return;
        };
        if proc_.pending.is_some() {
            return;
        }
        let Some(watch) = self.watches.get_mut(&proc_.watch) else {
            return;
        };
        if !watch.bucket.take(now) {
            watch.suppressed += 1;
            self.counters.dumps_suppressed += 1;
            note!(
                "tracer-daemon: {reason} of pid {tgid} ({}): dump suppressed (rate limit of watch {})",
                proc_.comm,
                proc_.watch
            );
            return;
        }
        note!(
            "tracer-daemon: {reason} of pid {tgid} ({}): dumping after {} ms of after-context (at once if it is gone)",
            proc_.comm,
            self.settings.after_ns / 1_000_000
        );
        proc_.pending = Some((reason, now, now + self.settings.after_ns));
    }

    /// Process `tgid` is gone: dump it if it ended badly or had a dump
    /// pending, and forget it.
    fn died(&mut self, tgid: u32, last_tid: u32, now: u64, kernel: &mut dyn Kernel) {
        let Some(proc_) = self.procs.get(&tgid) else {
            return;
        };
        let reason = proc_.ending.reason(last_tid);
        self.ended(tgid, reason, now, kernel);
    }

    /// Process `tgid` ended, for `reason` (none: a clean exit or an end
    /// not seen): emit what is due, forget it.
    fn ended(&mut self, tgid: u32, reason: Option<Reason>, now: u64, kernel: &mut dyn Kernel) {
        let Some(proc_) = self.procs.get(&tgid) else {
            return;
        };
        if proc_.pending.is_none()
            && let Some(reason) = reason
        {
            self.trigger(tgid, reason, now);
        }
        let Some(mut proc_) = self.procs.remove(&tgid) else {
            return;
        };
        let watch = proc_.watch;
        if let Some((reason, trigger_ns, _)) = proc_.pending.take() {
            self.emit(tgid, proc_, reason, trigger_ns, None);
        }
        // A pid watch ends with the last process it followed.
        if let Some(w) = self.watches.get(&watch)
            && matches!(w.target, WatchTarget::Pid(_))
            && !self.procs.values().any(|p| p.watch == watch)
        {
            self.remove_watch(watch, kernel);
        }
    }

    fn emit(
        &mut self,
        tgid: u32,
        proc_: Watched,
        reason: Reason,
        trigger_ns: u64,
        reply: Option<tokio::sync::oneshot::Sender<Result<DumpInfo, String>>>,
    ) {
        if let Some(w) = self.watches.get_mut(&proc_.watch) {
            w.dumps += 1;
        }
        self.jobs.push(DumpJob {
            watch: proc_.watch,
            pid: tgid,
            uid: proc_.uid,
            comm: proc_.comm,
            reason,
            trigger_ns,
            items: proc_.ring.into_items().into(),
            lost: self.lost,
            keep_payload: self.settings.keep_payload,
            reply,
        });
    }

    /// Time passes: dumps whose after-context is complete are emitted,
    /// idle rings age.
    pub fn tick(&mut self, now: u64) {
        let due: Vec<u32> = self
            .procs
            .iter()
            .filter(|(_, p)| p.pending.as_ref().is_some_and(|(_, _, due)| *due <= now))
            .map(|(&tgid, _)| tgid)
            .collect();
        for tgid in due {
            let Some(proc_) = self.procs.get_mut(&tgid) else {
                continue;
            };
            let Some((reason, trigger_ns, _)) = proc_.pending.take() else {
                continue;
            };
            let snapshot = Watched::snapshot(
                proc_.watch,
                proc_.comm.clone(),
                proc_.uid,
                proc_.ring.items().clone(),
            );
            self.emit(tgid, snapshot, reason, trigger_ns, None);
        }
        for p in self.procs.values_mut() {
            p.ring.evict(now, self.settings.keep);
        }
    }

    /// Forgets watched processes that are gone although their exit was
    /// never seen (its record lost when the kernel's ring buffer was
    /// full): they would otherwise be listed as live forever. A process
    /// whose `exit_group` was seen ends as it said; one with a dump pending
    /// is dumped; the others go without a dump, since how they ended is
    /// not known.
    ///
    /// A process found gone is forgotten at the next call only: its exit
    /// record may still be in the part of the kernel's buffer not yet
    /// drained. Returns how many were forgotten.
    pub fn reconcile(&mut self, now: u64, kernel: &mut dyn Kernel, host: &dyn Host) -> usize {
        let (gone, suspects): (Vec<u32>, Vec<u32>) = self
            .procs
            .keys()
            .copied()
            .filter(|&tgid| !host.alive(tgid))
            .partition(|tgid| self.suspects.contains(tgid));
        self.suspects = suspects;
        for &tgid in &gone {
            let Some(proc_) = self.procs.get(&tgid) else {
                continue;
            };
            let reason = proc_
                .ending
                .exit_seen()
                .then(|| proc_.ending.reason(tgid))
                .flatten();
            note!(
                "tracer-daemon: pid {tgid} ({}) is gone but its exit was not seen (lost events); forgetting it",
                proc_.comm
            );
            self.ended(tgid, reason, now, kernel);
        }
        gone.len()
    }

    /// `ctl dump WATCH`: every process of the watch in one dump, now.
    pub fn dump_now(
        &mut self,
        id: u64,
        uid: u32,
        reason: Reason,
        now: u64,
        reply: Option<tokio::sync::oneshot::Sender<Result<DumpInfo, String>>>,
    ) -> Result<(), Refused> {
        self.owned(id, uid)?;
        let mut tgids: Vec<u32> = self
            .procs
            .iter()
            .filter(|(_, p)| p.watch == id)
            .map(|(&t, _)| t)
            .collect();
        tgids.sort();
        let Some(&first) = tgids.first() else {
            return Err(Refused::Failed(format!("watch {id} has no process yet")));
        };
        let mut items: Vec<Item> = tgids
            .iter()
            .flat_map(|t| self.procs[t].ring.items().iter().cloned())
            .collect();
        // Stable: each process's own order is kept for equal times.
        items.sort_by_key(Item::ts);
        let p = &self.procs[&first];
        let snapshot = Watched::snapshot(id, p.comm.clone(), p.uid, items.into());
        self.emit(first, snapshot, reason, now, reply);
        Ok(())
    }

    /// Watches `uid` may see (all, for root).
    pub fn watch_ids(&self, uid: u32) -> Vec<u64> {
        let mut ids: Vec<u64> = self
            .watches
            .iter()
            .filter(|(_, w)| uid == 0 || w.owner == uid)
            .map(|(&id, _)| id)
            .collect();
        ids.sort();
        ids
    }

    pub fn watch_info(&self, id: u64, now: u64, ns_per_run: Option<f64>) -> Option<WatchInfo> {
        let w = self.watches.get(&id)?;
        let mut processes: Vec<ProcessInfo> = self
            .procs
            .iter()
            .filter(|(_, p)| p.watch == id)
            .map(|(&tgid, p)| process_info(tgid, p, now, ns_per_run))
            .collect();
        processes.sort_by_key(|p| p.pid);
        Some(WatchInfo {
            id,
            target: w.target.clone(),
            owner: w.owner,
            processes,
            dumps: w.dumps,
            suppressed: w.suppressed,
            streams: w.streams.len(),
        })
    }

    pub fn ring_bytes(&self) -> usize {
        self.procs.values().map(|p| p.ring.bytes()).sum()
    }

    pub fn watch_count(&self) -> usize {
        self.watches.len()
    }

    /// At shutdown: every watched process's ring, as dumps.
    pub fn flush_all(&mut self, now: u64) {
        let tgids: Vec<u32> = self.procs.keys().copied().collect();
        for tgid in tgids {
            if let Some(mut proc_) = self.procs.remove(&tgid) {
                if proc_.ring.len() == 0 {
                    continue;
                }
                let (reason, at) = match proc_.pending.take() {
                    Some((reason, at, _)) => (reason, at),
                    None => (Reason::Shutdown, now),
                };
                self.emit(tgid, proc_, reason, at, None);
            }
        }
    }

    /// Tracked processes (for untracing at shutdown).
    pub fn tgids(&self) -> Vec<u32> {
        self.procs.keys().copied().collect()
    }
}

fn process_info(tgid: u32, p: &Watched, now: u64, ns_per_run: Option<f64>) -> ProcessInfo {
    let watched_ns = now.saturating_sub(p.started_ns);
    // Two program runs (enter, exit) per syscall, at the sampled average.
    let observer_ns = ns_per_run.map(|per| (per * 2.0 * p.syscalls as f64) as u64);
    ProcessInfo {
        pid: tgid,
        comm: p.comm.clone(),
        uid: p.uid,
        syscalls: p.syscalls,
        ring_events: p.ring.len(),
        ring_bytes: p.ring.bytes(),
        evicted: p.ring.evicted,
        watched_s: watched_ns as f64 / 1e9,
        observer_ns,
        observer_share: observer_ns
            .filter(|_| watched_ns > 0)
            .map(|ns| ns as f64 / watched_ns as f64),
    }
}

/// Syscalls whose data is what the process writes (the direction comes
/// from the one table of what is captured, `syscalls::capture_spec`).
fn is_write(nr: u32) -> bool {
    matches!(
        capture_spec(nr).data,
        capture::BUF_IN | capture::IOV_IN | capture::MSG_IN
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::host::{Cgroup, under_mount};
    use crate::{
        daemon::{dump::sanitize, triggers::DEFAULT_PATTERNS},
        event::DataCapture,
        syscalls::nr,
    };

    #[derive(Default)]
    struct FakeKernel {
        traced: Vec<u32>,
        untraced: Vec<u32>,
        comms: Vec<String>,
        cgroups: Vec<u64>,
    }

    impl Kernel for FakeKernel {
        fn trace(&mut self, tgid: u32) -> anyhow::Result<()> {
            self.traced.push(tgid);
            Ok(())
        }
        fn untrace(&mut self, tgid: u32) {
            self.untraced.push(tgid);
        }
        fn watch_comm(&mut self, comm: &str) -> anyhow::Result<()> {
            self.comms.push(comm.into());
            Ok(())
        }
        fn unwatch_comm(&mut self, comm: &str) {
            self.comms.retain(|c| c != comm);
        }
        fn watch_cgroup(&mut self, id: u64) -> anyhow::Result<()> {
            self.cgroups.push(id);
            Ok(())
        }
        fn unwatch_cgroup(&mut self, id: u64) {
            self.cgroups.retain(|&c| c != id);
        }
    }

    /// Every pid below 1000 is root's, the others belong to uid = pid / 1000;
    /// every pid is alive but those in `gone`.
    /// Pids whose last three digits are 500 or more run in cgroup
    /// `/app.slice` (id 42), the others in `/test.slice` (id 41); there are
    /// no other cgroups.
    #[derive(Default)]
    struct FakeHost {
        gone: Vec<u32>,
    }

    impl Host for FakeHost {
        fn uids(&self, pid: u32) -> Option<[u32; 3]> {
            (!self.gone.contains(&pid)).then_some([pid / 1000; 3])
        }
        fn cgroup(&self, pid: u32) -> Option<String> {
            Some(
                if pid % 1000 >= 500 {
                    "/app.slice"
                } else {
                    "/test.slice"
                }
                .into(),
            )
        }
        fn comm(&self, pid: u32) -> Option<String> {
            Some(format!("p{pid}"))
        }
        fn tgid(&self, pid: u32) -> Option<u32> {
            Some(pid)
        }
        fn alive(&self, pid: u32) -> bool {
            !self.gone.contains(&pid)
        }
        fn resolve_cgroup(&self, path: &str) -> Result<Cgroup, String> {
            let path = under_mount("/cg", path);
            let id = match path.as_str() {
                "/test.slice" => 41,
                "/app.slice" => 42,
                _ => return Err(format!("no cgroup {path}")),
            };
            Ok(Cgroup { path, id })
        }
    }

    fn settings() -> Settings {
        Settings {
            keep: Keep {
                ns: 30_000_000_000,
                bytes: 1 << 20,
            },
            after_ns: 1_000_000_000,
            patterns: DEFAULT_PATTERNS
                .iter()
                .map(|p| (sanitize(p), regex::escape(p)))
                .collect(),
            burst: 2,
            refill_ns: 60_000_000_000,
            keep_payload: false,
            request_ids: Patterns::new(Vec::new(), true),
        }
    }

    fn sc(tgid: u32, nr: u32, arg0: u64, ts: u64) -> Event {
        Event::Syscall(SyscallEvent {
            tgid,
            tid: tgid,
            nr,
            args: [arg0, 0, 0, 0, 0, 0],
            enter_ns: ts,
            exit_ns: Some(ts + 10),
            ret: Some(0),
            strings: None,
            data: None,
            request: None,
            stack: None,
        })
    }

    fn exited(tgid: u32, ts: u64) -> Event {
        Event::Task(TaskEvent::Exited {
            ts_ns: ts,
            tgid,
            tid: tgid,
            group_dead: true,
            comm: "x".into(),
            status: None,
        })
    }

    fn named(tgid: u32, comm: &str, ts: u64) -> Event {
        named_by(tgid, comm, ts, None)
    }

    /// An exec whose owner the kernel recorded (or not).
    fn named_by(tgid: u32, comm: &str, ts: u64, owner: Option<Owner>) -> Event {
        Event::Task(TaskEvent::Named {
            ts_ns: ts,
            tgid,
            tid: tgid,
            comm: comm.into(),
            owner,
        })
    }

    #[test]
    fn clean_exit_dumps_nothing_nonzero_exit_dumps_the_ring() {
        let (mut k, h) = (FakeKernel::default(), FakeHost::default());
        let mut r = Registry::new(settings()).unwrap();
        let w = r
            .watch(WatchTarget::Comm("app".into()), 0, 0, &mut k, &h)
            .unwrap();
        assert_eq!(k.comms, ["app"]);
        // Run 1: exits 0.
        r.event(named(10, "app", 1), 1, &mut k, &h);
        r.event(sc(10, nr::WRITE, 1, 2), 2, &mut k, &h);
        r.event(sc(10, nr::EXIT_GROUP, 0, 3), 3, &mut k, &h);
        r.event(exited(10, 4), 4, &mut k, &h);
        assert!(r.jobs.is_empty());
        // Run 2: exits 1.
        r.event(named(11, "app", 5), 5, &mut k, &h);
        r.event(sc(11, nr::WRITE, 2, 6), 6, &mut k, &h);
        r.event(sc(11, nr::EXIT_GROUP, 1, 7), 7, &mut k, &h);
        r.event(exited(11, 8), 8, &mut k, &h);
        assert_eq!(r.jobs.len(), 1);
        let job = &r.jobs[0];
        assert_eq!(
            (job.pid, job.watch, job.reason.clone()),
            (11, w, Reason::Exit(1))
        );
        assert_eq!(job.items.len(), 4, "named, write, exit_group, exited");
        // Another process is not claimed by the comm watch.
        r.event(named(12, "other", 9), 9, &mut k, &h);
        assert!(k.untraced.contains(&12));
    }

    #[test]
    fn signals_and_self_kills() {
        let (mut k, h) = (FakeKernel::default(), FakeHost::default());
        let mut r = Registry::new(settings()).unwrap();
        r.watch(WatchTarget::Comm("app".into()), 0, 0, &mut k, &h)
            .unwrap();
        r.event(named(10, "app", 1), 1, &mut k, &h);
        r.event(exited(10, 2), 2, &mut k, &h);
        r.event(named(11, "app", 3), 3, &mut k, &h);
        let mut abort = sc(11, nr::TGKILL, 11, 4);
        if let Event::Syscall(ev) = &mut abort {
            ev.args[1] = 11;
            ev.args[2] = libc::SIGABRT as u64;
        }
        r.event(abort, 4, &mut k, &h);
        r.event(exited(11, 5), 5, &mut k, &h);
        let reasons: Vec<String> = r.jobs.iter().map(|j| j.reason.to_string()).collect();
        assert_eq!(reasons, ["signal", "signal-SIGABRT"]);
    }

    #[test]
    fn pattern_waits_for_after_context_and_rate_limit_holds() {
        let (mut k, h) = (FakeKernel::default(), FakeHost::default());
        let mut r = Registry::new(settings()).unwrap();
        let w = r.watch(WatchTarget::Pid(50), 0, 0, &mut k, &h).unwrap();
        assert_eq!(k.traced, [50]);
        let mut t = 10;
        let mut dumps = 0;
        for round in 0..4 {
            let mut ev = sc(50, nr::WRITE, 2, t);
            if let Event::Syscall(e) = &mut ev {
                e.data = Some(Box::new(DataCapture {
                    bytes: b"thread 'main' panicked at src/x.rs".to_vec(),
                    truncated: false,
                }));
            }
            r.event(ev, t, &mut k, &h);
            r.tick(t + 500_000_000);
            assert_eq!(
                r.jobs.len(),
                dumps,
                "round {round}: not before the after-context"
            );
            r.event(
                sc(50, nr::READ, 0, t + 600_000_000),
                t + 600_000_000,
                &mut k,
                &h,
            );
            r.tick(t + 1_100_000_000);
            if round < 2 {
                dumps += 1;
            }
            assert_eq!(r.jobs.len(), dumps, "round {round}");
            t += 2_000_000_000;
        }
        assert_eq!(r.jobs[0].reason, Reason::Pattern("panicked_at".into()));
        // The after-context is in the dump.
        assert_eq!(r.jobs[0].items.len(), 2);
        let info = r.watch_info(w, t, None).unwrap();
        assert_eq!((info.dumps, info.suppressed), (2, 2));
    }

    #[test]
    fn forked_children_are_followed_and_pid_watch_ends_with_them() {
        let (mut k, h) = (FakeKernel::default(), FakeHost::default());
        let mut r = Registry::new(settings()).unwrap();
        let w = r.watch(WatchTarget::Pid(100), 0, 0, &mut k, &h).unwrap();
        r.event(
            Event::Task(TaskEvent::Spawned {
                ts_ns: 1,
                parent_tgid: 100,
                parent_tid: 100,
                tid: 101,
                comm: "sh".into(),
            }),
            1,
            &mut k,
            &h,
        );
        r.event(named(101, "child", 2), 2, &mut k, &h);
        r.event(sc(101, nr::EXIT_GROUP, 3, 3), 3, &mut k, &h);
        r.event(exited(101, 4), 4, &mut k, &h);
        assert_eq!(r.jobs.len(), 1);
        assert_eq!((r.jobs[0].pid, r.jobs[0].comm.as_str()), (101, "child"));
        assert!(r.watch_info(w, 5, None).is_some());
        r.event(sc(100, nr::EXIT_GROUP, 0, 5), 5, &mut k, &h);
        r.event(exited(100, 6), 6, &mut k, &h);
        assert!(r.watch_info(w, 7, None).is_none(), "pid watch ends");
    }

    #[test]
    fn owners_only() {
        let (mut k, h) = (FakeKernel::default(), FakeHost::default());
        let mut r = Registry::new(settings()).unwrap();
        // uid 7 may watch 7xxx processes, not root's.
        assert!(matches!(
            r.watch(WatchTarget::Pid(50), 7, 0, &mut k, &h),
            Err(Refused::Permission(_))
        ));
        let w = r.watch(WatchTarget::Pid(7001), 7, 0, &mut k, &h).unwrap();
        assert!(matches!(r.unwatch(w, 8, &mut k), Err(Refused::NoWatch(_))));
        assert!(r.watch_ids(8).is_empty());
        assert_eq!(r.watch_ids(0), [w]);
        // A comm watch of uid 7 does not claim root's process of that name.
        r.watch(WatchTarget::Comm("app".into()), 7, 0, &mut k, &h)
            .unwrap();
        r.event(named(60, "app", 1), 1, &mut k, &h);
        assert!(k.untraced.contains(&60));
        r.event(named(7002, "app", 2), 2, &mut k, &h);
        assert!(!k.untraced.contains(&7002));
        r.unwatch(w, 7, &mut k).unwrap();
        assert!(k.untraced.contains(&7001));
    }

    #[test]
    fn cgroup_watches_claim_processes_that_exec_in_their_cgroup() {
        let (mut k, h) = (FakeKernel::default(), FakeHost::default());
        let mut r = Registry::new(settings()).unwrap();
        assert!(matches!(
            r.watch(WatchTarget::Cgroup("/nowhere".into()), 0, 0, &mut k, &h),
            Err(Refused::Failed(e)) if e.contains("no cgroup /nowhere")
        ));
        let w = r
            .watch(WatchTarget::Cgroup("/app.slice".into()), 2, 0, &mut k, &h)
            .unwrap();
        assert_eq!(k.cgroups, [42], "the kernel filters on the cgroup's id");
        // A second watch of the same cgroup shares the kernel's entry.
        // A second watch of the same cgroup, named under the mount, shares
        // the kernel's entry and matches /proc's name of it.
        let w2 = r
            .watch(
                WatchTarget::Cgroup("/cg/app.slice".into()),
                0,
                0,
                &mut k,
                &h,
            )
            .unwrap();
        assert_eq!(k.cgroups, [42]);
        // uid 2's process in the cgroup is claimed by uid 2's watch...
        r.event(named(2501, "app", 1), 1, &mut k, &h);
        r.event(sc(2501, nr::EXIT_GROUP, 1, 2), 2, &mut k, &h);
        r.event(exited(2501, 3), 3, &mut k, &h);
        assert_eq!(r.jobs.len(), 1);
        assert_eq!((r.jobs[0].watch, r.jobs[0].pid), (w, 2501));
        // ...a process of uid 2 elsewhere is not claimed at all.
        r.event(named(2001, "app", 4), 4, &mut k, &h);
        assert!(k.untraced.contains(&2001));
        // Root's process in the cgroup is not uid 2's: root's watch has it.
        r.event(named(501, "app", 5), 5, &mut k, &h);
        assert_eq!(r.watch_info(w2, 6, None).unwrap().processes.len(), 1);
        assert!(r.watch_info(w, 6, None).unwrap().processes.is_empty());
        r.unwatch(w, 2, &mut k).unwrap();
        assert_eq!(k.cgroups, [42], "still watched by root");
        r.unwatch(w2, 0, &mut k).unwrap();
        assert!(k.cgroups.is_empty());
    }

    #[test]
    fn processes_whose_exit_was_lost_are_forgotten() {
        let (mut k, mut h) = (FakeKernel::default(), FakeHost::default());
        let mut r = Registry::new(settings()).unwrap();
        let w = r
            .watch(WatchTarget::Comm("app".into()), 0, 0, &mut k, &h)
            .unwrap();
        for tgid in [10, 11, 12, 13] {
            r.event(named(tgid, "app", 1), 1, &mut k, &h);
        }
        // 11 said exit_group(3), 12 had a pattern dump pending; then the
        // exit records of 10, 11 and 12 were lost. 13 lives on.
        r.event(sc(11, nr::EXIT_GROUP, 3, 2), 2, &mut k, &h);
        let mut panic = sc(12, nr::WRITE, 2, 3);
        if let Event::Syscall(e) = &mut panic {
            e.data = Some(Box::new(DataCapture {
                bytes: b"panic: boom".to_vec(),
                truncated: false,
            }));
        }
        r.event(panic, 3, &mut k, &h);
        assert_eq!(r.reconcile(4, &mut k, &h), 0, "all alive");
        assert_eq!(r.watch_info(w, 4, None).unwrap().processes.len(), 4);
        h.gone = vec![10, 11, 12];
        assert_eq!(
            r.reconcile(5, &mut k, &h),
            0,
            "first found gone: the exit record may still be on its way"
        );
        assert_eq!(r.watch_info(w, 5, None).unwrap().processes.len(), 4);
        assert_eq!(r.reconcile(6, &mut k, &h), 3);
        let pids: Vec<u32> = r
            .watch_info(w, 5, None)
            .unwrap()
            .processes
            .iter()
            .map(|p| p.pid)
            .collect();
        assert_eq!(pids, [13]);
        let mut dumps: Vec<(u32, String)> = r
            .jobs
            .iter()
            .map(|j| (j.pid, j.reason.to_string()))
            .collect();
        dumps.sort();
        assert_eq!(
            dumps,
            [(11, "exit-3".to_owned()), (12, "pattern-panic_".to_owned())],
            "10's end is unknown: no dump"
        );
    }

    #[test]
    fn a_process_gone_before_its_owner_is_read_is_counted_as_missed() {
        // Without an owner in the exec record (a kernel whose BTF lacks
        // the credentials' layout), a non-root watch cannot tell whose a
        // process was once it is gone from /proc. It is not recorded (it
        // might be a setuid program), but not silently.
        let (mut k, mut h) = (FakeKernel::default(), FakeHost::default());
        let mut r = Registry::new(settings()).unwrap();
        r.watch(WatchTarget::Comm("app".into()), 7, 0, &mut k, &h)
            .unwrap();
        h.gone = vec![7005];
        r.event(named(7005, "app", 1), 1, &mut k, &h);
        assert!(k.untraced.contains(&7005));
        assert_eq!(r.counters.unowned, 1);
        // A live process of uid 7 is claimed, and not counted.
        r.event(named(7006, "app", 2), 2, &mut k, &h);
        assert_eq!(r.counters.unowned, 1);
        assert!(!k.untraced.contains(&7006));
    }

    #[test]
    fn the_owner_recorded_at_exec_decides_not_proc() {
        // Issue #11 item 12: a short-lived process is gone from /proc
        // before the daemon reads its exec; the kernel's record says whose.
        let (mut k, mut h) = (FakeKernel::default(), FakeHost::default());
        let mut r = Registry::new(settings()).unwrap();
        let w = r
            .watch(WatchTarget::Comm("app".into()), 7, 0, &mut k, &h)
            .unwrap();
        h.gone = vec![7005, 7006, 7007];
        r.event(named_by(7005, "app", 1, Some(Owner::Uid(7))), 1, &mut k, &h);
        assert!(!k.untraced.contains(&7005));
        assert_eq!(r.counters.unowned, 0);
        let info = r.watch_info(w, 2, None).unwrap();
        assert_eq!(info.processes.len(), 1);
        assert_eq!(info.processes[0].uid, 7);
        // Another user's, or a setuid program's, is not uid 7's, whatever
        // /proc would have said.
        r.event(named_by(7006, "app", 2, Some(Owner::Uid(8))), 2, &mut k, &h);
        r.event(named_by(7007, "app", 3, Some(Owner::Mixed)), 3, &mut k, &h);
        assert!(k.untraced.contains(&7006) && k.untraced.contains(&7007));
        // A live process /proc calls uid 7's, but which the kernel saw
        // exec setuid, is not uid 7's either.
        r.event(named_by(7008, "app", 4, Some(Owner::Mixed)), 4, &mut k, &h);
        assert!(k.untraced.contains(&7008));
        // A watched process that execs a setuid program is dropped.
        r.event(named_by(7005, "app", 5, Some(Owner::Mixed)), 5, &mut k, &h);
        assert!(k.untraced.contains(&7005));
        assert_eq!(r.counters.unowned, 0);
        // Root's watch takes a mixed one.
        r.watch(WatchTarget::Comm("su".into()), 0, 0, &mut k, &h)
            .unwrap();
        r.event(named_by(7009, "su", 6, Some(Owner::Mixed)), 6, &mut k, &h);
        assert!(!k.untraced.contains(&7009));
    }
}
