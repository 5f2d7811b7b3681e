//! decode → filter → attribute → sinks: the one path every event takes,
//! whichever source produced it, so that every output works in every mode.

use std::{collections::HashMap, io};

use crate::{
    event::{Anomaly, Event, SyscallEvent, TaskEvent},
    request::Attributor,
    stacks::symbolize::Symbolizer,
    syscalls::filter::SyscallFilter,
};

/// Facts about the whole run that sinks report at the end.
#[derive(Clone, Debug, Default)]
pub struct RunInfo {
    /// `ebpf` or `ptrace`.
    pub mode: &'static str,
    /// Syscall records the source could not deliver (ring full).
    pub lost_events: u64,
    /// Task records (fork, exit, exec) the source could not deliver.
    pub lost_tasks: u64,
    /// Captures (paths, data) the source could not deliver; their
    /// syscalls were recorded, and show pointers instead.
    pub lost_captures: u64,
    /// Syscalls recorded, before userspace `-e` filtering (the kernel's
    /// filter left out the others).
    pub syscalls: u64,
    /// Trace start and end, `CLOCK_MONOTONIC` ns.
    pub start_ns: u64,
    pub end_ns: u64,
    /// What watching cost the target, when the source can tell.
    pub observer: Option<ObserverCost>,
}

/// The time the act of watching took from the target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ObserverCost {
    /// eBPF: the programs' own run time as the kernel counts it
    /// (`bpf_prog_info.run_time_ns`), for every task they ran on. ptrace:
    /// the time tracees spent stopped in the tracer, summed over threads.
    pub total_ns: u64,
    /// eBPF only: the programs' run time over every task on the machine,
    /// the cost that untraced processes pay too.
    pub machine_ns: Option<u64>,
    /// eBPF only: the target's share of the tracepoint slow path that
    /// every syscall takes while programs are attached (not in their run
    /// time): `tracer overhead`'s calibration of the floor on this machine
    /// per syscall, times the target's syscalls. `None`: not calibrated.
    pub slow_path_ns: Option<u64>,
}

impl RunInfo {
    pub fn duration_ns(&self) -> u64 {
        self.end_ns.saturating_sub(self.start_ns)
    }
}

/// What the pipeline knows about the traced tasks, for sinks that render
/// per-thread context.
#[derive(Debug, Default)]
pub struct Tasks {
    /// tid → tgid, for every task seen.
    tgid_of: HashMap<u32, u32>,
    /// tid → latest known name (`comm`).
    comm_of: HashMap<u32, String>,
}

impl Tasks {
    /// Number of distinct tasks seen so far.
    pub fn seen(&self) -> usize {
        self.tgid_of.len()
    }

    /// The latest known name of task `tid`.
    pub fn comm(&self, tid: u32) -> Option<&str> {
        self.comm_of.get(&tid).map(String::as_str)
    }

    fn named(&mut self, tid: u32, comm: &str) {
        if !comm.is_empty() && self.comm_of.get(&tid).map(String::as_str) != Some(comm) {
            self.comm_of.insert(tid, comm.to_owned());
        }
    }

    /// Records that `tid` belongs to `tgid`; the latest word wins, since a
    /// spawned task is first assumed to be a thread of its parent.
    fn saw(&mut self, tid: u32, tgid: u32) {
        *self.tgid_of.entry(tid).or_insert(tgid) = tgid;
    }
}

/// Where events end up: text lines, a summary, a recording, an export.
pub trait Sink {
    fn syscall(&mut self, event: &SyscallEvent, tasks: &Tasks) -> io::Result<()>;

    fn task(&mut self, _event: &TaskEvent, _tasks: &Tasks) -> io::Result<()> {
        Ok(())
    }

    /// A syscall `-e` does not show: sinks that keep state from the event
    /// stream (`-y`'s fd names) learn from it all the same.
    fn unshown(&mut self, _event: &SyscallEvent) {}

    /// Request attribution found something wrong.
    fn anomaly(&mut self, _anomaly: &Anomaly, _tasks: &Tasks) -> io::Result<()> {
        Ok(())
    }

    /// The source has nothing more for now (or has streamed for a while):
    /// a sink that streams lines to a reader hands over what it buffered,
    /// so `record ... | grep` sees lines as they happen, not at exit.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// Called once, after the last event.
    fn finish(&mut self, _run: &RunInfo, _tasks: &Tasks) -> io::Result<()> {
        Ok(())
    }
}

