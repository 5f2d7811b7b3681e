//! `cargo xtask gen-syscalls`: writes `tracer/src/syscalls/table.rs`, the
//! x86_64 syscall table tracer renders and filters with.
//!
//! Sources, each for what it is authoritative on:
//! - numbers and names: the kernel UAPI header `asm/unistd_64.h`, plus
//!   [`NEWER_SYSCALLS`] for calls newer than the installed header;
//! - arity, argument types and names: tracefs
//!   (`events/syscalls/sys_enter_<name>/format`), which the kernel builds
//!   from its own `SYSCALL_DEFINE`s; [`FIXED_PROTOTYPES`] stands in for
//!   calls that have no tracefs event on some kernels;
//! - classes (`%file`, `%network`, …): strace's definitions. `%file` and
//!   `%desc` are derived from the argument metadata (see [`classes`]), the
//!   others are lists copied from strace's `syscallent.h`.
//!
//! The output depends only on those inputs (no time stamps, no hash
//! ordering), so regenerating on the same machine reproduces it byte for
//! byte; the test at the bottom checks exactly that.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    fs,
    path::{Path, PathBuf},
};

use anyhow::{Context as _, Result, bail, ensure};

/// The UAPI header listing x86_64 syscall numbers.
pub const UNISTD_H: &str = "/usr/include/x86_64-linux-gnu/asm/unistd_64.h";
/// Where the header's kernel version is recorded.
pub const VERSION_H: &str = "/usr/include/linux/version.h";
/// tracefs mount points, in order of preference.
pub const TRACEFS: [&str; 2] = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];
/// The running kernel's release, recorded in the output header.
const OSRELEASE: &str = "/proc/sys/kernel/osrelease";

/// Syscalls newer than the UAPI header Debian 12 ships (6.1), from the
/// kernel's `arch/x86/entry/syscalls/syscall_64.tbl`. A header that has
/// them must agree; the header wins when it does.
const NEWER_SYSCALLS: &[(u32, &str)] = &[
    (335, "uretprobe"),
    (336, "uprobe"),
    (451, "cachestat"),
    (452, "fchmodat2"),
    (453, "map_shadow_stack"),
    (454, "futex_wake"),
    (455, "futex_wait"),
    (456, "futex_requeue"),
    (457, "statmount"),
    (458, "listmount"),
    (459, "lsm_get_self_attr"),
    (460, "lsm_set_self_attr"),
    (461, "lsm_list_modules"),
    (462, "mseal"),
    (463, "setxattrat"),
    (464, "getxattrat"),
    (465, "listxattrat"),
    (466, "removexattrat"),
    (467, "open_tree_attr"),
    (468, "file_getattr"),
    (469, "file_setattr"),
];

/// Syscalls whose tracefs event has another name: the kernel's
/// `SYSCALL_DEFINE` name differs from the ABI name.
const TRACEFS_ALIASES: &[(&str, &str)] = &[
    ("stat", "newstat"),
    ("fstat", "newfstat"),
    ("lstat", "newlstat"),
    ("uname", "newuname"),
    ("sendfile", "sendfile64"),
    ("umount2", "umount"),
];

/// Prototypes (`type name` as tracefs writes them) for syscalls without a
/// tracefs event on some kernels: removed calls that strace still decodes,
/// calls behind config options (modules, kexec, x86 shadow stacks) and
/// calls only 32-bit kernels implement (`*_thread_area`). Used even when
/// tracefs has the event, so that the table does not depend on the kernel
/// configuration.
const FIXED_PROTOTYPES: &[(&str, &[&str])] = &[
    ("_sysctl", &["struct __sysctl_args * args"]),
    ("create_module", &["const char * name", "size_t size"]),
    (
        "delete_module",
        &["const char * name_user", "unsigned int flags"],
    ),
    (
        "finit_module",
        &["int fd", "const char * uargs", "int flags"],
    ),
    ("get_thread_area", &["struct user_desc * u_info"]),
    (
        "init_module",
        &["void * umod", "unsigned long len", "const char * uargs"],
    ),
    (
        "kexec_file_load",
        &[
            "int kernel_fd",
            "int initrd_fd",
            "unsigned long cmdline_len",
            "const char * cmdline_ptr",
            "unsigned long flags",
        ],
    ),
    (
        "kexec_load",
        &[
            "unsigned long entry",
            "unsigned long nr_segments",
            "struct kexec_segment * segments",
            "unsigned long flags",
        ],
    ),
    (
        "lookup_dcookie",
        &["u64 cookie64", "char * buf", "size_t len"],
    ),
    (
        "map_shadow_stack",
        &[
            "unsigned long addr",
            "unsigned long size",
            "unsigned int flags",
        ],
    ),
    ("set_thread_area", &["struct user_desc * u_info"]),
    ("uselib", &["const char * library"]),
];

