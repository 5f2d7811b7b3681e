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
    /// Bytes read from the target's memory for pointer arguments, by
    /// position, where the source could read them: the strings of path
    /// arguments, and the structures behind pointers that
    /// `crate::syscalls::structs` lists (`struct stat`, a socket address,
    /// ...). Boxed: most events have none.
    pub strings: Option<Box<ArgStrings>>,
    /// A prefix of the data the syscall transferred (`read`/`write`/`send`/
    /// `recv` families), where the source captured it. Boxed: most events
    /// have none.
    pub data: Option<Box<DataCapture>>,
    /// The request the thread was serving when it made this syscall. Set by
    /// the pipeline's attribution step (or read back from a recording),
    /// never by sources.
    pub request: Option<RequestId>,
    /// The user stack at entry (`-k`), where the source took one. Boxed:
    /// most events have none.
    pub stack: Option<Box<crate::stacks::UserStack>>,
}

/// A request ID, shared by every event attributed to it.
pub type RequestId = std::sync::Arc<str>;

/// The first bytes of a syscall's data buffer. For reads, only what the
/// kernel filled (at most the return value); for writes, what was passed.
/// Vectored calls (`readv`, `writev`, `sendmsg`, `recvmsg`) are gathered
/// across their buffers in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataCapture {
    pub bytes: Vec<u8>,
    /// The syscall transferred more than `bytes`.
    pub truncated: bool,
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

/// The owner of a process, as far as recording it goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// Its real, effective and saved uids are all this uid.
    Uid(u32),
    /// Its uids differ (a setuid program, say): only root may record it.
    Mixed,
}

/// A task appeared, was signalled, or went away.
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
    /// Task `tid` of `tgid` is known, from `ts_ns` on, by name `comm`: an
    /// existing thread of an attached process, or a task that just exec'd
    /// a new image.
    Named {
        ts_ns: u64,
        tgid: u32,
        tid: u32,
        comm: String,
        /// Who owned the process at that moment, when the source knows
        /// (eBPF reads it from the credentials at exec): the daemon decides
        /// who may record it from this, not from `/proc`, where a
        /// short-lived process may already be gone. Not recorded in files.
        owner: Option<Owner>,
    },
    /// Task `tid` of `tgid` exited; `group_dead` when the process is gone.
    Exited {
        ts_ns: u64,
        tgid: u32,
        tid: u32,
        group_dead: bool,
        comm: String,
        /// How it ended, as `wait(2)` encodes it: `code << 8` for an exit
        /// with `code`, the signal number (`| 0x80` when it dumped core)
        /// for a kill. `None` when the source did not know (recordings
        /// made before it was kept, a kernel layout the loader could not
        /// read).
        status: Option<i32>,
    },
    /// A signal was delivered to task `tid` of `tgid` (strace's
    /// `--- SIGCHLD {...} ---`): it is about to run the handler, or the
    /// default action.
    Signal {
        ts_ns: u64,
        tgid: u32,
        tid: u32,
        info: SigInfo,
    },
    /// Task `tid` of `tgid` entered a group-stop (job control) by signal
    /// `signo` (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU): strace's `--- stopped
    /// by SIGSTOP ---`. ptrace only: the kernel has no tracepoint there.
    Stopped {
        ts_ns: u64,
        tgid: u32,
        tid: u32,
        signo: i32,
    },
}

/// A delivered signal's `siginfo_t`, as far as the kernel fills it: the
/// three leading ints, then the union that says where the signal came
/// from, kept raw (four words from byte 16) because which of its fields
/// are meaningful depends on `signo` and `code`; the renderer
/// (`crate::syscalls::format::write_siginfo`) picks them as strace does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigInfo {
    pub signo: i32,
    pub errno: i32,
    pub code: i32,
    /// `siginfo_t` bytes 16..48, native-endian words: `si_pid | si_uid
    /// << 32`, then `si_status` or the `sigval`, `si_utime`, `si_stime`
    /// for SIGCHLD; `si_addr` first for faults.
    pub fields: [u64; 4],
}

impl SigInfo {
    /// Bytes of `siginfo_t` that [`SigInfo`] keeps.
    pub const BYTES: usize = tracer_common::SIGINFO_BYTES;

    /// From the first [`SigInfo::BYTES`] bytes of a `siginfo_t`.
    pub fn from_bytes(bytes: &[u8; Self::BYTES]) -> Self {
        let int = |at: usize| i32::from_ne_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        let word = |at: usize| u64::from_ne_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
        Self {
            signo: int(0),
            errno: int(4),
            code: int(8),
            fields: [word(16), word(24), word(32), word(40)],
        }
    }
}

impl TaskEvent {
    /// The task it is about (the new one, for `Spawned`).
    pub fn tid(&self) -> u32 {
        match self {
            Self::Spawned { tid, .. }
            | Self::Named { tid, .. }
            | Self::Exited { tid, .. }
            | Self::Signal { tid, .. }
            | Self::Stopped { tid, .. } => *tid,
        }
    }

    /// The process it is about (the creator's, for `Spawned`, whose own
    /// is known only from its first events).
    pub fn tgid(&self) -> u32 {
        match self {
            Self::Spawned { parent_tgid, .. } => *parent_tgid,
            Self::Named { tgid, .. }
            | Self::Exited { tgid, .. }
            | Self::Signal { tgid, .. }
            | Self::Stopped { tgid, .. } => *tgid,
        }
    }

    /// When it happened (`CLOCK_MONOTONIC` ns).
    pub fn ts_ns(&self) -> u64 {
        match self {
            Self::Spawned { ts_ns, .. }
            | Self::Named { ts_ns, .. }
            | Self::Exited { ts_ns, .. }
            | Self::Signal { ts_ns, .. }
            | Self::Stopped { ts_ns, .. } => *ts_ns,
        }
    }
}

/// Everything a source produces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Syscall(SyscallEvent),
    Task(TaskEvent),
}

/// Something request attribution found wrong: a thread serving one request
/// wrote bytes that carry another request's ID (a response or log line
/// built from a reused buffer: the cross-request leak).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anomaly {
    /// `request_bleed` for now; a string so that recordings and JSON stay
    /// readable as kinds are added.
    pub kind: String,
    pub tgid: u32,
    pub tid: u32,
    pub fd: i32,
    /// `enter_ns` of the syscall that carried the foreign ID.
    pub ts_ns: u64,
    /// The request the thread was attributed to.
    pub attributed: RequestId,
    /// The request ID found in the bytes it wrote.
    pub found: RequestId,
}

/// Parse a kernel `comm` (NUL-padded) into a string.
pub fn comm_from_bytes(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// What the sources' signal tests run: a Python program that waits for a
/// line on stdin (so that it can be traced first), then sends itself
/// SIGUSR1 and SIGRTMIN+1, both handled, and exits 0.
#[cfg(test)]
pub const SIGNALLING_PROGRAM: &str = "import os, signal, sys\n\
    sys.stdin.readline()\n\
    for s in (signal.SIGUSR1, signal.SIGRTMIN + 1):\n    \
    signal.signal(s, lambda *a: None)\n    \
    os.kill(os.getpid(), s)\n";

/// The signals delivered to process `pid` in `events`: `(signo, code,
/// si_pid)`.
#[cfg(test)]
pub fn signals_of(events: &[Event], pid: u32) -> Vec<(i32, i32, u32)> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::Task(TaskEvent::Signal { tgid, info, .. }) if *tgid == pid => {
                Some((info.signo, info.code, info.fields[0] as u32))
            }
            _ => None,
        })
        .collect()
}
