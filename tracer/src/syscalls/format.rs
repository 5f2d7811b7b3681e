//! strace-style rendering of one syscall:
//! `openat(AT_FDCWD, "/etc/hosts", O_RDONLY|O_CLOEXEC) = 3`.
//!
//! This runs for every event of a text trace (millions a second), so it
//! writes straight into the caller's buffer: no allocation besides that
//! buffer's growth, no `format!`, no fallible path. Every argument kind
//! renders every 64-bit value; what has no name is shown in hex, with
//! strace's `/* X_??? */` comment where strace has one. The expected
//! strings in the tests are strace 6.1's output for the same values.

use tracer_common::MAX_ARGS;

use super::{ArgKind, Ret, errno, nr};
use crate::event::SyscallEvent;

/// A string argument read from the tracee's memory, for the [`ArgKind::Path`]
/// and [`ArgKind::Str`] arguments: sources that capture strings pass them to
/// [`write_call_with`], which quotes them like strace (`"/etc/hosts"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Captured<'a> {
    /// The bytes, without the terminating NUL.
    pub bytes: &'a [u8],
    /// The string goes on beyond `bytes` (capture limit): shown as `"…"...`.
    pub truncated: bool,
}

/// Captured strings by argument position.
pub type Strings<'a> = [Option<Captured<'a>>; MAX_ARGS];

/// No captured strings: pointers are shown as addresses.
pub const NO_STRINGS: Strings<'static> = [None; MAX_ARGS];

/// Appends `name(args) = ret` for `ev`: no prefix, no newline.
pub fn write_call(out: &mut Vec<u8>, ev: &SyscallEvent) {
    write_call_with(out, ev, &NO_STRINGS);
}

/// What `ev` carries to show in place of pointers: its string arguments,
/// and its captured data as the buffer argument (`args[1]` of every call
/// that has data: `read(3, "GET / HTTP/1.1\r\n"..., 4096)`).
pub fn captured_of(ev: &SyscallEvent) -> Strings<'_> {
    let mut captured = match &ev.strings {
        None => NO_STRINGS,
        Some(strings) => std::array::from_fn(|i| {
            strings[i].as_ref().map(|s| Captured {
                bytes: &s.bytes,
                truncated: s.truncated,
            })
        }),
    };
    if let Some(data) = &ev.data {
        captured[1] = Some(Captured {
            bytes: &data.bytes,
            truncated: data.truncated,
        });
    }
    captured
}

/// [`write_call`], showing `strings[i]` for argument `i` when it is a
/// string argument.
pub fn write_call_with(out: &mut Vec<u8>, ev: &SyscallEvent, strings: &Strings<'_>) {
    let args = &ev.args;
    let Some(sc) = super::get(ev.nr) else {
        // strace's fallback for numbers it does not know: raw hex.
        out.extend_from_slice(b"syscall_");
        push_hex(out, u64::from(ev.nr));
        out.push(b'(');
        for (i, &arg) in args.iter().enumerate() {
            sep(out, i);
            push_hex0(out, arg);
        }
        out.push(b')');
        write_return(out, Ret::Hex, ev.ret);
        return;
    };
    out.extend_from_slice(sc.name.as_bytes());
    out.push(b'(');
    match ev.nr {
        nr::CLONE => write_clone(out, args),
        nr::FUTEX => write_futex(out, args),
        nr::FCNTL => write_fcntl(out, args),
        _ => write_args(out, sc.args, args, strings),
    }
    out.push(b')');
    write_return(out, sc.ret, ev.ret);
}

/// Appends ` = ret`: `?` when the call never returned, strace's
/// `-1 ENOENT (No such file or directory)` for errors (and `? ERESTARTSYS
/// (…)` for interrupted calls), else the value as `ret` says.
pub fn write_return(out: &mut Vec<u8>, ret: Ret, value: Option<i64>) {
    out.extend_from_slice(b" = ");
    let Some(value) = value else {
        out.push(b'?');
        return;
    };
    if (-4095..0).contains(&value) {
        // In range, so the negation fits.
        let errno = (-value) as i32;
        match errno::name(errno) {
            Some(name) if errno::is_restart(errno) => {
                out.extend_from_slice(b"? ");
                out.extend_from_slice(name.as_bytes());
            }
            Some(name) => {
                out.extend_from_slice(b"-1 ");
                out.extend_from_slice(name.as_bytes());
            }
            None => {
                out.extend_from_slice(b"-1 (errno ");
                push_i64(out, errno.into());
                out.push(b')');
                return;
            }
        }
        out.extend_from_slice(b" (");
        let text = errno::description(errno);
        out.extend_from_slice(text.as_bytes());
        if text == errno::UNKNOWN {
            // glibc's strerror: "Unknown error 515".
            out.push(b' ');
            push_i64(out, errno.into());
        }
        out.push(b')');
        return;
    }
    match ret {
        Ret::Dec => push_i64(out, value),
        Ret::Hex => push_hex0(out, value as u64),
        Ret::Oct => push_mode(out, value as u64),
    }
}

/// Appends `bytes` quoted like strace: printable ASCII as is, C escapes
/// for `"`, `\` and the usual controls, octal for the rest, and `...` after
/// the closing quote when the string was `truncated`.
pub fn write_quoted(out: &mut Vec<u8>, bytes: &[u8], truncated: bool) {
    out.push(b'"');
    write_escaped(out, bytes, true);
    out.push(b'"');
    if truncated {
        out.extend_from_slice(b"...");
    }
}

/// `bytes` with everything but printable ASCII escaped, C style (and `"`
/// and `\` too when `quoted`): what comes from the target (data, file
/// names) must not put control characters on the terminal or break the
/// line format.
fn write_escaped(out: &mut Vec<u8>, bytes: &[u8], quoted: bool) {
    for (i, &c) in bytes.iter().enumerate() {
        let escape = match c {
            b'"' if quoted => b'"',
            b'\\' if quoted => b'\\',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            0x0b => b'v',
            0x0c => b'f',
            0x20..=0x7e => {
                out.push(c);
                continue;
            }
            _ => {
                // Shortest octal form, unless an octal digit follows and
                // would be read as part of it.
                out.push(b'\\');
                let next_is_digit = matches!(bytes.get(i + 1), Some(b'0'..=b'7'));
                if next_is_digit || c >= 0o100 {
                    out.push(b'0' + (c >> 6));
                }
                if next_is_digit || c >= 0o10 {
                    out.push(b'0' + ((c >> 3) & 7));
                }
                out.push(b'0' + (c & 7));
                continue;
            }
        };
        out.push(b'\\');
        out.push(escape);
    }
}

/// The generic layout: one rendering per argument kind.
fn write_args(out: &mut Vec<u8>, kinds: &[ArgKind], args: &[u64; MAX_ARGS], strings: &Strings<'_>) {
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
            (Some(ArgKind::IoctlReq), _) => !matches!(prev as u32, FIOCLEX | FIONCLEX),
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
        write_arg(out, kind, raw, captured, args);
    }
}

