//! Terminal flags (`struct termios`) and line speeds, as strace's
//! `xlat/term_*.in` and `baud_options.in` name them, x86_64 values.

use super::Xlat;

/// `c_iflag`.
pub const TERM_IFLAGS: Xlat = &[
    (0o1, "IGNBRK"),
    (0o2, "BRKINT"),
    (0o4, "IGNPAR"),
    (0o10, "PARMRK"),
    (0o20, "INPCK"),
    (0o40, "ISTRIP"),
    (0o100, "INLCR"),
    (0o200, "IGNCR"),
    (0o400, "ICRNL"),
    (0o1000, "IUCLC"),
    (0o2000, "IXON"),
    (0o4000, "IXANY"),
    (0o10000, "IXOFF"),
    (0o20000, "IMAXBEL"),
    (0o40000, "IUTF8"),
];

/// `c_oflag`'s delay fields, each with its mask and the values' names,
/// printed before the flags (with strace's `NL?` for what has no name).
pub const TERM_ODELAYS: &[(u64, Xlat, &str)] = &[
    (0o400, &[(0, "NL0"), (0o400, "NL1")], "NL?"),
    (
        0o3000,
        &[
            (0, "CR0"),
            (0o1000, "CR1"),
            (0o2000, "CR2"),
            (0o3000, "CR3"),
        ],
        "CR?",
    ),
    (
        0o14000,
        &[
            (0, "TAB0"),
            (0o4000, "TAB1"),
            (0o10000, "TAB2"),
            // strace names TAB3 by its alias.
            (0o14000, "XTABS"),
        ],
        "TAB?",
    ),
    (0o20000, &[(0, "BS0"), (0o20000, "BS1")], "BS?"),
    (0o40000, &[(0, "VT0"), (0o40000, "VT1")], "VT?"),
    (0o100000, &[(0, "FF0"), (0o100000, "FF1")], "FF?"),
];

/// `c_oflag`'s flags.
pub const TERM_OFLAGS: Xlat = &[
    (0o1, "OPOST"),
    (0o2, "OLCUC"),
    (0o4, "ONLCR"),
    (0o10, "OCRNL"),
    (0o20, "ONOCR"),
    (0o40, "ONLRET"),
    (0o100, "OFILL"),
    (0o200, "OFDEL"),
];

/// `c_cflag`'s speed bits, its input speed (shifted by `IBSHIFT`) and its
/// character size.
pub const CBAUD: u64 = 0o10017;
pub const CIBAUD: u64 = 0o2003600000;
pub const IBSHIFT: u32 = 16;
pub const CSIZE: u64 = 0o60;

/// Line speeds (`CBAUD` values).
pub const BAUDS: Xlat = &[
    (0o0, "B0"),
    (0o1, "B50"),
    (0o2, "B75"),
    (0o3, "B110"),
    (0o4, "B134"),
    (0o5, "B150"),
    (0o6, "B200"),
    (0o7, "B300"),
    (0o10, "B600"),
    (0o11, "B1200"),
    (0o12, "B1800"),
    (0o13, "B2400"),
    (0o14, "B4800"),
    (0o15, "B9600"),
    (0o16, "B19200"),
    (0o17, "B38400"),
    (0o10000, "BOTHER"),
    (0o10001, "B57600"),
    (0o10002, "B115200"),
    (0o10003, "B230400"),
    (0o10004, "B460800"),
    (0o10005, "B500000"),
    (0o10006, "B576000"),
    (0o10007, "B921600"),
    (0o10010, "B1000000"),
    (0o10011, "B1152000"),
    (0o10012, "B1500000"),
    (0o10013, "B2000000"),
    (0o10014, "B2500000"),
    (0o10015, "B3000000"),
    (0o10016, "B3500000"),
    (0o10017, "B4000000"),
];

/// `CSIZE` values.
pub const CSIZES: Xlat = &[(0, "CS5"), (0o20, "CS6"), (0o40, "CS7"), (0o60, "CS8")];

/// `c_cflag`'s other flags.
pub const TERM_CFLAGS: Xlat = &[
    (0o100, "CSTOPB"),
    (0o200, "CREAD"),
    (0o400, "PARENB"),
    (0o1000, "PARODD"),
    (0o2000, "HUPCL"),
    (0o4000, "CLOCAL"),
    (0o10000000000, "CMSPAR"),
    (0o20000000000, "CRTSCTS"),
];

/// `c_lflag`, in strace's order (not the values').
pub const TERM_LFLAGS: Xlat = &[
    (0o1, "ISIG"),
    (0o2, "ICANON"),
    (0o4, "XCASE"),
    (0o10, "ECHO"),
    (0o20, "ECHOE"),
    (0o40, "ECHOK"),
    (0o100, "ECHONL"),
    (0o200, "NOFLSH"),
    (0o100000, "IEXTEN"),
    (0o1000, "ECHOCTL"),
    (0o2000, "ECHOPRT"),
    (0o4000, "ECHOKE"),
    (0o10000, "FLUSHO"),
    (0o40000, "PENDIN"),
    (0o400, "TOSTOP"),
    (0o200000, "EXTPROC"),
];

/// `TCFLSH`'s queue selector.
pub const TCFLSH_OPTIONS: Xlat = &[(0, "TCIFLUSH"), (1, "TCOFLUSH"), (2, "TCIOFLUSH")];

/// `TCXONC`'s action.
pub const TCXONC_OPTIONS: Xlat = &[(0, "TCOOFF"), (1, "TCOON"), (2, "TCIOFF"), (3, "TCION")];
