//! Which structures behind pointer arguments are captured, when, how big,
//! and how they are shown: the one table of it (as [`super::data`] is for
//! data buffers).
//!
//! Both sources follow it through [`super::capture_spec`] (the kernel's
//! `CAPTURE` array, the ptrace reader), the bytes reach the renderer as the
//! argument's captured bytes (beside the path strings), and the renderer
//! picks the decoder by [`shape`]: a structure added here is captured by
//! both modes and shown alike. Only calls listed here pay, and only when
//! a sink shows them (`CaptureSpec::structs` is left empty otherwise).

use tracer_common::{MAX_ARGS, StructSpec, structs};

use super::nr;

/// When the bytes are valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// At entry: what the call reads (`connect`'s address).
    Enter,
    /// At exit, when the call succeeded: what it wrote (`stat`'s buffer).
    Success,
    /// Both: what the call read at entry, then (when it succeeded) what it
    /// wrote back, the exit bytes following the entry bytes (`poll`'s
    /// `pollfd`s, then their `revents`; a timeout, then the time left).
    InOut,
}

/// How many bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    Fixed(u16),
    /// As many as argument `.0` says, at most `.1`.
    Arg(u8, u16),
    /// As many elements of `1 << .1` bytes as argument `.0` says, at most
    /// `.2` bytes.
    Elems(u8, u8, u16),
    /// As many as the call returned, at most `.0`.
    Ret(u16),
    /// As many as the `int` argument `.0` points to, at most `.1`.
    Deref(u8, u16),
    /// The count of `linux_dirent64` records in the returned bytes (at
    /// most `.0`), as a `u32`.
    DirentCount(u16),
    /// A NULL-terminated array of strings, at most `.0` of them.
    StrArray(u16),
    /// The count of a NULL-terminated array of pointers, at most `.0`.
    PtrCount(u16),
}

/// What the bytes are, which picks their decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// `struct stat`.
    Stat,
    /// `struct statx`.
    Statx,
    /// The kernel's `struct sigaction`.
    Sigaction,
    /// A signal set.
    Sigset,
    /// The `u32` count of directory entries.
    Dirents,
    /// `struct rlimit64`.
    Rlimit,
    /// A `struct sockaddr` of the length given by the next argument, or
    /// the `int` it points to.
    Sockaddr,
    /// A `socklen_t` in-out argument: its value at entry, then at exit.
    Socklen,
    /// `argv`'s strings.
    Argv,
    /// The `u32` count of `envp`'s entries.
    Envp,
    /// Two `int`s: `pipe2`'s descriptors.
    IntPair,
    /// A wait status (`int`).
    WaitStatus,
    /// `struct utsname`.
    Utsname,
    /// A path written by the call, its NUL counted (`getcwd`).
    Cwd,
    /// A string written by the call, shown as strace's `-s 32` does
    /// (`readlink`).
    Str,
    /// An array of `struct pollfd`, as many as the next argument says.
    Pollfds,
    /// A `struct timespec`.
    Timespec,
    /// An `fd_set` of as many bits as the first argument says.
    FdSet,
    /// A socket option's value (`setsockopt`, `getsockopt`: their layout
    /// reads it with the level, name and length).
    Sockopt,
    /// `struct statfs`.
    Statfs,
    /// `struct sysinfo`.
    Sysinfo,
    /// What an `ioctl`'s third argument points to, read at entry and exit
    /// as far as the largest structure decoded (`struct termios`); the
    /// request says what it is (`ioctl`'s layout).
    IoctlArg,
    /// The signal mask a signal frame restores (`rt_sigreturn`'s
    /// `{mask=[...]}`).
    FrameMask,
}

/// One row: syscall `nr`'s argument `arg` points to a `shape`.
#[derive(Clone, Copy, Debug)]
pub struct Capture {
    pub nr: u32,
    pub arg: u8,
    pub when: When,
    pub size: Size,
    pub shape: Shape,
    /// Not behind the argument but at the stack pointer at entry plus
    /// this offset (`arg` is then where it is shown).
    pub stack: Option<u16>,
}

const fn row(nr: u32, arg: u8, when: When, size: Size, shape: Shape) -> Capture {
    Capture {
        nr,
        arg,
        when,
        size,
        shape,
        stack: None,
    }
}

/// A row for what lies at `offset` from the stack pointer at entry, shown
/// as the call's first argument.
const fn stack_row(nr: u32, offset: u16, size: Size, shape: Shape) -> Capture {
    Capture {
        stack: Some(offset),
        ..row(nr, 0, Enter, size, shape)
    }
}

