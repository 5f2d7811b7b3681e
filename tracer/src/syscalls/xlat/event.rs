//! Flags and operations of the descriptors that deliver events: epoll,
//! eventfd, and `poll`'s events.

use super::Xlat;

pub const EPOLL_OPS: Xlat = &[
    (1, "EPOLL_CTL_ADD"),
    (2, "EPOLL_CTL_DEL"),
    (3, "EPOLL_CTL_MOD"),
];

pub const EPOLL_FLAGS: Xlat = &[(0o2000000, "EPOLL_CLOEXEC")];

pub const EFD_FLAGS: Xlat = &[
    (1, "EFD_SEMAPHORE"),
    (0o2000000, "EFD_CLOEXEC"),
    (0o4000, "EFD_NONBLOCK"),
];

/// `poll` events, in strace's order (`xlat/pollflags.in`).
pub const POLL_FLAGS: Xlat = &[
    (0x1, "POLLIN"),
    (0x2, "POLLPRI"),
    (0x4, "POLLOUT"),
    (0x8, "POLLERR"),
    (0x10, "POLLHUP"),
    (0x20, "POLLNVAL"),
    (0x40, "POLLRDNORM"),
    (0x80, "POLLRDBAND"),
    (0x100, "POLLWRNORM"),
    (0x200, "POLLWRBAND"),
    (0x400, "POLLMSG"),
    (0x1000, "POLLREMOVE"),
    (0x2000, "POLLRDHUP"),
    (0x8000, "POLL_BUSY_LOOP"),
];
