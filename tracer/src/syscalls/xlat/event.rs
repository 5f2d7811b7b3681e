//! Flags and operations of the descriptors that deliver events: epoll,
//! eventfd.

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
