//! Round trips, and the reader against thousands of damaged files.

use std::sync::Arc;

use super::{
    format::{MAGIC, MAX_STRINGS, RecordingError},
    *,
};
use crate::{
    event::{Anomaly, ArgString, DataCapture, Event, SyscallEvent, TaskEvent},
    pipeline::{ObserverCost, RunInfo, Sink, Tasks},
    stacks::{Mapping, ProcessMaps, Symbol, UserStack},
};

fn header() -> Header {
    Header {
        version: format::VERSION,
        host: "box".into(),
        kernel: "6.18.0".into(),
        mode: "ebpf".into(),
        command: vec!["ls".into(), "/".into()],
        targets: vec![],
        start_ns: 1_000_000,
        realtime_offset_ns: 1_700_000_000_000_000_000,
        boottime_offset_ns: 42,
        keep_payload: false,
    }
}

fn syscall(i: u64) -> SyscallEvent {
    let tid = 100 + (i % 3) as u32;
    SyscallEvent {
        tgid: 100,
        tid,
        nr: (i % 300) as u32,
        args: [i, 0, 0x7ffd_1234_5678, u64::MAX, 3, i * 7],
        // Out of order now and then, as events from different CPUs are.
        enter_ns: 1_000_000 + i * 1000 - (i % 5) * 700,
        exit_ns: (!i.is_multiple_of(11)).then_some(1_000_000 + i * 1000 + 350),
        ret: (!i.is_multiple_of(11)).then_some(if i.is_multiple_of(4) { -2 } else { i as i64 }),
        strings: (i.is_multiple_of(7)).then(|| {
            Box::new(std::array::from_fn(|a| {
                (a == 1).then(|| ArgString {
                    bytes: format!("/tmp/file-{i}").into_bytes(),
                    truncated: i.is_multiple_of(2),
                })
            }))
        }),
        data: (i.is_multiple_of(5)).then(|| {
            Box::new(DataCapture {
                bytes: vec![i as u8; (i % 40) as usize],
                truncated: true,
            })
        }),
        request: (!i.is_multiple_of(3)).then(|| Arc::from(format!("req-{}", i / 10))),
        stack: i.is_multiple_of(13).then(|| Box::new(stack(i))),
    }
}

/// Two processes' maps, shared by the stacks that refer to them.
static MAPS: std::sync::LazyLock<[Arc<ProcessMaps>; 2]> = std::sync::LazyLock::new(|| {
    [1, 2].map(|n| {
        Arc::new(ProcessMaps {
            tgid: 100 * n,
            mappings: vec![
                Mapping {
                    start: 0x1000 * u64::from(n),
                    end: 0x5000 * u64::from(n),
                    offset: 0x1000,
                    path: format!("/usr/bin/prog{n}").into(),
                    build_id: (n == 1).then(|| Arc::from(&[0xab; 20][..])),
                },
                Mapping {
                    start: 0x7f00_0000_0000,
                    end: 0x7f00_0010_0000,
                    offset: 0,
                    path: "/usr/lib/libc.so.6".into(),
                    build_id: Some(Arc::from(&[0xcd; 20][..])),
                },
            ],
        })
    })
});

/// A stack with or without maps and names, cut short or not.
fn stack(i: u64) -> UserStack {
    let ips = vec![0x7f00_0000_1234, 0x1100 + i, 0x1200, 0xdead_beef];
    UserStack {
        symbols: (!i.is_multiple_of(3)).then(|| {
            ips.iter()
                .enumerate()
                .map(|(f, _)| {
                    (f < 3).then(|| Symbol {
                        name: format!("func{}", (f as u64 + i) % 5).into(),
                        offset: f as u64 * 4,
                    })
                })
                .collect()
        }),
        ips,
        truncated: i.is_multiple_of(2),
        maps: (!i.is_multiple_of(5)).then(|| Arc::clone(&MAPS[(i % 2) as usize])),
    }
}

