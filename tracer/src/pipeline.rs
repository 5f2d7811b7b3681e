//! decode → filter → attribute → sinks: the one path every event takes,
//! whichever source produced it, so that every output works in every mode.

use std::{collections::HashMap, io};

use crate::{
    event::{Event, SyscallEvent, TaskEvent},
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
}

impl Tasks {
    /// Number of distinct tasks seen so far.
    pub fn seen(&self) -> usize {
        self.tgid_of.len()
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

    /// Called once, after the last event.
    fn finish(&mut self, _run: &RunInfo, _tasks: &Tasks) -> io::Result<()> {
        Ok(())
    }
}

pub struct Pipeline {
    filter: SyscallFilter,
    tasks: Tasks,
    sinks: Vec<Box<dyn Sink>>,
    /// Syscall events seen, before filtering.
    pub syscalls: u64,
}

impl Pipeline {
    pub fn new(filter: SyscallFilter, sinks: Vec<Box<dyn Sink>>) -> Self {
        Self {
            filter,
            tasks: Tasks::default(),
            sinks,
            syscalls: 0,
        }
    }

    /// Registers a task known from outside the event stream (the threads of
    /// an attached process, the launched child).
    pub fn add_task(&mut self, tid: u32, tgid: u32) {
        self.tasks.saw(tid, tgid);
    }

    #[cfg(test)]
    pub fn tasks(&self) -> &Tasks {
        &self.tasks
    }

    pub fn push(&mut self, event: &Event) -> io::Result<()> {
        match event {
            Event::Syscall(ev) => {
                self.tasks.saw(ev.tid, ev.tgid);
                self.syscalls += 1;
                if !self.filter.matches(ev.nr) {
                    return Ok(());
                }
                for sink in &mut self.sinks {
                    sink.syscall(ev, &self.tasks)?;
                }
            }
            Event::Task(task) => {
                if let TaskEvent::Spawned {
                    parent_tgid, tid, ..
                } = task
                {
                    // The tgid of a new task is the parent's for a thread,
                    // its own tid for a process; its first syscall tells.
                    // Until then assume a thread.
                    self.tasks.saw(*tid, *parent_tgid);
                }
                for sink in &mut self.sinks {
                    sink.task(task, &self.tasks)?;
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
