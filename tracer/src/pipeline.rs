//! decode → filter → attribute → sinks: the one path every event takes,
//! whichever source produced it, so that every output works in every mode.

use std::{collections::HashMap, io};

use crate::{
    event::{Anomaly, Event, SyscallEvent, TaskEvent},
    request::Attributor,
    syscalls::filter::SyscallFilter,
};

/// Facts about the whole run that sinks report at the end.
#[derive(Clone, Debug, Default)]
pub struct RunInfo {
    /// `ebpf` or `ptrace`.
    pub mode: &'static str,
    /// Events the source could not deliver (ring full, …).
    pub lost_events: u64,
    /// Syscalls recorded, before `-e` filtering.
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

    /// Request attribution found something wrong.
    fn anomaly(&mut self, _anomaly: &Anomaly, _tasks: &Tasks) -> io::Result<()> {
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
                // a `-e trace=write` still learns its requests from reads.
                if let Some(attributor) = &mut self.attributor
                    && let Some(anomaly) = attributor.syscall(&mut ev)
                {
                    self.push_anomaly(&anomaly)?;
                }
                if !self.filter.matches(ev.nr) {
                    return Ok(());
                }
                if let (Some(keep), Some(data)) = (self.keep_bytes, &mut ev.data)
                    && data.bytes.len() > keep
                {
                    data.bytes.truncate(keep);
                    data.truncated = true;
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

    pub fn finish(&mut self, run: &RunInfo) -> io::Result<()> {
        for sink in &mut self.sinks {
            sink.finish(run, &self.tasks)?;
        }
        Ok(())
    }
}
