//! How a watched process ended, worked out from its own events.
//!
//! The kernel's task-exit record does not say how a process died, so the
//! daemon watches the syscalls that end one:
//! - its `exit_group(code)` was seen: exit `code` (non-zero triggers a
//!   dump, `exit-CODE`);
//! - no `exit_group`, but the last thread's `exit(code)`: the same;
//! - neither: the kernel ended the group, i.e. a signal killed it
//!   (`signal-NAME` when the process sent itself a fatal signal with
//!   `kill`/`tkill`/`tgkill`, as `abort()` does; plain `signal` for faults
//!   such as SIGSEGV or a kill from outside, which leave no syscall).
//!
//! A lost `exit_group` record (ring buffer full) makes a clean exit look
//! like a signal; `stats` shows lost events.

use super::triggers::Reason;
use crate::{event::SyscallEvent, syscalls::nr};

/// What a process's syscalls said about its end so far.
#[derive(Debug, Default)]
pub struct Ending {
    /// The code of its `exit_group`.
    exit_code: Option<i32>,
    /// The last `exit` (not `exit_group`) of a thread: (tid, code).
    thread_exit: Option<(u32, i32)>,
    /// A fatal signal the process sent itself.
    self_signal: Option<i32>,
}

impl Ending {
    /// Takes note of syscall `ev` of the process.
    pub fn syscall(&mut self, ev: &SyscallEvent) {
        match ev.nr {
            nr::EXIT_GROUP => self.exit_code = Some(ev.args[0] as i32 & 0xff),
            nr::EXIT => self.thread_exit = Some((ev.tid, ev.args[0] as i32 & 0xff)),
            nr::KILL | nr::TKILL | nr::TGKILL => {
                let (target, sig) = match ev.nr {
                    nr::TGKILL => (ev.args[0] as i32, ev.args[2] as i32),
                    _ => (ev.args[0] as i32, ev.args[1] as i32),
                };
                let own = target == 0 || target as u32 == ev.tgid || target as u32 == ev.tid;
                if own && ev.ret == Some(0) && is_fatal(sig) {
                    self.self_signal = Some(sig);
                }
            }
            _ => {}
        }
    }

    /// Whether its `exit_group` was seen (how it ended is then known even
    /// if its exit record is lost).
    pub fn exit_seen(&self) -> bool {
        self.exit_code.is_some()
    }

    /// Why the process that just ended (its last thread `last_tid`) is to
    /// be dumped; `None` for a clean exit.
    pub fn reason(&self, last_tid: u32) -> Option<Reason> {
        let code = self.exit_code.or(match self.thread_exit {
            Some((tid, code)) if tid == last_tid => Some(code),
            _ => None,
        });
        match code {
            Some(0) => None,
            Some(code) => Some(Reason::Exit(code)),
            None => Some(Reason::Signal(self.self_signal)),
        }
    }
}

/// Signals whose default action ends the process.
pub fn is_fatal(sig: i32) -> bool {
    !matches!(
        sig,
        0 | libc::SIGCHLD
            | libc::SIGCONT
            | libc::SIGSTOP
            | libc::SIGTSTP
            | libc::SIGTTIN
            | libc::SIGTTOU
            | libc::SIGURG
            | libc::SIGWINCH
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sc(tgid: u32, tid: u32, nr: u32, args: [u64; 3], ret: i64) -> SyscallEvent {
        SyscallEvent {
            tgid,
            tid,
            nr,
            args: [args[0], args[1], args[2], 0, 0, 0],
            enter_ns: 1,
            exit_ns: Some(2),
            ret: Some(ret),
            strings: None,
            data: None,
            request: None,
            stack: None,
        }
    }

    #[test]
    fn exit_codes_from_exit_group_or_the_last_thread() {
        let mut e = Ending::default();
        e.syscall(&sc(10, 10, nr::EXIT_GROUP, [0x103, 0, 0], 0));
        assert_eq!(e.reason(10), Some(Reason::Exit(3)), "only the low byte");
        let mut e = Ending::default();
        e.syscall(&sc(10, 10, nr::EXIT_GROUP, [0, 0, 0], 0));
        assert_eq!(e.reason(10), None);
        // A thread's exit counts only when that thread was the last.
        let mut e = Ending::default();
        e.syscall(&sc(10, 11, nr::EXIT, [4, 0, 0], 0));
        assert_eq!(e.reason(11), Some(Reason::Exit(4)));
        assert_eq!(e.reason(10), Some(Reason::Signal(None)));
    }

    #[test]
    fn self_sent_fatal_signals_are_named() {
        let abrt = libc::SIGABRT as u64;
        // abort(): tgkill(own tgid, own tid, SIGABRT).
        let mut e = Ending::default();
        e.syscall(&sc(10, 10, nr::TGKILL, [10, 10, abrt], 0));
        assert_eq!(e.reason(10), Some(Reason::Signal(Some(libc::SIGABRT))));
        // kill(0, SIGTERM): its own group.
        let mut e = Ending::default();
        e.syscall(&sc(10, 10, nr::KILL, [0, libc::SIGTERM as u64, 0], 0));
        assert_eq!(e.reason(10), Some(Reason::Signal(Some(libc::SIGTERM))));
        // Signals to others, failed sends and harmless signals say nothing.
        let mut e = Ending::default();
        e.syscall(&sc(10, 10, nr::KILL, [99, abrt, 0], 0));
        e.syscall(&sc(10, 10, nr::TKILL, [10, abrt, 0], -1));
        e.syscall(&sc(10, 10, nr::KILL, [10, libc::SIGCHLD as u64, 0], 0));
        assert_eq!(e.reason(10), Some(Reason::Signal(None)));
    }
}
