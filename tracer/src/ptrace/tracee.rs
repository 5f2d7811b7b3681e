//! The ptrace thread: seize, wait, decode stops into events, resume.

use std::{
    collections::HashMap,
    sync::{Arc, atomic::Ordering, mpsc},
};

use nix::{
    errno::Errno,
    sys::{
        ptrace::{self, Event as PtraceEvent, Options},
        signal::Signal,
        wait::{WaitPidFlag, WaitStatus, waitpid},
    },
    unistd::Pid,
};
use tracer_common::{CaptureSpec, MAX_ARGS, capture};

use super::memory;
use super::{PtraceError, Request, Shared};
use crate::{
    clock::clock_ns,
    event::{ArgStrings, DataCapture, Event, SyscallEvent, TaskEvent},
    procfs, syscalls,
};

const OPTIONS: Options = Options::PTRACE_O_TRACESYSGOOD
    .union(Options::PTRACE_O_TRACECLONE)
    .union(Options::PTRACE_O_TRACEFORK)
    .union(Options::PTRACE_O_TRACEVFORK)
    .union(Options::PTRACE_O_TRACEEXEC)
    .union(Options::PTRACE_O_TRACESECCOMP);

/// Events handed to the pipeline in batches of at most this many, so the
/// channel is not touched per syscall.
const BATCH: usize = 256;

const SYS_EXIT: u64 = 60;
const SYS_EXIT_GROUP: u64 = 231;

/// Per-tracee state.
struct Tracee {
    tgid: u32,
    /// A launched child stops itself with SIGSTOP right before `execve`;
    /// that one stop is ours, not the program's, and is not delivered.
    expect_sigstop: bool,
    /// A seccomp filter selects the syscalls that stop it: between
    /// syscalls it runs with PTRACE_CONT, not PTRACE_SYSCALL.
    seccomp: bool,
    /// The syscall it is in, between entry and exit stops.
    entry: Option<Entry>,
}

/// What is known of a syscall at its entry stop.
struct Entry {
    nr: u64,
    args: [u64; MAX_ARGS],
    enter_ns: u64,
    /// Strings and data read at entry: inputs, valid only then.
    strings: Option<Box<ArgStrings>>,
    data: Option<Box<DataCapture>>,
}

/// Reads the string arguments of syscall `nr` from the stopped tracee: they
/// are inputs, valid at entry.
fn read_strings(pid: Pid, spec: CaptureSpec, args: &[u64; MAX_ARGS]) -> Option<Box<ArgStrings>> {
    let mut strings: Option<Box<ArgStrings>> = None;
    for (i, &arg) in args.iter().enumerate() {
        if spec.paths & (1 << i) != 0
            && let Some(s) = memory::read_string(pid, arg)
        {
            strings.get_or_insert_with(Default::default)[i] = Some(s);
        }
    }
    strings
}

impl Tracee {
    fn new(tgid: u32) -> Self {
        Self {
            tgid,
            entry: None,
            expect_sigstop: false,
            seccomp: false,
        }
    }
}

struct Tracer {
    tracees: HashMap<u32, Tracee>,
    /// Most bytes of a data buffer to capture.
    capture_bytes: usize,
    /// Our own children: their exit statuses go to `shared.statuses`.
    children: Vec<u32>,
    batch: Vec<Event>,
    events: mpsc::Sender<Vec<Event>>,
    shared: Arc<Shared>,
}

pub(super) fn run(
    requests: mpsc::Receiver<Request>,
    events: mpsc::Sender<Vec<Event>>,
    shared: Arc<Shared>,
    capture_bytes: usize,
) {
    let mut tracer = Tracer {
        tracees: HashMap::new(),
        capture_bytes,
        children: Vec::new(),
        batch: Vec::with_capacity(BATCH),
        events,
        shared,
    };
    // Attach phase: seize what we are asked to, until told to run.
    for request in requests.iter() {
        match request {
            Request::Trace {
                tgid,
                launched,
                reply,
            } => {
                let _ = reply.send(tracer.seize_process(tgid, launched));
            }
            Request::Run => break,
        }
    }
    tracer.wait_loop();
    tracer.flush();
    tracer.shared.finished.store(true, Ordering::Release);
}