/// x86_64 sizes.
const STAT: u16 = 144;
const STATX: u16 = 256;
const SIGACTION: u16 = 32;
const RLIMIT: u16 = 16;
const SOCKADDR: u16 = 128;
const SIGSET: u16 = 128;
const UTSNAME: u16 = 390;
const TIMESPEC: u16 = 16;
const STATFS: u16 = 120;
const SYSINFO: u16 = 112;
/// The kernel's `struct termios`, the largest `ioctl` argument decoded.
const TERMIOS: u16 = 36;
/// `pollfd`s: 8 bytes each (shift 3), at most 128 of them.
const POLLFDS: Size = Size::Elems(1, 3, 1024);
/// An `fd_set` of `nfds` bits is at most `nfds` bytes (`FD_SETSIZE` bits).
const FD_SET: Size = Size::Arg(0, 128);
/// Option values: strace shows at most 32 bytes of those it quotes.
const SOCKOPT: u16 = 32;
/// `rt_sigreturn` is entered with the stack pointer at the `struct
/// ucontext` of the frame the kernel built for the handler (the handler's
/// `ret` popped the return address before it), whose `uc_sigmask` follows
/// `uc_flags`, `uc_link`, `uc_stack` (24 bytes) and `uc_mcontext` (256):
/// strace reads it there too.
const UC_SIGMASK: u16 = 8 + 8 + 24 + 256;
/// The kernel's `sigset_t` in a frame.
const FRAME_SIGSET: u16 = 8;

use Shape::*;
use Size::*;
use When::*;

/// The table. A call may have several rows, at most
/// `tracer_common::structs::MAX` (checked by the tests).
pub const CAPTURES: &[Capture] = &[
    row(nr::STAT, 1, Success, Fixed(STAT), Stat),
    row(nr::LSTAT, 1, Success, Fixed(STAT), Stat),
    row(nr::FSTAT, 1, Success, Fixed(STAT), Stat),
    row(nr::NEWFSTATAT, 2, Success, Fixed(STAT), Stat),
    row(nr::STATX, 4, Success, Fixed(STATX), Statx),
    row(nr::RT_SIGACTION, 1, Enter, Fixed(SIGACTION), Sigaction),
    row(nr::RT_SIGACTION, 2, Success, Fixed(SIGACTION), Sigaction),
    row(nr::RT_SIGPROCMASK, 1, Enter, Arg(3, SIGSET), Sigset),
    row(nr::RT_SIGPROCMASK, 2, Success, Arg(3, SIGSET), Sigset),
    row(nr::GETDENTS64, 1, Success, DirentCount(4096), Dirents),
    row(nr::PRLIMIT64, 2, Enter, Fixed(RLIMIT), Rlimit),
    row(nr::PRLIMIT64, 3, Success, Fixed(RLIMIT), Rlimit),
    row(nr::CONNECT, 1, Enter, Arg(2, SOCKADDR), Sockaddr),
    row(nr::BIND, 1, Enter, Arg(2, SOCKADDR), Sockaddr),
    row(nr::SENDTO, 4, Enter, Arg(5, SOCKADDR), Sockaddr),
    row(nr::ACCEPT, 1, Success, Deref(2, SOCKADDR), Sockaddr),
    row(nr::ACCEPT, 2, Enter, Fixed(4), Socklen),
    row(nr::ACCEPT, 2, Success, Fixed(4), Socklen),
    row(nr::ACCEPT4, 1, Success, Deref(2, SOCKADDR), Sockaddr),
    row(nr::ACCEPT4, 2, Enter, Fixed(4), Socklen),
    row(nr::ACCEPT4, 2, Success, Fixed(4), Socklen),
    row(nr::GETSOCKNAME, 1, Success, Deref(2, SOCKADDR), Sockaddr),
    row(nr::GETSOCKNAME, 2, Enter, Fixed(4), Socklen),
    row(nr::GETSOCKNAME, 2, Success, Fixed(4), Socklen),
    row(nr::GETPEERNAME, 1, Success, Deref(2, SOCKADDR), Sockaddr),
    row(nr::GETPEERNAME, 2, Enter, Fixed(4), Socklen),
    row(nr::GETPEERNAME, 2, Success, Fixed(4), Socklen),
    row(nr::EXECVE, 1, Enter, StrArray(33), Argv),
    row(nr::EXECVE, 2, Enter, PtrCount(4096), Envp),
    row(nr::PIPE, 0, Success, Fixed(8), IntPair),
    row(nr::PIPE2, 0, Success, Fixed(8), IntPair),
    row(nr::WAIT4, 1, Success, Fixed(4), WaitStatus),
    row(nr::UNAME, 0, Success, Fixed(UTSNAME), Utsname),
    row(nr::GETCWD, 0, Success, Ret(4096), Cwd),
    row(nr::READLINK, 1, Success, Ret(4096), Str),
    row(nr::READLINKAT, 2, Success, Ret(4096), Str),
    row(nr::POLL, 0, InOut, POLLFDS, Pollfds),
    row(nr::PPOLL, 0, InOut, POLLFDS, Pollfds),
    row(nr::PPOLL, 2, InOut, Fixed(TIMESPEC), Timespec),
    row(nr::PPOLL, 3, Enter, Arg(4, SIGSET), Sigset),
    row(nr::PSELECT6, 1, InOut, FD_SET, FdSet),
    row(nr::PSELECT6, 2, InOut, FD_SET, FdSet),
    row(nr::PSELECT6, 4, InOut, Fixed(TIMESPEC), Timespec),
    row(nr::NANOSLEEP, 0, Enter, Fixed(TIMESPEC), Timespec),
    row(nr::CLOCK_NANOSLEEP, 2, Enter, Fixed(TIMESPEC), Timespec),
    row(nr::CLOCK_GETTIME, 1, Success, Fixed(TIMESPEC), Timespec),
    row(nr::CLOCK_GETRES, 1, Success, Fixed(TIMESPEC), Timespec),
    row(nr::SETSOCKOPT, 3, Enter, Arg(4, SOCKOPT), Sockopt),
    row(nr::GETSOCKOPT, 3, Success, Deref(4, SOCKOPT), Sockopt),
    row(nr::GETSOCKOPT, 4, InOut, Fixed(4), Socklen),
    row(nr::STATFS, 1, Success, Fixed(STATFS), Statfs),
    row(nr::FSTATFS, 1, Success, Fixed(STATFS), Statfs),
    row(nr::SYSINFO, 0, Success, Fixed(SYSINFO), Sysinfo),
    row(nr::IOCTL, 2, InOut, Fixed(TERMIOS), IoctlArg),
    // Signal frames: kept apart from the rows above.
    stack_row(nr::RT_SIGRETURN, UC_SIGMASK, Fixed(FRAME_SIGSET), FrameMask),
];

