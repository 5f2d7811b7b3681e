//! Decoders of the syscall families whose arguments need more than one
//! rendering per argument kind, one file per family as in strace's
//! sources (`clone.c`, `futex.c`, `fcntl.c`, `ioctl.c`, `net.c`, ...).
//!
//! A decoder gets raw argument values (and, for structures, the bytes the
//! sources captured behind a pointer) and appends strace's rendering to
//! the output buffer; the names it prints come from the family's table in
//! `crate::syscalls::xlat`. A decoder for a new structure goes in its
//! family's file, or a new one (`struct stat` in `stat.rs`, `struct
//! sigaction` and sigsets in `signal.rs`, socket addresses in `socket.rs`,
//! `pollfd` arrays in `poll.rs`), with its tests against strace's output
//! beside it; which structure an argument holds, and what the sources
//! capture of it, is a row of `crate::syscalls::structs`, and
//! [`write_struct`] maps its shape to the decoder.

use super::print;

pub mod clone;
pub mod fcntl;
pub mod file;
pub mod futex;
pub mod ioctl;
pub mod mm;
pub mod poll;
pub mod process;
pub mod siginfo;
pub mod signal;
pub mod socket;
pub mod sockopt;
pub mod stat;
pub mod statfs;
pub mod sysinfo;
pub mod term;
pub mod time;

use tracer_common::MAX_ARGS;

use crate::syscalls::structs::Shape;

/// The structure `bytes` captured behind pointer `raw`, argument `arg` of
/// syscall `nr` called with `args`, shown by the decoder of its `shape`
/// (`crate::syscalls::structs`).
pub fn write_struct(
    out: &mut Vec<u8>,
    nr: u32,
    arg: usize,
    shape: Shape,
    raw: u64,
    bytes: &[u8],
    args: &[u64; MAX_ARGS],
) {
    match shape {
        Shape::Stat => stat::write_stat(out, raw, bytes),
        Shape::Statx => stat::write_statx(out, raw, bytes),
        Shape::Sigaction => signal::write_sigaction(out, raw, bytes),
        Shape::Sigset => signal::write_sigset(out, bytes),
        Shape::Dirents => file::write_dirents(out, raw, bytes),
        Shape::Rlimit => process::write_rlimit(out, raw, bytes),
        Shape::Sockaddr => socket::write_sockaddr(out, raw, bytes),
        Shape::Socklen => socket::write_socklen(out, raw, bytes),
        Shape::Argv => process::write_argv(out, bytes),
        Shape::Envp => process::write_envp(out, raw, bytes),
        Shape::IntPair => file::write_int_pair(out, raw, bytes),
        Shape::WaitStatus => process::write_wait_status(out, raw, bytes),
        Shape::Utsname => process::write_utsname(out, raw, bytes),
        Shape::Cwd => file::write_cwd(out, bytes),
        Shape::Str => file::write_str(out, bytes),
        Shape::Pollfds => poll::write_pollfds(out, nr, args, bytes),
        Shape::FdSet => poll::write_fd_set(out, nr, arg, args, bytes),
        Shape::Timespec => time::write_timespec(out, raw, bytes),
        Shape::Statfs => statfs::write_statfs(out, raw, bytes),
        Shape::Sysinfo => sysinfo::write_sysinfo(out, raw, bytes),
        // Read by the layouts of their calls, with the other arguments.
        Shape::Sockopt | Shape::IoctlArg => print::push_ptr(out, raw),
        Shape::FrameMask => signal::write_frame_mask(out, bytes),
    }
}

/// The native-endian `u16` at byte `at` of a captured structure.
fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

/// The native-endian `u32` at byte `at`.
fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// The native-endian `u64` at byte `at`.
fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_ne_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}
