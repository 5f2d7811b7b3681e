//! What tracer inherited from whoever started it, recorded before Rust's
//! runtime changes it, so the launched command can inherit it instead.
//!
//! Before `main`, std ignores SIGPIPE and opens /dev/null on a closed fd
//! 0, 1 or 2. A command launched by tracer would inherit those changes (a
//! `yes | head -1` that prints "Broken pipe", a closed stdin that reads
//! EOF), and tracer's own signal handlers would replace the ignores it was
//! given (nohup, `trap "" INT`). A function in `.init_array` runs before
//! std's initialisation (which runs from `main`'s caller) and records the
//! dispositions, the signal mask and which standard fds were closed; the
//! launched command restores exactly that before `execve`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Highest signal number on Linux (`SIGRTMAX` with glibc's own reserved
/// real-time signals counted): signals are 1..=64.
const MAX_SIGNAL: i32 = 64;

/// Bit `sig - 1`: the signal was ignored (SIG_IGN) at startup.
static IGNORED: AtomicU64 = AtomicU64::new(0);
/// Bit `sig - 1`: the signal was blocked at startup.
static BLOCKED: AtomicU64 = AtomicU64::new(0);
/// Bit `fd`: standard fd 0, 1 or 2 was closed at startup.
static CLOSED: AtomicU64 = AtomicU64::new(0);
/// Set once `record` ran (it is linked into every binary of this crate,
/// unit-test binaries included).
static RECORDED: AtomicBool = AtomicBool::new(false);

/// Runs before std's runtime initialisation, like std's own
/// `ARGV_INIT_ARRAY`: glibc calls every `.init_array` entry before `main`.
#[used]
#[unsafe(link_section = ".init_array")]
static RECORD_AT_STARTUP: extern "C" fn() = record;

extern "C" fn record() {
    let mut ignored = 0u64;
    let mut blocked = 0u64;
    let mut closed = 0u64;
    // SAFETY: queries only (a null new action / new mask), into zeroed
    // stack values; no allocation, nothing of std used yet.
    unsafe {
        for sig in 1..=MAX_SIGNAL {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, std::ptr::null(), &mut old) == 0
                && old.sa_sigaction == libc::SIG_IGN
            {
                ignored |= 1 << (sig - 1);
            }
        }
        let mut mask: libc::sigset_t = std::mem::zeroed();
        if libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut mask) == 0 {
            for sig in 1..=MAX_SIGNAL {
                if libc::sigismember(&mask, sig) == 1 {
                    blocked |= 1 << (sig - 1);
                }
            }
        }
        for fd in 0..3 {
            if libc::fcntl(fd, libc::F_GETFD) == -1 {
                closed |= 1 << fd;
            }
        }
    }
    IGNORED.store(ignored, Ordering::Relaxed);
    BLOCKED.store(blocked, Ordering::Relaxed);
    CLOSED.store(closed, Ordering::Relaxed);
    RECORDED.store(true, Ordering::Release);
}

/// The startup state, copied out of the statics so that a forked child
/// only reads plain memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inherited {
    ignored: u64,
    blocked: u64,
    closed: u64,
}

impl Inherited {
    /// What tracer was started with.
    pub fn at_startup() -> Self {
        Self {
            ignored: IGNORED.load(Ordering::Relaxed),
            blocked: BLOCKED.load(Ordering::Relaxed),
            closed: CLOSED.load(Ordering::Relaxed),
        }
    }

    /// Whether `sig` was ignored when tracer started (nohup, `trap ""`):
    /// then tracer must not catch it either.
    pub fn ignores(&self, sig: i32) -> bool {
        (1..=MAX_SIGNAL).contains(&sig) && self.ignored & (1 << (sig - 1)) != 0
    }

    /// Puts the calling process's signal dispositions and mask back to
    /// what tracer was started with: SIG_IGN where it was ignored, SIG_DFL
    /// everywhere else (no handler survives `execve` anyway).
    ///
    /// Only async-signal-safe calls on stack memory: meant for a freshly
    /// forked child.
    pub fn restore_signals(&self) {
        // SAFETY: sigaction/sigprocmask with stack values; the signals
        // that cannot be changed (KILL, STOP, glibc's internal ones) just
        // fail, which is harmless.
        unsafe {
            for sig in 1..=MAX_SIGNAL {
                if sig == libc::SIGKILL || sig == libc::SIGSTOP {
                    continue;
                }
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = if self.ignored & (1 << (sig - 1)) != 0 {
                    libc::SIG_IGN
                } else {
                    libc::SIG_DFL
                };
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(sig, &action, std::ptr::null_mut());
            }
            let mut mask: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut mask);
            for sig in 1..=MAX_SIGNAL {
                if self.blocked & (1 << (sig - 1)) != 0 {
                    libc::sigaddset(&mut mask, sig);
                }
            }
            libc::sigprocmask(libc::SIG_SETMASK, &mask, std::ptr::null_mut());
        }
    }

    /// Closes again the standard fds that were closed at startup (std
    /// opened /dev/null on them). Async-signal-safe, for a forked child.
    pub fn restore_fds(&self) {
        for fd in 0..3 {
            if self.closed & (1 << fd) != 0 {
                // SAFETY: close(2) of a standard fd in the child only.
                unsafe { libc::close(fd) };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_before_std_ignored_sigpipe() {
        // The test harness is a Rust program too, started by cargo with
        // SIGPIPE at its default (std's Command resets it): std ignored it
        // after our constructor ran, so the record says "not ignored".
        assert!(RECORDED.load(Ordering::Acquire));
        assert!(!Inherited::at_startup().ignores(libc::SIGPIPE));
        // SAFETY: a query into a zeroed stack value.
        let now = unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            libc::sigaction(libc::SIGPIPE, std::ptr::null(), &mut old);
            old.sa_sigaction
        };
        assert_eq!(now, libc::SIG_IGN, "std ignores SIGPIPE before main");
    }
}
