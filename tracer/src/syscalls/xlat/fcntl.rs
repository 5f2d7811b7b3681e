//! `fcntl` commands and the values their argument takes (`FD_CLOEXEC`,
//! leases, seals). The command numbers are also what request attribution
//! (`crate::request`) checks to see an fcntl that makes a new descriptor.

use super::Xlat;

pub const F_DUPFD: u32 = 0;
pub const F_GETFD: u32 = 1;
pub const F_SETFD: u32 = 2;
pub const F_GETFL: u32 = 3;
pub const F_SETFL: u32 = 4;
pub const F_GETLK: u32 = 5;
pub const F_SETLK: u32 = 6;
pub const F_SETLKW: u32 = 7;
pub const F_SETOWN: u32 = 8;
pub const F_GETOWN: u32 = 9;
pub const F_SETSIG: u32 = 10;
pub const F_GETSIG: u32 = 11;
pub const F_SETOWN_EX: u32 = 15;
pub const F_GETOWN_EX: u32 = 16;
pub const F_OFD_GETLK: u32 = 36;
pub const F_OFD_SETLK: u32 = 37;
pub const F_OFD_SETLKW: u32 = 38;
pub const F_SETLEASE: u32 = 1024;
pub const F_GETLEASE: u32 = 1025;
pub const F_DUPFD_CLOEXEC: u32 = 1030;
pub const F_SETPIPE_SZ: u32 = 1031;
pub const F_GETPIPE_SZ: u32 = 1032;
pub const F_ADD_SEALS: u32 = 1033;
pub const F_GET_SEALS: u32 = 1034;

pub const FCNTL_CMDS: Xlat = &[
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

pub const FD_FLAGS: Xlat = &[(1, "FD_CLOEXEC")];
pub const LEASES: Xlat = &[(0, "F_RDLCK"), (1, "F_WRLCK"), (2, "F_UNLCK")];

pub const SEALS: Xlat = &[
    (0x1, "F_SEAL_SEAL"),
    (0x2, "F_SEAL_SHRINK"),
    (0x4, "F_SEAL_GROW"),
    (0x8, "F_SEAL_WRITE"),
    (0x10, "F_SEAL_FUTURE_WRITE"),
    (0x20, "F_SEAL_EXEC"),
];
