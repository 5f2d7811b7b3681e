//! What tracer knows about each x86_64 system call: its name, how to render
//! its arguments and return value, and which strace classes (`%file`,
//! `%network`, …) it belongs to.
//!
//! The facts live in a generated table (`table.rs`, written by
//! `cargo xtask gen-syscalls` from the kernel headers and tracefs) so that
//! they cannot drift from the kernel by hand-editing; this module gives the
//! table its types and lookups, and [`nr`] the numbers tracer singles out.
//! Rendering is in [`format`](mod@format) (with its decoders per family
//! of calls), the names of flag and enumeration values in [`xlat`], the
//! `-e trace=` language in [`filter`], errno names in [`errno`], which
//! calls move data and which way in [`data`].

pub mod data;
pub mod errno;
pub mod filter;
pub mod format;
pub mod structs;
pub mod xlat;
// Generated: formatted by its generator, one entry per line.
#[rustfmt::skip]
mod table;

use std::borrow::Cow;

use tracer_common::CaptureSpec;

/// How one argument is rendered. Derived by the generator from the C type
/// and parameter name in tracefs (see `xtask/src/gen_syscalls.rs` for the
/// rules); every kind renders any 64-bit value without failing. Kinds of C
/// `int`-sized parameters use only the low 32 bits, as the kernel does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    /// C `int` (and `pid_t`, `key_t`, …): signed, so that `-1` does not
    /// print as `4294967295`.
    Int,
    /// C `unsigned int`, `u32`.
    Uint,
    /// C `long`, `loff_t`: all 64 bits, signed.
    Long,
    /// C `unsigned long`, `size_t`: all 64 bits.
    Ulong,
    /// A 64-bit number in hex like strace's `%#lx`: `0` or `0x1f000`.
    Hex,
    /// A 32-bit number in hex (flags tracer does not decode).
    Hex32,
    /// A pointer: `NULL` or `0x7ffd…`.
    Ptr,
    /// An argument the call ignores on x86_64 (`preadv`'s `pos_h`): not
    /// shown, as in strace.
    Unused,
    /// A file descriptor.
    Fd,
    /// A directory file descriptor of `*at` calls: `-100` is `AT_FDCWD`.
    Dirfd,
    /// A NUL-terminated file name; `%file` is derived from this kind. Shown
    /// as a string when captured (see [`format::Captured`]), else a pointer.
    Path,
    /// Another NUL-terminated string (xattr name, host name, …); shown like
    /// [`ArgKind::Path`].
    Str,
    /// `uid_t`/`gid_t`: `-1` ("unchanged") for `0xffffffff`.
    Uid,
    /// `umode_t`: octal permissions, `0644`.
    Mode,
    /// `mknod`'s mode: `S_IFCHR|0620`.
    FileMode,
    /// `mknod`'s device, `makedev(0x1, 0x3)`; shown only for device nodes.
    Dev,
    /// The mode of `open`-like calls: like [`ArgKind::Mode`], but strace
    /// shows it (and what follows) only with `O_CREAT` or `O_TMPFILE`.
    OpenMode,
    /// `open` flags: `O_RDONLY|O_CLOEXEC`.
    OpenFlags,
    /// Descriptor flags of `pipe2`/`dup3`: `O_CLOEXEC|O_NONBLOCK` or `0`.
    FdFlags,
    /// `AT_*` flags of `*at` calls: `AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH`.
    AtFlags,
    /// `faccessat2`'s flags, where `0x200` means `AT_EACCESS`.
    AccessatFlags,
    /// `statx`'s flags: `AT_STATX_SYNC_AS_STAT|AT_EMPTY_PATH`.
    StatxFlags,
    /// `statx`'s mask: `STATX_BASIC_STATS`.
    StatxMask,
    /// `access` modes: `F_OK` or `R_OK|W_OK|X_OK`.
    AccessMode,
    /// A signal number: `SIGTERM`.
    Signal,
    /// `CLONE_*` flags (of `unshare`, `setns`; `clone` has its own layout).
    CloneFlags,
    /// `PROT_*`.
    MmapProt,
    /// `MAP_*`.
    MmapFlags,
    /// `MREMAP_*`; the address after it is shown only with `MREMAP_FIXED`.
    MremapFlags,
    /// `madvise` advice: `MADV_DONTNEED`.
    Madvise,
    /// `lseek` whence: `SEEK_SET`.
    Whence,
    /// `rt_sigprocmask` how: `SIG_BLOCK`.
    SigHow,
    /// `futex` operation: `FUTEX_WAIT_PRIVATE` (`futex` has its own layout).
    FutexOp,
    /// `fcntl` command: `F_SETFD` (`fcntl` has its own layout).
    FcntlCmd,
    /// An `ioctl` request: `TCGETS` or `_IOC(_IOC_READ, 0x62, 0x1, 0x18)`.
    IoctlReq,
    /// `arch_prctl` code: `ARCH_SET_FS`.
    ArchPrctl,
    /// A resource limit: `RLIMIT_NOFILE`.
    Rlimit,
    /// A clock: `CLOCK_MONOTONIC`.
    ClockId,
    /// `TIMER_ABSTIME`.
    TimerFlags,
    /// `wait4` options: `WNOHANG`.
    WaitOptions,
    /// Socket address family: `AF_INET`.
    SockFamily,
    /// Socket type and flags: `SOCK_STREAM|SOCK_CLOEXEC`.
    SockType,
    /// Socket protocol, named for the family in the first argument.
    SockProto,
    /// `SOCK_CLOEXEC|SOCK_NONBLOCK` (`accept4`).
    SockFlags,
    /// `epoll_ctl` operation: `EPOLL_CTL_ADD`.
    EpollOp,
    /// `EPOLL_CLOEXEC`.
    EpollFlags,
    /// `GRND_*`.
    GrndFlags,
    /// `posix_fadvise` advice: `POSIX_FADV_DONTNEED`.
    Fadvise,
    /// `EFD_*` (`eventfd2`).
    EfdFlags,
    /// `MFD_*` (`memfd_create`).
    MfdFlags,
    /// `umount2` flags: `MNT_DETACH`.
    UmountFlags,
}

