//! The event model shared by every source (eBPF, ptrace) and every sink
//! (text, summary, exports): sources only decide where events come from.

use tracer_common::MAX_ARGS;

/// One syscall of one thread, from enter to exit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyscallEvent {
    pub tgid: u32,
    pub tid: u32,
    /// x86_64 syscall number.
    pub nr: u32,
    pub args: [u64; MAX_ARGS],
    /// `CLOCK_MONOTONIC` nanoseconds at entry.
    pub enter_ns: u64,
    /// `CLOCK_MONOTONIC` nanoseconds at exit; `None` when the syscall never
    /// returned (`exit_group`) or the trace ended first.
    pub exit_ns: Option<u64>,
    /// Raw return value (negative errno on failure); `None` like `exit_ns`.
    pub ret: Option<i64>,
    /// Strings read from the target's memory for pointer arguments (paths),
    /// where the source could read them. Boxed: most events have none.
    pub strings: Option<Box<ArgStrings>>,
}

/// A string argument as read from the target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgString {
    /// Without the terminating NUL.
    pub bytes: Vec<u8>,
    /// The string goes on beyond `bytes` (read limit reached).
    pub truncated: bool,
}

/// Per argument position, the string read for it, if any.
pub type ArgStrings = [Option<ArgString>; MAX_ARGS];

impl SyscallEvent {
    /// Time spent in the syscall, when it returned.
    pub fn duration_ns(&self) -> Option<u64> {
        self.exit_ns.map(|exit| exit.saturating_sub(self.enter_ns))
    }

    /// The errno of a failed syscall (`ret` in `-4095..0`, the kernel's
    /// error range; larger negative values are addresses, e.g. from mmap).
    pub fn errno(&self) -> Option<i32> {
        match self.ret {
            Some(ret) if (-4095..0).contains(&ret) => Some(-ret as i32),
            _ => None,
        }
    }
}

/// A task appeared or went away.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskEvent {
    /// `parent_tid` (of process `parent_tgid`) created task `tid`. Whether it
    /// is a thread or a process is known once `tid`'s own events arrive.
    Spawned {
        ts_ns: u64,
        parent_tgid: u32,
        parent_tid: u32,
        tid: u32,
        comm: String,
    },
    /// Task `tid` of `tgid` exited; `group_dead` when the process is gone.
    Exited {
        ts_ns: u64,
        tgid: u32,
        tid: u32,
        group_dead: bool,
        comm: String,
    },
}

/// Everything a source produces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Syscall(SyscallEvent),
    Task(TaskEvent),
}

/// Parse a kernel `comm` (NUL-padded) into a string.
pub fn comm_from_bytes(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}
