//! Ring-buffer bytes → [`Event`]. The records are the `repr(C)` structs of
//! `tracer-common`; the first two bytes say which.
//!
//! Paths and structures (and, from older kernel halves, data) arrive as
//! records of their own before the syscall record they belong to; the
//! [`Decoder`] holds them per tid until that record comes. A syscall's
//! data buffer travels inside its record ([`kind::SYSCALL_DATA`]): it goes
//! the same way, just without the wait.
//! Stacks (`-k`) arrive once per distinct stack and are kept in a
//! [`StackTable`] that syscall records name them from.

use std::collections::HashMap;

use tracer_common::{
    BuildIdFrame, CAPTURE_FAULT, CAPTURE_TRUNCATED, CaptureRecord, FLAG_EXIT_STATUS,
    FLAG_GROUP_DEAD, FLAG_NO_RETURN, FLAG_OWNER, MAX_ARGS, OWNER_MIXED, SignalRecord, StackRecord,
    SyscallRecord, TaskRecord, kind,
};

use super::stacks::StackTable;
use crate::event::{
    ArgString, ArgStrings, DataCapture, Event, Owner, SigInfo, SyscallEvent, TaskEvent,
    comm_from_bytes,
};

/// Captures waiting for their syscall record.
#[derive(Debug, Default)]
struct Pending {
    nr: i32,
    strings: Option<Box<ArgStrings>>,
    data: Option<Box<DataCapture>>,
}

impl Pending {
    /// Whether any bytes wait here (a faulted capture leaves none).
    fn holds(&self) -> bool {
        self.data.is_some()
            || self
                .strings
                .as_ref()
                .is_some_and(|strings| strings.iter().any(Option::is_some))
    }
}

/// Turns records into events, pairing captures with their syscalls.
#[derive(Debug, Default)]
pub struct Decoder {
    pending: HashMap<u32, Pending>,
    /// Capture records whose syscall record never came (lost, or the task
    /// died in the call).
    orphaned: u64,
    /// `-k`: the stacks sent so far; `None` when stacks are not taken.
    pub stacks: Option<StackTable>,
}

impl Decoder {
    /// Decodes one record; `None` for a capture (held for its syscall) or
    /// a record this build does not know.
    pub fn record(&mut self, bytes: &[u8]) -> Option<Event> {
        let kind = u16::from_ne_bytes([*bytes.first()?, *bytes.get(1)?]);
        match kind {
            kind::DATA | kind::PATH | kind::STRUCT => {
                self.capture(bytes);
                None
            }
            kind::STACK => {
                self.stack(bytes);
                None
            }
            kind::EXEC_FILE => {
                if let (Some(stacks), Some(header)) =
                    (&mut self.stacks, read::<CaptureRecord>(bytes))
                {
                    let body = &bytes[size_of::<CaptureRecord>()..];
                    stacks.exec_file(header.tid, &body[..(header.len as usize).min(body.len())]);
                }
                None
            }
            _ => {
                if kind == kind::SYSCALL_DATA {
                    // The capture after the syscall part is this call's.
                    self.capture(bytes.get(size_of::<SyscallRecord>()..)?);
                }
                let mut event = record(bytes)?;
                match &mut event {
                    Event::Syscall(ev) => {
                        if let Some(stacks) = &mut self.stacks {
                            let id = read::<SyscallRecord>(bytes).map_or(0, |r| r.stack);
                            if id != 0 {
                                ev.stack = stacks.stack(id);
                            }
                        }
                        // Most calls capture nothing: skip the hashing.
                        if !self.pending.is_empty()
                            && let Some(p) = self.pending.remove(&ev.tid)
                        {
                            if p.nr == ev.nr as i32 {
                                ev.strings = p.strings;
                                ev.data = p.data;
                            } else if p.holds() {
                                self.orphaned += 1;
                            }
                        }
                    }
                    Event::Task(TaskEvent::Exited {
                        tid,
                        tgid,
                        group_dead,
                        ..
                    }) => {
                        if self.pending.remove(tid).is_some_and(|p| p.holds()) {
                            self.orphaned += 1;
                        }
                        if *group_dead && let Some(stacks) = &mut self.stacks {
                            stacks.exited(*tgid);
                        }
                    }
                    Event::Task(TaskEvent::Named { tgid, .. }) => {
                        if let Some(stacks) = &mut self.stacks {
                            stacks.exec(*tgid);
                        }
                    }
                    Event::Task(_) => {}
                }
                Some(event)
            }
        }
    }

