//! The bytes of a recording, and nothing else: what a record is, how it is
//! framed, and what can be wrong with a file.
//!
//! ```text
//! file   := MAGIC(8) VERSION(u32 LE) frame*
//! frame  := len(LEB128 u32) crc32(u32 LE, of payload) payload(len bytes)
//! payload:= postcard(Record)
//! ```
//!
//! The first frame holds a [`Record::Header`], the last of a finished
//! recording a [`Record::End`]. Everything in between is streamed as it
//! happens, so a file cut short anywhere is readable up to its last whole
//! frame, and a flipped bit anywhere fails a checksum instead of turning
//! into a plausible wrong event.
//!
//! Compactness comes from postcard's varints plus three tricks here:
//! timestamps are signed deltas from the previous record's timestamp,
//! `exit_ns` is a delta from `enter_ns`, and strings (task names, request
//! IDs, anomaly kinds) are written once as a [`Record::Str`] and referred
//! to by number afterwards.
//!
//! Version 3 added user stacks (`-k`) as two records at the end of
//! [`Record`], so every version-2 record keeps its number and a version-2
//! file reads as before: [`Record::Maps`] (a process's executable
//! mappings with their build ids, written once per distinct set) and
//! [`Record::Stack`] (raw addresses, the maps they belong to, and the
//! names found when the recording was made), which comes right before the
//! `Syscall` record whose stack it is.
//!
//! Version 4 added exit statuses (#16): [`Record::ExitedWith`], at the
//! end of [`Record`], is an `Exited` with the task's wait status; an exit
//! whose status is unknown is still written as `Exited`, which is how
//! every exit of an older file reads (status unknown). Version 5 added
//! signal deliveries, [`Record::Signal`], after it, and version 6
//! group-stops, [`Record::Stopped`], after that.

use serde::{Deserialize, Serialize};

/// The first bytes of every recording.
pub const MAGIC: &[u8; 8] = b"TRACEREC";

/// The format version this build writes and reads. Bump it on any change
/// to [`Record`] or its framing: postcard has no field names to fall back on.
pub const VERSION: u32 = 6;

/// The oldest version this build still reads. Version 5 had no
/// group-stops (`Stopped` is new in 6), version 4 no signals
/// (`Signal` is new in 5), version 3 no exit statuses (`ExitedWith` is
/// new in 4), version 2 no stacks (the `Maps` and `Stack` records are new
/// in 3); nothing else changed. Version 1 differs from 2 in its end
/// record only ([`EndRecordV1`]): recordings made before the lost counts
/// were split stay readable.
pub const OLDEST_READABLE: u32 = 1;

/// A payload larger than this is not something tracer wrote (a captured
/// payload is at most a few pages): it is a corrupt length, and must not
/// make the reader try to allocate gigabytes.
pub const MAX_PAYLOAD: u32 = 64 << 20;

/// Interned strings the writer keeps before it starts over with a
/// [`Record::ClearStrings`], and the most a reader accepts: this bounds the
/// memory of both ends whatever the number of distinct request IDs.
pub const MAX_STRINGS: usize = 1 << 16;

/// The same for the bytes of those strings together (request IDs are
/// whatever a pattern captured, so their length is the data's to choose).
pub const MAX_STRING_BYTES: usize = 16 << 20;

/// What is known about a recording before its first event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Format version of the file (the writer's [`VERSION`]).
    pub version: u32,
    /// Host name of the machine the recording was made on.
    pub host: String,
    /// Kernel release (`uname -r`).
    pub kernel: String,
    /// `ebpf` or `ptrace`.
    pub mode: String,
    /// The launched command and its arguments; empty when attached.
    pub command: Vec<String>,
    /// Processes attached with `-p`.
    pub targets: Vec<u32>,
    /// `CLOCK_MONOTONIC` ns when recording started: the zero of `--since`.
    pub start_ns: u64,
    /// `CLOCK_REALTIME - CLOCK_MONOTONIC` at start, to show wall-clock
    /// times of a recording made on another boot or machine.
    pub realtime_offset_ns: i64,
    /// `CLOCK_BOOTTIME - CLOCK_MONOTONIC` at start (time spent suspended),
    /// to line events up with `BOOTTIME` sources such as kernel logs.
    pub boottime_offset_ns: i64,
    /// Captured data was kept whole (`--keep-payload`), not trimmed.
    pub keep_payload: bool,
}