/// Syscalls the kernel never implemented or dropped without a trace (it
/// answers `ENOSYS`), with the arity strace shows them with, in raw hex.
const UNIMPLEMENTED: &[(&str, usize)] = &[
    ("afs_syscall", 5),
    ("epoll_ctl_old", 4),
    ("epoll_wait_old", 4),
    ("get_kernel_syms", 1),
    ("getpmsg", 5),
    ("nfsservctl", 3),
    ("putpmsg", 5),
    ("query_module", 5),
    ("security", 3),
    ("tuxcall", 3),
    ("vserver", 5),
];

/// Argument kinds the generic rules in [`arg_kind`] cannot know: what a
/// `flags` means, which `int` is a file descriptor used as a directory, …
/// Keyed by syscall and parameter name.
const KIND_OVERRIDES: &[(&str, &str, &str)] = &[
    ("open", "flags", "OpenFlags"),
    ("open", "mode", "OpenMode"),
    ("openat", "flags", "OpenFlags"),
    ("openat", "mode", "OpenMode"),
    ("mq_open", "oflag", "OpenFlags"),
    ("mq_open", "mode", "OpenMode"),
    ("open_by_handle_at", "flags", "OpenFlags"),
    ("pipe2", "flags", "FdFlags"),
    ("dup3", "flags", "FdFlags"),
    ("mknod", "mode", "FileMode"),
    ("mknod", "dev", "Dev"),
    ("mknodat", "mode", "FileMode"),
    ("mknodat", "dev", "Dev"),
    ("umask", "mask", "Mode"),
    ("mmap", "prot", "MmapProt"),
    ("mmap", "flags", "MmapFlags"),
    ("mmap", "off", "Hex"),
    ("mprotect", "prot", "MmapProt"),
    ("pkey_mprotect", "prot", "MmapProt"),
    ("mremap", "flags", "MremapFlags"),
    ("madvise", "behavior", "Madvise"),
    ("clone", "clone_flags", "CloneFlags"),
    ("clone", "tls", "Hex"),
    ("unshare", "unshare_flags", "CloneFlags"),
    ("setns", "flags", "CloneFlags"),
    // execveat's `fd` is a directory descriptor like every `dfd`.
    ("execveat", "fd", "Dirfd"),
    ("execveat", "flags", "AtFlags"),
    ("newfstatat", "flag", "AtFlags"),
    ("fchownat", "flag", "AtFlags"),
    ("linkat", "flags", "AtFlags"),
    ("unlinkat", "flag", "AtFlags"),
    ("utimensat", "flags", "AtFlags"),
    ("name_to_handle_at", "flag", "AtFlags"),
    ("fchmodat2", "flags", "AtFlags"),
    ("statx", "flags", "StatxFlags"),
    ("statx", "mask", "StatxMask"),
    ("faccessat2", "flags", "AccessatFlags"),
    ("access", "mode", "AccessMode"),
    ("faccessat", "mode", "AccessMode"),
    ("faccessat2", "mode", "AccessMode"),
    ("lseek", "whence", "Whence"),
    ("rt_sigprocmask", "how", "SigHow"),
    ("futex", "op", "FutexOp"),
    ("futex", "val3", "Hex32"),
    ("fcntl", "cmd", "FcntlCmd"),
    ("fcntl", "arg", "Hex"),
    ("ioctl", "cmd", "IoctlReq"),
    ("ioctl", "arg", "Hex"),
    ("arch_prctl", "option", "ArchPrctl"),
    ("arch_prctl", "arg2", "Hex"),
    ("getrlimit", "resource", "Rlimit"),
    ("setrlimit", "resource", "Rlimit"),
    ("prlimit64", "resource", "Rlimit"),
    ("timerfd_create", "clockid", "ClockId"),
    ("clock_nanosleep", "flags", "TimerFlags"),
    ("timer_settime", "flags", "TimerFlags"),
    ("wait4", "options", "WaitOptions"),
    ("socket", "family", "SockFamily"),
    ("socket", "type", "SockType"),
    ("socket", "protocol", "SockProto"),
    ("socketpair", "family", "SockFamily"),
    ("socketpair", "type", "SockType"),
    ("socketpair", "protocol", "SockProto"),
    ("accept4", "flags", "SockFlags"),
    ("epoll_ctl", "op", "EpollOp"),
    ("epoll_create1", "flags", "EpollFlags"),
    ("getrandom", "flags", "GrndFlags"),
    ("fadvise64", "advice", "Fadvise"),
    ("eventfd2", "flags", "EfdFlags"),
    ("memfd_create", "flags", "MfdFlags"),
    ("umount2", "flags", "UmountFlags"),
    ("mount_setattr", "flags", "AtFlags"),
    ("process_madvise", "behavior", "Madvise"),
    // On 64-bit, `pos_l` holds the whole offset of the vectored I/O calls
    // and `pos_h` is unused; strace does not show it.
    ("preadv", "pos_l", "Long"),
    ("pwritev", "pos_l", "Long"),
    ("preadv2", "pos_l", "Long"),
    ("pwritev2", "pos_l", "Long"),
    ("preadv", "pos_h", "Unused"),
    ("pwritev", "pos_h", "Unused"),
    ("preadv2", "pos_h", "Unused"),
    ("pwritev2", "pos_h", "Unused"),
    // Reserved flags, which strace shows in decimal.
    ("copy_file_range", "flags", "Uint"),
    ("process_vm_readv", "flags", "Ulong"),
    ("process_vm_writev", "flags", "Ulong"),
    ("sched_setattr", "flags", "Uint"),
    ("sched_getattr", "flags", "Uint"),
    // Unsigned here, unlike other descriptors.
    ("close_range", "fd", "Uint"),
    // System V IPC keys, which strace shows in hex.
    ("shmget", "key", "Hex32"),
    ("semget", "key", "Hex32"),
    ("msgget", "key", "Hex32"),
    // A signature and a length that strace shows in hex, not a signal.
    ("rseq", "sig", "Hex32"),
    ("rseq", "rseq_len", "Hex32"),
    // Parameters called `name` that are file names (elsewhere `name` is an
    // xattr, host or module name).
    ("umount2", "name", "Path"),
    ("acct", "name", "Path"),
    ("name_to_handle_at", "name", "Path"),
];

