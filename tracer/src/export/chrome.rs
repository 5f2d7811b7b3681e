//! Chrome JSON, the Trace Event Format, for tools that take only JSON:
//! `{"displayTimeUnit":"ns","traceEvents":[…]}` with
//! - `M` metadata naming processes and threads (again after an exec);
//! - an `X` complete event per syscall (`i` for calls that never
//!   returned), args in `args`;
//! - per request, `s`/`f` flow pairs between the slices where it entered
//!   one thread and the next (forward in time), and `b`/`e` async
//!   events for each stretch of time it was served;
//! - a `C` counter of syscalls per second per process;
//! - an `i` instant (category `anomaly`) per anomaly request attribution
//!   found.
//!
//! Timestamps are microseconds (with nanosecond decimals) of the events'
//! `CLOCK_MONOTONIC`. Events are written as they come, each built in a
//! reused buffer.

use std::io::{self, Write};

use super::{
    Call, errno_name, never_returns,
    timeline::{Entry, Rename, Sample, Span, Timeline},
};
use crate::{
    event::{Anomaly, SyscallEvent, TaskEvent},
    pipeline::{RunInfo, Sink, Tasks},
};

pub struct ChromeSink {
    out: Box<dyn Write>,
    buf: Vec<u8>,
    call: Call,
    started: bool,
    /// The events written so far (for the separators).
    events: u64,
    timeline: Timeline,
    flows: u64,
}

impl ChromeSink {
    pub fn new(out: Box<dyn Write>) -> Self {
        Self {
            out,
            buf: Vec::with_capacity(4096),
            call: Call::default(),
            started: false,
            events: 0,
            timeline: Timeline::default(),
            flows: 0,
        }
    }

    fn start(&mut self) -> io::Result<()> {
        if !self.started {
            self.started = true;
            self.out
                .write_all(b"{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n")?;
        }
        Ok(())
    }

    /// Starts the next event in `buf`: `{"ph":"X","pid":1,"tid":2,"ts":1.5`.
    fn open(&mut self, ph: &str, pid: u32, tid: u32, ts_ns: u64) {
        self.buf.clear();
        if self.events > 0 {
            self.buf.extend_from_slice(b",\n");
        }
        self.events += 1;
        self.buf.extend_from_slice(b"{\"ph\":\"");
        self.buf.extend_from_slice(ph.as_bytes());
        self.buf.extend_from_slice(b"\",\"pid\":");
        push_int(&mut self.buf, pid);
        self.buf.extend_from_slice(b",\"tid\":");
        push_int(&mut self.buf, tid);
        self.buf.extend_from_slice(b",\"ts\":");
        push_micros(&mut self.buf, ts_ns);
    }

    /// Adds `,"key":` to the event in `buf`.
    fn key(&mut self, key: &str) {
        self.buf.extend_from_slice(b",\"");
        self.buf.extend_from_slice(key.as_bytes());
        self.buf.extend_from_slice(b"\":");
    }

    fn close(&mut self) -> io::Result<()> {
        self.buf.push(b'}');
        self.out.write_all(&self.buf)
    }

    fn name_event(
        &mut self,
        what: &str,
        pid: u32,
        tid: u32,
        ts_ns: u64,
        name: &str,
    ) -> io::Result<()> {
        self.start()?;
        self.open("M", pid, tid, ts_ns);
        self.key("name");
        push_str(&mut self.buf, what);
        self.key("args");
        self.buf.extend_from_slice(b"{\"name\":");
        push_str(&mut self.buf, name);
        self.buf.push(b'}');
        self.close()
    }

    fn ensure_names(&mut self, ts_ns: u64, tgid: u32, tid: u32, tasks: &Tasks) -> io::Result<()> {
        let new = self.timeline.new_tracks(tasks, tgid, tid);
        if let Some(name) = new.process {
            self.name_event("process_name", tgid, tgid, ts_ns, &name)?;
        }
        if let Some(name) = new.thread {
            self.name_event("thread_name", tgid, tid, ts_ns, &name)?;
        }
        Ok(())
    }

    fn counter(&mut self, sample: Sample) -> io::Result<()> {
        self.open("C", sample.tgid, sample.tgid, sample.ts_ns);
        self.key("name");
        push_str(&mut self.buf, "syscalls per second");
        self.buf.extend_from_slice(b",\"args\":{\"syscalls\":");
        push_int(&mut self.buf, sample.count);
        self.buf.push(b'}');
        self.close()
    }

