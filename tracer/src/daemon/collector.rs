//! The collector thread: owns the eBPF programs and the watch registry,
//! drains the kernel's ring buffer, and answers the API's commands between
//! drains. The API (tokio) never touches this state directly.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
        mpsc::{Receiver, Sender, TryRecvError},
    },
    thread,
    time::Duration,
};

use tokio::sync::{mpsc, oneshot};

use super::{
    api::{DumpInfo, ListReply, StatsReply, WatchTarget},
    dump::{DumpJob, Index},
    host::{Kernel, ProcFs},
    registry::{Refused, Registry},
    triggers::Reason,
};
use crate::stdio::note;
use crate::{clock::clock_ns, ebpf::EbpfSource};

/// What the API asks of the collector. `uid` is the client's, from
/// `SO_PEERCRED`.
pub enum Command {
    Watch {
        target: WatchTarget,
        uid: u32,
        reply: oneshot::Sender<Result<u64, String>>,
    },
    Unwatch {
        watch: u64,
        uid: u32,
        reply: oneshot::Sender<Result<(), String>>,
    },
    List {
        uid: u32,
        reply: oneshot::Sender<ListReply>,
    },
    Dump {
        watch: u64,
        uid: u32,
        reply: oneshot::Sender<Result<DumpInfo, String>>,
    },
    Stream {
        watch: u64,
        uid: u32,
        tx: mpsc::Sender<Vec<u8>>,
        reply: oneshot::Sender<Result<(), String>>,
    },
    Stats {
        uid: u32,
        reply: oneshot::Sender<StatsReply>,
    },
    /// Stop: optionally dump every ring, detach the probes.
    Shutdown { flush: bool },
}

/// How long to sleep when the ring buffer had little in it (the programs
/// never wake us; see `source.rs`). At a million events a second that is
/// ~0.5 MiB of the ring per tick: the daemon drains in large batches and
/// wakes rarely, which is what keeps its own CPU time (taken from the
/// machine it watches) low.
const POLL: Duration = Duration::from_millis(5);
/// A drain smaller than this is followed by a sleep.
const SMALL_BATCH: usize = 4096;
/// Housekeeping (lost counter, after-context timers, ring ageing, streams)
/// at most this often.
const HOUSEKEEPING_NS: u64 = 5_000_000;
/// Watched processes are checked against `/proc` this often, for exits
/// whose record was lost (only then: it costs a read per process).
const RECONCILE_NS: u64 = 1_000_000_000;

struct Ebpf<'a>(&'a mut EbpfSource);

impl Kernel for Ebpf<'_> {
    fn trace(&mut self, tgid: u32) -> anyhow::Result<()> {
        Ok(self.0.trace(tgid, false)?)
    }
    fn untrace(&mut self, tgid: u32) {
        if let Err(e) = self.0.untrace(tgid) {
            note!("tracer-daemon: {e}");
        }
    }
    fn watch_comm(&mut self, comm: &str) -> anyhow::Result<()> {
        Ok(self.0.watch_comm(comm)?)
    }
    fn unwatch_comm(&mut self, comm: &str) {
        if let Err(e) = self.0.unwatch_comm(comm) {
            note!("tracer-daemon: {e}");
        }
    }
    fn watch_cgroup(&mut self, id: u64) -> anyhow::Result<()> {
        Ok(self.0.watch_cgroup(id)?)
    }
    fn unwatch_cgroup(&mut self, id: u64) {
        if let Err(e) = self.0.unwatch_cgroup(id) {
            note!("tracer-daemon: {e}");
        }
    }
}

/// What the registry asks of the kernel while events are being drained
/// (the source is borrowed then): done right after the drain.
#[derive(Default)]
struct Deferred(Vec<Op>);

enum Op {
    Untrace(u32),
    UnwatchComm(String),
    UnwatchCgroup(u64),
}

impl Kernel for Deferred {
    fn trace(&mut self, tgid: u32) -> anyhow::Result<()> {
        anyhow::bail!("cannot trace {tgid} while draining")
    }
    fn untrace(&mut self, tgid: u32) {
        self.0.push(Op::Untrace(tgid));
    }
    fn watch_comm(&mut self, comm: &str) -> anyhow::Result<()> {
        anyhow::bail!("cannot watch {comm} while draining")
    }
    fn unwatch_comm(&mut self, comm: &str) {
        self.0.push(Op::UnwatchComm(comm.to_owned()));
    }
    fn watch_cgroup(&mut self, id: u64) -> anyhow::Result<()> {
        anyhow::bail!("cannot watch cgroup {id} while draining")
    }
    fn unwatch_cgroup(&mut self, id: u64) {
        self.0.push(Op::UnwatchCgroup(id));
    }
}

impl Deferred {
    /// Does what was asked, in order.
    fn apply(&mut self, kernel: &mut dyn Kernel) {
        for op in self.0.drain(..) {
            match op {
                Op::Untrace(tgid) => kernel.untrace(tgid),
                Op::UnwatchComm(comm) => kernel.unwatch_comm(&comm),
                Op::UnwatchCgroup(id) => kernel.unwatch_cgroup(id),
            }
        }
    }
}