pub struct Pipeline {
    filter: SyscallFilter,
    tasks: Tasks,
    /// Request attribution; `None` when off, or when replaying a recording
    /// whose events were attributed already.
    attributor: Option<Attributor>,
    /// Captured data beyond this many bytes is dropped once attribution has
    /// seen it, so that sinks (and recordings) keep only a short prefix
    /// unless the user asked for the payload (`--keep-payload`).
    keep_bytes: Option<usize>,
    sinks: Vec<Box<dyn Sink>>,
    /// `-k`: user stacks are symbolized before the sinks see them. Without
    /// it, stacks (from a recording made with `-k`) are dropped.
    symbolizer: Option<Symbolizer>,
    /// Syscall events seen, before filtering.
    pub syscalls: u64,
    /// Anomalies reported by attribution.
    pub anomalies: u64,
}

/// Captured bytes kept for sinks when the payload is not kept: what text
/// mode shows, like strace's default `-s 32`.
pub const SHOWN_BYTES: usize = 32;

impl Pipeline {
    pub fn new(filter: SyscallFilter, sinks: Vec<Box<dyn Sink>>) -> Self {
        Self {
            filter,
            tasks: Tasks::default(),
            attributor: None,
            keep_bytes: None,
            sinks,
            symbolizer: None,
            syscalls: 0,
            anomalies: 0,
        }
    }

    /// Attributes syscalls to requests with `attributor`.
    pub fn with_attributor(mut self, attributor: Attributor) -> Self {
        self.attributor = Some(attributor);
        self
    }

    /// Trims captured data to `bytes` before it reaches the sinks.
    pub fn keep_bytes(mut self, bytes: usize) -> Self {
        self.keep_bytes = Some(bytes);
        self
    }

    /// Shows user stacks (`-k`), symbolized.
    pub fn with_stacks(mut self, symbolizer: Symbolizer) -> Self {
        self.symbolizer = Some(symbolizer);
        self
    }

    /// Registers a task known from outside the event stream (the threads of
    /// an attached process, the launched child), with its name.
    pub fn add_task(
        &mut self,
        tid: u32,
        tgid: u32,
        comm: Option<String>,
        ts_ns: u64,
    ) -> io::Result<()> {
        self.tasks.saw(tid, tgid);
        match comm {
            Some(comm) => self.push(Event::Task(TaskEvent::Named {
                ts_ns,
                tgid,
                tid,
                comm,
                owner: None,
            })),
            None => Ok(()),
        }
    }

    /// Hands on an anomaly found elsewhere (read back from a recording).
    pub fn push_anomaly(&mut self, anomaly: &Anomaly) -> io::Result<()> {
        self.anomalies += 1;
        for sink in &mut self.sinks {
            sink.anomaly(anomaly, &self.tasks)?;
        }
        Ok(())
    }

    #[cfg(test)]
    pub fn tasks(&self) -> &Tasks {
        &self.tasks
    }

    pub fn push(&mut self, event: Event) -> io::Result<()> {
        match event {
            Event::Syscall(mut ev) => {
                self.tasks.saw(ev.tid, ev.tgid);
                self.syscalls += 1;
                // Attribution sees every syscall, the filtered-out ones too:
                // with --by-request or --request-id, a `-e trace=write`
                // still learns its requests from reads (the kernel records
                // them for it, see `record::kernel_set`).
                if let Some(attributor) = &mut self.attributor
                    && let Some(anomaly) = attributor.syscall(&mut ev)
                {
                    self.push_anomaly(&anomaly)?;
                }
                if !self.filter.matches(ev.nr) {
                    for sink in &mut self.sinks {
                        sink.unshown(&ev);
                    }
                    return Ok(());
                }
                if let (Some(keep), Some(data)) = (self.keep_bytes, &mut ev.data)
                    && data.bytes.len() > keep
                {
                    data.bytes.truncate(keep);
                    data.truncated = true;
                }
                match (&mut self.symbolizer, &mut ev.stack) {
                    (Some(symbolizer), Some(stack)) => symbolizer.symbolize(stack),
                    (None, stack) => *stack = None,
                    _ => {}
                }
                for sink in &mut self.sinks {
                    sink.syscall(&ev, &self.tasks)?;
                }
            }
            Event::Task(task) => {
                match &task {
                    TaskEvent::Spawned {
                        parent_tgid,
                        tid,
                        comm,
                        ..
                    } => {
                        // The tgid of a new task is the parent's for a
                        // thread, its own tid for a process; its first
                        // syscall tells. Until then assume a thread.
                        self.tasks.saw(*tid, *parent_tgid);
                        self.tasks.named(*tid, comm);
                    }
                    TaskEvent::Named {
                        tgid, tid, comm, ..
                    } => {
                        self.tasks.saw(*tid, *tgid);
                        self.tasks.named(*tid, comm);
                    }
                    TaskEvent::Signal { tgid, tid, .. } | TaskEvent::Stopped { tgid, tid, .. } => {
                        self.tasks.saw(*tid, *tgid)
                    }
                    TaskEvent::Exited { .. } => {}
                }
                if let Some(attributor) = &mut self.attributor {
                    attributor.task(&task);
                }
                for sink in &mut self.sinks {
                    sink.task(&task, &self.tasks)?;
                }
            }
        }
        Ok(())
    }

