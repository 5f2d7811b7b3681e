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
        wait::WaitStatus,
    },
    unistd::Pid,
};
use tracer_common::{CaptureSpec, MAX_ARGS, capture, structs};

use super::memory;
use super::{PtraceError, Request, Shared};
use crate::{
    clock::clock_ns,
    event::{ArgString, ArgStrings, DataCapture, Event, SigInfo, SyscallEvent, TaskEvent},
    exit::Ended,
    procfs,
    stacks::{
        MAX_FRAMES, UserStack,
        maps::{MapsCache, cut_at_unmapped},
    },
    syscalls::{self, filter::SyscallFilter},
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
    stack: Option<Box<UserStack>>,
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

/// Reads the structures `spec` lists that are valid now (`when`: at
/// entry, with the stack pointer `sp`, or at exit with return value `ret`)
/// into `strings`, by argument; a second capture of one argument (an
/// in-out length) follows the first.
fn read_structs(
    pid: Pid,
    spec: &CaptureSpec,
    args: &[u64; MAX_ARGS],
    ret: Option<i64>,
    sp: u64,
    strings: &mut Option<Box<ArgStrings>>,
) {
    let when = if ret.is_some() {
        structs::EXIT
    } else {
        structs::ENTER
    };
    for s in &spec.structs {
        if s.size == structs::NONE
            || s.flags & when == 0
            || (s.flags & structs::SUCCESS != 0 && ret.is_some_and(|r| r < 0))
        {
            continue;
        }
        // A structure on the stack (a signal frame) is read as if an
        // argument pointed to it, as the eBPF side does.
        let mut at = *args;
        if s.flags & structs::STACK != 0 {
            at[usize::from(s.arg)] = sp.wrapping_add(u64::from(s.offset));
        }
        let Some(bytes) = memory::read_struct(pid, s, &at, ret) else {
            continue;
        };
        let slot = &mut strings.get_or_insert_with(Default::default)[usize::from(s.arg)];
        match slot {
            Some(first) => first.bytes.extend_from_slice(&bytes),
            None => {
                *slot = Some(ArgString {
                    bytes,
                    truncated: false,
                })
            }
        }
    }
}

/// What to capture of syscall `nr`: the table's spec, without its
/// structures unless `structs` (some sink shows them).
fn spec_for(nr: u32, structs: bool) -> CaptureSpec {
    let spec = syscalls::capture_spec(nr);
    if structs {
        spec
    } else {
        CaptureSpec {
            exit_structs: 0,
            structs: Default::default(),
            ..spec
        }
    }
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
    /// Read the structures behind pointers (some sink shows them).
    structs: bool,
    /// Our own children: their exit statuses go to `shared.statuses`.
    children: Vec<u32>,
    batch: Vec<Event>,
    events: mpsc::Sender<Vec<Event>>,
    shared: Arc<Shared>,
    /// `-k`: the syscalls whose entry stack is taken.
    stacks: Option<SyscallFilter>,
    /// Per process, its executable mappings as last read (until it
    /// execs).
    maps: MapsCache,
}

pub(super) fn run(
    requests: mpsc::Receiver<Request>,
    events: mpsc::Sender<Vec<Event>>,
    shared: Arc<Shared>,
    capture_bytes: usize,
    structs: bool,
) {
    let mut tracer = Tracer {
        tracees: HashMap::new(),
        capture_bytes,
        structs,
        children: Vec::new(),
        batch: Vec::with_capacity(BATCH),
        events,
        shared,
        stacks: None,
        maps: MapsCache::default(),
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
            Request::Stacks(filter) => tracer.stacks = Some(filter),
            Request::Run => break,
        }
    }
    tracer.wait_loop();
    tracer.flush();
    tracer.shared.finished.store(true, Ordering::Release);
}