    /// A flow arrow between where a request entered one thread and where
    /// it entered the next. Arrows point forward in time: events arrive as
    /// syscalls end, so the later entry may have begun first.
    fn flow(&mut self, from: Entry, to: Entry) -> io::Result<()> {
        let (from, to) = if to.ts_ns < from.ts_ns {
            (to, from)
        } else {
            (from, to)
        };
        self.flows += 1;
        let id = self.flows;
        for (ph, at) in [("s", from), ("f", to)] {
            self.open(ph, at.tgid, at.tid, at.ts_ns);
            self.buf.extend_from_slice(
                b",\"cat\":\"request\",\"name\":\"request\",\"bp\":\"e\",\"id\":",
            );
            push_int(&mut self.buf, id);
            self.close()?;
        }
        Ok(())
    }

    /// A request's span as an async slice (`b`/`e`, id per span).
    fn span(&mut self, span: Span) -> io::Result<()> {
        for (ph, ts) in [("b", span.start_ns), ("e", span.end_ns)] {
            self.open(ph, span.tgid, span.tgid, ts);
            self.buf.extend_from_slice(b",\"cat\":\"request\",\"id\":");
            push_int(&mut self.buf, span.id);
            self.key("name");
            push_str(&mut self.buf, &span.request);
            self.close()?;
        }
        Ok(())
    }
}

impl Sink for ChromeSink {
    fn syscall(&mut self, ev: &SyscallEvent, tasks: &Tasks) -> io::Result<()> {
        self.start()?;
        self.ensure_names(ev.enter_ns, ev.tgid, ev.tid, tasks)?;
        let step = self.timeline.requests.syscall(ev);
        if let Some(span) = step.closed {
            self.span(span)?;
        }
        let mut samples = [None; 2];
        let mut n = 0;
        self.timeline.rates.count(ev.tgid, ev.enter_ns, |s| {
            samples[n] = Some(s);
            n += 1;
        });
        for sample in samples.into_iter().flatten() {
            self.counter(sample)?;
        }

        self.call.render(ev);
        let returned = ev.exit_ns.is_some() && !never_returns(ev.nr);
        self.open(
            if returned { "X" } else { "i" },
            ev.tgid,
            ev.tid,
            ev.enter_ns,
        );
        if returned {
            self.key("dur");
            push_micros(&mut self.buf, ev.duration_ns().unwrap_or(0));
        } else {
            self.buf.extend_from_slice(b",\"s\":\"t\"");
        }
        self.buf.extend_from_slice(b",\"cat\":\"syscall\"");
        // Borrowed out of self while the event is built.
        let call = std::mem::take(&mut self.call);
        self.key("name");
        push_str(&mut self.buf, call.name());
        self.buf.extend_from_slice(b",\"args\":{\"args\":");
        push_str(&mut self.buf, call.args());
        match ev.ret {
            Some(ret) => {
                self.key("ret");
                self.buf
                    .extend_from_slice(itoa::Buffer::new().format(ret).as_bytes());
            }
            None => self.buf.extend_from_slice(b",\"returned\":false"),
        }
        if let Some(errno) = errno_name(ev) {
            self.key("errno");
            push_str(&mut self.buf, errno);
        }
        if let Some(request) = &ev.request {
            self.key("request");
            push_str(&mut self.buf, request);
        }
        if let Some(data) = call.data() {
            self.key("data");
            push_str(&mut self.buf, data);
        }
        if let Some(stack) = &ev.stack {
            // Frames as strings, innermost first, as the viewer shows args.
            self.buf.extend_from_slice(b",\"stack\":");
            let frames: Vec<String> = stack.frames().map(|f| f.strace_text()).collect();
            serde_json::to_writer(&mut self.buf, &frames).map_err(io::Error::other)?;
        }
        self.call = call;
        self.buf.push(b'}');
        self.close()?;
        if let Some(Some(previous)) = step.entry {
            let here = Entry {
                tgid: ev.tgid,
                tid: ev.tid,
                ts_ns: ev.enter_ns,
            };
            self.flow(previous, here)?;
        }
        Ok(())
    }

