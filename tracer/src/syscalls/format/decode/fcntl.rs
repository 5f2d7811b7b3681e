//! `fcntl`: whether there is a third argument, and what it means, depends
//! on the command.

use tracer_common::MAX_ARGS;

use super::{file::write_open_flags, signal::write_signal};
use crate::syscalls::{
    format::print::{push_hex0, push_i64, push_ptr, write_enum, write_flags},
    xlat::fcntl::*,
};

/// `fcntl(fd, cmd[, arg])`: the argument's meaning, and whether there is
/// one, depends on the command.
pub fn write_fcntl(out: &mut Vec<u8>, args: &[u64; MAX_ARGS]) {
    let [fd, cmd, arg, ..] = *args;
    let cmd = cmd as u32;
    push_i64(out, (fd as u32 as i32).into());
    out.extend_from_slice(b", ");
    write_enum(out, cmd.into(), FCNTL_CMDS, "F_???");
    let arg32 = arg as u32;
    match cmd {
        F_GETFD | F_GETFL | F_GETOWN | F_GETSIG | F_GETLEASE | F_GETPIPE_SZ | F_GET_SEALS => {
            return;
        }
        _ => out.extend_from_slice(b", "),
    }
    match cmd {
        F_SETFD => write_flags(out, arg32.into(), FD_FLAGS, Some("FD_???")),
        F_SETFL => write_open_flags(out, arg32.into()),
        F_DUPFD | F_DUPFD_CLOEXEC | F_SETOWN | F_SETPIPE_SZ => {
            push_i64(out, (arg32 as i32).into());
        }
        F_SETSIG => write_signal(out, arg32 as i32),
        F_SETLEASE => write_enum(out, arg32.into(), LEASES, "F_???"),
        F_ADD_SEALS => write_flags(out, arg32.into(), SEALS, Some("F_SEAL_???")),
        F_GETLK | F_SETLK | F_SETLKW | F_OFD_GETLK | F_OFD_SETLK | F_OFD_SETLKW | F_SETOWN_EX
        | F_GETOWN_EX => push_ptr(out, arg),
        _ => push_hex0(out, arg),
    }
}

#[cfg(test)]
mod tests {
    use crate::syscalls::format::testing::*;

    #[test]
    fn fcntl_arguments_follow_the_command() {
        assert_eq!(args("fcntl", &[3, 1, 0]), "fcntl(3, F_GETFD)");
        assert_eq!(args("fcntl", &[3, 2, 1]), "fcntl(3, F_SETFD, FD_CLOEXEC)");
        assert_eq!(
            args("fcntl", &[3, 4, 0x800]),
            "fcntl(3, F_SETFL, O_RDONLY|O_NONBLOCK)"
        );
        assert_eq!(
            args("fcntl", &[3, 1030, 10]),
            "fcntl(3, F_DUPFD_CLOEXEC, 10)"
        );
        assert_eq!(args("fcntl", &[3, 6, P]), "fcntl(3, F_SETLK, 0x1000)");
        assert_eq!(
            args("fcntl", &[3, 9999, 5]),
            "fcntl(3, 0x270f /* F_??? */, 0x5)"
        );
    }
}