impl Tracer {
    fn seize_process(&mut self, tgid: u32, launched: bool) -> Result<Vec<u32>, PtraceError> {
        let attach_err = |errno: Errno| PtraceError::Attach {
            pid: tgid as i32,
            errno,
            hint: match errno {
                Errno::EPERM => {
                    " (not permitted: run as root, or check /proc/sys/kernel/yama/ptrace_scope)"
                }
                Errno::ESRCH => " (no such process)",
                _ => "",
            },
        };
        if launched {
            // The gated child is blocked reading its gate: seizing it does
            // not stop it. Once released it stops itself (SIGSTOP), we
            // start syscall tracing there, and its `execve` is the first
            // syscall we see.
            let pid = Pid::from_raw(tgid as i32);
            ptrace::seize(pid, OPTIONS).map_err(attach_err)?;
            self.tracees.insert(
                tgid,
                Tracee {
                    expect_sigstop: true,
                    ..Tracee::new(tgid)
                },
            );
            self.children.push(tgid);
            return Ok(vec![tgid]);
        }
        // Threads can appear while we attach: list until no new ones.
        let mut seized = Vec::new();
        loop {
            let tids = procfs::threads(tgid as i32).map_err(|_| attach_err(Errno::ESRCH))?;
            let fresh: Vec<u32> = tids
                .into_iter()
                .filter(|t| !self.tracees.contains_key(t))
                .collect();
            if fresh.is_empty() {
                break;
            }
            for tid in fresh {
                let pid = Pid::from_raw(tid as i32);
                match ptrace::seize(pid, OPTIONS) {
                    Ok(()) => {}
                    // Exited in the meantime.
                    Err(Errno::ESRCH) if !seized.is_empty() => continue,
                    Err(e) => return Err(attach_err(e)),
                }
                // Stop it so we can start syscall tracing (PTRACE_SYSCALL
                // needs a stopped tracee); the stop comes back through
                // waitpid as a PTRACE_EVENT_STOP.
                let _ = ptrace::interrupt(pid);
                self.tracees.insert(tid, Tracee::new(tgid));
                seized.push(tid);
            }
        }
        Ok(seized)
    }

