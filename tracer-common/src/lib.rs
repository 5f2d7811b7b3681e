//! Types shared by the eBPF programs (`tracer-ebpf`) and the userspace loader
//! (`tracer`).
//!
//! Everything here is `#[repr(C)]` and `Copy`: the kernel side writes these
//! structs straight into ring-buffer entries and maps, and userspace reads the
//! same bytes back. A change here is a change of the wire format between the
//! two halves, which is why both are built from one workspace and the object
//! is embedded in the `tracer` binary.
#![no_std]

/// Number of syscall arguments on x86_64.
pub const MAX_ARGS: usize = 6;

/// x86_64 numbers of the syscalls the eBPF programs single out, as the
/// tracepoints give them (`long`). The kernel half cannot read tracer's
/// syscall table, so these few live here; `tracer/src/syscalls/mod.rs`
/// checks at compile time that each is the table's number for its name.
pub mod nr {
    pub const EXECVE: i64 = 59;
    pub const EXIT: i64 = 60;
    pub const EXIT_GROUP: i64 = 231;
    pub const EXECVEAT: i64 = 322;
}

/// Names of the maps, programs and globals in the eBPF object, written once
/// for the loader. The kernel side cannot use them: aya-ebpf's
/// `#[map(name = ...)]` takes only a string literal, and programs and
/// globals are named by their identifiers. So tracer's `ebpf` tests load
/// the object and check it against [`names::MAPS`], the program lists and
/// [`names::GLOBALS`], both ways: a name here the object lacks, or a map or
/// program in the object not listed here, fails the build's tests.
pub mod names {
    pub const TRACED: &str = "TRACED";
    pub const INFLIGHT: &str = "INFLIGHT";
    pub const EVENTS: &str = "EVENTS";
    pub const COUNTERS: &str = "COUNTERS";
    pub const CAPTURE: &str = "CAPTURE";
    pub const SCRATCH: &str = "SCRATCH";
    pub const WATCH_COMMS: &str = "WATCH_COMMS";
    pub const WATCH_CGROUPS: &str = "WATCH_CGROUPS";
    /// `-k`: stack ids already sent, so a stack crosses the ring once.
    pub const STACK_SEEN: &str = "STACK_SEEN";
    /// `-k`: where a stack record is assembled (per CPU).
    pub const STACK_SCRATCH: &str = "STACK_SCRATCH";
    /// `-k`: slot 0 non-zero while stacks are taken (exec records then
    /// carry the executable's path).
    pub const STACK_CONFIG: &str = "STACK_CONFIG";
    /// Global: byte offset of `filename`'s `__data_loc` in the
    /// `sched_process_exec` record.
    pub const EXEC_FILENAME_OFFSET: &str = "EXEC_FILENAME_OFFSET";
    pub const SCHED_EXEC: &str = "sched_process_exec";
    /// Global: most bytes of a data buffer to capture (0: none).
    pub const CAPTURE_BYTES: &str = "CAPTURE_BYTES";
    pub const SYS_ENTER: &str = "sys_enter";
    pub const SYS_EXIT: &str = "sys_exit";
    pub const SCHED_FORK: &str = "sched_process_fork";
    pub const SCHED_EXIT: &str = "sched_process_exit";
    pub const SIGNAL_DELIVER: &str = "signal_deliver";
    /// Global: byte offset of `child_pid` in the `sched_process_fork` record.
    pub const FORK_CHILD_PID_OFFSET: &str = "FORK_CHILD_PID_OFFSET";
    /// Global: byte offset of `group_dead` in the `sched_process_exit` record.
    pub const EXIT_GROUP_DEAD_OFFSET: &str = "EXIT_GROUP_DEAD_OFFSET";
    /// Global: byte offset of `real_cred` in `struct task_struct`.
    pub const TASK_CRED_OFFSET: &str = "TASK_CRED_OFFSET";
    /// Global: byte offset of `uid` in `struct cred`.
    pub const CRED_UID_OFFSET: &str = "CRED_UID_OFFSET";
    /// Global: byte offset of `euid` in `struct cred`.
    pub const CRED_EUID_OFFSET: &str = "CRED_EUID_OFFSET";
    /// Global: byte offset of `suid` in `struct cred`.
    pub const CRED_SUID_OFFSET: &str = "CRED_SUID_OFFSET";
    /// Global: byte offset of `exit_code` in `struct task_struct`.
    pub const TASK_EXIT_CODE_OFFSET: &str = "TASK_EXIT_CODE_OFFSET";