/// How a successful return value is rendered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ret {
    /// Signed decimal (counts, file descriptors, pids).
    Dec,
    /// Hex: the call returns an address (`mmap`, `brk`, …).
    Hex,
    /// Octal: the call returns a mode (`umask`).
    Oct,
}

/// A strace syscall class: what `-e trace=%name` selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// `%desc`: takes or returns a file descriptor.
    Desc,
    /// `%file`: takes a file name.
    File,
    /// `%network`.
    Network,
    /// `%process`: process lifecycle.
    Process,
    /// `%memory`: memory mapping.
    Memory,
    /// `%signal`.
    Signal,
    /// `%ipc`: System V IPC.
    Ipc,
    /// `%creds`: user/group ids and capabilities.
    Creds,
    /// `%clock`: read or change clocks.
    Clock,
    /// `%stat`.
    Stat,
    /// `%lstat`.
    Lstat,
    /// `%fstat`.
    Fstat,
    /// `%%stat`: every stat variant.
    StatLike,
    /// `%statfs`.
    Statfs,
    /// `%fstatfs`.
    Fstatfs,
    /// `%%statfs`: every statfs variant.
    StatfsLike,
    /// `%pure`: no arguments, always succeeds (`getpid`).
    Pure,
}

impl Class {
    /// Every class, in a fixed order.
    pub const ALL: [Class; 17] = [
        Class::Desc,
        Class::File,
        Class::Network,
        Class::Process,
        Class::Memory,
        Class::Signal,
        Class::Ipc,
        Class::Creds,
        Class::Clock,
        Class::Stat,
        Class::Lstat,
        Class::Fstat,
        Class::StatLike,
        Class::Statfs,
        Class::Fstatfs,
        Class::StatfsLike,
        Class::Pure,
    ];

    /// This class's bit in [`Classes`].
    pub const fn bit(self) -> u32 {
        1 << self as u32
    }