/// Parameter names of `char *` arguments that are file names.
const PATH_NAMES: &[&str] = &[
    "filename",
    "pathname",
    "path",
    "oldname",
    "newname",
    "specialfile",
    "dev_name",
    "dir_name",
    "new_root",
    "put_old",
    "special",
    "library",
    "from_pathname",
    "to_pathname",
];

/// Parameter names of `char *` arguments that are other NUL-terminated
/// strings (`char *` buffers with a length, like `read`'s, are not).
const STRING_NAMES: &[&str] = &[
    "name",
    "u_name",
    "uname",
    "name_user",
    "type",
    "_type",
    "_description",
    "_callout_info",
    "_key",
    "_fs_name",
    "uargs",
    "cmdline_ptr",
];

/// Integer parameter names that are file descriptors.
const FD_NAMES: &[&str] = &[
    "fd",
    "ufd",
    "epfd",
    "oldfd",
    "newfd",
    "fildes",
    "fd_in",
    "fd_out",
    "in_fd",
    "out_fd",
    "fdin",
    "fdout",
    "pidfd",
    "group_fd",
    "fanotify_fd",
    "fs_fd",
    "ruleset_fd",
    "mqdes",
    "mountdirfd",
    "kernel_fd",
    "initrd_fd",
];

/// Integer parameter names that are directory descriptors (`AT_FDCWD`).
const DIRFD_NAMES: &[&str] = &["dfd", "olddfd", "newdfd", "from_dfd", "to_dfd"];

/// `unsigned long` parameter names that hold addresses.
const ADDR_NAMES: &[&str] = &["addr", "start", "brk", "new_addr", "newsp"];

/// Calls that return a new file descriptor without taking one: strace
/// counts them in `%desc`.
const FD_RETURNING: &[&str] = &[
    "open",
    "creat",
    "pipe",
    "pipe2",
    "epoll_create",
    "epoll_create1",
    "eventfd",
    "eventfd2",
    "inotify_init",
    "inotify_init1",
    "timerfd_create",
    "memfd_create",
    "memfd_secret",
    "userfaultfd",
    "fanotify_init",
    "bpf",
    "io_uring_setup",
    "fsopen",
    "pidfd_open",
    "landlock_create_ruleset",
    "mq_open",
];

/// Calls that work on descriptors passed in sets or arrays: `%desc` in
/// strace though no parameter is a descriptor.
const FD_SET_CALLS: &[&str] = &["select", "pselect6", "poll", "ppoll"];

/// Calls that take a descriptor but are not `%desc` in strace: the socket
/// API (`%network` only), and `close_range`.
const NOT_DESC: &[&str] = &[
    "accept",
    "accept4",
    "bind",
    "connect",
    "getpeername",
    "getsockname",
    "getsockopt",
    "listen",
    "recvfrom",
    "recvmmsg",
    "recvmsg",
    "sendmmsg",
    "sendmsg",
    "sendto",
    "setsockopt",
    "shutdown",
    "close_range",
];

/// Calls that take no file name yet are `%file` in strace: `getcwd` returns
/// one, `fsconfig` may take one as a value.
const FILE_EXTRA: &[&str] = &["getcwd", "fsconfig"];