/// One frame's payload.
#[derive(Debug, Serialize, Deserialize)]
pub enum Record<'a> {
    Header(Header),
    /// Defines the next string number (0, 1, …) as this text.
    Str(&'a str),
    /// Forget every string number: the next `Str` is number 0 again.
    ClearStrings,
    #[serde(borrow)]
    Syscall(SyscallFrame<'a>),
    Spawned {
        ts: i64,
        parent_tgid: u32,
        parent_tid: u32,
        tid: u32,
        comm: u32,
    },
    Named {
        ts: i64,
        tgid: u32,
        tid: u32,
        comm: u32,
    },
    Exited {
        ts: i64,
        tgid: u32,
        tid: u32,
        group_dead: bool,
        comm: u32,
    },
    Anomaly {
        kind: u32,
        tgid: u32,
        tid: u32,
        fd: i32,
        ts: i64,
        attributed: u32,
        found: u32,
    },
    /// Events lost by the source so far (a running total), for writers
    /// that learn it before the end (the daemon).
    Lost(u64),
    /// The run's totals; the last record of a finished recording.
    End(EndRecord),
    /// Defines maps number `id` (replacing an earlier one of that number).
    #[serde(borrow)]
    Maps(MapsFrame<'a>),
    /// The user stack of the next `Syscall` record.
    Stack(StackFrame),
    /// An exit with its wait status (`crate::event::TaskEvent::Exited`'s
    /// `status`).
    ExitedWith {
        ts: i64,
        tgid: u32,
        tid: u32,
        group_dead: bool,
        comm: u32,
        status: i32,
    },
    /// A signal delivery (`crate::event::TaskEvent::Signal`), its
    /// `siginfo_t` as [`crate::event::SigInfo`] keeps it.
    Signal {
        ts: i64,
        tgid: u32,
        tid: u32,
        signo: i32,
        errno: i32,
        code: i32,
        fields: [u64; 4],
    },
    /// A group-stop (`crate::event::TaskEvent::Stopped`): new in 6.
    Stopped {
        ts: i64,
        tgid: u32,
        tid: u32,
        signo: i32,
    },
}

/// Maps numbers a reader accepts: writers start over below this.
pub const MAX_MAPS: u32 = 1 << 12;

/// A process's executable mappings (`crate::stacks::ProcessMaps`).
#[derive(Debug, Serialize, Deserialize)]
pub struct MapsFrame<'a> {
    pub id: u32,
    pub tgid: u32,
    #[serde(borrow)]
    pub mappings: Vec<MappingFrame<'a>>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct MappingFrame<'a> {
    pub start: u64,
    pub end: u64,
    pub offset: u64,
    pub path: &'a str,
    #[serde(with = "serde_bytes", borrow)]
    pub build_id: Option<&'a [u8]>,
}

/// A user stack (`crate::stacks::UserStack`).
#[derive(Debug, Serialize, Deserialize)]
pub struct StackFrame {
    /// Maps number, when the source had maps.
    pub maps: Option<u32>,
    pub ips: Vec<u64>,
    pub truncated: bool,
    /// Per frame, `(string number of the function, offset in it)` as
    /// symbolized when the recording was made; empty when it was not.
    pub symbols: Vec<Option<(u32, u64)>>,
}

/// A [`crate::event::SyscallEvent`] as a recording stores it, with times
/// as deltas. Not to be confused with `tracer_common::SyscallRecord`, the
/// fixed-layout struct the kernel side writes into the ring buffer.
#[derive(Debug, Serialize, Deserialize)]
pub struct SyscallFrame<'a> {
    pub tid: u32,
    /// `tgid - tid`: 0 for a process's main thread, small otherwise.
    pub tgid_delta: i64,
    pub nr: u32,
    /// Bit `i` set: argument `i` is the same as in the thread's previous
    /// syscall (see [`ArgsCache`]) and written as 0. Unused arguments hold
    /// whatever was in the registers, often the same large pointers call
    /// after call: this turns ~8 bytes each into 1.
    pub same_args: u8,
    pub args: [u64; 6],
    /// `enter_ns` minus the previous record's timestamp.
    pub enter: i64,
    /// `exit_ns - enter_ns` (wrapping).
    pub exit: Option<u64>,
    pub ret: Option<i64>,
    #[serde(borrow)]
    pub strings: Option<[Option<Bytes<'a>>; 6]>,
    #[serde(borrow)]
    pub data: Option<Bytes<'a>>,
    /// String number of the request ID.
    pub request: Option<u32>,
}

/// The previous arguments of recent threads, kept alike by writer and
/// reader: a fixed table indexed by `tid`, so its memory is bounded
/// whatever the number of threads (a collision only costs bytes).
pub struct ArgsCache {
    slots: Vec<Option<(u32, [u64; 6])>>,
}

impl Default for ArgsCache {
    fn default() -> Self {
        Self {
            slots: vec![None; Self::SLOTS],
        }
    }
}

impl ArgsCache {
    const SLOTS: usize = 1024;

    /// The previous arguments of `tid`, if still known.
    pub fn get(&self, tid: u32) -> Option<&[u64; 6]> {
        match &self.slots[tid as usize % Self::SLOTS] {
            Some((t, args)) if *t == tid => Some(args),
            _ => None,
        }
    }

    pub fn set(&mut self, tid: u32, args: [u64; 6]) {
        self.slots[tid as usize % Self::SLOTS] = Some((tid, args));
    }
}

/// Captured bytes (a path argument, a data prefix), borrowed both ways.
#[derive(Debug, Serialize, Deserialize)]
pub struct Bytes<'a> {
    #[serde(with = "serde_bytes", borrow)]
    pub bytes: &'a [u8],
    pub truncated: bool,
}

/// [`crate::pipeline::RunInfo`] without the mode (the header has it).
#[derive(Debug, Serialize, Deserialize)]
pub struct EndRecord {
    pub lost_events: u64,
    /// Since version 2: task records lost, and captures lost while their
    /// syscalls were recorded (`lost_events` counts syscalls only).
    pub lost_tasks: u64,
    pub lost_captures: u64,
    pub syscalls: u64,
    pub start_ns: u64,
    pub end_ns: u64,
    /// `(total_ns, machine_ns, slow_path_ns)` (the third since version 2).
    pub observer: Option<(u64, Option<u64>, Option<u64>)>,
}

/// The end record of version 1: one lost count (syscalls, task records and
/// captures together), and no slow-path cost.
#[derive(Debug, Deserialize)]
pub struct EndRecordV1 {
    pub lost_events: u64,
    pub syscalls: u64,
    pub start_ns: u64,
    pub end_ns: u64,
    pub observer: Option<(u64, Option<u64>)>,
}

impl From<EndRecordV1> for EndRecord {
    fn from(v1: EndRecordV1) -> Self {
        Self {
            // Version 1 could not tell them apart: all of it is reported as
            // lost syscalls, as that version's tracer did.
            lost_events: v1.lost_events,
            lost_tasks: 0,
            lost_captures: 0,
            syscalls: v1.syscalls,
            start_ns: v1.start_ns,
            end_ns: v1.end_ns,
            observer: v1
                .observer
                .map(|(total_ns, machine_ns)| (total_ns, machine_ns, None)),
        }
    }
}

/// The variant index postcard writes first for [`Record::End`] (a
/// one-byte varint), checked by a test against the encoder.
pub const END_TAG: u8 = 9;

/// Why a file cannot be read (further).
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(
        "not a tracer recording (it does not start with {:?})",
        String::from_utf8_lossy(MAGIC)
    )]
    NotARecording,
    #[error(
        "recording format version {found} is not supported (this tracer reads versions {OLDEST_READABLE} to {VERSION})"
    )]
    Version { found: u32 },
    #[error("the recording is cut short inside its header: it holds no events")]
    NoHeader,
    #[error("cut short at byte {offset}: the last record is incomplete")]
    Truncated { offset: u64 },
    #[error("corrupt record at byte {offset}: {reason}")]
    Corrupt { offset: u64, reason: String },
}

