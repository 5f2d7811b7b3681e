//! The generic layout: each argument rendered by its [`ArgKind`], the
//! kind the generated table gives it, and the rules (from strace) by
//! which an argument decides whether the ones after it are shown.
//!
//! A kind whose rendering is more than a table lookup calls its family's
//! decoder in `super::decode`; the calls whose whole argument list has a
//! layout of its own (`clone`, `futex`, `fcntl`) do not come here.

use tracer_common::MAX_ARGS;

use super::{
    Captured, Strings,
    decode::{
        file::{write_dev, write_file_mode, write_open_flags, write_statx_flags},
        futex::write_futex_op,
        ioctl::write_ioctl_request,
        mm::write_mmap_flags,
        signal::write_signal,
        socket::{write_socket_protocol, write_socket_type},
        write_struct,
    },
    print::{push_hex0, push_i64, push_mode, push_ptr, push_u64, write_enum, write_flags},
    quote::{write_escaped, write_quoted},
};
use crate::syscalls::{
    ArgKind, structs,
    xlat::{event::*, fcntl::*, fs::*, mm::*, net::*, process::*, random::*, signal::*, time::*},
};

/// The generic layout: one rendering per argument kind; a pointer to a
/// structure of syscall `nr` the sources captured (`crate::syscalls::
/// structs`) is shown by its decoder.
pub fn write_args(
    out: &mut Vec<u8>,
    nr: u32,
    kinds: &[ArgKind],
    args: &[u64; MAX_ARGS],
    strings: &Strings<'_>,
) {
    let mut shown_any = false;
    for (i, (&kind, &raw)) in kinds.iter().zip(args).enumerate() {
        // The argument before this one decides whether it (and all that
        // follows) is meaningful, as strace decides.
        let prev = i.checked_sub(1);
        let prev_kind = prev.and_then(|j| kinds.get(j)).copied();
        let prev = prev.and_then(|j| args.get(j)).copied().unwrap_or(0);
        let shown = match (prev_kind, kind) {
            (_, ArgKind::OpenMode) => prev & (O_CREAT | O_TMPFILE_BIT) != 0,
            (_, ArgKind::Dev) => matches!(prev & S_IFMT, S_IFCHR | S_IFBLK),
            (Some(ArgKind::MremapFlags), _) => prev & MREMAP_FIXED != 0,
            _ => true,
        };
        if !shown {
            break;
        }
        if kind == ArgKind::Unused {
            continue;
        }
        if shown_any {
            out.extend_from_slice(b", ");
        }
        shown_any = true;
        let captured = strings.get(i).copied().flatten();
        if kind == ArgKind::Ptr
            && let Some(bytes) = captured
            && let Some(shape) = structs::shape(nr, i)
        {
            write_struct(out, nr, i, shape, raw, bytes.bytes, args);
            continue;
        }
        write_arg(out, kind, raw, captured, args);
    }
}

