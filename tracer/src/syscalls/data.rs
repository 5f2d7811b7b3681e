//! Which syscalls move data through a user buffer, which way, and where the
//! buffer is: the one table of it.
//!
//! Three consumers need this fact and must agree on it: the capture spec
//! both sources follow (`CAPTURE` in the kernel, the ptrace reader; see
//! [`super::capture_spec`]), request attribution (`crate::request`, which
//! searches what was read and written), and the daemon (which tells what a
//! process wrote). Each derives its view from [`mode`], so a call added
//! here is captured, searched and counted alike.

use tracer_common::capture;

use super::nr;

/// Which way bytes went, as seen by the traced process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dir {
    /// Read or received.
    In,
    /// Written or sent.
    Out,
}

/// How syscall `nr` moves data: a `tracer_common::capture` mode, which
/// says where the buffer is and whether its bytes are valid at entry
/// (written) or exit (read); `capture::NONE` for calls that move none.
///
/// `sendmmsg`/`recvmmsg` move data too, through an array of message
/// headers that neither source gathers yet: they are not here, so that
/// nothing claims to have seen bytes that were never captured.
pub const fn mode(nr: u32) -> u8 {
    match nr {
        nr::WRITE | nr::PWRITE64 | nr::SENDTO => capture::BUF_IN,
        nr::READ | nr::PREAD64 | nr::RECVFROM => capture::BUF_OUT,
        nr::WRITEV | nr::PWRITEV | nr::PWRITEV2 => capture::IOV_IN,
        nr::READV | nr::PREADV | nr::PREADV2 => capture::IOV_OUT,
        nr::SENDMSG => capture::MSG_IN,
        nr::RECVMSG => capture::MSG_OUT,
        _ => capture::NONE,
    }
}

/// Which way syscall `nr` moves data; `None` for calls that move none.
pub const fn direction(nr: u32) -> Option<Dir> {
    match mode(nr) {
        capture::BUF_IN | capture::IOV_IN | capture::MSG_IN => Some(Dir::Out),
        capture::BUF_OUT | capture::IOV_OUT | capture::MSG_OUT => Some(Dir::In),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscalls::{by_name, iter};

    fn dir(name: &str) -> Option<Dir> {
        direction(by_name(name).unwrap())
    }

    #[test]
    fn directions() {
        for name in [
            "write", "pwrite64", "writev", "pwritev", "pwritev2", "sendto", "sendmsg",
        ] {
            assert_eq!(dir(name), Some(Dir::Out), "{name}");
        }
        for name in [
            "read", "pread64", "readv", "preadv", "preadv2", "recvfrom", "recvmsg",
        ] {
            assert_eq!(dir(name), Some(Dir::In), "{name}");
        }
        for name in [
            "openat", "close", "sendmmsg", "recvmmsg", "splice", "getppid",
        ] {
            assert_eq!(dir(name), None, "{name}");
        }
    }

    #[test]
    fn every_mode_has_a_direction_and_fits_the_kernel_array() {
        let moving: Vec<_> = iter()
            .filter(|&(nr, _)| mode(nr) != capture::NONE)
            .collect();
        assert_eq!(moving.len(), 14);
        for (nr, sc) in moving {
            assert!(direction(nr).is_some(), "{}", sc.name);
            assert!(nr < capture::SYSCALLS, "{}", sc.name);
        }
        assert_eq!(mode(u32::MAX), capture::NONE);
    }
}
