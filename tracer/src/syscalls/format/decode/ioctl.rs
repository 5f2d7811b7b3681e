//! `ioctl`: the request's name for the common ones, else its encoded
//! fields, and the argument as strace's `term.c` decodes it for the
//! terminal requests (`TCGETS` with its `struct termios`, `TIOCGWINSZ`,
//! `FIONREAD`'s `[3]`, ...), else in hex.
//!
//! The sources capture what the argument points to at entry and at exit
//! (`crate::syscalls::structs`, as far as a `struct termios` goes): a
//! request that reads it is shown with the entry bytes, as strace shows
//! it at entry, whatever the call returned; one that writes it is shown
//! with the exit bytes, only when the call succeeded.

use tracer_common::MAX_ARGS;

use crate::syscalls::{
    ArgKind,
    format::{
        Strings,
        args::write_arg,
        print::{push_hex0, push_i64, push_ptr, write_enum},
    },
    xlat::{
        ioctl::*,
        term::{TCFLSH_OPTIONS, TCXONC_OPTIONS},
    },
};

use super::{
    term::{TERMIOS, WINSIZE, write_termios, write_winsize},
    u32_at,
};

/// Which way the argument of a request goes, and what it is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Arg {
    /// No argument shown.
    None,
    /// A plain number, in decimal.
    Int,
    /// A value of a table.
    Enum(&'static [(u64, &'static str)], &'static str),
    /// A structure or `int` the call reads (`In`) or writes (`Out`).
    In(Pointee),
    Out(Pointee),
    /// Not decoded: hex.
    Hex,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Pointee {
    Termios,
    Winsize,
    Int,
}

fn arg_of(request: u32) -> Arg {
    use Pointee::*;
    match request {
        TCGETS => Arg::Out(Termios),
        TCSETS | TCSETSW | TCSETSF => Arg::In(Termios),
        TIOCGWINSZ => Arg::Out(Winsize),
        TIOCSWINSZ => Arg::In(Winsize),
        TCXONC => Arg::Enum(TCXONC_OPTIONS, "TC???"),
        TCFLSH => Arg::Enum(TCFLSH_OPTIONS, "TC???"),
        TCSBRK | TCSBRKP | TIOCSCTTY => Arg::Int,
        TIOCGPGRP | TIOCGSID | TIOCGETD | TIOCGSOFTCAR | TIOCGPTN | FIONREAD | TIOCOUTQ
        | TIOCGEXCL | TIOCGDEV => Arg::Out(Int),
        TIOCSPGRP | TIOCSETD | FIONBIO | FIOASYNC | TIOCPKT | TIOCSSOFTCAR | TIOCSPTLCK => {
            Arg::In(Int)
        }
        TIOCSBRK | TIOCCBRK | TIOCCONS | TIOCNOTTY | TIOCEXCL | TIOCNXCL | FIOCLEX | FIONCLEX
        | TIOCVHANGUP | TIOCSSERIAL => Arg::None,
        _ => Arg::Hex,
    }
}

/// The whole argument list of `ioctl`: `3, TCGETS, {c_iflag=…, ...}`.
pub fn write_ioctl(
    out: &mut Vec<u8>,
    args: &[u64; MAX_ARGS],
    strings: &Strings<'_>,
    ret: Option<i64>,
) {
    let [fd, request, arg, ..] = *args;
    write_arg(out, ArgKind::Fd, fd, strings[0], args);
    out.extend_from_slice(b", ");
    let request = request as u32;
    write_ioctl_request(out, request);
    let kind = arg_of(request);
    if kind == Arg::None {
        return;
    }
    out.extend_from_slice(b", ");
    let bytes = strings[2].map_or(&[][..], |c| c.bytes);
    let (pointee, half) = match kind {
        Arg::Int => return push_i64(out, (arg as u32 as i32).into()),
        Arg::Enum(table, unknown) => return write_enum(out, arg, table, unknown),
        Arg::Hex | Arg::None => return push_hex0(out, arg),
        Arg::In(p) => (p, bytes.get(..TERMIOS)),
        // What the call wrote: the exit bytes, the last ones captured.
        Arg::Out(p) => (
            p,
            ret.filter(|&r| r >= 0)
                .and_then(|_| bytes.len().checked_sub(TERMIOS))
                .map(|at| &bytes[at..]),
        ),
    };
    let shown = half.and_then(|b| match pointee {
        Pointee::Termios => write_termios(out, b),
        Pointee::Winsize => write_winsize(out, b.get(..WINSIZE)?),
        Pointee::Int => {
            let v = u32_at(b, 0)? as i32;
            out.push(b'[');
            push_i64(out, v.into());
            out.push(b']');
            Some(())
        }
    });
    if shown.is_none() {
        push_ptr(out, arg);
    }
}