/// Why the kernel refused to let us seize `tgid`, in words: the real
/// reason when /proc tells it (another tracer, Yama), not a guess.
fn attach_hint(tgid: u32, errno: Errno) -> String {
    match errno {
        Errno::EPERM => {
            if let Some(other) = procfs::tracer_of(tgid) {
                let name = procfs::comm(other).unwrap_or_else(|| "?".into());
                return format!(
                    " (already traced by PID {other} ({name}); a process has one ptrace tracer at a time: use --mode ebpf, or stop {name})"
                );
            }
            let scope = std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope")
                .ok()
                .and_then(|s| s.trim().parse::<u32>().ok());
            match (nix::unistd::geteuid().is_root(), scope) {
                (_, Some(3)) => " (ptrace is disabled on this machine: kernel.yama.ptrace_scope = 3; use --mode ebpf)".into(),
                (false, _) => " (not permitted: run as root, or check /proc/sys/kernel/yama/ptrace_scope)".into(),
                (true, _) => " (refused by the kernel even to root: a security module may forbid it; use --mode ebpf)".into(),
            }
        }
        Errno::ESRCH => " (no such process)".into(),
        _ => String::new(),
    }
}

impl Tracer {
    fn seize_process(&mut self, tgid: u32, launched: bool) -> Result<Vec<u32>, PtraceError> {
        let attach_err = |errno: Errno| PtraceError::Attach {
            pid: tgid as i32,
            errno,
            hint: attach_hint(tgid, errno),
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
            // A thread that has exited (the main thread of a process
            // whose other threads run on) cannot be seized and makes no
            // more syscalls: the live ones are the process.
            let fresh: Vec<u32> = tids
                .into_iter()
                .filter(|&t| !self.tracees.contains_key(&t) && !procfs::zombie(t))
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
        if seized.is_empty() {
            // Every thread exited while we listed them.
            return Err(attach_err(Errno::ESRCH));
        }
        Ok(seized)
    }

    /// The user stack of stopped thread `tid` of `tgid`, when `-k` asks
    /// for syscall `nr`'s: a frame-pointer walk from its registers.
    fn stack(&mut self, tid: u32, tgid: u32, nr: u64, now: u64) -> Option<Box<UserStack>> {
        if !self.stacks.as_ref()?.matches(nr as u32) {
            return None;
        }
        let pid = Pid::from_raw(tid as i32);
        let regs = ptrace::getregs(pid).ok()?;
        let (mut ips, mut truncated) = memory::walk_frames(pid, regs.rip, regs.rbp, MAX_FRAMES);
        let maps = self.maps.for_stack(tgid, &ips, now);
        if let Some(maps) = &maps {
            cut_at_unmapped(&mut ips, &mut truncated, maps);
        }
        Some(Box::new(UserStack {
            ips,
            truncated,
            maps,
            symbols: None,
        }))
    }

    fn push(&mut self, event: Event) {
        if self.batch.is_empty() {
            self.shared.pending.store(true, Ordering::Release);
        }
        self.batch.push(event);
        if self.batch.len() >= BATCH {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if !self.batch.is_empty() {
            let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
            // Cleared before the send: a wake that finds it clear was not
            // needed, and one that finds it set at worst flushes nothing.
            self.shared.pending.store(false, Ordering::Release);
            let _ = self.events.send(batch);
        }
    }

    fn wait_loop(&mut self) {
        while !self.tracees.is_empty() {
            if self.shared.stop.load(Ordering::Acquire) {
                self.detach_all();
                return;
            }
            let waited = match wait_any() {
                Ok(waited) => waited,
                Err(Errno::EINTR) => {
                    // Woken to stop, or a stray signal: hand over what we
                    // have and look at the flag.
                    self.flush();
                    continue;
                }
                Err(_) => break, // ECHILD: nothing left to wait for
            };
            let now = clock_ns(libc::CLOCK_MONOTONIC);
            let status = match waited {
                Waited::Status(status) => status,
                Waited::RealtimeStop(tid, sig) => {
                    self.delivered(tid, now);
                    self.resume(tid, now, Resume::SyscallRaw(sig));
                    continue;
                }
                Waited::RealtimeKill(tid, raw) => {
                    self.ended(tid, Some(raw), now);
                    self.flush();
                    continue;
                }
            };
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
            Resume::SyscallRaw(sig) => {
                let free = self
                    .tracees
                    .get(&tid)
                    .is_some_and(|t| t.seccomp && t.entry.is_none());
                let request = if free {
                    libc::PTRACE_CONT
                } else {
                    libc::PTRACE_SYSCALL
                };
                ptrace_with_signal(request, pid, sig)
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
                if !ours {
                    self.delivered(tid, now);
                }
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
                let stack = self.stack(tid, tgid, entry.nr, now);
                let Some(tracee) = self.tracees.get_mut(&tid) else {
                    return;
                };
                if entry.nr == u64::from(syscalls::nr::EXIT)
                    || entry.nr == u64::from(syscalls::nr::EXIT_GROUP)
                {
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
                        stack,
                    }));
                } else {
                    let spec = spec_for(entry.nr as u32, self.structs);
                    let mut strings = read_strings(pid, spec, &entry.args);
                    read_structs(
                        pid,
                        &spec,
                        &entry.args,
                        None,
                        info.stack_pointer,
                        &mut strings,
                    );
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
                        stack,
                    });
                }
            }
            Ok(info) if info.op == libc::PTRACE_SYSCALL_INFO_EXIT => {
                // SAFETY: `op` says the union holds `exit`.
                let exit = unsafe { info.u.exit };
                if let Some(entry) = tracee.entry.take() {
                    let mut data = entry.data;
                    let spec = spec_for(entry.nr as u32, self.structs);
                    let mut strings = entry.strings;
                    if spec.exit_structs != 0 {
                        read_structs(pid, &spec, &entry.args, Some(exit.sval), 0, &mut strings);
                    }
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
                        strings,
                        data,
                        request: None,
                        stack: entry.stack,
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
                // A new image: the old mappings say nothing about it.
                self.maps.forget(tgid);
                self.push(Event::Task(TaskEvent::Named {
                    ts_ns: now,
                    tgid,
                    tid,
                    comm: procfs::comm(tid).unwrap_or_default(),
                    owner: None,
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
                    // strace's `--- stopped by SIGSTOP ---`.
                    if let Some(tgid) = self.tracees.get(&tid).map(|t| t.tgid) {
                        self.push(Event::Task(TaskEvent::Stopped {
                            ts_ns: now,
                            tgid,
                            tid,
                            signo: sig as i32,
                        }));
                    }
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

    /// A signal-delivery stop of `tid`: the signal's `siginfo_t`, as
    /// strace's `--- SIG... {...} ---` shows it.
    fn delivered(&mut self, tid: u32, now: u64) {
        let Some(tgid) = self.tracees.get(&tid).map(|t| t.tgid) else {
            return;
        };
        // ESRCH: killed meanwhile; its exit follows.
        let Ok(raw) = ptrace::getsiginfo(Pid::from_raw(tid as i32)) else {
            return;
        };
        // SAFETY: `siginfo_t` is 128 plain bytes, more than `SigInfo::BYTES`.
        let bytes: [u8; SigInfo::BYTES] =
            unsafe { std::ptr::read((&raw as *const libc::siginfo_t).cast()) };
        self.push(Event::Task(TaskEvent::Signal {
            ts_ns: now,
            tgid,
            tid,
            info: SigInfo::from_bytes(&bytes),
        }));
    }

    fn exited(&mut self, tid: u32, status: WaitStatus, now: u64) {
        self.ended(tid, wait_status(&status), now);
    }

    /// `tid` is gone, with this `wait(2)` status (kept for our own
    /// children, whose status is tracer's exit).
    fn ended(&mut self, tid: u32, status: Option<i32>, now: u64) {
        let Some(tracee) = self.tracees.remove(&tid) else {
            return;
        };
        if let Some(status) = status
            && self.children.contains(&tid)
            && let Ok(mut statuses) = self.shared.statuses.lock()
        {
            statuses.insert(tid as i32, Ended(status));
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
            status,
        }));
    }

    /// Stops every tracee and detaches it, delivering any signal it was
    /// stopped for. Afterwards they run as if never traced.
    fn detach_all(&mut self) {
        for &tid in self.tracees.keys() {
            let _ = ptrace::interrupt(Pid::from_raw(tid as i32));
        }
        while !self.tracees.is_empty() {
            let now = clock_ns(libc::CLOCK_MONOTONIC);
            let status = match wait_any() {
                Ok(Waited::Status(status)) => status,
                Ok(Waited::RealtimeStop(tid, sig)) => {
                    let pid = Pid::from_raw(tid as i32);
                    let _ = ptrace_with_signal(libc::PTRACE_DETACH, pid, sig);
                    self.tracees.remove(&tid);
                    continue;
                }
                Ok(Waited::RealtimeKill(tid, raw)) => {
                    self.ended(tid, Some(raw), now);
                    continue;
                }
                Err(Errno::EINTR) => continue,
                Err(_) => break,
            };
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
                    stack: None,
                }));
            }
            let _ = ptrace::detach(tid, signal);
            self.tracees.remove(&(tid.as_raw() as u32));
        }
    }
}