    /// Every map of the object.
    pub const MAPS: &[&str] = &[
        TRACED,
        INFLIGHT,
        EVENTS,
        COUNTERS,
        CAPTURE,
        SCRATCH,
        WATCH_COMMS,
        WATCH_CGROUPS,
        STACK_SEEN,
        STACK_SCRATCH,
        STACK_CONFIG,
        FLOOR_HITS,
    ];
    /// The programs a recording loads (the object's floor programs are
    /// only for `bench`).
    pub const RECORDER_PROGRAMS: &[&str] = &[
        SYS_ENTER,
        SYS_EXIT,
        SCHED_FORK,
        SCHED_EXIT,
        SCHED_EXEC,
        SIGNAL_DELIVER,
    ];
    /// The object's other programs: the floor probe `bench` measures
    /// tracer against. With [`RECORDER_PROGRAMS`], every program.
    pub const FLOOR_PROGRAMS: &[&str] = &[FLOOR_ENTER, FLOOR_EXIT];
    /// Every global the loader sets (each a `u32`).
    pub const GLOBALS: &[&str] = &[
        CAPTURE_BYTES,
        FORK_CHILD_PID_OFFSET,
        EXIT_GROUP_DEAD_OFFSET,
        FLOOR_TGID,
        TASK_CRED_OFFSET,
        CRED_UID_OFFSET,
        CRED_EUID_OFFSET,
        CRED_SUID_OFFSET,
        TASK_EXIT_CODE_OFFSET,
        EXEC_FILENAME_OFFSET,
    ];
    /// The floor programs (`tracer floor-probe`): a tgid check and nothing else.
    pub const FLOOR_ENTER: &str = "floor_enter";
    pub const FLOOR_EXIT: &str = "floor_exit";
    /// Global: the tgid the floor programs compare with.
    pub const FLOOR_TGID: &str = "FLOOR_TGID";
    /// The floor programs' only map: runs that matched `FLOOR_TGID`.
    pub const FLOOR_HITS: &str = "FLOOR_HITS";
}

/// The kind of a ring-buffer record; every record starts with it.
pub mod kind {
    /// A completed syscall (or one that never returns: `exit`, `exit_group`).
    pub const SYSCALL: u16 = 1;
    /// A new task (thread or process) created by a traced task.
    pub const FORK: u16 = 2;
    /// A traced task exited.
    pub const EXIT: u16 = 3;
    /// A traced task exec'd a new image (or a watched one started): its
    /// new `comm`.
    pub const EXEC: u16 = 4;
    /// A prefix of a syscall's data buffer ([`CaptureRecord`]).
    pub const DATA: u16 = 5;
    /// A path argument of a syscall ([`CaptureRecord`]).
    pub const PATH: u16 = 6;
    /// A completed syscall with its data buffer, in one record: a
    /// [`SyscallRecord`](super::SyscallRecord) of this kind, then a
    /// [`CaptureRecord`](super::CaptureRecord) of kind [`DATA`] and its
    /// bytes. One ring write per captured call, not two.
    pub const SYSCALL_DATA: u16 = 7;
    /// A structure behind a pointer argument ([`CaptureRecord`], `arg`
    /// names the argument; see [`super::StructSpec`]). Two of one
    /// argument (an in-out length, at enter and at exit) are joined.
    pub const STRUCT: u16 = 8;
    /// A signal delivered to a traced task ([`SignalRecord`]).
    pub const SIGNAL: u16 = 9;
    /// A user stack seen for the first time (`-k`): a [`StackRecord`],
    /// its return addresses, then as many [`BuildIdFrame`]s.
    pub const STACK: u16 = 10;
    /// The file a traced process exec'd (`-k`): a [`CaptureRecord`] whose
    /// `tid` is the process and whose bytes are the path as given to
    /// `execve`.
    pub const EXEC_FILE: u16 = 11;
}

/// `SyscallRecord::flags`: the syscall did not return (`exit_group`, a
/// successful `execve` seen from the old image is *not* this: it returns).
pub const FLAG_NO_RETURN: u16 = 1;

/// `TaskRecord::flags`: this exit ends the whole thread group.
pub const FLAG_GROUP_DEAD: u16 = 1;

/// `TaskRecord::flags` of an EXEC: `parent_tid` holds the process's owner
/// as the kernel saw it at exec, read from its credentials: the uid when
/// its real, effective and saved uids are one, else [`OWNER_MIXED`]. Not
/// set when the loader could not find the credentials' layout.
pub const FLAG_OWNER: u16 = 2;