    /// The name strace users write, with its `%`: `%file`, `%%stat`.
    pub const fn name(self) -> &'static str {
        match self {
            Class::Desc => "%desc",
            Class::File => "%file",
            Class::Network => "%network",
            Class::Process => "%process",
            Class::Memory => "%memory",
            Class::Signal => "%signal",
            Class::Ipc => "%ipc",
            Class::Creds => "%creds",
            Class::Clock => "%clock",
            Class::Stat => "%stat",
            Class::Lstat => "%lstat",
            Class::Fstat => "%fstat",
            Class::StatLike => "%%stat",
            Class::Statfs => "%statfs",
            Class::Fstatfs => "%fstatfs",
            Class::StatfsLike => "%%statfs",
            Class::Pure => "%pure",
        }
    }

    /// Parses a class name as strace does: `%name`, the alias `%net`, and
    /// the pre-4.17 spellings without `%` for the seven original classes.
    pub fn from_name(name: &str) -> Option<Class> {
        match name {
            "desc" => return Some(Class::Desc),
            "file" => return Some(Class::File),
            "network" => return Some(Class::Network),
            "process" => return Some(Class::Process),
            "memory" => return Some(Class::Memory),
            "signal" => return Some(Class::Signal),
            "ipc" => return Some(Class::Ipc),
            "%net" => return Some(Class::Network),
            _ => {}
        }
        Class::ALL.into_iter().find(|class| class.name() == name)
    }
}

/// A set of [`Class`]es.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Classes(u32);

impl Classes {
    pub const fn contains(self, class: Class) -> bool {
        self.0 & class.bit() != 0
    }
}

/// Class bits by short name, for the generated table.
mod class_bits {
    use super::Class;

    pub const DESC: u32 = Class::Desc.bit();
    pub const FILE: u32 = Class::File.bit();
    pub const NETWORK: u32 = Class::Network.bit();
    pub const PROCESS: u32 = Class::Process.bit();
    pub const MEMORY: u32 = Class::Memory.bit();
    pub const SIGNAL: u32 = Class::Signal.bit();
    pub const IPC: u32 = Class::Ipc.bit();
    pub const CREDS: u32 = Class::Creds.bit();
    pub const CLOCK: u32 = Class::Clock.bit();
    pub const STAT: u32 = Class::Stat.bit();
    pub const LSTAT: u32 = Class::Lstat.bit();
    pub const FSTAT: u32 = Class::Fstat.bit();
    pub const STAT_LIKE: u32 = Class::StatLike.bit();
    pub const STATFS: u32 = Class::Statfs.bit();
    pub const FSTATFS: u32 = Class::Fstatfs.bit();
    pub const STATFS_LIKE: u32 = Class::StatfsLike.bit();
    pub const PURE: u32 = Class::Pure.bit();
}

/// One system call of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Syscall {
    pub name: &'static str,
    /// One kind per argument the call takes (its arity).
    pub args: &'static [ArgKind],
    pub classes: Classes,
    pub ret: Ret,
}

/// The constructor the generated table uses, to keep its lines short.
const fn sys(name: &'static str, args: &'static [ArgKind], classes: u32, ret: Ret) -> Syscall {
    Syscall {
        name,
        args,
        classes: Classes(classes),
        ret,
    }
}

/// One past the highest syscall number tracer knows.
pub const NR_END: u32 = table::TABLE.len() as u32;

/// The syscall numbered `nr`, if tracer knows one.
#[inline]
pub fn get(nr: u32) -> Option<&'static Syscall> {
    table::TABLE.get(nr as usize)?.as_ref()
}

/// The name of syscall `nr` (`"openat"`).
pub fn name(nr: u32) -> Option<&'static str> {
    get(nr).map(|sc| sc.name)
}

/// The name to show for `nr`: its name, or strace's `syscall_0x1c8` for
/// numbers tracer does not know.
pub fn display_name(nr: u32) -> Cow<'static, str> {
    match name(nr) {
        Some(name) => Cow::Borrowed(name),
        None => Cow::Owned(format!("syscall_{nr:#x}")),
    }
}

/// The number of the syscall called `name`. A linear scan: this serves
/// command-line parsing, not the event path.
pub fn by_name(name: &str) -> Option<u32> {
    iter().find(|(_, sc)| sc.name == name).map(|(nr, _)| nr)
}

