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
    for sig in 1..=MAX_SIGNAL {
        if get_action(sig).is_some_and(|action| action.handler == libc::SIG_IGN) {
            ignored |= 1 << (sig - 1);
        }
    }
    let mut closed = 0u64;
    for fd in 0..3 {
        // SAFETY: F_GETFD only queries the fd.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
            closed |= 1 << fd;
        }
    }
    IGNORED.store(ignored, Ordering::Relaxed);
    BLOCKED.store(get_mask().unwrap_or(0), Ordering::Relaxed);
    CLOSED.store(closed, Ordering::Relaxed);
    RECORDED.store(true, Ordering::Release);
}

/// The kernel's `struct sigaction` (x86_64): the raw syscalls see every
/// signal, where glibc's wrappers hide the two it reserves (32 and 33)
/// and so could neither record nor restore them.
#[repr(C)]
struct KernelSigaction {
    handler: libc::sighandler_t,
    flags: libc::c_ulong,
    restorer: usize,
    mask: u64,
}

/// The disposition of `sig`, straight from the kernel.
fn get_action(sig: i32) -> Option<KernelSigaction> {
    let mut old = KernelSigaction {
        handler: 0,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    // SAFETY: a query (null new action) into a valid struct of the size
    // the kernel expects; the last argument is the size of its mask.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_rt_sigaction,
            sig,
            std::ptr::null::<KernelSigaction>(),
            &mut old as *mut KernelSigaction,
            8,
        )
    };
    (rc == 0).then_some(old)
}

/// The calling thread's signal mask, straight from the kernel.
fn get_mask() -> Option<u64> {
    let mut mask = 0u64;
    // SAFETY: a query (null new mask) into a u64, the kernel's sigset.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_BLOCK,
            std::ptr::null::<u64>(),
            &mut mask as *mut u64,
            8,
        )
    };
    (rc == 0).then_some(mask)
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
    /// Only raw syscalls on stack memory: meant for a freshly forked
    /// child.
    pub fn restore_signals(&self) {
        for sig in 1..=MAX_SIGNAL {
            if sig == libc::SIGKILL || sig == libc::SIGSTOP {
                continue;
            }
            let action = KernelSigaction {
                handler: if self.ignored & (1 << (sig - 1)) != 0 {
                    libc::SIG_IGN
                } else {
                    libc::SIG_DFL
                },
                flags: 0,
                restorer: 0,
                mask: 0,
            };
            // SAFETY: rt_sigaction with a valid struct; SIG_DFL and
            // SIG_IGN need no restorer.
            unsafe {
                libc::syscall(
                    libc::SYS_rt_sigaction,
                    sig,
                    &action as *const KernelSigaction,
                    std::ptr::null_mut::<KernelSigaction>(),
                    8,
                )
            };
        }
        // SAFETY: rt_sigprocmask with a valid u64 set.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigprocmask,
                libc::SIG_SETMASK,
                &self.blocked as *const u64,
                std::ptr::null_mut::<u64>(),
                8,
            )
        };
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
        let now = get_action(libc::SIGPIPE).unwrap().handler;
        assert_eq!(now, libc::SIG_IGN, "std ignores SIGPIPE before main");
    }
}