    /// Every sink hands over what it buffered (see [`Sink::flush`]).
    pub fn flush(&mut self) -> io::Result<()> {
        for sink in &mut self.sinks {
            sink.flush()?;
        }
        Ok(())
    }

    pub fn finish(&mut self, run: &RunInfo) -> io::Result<()> {
        for sink in &mut self.sinks {
            sink.finish(run, &self.tasks)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    //! The pipeline's own steps (filter, attribution, trimming, task
    //! bookkeeping) on constructed events; the sources that produce them
    //! are tested against the kernel in their own modules.

    use std::{cell::RefCell, rc::Rc};

    use super::*;
    use crate::{event::DataCapture, syscalls};

    /// What a sink was handed, one line per call, in order.
    #[derive(Clone, Default)]
    struct Log(Rc<RefCell<Vec<String>>>);

    impl Log {
        fn lines(&self) -> Vec<String> {
            self.0.borrow().clone()
        }
    }

    impl Sink for Log {
        fn syscall(&mut self, ev: &SyscallEvent, tasks: &Tasks) -> io::Result<()> {
            let data = ev.data.as_ref().map(|d| {
                let text = String::from_utf8_lossy(&d.bytes).into_owned();
                if d.truncated { text + "..." } else { text }
            });
            self.0.borrow_mut().push(format!(
                "{} tid={} comm={:?} request={:?} data={:?}",
                syscalls::name(ev.nr).unwrap_or("?"),
                ev.tid,
                tasks.comm(ev.tid),
                ev.request.as_deref(),
                data
            ));
            Ok(())
        }

        fn task(&mut self, ev: &TaskEvent, tasks: &Tasks) -> io::Result<()> {
            let line = format!("task tid={} comm={:?}", ev.tid(), tasks.comm(ev.tid()));
            self.0.borrow_mut().push(line);
            Ok(())
        }

        fn anomaly(&mut self, anomaly: &Anomaly, _tasks: &Tasks) -> io::Result<()> {
            let line = format!("anomaly {} tid={}", anomaly.kind, anomaly.tid);
            self.0.borrow_mut().push(line);
            Ok(())
        }

        fn finish(&mut self, run: &RunInfo, tasks: &Tasks) -> io::Result<()> {
            let line = format!("finish {} tasks={}", run.mode, tasks.seen());
            self.0.borrow_mut().push(line);
            Ok(())
        }
    }

    fn syscall(tid: u32, name: &str, data: Option<&str>) -> Event {
        Event::Syscall(SyscallEvent {
            tgid: 1,
            tid,
            nr: syscalls::by_name(name).unwrap(),
            args: [5, 0x1000, 4096, 0, 0, 0],
            enter_ns: 10,
            exit_ns: Some(20),
            ret: Some(data.map_or(0, |d| d.len() as i64)),
            strings: None,
            data: data.map(|d| {
                Box::new(DataCapture {
                    bytes: d.as_bytes().to_vec(),
                    truncated: false,
                })
            }),
            request: None,
            stack: None,
        })
    }

    fn pipeline(exprs: &[&str], log: &Log) -> Pipeline {
        let filter = SyscallFilter::parse(exprs).unwrap();
        Pipeline::new(filter, vec![Box::new(log.clone())])
    }

    #[test]
    fn filtered_out_syscalls_are_counted_and_still_teach_attribution() {
        let log = Log::default();
        let mut p = pipeline(&["trace=write"], &log).with_attributor(Attributor::default());
        p.push(syscall(
            1,
            "read",
            Some("GET / HTTP/1.1\r\nX-Request-Id: r1\r\n\r\n"),
        ))
        .unwrap();
        p.push(syscall(1, "getppid", None)).unwrap();
        p.push(syscall(1, "write", Some("done"))).unwrap();
        assert_eq!(p.syscalls, 3);
        assert_eq!(
            log.lines(),
            [r#"write tid=1 comm=None request=Some("r1") data=Some("done")"#]
        );
    }

    #[test]
    fn without_an_attributor_nothing_is_attributed() {
        let log = Log::default();
        let mut p = pipeline(&[], &log);
        p.push(syscall(1, "read", Some("X-Request-Id: r1\r\n")))
            .unwrap();
        p.push(syscall(1, "write", Some("done"))).unwrap();
        assert!(log.lines().iter().all(|l| l.contains("request=None")));
    }

    #[test]
    fn captured_data_is_trimmed_after_attribution_saw_it_whole() {
        let log = Log::default();
        let mut p = pipeline(&[], &log)
            .with_attributor(Attributor::default())
            .keep_bytes(4);
        // The ID is past the bytes kept: attribution still finds it.
        p.push(syscall(
            1,
            "read",
            Some("GET / HTTP/1.1\r\nX-Request-Id: r2\r\n\r\n"),
        ))
        .unwrap();
        p.push(syscall(1, "write", Some("okay"))).unwrap();
        assert_eq!(
            log.lines(),
            [
                r#"read tid=1 comm=None request=Some("r2") data=Some("GET ...")"#,
                r#"write tid=1 comm=None request=Some("r2") data=Some("okay")"#,
            ]
        );
    }

    #[test]
    fn sinks_see_each_task_by_its_latest_name() {
        let log = Log::default();
        let mut p = pipeline(&[], &log);
        p.add_task(1, 1, Some("server".into()), 0).unwrap();
        p.add_task(2, 1, None, 0).unwrap();
        p.push(Event::Task(TaskEvent::Spawned {
            ts_ns: 5,
            parent_tgid: 1,
            parent_tid: 1,
            tid: 3,
            comm: "worker".into(),
        }))
        .unwrap();
        p.push(syscall(3, "getppid", None)).unwrap();
        // An exec renames; an exit leaves the name for the sinks to use.
        p.push(Event::Task(TaskEvent::Named {
            ts_ns: 6,
            tgid: 1,
            tid: 1,
            comm: "server2".into(),
            owner: None,
        }))
        .unwrap();
        p.push(Event::Task(TaskEvent::Exited {
            ts_ns: 7,
            tgid: 1,
            tid: 3,
            group_dead: false,
            comm: String::new(),
            status: None,
        }))
        .unwrap();
        p.push(syscall(1, "getppid", None)).unwrap();
        p.finish(&RunInfo {
            mode: "test",
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            log.lines(),
            [
                r#"task tid=1 comm=Some("server")"#,
                r#"task tid=3 comm=Some("worker")"#,
                r#"getppid tid=3 comm=Some("worker") request=None data=None"#,
                r#"task tid=1 comm=Some("server2")"#,
                r#"task tid=3 comm=Some("worker")"#,
                r#"getppid tid=1 comm=Some("server2") request=None data=None"#,
                "finish test tasks=3",
            ]
        );
    }

    #[test]
    fn anomalies_reach_every_sink_and_are_counted() {
        let (a, b) = (Log::default(), Log::default());
        let mut p = Pipeline::new(
            SyscallFilter::default(),
            vec![Box::new(a.clone()), Box::new(b.clone())],
        );
        let anomaly = Anomaly {
            kind: "request_bleed".into(),
            tgid: 1,
            tid: 2,
            fd: 5,
            ts_ns: 9,
            attributed: "a".into(),
            found: "b".into(),
        };
        p.push_anomaly(&anomaly).unwrap();
        assert_eq!(p.anomalies, 1);
        assert_eq!(a.lines(), ["anomaly request_bleed tid=2"]);
        assert_eq!(a.lines(), b.lines());
    }

    #[test]
    fn a_failing_sink_stops_the_event() {
        struct Full;
        impl Sink for Full {
            fn syscall(&mut self, _: &SyscallEvent, _: &Tasks) -> io::Result<()> {
                Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"))
            }
        }
        let after = Log::default();
        let mut p = Pipeline::new(
            SyscallFilter::default(),
            vec![Box::new(Full), Box::new(after.clone())],
        );
        let err = p.push(syscall(1, "getppid", None)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::StorageFull);
        assert!(after.lines().is_empty());
    }
}
