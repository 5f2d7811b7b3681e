//! Perfetto's protobuf trace format: a `Trace` is a stream of
//! `TracePacket`s, so each packet is written as it is built.
//!
//! What the trace holds:
//! - a process track per tgid and a thread track per tid, named after the
//!   task (`comm`), described before their first event and again when a
//!   task changes name (exec);
//! - one slice per syscall on its thread's track, named by the syscall
//!   (interned), with the strace-rendered arguments, the return value and
//!   the errno as debug annotations; calls that never returned
//!   (`exit_group`, or cut off by the end of the trace) are instants;
//! - per request, a flow through the slices where it entered a thread
//!   (flow id: a hash of the request ID) and an async track under the
//!   process where it began, with a slice per stretch of time it was
//!   served;
//! - a counter track of syscalls per second under each process;
//! - an instant (category `anomaly`) on the thread's track for each anomaly
//!   request attribution found (a request's ID written while serving
//!   another);
//! - with `-k`, each syscall slice's user stack as an interned callstack
//!   (`callstacks`), which the UI shows for the selected slice.
//!
//! Timestamps are the events' own `CLOCK_MONOTONIC` nanoseconds: the first
//! packet is a clock snapshot that makes MONOTONIC the trace's clock, and
//! the sequence's defaults say every timestamp is in it.
//!
//! Messages are the subset of perfetto's protos that tracer writes, with
//! their field numbers (`protos/perfetto/trace/…`); repeated scalars are
//! unpacked, as in perfetto's proto2 schema.

use std::io::{self, Write};

use prost::Message;

use super::{
    Call,
    callstacks::{Callstack, Frame, InternedString, Interner, Mapping, NewInterned},
    errno_name, never_returns,
    timeline::{Rename, Sample, Span, Timeline},
};
use crate::{
    clock::clock_ns,
    event::{Anomaly, SyscallEvent, TaskEvent},
    pipeline::{RunInfo, Sink, Tasks},
    syscalls,
};

#[derive(Clone, PartialEq, Message)]
pub struct TracePacket {
    #[prost(uint64, optional, tag = "8")]
    pub timestamp: Option<u64>,
    #[prost(uint32, optional, tag = "10")]
    pub trusted_packet_sequence_id: Option<u32>,
    #[prost(uint32, optional, tag = "13")]
    pub sequence_flags: Option<u32>,
    #[prost(bool, optional, tag = "87")]
    pub first_packet_on_sequence: Option<bool>,
    #[prost(message, optional, tag = "59")]
    pub trace_packet_defaults: Option<TracePacketDefaults>,
    #[prost(message, optional, tag = "12")]
    pub interned_data: Option<InternedData>,
    // The `data` oneof: one of these at a time.
    #[prost(message, optional, tag = "6")]
    pub clock_snapshot: Option<ClockSnapshot>,
    #[prost(message, optional, tag = "60")]
    pub track_descriptor: Option<TrackDescriptor>,
    #[prost(message, optional, tag = "11")]
    pub track_event: Option<TrackEvent>,
}

#[derive(Clone, PartialEq, Message)]
pub struct TracePacketDefaults {
    #[prost(uint32, optional, tag = "58")]
    pub timestamp_clock_id: Option<u32>,
}

