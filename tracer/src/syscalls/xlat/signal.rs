//! Signal numbers tracer names itself (the classic ones come from `nix`)
//! and `rt_sigprocmask`'s `how`.

use super::Xlat;

pub const SIGRTMIN: i32 = 32;
pub const SIGRTMAX: i32 = 64;
pub const SIG_HOW: Xlat = &[(0, "SIG_BLOCK"), (1, "SIG_UNBLOCK"), (2, "SIG_SETMASK")];

/// `sa_handler` values with a name.
pub const SA_HANDLERS: Xlat = &[(0, "SIG_DFL"), (1, "SIG_IGN")];

/// `sa_flags`, in strace's order.
pub const SA_FLAGS: Xlat = &[
    (SA_RESTORER, "SA_RESTORER"),
    (0x0800_0000, "SA_ONSTACK"),
    (0x1000_0000, "SA_RESTART"),
    (0x2000_0000, "SA_INTERRUPT"),
    (0x4000_0000, "SA_NODEFER"),
    (0x8000_0000, "SA_RESETHAND"),
    (0x4, "SA_SIGINFO"),
    (0x1, "SA_NOCLDSTOP"),
    (0x2, "SA_NOCLDWAIT"),
];

/// `sa_flags`: `sa_restorer` is meaningful (and shown) with it.
pub const SA_RESTORER: u64 = 0x0400_0000;