/// What argument `arg` of syscall `nr` points to, when the table has it.
pub fn shape(nr: u32, arg: usize) -> Option<Shape> {
    CAPTURES
        .iter()
        .find(|c| c.nr == nr && usize::from(c.arg) == arg)
        .map(|c| c.shape)
}

/// How many bytes the entry capture of argument `arg` of syscall `nr`
/// called with `args` takes: where an `InOut` capture's exit bytes start.
pub fn entry_len(nr: u32, arg: usize, args: &[u64; MAX_ARGS]) -> usize {
    CAPTURES
        .iter()
        .find(|c| c.nr == nr && usize::from(c.arg) == arg)
        .and_then(|c| plain_len(&spec(c), args, None, None))
        .map_or(0, |n| n as usize)
}

/// The rows of syscall `nr` as the sources follow them.
pub fn specs(nr: u32) -> [StructSpec; structs::MAX] {
    let mut specs = [StructSpec::default(); structs::MAX];
    for (slot, c) in specs.iter_mut().zip(CAPTURES.iter().filter(|c| c.nr == nr)) {
        *slot = spec(c);
    }
    specs
}

fn spec(c: &Capture) -> StructSpec {
    let flags = match c.when {
        Enter => structs::ENTER,
        Success => structs::EXIT | structs::SUCCESS,
        InOut => structs::ENTER | structs::EXIT | structs::SUCCESS,
    } | if c.stack.is_some() { structs::STACK } else { 0 };
    let (size, size_arg, shift, bytes) = match c.size {
        Fixed(n) => (structs::SIZE_FIXED, 0, 0, n),
        Arg(j, max) => (structs::SIZE_ARG, j, 0, max),
        Elems(j, shift, max) => (structs::SIZE_ARG, j, shift, max),
        Ret(max) => (structs::SIZE_RET, 0, 0, max),
        Deref(j, max) => (structs::SIZE_DEREF, j, 0, max),
        DirentCount(max) => (structs::DIRENT_COUNT, 0, 0, max),
        StrArray(max) => (structs::STR_ARRAY, 0, 0, max),
        PtrCount(max) => (structs::PTR_COUNT, 0, 0, max),
    };
    StructSpec {
        arg: c.arg,
        flags,
        size,
        size_arg,
        bytes,
        shift,
        _pad: 0,
        offset: c.stack.unwrap_or(0),
    }
}