enum Resume {
    Syscall(Option<Signal>),
    /// As `Syscall`, delivering a signal nix has no [`Signal`] for (a
    /// real-time one).
    SyscallRaw(i32),
    Listen,
}

/// What `waitpid` reported: nix's reading of it, or what nix cannot
/// represent, a stop or a kill by a real-time signal (its [`Signal`] has
/// no value for them, and its `waitpid` fails with EINVAL instead).
enum Waited {
    Status(WaitStatus),
    /// Signal-delivery stop of a tid for a real-time signal.
    RealtimeStop(u32, i32),
    /// A tid killed by a real-time signal, with its raw wait status.
    RealtimeKill(u32, i32),
}

/// `waitpid(-1, __WALL)`, read by nix where it can.
fn wait_any() -> nix::Result<Waited> {
    let mut status: libc::c_int = 0;
    // SAFETY: waitpid writes the status int we pass and nothing else.
    let pid = Errno::result(unsafe { libc::waitpid(-1, &mut status, libc::__WALL) })?;
    match WaitStatus::from_raw(Pid::from_raw(pid), status) {
        Ok(status) => Ok(Waited::Status(status)),
        Err(_) if libc::WIFSTOPPED(status) => {
            Ok(Waited::RealtimeStop(pid as u32, libc::WSTOPSIG(status)))
        }
        Err(_) if libc::WIFSIGNALED(status) => Ok(Waited::RealtimeKill(pid as u32, status & 0xff)),
        Err(e) => Err(e),
    }
}