    fn push(&mut self, event: Event) {
        self.batch.push(event);
        if self.batch.len() >= BATCH {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if !self.batch.is_empty() {
            let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
            let _ = self.events.send(batch);
        }
    }

    fn wait_loop(&mut self) {
        while !self.tracees.is_empty() {
            if self.shared.stop.load(Ordering::Acquire) {
                self.detach_all();
                return;
            }
            let status = match waitpid(None, Some(WaitPidFlag::__WALL)) {
                Ok(status) => status,
                Err(Errno::EINTR) => {
                    // Woken to stop, or a stray signal: hand over what we
                    // have and look at the flag.
                    self.flush();
                    continue;
                }
                Err(_) => break, // ECHILD: nothing left to wait for
            };
            let now = clock_ns(libc::CLOCK_MONOTONIC);
            self.handle(status, now);
            // Keep the pipeline fed even when stops are rare.
            if self.batch.len() >= BATCH / 4 || status_is_exit(&status) {
                self.flush();
            }
        }
    }

    /// Resumes `tid` and charges the time it spent stopped. A tracee under
    /// seccomp runs freely to its next selected syscall unless it is inside
    /// one, whose exit we still want to see.
    fn resume(&mut self, tid: u32, since_ns: u64, how: Resume) {
        let pid = Pid::from_raw(tid as i32);
        let result = match how {
            Resume::Syscall(sig) => {
                let free = self
                    .tracees
                    .get(&tid)
                    .is_some_and(|t| t.seccomp && t.entry.is_none());
                if free {
                    ptrace::cont(pid, sig)
                } else {
                    ptrace::syscall(pid, sig)
                }
            }
            Resume::Listen => listen(pid),
        };
        let stopped = clock_ns(libc::CLOCK_MONOTONIC).saturating_sub(since_ns);
        self.shared.stopped_ns.fetch_add(stopped, Ordering::Relaxed);
        // ESRCH: killed while stopped (SIGKILL needs no resume); its exit
        // status arrives through waitpid.
        let _ = result;
    }

    fn handle(&mut self, status: WaitStatus, now: u64) {
        match status {
            WaitStatus::PtraceSyscall(pid) => self.syscall_stop(pid.as_raw() as u32, now),
            WaitStatus::PtraceEvent(pid, sig, event) => {
                self.event_stop(pid.as_raw() as u32, sig, event, now)
            }
            WaitStatus::Stopped(pid, sig) => {
                let tid = pid.as_raw() as u32;
                let ours = sig == Signal::SIGSTOP
                    && self
                        .tracees
                        .get_mut(&tid)
                        .is_some_and(|t| std::mem::take(&mut t.expect_sigstop));
                if ours && let Some(tracee) = self.tracees.get_mut(&tid) {
                    // The child installed its seccomp filter before this
                    // stop, if it could; /proc says whether it did.
                    tracee.seccomp = procfs::seccomp_filtered(tid);
                }
                // Signal-delivery stop: pass the signal on, as if we were
                // not here (except the launched child's own pre-exec stop).
                let deliver = if ours { None } else { Some(sig) };
                self.resume(tid, now, Resume::Syscall(deliver));
            }
            WaitStatus::Exited(pid, _) | WaitStatus::Signaled(pid, _, _) => {
                self.exited(pid.as_raw() as u32, status, now)
            }
            WaitStatus::Continued(_) | WaitStatus::StillAlive => {}
        }
    }

    fn syscall_stop(&mut self, tid: u32, now: u64) {
        let pid = Pid::from_raw(tid as i32);
        let info = ptrace::syscall_info(pid);
        let Some(tracee) = self.tracees.get_mut(&tid) else {
            self.resume(tid, now, Resume::Syscall(None));
            return;
        };
        let tgid = tracee.tgid;
        match info {
            // Under seccomp, the seccomp stop was the entry; the entry stop
            // that follows it adds nothing.
            Ok(info)
                if info.op == libc::PTRACE_SYSCALL_INFO_ENTRY
                    && tracee.seccomp
                    && tracee.entry.is_some() => {}
            Ok(info)
                if info.op == libc::PTRACE_SYSCALL_INFO_ENTRY
                    || info.op == libc::PTRACE_SYSCALL_INFO_SECCOMP =>
            {
                // SAFETY: `op` says the union holds `entry` (`seccomp`
                // starts with the same nr and args).
                let entry = unsafe { info.u.entry };
                if entry.nr == SYS_EXIT || entry.nr == SYS_EXIT_GROUP {
                    // Never returns: emit now, as the eBPF side does.
                    tracee.entry = None;
                    self.push(Event::Syscall(SyscallEvent {
                        tgid,
                        tid,
                        nr: entry.nr as u32,
                        args: entry.args,
                        enter_ns: now,
                        exit_ns: None,
                        ret: None,
                        strings: None,
                        data: None,
                        request: None,
                    }));
                } else {
                    let spec = syscalls::capture_spec(entry.nr as u32);
                    let strings = read_strings(pid, spec, &entry.args);
                    let data = match spec.data {
                        capture::BUF_IN | capture::IOV_IN | capture::MSG_IN
                            if self.capture_bytes > 0 =>
                        {
                            // The vectored calls' size is the iovecs' sum.
                            let total = match spec.data {
                                capture::BUF_IN => entry.args[2],
                                _ => u64::MAX,
                            };
                            memory::read_data(
                                pid,
                                spec.data,
                                &entry.args,
                                total,
                                self.capture_bytes,
                            )
                            .map(Box::new)
                        }
                        _ => None,
                    };
                    tracee.entry = Some(Entry {
                        nr: entry.nr,
                        args: entry.args,
                        enter_ns: now,
                        strings,
                        data,
                    });
                }
            }
            Ok(info) if info.op == libc::PTRACE_SYSCALL_INFO_EXIT => {
                // SAFETY: `op` says the union holds `exit`.
                let exit = unsafe { info.u.exit };
                if let Some(entry) = tracee.entry.take() {
                    let mut data = entry.data;
                    let spec = syscalls::capture_spec(entry.nr as u32);
                    if matches!(
                        spec.data,
                        capture::BUF_OUT | capture::IOV_OUT | capture::MSG_OUT
                    ) && exit.sval > 0
                        && self.capture_bytes > 0
                    {
                        data = memory::read_data(
                            pid,
                            spec.data,
                            &entry.args,
                            exit.sval as u64,
                            self.capture_bytes,
                        )
                        .map(Box::new);
                    }
                    self.push(Event::Syscall(SyscallEvent {
                        tgid,
                        tid,
                        nr: entry.nr as u32,
                        args: entry.args,
                        enter_ns: entry.enter_ns,
                        exit_ns: Some(now),
                        ret: Some(exit.sval),
                        strings: entry.strings,
                        data,
                        request: None,
                    }));
                }
            }
            _ => {}
        }
        self.resume(tid, now, Resume::Syscall(None));
    }

    fn event_stop(&mut self, tid: u32, sig: Signal, event: i32, now: u64) {
        let pid = Pid::from_raw(tid as i32);
        match event {
            e if e == PtraceEvent::PTRACE_EVENT_FORK as i32
                || e == PtraceEvent::PTRACE_EVENT_VFORK as i32
                || e == PtraceEvent::PTRACE_EVENT_CLONE as i32 =>
            {
                if let Ok(new) = ptrace::getevent(pid) {
                    let new = new as u32;
                    let parent = self.tracees.get(&tid);
                    let parent_tgid = parent.map_or(tid, |t| t.tgid);
                    // Seccomp filters are inherited by every child.
                    let seccomp = parent.is_some_and(|t| t.seccomp);
                    // A thread shares its parent's tgid; a process is its
                    // own. /proc knows which.
                    let tgid = procfs::tgid(new as i32).map_or(new, |t| t as u32);
                    self.tracees.entry(new).or_insert(Tracee {
                        seccomp,
                        ..Tracee::new(tgid)
                    });
                    self.push(Event::Task(TaskEvent::Spawned {
                        ts_ns: now,
                        parent_tgid,
                        parent_tid: tid,
                        tid: new,
                        // A child that already exited has no /proc entry:
                        // at fork it has its creator's name anyway.
                        comm: procfs::comm(new)
                            .or_else(|| procfs::comm(tid))
                            .unwrap_or_default(),
                    }));
                }
                self.resume(tid, now, Resume::Syscall(None));
            }
            e if e == PtraceEvent::PTRACE_EVENT_EXEC as i32 => {
                // A non-leader thread that execs takes over the leader's
                // tid; the message is its old tid.
                if let Ok(former) = ptrace::getevent(pid) {
                    let former = former as u32;
                    if former != tid
                        && let Some(old) = self.tracees.remove(&former)
                    {
                        self.tracees.insert(tid, old);
                    }
                }
                // The tracee is stopped: /proc has the new image's name.
                let tgid = self.tracees.get(&tid).map_or(tid, |t| t.tgid);
                self.push(Event::Task(TaskEvent::Named {
                    ts_ns: now,
                    tgid,
                    tid,
                    comm: procfs::comm(tid).unwrap_or_default(),
                }));
                self.resume(tid, now, Resume::Syscall(None));
            }
            e if e == PtraceEvent::PTRACE_EVENT_SECCOMP as i32 => {
                // A selected syscall's entry, under seccomp.
                self.syscall_stop(tid, now);
            }
            e if e == libc::PTRACE_EVENT_STOP => {
                // A new tracee's first stop, our interrupt, or a group-stop.
                self.tracees.entry(tid).or_insert_with(|| {
                    Tracee::new(procfs::tgid(tid as i32).map_or(tid, |t| t as u32))
                });
                let group_stop = matches!(
                    sig,
                    Signal::SIGSTOP | Signal::SIGTSTP | Signal::SIGTTIN | Signal::SIGTTOU
                );
                if group_stop {
                    // Stay stopped like an untraced process would, but keep
                    // being told about it (SIGCONT ends it).
                    self.resume(tid, now, Resume::Listen);
                } else {
                    self.resume(tid, now, Resume::Syscall(None));
                }
            }
            _ => self.resume(tid, now, Resume::Syscall(None)),
        }
    }

    fn exited(&mut self, tid: u32, status: WaitStatus, now: u64) {
        let Some(tracee) = self.tracees.remove(&tid) else {
            return;
        };
        if self.children.contains(&tid)
            && let Ok(mut statuses) = self.shared.statuses.lock()
        {
            statuses.insert(tid as i32, status);
        }
        // A thread group's leader is reported last (after its threads), so
        // its exit is the group's.
        let group_dead = tid == tracee.tgid;
        self.push(Event::Task(TaskEvent::Exited {
            ts_ns: now,
            tgid: tracee.tgid,
            tid,
            group_dead,
            comm: String::new(),
        }));
    }

    /// Stops every tracee and detaches it, delivering any signal it was
    /// stopped for. Afterwards they run as if never traced.
    fn detach_all(&mut self) {
        for &tid in self.tracees.keys() {
            let _ = ptrace::interrupt(Pid::from_raw(tid as i32));
        }
        while !self.tracees.is_empty() {
            let status = match waitpid(None, Some(WaitPidFlag::__WALL)) {
                Ok(status) => status,
                Err(Errno::EINTR) => continue,
                Err(_) => break,
            };
            let now = clock_ns(libc::CLOCK_MONOTONIC);
            let (tid, signal) = match status {
                WaitStatus::Stopped(pid, sig) => (pid, Some(sig)),
                WaitStatus::PtraceSyscall(pid) | WaitStatus::PtraceEvent(pid, _, _) => (pid, None),
                WaitStatus::Exited(..) | WaitStatus::Signaled(..) => {
                    if let Some(pid) = status.pid() {
                        self.exited(pid.as_raw() as u32, status, now);
                    }
                    continue;
                }
                _ => continue,
            };
            if let Some(entry) = self
                .tracees
                .get_mut(&(tid.as_raw() as u32))
                .and_then(|t| t.entry.take())
            {
                // In a syscall we will not see return: record it unfinished.
                let tgid = self.tracees[&(tid.as_raw() as u32)].tgid;
                self.push(Event::Syscall(SyscallEvent {
                    tgid,
                    tid: tid.as_raw() as u32,
                    nr: entry.nr as u32,
                    args: entry.args,
                    enter_ns: entry.enter_ns,
                    exit_ns: None,
                    ret: None,
                    strings: entry.strings,
                    data: entry.data,
                    request: None,
                }));
            }
            let _ = ptrace::detach(tid, signal);
            self.tracees.remove(&(tid.as_raw() as u32));
        }
    }
}

enum Resume {
    Syscall(Option<Signal>),
    Listen,
}

fn status_is_exit(status: &WaitStatus) -> bool {
    matches!(status, WaitStatus::Exited(..) | WaitStatus::Signaled(..))
}

/// `PTRACE_LISTEN`, which nix does not wrap.
fn listen(pid: Pid) -> nix::Result<()> {
    // SAFETY: PTRACE_LISTEN takes no address or data.
    let ret = unsafe {
        libc::ptrace(
            libc::PTRACE_LISTEN,
            pid.as_raw(),
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_void>(),
        )
    };
    Errno::result(ret).map(drop)
}