/// strace's other classes (`linux/x86_64/syscallent.h` and
/// `linux/generic/syscallent-common.h`, flags TN, TP, …).
const CLASS_LISTS: &[(&str, &[&str])] = &[
    (
        "NETWORK",
        &[
            "accept",
            "accept4",
            "bind",
            "connect",
            "getpeername",
            "getpmsg",
            "getsockname",
            "getsockopt",
            "listen",
            "putpmsg",
            "recvfrom",
            "recvmmsg",
            "recvmsg",
            "sendfile",
            "sendmmsg",
            "sendmsg",
            "sendto",
            "setsockopt",
            "shutdown",
            "socket",
            "socketpair",
        ],
    ),
    (
        "PROCESS",
        &[
            "clone",
            "clone3",
            "execve",
            "execveat",
            "exit",
            "exit_group",
            "fork",
            "kill",
            "pidfd_send_signal",
            "rt_sigqueueinfo",
            "rt_tgsigqueueinfo",
            "tgkill",
            "tkill",
            "vfork",
            "wait4",
            "waitid",
        ],
    ),
    (
        "MEMORY",
        &[
            "brk",
            "get_mempolicy",
            "io_destroy",
            "io_setup",
            "io_uring_register",
            "madvise",
            "map_shadow_stack",
            "mbind",
            "migrate_pages",
            "mincore",
            "mlock",
            "mlock2",
            "mlockall",
            "mmap",
            "move_pages",
            "mprotect",
            "mremap",
            "mseal",
            "msync",
            "munlock",
            "munlockall",
            "munmap",
            "pkey_mprotect",
            "remap_file_pages",
            "set_mempolicy",
            "set_mempolicy_home_node",
            "shmat",
            "shmdt",
        ],
    ),
    (
        "SIGNAL",
        &[
            "io_uring_enter",
            "kill",
            "pause",
            "pidfd_send_signal",
            "rt_sigaction",
            "rt_sigpending",
            "rt_sigprocmask",
            "rt_sigqueueinfo",
            "rt_sigreturn",
            "rt_sigsuspend",
            "rt_sigtimedwait",
            "rt_tgsigqueueinfo",
            "sigaltstack",
            "signalfd",
            "signalfd4",
            "tgkill",
            "tkill",
        ],
    ),
    (
        "IPC",
        &[
            "msgctl",
            "msgget",
            "msgrcv",
            "msgsnd",
            "semctl",
            "semget",
            "semop",
            "semtimedop",
            "shmat",
            "shmctl",
            "shmdt",
            "shmget",
        ],
    ),
    (
        "CREDS",
        &[
            "capget",
            "capset",
            "getegid",
            "geteuid",
            "getgid",
            "getgroups",
            "getresgid",
            "getresuid",
            "getuid",
            "prctl",
            "setfsgid",
            "setfsuid",
            "setgid",
            "setgroups",
            "setregid",
            "setresgid",
            "setresuid",
            "setreuid",
            "setuid",
        ],
    ),
    (
        "CLOCK",
        &[
            "adjtimex",
            "clock_adjtime",
            "clock_getres",
            "clock_gettime",
            "clock_settime",
            "gettimeofday",
            "settimeofday",
            "time",
        ],
    ),
    ("STAT", &["stat"]),
    ("LSTAT", &["lstat"]),
    ("FSTAT", &["fstat", "newfstatat", "statx"]),
    (
        "STAT_LIKE",
        &["fstat", "lstat", "newfstatat", "stat", "statx"],
    ),
    ("STATFS", &["statfs"]),
    ("FSTATFS", &["fstatfs"]),
    ("STATFS_LIKE", &["fstatfs", "statfs", "ustat"]),
    (
        "PURE",
        &[
            "getegid", "geteuid", "getgid", "getpgrp", "getpid", "getppid", "gettid", "getuid",
        ],
    ),
];

/// Calls that return an address, which strace shows in hex.
const RET_HEX: &[&str] = &["mmap", "mremap", "brk", "shmat"];
/// Calls that return a mode, which strace shows in octal.
const RET_OCT: &[&str] = &["umask"];

/// Everything the table is generated from.
pub struct Sources {
    /// Text of `asm/unistd_64.h`.
    pub unistd: String,
    /// Kernel version of the header, `6.1.187`.
    pub header_version: String,
    /// `events/syscalls` under the tracefs mount.
    pub events: PathBuf,
    /// Release of the kernel whose tracefs is read.
    pub kernel_release: String,
}