/// A ptrace request that takes a signal number to deliver (`PTRACE_CONT`,
/// `PTRACE_SYSCALL`, `PTRACE_DETACH`), with a number nix's [`Signal`]
/// cannot hold.
pub(crate) fn ptrace_with_signal(request: libc::c_uint, pid: Pid, sig: i32) -> nix::Result<()> {
    // SAFETY: these requests take no address and a signal number as data.
    let ret = unsafe {
        libc::ptrace(
            request,
            pid.as_raw(),
            std::ptr::null_mut::<libc::c_void>(),
            sig as libc::c_long as *mut libc::c_void,
        )
    };
    Errno::result(ret).map(drop)
}

/// The raw `wait(2)` status of an exit or a kill (`code << 8`, or the
/// signal number `| 0x80` with a core dump), which nix decodes away.
fn wait_status(status: &WaitStatus) -> Option<i32> {
    match *status {
        WaitStatus::Exited(_, code) => Some((code & 0xff) << 8),
        WaitStatus::Signaled(_, sig, core) => Some(sig as i32 | if core { 0x80 } else { 0 }),
        _ => None,
    }
}

const _: () = assert!(size_of::<libc::siginfo_t>() >= SigInfo::BYTES);

fn status_is_exit(status: &WaitStatus) -> bool {
    matches!(status, WaitStatus::Exited(..) | WaitStatus::Signaled(..))
}