/// One argument by its kind (what the layouts of their own use for the
/// arguments that need nothing more, such as a descriptor with its `-y`
/// name).
pub(in crate::syscalls::format) fn write_arg(
    out: &mut Vec<u8>,
    kind: ArgKind,
    raw: u64,
    captured: Option<Captured<'_>>,
    args: &[u64; MAX_ARGS],
) {
    // C `int` parameters: the kernel uses the low 32 bits.
    let uint = raw as u32;
    let int = uint as i32;
    match kind {
        ArgKind::Fd | ArgKind::Dirfd if int >= 0 && captured.is_some() => {
            // `-y`: the name behind the fd, `3</etc/hosts>`.
            push_i64(out, int.into());
            out.push(b'<');
            if let Some(name) = captured {
                write_escaped(out, name.bytes, false);
            }
            out.push(b'>');
        }
        ArgKind::Int | ArgKind::Fd => push_i64(out, int.into()),
        ArgKind::Uint => push_u64(out, uint.into()),
        ArgKind::Long => push_i64(out, raw as i64),
        ArgKind::Ulong => push_u64(out, raw),
        ArgKind::Hex => push_hex0(out, raw),
        ArgKind::Hex32 => push_hex0(out, uint.into()),
        ArgKind::Ptr => match captured {
            // A data buffer whose bytes were captured.
            Some(s) => write_quoted(out, s.bytes, s.truncated),
            None => push_ptr(out, raw),
        },
        ArgKind::Unused => {}
        ArgKind::Dirfd if int == AT_FDCWD => out.extend_from_slice(b"AT_FDCWD"),
        ArgKind::Dirfd => push_i64(out, int.into()),
        ArgKind::Path | ArgKind::Str => match captured {
            Some(s) => write_quoted(out, s.bytes, s.truncated),
            None => push_ptr(out, raw),
        },
        ArgKind::Uid if uint == u32::MAX => out.extend_from_slice(b"-1"),
        ArgKind::Uid => push_u64(out, uint.into()),
        // `umode_t` is 16 bits wide.
        ArgKind::Mode | ArgKind::OpenMode => push_mode(out, raw & 0xffff),
        ArgKind::FileMode => write_file_mode(out, raw & 0xffff),
        ArgKind::Dev => write_dev(out, uint),
        ArgKind::OpenFlags => write_open_flags(out, uint.into()),
        ArgKind::FdFlags => write_flags(out, uint.into(), OPEN_FLAGS, Some("O_???")),
        ArgKind::AtFlags => write_flags(out, uint.into(), AT_FLAGS, Some("AT_???")),
        ArgKind::AccessatFlags => write_flags(out, uint.into(), FACCESSAT_FLAGS, Some("AT_???")),
        ArgKind::StatxFlags => write_statx_flags(out, uint),
        ArgKind::StatxMask => write_flags(out, uint.into(), STATX_MASKS, Some("STATX_???")),
        ArgKind::AccessMode => write_flags(out, uint.into(), ACCESS_MODES, Some("?_OK")),
        ArgKind::Signal => write_signal(out, int),
        ArgKind::CloneFlags => write_flags(out, raw, UNSHARE_FLAGS, Some("CLONE_???")),
        ArgKind::MmapProt => write_flags(out, raw, MMAP_PROT, Some("PROT_???")),
        ArgKind::MmapFlags => write_mmap_flags(out, raw),
        ArgKind::MremapFlags => write_flags(out, raw, MREMAP_FLAGS, Some("MREMAP_???")),
        ArgKind::Madvise => write_enum(out, uint.into(), MADVISE, "MADV_???"),
        ArgKind::Whence => write_enum(out, uint.into(), WHENCE, "SEEK_???"),
        ArgKind::SigHow => write_enum(out, uint.into(), SIG_HOW, "SIG_???"),
        ArgKind::FutexOp => write_futex_op(out, uint),
        ArgKind::FcntlCmd => write_enum(out, uint.into(), FCNTL_CMDS, "F_???"),
        ArgKind::IoctlReq => write_ioctl_request(out, uint),
        ArgKind::ArchPrctl => write_enum(out, uint.into(), ARCH_PRCTL, "ARCH_???"),
        ArgKind::Rlimit => write_enum(out, uint.into(), RLIMITS, "RLIMIT_???"),
        // strace 6.1 does not decode the negative CPU clock ids either.
        ArgKind::ClockId => write_enum(out, uint.into(), CLOCKS, "CLOCK_???"),
        ArgKind::TimerFlags => write_flags(out, uint.into(), TIMER_FLAGS, Some("TIMER_???")),
        ArgKind::WaitOptions => write_flags(out, uint.into(), WAIT_OPTIONS, Some("W???")),
        ArgKind::SockFamily => write_enum(out, uint.into(), ADDRESS_FAMILIES, "AF_???"),
        ArgKind::SockType => write_socket_type(out, uint),
        ArgKind::SockProto => write_socket_protocol(out, int, args[0] as u32),
        ArgKind::SockFlags => write_flags(out, uint.into(), SOCK_FLAGS, Some("SOCK_???")),
        ArgKind::EpollOp => write_enum(out, uint.into(), EPOLL_OPS, "EPOLL_CTL_???"),
        ArgKind::EpollFlags => write_flags(out, uint.into(), EPOLL_FLAGS, Some("EPOLL_???")),
        ArgKind::GrndFlags => write_flags(out, uint.into(), GRND_FLAGS, Some("GRND_???")),
        ArgKind::Fadvise => write_enum(out, uint.into(), FADVISE, "POSIX_FADV_???"),
        ArgKind::EfdFlags => write_flags(out, uint.into(), EFD_FLAGS, Some("EFD_???")),
        ArgKind::MfdFlags => write_flags(out, uint.into(), MFD_FLAGS, Some("MFD_???")),
        ArgKind::UmountFlags => write_flags(out, uint.into(), UMOUNT_FLAGS, Some("MNT_???")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Captured, NO_STRINGS, write_call_with};
    use crate::event::SyscallEvent;
    use crate::syscalls::format::testing::*;

    #[test]
    fn int_arguments_use_the_low_32_bits_signed() {
        assert_eq!(args("close", &[neg(-1)]), "close(-1)");
        assert_eq!(args("close", &[0xffff_ffff]), "close(-1)");
        assert_eq!(args("close", &[0x1_0000_0003]), "close(3)");
        assert_eq!(
            args("openat", &[0xffff_ff9c, 0, 0]),
            "openat(AT_FDCWD, NULL, O_RDONLY)"
        );
        assert_eq!(args("exit_group", &[neg(-2)]), "exit_group(-2)");
        assert_eq!(
            args("kill", &[0x1_0000_0001, 0x1_0000_0009]),
            "kill(1, SIGKILL)"
        );
        // 64-bit parameters keep all their bits.
        assert_eq!(args("lseek", &[3, neg(-1), 0]), "lseek(3, -1, SEEK_SET)");
        assert_eq!(
            args("write", &[3, P, u64::MAX]),
            "write(3, 0x1000, 18446744073709551615)"
        );
        assert_eq!(args("setuid", &[0xffff_ffff]), "setuid(-1)");
        assert_eq!(
            args("chown", &[P, neg(-1), 0x1_0000_0005]),
            "chown(0x1000, -1, 5)"
        );
    }

    #[test]
    fn enumerations() {
        assert_eq!(args("lseek", &[3, 0, 5]), "lseek(3, 0, 0x5 /* SEEK_??? */)");
        assert_eq!(
            args("rt_sigprocmask", &[2, 0, 0, 8]),
            "rt_sigprocmask(SIG_SETMASK, NULL, NULL, 8)"
        );
        assert_eq!(
            args("rt_sigprocmask", &[3, 0, 0, 8]),
            "rt_sigprocmask(0x3 /* SIG_??? */, NULL, NULL, 8)"
        );
        assert_eq!(
            args("arch_prctl", &[0x1002, 0x7f00]),
            "arch_prctl(ARCH_SET_FS, 0x7f00)"
        );
        assert_eq!(
            args("arch_prctl", &[0x3001, 0]),
            "arch_prctl(0x3001 /* ARCH_??? */, 0)"
        );
        // The new address only when the flags say it is used.
        assert_eq!(
            args("mremap", &[0x7f0000, 4096, 8192, 1, 0]),
            "mremap(0x7f0000, 4096, 8192, MREMAP_MAYMOVE)"
        );
        assert_eq!(
            args("mremap", &[0x7f0000, 4096, 8192, 3, 0x7e0000]),
            "mremap(0x7f0000, 4096, 8192, MREMAP_MAYMOVE|MREMAP_FIXED, 0x7e0000)"
        );
        assert_eq!(
            args("fadvise64", &[3, 0, 0, 4]),
            "fadvise64(3, 0, 0, POSIX_FADV_DONTNEED)"
        );
        assert_eq!(args("eventfd2", &[0, 0x80000]), "eventfd2(0, EFD_CLOEXEC)");
        assert_eq!(
            args("memfd_create", &[P, 3]),
            "memfd_create(0x1000, MFD_CLOEXEC|MFD_ALLOW_SEALING)"
        );
        assert_eq!(
            args("madvise", &[0x7f0000, 4096, 4]),
            "madvise(0x7f0000, 4096, MADV_DONTNEED)"
        );
        assert_eq!(
            args("getrandom", &[P, 16, 1]),
            "getrandom(0x1000, 16, GRND_NONBLOCK)"
        );
        assert_eq!(
            args("prlimit64", &[0, 7, 0, P]),
            "prlimit64(0, RLIMIT_NOFILE, NULL, 0x1000)"
        );
        assert_eq!(
            args("clock_gettime", &[1, P]),
            "clock_gettime(CLOCK_MONOTONIC, 0x1000)"
        );
        assert_eq!(
            args("clock_nanosleep", &[0, 1, P, 0]),
            "clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, 0x1000, NULL)"
        );
        assert_eq!(
            args("clock_gettime", &[neg(-6), P]),
            "clock_gettime(0xfffffffa /* CLOCK_??? */, 0x1000)"
        );
        assert_eq!(
            args("wait4", &[neg(-1), 0, 0, 0]),
            "wait4(-1, NULL, 0, NULL)"
        );
        assert_eq!(
            args("wait4", &[neg(-1), P, 0x40000003, 0]),
            "wait4(-1, 0x1000, WNOHANG|WSTOPPED|__WALL, NULL)"
        );
        assert_eq!(
            args("epoll_ctl", &[3, 1, 4, P]),
            "epoll_ctl(3, EPOLL_CTL_ADD, 4, 0x1000)"
        );
        assert_eq!(
            args("epoll_create1", &[0x80000]),
            "epoll_create1(EPOLL_CLOEXEC)"
        );
        assert_eq!(args("umount2", &[P, 2]), "umount2(0x1000, MNT_DETACH)");
        assert_eq!(
            args("rseq", &[P, 32, 0, 0x53053053]),
            "rseq(0x1000, 0x20, 0, 0x53053053)"
        );
    }

    #[test]
    fn arity_follows_strace() {
        assert_eq!(args("ioctl", &[3, 0x5451, 7]), "ioctl(3, FIOCLEX)");
        // x86_64 passes the offset whole: no `pos_h`.
        assert_eq!(
            args("preadv", &[3, P, 2, neg(-1), 9]),
            "preadv(3, 0x1000, 2, -1)"
        );
        assert_eq!(
            args("pwritev2", &[3, P, 2, 0, 9, 0]),
            "pwritev2(3, 0x1000, 2, 0, 0)"
        );
        assert_eq!(
            args("close_range", &[neg(-1), 1, 0]),
            "close_range(4294967295, 1, 0)"
        );
        assert_eq!(args("io_destroy", &[0x7f00]), "io_destroy(0x7f00)");
    }

    #[test]
    fn captured_strings_are_quoted() {
        let ev = SyscallEvent {
            tgid: 1,
            tid: 1,
            nr: 257,
            args: [neg(-100), P, 0o2000000, 0, 0, 0],
            enter_ns: 0,
            exit_ns: Some(1),
            ret: Some(3),
            strings: None,
            data: None,
            request: None,
            stack: None,
        };
        let mut strings = NO_STRINGS;
        strings[1] = Some(Captured {
            bytes: b"/etc/hosts",
            truncated: false,
        });
        let mut out = Vec::new();
        write_call_with(&mut out, &ev, &strings);
        assert_eq!(
            out,
            b"openat(AT_FDCWD, \"/etc/hosts\", O_RDONLY|O_CLOEXEC) = 3"
        );
        // Strings are only shown for string arguments.
        let mut strings = NO_STRINGS;
        strings[0] = Some(Captured {
            bytes: b"x",
            truncated: true,
        });
        out.clear();
        write_call_with(&mut out, &ev, &strings);
        assert!(out.starts_with(b"openat(AT_FDCWD, 0x1000,"));
    }

    #[test]
    fn fd_names_cannot_put_controls_on_the_terminal() {
        // `-y` names come from the target (its file names) or from a
        // recording: controls are escaped, a socket's quotes kept.
        let ev = SyscallEvent {
            tgid: 1,
            tid: 1,
            nr: 3,
            args: [7, 0, 0, 0, 0, 0],
            enter_ns: 0,
            exit_ns: Some(1),
            ret: Some(0),
            strings: None,
            data: None,
            request: None,
            stack: None,
        };
        let mut out = Vec::new();
        for (name, shown) in [
            (&b"/tmp/a\n\x1b[2Jb"[..], r"close(7</tmp/a\n\33[2Jb>) = 0"),
            (
                br#"UNIX:[5,"/run/x"]"#,
                r#"close(7<UNIX:[5,"/run/x"]>) = 0"#,
            ),
        ] {
            let mut strings = NO_STRINGS;
            strings[0] = Some(Captured {
                bytes: name,
                truncated: false,
            });
            out.clear();
            write_call_with(&mut out, &ev, &strings);
            assert_eq!(String::from_utf8_lossy(&out), shown);
        }
    }
}