impl RecordingError {
    pub(crate) fn corrupt(offset: u64, reason: impl Into<String>) -> Self {
        Self::Corrupt {
            offset,
            reason: reason.into(),
        }
    }
}

/// A postcard output that appends to a reused buffer (postcard's own
/// `to_allocvec` allocates a new one per record).
pub struct Append<'a>(pub &'a mut Vec<u8>);

impl postcard::ser_flavors::Flavor for Append<'_> {
    type Output = ();

    #[inline]
    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        self.0.extend_from_slice(data);
        Ok(())
    }

    #[inline]
    fn try_push(&mut self, data: u8) -> postcard::Result<()> {
        self.0.push(data);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

/// `value` as LEB128 (7 bits a byte, low first): the bytes, and how many.
pub fn varint(mut value: u32) -> ([u8; 5], usize) {
    let mut out = [0; 5];
    let mut n = 0;
    while value >= 0x80 {
        out[n] = value as u8 | 0x80;
        value >>= 7;
        n += 1;
    }
    out[n] = value as u8;
    (out, n + 1)
}

/// Signed delta `to - from` of two `u64` clocks, wrapping (never panics,
/// whatever a corrupt file holds).
pub fn delta(from: u64, to: u64) -> i64 {
    to.wrapping_sub(from) as i64
}

/// Inverse of [`delta`].
pub fn apply(from: u64, delta: i64) -> u64 {
    from.wrapping_add(delta as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_round_trip_and_wrap() {
        for (a, b) in [(0, 5), (5, 0), (u64::MAX, 0), (0, u64::MAX), (7, 7)] {
            assert_eq!(apply(a, delta(a, b)), b);
        }
    }

    #[test]
    fn varints() {
        for (value, bytes) in [
            (0u32, 1),
            (127, 1),
            (128, 2),
            (MAX_PAYLOAD, 4),
            (u32::MAX, 5),
        ] {
            assert_eq!(varint(value).1, bytes, "{value}");
        }
        assert_eq!(varint(300), ([0xac, 0x02, 0, 0, 0], 2));
    }
}