/// `PTRACE_LISTEN`, which nix does not wrap.
pub(crate) fn listen(pid: Pid) -> nix::Result<()> {
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

#[cfg(test)]
mod tests {
    //! These trace real children through the ptrace thread. That thread
    //! waits for any child (`waitpid(-1)`), so beside other tests it would
    //! reap their children: each test re-runs itself alone in a fresh test
    //! process (see [`alone`]), and passes when that run passes.

    use std::{
        io::Write as _,
        process::{Child, Command, Stdio},
        time::{Duration, Instant},
    };

    use super::super::PtraceSource;
    use crate::{
        event::{Event, SyscallEvent, TaskEvent},
        stacks::symbolize::Symbolizer,
        syscalls::{self, filter::SyscallFilter},
    };

    /// True in the process that runs `test` alone; elsewhere runs it so
    /// and checks that it passed.
    fn alone(test: &str) -> bool {
        const VAR: &str = "TRACER_TRACEE_TEST_ALONE";
        if std::env::var_os(VAR).is_some() {
            return true;
        }
        let test = format!("ptrace::tracee::tests::{test}");
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", &test, "--test-threads=1"])
            .env(VAR, "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{test} failed:\n{stdout}\n{stderr}");
        assert!(stdout.contains("1 passed"), "{test} did not run:\n{stdout}");
        false
    }

    /// Spawns `program args` with a pipe on stdin, seizes it, and starts
    /// the wait loop.
    fn traced(program: &str, args: &[&str]) -> (PtraceSource, Child) {
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let mut source = PtraceSource::new(64, true).unwrap();
        let tids = source.trace(child.id(), false).unwrap();
        assert_eq!(tids, [child.id()]);
        source.start();
        (source, child)
    }

    /// Every event until the ptrace thread is done (all tracees gone).
    fn all_events(source: &mut PtraceSource) -> Vec<Event> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut events = Vec::new();
        while !source.finished() {
            assert!(Instant::now() < deadline, "timed out; got {events:?}");
            if let Some(batch) = source.wait(Duration::from_millis(10)) {
                events.extend(batch);
            }
        }
        source.drain(|event| events.push(event));
        events
    }

    fn syscalls_of<'a>(
        events: &'a [Event],
        name: &'a str,
    ) -> impl Iterator<Item = &'a SyscallEvent> + 'a {
        let nr = syscalls::by_name(name);
        events.iter().filter_map(move |event| match event {
            Event::Syscall(ev) if Some(ev.nr) == nr => Some(ev),
            _ => None,
        })
    }

    #[test]
    fn structures_are_read_only_when_shown() {
        let stat = syscalls::by_name("newfstatat").unwrap();
        let shown = super::spec_for(stat, true);
        assert_eq!((shown.structs[0].arg, shown.exit_structs), (2, 1));
        let summary = super::spec_for(stat, false);
        assert_eq!(summary.structs, [Default::default(); super::structs::MAX]);
        assert_eq!((summary.exit_structs, summary.paths), (0, 0b10));
    }

    #[test]
    fn an_attached_process_is_recorded_with_its_data_until_it_exits() {
        if !alone("an_attached_process_is_recorded_with_its_data_until_it_exits") {
            return;
        }
        // Seized while blocked in a read, the shell's call is seen from
        // its exit only: the line for cat is read by calls traced whole.
        let (mut source, mut child) = traced("sh", &["-c", "read line; exec cat"]);
        let pid = child.id();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"go\nhello\n").unwrap();
        drop(stdin);
        let events = all_events(&mut source);
        assert!(
            events.iter().any(|event| matches!(event,
                Event::Task(TaskEvent::Named { tgid, comm, .. }) if *tgid == pid && comm == "cat")),
            "the exec is not named in {events:?}"
        );

        // Read (data captured at exit) and written (at entry), with times.
        let read = syscalls_of(&events, "read")
            .find(|ev| ev.ret == Some(6))
            .unwrap_or_else(|| panic!("no read of the line in {events:?}"));
        assert_eq!(read.data.as_ref().unwrap().bytes, b"hello\n");
        assert!(read.exit_ns.unwrap() >= read.enter_ns);
        let write = syscalls_of(&events, "write").next().unwrap();
        assert_eq!((write.tgid, write.tid, write.ret), (pid, pid, Some(6)));
        assert_eq!(write.data.as_ref().unwrap().bytes, b"hello\n");
        // exit_group never returns: recorded at entry, without an exit.
        let exit = syscalls_of(&events, "exit_group").next().unwrap();
        assert_eq!((exit.exit_ns, exit.ret), (None, None));
        // The process's end is the last event.
        match events.last() {
            Some(Event::Task(TaskEvent::Exited {
                tgid,
                tid,
                group_dead: true,
                ..
            })) => assert_eq!((*tgid, *tid), (pid, pid)),
            other => panic!("last event {other:?}"),
        }
        assert!(source.stopped_ns() > 0);
    }

    #[test]
    fn children_are_followed_through_fork_and_exec() {
        if !alone("children_are_followed_through_fork_and_exec") {
            return;
        }
        // The shell waits for a line, then runs `true` in a child.
        let true_path = which::which("true").unwrap();
        let script = format!("read line; {}; exit 3", true_path.display());
        let (mut source, mut child) = traced("sh", &["-c", &script]);
        let pid = child.id();
        child.stdin.take().unwrap().write_all(b"go\n").unwrap();
        let events = all_events(&mut source);

        let spawned = events
            .iter()
            .find_map(|event| match event {
                Event::Task(TaskEvent::Spawned {
                    parent_tgid, tid, ..
                }) if *parent_tgid == pid => Some(*tid),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no child of {pid} in {events:?}"));
        assert!(
            events.iter().any(|event| matches!(event,
                Event::Task(TaskEvent::Named { tgid, comm, .. })
                    if *tgid == spawned && comm == "true")),
            "the child's exec is not named in {events:?}"
        );
        let exits: Vec<u32> = events
            .iter()
            .filter_map(|event| match event {
                Event::Task(TaskEvent::Exited {
                    tgid,
                    group_dead: true,
                    ..
                }) => Some(*tgid),
                _ => None,
            })
            .collect();
        assert_eq!(exits, [spawned, pid]);
        let shell_exit = syscalls_of(&events, "exit_group")
            .find(|ev| ev.tgid == pid)
            .unwrap();
        assert_eq!(shell_exit.args[0], 3);
    }

    /// #16: exits carry the wait(2) status: a child killed by SIGKILL
    /// is 9, the shell's `exit 3` is `3 << 8`.
    #[test]
    fn exits_carry_their_wait_status() {
        if !alone("exits_carry_their_wait_status") {
            return;
        }
        let (mut source, mut child) =
            traced("sh", &["-c", "read line; sh -c 'kill -KILL $$'; exit 3"]);
        let pid = child.id();
        child.stdin.take().unwrap().write_all(b"go\n").unwrap();
        let events = all_events(&mut source);
        let statuses: Vec<(bool, Option<i32>)> = events
            .iter()
            .filter_map(|event| match event {
                Event::Task(TaskEvent::Exited {
                    tgid,
                    group_dead: true,
                    status,
                    ..
                }) => Some((*tgid == pid, *status)),
                _ => None,
            })
            .collect();
        assert_eq!(
            statuses,
            [(false, Some(libc::SIGKILL)), (true, Some(3 << 8))],
            "{events:?}"
        );
    }

    /// #16: signal-delivery stops are reported with their siginfo, a
    /// real-time signal's too (nix cannot name those: tracing used to
    /// end there, leaving the tracee stopped).
    #[test]
    fn signal_deliveries_are_reported_real_time_ones_too() {
        if !alone("signal_deliveries_are_reported_real_time_ones_too") {
            return;
        }
        let (mut source, mut child) = traced(
            "/usr/bin/python3",
            &["-S", "-c", crate::event::SIGNALLING_PROGRAM],
        );
        let pid = child.id();
        child.stdin.take().unwrap().write_all(b"go\n").unwrap();
        let events = all_events(&mut source);
        assert_eq!(
            crate::event::signals_of(&events, pid),
            [(libc::SIGUSR1, 0, pid), (libc::SIGRTMIN() + 1, 0, pid)],
            "{events:?}"
        );
        assert!(
            matches!(
                events.last(),
                Some(Event::Task(TaskEvent::Exited {
                    status: Some(0),
                    ..
                }))
            ),
            "{events:?}"
        );
    }

    #[test]
    fn detaching_leaves_the_process_running_untraced() {
        if !alone("detaching_leaves_the_process_running_untraced") {
            return;
        }
        let (mut source, mut child) = traced("sh", &["-c", "read line; exec cat"]);
        let pid = child.id();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"go\n").unwrap();
        // Wait until cat, traced from its exec, blocks in read(0, ...):
        // detaching then records that call as unfinished.
        let deadline = Instant::now() + Duration::from_secs(10);
        let in_read = || {
            let proc = |file| std::fs::read_to_string(format!("/proc/{pid}/{file}"));
            proc("comm").is_ok_and(|c| c == "cat\n")
                && proc("syscall").is_ok_and(|s| s.starts_with("0 0x0 "))
        };
        while !in_read() {
            assert!(Instant::now() < deadline, "cat never blocked in read");
            std::thread::sleep(Duration::from_millis(5));
        }
        source.detach();
        let events = all_events(&mut source);
        let read = syscalls_of(&events, "read")
            .filter(|ev| ev.tgid == pid)
            .last()
            .unwrap_or_else(|| panic!("no read in {events:?}"));
        assert_eq!((read.args[0], read.exit_ns, read.ret), (0, None, None));
        // Untraced now, cat still works and ends normally.
        stdin.write_all(b"after\n").unwrap();
        drop(stdin);
        assert!(child.wait().unwrap().success());
    }

    /// `lab/stacks/deep.c` built with frame pointers into a scratch file.
    fn deep_c() -> std::path::PathBuf {
        let src = concat!(env!("CARGO_MANIFEST_DIR"), "/../lab/stacks/deep.c");
        // In a private directory of its own (kept: the test runs it).
        let dir = crate::files::test_dir("tracer-deep-c-").keep();
        let exe = dir.join("deep-c");
        let status = Command::new("gcc")
            .args(["-O2", "-fno-omit-frame-pointer", "-o"])
            .arg(&exe)
            .arg(src)
            .status()
            .unwrap();
        assert!(status.success(), "gcc failed");
        exe
    }

    #[test]
    fn stacks_of_selected_syscalls_are_named_after_the_process_is_gone() {
        if !alone("stacks_of_selected_syscalls_are_named_after_the_process_is_gone") {
            return;
        }
        let exe = deep_c();
        let script = format!("read line; exec {}", exe.display());
        let mut child = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let mut source = PtraceSource::new(0, false).unwrap();
        source.stacks(SyscallFilter::parse(&["trace=getppid"]).unwrap());
        source.trace(child.id(), false).unwrap();
        source.start();
        child.stdin.take().unwrap().write_all(b"go\n").unwrap();
        // Every event, once the ptrace thread saw the process exit: its
        // /proc entry is gone, so the names come from the maps captured at
        // the stop.
        let events = all_events(&mut source);
        assert!(!std::path::Path::new(&format!("/proc/{}", child.id())).exists());
        // Reaped already, by the ptrace thread.
        assert!(child.wait().is_err());
        let stacks: Vec<_> = events
            .iter()
            .filter_map(|event| match event {
                Event::Syscall(ev) => ev.stack.as_ref().map(|s| (ev.nr, s.clone())),
                Event::Task(_) => None,
            })
            .collect();
        // The shell may call getppid too, if it was seized early enough.
        let getppid = syscalls::by_name("getppid");
        assert!(
            stacks.iter().all(|(nr, _)| Some(*nr) == getppid),
            "stacks of unselected syscalls"
        );
        let mut stack = stacks.last().expect("a stack").1.clone();
        Symbolizer::default().symbolize(&mut stack);
        let _ = std::fs::remove_file(&exe);
        assert_eq!(
            stack.names()[..4],
            ["stack_inner", "stack_middle", "stack_outer", "main"]
        );
    }
}