/// The owner of a process whose real, effective and saved uids differ (a
/// setuid program, say): only root may record it. `(uid_t)-1` is no
/// user's uid (`setuid(-1)` means "leave it").
pub const OWNER_MIXED: u32 = u32::MAX;

/// `TaskRecord::flags` of an EXIT: `parent_tid` holds the task's exit
/// status as `wait(2)` encodes it (`code << 8`, or the signal number,
/// `| 0x80` with a core dump), read from its `exit_code`. Not set when the
/// loader could not find `exit_code` in the kernel's layout.
pub const FLAG_EXIT_STATUS: u16 = 4;

/// One completed syscall, as written by `sys_exit` into the ring buffer.
///
/// 96 bytes: small enough that a million syscalls a second is 96 MB/s of ring
/// traffic, which userspace can drain on one core.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyscallRecord {
    /// Always [`kind::SYSCALL`].
    pub kind: u16,
    /// `FLAG_*` bits.
    pub flags: u16,
    /// Syscall number (x86_64 numbering).
    pub nr: i32,
    pub tgid: u32,
    pub tid: u32,
    /// `CLOCK_MONOTONIC` nanoseconds at `sys_enter`.
    pub enter_ns: u64,
    /// `CLOCK_MONOTONIC` nanoseconds at `sys_exit`; 0 when it never returned.
    pub exit_ns: u64,
    /// Raw return value (`-errno` on failure).
    pub ret: i64,
    pub args: [u64; MAX_ARGS],
    /// `-k`: the id of the call's user stack (a [`StackRecord`] sent
    /// earlier); 0 when none was taken.
    pub stack: u64,
}

/// A task lifecycle record: [`kind::FORK`], [`kind::EXIT`] or [`kind::EXEC`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskRecord {
    pub kind: u16,
    /// `FLAG_GROUP_DEAD` for the last thread of a process to exit,
    /// `FLAG_EXIT_STATUS` for an EXIT that carries its status;
    /// `FLAG_OWNER` for an EXEC that carries its owner.
    pub flags: u16,
    /// For FORK: the tid of the new task. For EXIT: the exiting tid.
    pub tid: u32,
    /// For FORK: the parent's tgid. For EXIT: the exiting task's tgid.
    pub tgid: u32,
    /// For FORK: the parent's tid. For EXIT: the exit status (see
    /// [`FLAG_EXIT_STATUS`]), else 0. For EXEC: the owner (see
    /// [`FLAG_OWNER`]), else 0. One slot with a meaning per kind keeps
    /// every task record at 40 bytes.
    pub parent_tid: u32,
    pub ts_ns: u64,
    /// `comm` of the task at the time of the record.
    pub comm: [u8; 16],
}

/// A signal about to be handled by a traced task (its handler runs next,
/// or its default action), from the `signal_deliver` tracepoint, in the
/// receiving task's context. SIGKILL is not recorded: ptrace never stops
/// a task for it, so strace shows no delivery line for it either.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignalRecord {
    /// Always [`kind::SIGNAL`].
    pub kind: u16,
    pub _pad: u16,
    pub tid: u32,
    pub tgid: u32,
    pub _pad2: u32,
    pub ts_ns: u64,
    /// The first [`SIGINFO_BYTES`] bytes of the kernel's `siginfo`: the
    /// number, errno and code, and the union saying where it came from.
    pub info: [u8; SIGINFO_BYTES],
}

/// Bytes of `siginfo` a [`SignalRecord`] carries: up to and including
/// SIGCHLD's `si_stime`, the last field strace shows.
pub const SIGINFO_BYTES: usize = 48;

/// Header of a variable-size capture record ([`kind::DATA`],
/// [`kind::PATH`]); `len` bytes follow it.
///
/// Paths are records of their own, emitted at `sys_enter` (an `execve`'s
/// are gone by its exit); userspace attaches them to the next syscall
/// record of the same tid with the same `nr`. Data buffers, read and
/// written alike, are taken at `sys_exit` (a written buffer still holds
/// what was written) and travel inside their syscall's record
/// ([`kind::SYSCALL_DATA`]), after the [`SyscallRecord`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CaptureRecord {
    pub kind: u16,
    /// Argument position (paths) or of the buffer (data).
    pub arg: u8,
    /// `CAPTURE_*` flags.
    pub flags: u8,
    pub tid: u32,
    pub nr: i32,
    /// Bytes that follow the header.
    pub len: u32,
}