#[test]
fn stacks_round_trip_with_their_maps_written_once() {
    let items: Vec<Item> = items(200);
    let bytes = write(&items, true);
    let (_, read_back, error) = read(&bytes).unwrap();
    assert!(error.is_none());
    assert_eq!(read_back, items);
    let stacks = read_back
        .iter()
        .filter(|item| matches!(item, Item::Event(Event::Syscall(ev)) if ev.stack.is_some()))
        .count();
    assert_eq!(stacks, 16);
    // Each process's maps are written once, not per stack.
    let needle = b"/usr/bin/prog1";
    let copies = bytes.windows(needle.len()).filter(|w| w == needle).count();
    assert_eq!(copies, 1);
}

#[test]
fn version_2_recordings_still_read() {
    let mut bytes = MAGIC.to_vec();
    bytes.extend_from_slice(&2u32.to_le_bytes());
    let old = Header {
        version: 2,
        ..header()
    };
    push_frame(&mut bytes, &format::Record::Header(old.clone()));
    push_frame(
        &mut bytes,
        &format::Record::Named {
            ts: 5,
            tgid: 7,
            tid: 7,
            comm: 0,
        },
    );
    let mut reader = Reader::new(&bytes[..]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reader.header(), &old);
    // String 0 is undefined: the record was read, as version 2 wrote it.
    let err = reader.next_item().unwrap_err().to_string();
    assert!(err.contains("undefined string 0"), "{err}");
}

/// #16: a version 3 file's exits (no status then) read as exits whose
/// status is unknown.
#[test]
fn version_3_exits_read_without_a_status() {
    let mut bytes = MAGIC.to_vec();
    bytes.extend_from_slice(&3u32.to_le_bytes());
    let old = Header {
        version: 3,
        ..header()
    };
    push_frame(&mut bytes, &format::Record::Header(old.clone()));
    push_frame(&mut bytes, &format::Record::Str("sh"));
    push_frame(
        &mut bytes,
        &format::Record::Exited {
            ts: 5,
            tgid: 7,
            tid: 7,
            group_dead: true,
            comm: 0,
        },
    );
    let mut reader = Reader::new(&bytes[..]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reader.header(), &old);
    let item = reader.next_item().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        item,
        Some(Item::Event(Event::Task(TaskEvent::Exited {
            ts_ns: old.start_ns + 5,
            tgid: 7,
            tid: 7,
            group_dead: true,
            comm: "sh".into(),
            status: None,
        })))
    );
}

/// Every kind of item, in a plausible order.
fn items(n: u64) -> Vec<Item> {
    let mut items = vec![Item::Event(Event::Task(TaskEvent::Named {
        ts_ns: 1_000_000,
        tgid: 100,
        tid: 100,
        comm: "server".into(),
        owner: None,
    }))];
    for i in 0..n {
        items.push(Item::Event(Event::Syscall(syscall(i))));
        if i % 50 == 10 {
            items.push(Item::Event(Event::Task(TaskEvent::Spawned {
                ts_ns: 1_000_000 + i * 1000,
                parent_tgid: 100,
                parent_tid: 100,
                tid: 200 + i as u32,
                comm: "worker".into(),
            })));
        }
        if i % 50 == 40 {
            items.push(Item::Event(Event::Task(TaskEvent::Signal {
                ts_ns: 1_000_000 + i * 1000 + 7,
                tgid: 100,
                tid: 101,
                info: crate::event::SigInfo {
                    signo: libc::SIGCHLD,
                    errno: 0,
                    code: 1,
                    fields: [200 + i, 3, 1, u64::MAX],
                },
            })));
            items.push(Item::Event(Event::Task(TaskEvent::Stopped {
                ts_ns: 1_000_000 + i * 1000 + 8,
                tgid: 100,
                tid: 101,
                signo: libc::SIGTSTP,
            })));
        }
        if i % 50 == 30 {
            items.push(Item::Anomaly(Anomaly {
                kind: "request_bleed".into(),
                tgid: 100,
                tid: 101,
                fd: 4,
                ts_ns: 1_000_000 + i * 1000,
                attributed: "req-1".into(),
                found: "req-2".into(),
            }));
            items.push(Item::Event(Event::Task(TaskEvent::Exited {
                ts_ns: 1_000_000 + i * 1000 + 5,
                tgid: 100,
                tid: 200 + i as u32 - 20,
                group_dead: false,
                comm: "worker".into(),
                // Known and unknown statuses, a kill with a core dump.
                status: match i % 150 {
                    30 => None,
                    80 => Some(3 << 8),
                    _ => Some(libc::SIGSEGV | 0x80),
                },
            })));
        }
    }
    items
}