#[derive(Clone, PartialEq, Message)]
pub struct ClockSnapshot {
    #[prost(message, repeated, tag = "1")]
    pub clocks: Vec<Clock>,
    #[prost(int32, optional, tag = "2")]
    pub primary_trace_clock: Option<i32>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Clock {
    #[prost(uint32, optional, tag = "1")]
    pub clock_id: Option<u32>,
    #[prost(uint64, optional, tag = "2")]
    pub timestamp: Option<u64>,
}

#[derive(Clone, PartialEq, Message)]
pub struct InternedData {
    #[prost(message, repeated, tag = "2")]
    pub event_names: Vec<EventName>,
    #[prost(message, repeated, tag = "3")]
    pub debug_annotation_names: Vec<DebugAnnotationName>,
    #[prost(message, repeated, tag = "5")]
    pub function_names: Vec<InternedString>,
    #[prost(message, repeated, tag = "6")]
    pub frames: Vec<Frame>,
    #[prost(message, repeated, tag = "7")]
    pub callstacks: Vec<Callstack>,
    #[prost(message, repeated, tag = "16")]
    pub build_ids: Vec<InternedString>,
    #[prost(message, repeated, tag = "17")]
    pub mapping_paths: Vec<InternedString>,
    #[prost(message, repeated, tag = "19")]
    pub mappings: Vec<Mapping>,
}

#[derive(Clone, PartialEq, Message)]
pub struct EventName {
    #[prost(uint64, optional, tag = "1")]
    pub iid: Option<u64>,
    #[prost(string, optional, tag = "2")]
    pub name: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct DebugAnnotationName {
    #[prost(uint64, optional, tag = "1")]
    pub iid: Option<u64>,
    #[prost(string, optional, tag = "2")]
    pub name: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct TrackDescriptor {
    #[prost(uint64, optional, tag = "1")]
    pub uuid: Option<u64>,
    #[prost(uint64, optional, tag = "5")]
    pub parent_uuid: Option<u64>,
    #[prost(string, optional, tag = "2")]
    pub name: Option<String>,
    #[prost(message, optional, tag = "3")]
    pub process: Option<ProcessDescriptor>,
    #[prost(message, optional, tag = "4")]
    pub thread: Option<ThreadDescriptor>,
    #[prost(message, optional, tag = "8")]
    pub counter: Option<CounterDescriptor>,
}

#[derive(Clone, PartialEq, Message)]
pub struct ProcessDescriptor {
    #[prost(int32, optional, tag = "1")]
    pub pid: Option<i32>,
    #[prost(string, optional, tag = "6")]
    pub process_name: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct ThreadDescriptor {
    #[prost(int32, optional, tag = "1")]
    pub pid: Option<i32>,
    #[prost(int32, optional, tag = "2")]
    pub tid: Option<i32>,
    #[prost(string, optional, tag = "5")]
    pub thread_name: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct CounterDescriptor {
    #[prost(string, optional, tag = "6")]
    pub unit_name: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct TrackEvent {
    #[prost(int32, optional, tag = "9")]
    pub r#type: Option<i32>,
    #[prost(uint64, optional, tag = "11")]
    pub track_uuid: Option<u64>,
    // The `name_field` oneof.
    #[prost(uint64, optional, tag = "10")]
    pub name_iid: Option<u64>,
    #[prost(string, optional, tag = "23")]
    pub name: Option<String>,
    #[prost(string, repeated, tag = "22")]
    pub categories: Vec<String>,
    #[prost(message, repeated, tag = "4")]
    pub debug_annotations: Vec<DebugAnnotation>,
    #[prost(fixed64, repeated, packed = "false", tag = "47")]
    pub flow_ids: Vec<u64>,
    #[prost(int64, optional, tag = "30")]
    pub counter_value: Option<i64>,
    /// The event's user stack, interned (`InternedData.callstacks`).
    #[prost(uint64, optional, tag = "56")]
    pub callstack_iid: Option<u64>,
}

#[derive(Clone, PartialEq, Message)]
pub struct DebugAnnotation {
    #[prost(uint64, optional, tag = "1")]
    pub name_iid: Option<u64>,
    // The `value` oneof.
    #[prost(bool, optional, tag = "2")]
    pub bool_value: Option<bool>,
    #[prost(int64, optional, tag = "4")]
    pub int_value: Option<i64>,
    #[prost(string, optional, tag = "6")]
    pub string_value: Option<String>,
}

/// `TrackEvent.Type`.
const SLICE_BEGIN: i32 = 1;
const SLICE_END: i32 = 2;
const INSTANT: i32 = 3;
const COUNTER: i32 = 4;
/// `TracePacket.SequenceFlags`.
const SEQ_INCREMENTAL_STATE_CLEARED: u32 = 1;
const SEQ_NEEDS_INCREMENTAL_STATE: u32 = 2;
/// `BuiltinClock`.
const CLOCK_MONOTONIC: u32 = 3;
const CLOCK_BOOTTIME: u32 = 6;
/// The one packet sequence of the trace.
const SEQUENCE: u32 = 1;

/// Debug annotation names, interned once in the first packet.
const ANNOTATIONS: &[&str] = &[
    "args", "ret", "errno", "request", "data", "returned", "fd", "found",
];
const ARGS: u64 = 1;
const RET: u64 = 2;
const ERRNO: u64 = 3;
const REQUEST: u64 = 4;
const DATA: u64 = 5;
const RETURNED: u64 = 6;
const FD: u64 = 7;
const FOUND: u64 = 8;

/// Track uuids: a kind in the high bits, the id in the low 40.
pub fn process_uuid(tgid: u32) -> u64 {
    (1 << 40) | u64::from(tgid)
}
pub fn thread_uuid(tid: u32) -> u64 {
    (2 << 40) | u64::from(tid)
}
pub fn counter_uuid(tgid: u32) -> u64 {
    (3 << 40) | u64::from(tgid)
}
pub fn request_uuid(span: u64) -> u64 {
    (4 << 40) | span
}

/// The flow id of a request: FNV-1a of its ID, never 0.
pub fn flow_id(request: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in request.as_bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash.max(1)
}

pub struct PerfettoSink {
    out: Box<dyn Write>,
    buf: Vec<u8>,
    call: Call,
    started: bool,
    /// Syscall numbers whose name is interned (iid = nr + 1).
    interned: Vec<bool>,
    timeline: Timeline,
    samples: Vec<Sample>,
    /// Callstacks, frames and mappings interned so far (`-k`).
    stacks: Interner,
    /// Reused packets: most fields stay the same from event to event.
    begin: TracePacket,
    end: TracePacket,
}

impl PerfettoSink {
    pub fn new(out: Box<dyn Write>) -> Self {
        let event = |kind| TracePacket {
            trusted_packet_sequence_id: Some(SEQUENCE),
            track_event: Some(TrackEvent {
                r#type: Some(kind),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut begin = event(SLICE_BEGIN);
        begin.sequence_flags = Some(SEQ_NEEDS_INCREMENTAL_STATE);
        Self {
            out,
            buf: Vec::with_capacity(1 << 16),
            call: Call::default(),
            started: false,
            interned: vec![false; syscalls::NR_END as usize],
            timeline: Timeline::default(),
            samples: Vec::new(),
            stacks: Interner::default(),
            begin,
            end: event(SLICE_END),
        }
    }

    fn packet(&mut self, packet: &TracePacket) -> io::Result<()> {
        // `Trace.packet`, field 1, length-delimited.
        self.buf.clear();
        self.buf.push(0x0a);
        packet
            .encode_length_delimited(&mut self.buf)
            .map_err(io::Error::other)?;
        self.out.write_all(&self.buf)
    }

    /// The first packets: the clock snapshot that makes MONOTONIC the
    /// trace's clock, then the sequence's defaults and interned names.
    fn start(&mut self) -> io::Result<()> {
        if self.started {
            return Ok(());
        }
        self.started = true;
        let (mono, boot) = (
            clock_ns(libc::CLOCK_MONOTONIC),
            clock_ns(libc::CLOCK_BOOTTIME),
        );
        self.packet(&TracePacket {
            clock_snapshot: Some(ClockSnapshot {
                clocks: vec![
                    Clock {
                        clock_id: Some(CLOCK_BOOTTIME),
                        timestamp: Some(boot),
                    },
                    Clock {
                        clock_id: Some(CLOCK_MONOTONIC),
                        timestamp: Some(mono),
                    },
                ],
                primary_trace_clock: Some(CLOCK_MONOTONIC as i32),
            }),
            ..Default::default()
        })?;
        let names = ANNOTATIONS
            .iter()
            .zip(1..)
            .map(|(name, iid)| DebugAnnotationName {
                iid: Some(iid),
                name: Some((*name).to_owned()),
            })
            .collect();
        self.packet(&TracePacket {
            trusted_packet_sequence_id: Some(SEQUENCE),
            first_packet_on_sequence: Some(true),
            sequence_flags: Some(SEQ_INCREMENTAL_STATE_CLEARED),
            trace_packet_defaults: Some(TracePacketDefaults {
                timestamp_clock_id: Some(CLOCK_MONOTONIC),
            }),
            interned_data: Some(InternedData {
                debug_annotation_names: names,
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    fn describe(&mut self, ts_ns: u64, track: TrackDescriptor) -> io::Result<()> {
        self.packet(&TracePacket {
            timestamp: Some(ts_ns),
            trusted_packet_sequence_id: Some(SEQUENCE),
            track_descriptor: Some(track),
            ..Default::default()
        })
    }

    fn describe_process(&mut self, ts_ns: u64, tgid: u32, name: &str) -> io::Result<()> {
        self.describe(
            ts_ns,
            TrackDescriptor {
                uuid: Some(process_uuid(tgid)),
                process: Some(ProcessDescriptor {
                    pid: Some(tgid as i32),
                    process_name: (!name.is_empty()).then(|| name.to_owned()),
                }),
                ..Default::default()
            },
        )
    }

    fn describe_thread(&mut self, ts_ns: u64, tgid: u32, tid: u32, name: &str) -> io::Result<()> {
        self.describe(
            ts_ns,
            TrackDescriptor {
                uuid: Some(thread_uuid(tid)),
                parent_uuid: Some(process_uuid(tgid)),
                thread: Some(ThreadDescriptor {
                    pid: Some(tgid as i32),
                    tid: Some(tid as i32),
                    thread_name: (!name.is_empty()).then(|| name.to_owned()),
                }),
                ..Default::default()
            },
        )
    }

    /// Describes the tracks of `tid` (and its process) before their first
    /// event.
    fn ensure_tracks(&mut self, ts_ns: u64, tgid: u32, tid: u32, tasks: &Tasks) -> io::Result<()> {
        let new = self.timeline.new_tracks(tasks, tgid, tid);
        if let Some(name) = new.process {
            self.describe_process(ts_ns, tgid, &name)?;
            self.describe(
                ts_ns,
                TrackDescriptor {
                    uuid: Some(counter_uuid(tgid)),
                    parent_uuid: Some(process_uuid(tgid)),
                    name: Some("syscalls per second".to_owned()),
                    counter: Some(CounterDescriptor {
                        unit_name: Some("syscalls/s".to_owned()),
                    }),
                    ..Default::default()
                },
            )?;
        }
        if let Some(name) = new.thread {
            self.describe_thread(ts_ns, tgid, tid, &name)?;
        }
        Ok(())
    }

    fn counter(&mut self, sample: Sample) -> io::Result<()> {
        self.packet(&TracePacket {
            timestamp: Some(sample.ts_ns),
            trusted_packet_sequence_id: Some(SEQUENCE),
            track_event: Some(TrackEvent {
                r#type: Some(COUNTER),
                track_uuid: Some(counter_uuid(sample.tgid)),
                counter_value: Some(sample.count as i64),
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    /// The slice of a request's span on its own async track.
    fn span(&mut self, span: Span) -> io::Result<()> {
        let uuid = request_uuid(span.id);
        self.describe(
            span.start_ns,
            TrackDescriptor {
                uuid: Some(uuid),
                parent_uuid: Some(process_uuid(span.tgid)),
                name: Some(format!("request {}", span.request)),
                ..Default::default()
            },
        )?;
        let event = |timestamp, kind, name: Option<String>, annotations| TracePacket {
            timestamp: Some(timestamp),
            trusted_packet_sequence_id: Some(SEQUENCE),
            sequence_flags: Some(SEQ_NEEDS_INCREMENTAL_STATE),
            track_event: Some(TrackEvent {
                r#type: Some(kind),
                track_uuid: Some(uuid),
                name,
                debug_annotations: annotations,
                ..Default::default()
            }),
            ..Default::default()
        };
        let request = DebugAnnotation {
            name_iid: Some(REQUEST),
            string_value: Some(span.request.to_string()),
            ..Default::default()
        };
        self.packet(&event(
            span.start_ns,
            SLICE_BEGIN,
            Some(span.request.to_string()),
            vec![request],
        ))?;
        self.packet(&event(span.end_ns, SLICE_END, None, Vec::new()))
    }

    fn flush_samples(&mut self) -> io::Result<()> {
        let samples = std::mem::take(&mut self.samples);
        for &sample in &samples {
            self.counter(sample)?;
        }
        self.samples = samples;
        self.samples.clear();
        Ok(())
    }
}

/// Sets annotation `i` of `list` to a string, reusing what is there.
fn set_string(list: &mut Vec<DebugAnnotation>, i: usize, iid: u64, value: &str) {
    if list.len() <= i {
        list.push(DebugAnnotation::default());
    }
    let a = &mut list[i];
    a.name_iid = Some(iid);
    a.bool_value = None;
    a.int_value = None;
    let s = a.string_value.get_or_insert_with(String::new);
    s.clear();
    s.push_str(value);
}

fn set_value(
    list: &mut Vec<DebugAnnotation>,
    i: usize,
    iid: u64,
    int: Option<i64>,
    b: Option<bool>,
) {
    if list.len() <= i {
        list.push(DebugAnnotation::default());
    }
    let a = &mut list[i];
    a.name_iid = Some(iid);
    a.string_value = None;
    a.int_value = int;
    a.bool_value = b;
}

impl Sink for PerfettoSink {
    fn syscall(&mut self, ev: &SyscallEvent, tasks: &Tasks) -> io::Result<()> {
        self.start()?;
        self.ensure_tracks(ev.enter_ns, ev.tgid, ev.tid, tasks)?;
        let step = self.timeline.requests.syscall(ev);
        if let Some(span) = step.closed {
            self.span(span)?;
        }
        let mut samples = std::mem::take(&mut self.samples);
        self.timeline
            .rates
            .count(ev.tgid, ev.enter_ns, |sample| samples.push(sample));
        self.samples = samples;
        self.flush_samples()?;

        self.call.render(ev);
        let track = thread_uuid(ev.tid);
        let returned = ev.exit_ns.is_some() && !never_returns(ev.nr);
        let begin = &mut self.begin;
        begin.timestamp = Some(ev.enter_ns);
        let te = begin.track_event.get_or_insert_with(Default::default);
        te.r#type = Some(if returned { SLICE_BEGIN } else { INSTANT });
        te.track_uuid = Some(track);
        begin.interned_data = None;
        match syscalls::get(ev.nr) {
            Some(sc) => {
                te.name = None;
                te.name_iid = Some(u64::from(ev.nr) + 1);
                if !self.interned[ev.nr as usize] {
                    self.interned[ev.nr as usize] = true;
                    begin.interned_data = Some(InternedData {
                        event_names: vec![EventName {
                            iid: Some(u64::from(ev.nr) + 1),
                            name: Some(sc.name.to_owned()),
                        }],
                        ..Default::default()
                    });
                }
            }
            None => {
                te.name_iid = None;
                te.name = Some(self.call.name().to_owned());
            }
        }
        te.callstack_iid = None;
        if let Some(stack) = &ev.stack {
            let mut new = NewInterned::default();
            te.callstack_iid = Some(self.stacks.callstack(stack, &mut new));
            if !new.is_empty() {
                let data = begin.interned_data.get_or_insert_with(Default::default);
                data.function_names = new.function_names;
                data.frames = new.frames;
                data.callstacks = new.callstacks;
                data.build_ids = new.build_ids;
                data.mapping_paths = new.mapping_paths;
                data.mappings = new.mappings;
            }
        }
        let list = &mut te.debug_annotations;
        let mut n = 0;
        set_string(list, n, ARGS, self.call.args());
        n += 1;
        match ev.ret {
            Some(ret) => set_value(list, n, RET, Some(ret), None),
            None => set_value(list, n, RETURNED, None, Some(false)),
        }
        n += 1;
        if let Some(name) = errno_name(ev) {
            set_string(list, n, ERRNO, name);
            n += 1;
        }
        if let Some(request) = &ev.request {
            set_string(list, n, REQUEST, request);
            n += 1;
        }
        if let Some(data) = self.call.data() {
            set_string(list, n, DATA, data);
            n += 1;
        }
        list.truncate(n);
        te.flow_ids.clear();
        if step.entry.is_some()
            && let Some(request) = &ev.request
        {
            te.flow_ids.push(flow_id(request));
        }
        let begin = std::mem::take(&mut self.begin);
        let written = self.packet(&begin);
        self.begin = begin;
        written?;
        if returned && let Some(exit) = ev.exit_ns {
            let end = &mut self.end;
            end.timestamp = Some(exit);
            if let Some(te) = &mut end.track_event {
                te.track_uuid = Some(track);
            }
            let end = std::mem::take(&mut self.end);
            let written = self.packet(&end);
            self.end = end;
            written?;
        }
        Ok(())
    }

    fn task(&mut self, ev: &TaskEvent, tasks: &Tasks) -> io::Result<()> {
        let step = self.timeline.task(ev, tasks);
        if let Some(span) = step.closed {
            self.start()?;
            self.span(span)?;
        }
        if let Some(samples) = step.ended {
            self.samples = samples;
            self.start()?;
            self.flush_samples()?;
        }
        for rename in step.renamed {
            self.start()?;
            match rename {
                Rename::Thread { tgid, tid, name } => {
                    self.describe_thread(ev.ts_ns(), tgid, tid, &name)?
                }
                Rename::Process { tgid, name } => self.describe_process(ev.ts_ns(), tgid, &name)?,
            }
        }
        Ok(())
    }

    /// An instant on the thread's track, category `anomaly`, named by its
    /// kind.
    fn anomaly(&mut self, anomaly: &Anomaly, tasks: &Tasks) -> io::Result<()> {
        self.start()?;
        self.ensure_tracks(anomaly.ts_ns, anomaly.tgid, anomaly.tid, tasks)?;
        let string = |iid, value: &str| DebugAnnotation {
            name_iid: Some(iid),
            string_value: Some(value.to_owned()),
            ..Default::default()
        };
        self.packet(&TracePacket {
            timestamp: Some(anomaly.ts_ns),
            trusted_packet_sequence_id: Some(SEQUENCE),
            sequence_flags: Some(SEQ_NEEDS_INCREMENTAL_STATE),
            track_event: Some(TrackEvent {
                r#type: Some(INSTANT),
                track_uuid: Some(thread_uuid(anomaly.tid)),
                name: Some(anomaly.kind.clone()),
                categories: vec!["anomaly".to_owned()],
                debug_annotations: vec![
                    string(REQUEST, &anomaly.attributed),
                    string(FOUND, &anomaly.found),
                    DebugAnnotation {
                        name_iid: Some(FD),
                        int_value: Some(anomaly.fd.into()),
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    fn finish(&mut self, _run: &RunInfo, _tasks: &Tasks) -> io::Result<()> {
        self.start()?;
        for span in self.timeline.requests.finish() {
            self.span(span)?;
        }
        self.samples = self.timeline.rates.finish();
        self.flush_samples()?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_ids_are_stable_and_nonzero() {
        assert_eq!(flow_id("a"), flow_id("a"));
        assert_ne!(flow_id("a"), flow_id("b"));
        assert_ne!(flow_id(""), 0);
    }

    /// `Trace`: what the sink writes is a stream of its field 1.
    #[derive(Clone, PartialEq, Message)]
    struct Trace {
        #[prost(message, repeated, tag = "1")]
        packet: Vec<TracePacket>,
    }

    #[derive(Clone, Default)]
    struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn tasks_named_late_are_described_again() {
        use crate::{event::Event, pipeline::Pipeline};
        let out = Shared::default();
        let sink = Box::new(PerfettoSink::new(Box::new(out.clone())));
        let mut pipeline = Pipeline::new(Default::default(), vec![sink]);
        // The child's first syscall comes before its spawn event (ptrace
        // may report it first), then its name arrives.
        let getgid = SyscallEvent {
            tgid: 9,
            tid: 9,
            nr: crate::syscalls::nr::GETGID,
            args: [0; 6],
            enter_ns: 100,
            exit_ns: Some(200),
            ret: Some(0),
            strings: None,
            data: None,
            request: None,
            stack: None,
        };
        pipeline.push(Event::Syscall(getgid)).unwrap();
        let spawned = TaskEvent::Spawned {
            ts_ns: 300,
            parent_tgid: 8,
            parent_tid: 8,
            tid: 9,
            comm: "child".into(),
        };
        pipeline.push(Event::Task(spawned)).unwrap();
        pipeline.finish(&RunInfo::default()).unwrap();
        let trace = Trace::decode(&out.0.borrow()[..]).unwrap();
        let names = |pick: fn(&TrackDescriptor) -> Option<String>| -> Vec<String> {
            trace
                .packet
                .iter()
                .filter_map(|p| p.track_descriptor.as_ref().and_then(pick))
                .collect()
        };
        let threads = names(|d| d.thread.as_ref()?.thread_name.clone());
        let processes = names(|d| d.process.as_ref()?.process_name.clone());
        assert_eq!(threads, ["child"]);
        assert_eq!(processes, ["child"]);
        // Described first without a name: two descriptors for the thread.
        let thread_tracks = trace
            .packet
            .iter()
            .filter(|p| {
                p.track_descriptor
                    .as_ref()
                    .is_some_and(|d| d.thread.is_some())
            })
            .count();
        assert_eq!(thread_tracks, 2);
    }

    #[test]
    fn repeated_scalars_are_unpacked() {
        // perfetto's schema is proto2: `flow_ids` is one fixed64 field per
        // value (tag 47, wire type 1), not a packed run.
        let event = TrackEvent {
            flow_ids: vec![7, 8],
            ..Default::default()
        };
        let bytes = event.encode_to_vec();
        let tag = (47 << 3) | 1;
        assert_eq!(&bytes[..2], &[0x80 | (tag & 0x7f) as u8, (tag >> 7) as u8]);
        assert_eq!(bytes.len(), 2 * (2 + 8));
    }
}