/// `CaptureRecord::flags`: the syscall moved more bytes than were captured
/// (or the path is longer than the capture).
pub const CAPTURE_TRUNCATED: u8 = 1;
/// `CaptureRecord::flags`: reading the target's memory failed (`EFAULT`:
/// a page not resident); `len` is 0.
pub const CAPTURE_FAULT: u8 = 2;

/// What to do with one syscall number: the `CAPTURE` array, indexed by
/// syscall number (numbers outside the table use slot [`capture::OTHER`])
/// and filled by the loader from the syscall table and the `-e` set.
/// `sys_enter` reads it once, right after the tgid check: a syscall not in
/// the set costs no more than that lookup.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CaptureSpec {
    /// A `capture::DATA_*` mode.
    pub data: u8,
    /// Bit `i` set: argument `i` is a NUL-terminated path.
    pub paths: u8,
    /// Non-zero: record this syscall (it is in the `-e` set, or a feature
    /// that is on needs it).
    pub record: u8,
    /// Non-zero: some entry of `structs` is taken at exit.
    pub exit_structs: u8,
    /// Non-zero: take its user stack at enter (`-k`, and the `-e` set
    /// selects it).
    pub stack: u8,
    pub _pad: u8,
    /// The structures behind pointer arguments to capture (entries whose
    /// `size` is `structs::NONE` are unused).
    pub structs: [StructSpec; structs::MAX],
}

/// One structure to capture behind a pointer argument: a row of the
/// struct-capture table (`tracer/src/syscalls/structs.rs`), in the form
/// both sources follow.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StructSpec {
    /// The argument that holds the pointer.
    pub arg: u8,
    /// `structs::ENTER`, `structs::EXIT`, `structs::SUCCESS` bits.
    pub flags: u8,
    /// How the size is found: a `structs::SIZE_*` (or `NONE`: unused).
    pub size: u8,
    /// For `SIZE_ARG` and `SIZE_DEREF`: the argument holding the size
    /// (its value, or a pointer to an `int` holding it).
    pub size_arg: u8,
    /// For `SIZE_FIXED`: the size; for every other kind, the most bytes
    /// taken (or elements walked).
    pub bytes: u16,
    /// For `SIZE_ARG`: the size argument counts elements of `1 << shift`
    /// bytes (`poll`'s `nfds` of 8-byte `pollfd`s); 0 for bytes.
    pub shift: u8,
    pub _pad: u8,
    /// With `structs::STACK`: where the structure is, from the stack
    /// pointer at entry.
    pub offset: u16,
}

/// Struct capture: when, how big, and the limits both sources share.
pub mod structs {
    /// Entries of `CaptureSpec::structs`.
    pub const MAX: usize = 3;
    /// Taken at `sys_enter` (what the call reads).
    pub const ENTER: u8 = 1;
    /// Taken at `sys_exit` (what the call wrote).
    pub const EXIT: u8 = 2;
    /// Only when the call succeeded (`ret >= 0`; `ret > 0` for `SIZE_RET`).
    pub const SUCCESS: u8 = 4;
    /// The structure is not behind argument `arg` but at the stack
    /// pointer plus `offset`, at entry (`rt_sigreturn`'s signal frame);
    /// `arg` is the position it is shown at. With `ENTER` only.
    pub const STACK: u8 = 8;
    /// Unused entry.
    pub const NONE: u8 = 0;
    /// `bytes` bytes.
    pub const SIZE_FIXED: u8 = 1;
    /// As many bytes as argument `size_arg` says (times `1 << shift`), at
    /// most `bytes`.
    pub const SIZE_ARG: u8 = 2;
    /// As many bytes as the call returned, at most `bytes`.
    pub const SIZE_RET: u8 = 3;
    /// As many bytes as the `int` argument `size_arg` points to holds (a
    /// `socklen_t *`), at most `bytes`.
    pub const SIZE_DEREF: u8 = 4;
    /// Not bytes but a count: the `linux_dirent64` records in the `ret`
    /// bytes at the pointer, walked by their `d_reclen` (at most `bytes`
    /// records), captured as a native `u32`.
    pub const DIRENT_COUNT: u8 = 5;
    /// A NULL-terminated array of string pointers (`argv`): each string's
    /// first [`STR_BYTES`] bytes and a NUL, for at most `bytes` elements.
    pub const STR_ARRAY: u8 = 6;
    /// A NULL-terminated array of pointers (`envp`), counted: the number
    /// of elements before the NULL (at most `bytes`) as a native `u32`.
    pub const PTR_COUNT: u8 = 7;
    /// Most bytes of one string of a `STR_ARRAY`: one more than strace
    /// shows (32), so that a longer string is known to be cut.
    pub const STR_BYTES: u32 = 33;
    /// Most bytes of one structure capture.
    pub const MAX_BYTES: u32 = 4096;
}

