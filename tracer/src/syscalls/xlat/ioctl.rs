//! `ioctl` requests tracer names; the rest are shown by their encoded
//! fields.

pub const FIONCLEX: u32 = 0x5450;
pub const FIOCLEX: u32 = 0x5451;
pub const TCGETS: u32 = 0x5401;
pub const TCSETS: u32 = 0x5402;
pub const TCSETSW: u32 = 0x5403;
pub const TCSETSF: u32 = 0x5404;
pub const TIOCGPGRP: u32 = 0x540f;
pub const TIOCSPGRP: u32 = 0x5410;
pub const TIOCOUTQ: u32 = 0x5411;
pub const TIOCGWINSZ: u32 = 0x5413;
pub const TIOCSWINSZ: u32 = 0x5414;
pub const FIONREAD: u32 = 0x541b;
pub const FIONBIO: u32 = 0x5421;
pub const TIOCGSID: u32 = 0x5429;
pub const FIOASYNC: u32 = 0x5452;
pub const TIOCGPTN: u32 = 0x80045430;
pub const TIOCSPTLCK: u32 = 0x40045431;
pub const TCSBRK: u32 = 0x5409;
pub const TCXONC: u32 = 0x540a;
pub const TCFLSH: u32 = 0x540b;
pub const TIOCEXCL: u32 = 0x540c;
pub const TIOCNXCL: u32 = 0x540d;
pub const TIOCSCTTY: u32 = 0x540e;
pub const TIOCSTI: u32 = 0x5412;
pub const TIOCGSOFTCAR: u32 = 0x5419;
pub const TIOCSSOFTCAR: u32 = 0x541a;
pub const TIOCCONS: u32 = 0x541d;
pub const TIOCSSERIAL: u32 = 0x541f;
pub const TIOCPKT: u32 = 0x5420;
pub const TIOCNOTTY: u32 = 0x5422;
pub const TIOCSETD: u32 = 0x5423;
pub const TIOCGETD: u32 = 0x5424;
pub const TCSBRKP: u32 = 0x5425;
pub const TIOCSBRK: u32 = 0x5427;
pub const TIOCCBRK: u32 = 0x5428;
pub const TIOCGDEV: u32 = 0x80045432;
pub const TIOCVHANGUP: u32 = 0x5437;
pub const TIOCGEXCL: u32 = 0x80045440;

/// The requests strace names that dominate real traces (terminals). A
/// number two drivers share has both names, as strace shows it.
pub const IOCTLS: &[(u32, &str)] = &[
    (TCGETS, "TCGETS"),
    (TCSETS, "SNDCTL_TMR_START or TCSETS"),
    (TCSETSW, "SNDCTL_TMR_STOP or TCSETSW"),
    (TCSETSF, "SNDCTL_TMR_CONTINUE or TCSETSF"),
    (TCSBRK, "TCSBRK"),
    (TCXONC, "TCXONC"),
    (TCFLSH, "TCFLSH"),
    (TIOCEXCL, "TIOCEXCL"),
    (TIOCNXCL, "TIOCNXCL"),
    (TIOCSCTTY, "TIOCSCTTY"),
    (TIOCGPGRP, "TIOCGPGRP"),
    (TIOCSPGRP, "TIOCSPGRP"),
    (TIOCOUTQ, "TIOCOUTQ"),
    (TIOCGWINSZ, "TIOCGWINSZ"),
    (TIOCSTI, "TIOCSTI"),
    (TIOCSWINSZ, "TIOCSWINSZ"),
    (TIOCGSOFTCAR, "TIOCGSOFTCAR"),
    (TIOCSSOFTCAR, "TIOCSSOFTCAR"),
    (FIONREAD, "FIONREAD"),
    (TIOCCONS, "TIOCCONS"),
    (TIOCSSERIAL, "TIOCSSERIAL"),
    (TIOCPKT, "TIOCPKT"),
    (FIONBIO, "FIONBIO"),
    (TIOCNOTTY, "TIOCNOTTY"),
    (TIOCSETD, "TIOCSETD"),
    (TIOCGETD, "TIOCGETD"),
    (TCSBRKP, "TCSBRKP"),
    (TIOCSBRK, "TIOCSBRK"),
    (TIOCCBRK, "TIOCCBRK"),
    (TIOCGSID, "TIOCGSID"),
    (TIOCVHANGUP, "TIOCVHANGUP"),
    (FIONCLEX, "FIONCLEX"),
    (FIOCLEX, "FIOCLEX"),
    (FIOASYNC, "FIOASYNC"),
    (TIOCGPTN, "TIOCGPTN"),
    (TIOCSPTLCK, "TIOCSPTLCK"),
    (TIOCGDEV, "TIOCGDEV"),
    (0x5441, "TIOCGPTPEER"),
    (TIOCGEXCL, "TIOCGEXCL"),
];