impl Sources {
    /// The sources of this machine.
    pub fn system() -> Result<Sources> {
        let unistd = fs::read_to_string(UNISTD_H).with_context(|| format!("reading {UNISTD_H}"))?;
        let version =
            fs::read_to_string(VERSION_H).with_context(|| format!("reading {VERSION_H}"))?;
        let events = TRACEFS
            .iter()
            .map(|root| Path::new(root).join("events/syscalls"))
            .find(|dir| dir.is_dir())
            .with_context(|| {
                format!(
                    "no tracefs syscall events under {}; mount it: mount -t tracefs nodev {}",
                    TRACEFS.join(" or "),
                    TRACEFS[0]
                )
            })?;
        let kernel_release = fs::read_to_string(OSRELEASE)
            .with_context(|| format!("reading {OSRELEASE}"))?
            .trim()
            .to_owned();
        Ok(Sources {
            unistd,
            header_version: header_version(&version)?,
            events,
            kernel_release,
        })
    }
}

/// Writes the table generated from this machine's sources to `out`.
pub fn run(out: &Path) -> Result<()> {
    let text = generate(&Sources::system()?)?;
    fs::write(out, text).with_context(|| format!("writing {}", out.display()))?;
    eprintln!("wrote {}", out.display());
    Ok(())
}

/// One parameter of a prototype.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Param {
    ty: String,
    name: String,
}

impl Param {
    /// Parses `const char * filename` (type, then name).
    fn parse(decl: &str) -> Result<Param> {
        let decl = decl.trim();
        let (ty, name) = decl
            .rsplit_once(' ')
            .with_context(|| format!("parameter without a name: {decl:?}"))?;
        Ok(Param {
            ty: ty.trim().to_owned(),
            name: name.to_owned(),
        })
    }
}

/// The table source for `sources`.
pub fn generate(sources: &Sources) -> Result<String> {
    let numbers = numbers(&sources.unistd)?;
    check_lists(&numbers)?;
    let mut rows = Vec::new();
    for (&nr, name) in &numbers {
        let signature = signature(&sources.events, name)?;
        let classes = classes(name, &signature.kinds);
        rows.push(Row {
            nr,
            name,
            signature,
            classes,
        });
    }
    // An override that matches no parameter would silently do nothing.
    for (syscall, param, _) in KIND_OVERRIDES {
        let row = rows.iter().find(|row| row.name == *syscall);
        let params = row.map_or(&[][..], |row| &row.signature.params[..]);
        ensure!(
            params.iter().any(|p| p.name == *param),
            "KIND_OVERRIDES: {syscall} has no parameter {param}"
        );
    }
    Ok(render(sources, &rows))
}

struct Row<'a> {
    nr: u32,
    name: &'a str,
    signature: Signature,
    classes: Vec<&'static str>,
}

/// How a syscall's arguments are shown.
struct Signature {
    /// The C parameters, when known.
    params: Vec<Param>,
    /// What the kinds were derived from: the C prototype, or why there is
    /// none.
    source: String,
    /// `ArgKind` variant names, one per argument.
    kinds: Vec<&'static str>,
}

/// The signature of syscall `name`, from [`UNIMPLEMENTED`],
/// [`FIXED_PROTOTYPES`] or tracefs. A call tracefs does not know (a kernel
/// without its config option) is shown like strace shows unknown calls:
/// six hex numbers.
fn signature(events: &Path, name: &str) -> Result<Signature> {
    if let Some(&(_, arity)) = UNIMPLEMENTED.iter().find(|(n, _)| *n == name) {
        return Ok(Signature {
            params: Vec::new(),
            source: "not implemented".to_owned(),
            kinds: vec!["Hex"; arity],
        });
    }
    let Some(params) = prototype(events, name)? else {
        eprintln!("warning: no tracefs event for {name}: its arguments print as 6 hex numbers");
        return Ok(Signature {
            params: Vec::new(),
            source: "no tracefs event".to_owned(),
            kinds: vec!["Hex"; 6],
        });
    };
    let kinds = params
        .iter()
        .map(|p| arg_kind(name, p))
        .collect::<Result<_>>()
        .with_context(|| format!("syscall {name}"))?;
    let source = params
        .iter()
        .map(|p| format!("{} {}", p.ty, p.name))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(Signature {
        params,
        source,
        kinds,
    })
}

/// Numbers and names from the header, merged with [`NEWER_SYSCALLS`].
fn numbers(unistd: &str) -> Result<BTreeMap<u32, String>> {
    let mut numbers = BTreeMap::new();
    for line in unistd.lines() {
        let Some(rest) = line.strip_prefix("#define __NR_") else {
            continue;
        };
        let mut words = rest.split_whitespace();
        let (Some(name), Some(nr), None) = (words.next(), words.next(), words.next()) else {
            bail!("unexpected line in the header: {line:?}");
        };
        let nr: u32 = nr
            .parse()
            .with_context(|| format!("syscall number of {name}: {nr:?}"))?;
        if let Some(old) = numbers.insert(nr, name.to_owned()) {
            bail!("syscall {nr} defined twice: {old} and {name}");
        }
    }
    ensure!(
        numbers.len() > 300,
        "only {} syscalls in the header",
        numbers.len()
    );
    for &(nr, name) in NEWER_SYSCALLS {
        match numbers.get(&nr) {
            Some(known) if known == name => {}
            Some(known) => bail!("header has {known} as {nr}, NEWER_SYSCALLS has {name}"),
            None => {
                ensure!(
                    !numbers.values().any(|n| n == name),
                    "header numbers {name} differently than NEWER_SYSCALLS"
                );
                numbers.insert(nr, name.to_owned());
            }
        }
    }
    Ok(numbers)
}