/// Whether syscall `nr`, when it succeeds, returns a new file descriptor
/// (for `fcntl`, only with `F_DUPFD`/`F_DUPFD_CLOEXEC`: see [`new_fd`]).
/// The one list `-y` and request attribution use to forget what they knew
/// of a reused fd number, and to keep these calls recorded under a narrow
/// `-e`. (pipe, socketpair: their fds are written to memory, not
/// returned.)
pub fn returns_fd(nr: u32) -> bool {
    matches!(
        nr,
        nr::OPEN
            | nr::OPENAT
            | nr::OPENAT2
            | nr::CREAT
            | nr::SOCKET
            | nr::ACCEPT
            | nr::ACCEPT4
            | nr::DUP
            | nr::DUP2
            | nr::DUP3
            | nr::FCNTL
            | nr::EVENTFD
            | nr::EVENTFD2
            | nr::EPOLL_CREATE
            | nr::EPOLL_CREATE1
            | nr::MEMFD_CREATE
            | nr::SIGNALFD
            | nr::SIGNALFD4
            | nr::TIMERFD_CREATE
            | nr::INOTIFY_INIT
            | nr::INOTIFY_INIT1
            | nr::FANOTIFY_INIT
            | nr::PIDFD_OPEN
            | nr::PIDFD_GETFD
            | nr::OPEN_BY_HANDLE_AT
            | nr::USERFAULTFD
            | nr::PERF_EVENT_OPEN
            | nr::BPF
            | nr::IO_URING_SETUP
    )
}

/// The new file descriptor a completed call of `nr` returned, if it
/// returns one ([`returns_fd`]) and succeeded. `fcntl` returns an fd only
/// for `F_DUPFD`/`F_DUPFD_CLOEXEC` (`F_GETFD` returns flags).
pub fn new_fd(nr: u32, args: &[u64; 6], ret: Option<i64>) -> Option<i32> {
    let ret = ret.filter(|&r| r >= 0 && returns_fd(nr))?;
    if nr == nr::FCNTL
        && !matches!(
            u32::try_from(args[1]),
            Ok(xlat::fcntl::F_DUPFD | xlat::fcntl::F_DUPFD_CLOEXEC)
        )
    {
        return None;
    }
    i32::try_from(ret).ok()
}

/// Every known syscall with its number, by increasing number.
pub fn iter() -> impl Iterator<Item = (u32, &'static Syscall)> {
    (0..NR_END).filter_map(|nr| Some((nr, get(nr)?)))
}