/// Runs until a `Shutdown` command (or the API side goes away).
pub fn run(
    mut source: EbpfSource,
    mut registry: Registry,
    commands: Receiver<Command>,
    dumps: Sender<DumpJob>,
    index: Index,
    written: Arc<AtomicU64>,
) {
    let host = ProcFs;
    let mut rate = Rate::default();
    let mut deferred = Deferred::default();
    let mut housekept = 0;
    let (mut reconciled, mut pending_reconcile) = (0, false);
    loop {
        let mut shutdown = None;
        loop {
            match commands.try_recv() {
                Ok(Command::Shutdown { flush }) => {
                    shutdown = Some(flush);
                    break;
                }
                Ok(command) => handle(
                    command,
                    &mut source,
                    &mut registry,
                    &host,
                    &index,
                    &written,
                    &rate,
                ),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    shutdown = Some(false);
                    break;
                }
            }
        }
        // With no watch at all there is nothing to record: detach the
        // syscall probes so that the machine pays nothing for an idle
        // daemon (a watch attaches them again before it takes effect).
        if registry.watch_count() == 0 {
            probes(&mut source, false);
        }
        let now = clock_ns(libc::CLOCK_MONOTONIC);
        let n = source.drain(|event| registry.event(event, now, &mut deferred, &host));
        deferred.apply(&mut Ebpf(&mut source));
        rate.add(n as u64, now);
        if now.saturating_sub(housekept) >= HOUSEKEEPING_NS || shutdown.is_some() {
            housekept = now;
            let lost = source.lost();
            // Lost records can hide an exit: check /proc soon after some
            // were lost, and every 10 s anyway (a pid watch can also miss
            // an exit that came before its trace took effect).
            if lost != registry.lost || now.saturating_sub(reconciled) >= 10 * RECONCILE_NS {
                pending_reconcile = true;
            }
            if pending_reconcile && now.saturating_sub(reconciled) >= RECONCILE_NS {
                reconciled = now;
                pending_reconcile = false;
                registry.reconcile(now, &mut Ebpf(&mut source), &host);
            }
            registry.lost = lost;
            registry.tick(now);
            registry.flush_streams();
        }
        for job in registry.jobs.drain(..) {
            if dumps.send(job).is_err() {
                note!("tracer-daemon: the dump writer is gone; dump lost");
            }
        }
        if let Some(flush) = shutdown {
            // Detach first: nothing new comes in; what is in flight is
            // taken on the way out.
            source.stop_sampling();
            {
                let mut kernel = Ebpf(&mut source);
                for tgid in registry.tgids() {
                    kernel.untrace(tgid);
                }
            }
            let now = clock_ns(libc::CLOCK_MONOTONIC);
            source.drain(|event| registry.event(event, now, &mut deferred, &host));
            deferred.apply(&mut Ebpf(&mut source));
            if flush {
                registry.flush_all(now);
            } else {
                // Triggered dumps still waiting for their after-context
                // are written with what they have.
                registry.tick(u64::MAX);
            }
            for job in registry.jobs.drain(..) {
                let _ = dumps.send(job);
            }
            drop(source);
            note!("tracer-daemon: probes detached");
            return;
        }
        if n < SMALL_BATCH {
            thread::sleep(POLL);
        }
    }
}

/// Attaches or detaches the syscall probes, logging a failure (recording
/// goes on with what is attached).
fn probes(source: &mut EbpfSource, on: bool) {
    if let Err(e) = source.set_syscall_probes(on) {
        note!("tracer-daemon: {e}");
    }
}