fn run_info() -> RunInfo {
    RunInfo {
        mode: "ebpf",
        lost_events: 3,
        lost_tasks: 1,
        lost_captures: 2,
        syscalls: 1234,
        start_ns: 1_000_000,
        end_ns: 9_000_000,
        observer: Some(ObserverCost {
            total_ns: 5000,
            machine_ns: Some(7000),
            slow_path_ns: Some(9000),
        }),
    }
}

fn write(items: &[Item], finish: bool) -> Vec<u8> {
    let tasks = Tasks::default();
    let mut writer = Writer::new(Vec::new(), &header()).unwrap();
    for item in items {
        match item {
            Item::Event(Event::Syscall(ev)) => writer.syscall(ev, &tasks).unwrap(),
            Item::Event(Event::Task(ev)) => writer.task(ev, &tasks).unwrap(),
            Item::Anomaly(a) => writer.anomaly(a, &tasks).unwrap(),
        }
    }
    if finish {
        writer.finish(&run_info(), &tasks).unwrap();
    }
    writer.into_inner().unwrap()
}

/// Everything a file yields: its reader (header, totals), the items before
/// any error, the error.
type Read<'a> = (Reader<&'a [u8]>, Vec<Item>, Option<RecordingError>);

fn read(bytes: &[u8]) -> Result<Read<'_>, RecordingError> {
    let mut reader = Reader::new(bytes)?;
    let mut items = Vec::new();
    let error = loop {
        match reader.next_item() {
            Ok(Some(item)) => items.push(item),
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    Ok((reader, items, error))
}

#[test]
fn round_trip() {
    let items = items(1000);
    let bytes = write(&items, true);
    let (reader, read_back, error) = read(&bytes).unwrap();
    assert!(error.is_none(), "{error:?}");
    assert_eq!(reader.header(), &header());
    assert_eq!(read_back, items);
    assert!(reader.complete());
    let run = reader.run();
    let expected = run_info();
    assert_eq!(
        (
            run.mode,
            run.lost_events,
            run.lost_tasks,
            run.lost_captures,
            run.syscalls,
            run.start_ns,
            run.end_ns
        ),
        (
            expected.mode,
            expected.lost_events,
            expected.lost_tasks,
            expected.lost_captures,
            expected.syscalls,
            expected.start_ns,
            expected.end_ns
        )
    );
    assert_eq!(run.observer, expected.observer);
    // Compact: about 30 bytes a syscall with these arguments.
    let per_item = bytes.len() / items.len();
    assert!(per_item < 45, "{per_item} bytes per item");
}

#[test]
fn unfinished_recording_is_incomplete_but_whole() {
    let items = items(100);
    let bytes = write(&items, false);
    let (reader, read_back, error) = read(&bytes).unwrap();
    assert!(error.is_none());
    assert_eq!(read_back, items);
    assert!(!reader.complete());
    let run = reader.run();
    assert_eq!(run.syscalls, 100);
    assert_eq!(run.start_ns, header().start_ns);
    // Without the end record, the run ends at its latest event.
    let latest = items
        .iter()
        .filter_map(|item| match item {
            Item::Event(Event::Syscall(ev)) => Some(ev.enter_ns),
            _ => None,
        })
        .max()
        .unwrap();
    assert_eq!(run.end_ns, latest);
}

#[test]
fn strings_start_over_past_the_limit() {
    let tasks = Tasks::default();
    let mut writer = Writer::new(Vec::new(), &header()).unwrap();
    let mut events = Vec::new();
    for i in 0..(MAX_STRINGS as u64 * 2 + 10) {
        let mut ev = syscall(i);
        ev.request = Some(format!("request-{i}").into());
        writer.syscall(&ev, &tasks).unwrap();
        events.push(ev);
    }
    let bytes = writer.into_inner().unwrap();
    let (_, read_back, error) = read(&bytes).unwrap();
    assert!(error.is_none(), "{error:?}");
    assert_eq!(read_back.len(), events.len());
    for (item, ev) in read_back.iter().zip(&events) {
        assert_eq!(item, &Item::Event(Event::Syscall(ev.clone())));
    }
}

#[test]
fn an_anomaly_keeps_its_strings_across_a_start_over() {
    // The table is one short of full when an anomaly with three new
    // strings comes: all three must be defined after the start over.
    let tasks = Tasks::default();
    let mut writer = Writer::new(Vec::new(), &header()).unwrap();
    let mut items = Vec::new();
    for i in 0..(MAX_STRINGS as u64 - 1) {
        let mut ev = syscall(i);
        ev.request = Some(format!("request-{i}").into());
        writer.syscall(&ev, &tasks).unwrap();
        items.push(Item::Event(Event::Syscall(ev)));
    }
    let anomaly = Anomaly {
        kind: "request_bleed".into(),
        tgid: 100,
        tid: 101,
        fd: 4,
        ts_ns: 2_000_000,
        attributed: "fresh-1".into(),
        found: "fresh-2".into(),
    };
    writer.anomaly(&anomaly, &tasks).unwrap();
    items.push(Item::Anomaly(anomaly));
    let bytes = writer.into_inner().unwrap();
    let (_, read_back, error) = read(&bytes).unwrap();
    assert!(error.is_none(), "{error:?}");
    assert!(read_back == items);
}

#[test]
fn long_strings_start_over_too() {
    let tasks = Tasks::default();
    let mut writer = Writer::new(Vec::new(), &header()).unwrap();
    let long = "r".repeat(1 << 20);
    let mut events = Vec::new();
    for i in 0..40u64 {
        let mut ev = syscall(i);
        ev.request = Some(format!("{long}{i}").into());
        writer.syscall(&ev, &tasks).unwrap();
        events.push(Item::Event(Event::Syscall(ev)));
    }
    let bytes = writer.into_inner().unwrap();
    let (_, read_back, error) = read(&bytes).unwrap();
    assert!(error.is_none(), "{error:?}");
    assert!(read_back == events);
}

#[test]
fn foreign_and_empty_files_are_refused_clearly() {
    let err = |bytes: &[u8]| Reader::new(bytes).err().unwrap().to_string();
    assert_eq!(
        err(b""),
        "the recording is cut short inside its header: it holds no events"
    );
    assert_eq!(
        err(b"TRACE"),
        "the recording is cut short inside its header: it holds no events"
    );
    assert!(err(b"#!/bin/sh\necho hello\n").starts_with("not a tracer recording"));
    assert!(err(&[0xff; 100]).starts_with("not a tracer recording"));
    let mut future = write(&items(3), true);
    future[MAGIC.len()..MAGIC.len() + 4].copy_from_slice(&99u32.to_le_bytes());
    assert_eq!(
        err(&future),
        format!(
            "recording format version 99 is not supported (this tracer reads versions 1 to {})",
            format::VERSION
        )
    );
}

/// Appends `record` to `bytes` as a well-formed frame (checksum and all),
/// as a buggy or hostile writer could.
fn push_frame(bytes: &mut Vec<u8>, record: &format::Record<'_>) {
    let payload = postcard::to_allocvec(record).unwrap();
    let (len, n) = format::varint(payload.len() as u32);
    bytes.extend_from_slice(&len[..n]);
    bytes.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    bytes.extend_from_slice(&payload);
}

#[test]
fn well_framed_nonsense_is_refused_not_panicked_on() {
    let syscall = |tid, tgid_delta| {
        format::Record::Syscall(format::SyscallFrame {
            tid,
            tgid_delta,
            nr: u32::MAX,
            same_args: 0,
            args: [u64::MAX; 6],
            enter: i64::MIN,
            exit: Some(u64::MAX),
            ret: Some(i64::MIN),
            strings: None,
            data: None,
            request: None,
        })
    };
    for (tid, tgid_delta) in [(u32::MAX, i64::MAX), (0, i64::MIN), (5, -6), (0, 1 << 32)] {
        let mut bytes = write(&[], false);
        push_frame(&mut bytes, &syscall(tid, tgid_delta));
        let (_, read_back, error) = read(&bytes).unwrap();
        assert!(read_back.is_empty());
        assert!(
            error
                .unwrap()
                .to_string()
                .ends_with("impossible thread group id"),
            "{tid} {tgid_delta}"
        );
    }
    // Extreme but representable values go through.
    let mut bytes = write(&[], false);
    push_frame(&mut bytes, &syscall(u32::MAX, 0));
    let (_, read_back, error) = read(&bytes).unwrap();
    assert!(error.is_none(), "{error:?}");
    assert_eq!(read_back.len(), 1);
}

#[test]
fn truncated_anywhere_yields_a_clean_prefix() {
    let items = items(200);
    let bytes = write(&items, true);
    for len in 0..bytes.len() {
        match read(&bytes[..len]) {
            Err(e) => assert!(
                matches!(e, RecordingError::NoHeader | RecordingError::NotARecording) && len < 200,
                "{len}: {e}"
            ),
            Ok((reader, read_back, error)) => {
                assert!(!reader.complete(), "{len}");
                assert_eq!(read_back[..], items[..read_back.len()], "{len}");
                if let Some(e) = error {
                    assert!(matches!(e, RecordingError::Truncated { .. }), "{len}: {e}");
                }
            }
        }
    }
}

/// The reader against damage of every kind: it must never panic, never
/// allocate wildly, and either stop with an error that says what is wrong
/// or yield events that really are in the file.
#[test]
fn fuzzed_files_never_panic() {
    let items = items(300);
    let original = write(&items, true);
    let mut rng = fastrand::Rng::with_seed(0x7ace);
    let mut errors = 0;
    for round in 0..20_000u32 {
        let mut bytes = original.clone();
        // In-place damage keeps every good frame where it was, so what is
        // read must be a prefix of what was written.
        let in_place = round.is_multiple_of(2);
        for _ in 0..rng.usize(1..4) {
            let at = rng.usize(..bytes.len());
            match (in_place, rng.u8(..4)) {
                (true, 0 | 1) => bytes[at] ^= 1 << rng.u8(..8),
                (true, _) => bytes[at] = rng.u8(..),
                (false, 0) => bytes.truncate(at),
                (false, 1) => {
                    let end = (at + rng.usize(1..64)).min(bytes.len());
                    bytes.drain(at..end);
                }
                (false, 2) => {
                    let junk: Vec<u8> = (0..rng.usize(1..16)).map(|_| rng.u8(..)).collect();
                    bytes.splice(at..at, junk);
                }
                (false, _) => {
                    let end = (at + rng.usize(1..200)).min(bytes.len());
                    let copy = bytes[at..end].to_vec();
                    let to = rng.usize(..=bytes.len());
                    bytes.splice(to..to, copy);
                }
            }
            if bytes.is_empty() {
                break;
            }
        }
        match read(&bytes) {
            Err(e) => {
                errors += 1;
                assert!(!e.to_string().is_empty());
            }
            Ok((_, read_back, error)) => {
                if let Some(e) = &error {
                    errors += 1;
                    assert!(e.to_string().contains("byte"), "{e}");
                }
                if in_place {
                    assert_eq!(read_back[..], items[..read_back.len()], "round {round}");
                }
            }
        }
    }
    assert!(errors > 10_000, "{errors}");
}

/// A dd-like stream (1-byte reads and writes, a byte captured each) round
/// trips, and stays compact: the size per event is a property of the
/// encoding (deltas, repeated-argument cache), so it is asserted; the
/// speeds are printed, not asserted (machines are noisy):
/// `cargo test --release -p tracer --bin tracer recording::tests::dd_stream -- --nocapture`.
#[test]
fn dd_stream_is_compact_and_round_trips() {
    let n = 200_000u64;
    let tasks = Tasks::default();
    let events: Vec<SyscallEvent> = (0..n)
        .map(|i| {
            let mut ev = syscall(i);
            // dd-like: read(0, buf, 1) / write(1, buf, 1), a byte captured.
            ev.nr = (i % 2) as u32;
            ev.args = [i % 2, 0x55d0_0000_1000, 1, 0x7f00_dead_beef, 0, 0];
            ev.enter_ns = 1_000_000 + i * 800;
            ev.exit_ns = Some(ev.enter_ns + 300);
            ev.ret = Some(1);
            ev.strings = None;
            ev.data = Some(Box::new(DataCapture {
                bytes: vec![0],
                truncated: false,
            }));
            ev.request = None;
            ev
        })
        .collect();
    let tmp = crate::files::test_dir("tracer-speed-");
    let path = tmp.path().join("speed.rec");
    let start = std::time::Instant::now();
    let mut writer = Writer::create(&path, &header()).unwrap();
    for ev in &events {
        writer.syscall(ev, &tasks).unwrap();
    }
    writer.finish(&run_info(), &tasks).unwrap();
    drop(writer);
    let write = start.elapsed();
    let size = std::fs::metadata(&path).unwrap().len();
    let start = std::time::Instant::now();
    let mut reader = Reader::open(&path).unwrap();
    let mut read = 0;
    while let Some(item) = reader.next_item().unwrap() {
        std::hint::black_box(&item);
        read += 1;
    }
    let read_time = start.elapsed();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(read, n);
    // 29.0 bytes each when written; an 88-byte kernel record plus a
    // capture must not creep back towards its raw size.
    let per_event = size as f64 / n as f64;
    assert!(per_event < 32.0, "{per_event:.1} bytes per event");
    eprintln!(
        "{n} events: {:.1} bytes each; write {:.0} ns/event ({:.1} M/s), read {:.0} ns/event ({:.1} M/s)",
        size as f64 / n as f64,
        write.as_nanos() as f64 / n as f64,
        n as f64 / write.as_secs_f64() / 1e6,
        read_time.as_nanos() as f64 / n as f64,
        n as f64 / read_time.as_secs_f64() / 1e6,
    );
}

#[test]
fn end_tag_is_what_the_encoder_writes() {
    let end = format::Record::End(format::EndRecord {
        lost_events: 0,
        lost_tasks: 0,
        lost_captures: 0,
        syscalls: 0,
        start_ns: 0,
        end_ns: 0,
        observer: None,
    });
    assert_eq!(postcard::to_allocvec(&end).unwrap()[0], format::END_TAG);
}

/// A version 1 file (made before lost syscalls, task records and captures
/// were counted apart) still reads: its events as they are, its one lost
/// count as lost syscalls, no slow-path cost.
#[test]
fn version_1_recordings_stay_readable() {
    let written = items(20);
    let v2 = write(&written, false);
    // Split off the v2 header frame: MAGIC, version, then len/crc/payload.
    let start = MAGIC.len() + 4;
    let (mut len, mut shift, mut at) = (0usize, 0, start);
    loop {
        let byte = v2[at];
        len |= usize::from(byte & 0x7f) << shift;
        at += 1;
        shift += 7;
        if byte & 0x80 == 0 {
            break;
        }
    }
    let events = &v2[at + 4 + len..];

    let mut v1 = MAGIC.to_vec();
    v1.extend_from_slice(&1u32.to_le_bytes());
    push_frame(
        &mut v1,
        &format::Record::Header(Header {
            version: 1,
            ..header()
        }),
    );
    v1.extend_from_slice(events);
    let end = (
        format::END_TAG,
        7u64,
        1234u64,
        1_000_000u64,
        9_000_000u64,
        Some((5000u64, Some(7000u64))),
    );
    let payload = postcard::to_allocvec(&end).unwrap();
    let (n, k) = format::varint(payload.len() as u32);
    v1.extend_from_slice(&n[..k]);
    v1.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    v1.extend_from_slice(&payload);

    let mut reader = Reader::new(&v1[..]).unwrap();
    assert_eq!(reader.header().version, 1);
    let mut read = Vec::new();
    while let Some(item) = reader.next_item().unwrap() {
        read.push(item);
    }
    assert_eq!(format!("{read:?}"), format!("{written:?}"));
    assert!(reader.complete());
    let run = reader.run();
    assert_eq!(
        (
            run.lost_events,
            run.lost_tasks,
            run.lost_captures,
            run.syscalls
        ),
        (7, 0, 0, 1234)
    );
    let observer = run.observer.unwrap();
    assert_eq!(
        (
            observer.total_ns,
            observer.machine_ns,
            observer.slow_path_ns
        ),
        (5000, Some(7000), None)
    );
}