fn write_arg(
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
        ArgKind::StatxFlags => {
            let sync = u64::from(uint & STATX_SYNC_MASK);
            write_flags(out, sync, STATX_SYNC, None);
            let rest = u64::from(uint & !STATX_SYNC_MASK);
            if rest != 0 {
                out.push(b'|');
                write_flags(out, rest, AT_FLAGS, None);
            }
        }
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
        // strace shows no comment for a type of 0.
        ArgKind::SockType if uint == 0 => out.push(b'0'),
        ArgKind::SockType => {
            write_enum(out, (uint & SOCK_TYPE_MASK).into(), SOCK_TYPES, "SOCK_???");
            let flags = uint & !SOCK_TYPE_MASK;
            if flags != 0 {
                out.push(b'|');
                write_flags(out, flags.into(), SOCK_FLAGS, None);
            }
        }
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

/// `clone(child_stack=…, flags=…, …)`: strace names the arguments and
/// shows the optional ones only when the flags make the kernel use them.
fn write_clone(out: &mut Vec<u8>, args: &[u64; MAX_ARGS]) {
    let [raw_flags, stack, parent_tid, child_tid, tls, _] = *args;
    out.extend_from_slice(b"child_stack=");
    push_ptr(out, stack);
    out.extend_from_slice(b", flags=");
    // The low byte is the signal sent to the parent when the child exits.
    let signal = (raw_flags & 0xff) as i32;
    let flags = raw_flags & !0xff;
    if flags != 0 {
        write_flags(out, flags, CLONE_FLAGS, Some("CLONE_???"));
        if signal != 0 {
            out.push(b'|');
        }
    }
    if signal != 0 {
        write_signal(out, signal);
    } else if flags == 0 {
        out.push(b'0');
    }
    if flags & (CLONE_PARENT_SETTID | CLONE_PIDFD) != 0 {
        out.extend_from_slice(b", parent_tid=");
        push_ptr(out, parent_tid);
    }
    if flags & CLONE_SETTLS != 0 {
        out.extend_from_slice(b", tls=");
        push_ptr(out, tls);
    }
    if flags & (CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID) != 0 {
        out.extend_from_slice(b", child_tidptr=");
        push_ptr(out, child_tid);
    }
}

/// `futex(uaddr, op, …)`: which arguments follow depends on the operation.
fn write_futex(out: &mut Vec<u8>, args: &[u64; MAX_ARGS]) {
    /// The arguments after `op`.
    enum Field {
        Val,
        Timeout,
        /// The timeout slot holds a count for the requeue operations.
        Val2,
        Uaddr2,
        Val3,
        Val3Hex,
        Bitset,
        WakeOp,
    }
    use Field::*;
    let [uaddr, op, val, timeout, uaddr2, val3] = *args;
    let (op, val3) = (op as u32, val3 as u32);
    push_ptr(out, uaddr);
    out.extend_from_slice(b", ");
    write_futex_op(out, op);
    let fields: &[Field] = match op & FUTEX_CMD_MASK {
        FUTEX_WAIT => &[Val, Timeout],
        FUTEX_WAKE | FUTEX_FD => &[Val],
        FUTEX_REQUEUE => &[Val, Val2, Uaddr2],
        FUTEX_CMP_REQUEUE | FUTEX_CMP_REQUEUE_PI => &[Val, Val2, Uaddr2, Val3],
        FUTEX_WAKE_OP => &[Val, Val2, Uaddr2, WakeOp],
        FUTEX_LOCK_PI | FUTEX_LOCK_PI2 => &[Timeout],
        FUTEX_UNLOCK_PI | FUTEX_TRYLOCK_PI => &[],
        FUTEX_WAIT_BITSET => &[Val, Timeout, Bitset],
        FUTEX_WAKE_BITSET => &[Val, Bitset],
        FUTEX_WAIT_REQUEUE_PI => &[Val, Timeout, Uaddr2],
        _ => &[Val, Timeout, Uaddr2, Val3Hex],
    };
    for field in fields {
        out.extend_from_slice(b", ");
        match field {
            Val => push_u64(out, u64::from(val as u32)),
            Timeout => push_ptr(out, timeout),
            Val2 => push_u64(out, u64::from(timeout as u32)),
            Uaddr2 => push_ptr(out, uaddr2),
            Val3 => push_u64(out, val3.into()),
            Val3Hex => push_hex0(out, val3.into()),
            Bitset => write_futex_bitset(out, val3),
            WakeOp => write_futex_wake_op(out, val3),
        }
    }
}

fn write_futex_op(out: &mut Vec<u8>, op: u32) {
    let cmd = op & FUTEX_CMD_MASK;
    let private = op & FUTEX_PRIVATE_FLAG != 0;
    let realtime = op & FUTEX_CLOCK_REALTIME != 0;
    let flags_ok = op & !(FUTEX_CMD_MASK | FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME) == 0;
    // Only the waiting operations take FUTEX_CLOCK_REALTIME.
    let clock_ok =
        !realtime || matches!(cmd, FUTEX_WAIT | FUTEX_WAIT_BITSET | FUTEX_WAIT_REQUEUE_PI);
    match FUTEX_CMDS.get(cmd as usize) {
        Some(name) if flags_ok && clock_ok => {
            out.extend_from_slice(name.as_bytes());
            if private {
                // strace's one irregular name.
                let suffix: &[u8] = if cmd == FUTEX_FD {
                    b"|FUTEX_PRIVATE_FLAG"
                } else {
                    b"_PRIVATE"
                };
                out.extend_from_slice(suffix);
            }
            if realtime {
                out.extend_from_slice(b"|FUTEX_CLOCK_REALTIME");
            }
        }
        _ => unknown(out, op.into(), "FUTEX_???"),
    }
}

fn write_futex_bitset(out: &mut Vec<u8>, bitset: u32) {
    if bitset == u32::MAX {
        out.extend_from_slice(b"FUTEX_BITSET_MATCH_ANY");
    } else {
        push_hex0(out, bitset.into());
    }
}

/// `FUTEX_WAKE_OP`'s encoded operation: `FUTEX_OP_SET<<28|0<<12|
/// FUTEX_OP_CMP_EQ<<24|0`.
fn write_futex_wake_op(out: &mut Vec<u8>, val3: u32) {
    let op = val3 >> 28;
    if op & FUTEX_OP_OPARG_SHIFT != 0 {
        out.extend_from_slice(b"FUTEX_OP_OPARG_SHIFT<<28|");
    }
    write_shifted(out, op & 7, FUTEX_WAKE_OPS, b"<<28", "FUTEX_OP_???");
    out.push(b'|');
    push_hex0(out, ((val3 >> 12) & 0xfff).into());
    out.extend_from_slice(b"<<12|");
    write_shifted(
        out,
        (val3 >> 24) & 0xf,
        FUTEX_WAKE_CMPS,
        b"<<24",
        "FUTEX_OP_CMP_???",
    );
    out.push(b'|');
    push_hex0(out, (val3 & 0xfff).into());
}

fn write_shifted(out: &mut Vec<u8>, value: u32, names: &[&str], shift: &[u8], unknown: &str) {
    match names.get(value as usize) {
        Some(name) => {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(shift);
        }
        None => {
            push_hex0(out, value.into());
            out.extend_from_slice(shift);
            comment(out, unknown);
        }
    }
}

/// `fcntl(fd, cmd[, arg])`: the argument's meaning, and whether there is
/// one, depends on the command.
fn write_fcntl(out: &mut Vec<u8>, args: &[u64; MAX_ARGS]) {
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

fn write_open_flags(out: &mut Vec<u8>, flags: u64) {
    let modes: [&[u8]; 4] = [b"O_RDONLY", b"O_WRONLY", b"O_RDWR", b"O_ACCMODE"];
    out.extend_from_slice(modes[(flags & 3) as usize]);
    let rest = flags & !3;
    if rest != 0 {
        out.push(b'|');
        write_flags(out, rest, OPEN_FLAGS, None);
    }
}

/// The map type (`MAP_PRIVATE`), then flags, then the huge page size.
fn write_mmap_flags(out: &mut Vec<u8>, flags: u64) {
    write_enum(out, flags & MAP_TYPE, MAP_TYPES, "MAP_???");
    let huge = (flags >> MAP_HUGE_SHIFT) & MAP_HUGE_MASK;
    let rest = flags & !MAP_TYPE & !(MAP_HUGE_MASK << MAP_HUGE_SHIFT);
    if rest != 0 {
        out.push(b'|');
        write_flags(out, rest, MMAP_FLAGS, None);
    }
    if huge != 0 {
        out.push(b'|');
        push_u64(out, huge);
        out.extend_from_slice(b"<<MAP_HUGE_SHIFT");
    }
}

/// `S_IFCHR|0620`, or plain octal for regular permissions.
fn write_file_mode(out: &mut Vec<u8>, mode: u64) {
    match FILE_TYPES.iter().find(|&&(ty, _)| ty == mode & S_IFMT) {
        Some((_, name)) => {
            out.extend_from_slice(name.as_bytes());
            out.push(b'|');
            push_mode(out, mode & !S_IFMT);
        }
        None => push_mode(out, mode),
    }
}

/// `makedev(0x1, 0x3)`, decoding the kernel's 32-bit `dev_t`.
fn write_dev(out: &mut Vec<u8>, dev: u32) {
    let major = (dev & 0xfff00) >> 8;
    let minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
    out.extend_from_slice(b"makedev(");
    push_hex0(out, major.into());
    out.extend_from_slice(b", ");
    push_hex0(out, minor.into());
    out.push(b')');
}

/// `SIGTERM`; real-time signals as `SIGRTMIN`, `SIGRT_1`…; else a number.
fn write_signal(out: &mut Vec<u8>, signal: i32) {
    use nix::sys::signal::Signal;
    match signal {
        SIGRTMIN => out.extend_from_slice(b"SIGRTMIN"),
        33..=SIGRTMAX => {
            out.extend_from_slice(b"SIGRT_");
            push_i64(out, (signal - SIGRTMIN).into());
        }
        _ => match Signal::try_from(signal) {
            Ok(signal) => out.extend_from_slice(signal.as_str().as_bytes()),
            Err(_) => push_i64(out, signal.into()),
        },
    }
}

/// `TCGETS` for a few common requests, else strace's decoding of the
/// request's fields: `_IOC(_IOC_READ|_IOC_WRITE, 0x62, 0x1, 0x18)`.
fn write_ioctl_request(out: &mut Vec<u8>, request: u32) {
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

/// The protocol of `socket`, named in the family's namespace.
fn write_socket_protocol(out: &mut Vec<u8>, protocol: i32, family: u32) {
    match family {
        AF_INET | AF_INET6 => {
            write_enum(out, protocol as u32 as u64, INET_PROTOCOLS, "IPPROTO_???")
        }
        AF_NETLINK => write_enum(
            out,
            protocol as u32 as u64,
            NETLINK_PROTOCOLS,
            "NETLINK_???",
        ),
        _ => push_i64(out, protocol.into()),
    }
}

/// strace's `printflags`: the names of the set bits in table order, then
/// the unnamed rest in hex; a value without any named bit gets the
/// `unknown` comment; zero is the table's name for zero, or `0`.
fn write_flags(out: &mut Vec<u8>, value: u64, table: &[(u64, &str)], unknown: Option<&str>) {
    if value == 0 {
        let zero = table.iter().find(|&&(bits, _)| bits == 0);
        out.extend_from_slice(zero.map_or("0", |&(_, name)| name).as_bytes());
        return;
    }
    let mut rest = value;
    let mut named = false;
    for &(bits, name) in table {
        if bits != 0 && rest & bits == bits {
            if named {
                out.push(b'|');
            }
            out.extend_from_slice(name.as_bytes());
            rest &= !bits;
            named = true;
        }
    }
    if rest == 0 {
        return;
    }
    if named {
        out.push(b'|');
        push_hex(out, rest);
    } else {
        push_hex(out, rest);
        if let Some(unknown) = unknown {
            comment(out, unknown);
        }
    }
}

/// strace's `printxval`: the value's name, or hex and the `unknown`
/// comment.
fn write_enum(out: &mut Vec<u8>, value: u64, table: &[(u64, &str)], unknown: &str) {
    match table.iter().find(|&&(v, _)| v == value) {
        Some((_, name)) => out.extend_from_slice(name.as_bytes()),
        None => self::unknown(out, value, unknown),
    }
}

fn unknown(out: &mut Vec<u8>, value: u64, what: &str) {
    push_hex0(out, value);
    comment(out, what);
}

fn comment(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(b" /* ");
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(b" */");
}

fn sep(out: &mut Vec<u8>, index: usize) {
    if index > 0 {
        out.extend_from_slice(b", ");
    }
}

fn push_u64(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

fn push_i64(out: &mut Vec<u8>, value: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// `NULL` or `0x7ffd…`.
fn push_ptr(out: &mut Vec<u8>, value: u64) {
    if value == 0 {
        out.extend_from_slice(b"NULL");
    } else {
        push_hex(out, value);
    }
}

/// `0` or `0x1f`, like C's `%#x`.
fn push_hex0(out: &mut Vec<u8>, value: u64) {
    if value == 0 {
        out.push(b'0');
    } else {
        push_hex(out, value);
    }
}

fn push_hex(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(b"0x");
    push_digits(out, value, 4);
}

/// Octal like C's `%#03o`, as strace prints modes: `0644`, `022`, `000`.
fn push_mode(out: &mut Vec<u8>, mode: u64) {
    let digits = (64 - mode.leading_zeros()).div_ceil(3).max(1);
    // `#` adds a leading 0 to nonzero values; then pad to 3 characters.
    let prefix = u32::from(mode != 0);
    for _ in (digits + prefix)..3 {
        out.push(b'0');
    }
    if mode != 0 {
        out.push(b'0');
    }
    push_digits(out, mode, 3);
}

/// The digits of `value` in base `1 << bits_per_digit`, at least one.
fn push_digits(out: &mut Vec<u8>, value: u64, bits_per_digit: u32) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mask = (1 << bits_per_digit) - 1;
    let digits = (64 - value.leading_zeros()).div_ceil(bits_per_digit).max(1);
    for digit in (0..digits).rev() {
        out.push(DIGITS[((value >> (digit * bits_per_digit)) & mask) as usize]);
    }
}

// The constants and name tables below are x86_64's (asm-generic where
// x86_64 has no own), each table in the order strace prints it.

const AT_FDCWD: i32 = -100;
const O_CREAT: u64 = 0o100;
/// `__O_TMPFILE`: `O_TMPFILE` without its `O_DIRECTORY` bit.
const O_TMPFILE_BIT: u64 = 0o20000000;
const S_IFMT: u64 = 0o170000;
const S_IFCHR: u64 = 0o020000;
const S_IFBLK: u64 = 0o060000;
const SIGRTMIN: i32 = 32;
const SIGRTMAX: i32 = 64;

const OPEN_FLAGS: &[(u64, &str)] = &[
    (0o100, "O_CREAT"),
    (0o200, "O_EXCL"),
    (0o400, "O_NOCTTY"),
    (0o1000, "O_TRUNC"),
    (0o2000, "O_APPEND"),
    (0o4000, "O_NONBLOCK"),
    // O_SYNC includes O_DSYNC's bit, O_TMPFILE O_DIRECTORY's: first.
    (0o4010000, "O_SYNC"),
    (0o4000000, "__O_SYNC"),
    (0o10000, "O_DSYNC"),
    (0o40000, "O_DIRECT"),
    (0o100000, "O_LARGEFILE"),
    (0o400000, "O_NOFOLLOW"),
    (0o1000000, "O_NOATIME"),
    (0o2000000, "O_CLOEXEC"),
    (0o10000000, "O_PATH"),
    (0o20200000, "O_TMPFILE"),
    (0o20000000, "__O_TMPFILE"),
    (0o200000, "O_DIRECTORY"),
    (0o20000, "FASYNC"),
];

const FILE_TYPES: &[(u64, &str)] = &[
    (0o140000, "S_IFSOCK"),
    (0o120000, "S_IFLNK"),
    (0o100000, "S_IFREG"),
    (0o060000, "S_IFBLK"),
    (0o040000, "S_IFDIR"),
    (0o020000, "S_IFCHR"),
    (0o010000, "S_IFIFO"),
];

const AT_FLAGS: &[(u64, &str)] = &[
    (0x100, "AT_SYMLINK_NOFOLLOW"),
    (0x200, "AT_REMOVEDIR"),
    (0x400, "AT_SYMLINK_FOLLOW"),
    (0x800, "AT_NO_AUTOMOUNT"),
    (0x1000, "AT_EMPTY_PATH"),
    (0x8000, "AT_RECURSIVE"),
];

const FACCESSAT_FLAGS: &[(u64, &str)] = &[
    (0x100, "AT_SYMLINK_NOFOLLOW"),
    (0x200, "AT_EACCESS"),
    (0x1000, "AT_EMPTY_PATH"),
];

const STATX_SYNC_MASK: u32 = 0x6000;
const STATX_SYNC: &[(u64, &str)] = &[
    (0, "AT_STATX_SYNC_AS_STAT"),
    (0x2000, "AT_STATX_FORCE_SYNC"),
    (0x4000, "AT_STATX_DONT_SYNC"),
];

const STATX_MASKS: &[(u64, &str)] = &[
    (0xfff, "STATX_ALL"),
    (0x7ff, "STATX_BASIC_STATS"),
    (0x1, "STATX_TYPE"),
    (0x2, "STATX_MODE"),
    (0x4, "STATX_NLINK"),
    (0x8, "STATX_UID"),
    (0x10, "STATX_GID"),
    (0x20, "STATX_ATIME"),
    (0x40, "STATX_MTIME"),
    (0x80, "STATX_CTIME"),
    (0x100, "STATX_INO"),
    (0x200, "STATX_SIZE"),
    (0x400, "STATX_BLOCKS"),
    (0x800, "STATX_BTIME"),
    (0x1000, "STATX_MNT_ID"),
    (0x2000, "STATX_DIOALIGN"),
    (0x4000, "STATX_MNT_ID_UNIQUE"),
    (0x8000, "STATX_SUBVOL"),
    (0x10000, "STATX_WRITE_ATOMIC"),
    (0x20000, "STATX_DIO_READ_ALIGN"),
];

const ACCESS_MODES: &[(u64, &str)] = &[(0, "F_OK"), (4, "R_OK"), (2, "W_OK"), (1, "X_OK")];

const CLONE_PIDFD: u64 = 0x1000;
const CLONE_SETTLS: u64 = 0x80000;
const CLONE_PARENT_SETTID: u64 = 0x100000;
const CLONE_CHILD_CLEARTID: u64 = 0x200000;
const CLONE_CHILD_SETTID: u64 = 0x1000000;

/// `unshare` and `setns` flags: [`CLONE_FLAGS`] and `CLONE_NEWTIME`, whose
/// bit `clone` uses for the exit signal.
const UNSHARE_FLAGS: &[(u64, &str)] = &[
    (0x80, "CLONE_NEWTIME"),
    (0x100, "CLONE_VM"),
    (0x200, "CLONE_FS"),
    (0x400, "CLONE_FILES"),
    (0x800, "CLONE_SIGHAND"),
    (CLONE_PIDFD, "CLONE_PIDFD"),
    (0x2000, "CLONE_PTRACE"),
    (0x4000, "CLONE_VFORK"),
    (0x8000, "CLONE_PARENT"),
    (0x10000, "CLONE_THREAD"),
    (0x20000, "CLONE_NEWNS"),
    (0x40000, "CLONE_SYSVSEM"),
    (CLONE_SETTLS, "CLONE_SETTLS"),
    (CLONE_PARENT_SETTID, "CLONE_PARENT_SETTID"),
    (CLONE_CHILD_CLEARTID, "CLONE_CHILD_CLEARTID"),
    (0x800000, "CLONE_UNTRACED"),
    (CLONE_CHILD_SETTID, "CLONE_CHILD_SETTID"),
    (0x2000000, "CLONE_NEWCGROUP"),
    (0x4000000, "CLONE_NEWUTS"),
    (0x8000000, "CLONE_NEWIPC"),
    (0x10000000, "CLONE_NEWUSER"),
    (0x20000000, "CLONE_NEWPID"),
    (0x40000000, "CLONE_NEWNET"),
    (0x80000000, "CLONE_IO"),
];
const CLONE_FLAGS: &[(u64, &str)] = UNSHARE_FLAGS.split_at(1).1;

const MMAP_PROT: &[(u64, &str)] = &[
    (0, "PROT_NONE"),
    (0x1, "PROT_READ"),
    (0x2, "PROT_WRITE"),
    (0x4, "PROT_EXEC"),
    (0x8, "PROT_SEM"),
    (0x1000000, "PROT_GROWSDOWN"),
    (0x2000000, "PROT_GROWSUP"),
];

const MAP_TYPE: u64 = 0xf;
const MAP_HUGE_SHIFT: u32 = 26;
const MAP_HUGE_MASK: u64 = 0x3f;
const MAP_TYPES: &[(u64, &str)] = &[
    (0, "MAP_FILE"),
    (1, "MAP_SHARED"),
    (2, "MAP_PRIVATE"),
    (3, "MAP_SHARED_VALIDATE"),
    (8, "MAP_DROPPABLE"),
];
const MMAP_FLAGS: &[(u64, &str)] = &[
    (0x10, "MAP_FIXED"),
    (0x20, "MAP_ANONYMOUS"),
    (0x40, "MAP_32BIT"),
    (0x80, "MAP_ABOVE4G"),
    (0x4000, "MAP_NORESERVE"),
    (0x8000, "MAP_POPULATE"),
    (0x10000, "MAP_NONBLOCK"),
    (0x100, "MAP_GROWSDOWN"),
    (0x800, "MAP_DENYWRITE"),
    (0x1000, "MAP_EXECUTABLE"),
    (0x2000, "MAP_LOCKED"),
    (0x20000, "MAP_STACK"),
    (0x40000, "MAP_HUGETLB"),
    (0x80000, "MAP_SYNC"),
    (0x100000, "MAP_FIXED_NOREPLACE"),
];

const MREMAP_FIXED: u64 = 2;
const MREMAP_FLAGS: &[(u64, &str)] = &[
    (1, "MREMAP_MAYMOVE"),
    (MREMAP_FIXED, "MREMAP_FIXED"),
    (4, "MREMAP_DONTUNMAP"),
];

const MADVISE: &[(u64, &str)] = &[
    (0, "MADV_NORMAL"),
    (1, "MADV_RANDOM"),
    (2, "MADV_SEQUENTIAL"),
    (3, "MADV_WILLNEED"),
    (4, "MADV_DONTNEED"),
    (8, "MADV_FREE"),
    (9, "MADV_REMOVE"),
    (10, "MADV_DONTFORK"),
    (11, "MADV_DOFORK"),
    (12, "MADV_MERGEABLE"),
    (13, "MADV_UNMERGEABLE"),
    (14, "MADV_HUGEPAGE"),
    (15, "MADV_NOHUGEPAGE"),
    (16, "MADV_DONTDUMP"),
    (17, "MADV_DODUMP"),
    (18, "MADV_WIPEONFORK"),
    (19, "MADV_KEEPONFORK"),
    (20, "MADV_COLD"),
    (21, "MADV_PAGEOUT"),
    (22, "MADV_POPULATE_READ"),
    (23, "MADV_POPULATE_WRITE"),
    (24, "MADV_DONTNEED_LOCKED"),
    (25, "MADV_COLLAPSE"),
    (100, "MADV_HWPOISON"),
    (101, "MADV_SOFT_OFFLINE"),
    (102, "MADV_GUARD_INSTALL"),
    (103, "MADV_GUARD_REMOVE"),
];

const WHENCE: &[(u64, &str)] = &[
    (0, "SEEK_SET"),
    (1, "SEEK_CUR"),
    (2, "SEEK_END"),
    (3, "SEEK_DATA"),
    (4, "SEEK_HOLE"),
];

const SIG_HOW: &[(u64, &str)] = &[(0, "SIG_BLOCK"), (1, "SIG_UNBLOCK"), (2, "SIG_SETMASK")];

const FUTEX_CMD_MASK: u32 = 127;
const FUTEX_PRIVATE_FLAG: u32 = 128;
const FUTEX_CLOCK_REALTIME: u32 = 256;
const FUTEX_WAIT: u32 = 0;
const FUTEX_WAKE: u32 = 1;
const FUTEX_FD: u32 = 2;
const FUTEX_REQUEUE: u32 = 3;
const FUTEX_CMP_REQUEUE: u32 = 4;
const FUTEX_WAKE_OP: u32 = 5;
const FUTEX_LOCK_PI: u32 = 6;
const FUTEX_UNLOCK_PI: u32 = 7;
const FUTEX_TRYLOCK_PI: u32 = 8;
const FUTEX_WAIT_BITSET: u32 = 9;
const FUTEX_WAKE_BITSET: u32 = 10;
const FUTEX_WAIT_REQUEUE_PI: u32 = 11;
const FUTEX_CMP_REQUEUE_PI: u32 = 12;
const FUTEX_LOCK_PI2: u32 = 13;
/// Indexed by command.
const FUTEX_CMDS: &[&str] = &[
    "FUTEX_WAIT",
    "FUTEX_WAKE",
    "FUTEX_FD",
    "FUTEX_REQUEUE",
    "FUTEX_CMP_REQUEUE",
    "FUTEX_WAKE_OP",
    "FUTEX_LOCK_PI",
    "FUTEX_UNLOCK_PI",
    "FUTEX_TRYLOCK_PI",
    "FUTEX_WAIT_BITSET",
    "FUTEX_WAKE_BITSET",
    "FUTEX_WAIT_REQUEUE_PI",
    "FUTEX_CMP_REQUEUE_PI",
    "FUTEX_LOCK_PI2",
];
const FUTEX_OP_OPARG_SHIFT: u32 = 8;
const FUTEX_WAKE_OPS: &[&str] = &[
    "FUTEX_OP_SET",
    "FUTEX_OP_ADD",
    "FUTEX_OP_OR",
    "FUTEX_OP_ANDN",
    "FUTEX_OP_XOR",
];
const FUTEX_WAKE_CMPS: &[&str] = &[
    "FUTEX_OP_CMP_EQ",
    "FUTEX_OP_CMP_NE",
    "FUTEX_OP_CMP_LT",
    "FUTEX_OP_CMP_LE",
    "FUTEX_OP_CMP_GT",
    "FUTEX_OP_CMP_GE",
];

pub(crate) const F_DUPFD: u32 = 0;
const F_GETFD: u32 = 1;
const F_SETFD: u32 = 2;
const F_GETFL: u32 = 3;
const F_SETFL: u32 = 4;
const F_GETLK: u32 = 5;
const F_SETLK: u32 = 6;
const F_SETLKW: u32 = 7;
const F_SETOWN: u32 = 8;
const F_GETOWN: u32 = 9;
const F_SETSIG: u32 = 10;
const F_GETSIG: u32 = 11;
const F_SETOWN_EX: u32 = 15;
const F_GETOWN_EX: u32 = 16;
const F_OFD_GETLK: u32 = 36;
const F_OFD_SETLK: u32 = 37;
const F_OFD_SETLKW: u32 = 38;
const F_SETLEASE: u32 = 1024;
const F_GETLEASE: u32 = 1025;
pub(crate) const F_DUPFD_CLOEXEC: u32 = 1030;
const F_SETPIPE_SZ: u32 = 1031;
const F_GETPIPE_SZ: u32 = 1032;
const F_ADD_SEALS: u32 = 1033;
const F_GET_SEALS: u32 = 1034;
const FCNTL_CMDS: &[(u64, &str)] = &[
    (F_DUPFD as u64, "F_DUPFD"),
    (F_GETFD as u64, "F_GETFD"),
    (F_SETFD as u64, "F_SETFD"),
    (F_GETFL as u64, "F_GETFL"),
    (F_SETFL as u64, "F_SETFL"),
    (F_GETLK as u64, "F_GETLK"),
    (F_SETLK as u64, "F_SETLK"),
    (F_SETLKW as u64, "F_SETLKW"),
    (F_SETOWN as u64, "F_SETOWN"),
    (F_GETOWN as u64, "F_GETOWN"),
    (F_SETSIG as u64, "F_SETSIG"),
    (F_GETSIG as u64, "F_GETSIG"),
    (F_SETOWN_EX as u64, "F_SETOWN_EX"),
    (F_GETOWN_EX as u64, "F_GETOWN_EX"),
    (17, "F_GETOWNER_UIDS"),
    (F_OFD_GETLK as u64, "F_OFD_GETLK"),
    (F_OFD_SETLK as u64, "F_OFD_SETLK"),
    (F_OFD_SETLKW as u64, "F_OFD_SETLKW"),
    (F_SETLEASE as u64, "F_SETLEASE"),
    (F_GETLEASE as u64, "F_GETLEASE"),
    (1026, "F_NOTIFY"),
    (1027, "F_DUPFD_QUERY"),
    (1028, "F_CREATED_QUERY"),
    (1029, "F_CANCELLK"),
    (F_DUPFD_CLOEXEC as u64, "F_DUPFD_CLOEXEC"),
    (F_SETPIPE_SZ as u64, "F_SETPIPE_SZ"),
    (F_GETPIPE_SZ as u64, "F_GETPIPE_SZ"),
    (F_ADD_SEALS as u64, "F_ADD_SEALS"),
    (F_GET_SEALS as u64, "F_GET_SEALS"),
    (1035, "F_GET_RW_HINT"),
    (1036, "F_SET_RW_HINT"),
    (1037, "F_GET_FILE_RW_HINT"),
    (1038, "F_SET_FILE_RW_HINT"),
];
const FD_FLAGS: &[(u64, &str)] = &[(1, "FD_CLOEXEC")];
const LEASES: &[(u64, &str)] = &[(0, "F_RDLCK"), (1, "F_WRLCK"), (2, "F_UNLCK")];
const SEALS: &[(u64, &str)] = &[
    (0x1, "F_SEAL_SEAL"),
    (0x2, "F_SEAL_SHRINK"),
    (0x4, "F_SEAL_GROW"),
    (0x8, "F_SEAL_WRITE"),
    (0x10, "F_SEAL_FUTURE_WRITE"),
    (0x20, "F_SEAL_EXEC"),
];

const FIONCLEX: u32 = 0x5450;
const FIOCLEX: u32 = 0x5451;
/// The requests strace names that dominate real traces (terminals).
const IOCTLS: &[(u32, &str)] = &[
    (0x5401, "TCGETS"),
    (0x5402, "TCSETS"),
    (0x5403, "TCSETSW"),
    (0x5404, "TCSETSF"),
    (0x540b, "TCFLSH"),
    (0x540e, "TIOCSCTTY"),
    (0x540f, "TIOCGPGRP"),
    (0x5410, "TIOCSPGRP"),
    (0x5411, "TIOCOUTQ"),
    (0x5413, "TIOCGWINSZ"),
    (0x5414, "TIOCSWINSZ"),
    (0x541b, "FIONREAD"),
    (0x5421, "FIONBIO"),
    (0x5422, "TIOCNOTTY"),
    (0x5429, "TIOCGSID"),
    (FIONCLEX, "FIONCLEX"),
    (FIOCLEX, "FIOCLEX"),
    (0x5452, "FIOASYNC"),
    (0x80045430, "TIOCGPTN"),
    (0x40045431, "TIOCSPTLCK"),
];

const ARCH_PRCTL: &[(u64, &str)] = &[
    (0x1001, "ARCH_SET_GS"),
    (0x1002, "ARCH_SET_FS"),
    (0x1003, "ARCH_GET_FS"),
    (0x1004, "ARCH_GET_GS"),
    (0x1011, "ARCH_GET_CPUID"),
    (0x1012, "ARCH_SET_CPUID"),
    (0x1021, "ARCH_GET_XCOMP_SUPP"),
    (0x1022, "ARCH_GET_XCOMP_PERM"),
    (0x1023, "ARCH_REQ_XCOMP_PERM"),
    (0x1024, "ARCH_GET_XCOMP_GUEST_PERM"),
    (0x1025, "ARCH_REQ_XCOMP_GUEST_PERM"),
    (0x2001, "ARCH_MAP_VDSO_X32"),
    (0x2002, "ARCH_MAP_VDSO_32"),
    (0x2003, "ARCH_MAP_VDSO_64"),
];

const RLIMITS: &[(u64, &str)] = &[
    (0, "RLIMIT_CPU"),
    (1, "RLIMIT_FSIZE"),
    (2, "RLIMIT_DATA"),
    (3, "RLIMIT_STACK"),
    (4, "RLIMIT_CORE"),
    (5, "RLIMIT_RSS"),
    (6, "RLIMIT_NPROC"),
    (7, "RLIMIT_NOFILE"),
    (8, "RLIMIT_MEMLOCK"),
    (9, "RLIMIT_AS"),
    (10, "RLIMIT_LOCKS"),
    (11, "RLIMIT_SIGPENDING"),
    (12, "RLIMIT_MSGQUEUE"),
    (13, "RLIMIT_NICE"),
    (14, "RLIMIT_RTPRIO"),
    (15, "RLIMIT_RTTIME"),
];

const CLOCKS: &[(u64, &str)] = &[
    (0, "CLOCK_REALTIME"),
    (1, "CLOCK_MONOTONIC"),
    (2, "CLOCK_PROCESS_CPUTIME_ID"),
    (3, "CLOCK_THREAD_CPUTIME_ID"),
    (4, "CLOCK_MONOTONIC_RAW"),
    (5, "CLOCK_REALTIME_COARSE"),
    (6, "CLOCK_MONOTONIC_COARSE"),
    (7, "CLOCK_BOOTTIME"),
    (8, "CLOCK_REALTIME_ALARM"),
    (9, "CLOCK_BOOTTIME_ALARM"),
    (10, "CLOCK_SGI_CYCLE"),
    (11, "CLOCK_TAI"),
];
const TIMER_FLAGS: &[(u64, &str)] = &[(1, "TIMER_ABSTIME")];

const WAIT_OPTIONS: &[(u64, &str)] = &[
    (1, "WNOHANG"),
    (2, "WSTOPPED"),
    (8, "WCONTINUED"),
    (0x20000000, "__WNOTHREAD"),
    (0x40000000, "__WALL"),
    (0x80000000, "__WCLONE"),
];

const AF_INET: u32 = 2;
const AF_INET6: u32 = 10;
const AF_NETLINK: u32 = 16;
const ADDRESS_FAMILIES: &[(u64, &str)] = &[
    (0, "AF_UNSPEC"),
    (1, "AF_UNIX"),
    (AF_INET as u64, "AF_INET"),
    (3, "AF_AX25"),
    (4, "AF_IPX"),
    (5, "AF_APPLETALK"),
    (6, "AF_NETROM"),
    (7, "AF_BRIDGE"),
    (8, "AF_ATMPVC"),
    (9, "AF_X25"),
    (AF_INET6 as u64, "AF_INET6"),
    (11, "AF_ROSE"),
    (12, "AF_DECnet"),
    (13, "AF_NETBEUI"),
    (14, "AF_SECURITY"),
    (15, "AF_KEY"),
    (AF_NETLINK as u64, "AF_NETLINK"),
    (17, "AF_PACKET"),
    (18, "AF_ASH"),
    (19, "AF_ECONET"),
    (20, "AF_ATMSVC"),
    (21, "AF_RDS"),
    (22, "AF_SNA"),
    (23, "AF_IRDA"),
    (24, "AF_PPPOX"),
    (25, "AF_WANPIPE"),
    (26, "AF_LLC"),
    (27, "AF_IB"),
    (28, "AF_MPLS"),
    (29, "AF_CAN"),
    (30, "AF_TIPC"),
    (31, "AF_BLUETOOTH"),
    (32, "AF_IUCV"),
    (33, "AF_RXRPC"),
    (34, "AF_ISDN"),
    (35, "AF_PHONET"),
    (36, "AF_IEEE802154"),
    (37, "AF_CAIF"),
    (38, "AF_ALG"),
    (39, "AF_NFC"),
    (40, "AF_VSOCK"),
    (41, "AF_KCM"),
    (42, "AF_QIPCRTR"),
    (43, "AF_SMC"),
    (44, "AF_XDP"),
    (45, "AF_MCTP"),
];

const SOCK_TYPE_MASK: u32 = 0xf;
const SOCK_TYPES: &[(u64, &str)] = &[
    (1, "SOCK_STREAM"),
    (2, "SOCK_DGRAM"),
    (3, "SOCK_RAW"),
    (4, "SOCK_RDM"),
    (5, "SOCK_SEQPACKET"),
    (6, "SOCK_DCCP"),
    (10, "SOCK_PACKET"),
];
const SOCK_FLAGS: &[(u64, &str)] = &[(0o2000000, "SOCK_CLOEXEC"), (0o4000, "SOCK_NONBLOCK")];

const INET_PROTOCOLS: &[(u64, &str)] = &[
    (0, "IPPROTO_IP"),
    (1, "IPPROTO_ICMP"),
    (2, "IPPROTO_IGMP"),
    (4, "IPPROTO_IPIP"),
    (6, "IPPROTO_TCP"),
    (8, "IPPROTO_EGP"),
    (12, "IPPROTO_PUP"),
    (17, "IPPROTO_UDP"),
    (22, "IPPROTO_IDP"),
    (29, "IPPROTO_TP"),
    (33, "IPPROTO_DCCP"),
    (41, "IPPROTO_IPV6"),
    (46, "IPPROTO_RSVP"),
    (47, "IPPROTO_GRE"),
    (50, "IPPROTO_ESP"),
    (51, "IPPROTO_AH"),
    (58, "IPPROTO_ICMPV6"),
    (92, "IPPROTO_MTP"),
    (94, "IPPROTO_BEETPH"),
    (98, "IPPROTO_ENCAP"),
    (103, "IPPROTO_PIM"),
    (108, "IPPROTO_COMP"),
    (115, "IPPROTO_L2TP"),
    (132, "IPPROTO_SCTP"),
    (136, "IPPROTO_UDPLITE"),
    (137, "IPPROTO_MPLS"),
    (143, "IPPROTO_ETHERNET"),
    (255, "IPPROTO_RAW"),
    (262, "IPPROTO_MPTCP"),
];

const NETLINK_PROTOCOLS: &[(u64, &str)] = &[
    (0, "NETLINK_ROUTE"),
    (1, "NETLINK_UNUSED"),
    (2, "NETLINK_USERSOCK"),
    (3, "NETLINK_FIREWALL"),
    (4, "NETLINK_SOCK_DIAG"),
    (5, "NETLINK_NFLOG"),
    (6, "NETLINK_XFRM"),
    (7, "NETLINK_SELINUX"),
    (8, "NETLINK_ISCSI"),
    (9, "NETLINK_AUDIT"),
    (10, "NETLINK_FIB_LOOKUP"),
    (11, "NETLINK_CONNECTOR"),
    (12, "NETLINK_NETFILTER"),
    (13, "NETLINK_IP6_FW"),
    (14, "NETLINK_DNRTMSG"),
    (15, "NETLINK_KOBJECT_UEVENT"),
    (16, "NETLINK_GENERIC"),
    (18, "NETLINK_SCSITRANSPORT"),
    (19, "NETLINK_ECRYPTFS"),
    (20, "NETLINK_RDMA"),
    (21, "NETLINK_CRYPTO"),
    (22, "NETLINK_SMC"),
];

const EPOLL_OPS: &[(u64, &str)] = &[
    (1, "EPOLL_CTL_ADD"),
    (2, "EPOLL_CTL_DEL"),
    (3, "EPOLL_CTL_MOD"),
];
const EPOLL_FLAGS: &[(u64, &str)] = &[(0o2000000, "EPOLL_CLOEXEC")];
const GRND_FLAGS: &[(u64, &str)] = &[
    (1, "GRND_NONBLOCK"),
    (2, "GRND_RANDOM"),
    (4, "GRND_INSECURE"),
];
const FADVISE: &[(u64, &str)] = &[
    (0, "POSIX_FADV_NORMAL"),
    (1, "POSIX_FADV_RANDOM"),
    (2, "POSIX_FADV_SEQUENTIAL"),
    (3, "POSIX_FADV_WILLNEED"),
    (4, "POSIX_FADV_DONTNEED"),
    (5, "POSIX_FADV_NOREUSE"),
];
const EFD_FLAGS: &[(u64, &str)] = &[
    (1, "EFD_SEMAPHORE"),
    (0o2000000, "EFD_CLOEXEC"),
    (0o4000, "EFD_NONBLOCK"),
];
const MFD_FLAGS: &[(u64, &str)] = &[
    (0x1, "MFD_CLOEXEC"),
    (0x2, "MFD_ALLOW_SEALING"),
    (0x4, "MFD_HUGETLB"),
    (0x8, "MFD_NOEXEC_SEAL"),
    (0x10, "MFD_EXEC"),
];
const UMOUNT_FLAGS: &[(u64, &str)] = &[
    (1, "MNT_FORCE"),
    (2, "MNT_DETACH"),
    (4, "MNT_EXPIRE"),
    (8, "UMOUNT_NOFOLLOW"),
];

#[cfg(test)]
mod tests {
    use super::*;

    const P: u64 = 0x1000;

    fn neg(v: i64) -> u64 {
        v as u64
    }

    /// Renders syscall `nr` (by name) with `args`, returning `ret`.
    fn call(name: &str, args: &[u64], ret: Option<i64>) -> String {
        let nr = super::super::by_name(name).unwrap_or_else(|| panic!("{name}"));
        render(nr, args, ret)
    }

    fn render(nr: u32, args: &[u64], ret: Option<i64>) -> String {
        let mut full = [0; MAX_ARGS];
        full[..args.len()].copy_from_slice(args);
        let ev = SyscallEvent {
            tgid: 1,
            tid: 1,
            nr,
            args: full,
            enter_ns: 0,
            exit_ns: ret.map(|_| 1),
            ret,
            strings: None,
            data: None,
            request: None,
        };
        let mut out = Vec::new();
        write_call(&mut out, &ev);
        String::from_utf8(out).unwrap()
    }

    /// The arguments only: `call(...)` without ` = ret`.
    fn args(name: &str, args: &[u64]) -> String {
        let line = call(name, args, Some(0));
        line.rsplit_once(" = ").unwrap().0.to_owned()
    }

    #[test]
    fn openat() {
        let flags = 0o2000000; // O_RDONLY|O_CLOEXEC
        let line = call("openat", &[neg(-100), 0x5581_0000_1000, flags, 0], Some(3));
        assert_eq!(
            line,
            "openat(AT_FDCWD, 0x558100001000, O_RDONLY|O_CLOEXEC) = 3"
        );
        // The mode only with O_CREAT or O_TMPFILE.
        assert_eq!(
            args("openat", &[3, P, 0o1101, 0o644]),
            "openat(3, 0x1000, O_WRONLY|O_CREAT|O_TRUNC, 0644)"
        );
        assert_eq!(
            args("openat", &[neg(-100), P, 0o20200002, 0o600]),
            "openat(AT_FDCWD, 0x1000, O_RDWR|O_TMPFILE, 0600)"
        );
        assert_eq!(
            args("openat", &[neg(-100), P, 0o20000000, 0o644]),
            "openat(AT_FDCWD, 0x1000, O_RDONLY|__O_TMPFILE, 0644)"
        );
        assert_eq!(args("open", &[P, 0, 0o600]), "open(0x1000, O_RDONLY)");
        assert_eq!(
            args("openat", &[neg(-100), 0, 3, 0]),
            "openat(AT_FDCWD, NULL, O_ACCMODE)"
        );
    }

    #[test]
    fn open_flags_in_strace_order() {
        let cases = [
            (
                0o2000000 | 0o200000 | 0o400000,
                "O_RDONLY|O_NOFOLLOW|O_CLOEXEC|O_DIRECTORY",
            ),
            (0o4010000, "O_RDONLY|O_SYNC"),
            (0o10000, "O_RDONLY|O_DSYNC"),
            (0o20000, "O_RDONLY|FASYNC"),
            (0o10000000, "O_RDONLY|O_PATH"),
            (0x40000000, "O_RDONLY|0x40000000"),
            (0o4000 | 2, "O_RDWR|O_NONBLOCK"),
        ];
        for (flags, expected) in cases {
            assert_eq!(
                args("openat", &[3, P, flags]),
                format!("openat(3, 0x1000, {expected})")
            );
        }
    }

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
            args("read", &[3, P, u64::MAX]),
            "read(3, 0x1000, 18446744073709551615)"
        );
        assert_eq!(args("setuid", &[0xffff_ffff]), "setuid(-1)");
        assert_eq!(
            args("chown", &[P, neg(-1), 0x1_0000_0005]),
            "chown(0x1000, -1, 5)"
        );
    }

    #[test]
    fn errors_and_special_returns() {
        let enoent = call("openat", &[neg(-100), P, 0], Some(-2));
        assert_eq!(
            enoent,
            "openat(AT_FDCWD, 0x1000, O_RDONLY) = -1 ENOENT (No such file or directory)"
        );
        assert_eq!(call("exit_group", &[0], None), "exit_group(0) = ?");
        assert_eq!(
            call("read", &[3, P, 10], Some(-512)),
            "read(3, 0x1000, 10) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)"
        );
        assert_eq!(
            call("close", &[3], Some(-514)),
            "close(3) = ? ERESTARTNOHAND (To be restarted if no handler)"
        );
        assert_eq!(
            call("nanosleep", &[P, 0], Some(-516)),
            "nanosleep(0x1000, NULL) = ? ERESTART_RESTARTBLOCK (Interrupted by signal)"
        );
        assert_eq!(
            call("ioctl", &[1, 0x5401, 0x7ffd1234], Some(-515)),
            "ioctl(1, TCGETS, 0x7ffd1234) = -1 ENOIOCTLCMD (Unknown error 515)"
        );
        assert_eq!(
            call("sched_yield", &[], Some(-4000)),
            "sched_yield() = -1 (errno 4000)"
        );
        assert_eq!(call("fsync", &[5], Some(-41)), "fsync(5) = -1 (errno 41)");
        // Below the errno range: a value, not an error.
        assert_eq!(
            call("lseek", &[3, 0, 2], Some(-4096)),
            "lseek(3, 0, SEEK_END) = -4096"
        );
    }

    #[test]
    fn address_returns_are_hex() {
        let mmap = call(
            "mmap",
            &[0, 8192, 3, 0x22, neg(-1), 0],
            Some(0x7f2c_f2b4_e000),
        );
        assert_eq!(
            mmap,
            "mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f2cf2b4e000"
        );
        assert_eq!(
            call("brk", &[0], Some(0x5630_a5e4_5000)),
            "brk(NULL) = 0x5630a5e45000"
        );
        assert_eq!(
            call("mmap", &[0, 1, 0, 2, 3, 0], Some(-12))
                .rsplit_once(" = ")
                .unwrap()
                .1,
            "-1 ENOMEM (Cannot allocate memory)"
        );
        assert_eq!(call("umask", &[0o22], Some(0o77)), "umask(022) = 077");
        assert_eq!(call("getpid", &[], Some(42)), "getpid() = 42");
    }

    #[test]
    fn unknown_syscalls_are_raw() {
        assert_eq!(
            render(500, &[1, 2, 3, 0, u64::MAX, 0x7f], Some(5)),
            "syscall_0x1f4(0x1, 0x2, 0x3, 0, 0xffffffffffffffff, 0x7f) = 0x5"
        );
        assert_eq!(
            render(340, &[], Some(-38)),
            "syscall_0x154(0, 0, 0, 0, 0, 0) = -1 ENOSYS (Function not implemented)"
        );
        assert_eq!(
            render(u32::MAX, &[], None),
            "syscall_0xffffffff(0, 0, 0, 0, 0, 0) = ?"
        );
    }

    #[test]
    fn mmap_and_mprotect() {
        let mmap = |prot, flags| args("mmap", &[0x7f0000, 8192, prot, flags, 3, 0x1000]);
        let tail = |s: String| {
            s.strip_prefix("mmap(0x7f0000, 8192, ")
                .unwrap()
                .strip_suffix(", 3, 0x1000)")
                .unwrap()
                .to_owned()
        };
        assert_eq!(tail(mmap(0, 2)), "PROT_NONE, MAP_PRIVATE");
        assert_eq!(tail(mmap(7, 0)), "PROT_READ|PROT_WRITE|PROT_EXEC, MAP_FILE");
        assert_eq!(
            tail(mmap(0x10, 3)),
            "0x10 /* PROT_??? */, MAP_SHARED_VALIDATE"
        );
        assert_eq!(
            tail(mmap(0x1000000, 0x802)),
            "PROT_GROWSDOWN, MAP_PRIVATE|MAP_DENYWRITE"
        );
        assert_eq!(
            tail(mmap(1, 0x40022 | (21 << 26))),
            "PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB|21<<MAP_HUGE_SHIFT"
        );
        assert_eq!(tail(mmap(1, 0xf)), "PROT_READ, 0xf /* MAP_??? */");
        assert_eq!(
            tail(mmap(1, 0x100002)),
            "PROT_READ, MAP_PRIVATE|MAP_FIXED_NOREPLACE"
        );
        assert_eq!(
            args("mprotect", &[0x7f0000, 4096, 5]),
            "mprotect(0x7f0000, 4096, PROT_READ|PROT_EXEC)"
        );
        assert_eq!(args("munmap", &[0x7f00, 4096]), "munmap(0x7f00, 4096)");
    }

    #[test]
    fn signals() {
        let kill = |sig| {
            args("kill", &[1, sig])
                .strip_prefix("kill(1, ")
                .unwrap()
                .trim_end_matches(')')
                .to_owned()
        };
        assert_eq!(kill(0), "0");
        assert_eq!(kill(15), "SIGTERM");
        assert_eq!(kill(17), "SIGCHLD");
        assert_eq!(kill(31), "SIGSYS");
        assert_eq!(kill(32), "SIGRTMIN");
        assert_eq!(kill(33), "SIGRT_1");
        assert_eq!(kill(64), "SIGRT_32");
        assert_eq!(kill(65), "65");
        assert_eq!(kill(neg(-1)), "-1");
        assert_eq!(
            args("rt_sigaction", &[2, 0, 0, 8]),
            "rt_sigaction(SIGINT, NULL, NULL, 8)"
        );
    }

    #[test]
    fn clone_names_its_arguments() {
        let clone = |flags| args("clone", &[flags, 0x7f00, 0x7f10, 0x7f20, 0x7f30]);
        assert_eq!(
            clone(0x1200011),
            "clone(child_stack=0x7f00, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f20)"
        );
        assert_eq!(
            clone(0x3d0f00),
            "clone(child_stack=0x7f00, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|\
             CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, parent_tid=0x7f10, \
             tls=0x7f30, child_tidptr=0x7f20)"
        );
        assert_eq!(clone(0), "clone(child_stack=0x7f00, flags=0)");
        assert_eq!(clone(0x11), "clone(child_stack=0x7f00, flags=SIGCHLD)");
        assert_eq!(
            clone(0x1011),
            "clone(child_stack=0x7f00, flags=CLONE_PIDFD|SIGCHLD, parent_tid=0x7f10)"
        );
        assert_eq!(
            clone(0x200000000),
            "clone(child_stack=0x7f00, flags=0x200000000 /* CLONE_??? */)"
        );
        assert_eq!(args("unshare", &[0x80]), "unshare(CLONE_NEWTIME)");
        assert_eq!(
            args("unshare", &[0x40020000]),
            "unshare(CLONE_NEWNS|CLONE_NEWNET)"
        );
        assert_eq!(args("unshare", &[0x11]), "unshare(0x11 /* CLONE_??? */)");
        assert_eq!(args("setns", &[3, 0]), "setns(3, 0)");
    }

    #[test]
    fn at_flags() {
        let stat = |flags| args("newfstatat", &[neg(-100), P, P, flags]);
        assert_eq!(stat(0), "newfstatat(AT_FDCWD, 0x1000, 0x1000, 0)");
        assert_eq!(
            stat(0x1100),
            "newfstatat(AT_FDCWD, 0x1000, 0x1000, AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH)"
        );
        assert_eq!(
            stat(0x6000),
            "newfstatat(AT_FDCWD, 0x1000, 0x1000, 0x6000 /* AT_??? */)"
        );
        assert_eq!(
            args("unlinkat", &[3, P, 0x200]),
            "unlinkat(3, 0x1000, AT_REMOVEDIR)"
        );
        assert_eq!(
            args("faccessat2", &[neg(-100), P, 4, 0x300]),
            "faccessat2(AT_FDCWD, 0x1000, R_OK, AT_SYMLINK_NOFOLLOW|AT_EACCESS)"
        );
        assert_eq!(
            args("faccessat2", &[neg(-100), P, 4, 0x400]),
            "faccessat2(AT_FDCWD, 0x1000, R_OK, 0x400 /* AT_??? */)"
        );
        assert_eq!(
            args("statx", &[3, P, 0x2100, 0x7ff, P]),
            "statx(3, 0x1000, AT_STATX_FORCE_SYNC|AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, 0x1000)"
        );
        assert_eq!(
            args("statx", &[3, P, 0x1000, 0xfff, P]),
            "statx(3, 0x1000, AT_STATX_SYNC_AS_STAT|AT_EMPTY_PATH, STATX_ALL, 0x1000)"
        );
        assert_eq!(args("access", &[P, 0]), "access(0x1000, F_OK)");
        assert_eq!(args("access", &[P, 7]), "access(0x1000, R_OK|W_OK|X_OK)");
        assert_eq!(args("access", &[P, 8]), "access(0x1000, 0x8 /* ?_OK */)");
    }

    #[test]
    fn modes() {
        assert_eq!(args("mkdir", &[P, 0o755]), "mkdir(0x1000, 0755)");
        assert_eq!(args("chmod", &[P, 0]), "chmod(0x1000, 000)");
        assert_eq!(args("chmod", &[P, 0o7]), "chmod(0x1000, 007)");
        assert_eq!(args("chmod", &[P, 0o4755]), "chmod(0x1000, 04755)");
        assert_eq!(args("chmod", &[P, 0x10001a4]), "chmod(0x1000, 0644)");
        assert_eq!(
            args("mknod", &[P, 0o20660, 0x103]),
            "mknod(0x1000, S_IFCHR|0660, makedev(0x1, 0x3))"
        );
        assert_eq!(args("mknod", &[P, 0o644, 0]), "mknod(0x1000, 0644)");
        assert_eq!(
            args("mknod", &[P, 0o140777, 5]),
            "mknod(0x1000, S_IFSOCK|0777)"
        );
        assert_eq!(args("umask", &[0]), "umask(000)");
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
            args("ioctl", &[3, 0xc0186201, 0]),
            "ioctl(3, _IOC(_IOC_READ|_IOC_WRITE, 0x62, 0x1, 0x18), 0)"
        );
        assert_eq!(
            args("ioctl", &[neg(-1), 0, 0]),
            "ioctl(-1, _IOC(_IOC_NONE, 0, 0, 0), 0)"
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
    fn sockets() {
        assert_eq!(
            args("socket", &[2, 1, 0]),
            "socket(AF_INET, SOCK_STREAM, IPPROTO_IP)"
        );
        assert_eq!(
            args("socket", &[10, 0x80802, 17]),
            "socket(AF_INET6, SOCK_DGRAM|SOCK_CLOEXEC|SOCK_NONBLOCK, IPPROTO_UDP)"
        );
        assert_eq!(
            args("socket", &[1, 1, 0]),
            "socket(AF_UNIX, SOCK_STREAM, 0)"
        );
        assert_eq!(
            args("socket", &[16, 3, 0]),
            "socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)"
        );
        assert_eq!(
            args("socket", &[99, 0, 0]),
            "socket(0x63 /* AF_??? */, 0, 0)"
        );
        assert_eq!(
            args("accept4", &[3, 0, 0, 0x80800]),
            "accept4(3, NULL, NULL, SOCK_CLOEXEC|SOCK_NONBLOCK)"
        );
        assert_eq!(args("connect", &[3, P, 16]), "connect(3, 0x1000, 16)");
    }

    #[test]
    fn descriptor_flags() {
        assert_eq!(args("pipe2", &[P, 0]), "pipe2(0x1000, 0)");
        assert_eq!(
            args("pipe2", &[P, 0x80800]),
            "pipe2(0x1000, O_NONBLOCK|O_CLOEXEC)"
        );
        assert_eq!(
            args("pipe2", &[P, 0o20000000]),
            "pipe2(0x1000, __O_TMPFILE)"
        );
        assert_eq!(args("dup3", &[3, 4, 0x80000]), "dup3(3, 4, O_CLOEXEC)");
    }

    #[test]
    fn futex_arguments_follow_the_operation() {
        let futex = |op, val3| args("futex", &[P, op, 1, 0, 0x2000, val3]);
        let any = 0xffff_ffff;
        assert_eq!(
            futex(128, any),
            "futex(0x1000, FUTEX_WAIT_PRIVATE, 1, NULL)"
        );
        assert_eq!(futex(129, any), "futex(0x1000, FUTEX_WAKE_PRIVATE, 1)");
        assert_eq!(futex(3, any), "futex(0x1000, FUTEX_REQUEUE, 1, 0, 0x2000)");
        assert_eq!(
            futex(4, any),
            "futex(0x1000, FUTEX_CMP_REQUEUE, 1, 0, 0x2000, 4294967295)"
        );
        assert_eq!(
            futex(5, any),
            "futex(0x1000, FUTEX_WAKE_OP, 1, 0, 0x2000, FUTEX_OP_OPARG_SHIFT<<28|0x7<<28 /* FUTEX_OP_??? */\
             |0xfff<<12|0xf<<24 /* FUTEX_OP_CMP_??? */|0xfff)"
        );
        assert_eq!(
            futex(5, 0x1000_0001 | 1 << 24 | 2 << 12),
            "futex(0x1000, FUTEX_WAKE_OP, 1, 0, 0x2000, FUTEX_OP_ADD<<28|0x2<<12|FUTEX_OP_CMP_NE<<24|0x1)"
        );
        assert_eq!(futex(6, any), "futex(0x1000, FUTEX_LOCK_PI, NULL)");
        assert_eq!(futex(7, any), "futex(0x1000, FUTEX_UNLOCK_PI)");
        assert_eq!(
            futex(128 | 9 | 256, any),
            "futex(0x1000, FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME, 1, NULL, FUTEX_BITSET_MATCH_ANY)"
        );
        assert_eq!(
            futex(128 | 9, 5),
            "futex(0x1000, FUTEX_WAIT_BITSET_PRIVATE, 1, NULL, 0x5)"
        );
        assert_eq!(
            futex(128 | 10, 0),
            "futex(0x1000, FUTEX_WAKE_BITSET_PRIVATE, 1, 0)"
        );
        assert_eq!(
            futex(11, any),
            "futex(0x1000, FUTEX_WAIT_REQUEUE_PI, 1, NULL, 0x2000)"
        );
        assert_eq!(
            futex(130, any),
            "futex(0x1000, FUTEX_FD|FUTEX_PRIVATE_FLAG, 1)"
        );
        assert_eq!(
            futex(14, any),
            "futex(0x1000, 0xe /* FUTEX_??? */, 1, NULL, 0x2000, 0xffffffff)"
        );
        assert_eq!(
            futex(0x200, any),
            "futex(0x1000, 0x200 /* FUTEX_??? */, 1, NULL)"
        );
        assert_eq!(futex(0x181, any), "futex(0x1000, 0x181 /* FUTEX_??? */, 1)");
    }

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

    fn quoted(bytes: &[u8], truncated: bool) -> String {
        let mut out = Vec::new();
        write_quoted(&mut out, bytes, truncated);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn quoting_follows_strace() {
        assert_eq!(quoted(b"/etc/hosts", false), r#""/etc/hosts""#);
        assert_eq!(quoted(b"a\"b\\c", false), r#""a\"b\\c""#);
        assert_eq!(quoted(b"\t\n\r\x0b\x0c", false), r#""\t\n\r\v\f""#);
        // Shortest octal, three digits when a digit follows.
        assert_eq!(quoted(b"\x7fELF\x02\x01\x00", false), r#""\177ELF\2\1\0""#);
        assert_eq!(quoted(b"\x001", false), r#""\0001""#);
        assert_eq!(quoted(b"\x08x\xff", false), r#""\10x\377""#);
        assert_eq!(quoted(b"abc", true), r#""abc"..."#);
        assert_eq!(quoted(b"", false), r#""""#);
    }

    #[test]
    fn every_known_syscall_renders_extreme_values() {
        // No panic, and valid UTF-8, for any input.
        for nr in 0..super::super::NR_END + 10 {
            for fill in [0, u64::MAX, 0x8000_0000_0000_0000, 0xffff_ffff] {
                for ret in [
                    None,
                    Some(0),
                    Some(-1),
                    Some(-4095),
                    Some(i64::MIN),
                    Some(i64::MAX),
                ] {
                    let line = render(nr, &[fill; MAX_ARGS], ret);
                    assert!(line.contains(" = "), "{line}");
                }
            }
        }
    }

    #[test]
    fn no_reallocation_for_a_warm_buffer() {
        let ev = SyscallEvent {
            tgid: 1,
            tid: 1,
            nr: 0,
            args: [3, P, 10, 0, 0, 0],
            enter_ns: 0,
            exit_ns: Some(1),
            ret: Some(10),
            strings: None,
            data: None,
            request: None,
        };
        let mut out = Vec::with_capacity(256);
        let before = out.as_ptr();
        for _ in 0..1000 {
            out.clear();
            write_call(&mut out, &ev);
        }
        assert_eq!(out.as_ptr(), before);
        assert_eq!(out, b"read(3, 0x1000, 10) = 10");
    }
}