/// The parameters of syscall `name`: fixed, or read from tracefs; `None`
/// when tracefs has no event for it.
fn prototype(events: &Path, name: &str) -> Result<Option<Vec<Param>>> {
    if let Some((_, decls)) = FIXED_PROTOTYPES.iter().find(|(n, _)| *n == name) {
        return decls
            .iter()
            .map(|d| Param::parse(d))
            .collect::<Result<_>>()
            .map(Some);
    }
    let event = TRACEFS_ALIASES
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(name, |(_, event)| event);
    let path = events.join(format!("sys_enter_{event}/format"));
    match fs::read_to_string(&path) {
        Ok(format) => parse_format(&format)
            .with_context(|| format!("parsing {}", path.display()))
            .map(Some),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err).with_context(|| format!("reading {}", path.display())),
    }
}

/// The syscall parameters of a tracefs event format: the fields after
/// `__syscall_nr`, each `field:TYPE NAME;`.
fn parse_format(format: &str) -> Result<Vec<Param>> {
    let mut params = Vec::new();
    let mut seen_nr = false;
    for line in format.lines() {
        let Some(field) = line.trim().strip_prefix("field:") else {
            continue;
        };
        let decl = field.split(';').next().context("field without ';'")?;
        let param = Param::parse(decl)?;
        if seen_nr {
            params.push(param);
        } else if param.name == "__syscall_nr" {
            seen_nr = true;
        }
    }
    ensure!(seen_nr, "no __syscall_nr field");
    ensure!(params.len() <= 6, "{} parameters", params.len());
    Ok(params)
}

/// The `ArgKind` variant for parameter `p` of `syscall`. Rules, in order:
/// an entry of [`KIND_OVERRIDES`]; for pointers, file names
/// ([`PATH_NAMES`]) and strings ([`STRING_NAMES`]) by name, else `Ptr`;
/// for integers, descriptors ([`FD_NAMES`], [`DIRFD_NAMES`]), `sig`,
/// addresses ([`ADDR_NAMES`]) and `flags` (hex) by name, else the C type's
/// width and signedness. An unknown C type is an error, so that a new
/// kernel type gets a decision rather than a guess.
fn arg_kind(syscall: &str, p: &Param) -> Result<&'static str> {
    if let Some((_, _, kind)) = KIND_OVERRIDES
        .iter()
        .find(|(s, n, _)| *s == syscall && *n == p.name)
    {
        return Ok(kind);
    }
    let name = p.name.as_str();
    let ty = p.ty.strip_prefix("const ").unwrap_or(&p.ty);
    if ty.contains('*') || matches!(ty, "cap_user_header_t" | "cap_user_data_t") {
        let char_ptr = matches!(ty, "char *" | "char *const");
        return Ok(if char_ptr && PATH_NAMES.contains(&name) {
            "Path"
        } else if char_ptr && STRING_NAMES.contains(&name) {
            "Str"
        } else {
            "Ptr"
        });
    }
    let (base, wide) = match ty {
        "int"
        | "pid_t"
        | "key_t"
        | "mqd_t"
        | "timer_t"
        | "key_serial_t"
        | "rwf_t"
        | "__s32"
        | "enum landlock_rule_type" => ("Int", false),
        "clockid_t" => ("ClockId", false),
        "unsigned int" | "unsigned" | "u32" | "__u32" | "qid_t" => ("Uint", false),
        "uid_t" | "gid_t" => ("Uid", false),
        "umode_t" => ("Mode", false),
        "long" | "loff_t" | "off_t" => ("Long", true),
        "unsigned long" | "size_t" | "u64" | "__u64" => ("Ulong", true),
        // An opaque handle, which strace shows in hex.
        "aio_context_t" => ("Hex", true),
        _ => bail!("parameter {name}: unknown C type {:?}", p.ty),
    };
    Ok(if FD_NAMES.contains(&name) {
        "Fd"
    } else if DIRFD_NAMES.contains(&name) {
        "Dirfd"
    } else if name == "sig" && base == "Int" {
        "Signal"
    } else if wide && base == "Ulong" && ADDR_NAMES.contains(&name) {
        "Ptr"
    } else if name == "flags" || name == "flag" || name.ends_with("_flags") {
        if wide { "Hex" } else { "Hex32" }
    } else {
        base
    })
}