    fn task(&mut self, ev: &TaskEvent, tasks: &Tasks) -> io::Result<()> {
        let step = self.timeline.task(ev, tasks);
        if let Some(span) = step.closed {
            self.start()?;
            self.span(span)?;
        }
        for sample in step.ended.into_iter().flatten() {
            self.start()?;
            self.counter(sample)?;
        }
        for rename in step.renamed {
            match rename {
                Rename::Thread { tgid, tid, name } => {
                    self.name_event("thread_name", tgid, tid, ev.ts_ns(), &name)?
                }
                Rename::Process { tgid, name } => {
                    self.name_event("process_name", tgid, tgid, ev.ts_ns(), &name)?
                }
            }
        }
        Ok(())
    }

    /// An instant on the thread, category `anomaly`, named by its kind.
    fn anomaly(&mut self, anomaly: &Anomaly, tasks: &Tasks) -> io::Result<()> {
        self.start()?;
        self.ensure_names(anomaly.ts_ns, anomaly.tgid, anomaly.tid, tasks)?;
        self.open("i", anomaly.tgid, anomaly.tid, anomaly.ts_ns);
        self.buf
            .extend_from_slice(b",\"s\":\"t\",\"cat\":\"anomaly\"");
        self.key("name");
        push_str(&mut self.buf, &anomaly.kind);
        self.buf.extend_from_slice(b",\"args\":{\"request\":");
        push_str(&mut self.buf, &anomaly.attributed);
        self.key("found");
        push_str(&mut self.buf, &anomaly.found);
        self.key("fd");
        push_int(&mut self.buf, anomaly.fd);
        self.buf.push(b'}');
        self.close()
    }

    fn finish(&mut self, _run: &RunInfo, _tasks: &Tasks) -> io::Result<()> {
        self.start()?;
        for span in self.timeline.requests.finish() {
            self.span(span)?;
        }
        for sample in self.timeline.rates.finish() {
            self.counter(sample)?;
        }
        self.out.write_all(b"\n]}\n")?;
        self.out.flush()
    }
}

fn push_int(out: &mut Vec<u8>, n: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Nanoseconds as microseconds with three decimals: `1234.567`.
fn push_micros(out: &mut Vec<u8>, ns: u64) {
    push_int(out, ns / 1000);
    let frac = ns % 1000;
    if frac != 0 {
        out.push(b'.');
        out.push(b'0' + (frac / 100) as u8);
        out.push(b'0' + (frac / 10 % 10) as u8);
        out.push(b'0' + (frac % 10) as u8);
    }
}

/// A JSON string, escaped.
fn push_str(out: &mut Vec<u8>, s: &str) {
    // Writing to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

#[cfg(test)]
mod tests {
    use std::{
        rc::Rc,
        sync::{Arc, Mutex},
    };

    use super::*;

    /// A writer the test can read back after the sink is done.
    #[derive(Clone, Default)]
    struct Shared(Rc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn flows_point_forward_in_time() {
        let out = Shared::default();
        let mut sink = ChromeSink::new(Box::new(out.clone()));
        let tasks = Tasks::default();
        let call = |tid, enter, exit| SyscallEvent {
            tgid: 1,
            tid,
            nr: 0,
            args: [0; 6],
            enter_ns: enter,
            exit_ns: Some(exit),
            ret: Some(0),
            strings: None,
            data: None,
            request: Some(Arc::from("r")),
            stack: None,
        };
        // Thread 2's entry began first but ended (arrived) second.
        sink.syscall(&call(1, 2000, 2100), &tasks).unwrap();
        sink.syscall(&call(2, 1000, 3000), &tasks).unwrap();
        sink.finish(&RunInfo::default(), &tasks).unwrap();
        let bytes = out.0.lock().unwrap().clone();
        let doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let events = doc["traceEvents"].as_array().unwrap();
        let flow = |ph: &str| {
            let e = events.iter().find(|e| e["ph"] == ph).unwrap();
            (e["tid"].as_u64().unwrap(), e["ts"].as_f64().unwrap())
        };
        assert_eq!(flow("s"), (2, 1.0));
        assert_eq!(flow("f"), (1, 2.0));
        // The request's async slice spans both calls.
        let b = events.iter().find(|e| e["ph"] == "b").unwrap();
        let e = events.iter().find(|e| e["ph"] == "e").unwrap();
        assert_eq!((b["ts"].as_f64(), e["ts"].as_f64()), (Some(1.0), Some(3.0)));
    }

    #[test]
    fn micros() {
        let mut out = Vec::new();
        for ns in [0, 999, 1000, 1_234_567, 5_000_010] {
            push_micros(&mut out, ns);
            out.push(b' ');
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "0 0.999 1 1234.567 5000.010 "
        );
    }
}