    /// Captures dropped so far, and those still waiting for a syscall
    /// record (at the end of a run: calls in flight at detach).
    pub fn orphaned(&self) -> u64 {
        let waiting = self.pending.values().filter(|p| p.holds()).count();
        self.orphaned + waiting as u64
    }

    /// A stack record: kept for the syscall records that name it.
    fn stack(&mut self, bytes: &[u8]) {
        let (Some(stacks), Some(header)) = (&mut self.stacks, read::<StackRecord>(bytes)) else {
            return;
        };
        let body = &bytes[size_of::<StackRecord>()..];
        let frames = usize::from(header.frames).min(body.len() / 8);
        let ips = body[..frames * 8]
            .chunks_exact(8)
            .map(|w| u64::from_ne_bytes(w.try_into().expect("8 bytes")))
            .collect();
        let rest = &body[frames * 8..];
        let resolved: Vec<BuildIdFrame> = rest
            .chunks_exact(size_of::<BuildIdFrame>())
            .take(usize::from(header.build_ids))
            .filter_map(read::<BuildIdFrame>)
            .collect();
        stacks.record(&header, ips, &resolved);
    }

    fn capture(&mut self, bytes: &[u8]) {
        let Some(header) = read::<CaptureRecord>(bytes) else {
            return;
        };
        let body = &bytes[size_of::<CaptureRecord>()..];
        let len = (header.len as usize).min(body.len());
        let pending = self.pending.entry(header.tid).or_default();
        if pending.nr != header.nr && pending.holds() {
            // Left over from a call whose syscall record never came.
            self.orphaned += 1;
            *pending = Pending::default();
        }
        pending.nr = header.nr;
        // A capture already in this slot is from an earlier call of the
        // same syscall whose record never came: it must not be shown with
        // this one, even when this one faulted and brings no bytes.
        let arg = header.arg as usize;
        let stale = match header.kind {
            kind::PATH if arg < MAX_ARGS => pending
                .strings
                .as_mut()
                .is_some_and(|strings| strings[arg].take().is_some()),
            kind::DATA => pending.data.take().is_some(),
            // A second structure of one argument is its exit half.
            _ => false,
        };
        if stale {
            self.orphaned += 1;
        }
        if header.flags & CAPTURE_FAULT != 0 {
            return;
        }
        let truncated = header.flags & CAPTURE_TRUNCATED != 0;
        let bytes = body[..len].to_vec();
        match header.kind {
            kind::PATH if arg < MAX_ARGS => {
                pending.strings.get_or_insert_with(Default::default)[arg] =
                    Some(ArgString { bytes, truncated });
            }
            kind::DATA => pending.data = Some(Box::new(DataCapture { bytes, truncated })),
            kind::STRUCT if arg < MAX_ARGS => {
                let slot = &mut pending.strings.get_or_insert_with(Default::default)[arg];
                match slot {
                    Some(first) => first.bytes.extend_from_slice(&bytes),
                    None => *slot = Some(ArgString { bytes, truncated }),
                }
            }
            _ => {}
        }
    }
}

/// Reads a `T` from the start of `bytes`, if it is long enough.
fn read<T: aya::Pod>(bytes: &[u8]) -> Option<T> {
    if bytes.len() < size_of::<T>() {
        return None;
    }
    // SAFETY: length checked above; `T: Pod` accepts any bit pattern; the
    // read is unaligned-safe.
    Some(unsafe { bytes.as_ptr().cast::<T>().read_unaligned() })
}