/// The number of the syscall called `name`, at compile time: a misspelt
/// name is a build error, not a wrong number.
const fn nr_of(name: &str) -> u32 {
    let mut nr = 0;
    while nr < table::TABLE.len() {
        if let Some(sc) = &table::TABLE[nr]
            && str_eq(sc.name, name)
        {
            return nr as u32;
        }
        nr += 1;
    }
    panic!("syscall missing from the table")
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Numbers of the syscalls tracer singles out: those
/// [`format`](mod@format) renders specially, and those request attribution
/// (`crate::request`), `-y` (`crate::fds`), the data table ([`data`]), the
/// exporters and the sources look at. The one way tracer names a syscall
/// number: each is looked up by name in the generated table at compile
/// time, so a misspelt name is a build error.
pub(crate) mod nr {
    use super::nr_of;

    pub const CLONE: u32 = nr_of("clone");
    pub const FUTEX: u32 = nr_of("futex");
    pub const FCNTL: u32 = nr_of("fcntl");

    pub const EXECVE: u32 = nr_of("execve");
    pub const EXECVEAT: u32 = nr_of("execveat");
    pub const GETPPID: u32 = nr_of("getppid");
    pub const SECCOMP: u32 = nr_of("seccomp");
    #[cfg(test)]
    pub const GETGID: u32 = nr_of("getgid");

    pub const READ: u32 = nr_of("read");
    pub const WRITE: u32 = nr_of("write");
    pub const OPEN: u32 = nr_of("open");
    pub const CLOSE: u32 = nr_of("close");
    pub const PREAD64: u32 = nr_of("pread64");
    pub const PWRITE64: u32 = nr_of("pwrite64");
    pub const READV: u32 = nr_of("readv");
    pub const WRITEV: u32 = nr_of("writev");
    pub const DUP: u32 = nr_of("dup");
    pub const DUP2: u32 = nr_of("dup2");
    pub const SOCKET: u32 = nr_of("socket");
    pub const ACCEPT: u32 = nr_of("accept");
    pub const SENDTO: u32 = nr_of("sendto");
    pub const RECVFROM: u32 = nr_of("recvfrom");
    pub const SENDMSG: u32 = nr_of("sendmsg");
    pub const RECVMSG: u32 = nr_of("recvmsg");
    pub const CREAT: u32 = nr_of("creat");
    pub const OPENAT: u32 = nr_of("openat");
    pub const ACCEPT4: u32 = nr_of("accept4");
    pub const DUP3: u32 = nr_of("dup3");
    pub const PREADV: u32 = nr_of("preadv");
    pub const PWRITEV: u32 = nr_of("pwritev");
    pub const PREADV2: u32 = nr_of("preadv2");
    pub const PWRITEV2: u32 = nr_of("pwritev2");
    pub const CLOSE_RANGE: u32 = nr_of("close_range");
    pub const OPENAT2: u32 = nr_of("openat2");

    // What changes a process's descriptors, for `-y` (`crate::fds`).
    pub const PIPE: u32 = nr_of("pipe");
    pub const PIPE2: u32 = nr_of("pipe2");
    pub const SOCKETPAIR: u32 = nr_of("socketpair");
    pub const CONNECT: u32 = nr_of("connect");
    pub const BIND: u32 = nr_of("bind");
    pub const LISTEN: u32 = nr_of("listen");
    pub const EVENTFD: u32 = nr_of("eventfd");
    pub const EVENTFD2: u32 = nr_of("eventfd2");
    pub const EPOLL_CREATE: u32 = nr_of("epoll_create");
    pub const EPOLL_CREATE1: u32 = nr_of("epoll_create1");
    pub const MEMFD_CREATE: u32 = nr_of("memfd_create");
    pub const SIGNALFD: u32 = nr_of("signalfd");
    pub const SIGNALFD4: u32 = nr_of("signalfd4");
    pub const TIMERFD_CREATE: u32 = nr_of("timerfd_create");
    pub const INOTIFY_INIT: u32 = nr_of("inotify_init");
    pub const INOTIFY_INIT1: u32 = nr_of("inotify_init1");
    pub const FANOTIFY_INIT: u32 = nr_of("fanotify_init");
    pub const PIDFD_OPEN: u32 = nr_of("pidfd_open");
    pub const PIDFD_GETFD: u32 = nr_of("pidfd_getfd");
    pub const OPEN_BY_HANDLE_AT: u32 = nr_of("open_by_handle_at");
    pub const USERFAULTFD: u32 = nr_of("userfaultfd");
    pub const PERF_EVENT_OPEN: u32 = nr_of("perf_event_open");
    pub const BPF: u32 = nr_of("bpf");
    pub const IO_URING_SETUP: u32 = nr_of("io_uring_setup");

    // Calls whose structures are captured (`super::structs`).
    pub const STAT: u32 = nr_of("stat");
    pub const LSTAT: u32 = nr_of("lstat");
    pub const FSTAT: u32 = nr_of("fstat");
    pub const NEWFSTATAT: u32 = nr_of("newfstatat");
    pub const STATX: u32 = nr_of("statx");
    pub const RT_SIGACTION: u32 = nr_of("rt_sigaction");
    pub const RT_SIGPROCMASK: u32 = nr_of("rt_sigprocmask");
    pub const RT_SIGRETURN: u32 = nr_of("rt_sigreturn");
    pub const GETDENTS64: u32 = nr_of("getdents64");
    pub const PRLIMIT64: u32 = nr_of("prlimit64");
    pub const GETSOCKNAME: u32 = nr_of("getsockname");
    pub const GETPEERNAME: u32 = nr_of("getpeername");
    pub const WAIT4: u32 = nr_of("wait4");
    pub const POLL: u32 = nr_of("poll");
    pub const PPOLL: u32 = nr_of("ppoll");
    pub const PSELECT6: u32 = nr_of("pselect6");
    pub const NANOSLEEP: u32 = nr_of("nanosleep");
    pub const CLOCK_NANOSLEEP: u32 = nr_of("clock_nanosleep");
    pub const CLOCK_GETTIME: u32 = nr_of("clock_gettime");
    pub const CLOCK_GETRES: u32 = nr_of("clock_getres");
    pub const SETSOCKOPT: u32 = nr_of("setsockopt");
    pub const GETSOCKOPT: u32 = nr_of("getsockopt");
    pub const STATFS: u32 = nr_of("statfs");
    pub const FSTATFS: u32 = nr_of("fstatfs");
    pub const SYSINFO: u32 = nr_of("sysinfo");
    pub const IOCTL: u32 = nr_of("ioctl");
    pub const UNAME: u32 = nr_of("uname");
    pub const GETCWD: u32 = nr_of("getcwd");
    pub const READLINK: u32 = nr_of("readlink");
    pub const READLINKAT: u32 = nr_of("readlinkat");

    // How a process ends (the daemon's `ending`; calls that never
    // return, for the sources and exporters).
    pub const EXIT: u32 = nr_of("exit");
    pub const EXIT_GROUP: u32 = nr_of("exit_group");
    pub const KILL: u32 = nr_of("kill");
    pub const TKILL: u32 = nr_of("tkill");
    pub const TGKILL: u32 = nr_of("tgkill");

    // The numbers the eBPF programs know by heart (they cannot read this
    // table) are the table's: a drift is a build error.
    const _: () = {
        use tracer_common::nr as kernel;
        assert!(kernel::EXECVE == EXECVE as i64);
        assert!(kernel::EXECVEAT == EXECVEAT as i64);
        assert!(kernel::EXIT == EXIT as i64);
        assert!(kernel::EXIT_GROUP == EXIT_GROUP as i64);
    };
}

/// What to capture of syscall `nr`, for both sources: its string
/// arguments, and how to find its data buffer ([`data::mode`]).
pub fn capture_spec(nr: u32) -> CaptureSpec {
    let Some(sc) = get(nr) else {
        return CaptureSpec::default();
    };
    let mut paths = 0u8;
    for (i, kind) in sc.args.iter().enumerate().take(tracer_common::MAX_ARGS) {
        if matches!(kind, ArgKind::Path | ArgKind::Str) {
            paths |= 1 << i;
        }
    }
    let structs = structs::specs(nr);
    CaptureSpec {
        data: data::mode(nr),
        paths,
        exit_structs: u8::from(
            structs
                .iter()
                .any(|s| s.flags & tracer_common::structs::EXIT != 0),
        ),
        structs,
        ..CaptureSpec::default()
    }
}

#[cfg(test)]
mod tests {
    use tracer_common::capture;

    use super::*;

    #[test]
    fn new_fds_are_what_the_call_returned() {
        let args = |cmd: u32| [3, u64::from(cmd), 0, 0, 0, 0];
        assert_eq!(new_fd(nr::OPENAT, &args(0), Some(5)), Some(5));
        assert_eq!(new_fd(nr::ACCEPT4, &args(0), Some(-11)), None);
        assert_eq!(new_fd(nr::DUP2, &args(0), Some(0)), Some(0));
        assert_eq!(new_fd(nr::EVENTFD2, &args(0), Some(9)), Some(9));
        // fcntl returns an fd for F_DUPFD only: F_GETFD's 1 is a flag.
        let dupfd = xlat::fcntl::F_DUPFD_CLOEXEC;
        assert_eq!(new_fd(nr::FCNTL, &args(dupfd), Some(7)), Some(7));
        assert_eq!(new_fd(nr::FCNTL, &args(1), Some(1)), None);
        assert_eq!(new_fd(nr::READ, &args(0), Some(4)), None);
        // An exit never seen (a call in flight at detach) made nothing.
        assert_eq!(new_fd(nr::OPENAT, &args(0), None), None);
        assert!(returns_fd(nr::SOCKET) && !returns_fd(nr::PIPE2));
    }

    #[test]
    fn capture_specs() {
        let spec = |name| capture_spec(by_name(name).unwrap());
        assert_eq!(
            spec("openat"),
            CaptureSpec {
                data: capture::NONE,
                paths: 0b10,
                ..CaptureSpec::default()
            }
        );
        assert_eq!(
            spec("rename"),
            CaptureSpec {
                data: capture::NONE,
                paths: 0b11,
                ..CaptureSpec::default()
            }
        );
        assert_eq!(spec("execve").paths & 1, 1);
        assert_eq!(spec("read").data, capture::BUF_OUT);
        assert_eq!(spec("write").data, capture::BUF_IN);
        assert_eq!(spec("recvmsg").data, capture::MSG_OUT);
        assert_eq!(spec("writev").data, capture::IOV_IN);
        assert_eq!(spec("getppid"), CaptureSpec::default());
        // Every number the kernel side indexes fits its array.
        assert!(
            (0..NR_END)
                .all(|nr| capture_spec(nr) == CaptureSpec::default() || nr < capture::SYSCALLS)
        );
    }

    #[test]
    fn numbers_match_the_x86_64_abi() {
        // Spot checks against asm/unistd_64.h.
        for (nr, name) in [
            (0, "read"),
            (1, "write"),
            (2, "open"),
            (3, "close"),
            (9, "mmap"),
            (56, "clone"),
            (59, "execve"),
            (60, "exit"),
            (202, "futex"),
            (231, "exit_group"),
            (257, "openat"),
            (262, "newfstatat"),
            (332, "statx"),
            (435, "clone3"),
            (450, "set_mempolicy_home_node"),
            // Newer than the installed header: from NEWER_SYSCALLS.
            (335, "uretprobe"),
            (451, "cachestat"),
            (469, "file_setattr"),
        ] {
            assert_eq!(super::name(nr), Some(name), "nr {nr}");
            assert_eq!(by_name(name), Some(nr), "{name}");
        }
        assert_eq!(nr::CLONE, 56);
        assert_eq!(nr::FUTEX, 202);
        assert_eq!(nr::FCNTL, 72);
    }

    #[test]
    fn unknown_numbers_have_no_name() {
        assert_eq!(name(337), None); // hole between rseq-era calls and 424
        assert_eq!(name(NR_END), None);
        assert_eq!(name(u32::MAX), None);
        assert_eq!(by_name("opn"), None);
        assert_eq!(by_name(""), None);
        assert_eq!(display_name(0x11c8), "syscall_0x11c8");
        assert_eq!(display_name(257), "openat");
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = iter().map(|(_, sc)| sc.name).collect();
        let all = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all);
        assert!(all > 350, "only {all} syscalls");
    }

    #[test]
    fn arity_never_exceeds_the_abi() {
        for (nr, sc) in iter() {
            assert!(sc.args.len() <= tracer_common::MAX_ARGS, "{nr} {}", sc.name);
        }
    }

    fn has(name: &str, class: Class) -> bool {
        let nr = by_name(name).unwrap_or_else(|| panic!("{name} unknown"));
        get(nr).is_some_and(|sc| sc.classes.contains(class))
    }

    #[test]
    fn classes_follow_strace() {
        assert!(has("openat", Class::File) && has("openat", Class::Desc));
        assert!(has("read", Class::Desc) && !has("read", Class::File));
        assert!(has("socket", Class::Network) && !has("socket", Class::Desc));
        assert!(has("clone", Class::Process) && has("execve", Class::Process));
        assert!(has("mmap", Class::Memory) && has("mmap", Class::Desc));
        assert!(has("rt_sigaction", Class::Signal));
        assert!(has("kill", Class::Signal) && has("kill", Class::Process));
        assert!(has("shmget", Class::Ipc));
        assert!(has("setuid", Class::Creds));
        assert!(has("clock_gettime", Class::Clock));
        assert!(has("getpid", Class::Pure) && !has("getpid", Class::Desc));
        assert!(has("stat", Class::Stat) && has("stat", Class::StatLike));
        assert!(has("newfstatat", Class::Fstat) && has("statx", Class::StatLike));
        assert!(has("statfs", Class::Statfs) && has("fstatfs", Class::StatfsLike));
        // Derived from the arguments: a pipe returns descriptors, takes none.
        assert!(has("pipe2", Class::Desc) && has("epoll_create1", Class::Desc));
        assert!(!has("getpid", Class::File) && !has("exit_group", Class::Desc));
    }

    #[test]
    fn class_names_round_trip() {
        for class in Class::ALL {
            assert_eq!(Class::from_name(class.name()), Some(class));
        }
        assert_eq!(Class::from_name("file"), Some(Class::File));
        assert_eq!(Class::from_name("%net"), Some(Class::Network));
        // Only the seven original classes have a spelling without `%`.
        assert_eq!(Class::from_name("creds"), None);
        assert_eq!(Class::from_name("%fil"), None);
    }

    #[test]
    fn well_known_signatures() {
        use ArgKind::*;
        let sig = |name| by_name(name).and_then(get).map(|sc| sc.args);
        assert_eq!(sig("read"), Some(&[Fd, Ptr, Ulong][..]));
        assert_eq!(sig("openat"), Some(&[Dirfd, Path, OpenFlags, OpenMode][..]));
        assert_eq!(
            sig("mmap"),
            Some(&[Ptr, Ulong, MmapProt, MmapFlags, Fd, Hex][..])
        );
        assert_eq!(sig("exit_group"), Some(&[Int][..]));
        assert_eq!(sig("getpid"), Some(&[][..]));
        assert_eq!(get(9).map(|sc| sc.ret), Some(Ret::Hex));
        assert_eq!(get(0).map(|sc| sc.ret), Some(Ret::Dec));
    }
}