/// The classes of `name` (as `class_bits` constant names). `%file`: the
/// call takes a file name (a `Path` argument), or is in [`FILE_EXTRA`].
/// `%desc`: it takes a descriptor (`Fd`, `Dirfd`), returns a new one
/// ([`FD_RETURNING`]) or takes descriptor sets ([`FD_SET_CALLS`]), and is
/// not in [`NOT_DESC`]. The rest: [`CLASS_LISTS`].
fn classes(name: &str, kinds: &[&str]) -> Vec<&'static str> {
    let mut classes = Vec::new();
    let takes_fd = kinds.iter().any(|k| matches!(*k, "Fd" | "Dirfd"));
    if (takes_fd || FD_RETURNING.contains(&name) || FD_SET_CALLS.contains(&name))
        && !NOT_DESC.contains(&name)
    {
        classes.push("DESC");
    }
    if kinds.contains(&"Path") || FILE_EXTRA.contains(&name) {
        classes.push("FILE");
    }
    for (class, names) in CLASS_LISTS {
        if names.contains(&name) {
            classes.push(class);
        }
    }
    classes
}

/// Every name in the hand-written lists must be a syscall: a typo would
/// silently drop a call from its class.
fn check_lists(numbers: &BTreeMap<u32, String>) -> Result<()> {
    let known = |name: &str| numbers.values().any(|n| n == name);
    let lists = [
        FD_RETURNING,
        FD_SET_CALLS,
        NOT_DESC,
        FILE_EXTRA,
        RET_HEX,
        RET_OCT,
    ]
    .into_iter()
    .chain(CLASS_LISTS.iter().map(|(_, names)| *names));
    let names = lists
        .flatten()
        .copied()
        .chain(KIND_OVERRIDES.iter().map(|(s, _, _)| *s))
        .chain(FIXED_PROTOTYPES.iter().map(|(s, _)| *s))
        .chain(UNIMPLEMENTED.iter().map(|(s, _)| *s))
        .chain(TRACEFS_ALIASES.iter().map(|(s, _)| *s));
    for name in names {
        ensure!(
            known(name),
            "{name} is listed in gen_syscalls.rs but is not a syscall"
        );
    }
    Ok(())
}

