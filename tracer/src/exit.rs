//! How a subcommand asks tracer to end, and how a launched command ended.
//! Every subcommand returns `Result<Exit>`; `main` turns it into the
//! process's exit.
//!
//! A command's end is kept as `wait(2)`'s raw status ([`Ended`]), not as
//! nix's `WaitStatus`: nix has no value for the real-time signals, so its
//! `waitpid` fails (EINVAL) for a command killed by `SIGRTMIN+n`, which
//! tracer then took for a clean exit (#16).

use nix::{errno::Errno, unistd::Pid};

/// How tracer ends: with a status, or (like strace, when the traced command
/// was killed by a signal) by the same signal, so that shells and `tracer
/// compare` see what the command did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

/// A process's end as `wait(2)` encodes it: `code << 8` for an exit, the
/// signal number (`| 0x80` with a core dump) for a kill, real-time
/// signals included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ended(pub i32);

impl Ended {
    /// The exit code, when it exited.
    pub fn code(self) -> Option<i32> {
        libc::WIFEXITED(self.0).then(|| libc::WEXITSTATUS(self.0))
    }

    /// The signal that killed it, when one did.
    pub fn signal(self) -> Option<i32> {
        libc::WIFSIGNALED(self.0).then(|| libc::WTERMSIG(self.0))
    }

    pub fn core_dumped(self) -> bool {
        libc::WIFSIGNALED(self.0) && libc::WCOREDUMP(self.0)
    }

    /// How tracer ends for a command that ended so: the same code, or the
    /// same signal.
    pub fn exit(self) -> Exit {
        match (self.code(), self.signal()) {
            (Some(code), _) => Exit::Code(code),
            (None, Some(signal)) => Exit::Signal(signal),
            // Neither (a stop): not an end; nothing to report.
            (None, None) => Exit::Code(0),
        }
    }
}

/// `waitpid(pid)` for our child's end: `Ok(None)` while it runs (with
/// `nohang`; stops and continues are skipped), its raw status once it has
/// ended (and is reaped).
pub fn wait_end(pid: Pid, nohang: bool) -> nix::Result<Option<Ended>> {
    let flags = if nohang { libc::WNOHANG } else { 0 };
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: waitpid writes the status int we pass and nothing else.
        let got = unsafe { libc::waitpid(pid.as_raw(), &mut status, flags) };
        match Errno::result(got) {
            Ok(0) => return Ok(None),
            Ok(_) if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) => {
                return Ok(Some(Ended(status)));
            }
            Ok(_) if nohang => return Ok(None),
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A child killed by a real-time signal, which nix cannot read.
    #[test]
    fn a_real_time_kill_is_read_as_such() {
        let rt = libc::SIGRTMIN() + 2;
        // SAFETY: the child only raises a signal and exits.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            // SAFETY: async-signal-safe calls in the child of a fork.
            unsafe {
                libc::raise(rt);
                libc::_exit(3);
            }
        }
        let pid = Pid::from_raw(pid);
        let ended = wait_end(pid, false).unwrap().unwrap();
        assert_eq!(ended.signal(), Some(rt));
        assert_eq!(ended.code(), None);
        assert!(!ended.core_dumped());
        assert_eq!(ended.exit(), Exit::Signal(rt));
        assert_eq!(Ended(3 << 8).exit(), Exit::Code(3));
        assert_eq!(Ended(libc::SIGSEGV | 0x80).signal(), Some(libc::SIGSEGV));
        assert!(Ended(libc::SIGSEGV | 0x80).core_dumped());
    }
}
