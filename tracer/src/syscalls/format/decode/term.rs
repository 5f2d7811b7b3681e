//! Terminal structures of the `ioctl`s strace decodes (its `term.c`):
//! `struct termios` abbreviated as strace shows it by default (the four
//! flag words, then `...`), and `struct winsize`.
//!
//! strace prints the flag words with its terminal tables and no default:
//! a word of 0 shows as nothing (`c_iflag=, `), and the output word's
//! delay fields and the control word's speeds and character size come
//! first, each followed by `|` even when no flag follows it.

use crate::syscalls::{
    format::print::{push_u64, write_enum, write_flags_bare},
    xlat::term::{
        BAUDS, CBAUD, CIBAUD, CSIZE, CSIZES, IBSHIFT, TERM_CFLAGS, TERM_IFLAGS, TERM_LFLAGS,
        TERM_ODELAYS, TERM_OFLAGS,
    },
};

use super::{u16_at, u32_at};

/// Bytes of the kernel's `struct termios`.
pub const TERMIOS: usize = 36;
/// Bytes of `struct winsize`.
pub const WINSIZE: usize = 8;

/// `{c_iflag=ICRNL|IXON, c_oflag=NL0|CR0|TAB0|BS0|VT0|FF0|OPOST|ONLCR,
/// c_cflag=B38400|CS8|CREAD, c_lflag=ISIG|ICANON|…, ...}`; `None` when
/// `bytes` is too short.
pub fn write_termios(out: &mut Vec<u8>, bytes: &[u8]) -> Option<()> {
    let word = |i: usize| u32_at(bytes, 4 * i).map(u64::from);
    let (iflag, oflag, cflag, lflag) = (word(0)?, word(1)?, word(2)?, word(3)?);
    if bytes.len() < TERMIOS {
        return None;
    }
    out.extend_from_slice(b"{c_iflag=");
    write_flags_bare(out, iflag, TERM_IFLAGS);
    out.extend_from_slice(b", c_oflag=");
    let mut rest = oflag;
    for &(mask, names, unknown) in TERM_ODELAYS {
        write_enum(out, oflag & mask, names, unknown);
        out.push(b'|');
        rest &= !mask;
    }
    write_flags_bare(out, rest, TERM_OFLAGS);
    out.extend_from_slice(b", c_cflag=");
    write_enum(out, cflag & CBAUD, BAUDS, "B???");
    out.push(b'|');
    if cflag & CIBAUD != 0 {
        write_enum(out, (cflag & CIBAUD) >> IBSHIFT, BAUDS, "B???");
        out.extend_from_slice(b"<<IBSHIFT|");
    }
    write_enum(out, cflag & CSIZE, CSIZES, "CS?");
    out.push(b'|');
    write_flags_bare(out, cflag & !(CBAUD | CIBAUD | CSIZE), TERM_CFLAGS);
    out.extend_from_slice(b", c_lflag=");
    write_flags_bare(out, lflag, TERM_LFLAGS);
    out.extend_from_slice(b", ...}");
    Some(())
}

/// `{ws_row=24, ws_col=80, ws_xpixel=0, ws_ypixel=0}`; `None` when
/// `bytes` is too short.
pub fn write_winsize(out: &mut Vec<u8>, bytes: &[u8]) -> Option<()> {
    let field = |i: usize| u16_at(bytes, 2 * i);
    let fields = [field(0)?, field(1)?, field(2)?, field(3)?];
    let names = [
        &b"{ws_row="[..],
        b", ws_col=",
        b", ws_xpixel=",
        b", ws_ypixel=",
    ];
    for (name, value) in names.into_iter().zip(fields) {
        out.extend_from_slice(name);
        push_u64(out, value.into());
    }
    out.push(b'}');
    Some(())
}