/// How many bytes a capture of `spec` takes, from the call's arguments and
/// (at exit) its return value, as both sources compute it; `None` when
/// nothing is to be taken (failed call, empty size). For the kinds that
/// are not plain bytes (counts, string arrays) this is their limit.
pub fn plain_len(
    spec: &StructSpec,
    args: &[u64; MAX_ARGS],
    ret: Option<i64>,
    deref: Option<u32>,
) -> Option<u32> {
    let cap = u32::from(spec.bytes).min(structs::MAX_BYTES);
    let len = match spec.size {
        structs::SIZE_FIXED => cap,
        structs::SIZE_ARG => args.get(usize::from(spec.size_arg)).map_or(0, |&n| {
            let n = if n > u64::from(u32::MAX) {
                u64::from(cap)
            } else {
                n << (spec.shift & 7)
            };
            n.min(u64::from(cap)) as u32
        }),
        structs::SIZE_RET => ret.map_or(0, |r| r.clamp(0, i64::from(cap)) as u32),
        structs::SIZE_DEREF => deref.map_or(0, |n| n.min(cap)),
        _ => return None,
    };
    (len > 0).then_some(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscalls::{ArgKind, by_name, get};

    #[test]
    fn every_row_points_at_a_pointer_and_fits_the_spec() {
        for c in CAPTURES {
            let sc = get(c.nr).unwrap();
            if c.stack.is_some() {
                // Shown as the first argument of a call that has none.
                assert!(sc.args.is_empty() && c.arg == 0 && c.when == Enter);
                continue;
            }
            // `ioctl`'s argument is a pointer only for some requests: its
            // own layout decides, and shows the others in hex.
            let kind = sc.args[usize::from(c.arg)];
            assert!(
                kind == ArgKind::Ptr || (c.nr == nr::IOCTL && kind == ArgKind::Hex),
                "{} arg {}",
                sc.name,
                c.arg
            );
            let rows = CAPTURES.iter().filter(|o| o.nr == c.nr).count();
            assert!(rows <= structs::MAX, "{}", sc.name);
            assert!(c.nr < tracer_common::capture::SYSCALLS);
        }
    }

    #[test]
    fn specs_follow_the_rows() {
        let nr = by_name("rt_sigaction").unwrap();
        let [new, old, none] = specs(nr);
        assert_eq!(
            (new.arg, new.flags, new.size, new.bytes),
            (1, structs::ENTER, structs::SIZE_FIXED, 32)
        );
        assert_eq!(
            (old.arg, old.flags, old.size),
            (2, structs::EXIT | structs::SUCCESS, structs::SIZE_FIXED)
        );
        assert_eq!(none, StructSpec::default());
        assert_eq!(shape(nr, 1), Some(Shape::Sigaction));
        assert_eq!(shape(nr, 3), None);
        assert_eq!(
            specs(by_name("getppid").unwrap()),
            [StructSpec::default(); structs::MAX]
        );
        let [addr, ..] = specs(by_name("connect").unwrap());
        let args = [3, 0x1000, 110, 0, 0, 0];
        assert_eq!(plain_len(&addr, &args, None, None), Some(110));
        let args = [3, 0x1000, 100_000, 0, 0, 0];
        assert_eq!(plain_len(&addr, &args, None, None), Some(128));
        // poll's array: nfds elements of 8 bytes, at most 1024 bytes;
        // where its exit half starts.
        let [fds, ..] = specs(by_name("poll").unwrap());
        assert_eq!(fds.flags, structs::ENTER | structs::EXIT | structs::SUCCESS);
        let args = [0x1000, 3, 0, 0, 0, 0];
        assert_eq!(plain_len(&fds, &args, None, None), Some(24));
        assert_eq!(entry_len(nr::POLL, 0, &args), 24);
        let args = [0x1000, 1 << 40, 0, 0, 0, 0];
        assert_eq!(plain_len(&fds, &args, None, None), Some(1024));
        let args = [0x1000, 1000, 0, 0, 0, 0];
        assert_eq!(plain_len(&fds, &args, None, None), Some(1024));
        assert_eq!(entry_len(nr::GETPPID, 0, &args), 0);
        let [cwd, ..] = specs(by_name("getcwd").unwrap());
        assert_eq!(plain_len(&cwd, &args, Some(12), None), Some(12));
        assert_eq!(plain_len(&cwd, &args, Some(-2), None), None);
        let [frame, ..] = specs(by_name("rt_sigreturn").unwrap());
        assert_eq!(
            (frame.arg, frame.flags, frame.offset, frame.bytes),
            (0, structs::ENTER | structs::STACK, 296, 8)
        );
    }
}
