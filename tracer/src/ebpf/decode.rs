//! Ring-buffer bytes → [`Event`]. The records are the `repr(C)` structs of
//! `tracer-common`; the first two bytes say which.

use tracer_common::{FLAG_GROUP_DEAD, FLAG_NO_RETURN, SyscallRecord, TaskRecord, kind};

use crate::event::{Event, SyscallEvent, TaskEvent, comm_from_bytes};

/// Reads a `T` from the start of `bytes`, if it is long enough.
fn read<T: aya::Pod>(bytes: &[u8]) -> Option<T> {
    if bytes.len() < size_of::<T>() {
        return None;
    }
    // SAFETY: length checked above; `T: Pod` accepts any bit pattern; the
    // read is unaligned-safe.
    Some(unsafe { bytes.as_ptr().cast::<T>().read_unaligned() })
}

/// Decodes one record; `None` for a record this build does not know (a
/// truncated record cannot come from the kernel side, which reserves whole
/// structs).
pub fn record(bytes: &[u8]) -> Option<Event> {
    let kind = u16::from_ne_bytes([*bytes.first()?, *bytes.get(1)?]);
    match kind {
        kind::SYSCALL => {
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
        kind::EXIT => {
            let r: TaskRecord = read(bytes)?;
            Some(Event::Task(TaskEvent::Exited {
                ts_ns: r.ts_ns,
                tgid: r.tgid,
                tid: r.tid,
                group_dead: r.flags & FLAG_GROUP_DEAD != 0,
                comm: comm_from_bytes(&r.comm),
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
}