fn handle(
    command: Command,
    source: &mut EbpfSource,
    registry: &mut Registry,
    host: &ProcFs,
    index: &Index,
    written: &AtomicU64,
    rate: &Rate,
) {
    let now = clock_ns(libc::CLOCK_MONOTONIC);
    if matches!(command, Command::Watch { .. }) {
        probes(source, true);
    }
    let mut kernel = Ebpf(source);
    match command {
        Command::Watch { target, uid, reply } => {
            let shown = target.to_string();
            let result = registry.watch(target, uid, now, &mut kernel, host);
            match &result {
                Ok(id) => note!("tracer-daemon: watch {id}: {shown} (uid {uid})"),
                Err(e) => note!("tracer-daemon: watch {shown} refused for uid {uid}: {e}"),
            }
            let _ = reply.send(result.map_err(|e| e.to_string()));
        }
        Command::Unwatch { watch, uid, reply } => {
            let result = registry.unwatch(watch, uid, &mut kernel);
            if result.is_ok() {
                note!("tracer-daemon: watch {watch} removed (uid {uid})");
            }
            let _ = reply.send(result.map_err(|e| e.to_string()));
        }
        Command::List { uid, reply } => {
            let per_run = source.run_cost().map(|(per, _)| per);
            let watches = registry
                .watch_ids(uid)
                .into_iter()
                .filter_map(|id| registry.watch_info(id, now, per_run))
                .collect();
            let dumps = index
                .lock()
                .map(|index| {
                    index
                        .iter()
                        .filter(|d| uid == 0 || d.uid == uid)
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            let _ = reply.send(ListReply { watches, dumps });
        }
        Command::Dump { watch, uid, reply } => {
            if let Err(e) = registry.dump_now(watch, uid, Reason::Manual, now, None) {
                let _ = reply.send(Err(e.to_string()));
            } else if let Some(job) = registry.jobs.last_mut() {
                job.reply = Some(reply);
            }
        }
        Command::Stream {
            watch,
            uid,
            tx,
            reply,
        } => {
            let _ = reply.send(
                registry
                    .stream(watch, uid, tx, now)
                    .map_err(|e: Refused| e.to_string()),
            );
        }
        Command::Stats { uid, reply } => {
            let per_run = source.run_cost().map(|(per, _)| per);
            let processes = registry
                .watch_ids(uid)
                .into_iter()
                .filter_map(|id| registry.watch_info(id, now, per_run))
                .flat_map(|w| w.processes)
                .collect();
            let _ = reply.send(StatsReply {
                events_per_s: rate.per_s,
                events_total: registry.counters.events,
                lost_events: source.lost(),
                ring_bytes: registry.ring_bytes(),
                rss_bytes: rss_bytes(),
                watches: registry.watch_count(),
                dumps_written: written.load(Ordering::Relaxed),
                dumps_suppressed: registry.counters.dumps_suppressed,
                missed_unowned: registry.counters.unowned,
                ns_per_program_run: per_run,
                processes,
            });
        }
        Command::Shutdown { .. } => {}
    }
}

/// Events per second over the last full second.
#[derive(Default)]
struct Rate {
    window_start: u64,
    count: u64,
    per_s: f64,
}

impl Rate {
    fn add(&mut self, n: u64, now: u64) {
        self.count += n;
        let elapsed = now.saturating_sub(self.window_start);
        if elapsed >= 1_000_000_000 {
            self.per_s = self.count as f64 * 1e9 / elapsed as f64;
            self.count = 0;
            self.window_start = now;
        }
    }
}

fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf reads a constant.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes note of what it is asked, in one list.
    #[derive(Default)]
    struct Noted(Vec<String>);

    impl Kernel for Noted {
        fn trace(&mut self, tgid: u32) -> anyhow::Result<()> {
            self.0.push(format!("trace {tgid}"));
            Ok(())
        }
        fn untrace(&mut self, tgid: u32) {
            self.0.push(format!("untrace {tgid}"));
        }
        fn watch_comm(&mut self, comm: &str) -> anyhow::Result<()> {
            self.0.push(format!("watch {comm}"));
            Ok(())
        }
        fn unwatch_comm(&mut self, comm: &str) {
            self.0.push(format!("unwatch {comm}"));
        }
        fn watch_cgroup(&mut self, id: u64) -> anyhow::Result<()> {
            self.0.push(format!("watch cgroup {id}"));
            Ok(())
        }
        fn unwatch_cgroup(&mut self, id: u64) {
            self.0.push(format!("unwatch cgroup {id}"));
        }
    }

    #[test]
    fn removals_while_draining_are_done_after_in_order() {
        let mut d = Deferred::default();
        d.untrace(7);
        d.unwatch_comm("app");
        d.unwatch_cgroup(42);
        d.untrace(8);
        let mut k = Noted::default();
        d.apply(&mut k);
        assert_eq!(
            k.0,
            ["untrace 7", "unwatch app", "unwatch cgroup 42", "untrace 8"]
        );
        // Done once.
        d.apply(&mut k);
        assert_eq!(k.0.len(), 4);
    }

    #[test]
    fn additions_while_draining_are_refused() {
        // Adding needs the source, which the drain holds: a watch is added
        // only between drains, by a command.
        let mut d = Deferred::default();
        assert!(d.trace(7).is_err());
        assert!(d.watch_comm("app").is_err());
        assert!(d.watch_cgroup(42).is_err());
        let mut k = Noted::default();
        d.apply(&mut k);
        assert!(k.0.is_empty());
    }

    #[test]
    fn rate_is_per_second_over_the_last_full_window() {
        let mut r = Rate::default();
        r.add(500, 0);
        r.add(300, 500_000_000);
        assert_eq!(r.per_s, 0.0, "no full second yet");
        r.add(200, 1_000_000_000);
        assert_eq!(r.per_s, 1000.0);
        // A two-second window: the rate is per second of it.
        r.add(4000, 3_000_000_000);
        assert_eq!(r.per_s, 2000.0);
    }

    #[test]
    fn rss_is_read_from_proc() {
        let rss = rss_bytes().unwrap();
        // This test binary maps more than a megabyte and far less than a
        // terabyte.
        assert!((1 << 20..1 << 40).contains(&rss), "{rss}");
    }
}