/// Capture modes and limits.
pub mod capture {
    /// Nothing.
    pub const NONE: u8 = 0;
    /// `write`/`pwrite64`/`sendto`: `args[1]` points to `args[2]` bytes
    /// (read at exit, where the buffer still holds them).
    pub const BUF_IN: u8 = 1;
    /// `read`/`pread64`/`recvfrom`: `args[1]` holds `ret` bytes at exit.
    pub const BUF_OUT: u8 = 2;
    /// `writev`: `args[1]` is an iovec array of `args[2]` entries.
    pub const IOV_IN: u8 = 3;
    /// `readv`: as `IOV_IN`, `ret` bytes at exit.
    pub const IOV_OUT: u8 = 4;
    /// `sendmsg`: `args[1]` is a `struct msghdr`.
    pub const MSG_IN: u8 = 5;
    /// `recvmsg`: as `MSG_IN`, `ret` bytes at exit.
    pub const MSG_OUT: u8 = 6;
    /// Size of the `CAPTURE` array: syscall numbers at or above are not
    /// captured.
    pub const SYSCALLS: u32 = 512;
    /// The slot of every syscall number outside `0..OTHER` (x32 numbers,
    /// numbers newer than the table): recorded when the `-e` set selects
    /// numbers beyond the table. No x86_64 syscall has this number.
    pub const OTHER: u32 = SYSCALLS - 1;
    /// Hard cap of `--capture-bytes`.
    pub const MAX_DATA: u32 = 4096;
    /// Most bytes of one path (`PATH_MAX`).
    pub const MAX_PATH: u32 = 4096;
    /// Most iovec entries gathered from one vectored call.
    pub const MAX_IOV: u32 = 8;
}

/// Pending syscall of one thread, stored at `sys_enter`, consumed at
/// `sys_exit`, in slot `tid % INFLIGHT_SLOTS` of the `INFLIGHT` array.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Inflight {
    pub enter_ns: u64,
    /// Syscall number, or -1 once consumed by `sys_exit`.
    pub nr: i64,
    pub args: [u64; MAX_ARGS],
    /// The thread the slot holds a syscall of.
    pub tid: u32,
    /// The `capture::*` mode of the data buffer, taken at exit (inputs
    /// and outputs alike), from the spec read at enter, so that exit needs
    /// no second lookup.
    pub exit_data: u8,
    /// Non-zero: the spec has structures to take at exit
    /// (`CaptureSpec::exit_structs`), read again from `CAPTURE` then.
    pub exit_structs: u8,
    /// The path arguments (a bit per position, as `CaptureSpec::paths`)
    /// that `sys_enter` could not read, their page not yet faulted in:
    /// `sys_exit` reads them again, the kernel having faulted them in.
    pub reread_paths: u8,
    /// Never written, so 0: `sys_exit` reads the three bytes before it and
    /// this one as one word to tell whether anything is due at exit.
    pub _pad: u8,
    /// `-k`: the id of the user stack taken at enter, or 0.
    pub stack: u64,
}

/// Slots of the `INFLIGHT` array (a power of two). Two threads share a
/// slot only when their tids are equal modulo this, which cannot happen
/// while `kernel.pid_max` is at most this; above it, a thread entering a
/// syscall while the slot's other thread is still in one costs that
/// other thread's record, counted as lost.
pub const INFLIGHT_SLOTS: u32 = 1 << 16;

/// Indices of the per-CPU `COUNTERS` array.
pub mod counter {
    /// Syscall records that could not be reserved in the ring buffer (ring
    /// full), or whose `INFLIGHT` slot another thread took.
    pub const LOST_SYSCALLS: u32 = 0;
    /// Capture records (paths, data) that did not fit in the ring: their
    /// syscall may still have been recorded, showing pointers instead.
    pub const LOST_CAPTURES: u32 = 1;
    /// Task records (fork, exit, exec) that did not fit in the ring.
    pub const LOST_TASKS: u32 = 2;
    /// Syscalls of traced tasks not recorded because the `-e` set leaves
    /// them out (the observer cost still counts their check).
    pub const FILTERED: u32 = 3;
    /// `-k`: stack records that did not fit in the ring; their syscalls
    /// are recorded without a stack.
    pub const LOST_STACKS: u32 = 4;
    /// Number of slots in the array.
    pub const COUNT: u32 = 5;
}

