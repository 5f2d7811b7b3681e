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

/// The value of a successful `fcntl`, as strace shows it: the flags
/// `F_GETFL` and `F_GETFD` return are named (`0x8002 (flags
/// O_RDWR|O_LARGEFILE)`; `F_GETFD`'s `0` stays bare, as in strace), every
/// other command's result is a number.
pub fn write_fcntl_value(out: &mut Vec<u8>, args: &[u64; MAX_ARGS], value: i64) {
    match args[1] as u32 {
        F_GETFL => {
            push_hex0(out, value as u64);
            out.extend_from_slice(b" (flags ");
            write_open_flags(out, value as u64);
            out.push(b')');
        }
        F_GETFD if value != 0 => {
            push_hex0(out, value as u64);
            out.extend_from_slice(b" (flags ");
            write_flags(out, value as u64, FD_FLAGS, Some("FD_???"));
            out.push(b')');
        }
        _ => push_i64(out, value),
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

    #[test]
    fn fcntl_flags_returns_are_named() {
        // strace 6.1 on an O_DIRECTORY|O_NOFOLLOW descriptor of find.
        assert_eq!(
            call("fcntl", &[6, 3], Some(0x38800)),
            "fcntl(6, F_GETFL) = 0x38800 (flags O_RDONLY|O_NONBLOCK|O_LARGEFILE|O_NOFOLLOW|O_DIRECTORY)"
        );
        assert_eq!(
            call("fcntl", &[0, 3], Some(0)),
            "fcntl(0, F_GETFL) = 0 (flags O_RDONLY)"
        );
        assert_eq!(
            call("fcntl", &[3, 1], Some(1)),
            "fcntl(3, F_GETFD) = 0x1 (flags FD_CLOEXEC)"
        );
        assert_eq!(call("fcntl", &[0, 1], Some(0)), "fcntl(0, F_GETFD) = 0");
        assert_eq!(
            call("fcntl", &[7, 1030, 0], Some(4)),
            "fcntl(7, F_DUPFD_CLOEXEC, 0) = 4"
        );
        assert_eq!(
            call("fcntl", &[9, 3], Some(-9)),
            "fcntl(9, F_GETFL) = -1 EBADF (Bad file descriptor)"
        );
    }
}
