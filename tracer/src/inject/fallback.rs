//! Delays by ptrace, for kernels without seccomp user notification.
//!
//! The child installs a `RET_TRACE` filter for the delayed syscalls only
//! (the builder of `ptrace::seccomp`) and stops itself before `execve`; a
//! tracer thread seizes it (and, through the clone/fork options, every
//! thread and child it makes), holds each task stopped at a delayed
//! syscall until its own deadline, and passes every signal on untouched.
//! Tasks wait concurrently: one sleeping task never holds up another.
//! Costlier than user notification (two context switches through tracer
//! per delayed syscall, and the task is ptrace-attached), which is why it
//! is only the fallback.

use std::{
    cmp::Reverse,
    collections::{BinaryHeap, HashSet},
    sync::mpsc,
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result};
use nix::{
    errno::Errno,
    sys::{
        ptrace::{self, Options},
        signal::Signal,
        wait::{WaitPidFlag, WaitStatus},
    },
    unistd::Pid,
};

use super::Delay;
use crate::{exit::Ended, ptrace::seccomp};

/// The fallback's filter: `RET_TRACE` for the delayed syscalls only. The
/// child installs it and then stops for the tracer before `execve`
/// (`launch::Prepare` with `stop_before_exec`).
pub fn filter(delay: &Delay) -> Vec<libc::sock_filter> {
    seccomp::program_with(
        |nr| delay.set.matches(nr),
        seccomp::Actions {
            selected: libc::SECCOMP_RET_TRACE,
            foreign: libc::SECCOMP_RET_ALLOW,
            exempt: None,
        },
    )
}

/// The tracer thread. [`Delayer::wait`] returns the command's status.
pub struct Delayer {
    thread: JoinHandle<Result<(Ended, u64)>>,
}

impl Delayer {
    /// Seizes `pid` (a gated child, not yet released) from a new thread,
    /// which then serves it until every task is gone.
    pub fn start(pid: Pid, delay: Duration) -> Result<Self> {
        let (ready, seized) = mpsc::channel();
        let thread = thread::Builder::new()
            .name("delay-ptrace".into())
            .spawn(move || {
                let options = Options::PTRACE_O_TRACESECCOMP
                    | Options::PTRACE_O_TRACECLONE
                    | Options::PTRACE_O_TRACEFORK
                    | Options::PTRACE_O_TRACEVFORK
                    | Options::PTRACE_O_TRACEEXEC;
                let result = ptrace::seize(pid, options);
                let _ = ready.send(result);
                result.context("cannot ptrace the command")?;
                serve(pid, delay)
            })
            .context("cannot start the delay thread")?;
        seized
            .recv()
            .context("the delay thread died")?
            .context("cannot ptrace the command")?;
        Ok(Delayer { thread })
    }

    /// Waits for the end of every task; returns the command's status and
    /// how many syscalls were delayed.
    pub fn wait(self) -> Result<(Ended, u64)> {
        self.thread
            .join()
            .map_err(|_| anyhow::anyhow!("the delay thread panicked"))?
    }
}

fn resume(pid: Pid, signal: Option<Signal>) {
    // ESRCH: the task died meanwhile (SIGKILL); nothing to resume.
    let _ = ptrace::cont(pid, signal);
}

fn serve(main: Pid, delay: Duration) -> Result<(Ended, u64)> {
    let mut due: BinaryHeap<Reverse<(Instant, Pid)>> = BinaryHeap::new();
    let mut known: HashSet<Pid> = HashSet::from([main]);
    let mut main_status = None;
    // The SIGSTOP the child raises before execve is ours, not the
    // command's: it is swallowed.
    let mut own_stop_pending = true;
    let mut delayed = 0;
    loop {
        let now = Instant::now();
        while let Some(&Reverse((at, pid))) = due.peek() {
            if at > now {
                break;
            }
            due.pop();
            resume(pid, None);
        }
        let flags = WaitPidFlag::__WALL
            | if due.is_empty() {
                WaitPidFlag::empty()
            } else {
                WaitPidFlag::WNOHANG
            };
        // Raw, not nix's `waitpid`: nix has no value for a stop or a
        // kill by a real-time signal, and fails with EINVAL on them.
        let mut raw: libc::c_int = 0;
        // SAFETY: waitpid writes the status int we pass and nothing else.
        let got = unsafe { libc::waitpid(-1, &mut raw, flags.bits()) };
        let pid = match Errno::result(got) {
            Ok(0) => {
                if let Some(Reverse((at, _))) = due.peek() {
                    let left = at.saturating_duration_since(Instant::now());
                    thread::sleep(left.min(Duration::from_micros(50)));
                }
                continue;
            }
            Ok(pid) => Pid::from_raw(pid),
            Err(Errno::EINTR) => continue,
            // No child and no tracee left.
            Err(Errno::ECHILD) => break,
            Err(e) => return Err(e).context("waitpid"),
        };
        if libc::WIFEXITED(raw) || libc::WIFSIGNALED(raw) {
            known.remove(&pid);
            if pid == main {
                main_status = Some(Ended(raw));
            }
            continue;
        }
        let Ok(status) = WaitStatus::from_raw(pid, raw) else {
            // A real-time signal's delivery stop: deliver it.
            known.insert(pid);
            let _ = crate::ptrace::tracee::ptrace_with_signal(
                libc::PTRACE_CONT,
                pid,
                libc::WSTOPSIG(raw),
            );
            continue;
        };
        match status {
            WaitStatus::PtraceEvent(pid, _, event) if event == libc::PTRACE_EVENT_SECCOMP => {
                delayed += 1;
                due.push(Reverse((Instant::now() + delay, pid)));
            }
            WaitStatus::PtraceEvent(pid, signal, event) if event == libc::PTRACE_EVENT_STOP => {
                if known.insert(pid) {
                    // A new thread or child's first stop.
                    resume(pid, None);
                } else if matches!(
                    signal,
                    Signal::SIGSTOP | Signal::SIGTSTP | Signal::SIGTTIN | Signal::SIGTTOU
                ) {
                    // Group stop: stay stopped as untraced, without
                    // blocking the tracer.
                    let _ = crate::ptrace::tracee::listen(pid);
                } else {
                    resume(pid, None);
                }
            }
            WaitStatus::PtraceEvent(pid, _, _) => {
                known.insert(pid);
                resume(pid, None);
            }
            WaitStatus::Stopped(pid, signal) => {
                known.insert(pid);
                if pid == main && own_stop_pending && signal == Signal::SIGSTOP {
                    own_stop_pending = false;
                    resume(pid, None);
                } else {
                    resume(pid, Some(signal));
                }
            }
            WaitStatus::PtraceSyscall(pid) => resume(pid, None),
            _ => {}
        }
    }
    let status = main_status.context("the command's exit was not seen")?;
    Ok((status, delayed))
}