/// `TCGETS` for a few common requests, else strace's decoding of the
/// request's fields: `_IOC(_IOC_READ|_IOC_WRITE, 0x62, 0x1, 0x18)`.
pub fn write_ioctl_request(out: &mut Vec<u8>, request: u32) {
    if let Some((_, name)) = IOCTLS.iter().find(|&&(r, _)| r == request) {
        out.extend_from_slice(name.as_bytes());
        return;
    }
    let dirs: [&[u8]; 4] = [
        b"_IOC_NONE",
        b"_IOC_WRITE",
        b"_IOC_READ",
        b"_IOC_READ|_IOC_WRITE",
    ];
    out.extend_from_slice(b"_IOC(");
    out.extend_from_slice(dirs[(request >> 30) as usize]);
    for field in [
        (request >> 8) & 0xff,
        request & 0xff,
        (request >> 16) & 0x3fff,
    ] {
        out.extend_from_slice(b", ");
        push_hex0(out, field.into());
    }
    out.push(b')');
}

#[cfg(test)]
mod tests {
    use crate::syscalls::format::testing::*;

    #[test]
    fn terminal_arguments_as_strace_prints_them() {
        // strace 6.1 on this machine, for the same requests and values.
        let termios = |i: u32, o: u32, c: u32, l: u32| {
            let mut b: Vec<u8> = [i, o, c, l].iter().flat_map(|w| w.to_ne_bytes()).collect();
            b.resize(36, 0);
            b
        };
        let sane = termios(0o2400, 0o5, 0o277, 0o105073);
        let got = with_bytes(
            "ioctl",
            &[8, 0x5401, P],
            Some(0),
            2,
            &[sane.clone(), sane.clone()].concat(),
        );
        assert_eq!(
            got,
            "ioctl(8, TCGETS, {c_iflag=ICRNL|IXON, c_oflag=NL0|CR0|TAB0|BS0|VT0|FF0|OPOST|ONLCR, \
             c_cflag=B38400|CS8|CREAD, c_lflag=ISIG|ICANON|ECHO|ECHOE|ECHOK|IEXTEN|ECHOCTL|ECHOKE, \
             ...}) = 0"
        );
        // Failed: what it would have written is not shown.
        assert_eq!(
            with_bytes("ioctl", &[3, 0x5401, 0x7ffc0000], Some(-25), 2, &sane),
            "ioctl(3, TCGETS, 0x7ffc0000) = -1 ENOTTY (Inappropriate ioctl for device)"
        );
        // Zero words show as nothing, each field's `|` kept.
        let zero = termios(0, 0, 0, 0);
        assert_eq!(
            with_bytes(
                "ioctl",
                &[4, 0x5402, P],
                Some(0),
                2,
                &[zero.clone(), zero].concat()
            ),
            "ioctl(4, SNDCTL_TMR_START or TCSETS, {c_iflag=, c_oflag=NL0|CR0|TAB0|BS0|VT0|FF0|, \
             c_cflag=B0|CS5|, c_lflag=, ...}) = 0"
        );
        let odd = termios(
            0x8000_0100,
            0x1_ff00,
            0x100f_0000 | 0x1002 | 0x10 | 0x4000_0000 | 0x8000_0000 | 0x100_0000,
            0x8000_0000,
        );
        assert_eq!(
            with_bytes("ioctl", &[4, 0x5403, P], Some(0), 2, &odd),
            "ioctl(4, SNDCTL_TMR_STOP or TCSETSW, {c_iflag=ICRNL|0x80000000, \
             c_oflag=NL1|CR3|XTABS|BS1|VT1|FF1|0x10000, \
             c_cflag=B115200|B4000000<<IBSHIFT|CS6|CMSPAR|CRTSCTS|0x1000000, \
             c_lflag=0x80000000, ...}) = 0"
        );
        let all = termios(0x8000_0000, 0x1_0001, 0o15 | (0o15 << 16), 0xffff_ffff);
        assert_eq!(
            with_bytes("ioctl", &[4, 0x5404, P], Some(-22), 2, &all),
            "ioctl(4, SNDCTL_TMR_CONTINUE or TCSETSF, {c_iflag=0x80000000, \
             c_oflag=NL0|CR0|TAB0|BS0|VT0|FF0|OPOST|0x10000, c_cflag=B9600|B9600<<IBSHIFT|CS5|, \
             c_lflag=ISIG|ICANON|XCASE|ECHO|ECHOE|ECHOK|ECHONL|NOFLSH|IEXTEN|ECHOCTL|ECHOPRT|\
             ECHOKE|FLUSHO|PENDIN|TOSTOP|EXTPROC|0xfffe2000, ...}) = -1 EINVAL (Invalid argument)"
        );
        let ws: Vec<u8> = [65535u16, 1, 2, 3]
            .iter()
            .flat_map(|w| w.to_ne_bytes())
            .collect();
        let mut ws36 = ws.clone();
        ws36.resize(36, 0);
        assert_eq!(
            with_bytes("ioctl", &[neg(-1), 0x5414, P], Some(-9), 2, &ws36),
            "ioctl(-1, TIOCSWINSZ, {ws_row=65535, ws_col=1, ws_xpixel=2, ws_ypixel=3}) = -1 EBADF (Bad file descriptor)"
        );
        assert_eq!(
            with_bytes(
                "ioctl",
                &[8, 0x5413, P],
                Some(0),
                2,
                &[ws36.clone(), ws36.clone()].concat()
            ),
            "ioctl(8, TIOCGWINSZ, {ws_row=65535, ws_col=1, ws_xpixel=2, ws_ypixel=3}) = 0"
        );
        let int = |v: i32| {
            let mut b = v.to_ne_bytes().to_vec();
            b.resize(36, 0);
            b
        };
        assert_eq!(
            with_bytes(
                "ioctl",
                &[3, 0x541b, P],
                Some(0),
                2,
                &[int(0), int(3)].concat()
            ),
            "ioctl(3, FIONREAD, [3]) = 0"
        );
        assert_eq!(
            with_bytes("ioctl", &[4, 0x5410, P], Some(-22), 2, &int(-5)),
            "ioctl(4, TIOCSPGRP, [-5]) = -1 EINVAL (Invalid argument)"
        );
        assert_eq!(
            with_bytes("ioctl", &[4, 0x5429, 0x7ffc0000], Some(-25), 2, &int(0)),
            "ioctl(4, TIOCGSID, 0x7ffc0000) = -1 ENOTTY (Inappropriate ioctl for device)"
        );
        // Arguments that are values, and none.
        assert_eq!(
            call("ioctl", &[4, 0x540b, 2], Some(0)),
            "ioctl(4, TCFLSH, TCIOFLUSH) = 0"
        );
        assert_eq!(
            call("ioctl", &[4, 0x540b, 7], Some(-22)),
            "ioctl(4, TCFLSH, 0x7 /* TC??? */) = -1 EINVAL (Invalid argument)"
        );
        assert_eq!(
            call("ioctl", &[4, 0x540a, 1], Some(0)),
            "ioctl(4, TCXONC, TCOON) = 0"
        );
        assert_eq!(
            call("ioctl", &[4, 0x540e, 0], Some(-1)),
            "ioctl(4, TIOCSCTTY, 0) = -1 EPERM (Operation not permitted)"
        );
        assert_eq!(
            call("ioctl", &[4, 0x540c, 9], Some(0)),
            "ioctl(4, TIOCEXCL) = 0"
        );
        // Unread pointers: NULL, or the address.
        assert_eq!(
            call("ioctl", &[4, 0x5401, 0], Some(-14)),
            "ioctl(4, TCGETS, NULL) = -1 EFAULT (Bad address)"
        );
        assert_eq!(
            call("ioctl", &[4, 0x5402, 8], Some(-14)),
            "ioctl(4, SNDCTL_TMR_START or TCSETS, 0x8) = -1 EFAULT (Bad address)"
        );
        assert_eq!(
            call("ioctl", &[4, 0x12345678, 0], Some(-25)),
            "ioctl(4, _IOC(_IOC_NONE, 0x56, 0x78, 0x1234), 0) = -1 ENOTTY (Inappropriate ioctl for device)"
        );
    }

    #[test]
    fn ioctl_requests() {
        assert_eq!(
            args("ioctl", &[1, 0x5413, P]),
            "ioctl(1, TIOCGWINSZ, 0x1000)"
        );
        assert_eq!(
            args("ioctl", &[3, 0xc0186201, 0]),
            "ioctl(3, _IOC(_IOC_READ|_IOC_WRITE, 0x62, 0x1, 0x18), 0)"
        );
        assert_eq!(
            args("ioctl", &[neg(-1), 0, 0]),
            "ioctl(-1, _IOC(_IOC_NONE, 0, 0, 0), 0)"
        );
    }
}
