//! `siginfo_t`'s `si_code`: the sender kinds every signal shares
//! (`SI_USER`, `SI_KERNEL`, ...), and the per-signal reasons the kernel
//! gives its own signals (`CLD_EXITED` for SIGCHLD, `SEGV_MAPERR`, ...),
//! as strace's `xlat/siginfo_codes.in` and `xlat/sig*_codes.in` name them.

use super::Xlat;

/// Codes any signal may carry; the negative ones come from userspace,
/// stored as `u64` of the `i32` (`SI_QUEUE` is -1).
pub const SI_CODES: Xlat = &[
    (0, "SI_USER"),
    (0x80, "SI_KERNEL"),
    (-1i64 as u64, "SI_QUEUE"),
    (-2i64 as u64, "SI_TIMER"),
    (-3i64 as u64, "SI_MESGQ"),
    (-4i64 as u64, "SI_ASYNCIO"),
    (-5i64 as u64, "SI_SIGIO"),
    (-6i64 as u64, "SI_TKILL"),
    (-7i64 as u64, "SI_DETHREAD"),
    (-60i64 as u64, "SI_ASYNCNL"),
];

pub const SI_USER: i32 = 0;
pub const SI_TKILL: i32 = -6;
pub const SI_TIMER: i32 = -2;
pub const CLD_EXITED: i32 = 1;

pub const CLD_CODES: Xlat = &[
    (1, "CLD_EXITED"),
    (2, "CLD_KILLED"),
    (3, "CLD_DUMPED"),
    (4, "CLD_TRAPPED"),
    (5, "CLD_STOPPED"),
    (6, "CLD_CONTINUED"),
];

pub const SEGV_CODES: Xlat = &[
    (1, "SEGV_MAPERR"),
    (2, "SEGV_ACCERR"),
    (3, "SEGV_BNDERR"),
    (4, "SEGV_PKUERR"),
    (5, "SEGV_ACCADI"),
    (6, "SEGV_ADIDERR"),
    (7, "SEGV_ADIPERR"),
    (8, "SEGV_MTEAERR"),
    (9, "SEGV_MTESERR"),
    (10, "SEGV_CPERR"),
];

pub const BUS_CODES: Xlat = &[
    (1, "BUS_ADRALN"),
    (2, "BUS_ADRERR"),
    (3, "BUS_OBJERR"),
    (4, "BUS_MCEERR_AR"),
    (5, "BUS_MCEERR_AO"),
];

pub const ILL_CODES: Xlat = &[
    (1, "ILL_ILLOPC"),
    (2, "ILL_ILLOPN"),
    (3, "ILL_ILLADR"),
    (4, "ILL_ILLTRP"),
    (5, "ILL_PRVOPC"),
    (6, "ILL_PRVREG"),
    (7, "ILL_COPROC"),
    (8, "ILL_BADSTK"),
    (9, "ILL_BADIADDR"),
];

pub const FPE_CODES: Xlat = &[
    (1, "FPE_INTDIV"),
    (2, "FPE_INTOVF"),
    (3, "FPE_FLTDIV"),
    (4, "FPE_FLTOVF"),
    (5, "FPE_FLTUND"),
    (6, "FPE_FLTRES"),
    (7, "FPE_FLTINV"),
    (8, "FPE_FLTSUB"),
    (14, "FPE_FLTUNK"),
    (15, "FPE_CONDTRAP"),
];

pub const TRAP_CODES: Xlat = &[
    (1, "TRAP_BRKPT"),
    (2, "TRAP_TRACE"),
    (3, "TRAP_BRANCH"),
    (4, "TRAP_HWBKPT"),
    (5, "TRAP_UNK"),
    (6, "TRAP_PERF"),
];

pub const POLL_CODES: Xlat = &[
    (1, "POLL_IN"),
    (2, "POLL_OUT"),
    (3, "POLL_MSG"),
    (4, "POLL_ERR"),
    (5, "POLL_PRI"),
    (6, "POLL_HUP"),
];

pub const SYS_CODES: Xlat = &[(1, "SYS_SECCOMP"), (2, "SYS_USER_DISPATCH")];