/// Decodes one fixed-size record; `None` for a record this build does not
/// know (a truncated record cannot come from the kernel side, which
/// reserves whole structs).
fn record(bytes: &[u8]) -> Option<Event> {
    let kind = u16::from_ne_bytes([*bytes.first()?, *bytes.get(1)?]);
    match kind {
        kind::SYSCALL | kind::SYSCALL_DATA => {
            let r: SyscallRecord = read(bytes)?;
            let returned = r.flags & FLAG_NO_RETURN == 0;
            Some(Event::Syscall(SyscallEvent {
                tgid: r.tgid,
                tid: r.tid,
                nr: r.nr as u32,
                args: r.args,
                enter_ns: r.enter_ns,
                exit_ns: returned.then_some(r.exit_ns),
                ret: returned.then_some(r.ret),
                strings: None,
                data: None,
                request: None,
                stack: None,
            }))
        }
        kind::FORK => {
            let r: TaskRecord = read(bytes)?;
            Some(Event::Task(TaskEvent::Spawned {
                ts_ns: r.ts_ns,
                parent_tgid: r.tgid,
                parent_tid: r.parent_tid,
                tid: r.tid,
                comm: comm_from_bytes(&r.comm),
            }))
        }
        kind::EXEC => {
            let r: TaskRecord = read(bytes)?;
            let owner = (r.flags & FLAG_OWNER != 0).then_some(match r.parent_tid {
                OWNER_MIXED => Owner::Mixed,
                uid => Owner::Uid(uid),
            });
            Some(Event::Task(TaskEvent::Named {
                ts_ns: r.ts_ns,
                tgid: r.tgid,
                tid: r.tid,
                comm: comm_from_bytes(&r.comm),
                owner,
            }))
        }
        kind::SIGNAL => {
            let r: SignalRecord = read(bytes)?;
            Some(Event::Task(TaskEvent::Signal {
                ts_ns: r.ts_ns,
                tgid: r.tgid,
                tid: r.tid,
                info: SigInfo::from_bytes(&r.info),
            }))
        }
        kind::EXIT => {
            let r: TaskRecord = read(bytes)?;
            Some(Event::Task(TaskEvent::Exited {
                ts_ns: r.ts_ns,
                tgid: r.tgid,
                tid: r.tid,
                group_dead: r.flags & FLAG_GROUP_DEAD != 0,
                comm: comm_from_bytes(&r.comm),
                status: (r.flags & FLAG_EXIT_STATUS != 0).then_some(r.parent_tid as i32),
            }))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes_of<T: aya::Pod>(value: &T) -> Vec<u8> {
        // SAFETY: T is Pod; we copy its bytes.
        unsafe { std::slice::from_raw_parts((value as *const T).cast::<u8>(), size_of::<T>()) }
            .to_vec()
    }

    #[test]
    fn decodes_a_syscall_record() {
        let rec = SyscallRecord {
            kind: kind::SYSCALL,
            flags: 0,
            nr: 257,
            tgid: 10,
            tid: 11,
            enter_ns: 100,
            exit_ns: 150,
            ret: -2,
            args: [1, 2, 3, 4, 5, 6],
            stack: 0,
        };
        let Some(Event::Syscall(ev)) = record(&bytes_of(&rec)) else {
            panic!("not a syscall");
        };
        assert_eq!((ev.nr, ev.tgid, ev.tid), (257, 10, 11));
        assert_eq!(ev.duration_ns(), Some(50));
        assert_eq!(ev.errno(), Some(2));
    }

    #[test]
    fn no_return_has_no_exit() {
        let rec = SyscallRecord {
            kind: kind::SYSCALL,
            flags: FLAG_NO_RETURN,
            nr: 231,
            ..Default::default()
        };
        let Some(Event::Syscall(ev)) = record(&bytes_of(&rec)) else {
            panic!("not a syscall");
        };
        assert_eq!((ev.exit_ns, ev.ret), (None, None));
    }

    #[test]
    fn exec_records_carry_their_owner_when_flagged() {
        let owner_of = |flags: u16, parent_tid: u32| {
            let rec = TaskRecord {
                kind: kind::EXEC,
                flags,
                tid: 7,
                tgid: 7,
                parent_tid,
                ..Default::default()
            };
            match record(&bytes_of(&rec)) {
                Some(Event::Task(TaskEvent::Named { owner, .. })) => owner,
                other => panic!("not a Named: {other:?}"),
            }
        };
        assert_eq!(owner_of(FLAG_OWNER, 65534), Some(Owner::Uid(65534)));
        assert_eq!(owner_of(FLAG_OWNER, 0), Some(Owner::Uid(0)));
        assert_eq!(owner_of(FLAG_OWNER, OWNER_MIXED), Some(Owner::Mixed));
        assert_eq!(owner_of(0, 0), None);
    }

    fn capture(kind: u16, flags: u8, tid: u32, nr: i32, arg: u8, body: &[u8]) -> Vec<u8> {
        let header = CaptureRecord {
            kind,
            arg,
            flags,
            tid,
            nr,
            len: body.len() as u32,
        };
        let mut bytes = bytes_of(&header);
        bytes.extend_from_slice(body);
        bytes
    }

    #[test]
    fn captures_join_their_syscall() {
        let mut decoder = Decoder::default();
        let path = capture(kind::PATH, 0, 11, 257, 1, b"/etc/hosts");
        let data = capture(kind::DATA, CAPTURE_TRUNCATED, 11, 257, 1, b"abc");
        assert_eq!(decoder.record(&path), None);
        assert_eq!(decoder.record(&data), None);
        let rec = SyscallRecord {
            kind: kind::SYSCALL,
            nr: 257,
            tid: 11,
            ..Default::default()
        };
        let Some(Event::Syscall(ev)) = decoder.record(&bytes_of(&rec)) else {
            panic!("not a syscall");
        };
        let strings = ev.strings.expect("strings");
        assert_eq!(strings[1].as_ref().unwrap().bytes, b"/etc/hosts");
        let data = ev.data.expect("data");
        assert_eq!((data.bytes.as_slice(), data.truncated), (&b"abc"[..], true));
        // Consumed: the next syscall of the thread has none.
        let Some(Event::Syscall(ev)) = decoder.record(&bytes_of(&rec)) else {
            panic!("not a syscall");
        };
        assert_eq!((ev.strings, ev.data), (None, None));
        assert_eq!(decoder.orphaned(), 0);
    }

    #[test]
    fn a_syscall_carries_its_own_data() {
        let mut decoder = Decoder::default();
        // A path sent at enter, then the call with its data in one record.
        let path = capture(kind::PATH, 0, 11, 44, 4, b"/run/sock");
        assert_eq!(decoder.record(&path), None);
        let rec = SyscallRecord {
            kind: kind::SYSCALL_DATA,
            nr: 44,
            tid: 11,
            enter_ns: 5,
            exit_ns: 9,
            ret: 3,
            ..Default::default()
        };
        let mut bytes = bytes_of(&rec);
        bytes.extend(capture(kind::DATA, CAPTURE_TRUNCATED, 11, 44, 1, b"GET"));
        let Some(Event::Syscall(ev)) = decoder.record(&bytes) else {
            panic!("not a syscall");
        };
        assert_eq!(
            (ev.nr, ev.tid, ev.ret, ev.duration_ns()),
            (44, 11, Some(3), Some(4))
        );
        let data = ev.data.expect("data");
        assert_eq!((data.bytes.as_slice(), data.truncated), (&b"GET"[..], true));
        let strings = ev.strings.expect("strings");
        assert_eq!(strings[4].as_ref().unwrap().bytes, b"/run/sock");
        // A faulted copy brings the call and no bytes.
        let mut bytes = bytes_of(&rec);
        bytes.extend(capture(kind::DATA, CAPTURE_FAULT, 11, 44, 1, b""));
        let Some(Event::Syscall(ev)) = decoder.record(&bytes) else {
            panic!("not a syscall");
        };
        assert_eq!(ev.data, None);
        assert_eq!(decoder.orphaned(), 0);
    }

    #[test]
    fn structures_join_their_argument_and_in_out_halves_join() {
        let mut decoder = Decoder::default();
        // getsockname (51): the length at entry, then the address and the
        // length at exit, then the syscall record.
        let len_in = capture(kind::STRUCT, 0, 11, 51, 2, &128u32.to_ne_bytes());
        let addr = capture(kind::STRUCT, 0, 11, 51, 1, &[2, 0, 0, 80]);
        let len_out = capture(kind::STRUCT, 0, 11, 51, 2, &16u32.to_ne_bytes());
        for r in [len_in, addr, len_out] {
            assert_eq!(decoder.record(&r), None);
        }
        let rec = SyscallRecord {
            kind: kind::SYSCALL,
            nr: 51,
            tid: 11,
            ..Default::default()
        };
        let Some(Event::Syscall(ev)) = decoder.record(&bytes_of(&rec)) else {
            panic!("not a syscall");
        };
        let strings = ev.strings.expect("strings");
        assert_eq!(strings[1].as_ref().unwrap().bytes, [2, 0, 0, 80]);
        let lens: Vec<u8> = [128u32, 16].iter().flat_map(|v| v.to_ne_bytes()).collect();
        assert_eq!(strings[2].as_ref().unwrap().bytes, lens);
        assert_eq!(decoder.orphaned(), 0);
    }

    #[test]
    fn captures_of_another_call_are_dropped_and_counted() {
        let mut decoder = Decoder::default();
        assert_eq!(decoder.record(&capture(kind::DATA, 0, 5, 1, 1, b"x")), None);
        let rec = SyscallRecord {
            kind: kind::SYSCALL,
            nr: 0,
            tid: 5,
            ..Default::default()
        };
        let Some(Event::Syscall(ev)) = decoder.record(&bytes_of(&rec)) else {
            panic!("not a syscall");
        };
        assert_eq!(ev.data, None);
        assert_eq!(decoder.orphaned(), 1);
        // A faulted capture carries nothing; a short record is ignored.
        assert_eq!(
            decoder.record(&capture(kind::DATA, CAPTURE_FAULT, 5, 0, 1, b"")),
            None
        );
        assert_eq!(decoder.record(&[kind::DATA as u8, 0, 1]), None);
    }

    #[test]
    fn a_stale_capture_never_joins_a_later_call_of_the_same_syscall() {
        let mut decoder = Decoder::default();
        let write = SyscallRecord {
            kind: kind::SYSCALL,
            nr: 1,
            tid: 5,
            ..Default::default()
        };
        // The first write's record was lost; the second's copy faulted.
        assert_eq!(
            decoder.record(&capture(kind::DATA, 0, 5, 1, 1, b"old")),
            None
        );
        assert_eq!(
            decoder.record(&capture(kind::DATA, CAPTURE_FAULT, 5, 1, 1, b"")),
            None
        );
        let Some(Event::Syscall(ev)) = decoder.record(&bytes_of(&write)) else {
            panic!("not a syscall");
        };
        assert_eq!(ev.data, None);
        assert_eq!(decoder.orphaned(), 1);
        // Still waiting at the end of a run counts too.
        assert_eq!(decoder.record(&capture(kind::DATA, 0, 5, 1, 1, b"x")), None);
        assert_eq!(decoder.orphaned(), 2);
    }

    #[test]
    fn short_or_unknown_records_are_skipped() {
        let rec = SyscallRecord {
            kind: kind::SYSCALL,
            ..Default::default()
        };
        let bytes = bytes_of(&rec);
        assert_eq!(record(&bytes[..40]), None);
        assert_eq!(record(&[]), None);
        assert_eq!(record(&[0xff, 0xff, 0, 0]), None);
    }

    #[test]
    fn stack_records_join_every_syscall_that_names_them() {
        let mut decoder = Decoder {
            stacks: Some(StackTable::default()),
            ..Default::default()
        };
        let header = StackRecord {
            kind: kind::STACK,
            flags: tracer_common::STACK_CUT,
            frames: 2,
            build_ids: 0,
            tgid: u32::MAX,
            tid: 1,
            id: 41,
        };
        let mut bytes = bytes_of(&header);
        bytes.extend_from_slice(&0x1000u64.to_ne_bytes());
        bytes.extend_from_slice(&0x2000u64.to_ne_bytes());
        assert_eq!(decoder.record(&bytes), None);
        let call = SyscallRecord {
            kind: kind::SYSCALL,
            nr: 110,
            tid: 1,
            stack: 41,
            ..Default::default()
        };
        for _ in 0..2 {
            let Some(Event::Syscall(ev)) = decoder.record(&bytes_of(&call)) else {
                panic!("not a syscall");
            };
            let stack = ev.stack.expect("its stack");
            assert_eq!((stack.ips, stack.truncated), (vec![0x1000, 0x2000], true));
        }
        // A stack that never came: the call goes without, and it is missed.
        let lost = SyscallRecord { stack: 43, ..call };
        let Some(Event::Syscall(ev)) = decoder.record(&bytes_of(&lost)) else {
            panic!("not a syscall");
        };
        assert!(ev.stack.is_none());
        assert_eq!(decoder.stacks.as_ref().unwrap().missed, 1);
        // Without -k, ids are ignored.
        let Some(Event::Syscall(ev)) = Decoder::default().record(&bytes_of(&call)) else {
            panic!("not a syscall");
        };
        assert!(ev.stack.is_none());
    }
}