fn render(sources: &Sources, rows: &[Row]) -> String {
    let len = rows.last().map_or(0, |r| r.nr + 1);
    let mut out = String::new();
    let _ = write!(
        out,
        "\
// @generated by `cargo xtask gen-syscalls` (xtask/src/gen_syscalls.rs).
// Do not edit: change the generator and regenerate.
//
// Numbers: {UNISTD_H} (Linux {header}) and NEWER_SYSCALLS.
// Arguments: tracefs events/syscalls/sys_enter_*/format of Linux {kernel}.
// Classes: strace's syscallent.h, %file and %desc derived from arguments.

use super::{{ArgKind::*, Ret, Syscall, class_bits::*, sys}};

/// Every x86_64 syscall, indexed by number; `None` for unassigned numbers.
pub(super) static TABLE: [Option<Syscall>; {len}] = [
",
        header = sources.header_version,
        kernel = sources.kernel_release,
    );
    let mut rows = rows.iter().peekable();
    for nr in 0..len {
        let Some(row) = rows.next_if(|r| r.nr == nr) else {
            let _ = writeln!(out, "    None, // {nr}");
            continue;
        };
        let kinds = row.signature.kinds.join(", ");
        let classes = if row.classes.is_empty() {
            "0".to_owned()
        } else {
            row.classes.join(" | ")
        };
        let ret = if RET_HEX.contains(&row.name) {
            "Hex"
        } else if RET_OCT.contains(&row.name) {
            "Oct"
        } else {
            "Dec"
        };
        let _ = writeln!(out, "    // {nr}: {}({})", row.name, row.signature.source);
        let _ = writeln!(
            out,
            "    Some(sys({:?}, &[{kinds}], {classes}, Ret::{ret})),",
            row.name
        );
    }
    out.push_str("];\n");
    out
}

/// `6.1.187` from `linux/version.h`.
fn header_version(version_h: &str) -> Result<String> {
    let field = |name: &str| {
        version_h
            .lines()
            .find_map(|l| l.strip_prefix(&format!("#define LINUX_VERSION_{name} ")))
            .map(str::trim)
            .with_context(|| format!("no LINUX_VERSION_{name} in {VERSION_H}"))
    };
    Ok(format!(
        "{}.{}.{}",
        field("MAJOR")?,
        field("PATCHLEVEL")?,
        field("SUBLEVEL")?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE_RS: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tracer/src/syscalls/table.rs"
    );

    /// The committed table is what this machine's sources generate. Skipped
    /// (with a note) where the sources are missing or belong to another
    /// kernel than the one the table was generated from.
    #[test]
    fn committed_table_is_up_to_date() {
        let sources = match Sources::system() {
            Ok(sources) => sources,
            Err(err) => {
                eprintln!("skipped: {err:#}");
                return;
            }
        };
        let committed = fs::read_to_string(TABLE_RS).expect("reading the committed table");
        let kernel_line = format!("of Linux {}.\n", sources.kernel_release);
        if !committed.contains(&kernel_line) {
            eprintln!(
                "skipped: table.rs was generated on another kernel than {}",
                sources.kernel_release
            );
            return;
        }
        let dir = tempfile::Builder::new()
            .prefix("gen-syscalls-")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .tempdir()
            .unwrap();
        let out = dir.path().join("table.rs");
        run(&out).unwrap();
        let generated = fs::read_to_string(&out).unwrap();
        drop(dir);
        // The header names the versions it was made from; a point release
        // of the kernel headers package that changes no number must not
        // make the table stale, so only what the table says is compared.
        let body = |text: &str| -> String {
            text.lines()
                .filter(|line| !line.starts_with("// Numbers:"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert!(
            body(&generated) == body(&committed),
            "tracer/src/syscalls/table.rs is stale: run `cargo xtask gen-syscalls`"
        );
    }

    #[test]
    fn parses_tracefs_formats() {
        let format = "name: sys_enter_openat\nID: 782\nformat:\n\
            \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
            \tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\
            \tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n\
            \tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;\n\
            \tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;\n\
            \tfield:const char *const * argv;\toffset:32;\tsize:8;\tsigned:0;\n\n\
            print fmt: \"dfd: 0x%08lx\"\n";
        let params = parse_format(format).unwrap();
        let decls: Vec<_> = params
            .iter()
            .map(|p| (p.ty.as_str(), p.name.as_str()))
            .collect();
        assert_eq!(
            decls,
            [
                ("int", "dfd"),
                ("const char *", "filename"),
                ("const char *const *", "argv")
            ]
        );
        assert!(parse_format("format:\n\tfield:int fd;\n").is_err());
    }

    #[test]
    fn parses_the_header_and_merges_newer_calls() {
        let header = "#ifndef _ASM\n#define _ASM\n".to_owned()
            + &(0..320)
                .map(|nr| format!("#define __NR_call{nr} {nr}\n"))
                .collect::<String>();
        let numbers = numbers(&header).unwrap();
        assert_eq!(numbers[&7], "call7");
        assert_eq!(numbers[&452], "fchmodat2");
        let clash = header.clone() + "#define __NR_other 452\n";
        assert!(numbers_err(&clash).contains("header has other as 452"));
        let twice = header + "#define __NR_again 7\n";
        assert!(numbers_err(&twice).contains("defined twice"));
    }

    fn numbers_err(header: &str) -> String {
        format!("{:#}", numbers(header).unwrap_err())
    }

    #[test]
    fn derives_kinds_from_types_and_names() {
        let kind = |sys: &str, decl: &str| arg_kind(sys, &Param::parse(decl).unwrap()).unwrap();
        assert_eq!(kind("openat", "int dfd"), "Dirfd");
        assert_eq!(kind("openat", "const char * filename"), "Path");
        assert_eq!(kind("openat", "int flags"), "OpenFlags");
        assert_eq!(kind("read", "unsigned int fd"), "Fd");
        assert_eq!(kind("read", "char * buf"), "Ptr");
        assert_eq!(kind("read", "size_t count"), "Ulong");
        assert_eq!(kind("kill", "int sig"), "Signal");
        assert_eq!(kind("munmap", "unsigned long addr"), "Ptr");
        assert_eq!(kind("setxattr", "const char * name"), "Str");
        assert_eq!(kind("acct", "const char * name"), "Path");
        assert_eq!(kind("inotify_init1", "int flags"), "Hex32");
        assert_eq!(kind("rseq", "u32 sig"), "Hex32");
        assert_eq!(
            kind("timer_create", "const clockid_t which_clock"),
            "ClockId"
        );
        assert_eq!(kind("setuid", "uid_t uid"), "Uid");
        assert!(arg_kind("x", &Param::parse("float f").unwrap()).is_err());
    }

    #[test]
    fn derives_file_and_desc() {
        assert_eq!(
            classes("openat", &["Dirfd", "Path", "OpenFlags", "OpenMode"]),
            ["DESC", "FILE"]
        );
        assert_eq!(classes("read", &["Fd", "Ptr", "Ulong"]), ["DESC"]);
        assert_eq!(classes("connect", &["Fd", "Ptr", "Int"]), ["NETWORK"]);
        assert_eq!(classes("pipe2", &["Ptr", "FdFlags"]), ["DESC"]);
        assert_eq!(classes("getpid", &[]), ["PURE"]);
    }
}
