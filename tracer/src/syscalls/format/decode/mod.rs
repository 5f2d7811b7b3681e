//! Decoders of the syscall families whose arguments need more than one
//! rendering per argument kind, one file per family as in strace's
//! sources (`clone.c`, `futex.c`, `fcntl.c`, `ioctl.c`, `net.c`, ...).
//!
//! A decoder gets raw argument values (and, for structures, the bytes the
//! sources captured behind a pointer) and appends strace's rendering to
//! the output buffer; the names it prints come from the family's table in
//! `crate::syscalls::xlat`. A decoder for a new structure goes in its
//! family's file, or a new one: `struct stat` in `stat.rs`,
//! `struct sigaction` and sigsets in `signal.rs`, socket addresses in
//! `socket.rs`, `pollfd` arrays in `poll.rs`; its tests, against strace's
//! output, beside it.

pub mod clone;
pub mod fcntl;
pub mod file;
pub mod futex;
pub mod ioctl;
pub mod mm;
pub mod signal;
pub mod socket;