/// Header of a [`kind::STACK`] record: `frames` return addresses (`u64`,
/// innermost first, the first being where the syscall was made) follow
/// it, then `build_ids` [`BuildIdFrame`]s for the same frames.
///
/// The kernel sends a stack once per distinct stack of a process (its
/// `id`, a hash of the process and the addresses); syscall records name
/// it by `id`. The build-id frames are the kernel's own resolution of
/// each address to a file (by build id) and an offset in it, made while
/// the process was alive: what names a stack of a process that exited
/// before userspace could read its maps.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StackRecord {
    pub kind: u16,
    /// `STACK_*` flags.
    pub flags: u16,
    pub frames: u16,
    pub build_ids: u16,
    pub tgid: u32,
    pub tid: u32,
    pub id: u64,
}

/// `StackRecord::flags`: the stack goes on beyond its last frame: the walk
/// filled every frame it had room for, or the frame-pointer chain broke
/// (unreadable memory, a pointer that does not go up the stack: code
/// without frame pointers) instead of ending at a zero one.
pub const STACK_CUT: u16 = 1;

/// The kernel's `struct bpf_stack_build_id`: a frame resolved to a build
/// id and an offset in that file (`status` [`stack::BUILD_ID_VALID`]), or
/// left as an address (`BUILD_ID_IP`) when it could not be.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BuildIdFrame {
    pub status: i32,
    pub build_id: [u8; 20],
    /// The offset in the file for a valid frame, else the address.
    pub offset_or_ip: u64,
}

/// User stacks (`-k`).
pub mod stack {
    /// Most frames walked (the kernel's walk and the ptrace one).
    pub const MAX_FRAMES: u32 = 64;
    /// Distinct stacks the kernel remembers as sent (least recently used
    /// ones are forgotten, and sent again when they recur).
    pub const SEEN_ENTRIES: u32 = 1 << 14;
    /// `BuildIdFrame::status`: `build_id` and the offset are valid.
    pub const BUILD_ID_VALID: i32 = 1;
    /// `BuildIdFrame::status`: only the address is known.
    pub const BUILD_ID_IP: i32 = 2;
}

/// Values of the `TRACED` map (keyed by tgid).
pub mod traced {
    /// Not traced.
    pub const OFF: u8 = 0;
    /// The tgid is traced: record its syscalls.
    pub const ON: u8 = 1;
    /// A launched child between fork and exec: its syscalls are tracer's
    /// own plumbing, so recording starts with its `execve` (which flips
    /// the value to `ON`), as in strace.
    pub const AT_EXEC: u8 = 2;
}

#[cfg(feature = "user")]
mod pod {
    // SAFETY: plain-old-data, `repr(C)`, every bit pattern is valid.
    unsafe impl aya::Pod for super::Inflight {}
    unsafe impl aya::Pod for super::SyscallRecord {}
    unsafe impl aya::Pod for super::TaskRecord {}
    unsafe impl aya::Pod for super::CaptureRecord {}
    unsafe impl aya::Pod for super::SignalRecord {}
    unsafe impl aya::Pod for super::CaptureSpec {}
    unsafe impl aya::Pod for super::StructSpec {}
    unsafe impl aya::Pod for super::StackRecord {}
    unsafe impl aya::Pod for super::BuildIdFrame {}
}

const _: () = assert!(core::mem::size_of::<SyscallRecord>() == 96);
const _: () = assert!(core::mem::size_of::<StackRecord>() == 24);
const _: () = assert!(core::mem::size_of::<BuildIdFrame>() == 32);
const _: () = assert!(core::mem::size_of::<TaskRecord>() == 40);
const _: () = assert!(INFLIGHT_SLOTS.is_power_of_two());
const _: () = assert!(core::mem::size_of::<CaptureRecord>() == 16);
// Four flag bytes, `stack` and its pad, three 10-byte `StructSpec`s.
const _: () = assert!(core::mem::size_of::<StructSpec>() == 10);
const _: () = assert!(core::mem::size_of::<CaptureSpec>() == 36);
const _: () = assert!(core::mem::size_of::<SignalRecord>() == 72);
