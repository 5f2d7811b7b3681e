//! Signal numbers tracer names itself (the classic ones come from `nix`)
//! and `rt_sigprocmask`'s `how`.

use super::Xlat;

pub const SIGRTMIN: i32 = 32;
pub const SIGRTMAX: i32 = 64;
pub const SIG_HOW: Xlat = &[(0, "SIG_BLOCK"), (1, "SIG_UNBLOCK"), (2, "SIG_SETMASK")];
