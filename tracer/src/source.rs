//! Where events come from: eBPF or ptrace, behind one interface so the rest
//! of tracer does not care which.

use std::{thread, time::Duration};

use anyhow::{Context as _, Result};
use clap::ValueEnum;
use nix::unistd::Pid;

use crate::{
    ebpf::{EbpfError, EbpfSource},
    event::Event,
    exit::{Ended, wait_end},
    launch::Prepare,
    pipeline::ObserverCost,
    procfs,
    ptrace::{PtraceSource, seccomp},
    stdio::note,
    syscalls::filter::SyscallFilter,
};

/// How long to wait for events when there are none. The eBPF side never
/// wakes us (`BPF_RB_NO_WAKEUP`), so this bounds the latency of output; at
/// a million events a second it is ~1 MiB of ring per tick.
const POLL_INTERVAL: Duration = Duration::from_millis(5);

/// Where events come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// eBPF on the raw_syscalls tracepoints: low overhead.
    Ebpf,
    /// ptrace: works without eBPF, stops the target at every syscall.
    Ptrace,
    /// eBPF when it can be loaded, else ptrace.
    Auto,
}

pub enum Source {
    Ebpf(Box<EbpfSource>),
    Ptrace(PtraceSource),
}

impl Source {
    /// Sets up the source for `mode`, recording the syscalls in `record`
    /// and capturing up to `capture_bytes` of each data buffer, and the
    /// structures behind pointers when `structs` (a sink shows them).
    /// `auto` falls back to ptrace, saying why, when eBPF cannot be loaded.
    pub fn open(
        mode: Mode,
        ring_bytes: u32,
        capture_bytes: u32,
        structs: bool,
        record: &SyscallFilter,
    ) -> Result<Self> {
        let ptrace = || -> Result<Self> {
            Ok(Self::Ptrace(
                PtraceSource::new(capture_bytes, structs).context("cannot start ptrace mode")?,
            ))
        };
        match mode {
            Mode::Ebpf => Ok(Self::Ebpf(Box::new(
                EbpfSource::load(ring_bytes, capture_bytes, structs, record)
                    .context("cannot trace with eBPF")?,
            ))),
            Mode::Ptrace => ptrace(),
            Mode::Auto => match EbpfSource::load(ring_bytes, capture_bytes, structs, record) {
                Ok(source) => Ok(Self::Ebpf(Box::new(source))),
                Err(
                    err @ (EbpfError::BadRingSize(_)
                    | EbpfError::BadCaptureSize(_)
                    | EbpfError::Map(_)),
                ) => Err(err).context("cannot trace with eBPF"),
                Err(err) => {
                    note!("tracer: eBPF unavailable ({err}); using ptrace");
                    ptrace()
                }
            },
        }
    }

    pub fn mode(&self) -> &'static str {
        match self {
            Self::Ebpf(_) => "ebpf",
            Self::Ptrace(_) => "ptrace",
        }
    }

    /// The seccomp filter a launched child installs under ptrace with a
    /// narrowed `-e trace=`, so the other syscalls do not stop it at all.
    /// Built before the source exists (the launcher is forked first), for
    /// whichever source it turns out to be.
    pub fn seccomp_program(mode: Mode, filter: &SyscallFilter) -> Option<Vec<libc::sock_filter>> {
        (mode != Mode::Ebpf && !filter.is_all()).then(|| seccomp::program(|nr| filter.matches(nr)))
    }

    /// How the launched child must prepare itself for this source.
    pub fn prepare(&self, filter: &SyscallFilter) -> Prepare {
        match self {
            Self::Ebpf(_) => Prepare::default(),
            Self::Ptrace(_) => Prepare {
                stop_before_exec: true,
                seccomp: !filter.is_all(),
                ..Prepare::default()
            },
        }
    }

    /// Takes the user stack of every syscall `filter` selects (`-k`).
    pub fn stacks(&mut self, filter: &SyscallFilter) -> Result<()> {
        match self {
            Self::Ptrace(source) => {
                source.stacks(filter.clone());
                Ok(())
            }
            Self::Ebpf(source) => Ok(source.stacks(filter)?),
        }
    }

    /// Starts recording process `tgid`; returns its threads. `launched` is
    /// true for our gated child, which has one thread and has not exec'd.
    pub fn trace(&mut self, tgid: u32, launched: bool) -> Result<Vec<u32>> {
        match self {
            Self::Ebpf(source) => {
                source.trace(tgid, launched)?;
                if launched {
                    return Ok(vec![tgid]);
                }
                // Filter first, then list threads: a thread born in between
                // shows up as a fork event as well, which is harmless.
                Ok(procfs::threads(tgid as i32)?)
            }
            Self::Ptrace(source) => Ok(source.trace(tgid, launched)?),
        }
    }

    /// Every target is set up: start delivering events.
    pub fn start(&mut self) {
        if let Self::Ptrace(source) = self {
            source.start();
        }
    }

    /// Hands pending events to `sink`, waiting a little when there are
    /// none. Returns how many were handed on.
    pub fn poll(&mut self, mut sink: impl FnMut(Event)) -> usize {
        match self {
            Self::Ebpf(source) => {
                let n = source.drain(sink);
                if n == 0 {
                    thread::sleep(POLL_INTERVAL);
                }
                n
            }
            Self::Ptrace(source) => {
                let mut n = 0;
                if let Some(batch) = source.wait(POLL_INTERVAL) {
                    n += batch.len();
                    batch.into_iter().for_each(&mut sink);
                }
                n + source.drain(sink)
            }
        }
    }

    /// Hands every pending event to `sink` without waiting.
    pub fn drain(&mut self, sink: impl FnMut(Event)) -> usize {
        match self {
            Self::Ebpf(source) => source.drain(sink),
            Self::Ptrace(source) => source.drain(sink),
        }
    }

    /// Exit status of our launched child, once it has exited.
    pub fn child_status(&mut self, pid: Pid) -> Option<Ended> {
        match self {
            // The ptrace thread reaps its tracees, our child among them.
            Self::Ptrace(source) => source.status(pid),
            Self::Ebpf(_) => match wait_end(pid, true) {
                Ok(ended) => ended,
                // ECHILD: already reaped.
                Err(_) => Some(Ended(0)),
            },
        }
    }

    /// Whether the source itself knows every target is gone (ptrace does;
    /// eBPF relies on task events).
    pub fn finished(&self) -> bool {
        match self {
            Self::Ebpf(_) => false,
            Self::Ptrace(source) => source.finished(),
        }
    }

    /// What watching has cost the target so far, given the number of its
    /// syscalls recorded.
    ///
    /// eBPF: the programs run for every task on the machine, and the kernel
    /// counts their time for all of them together, in sampling windows.
    /// The target is charged two runs per syscall at the average cost of a
    /// run: an underestimate, since runs that record cost more than runs
    /// that only check the filter. `machine_ns` extrapolates the windows'
    /// rate of runs over the whole trace: what every task paid.
    /// `slow_path_ns` adds the tracepoint slow path, calibrated by `tracer
    /// overhead` (see [`crate::calibration`]).
    /// ptrace: the time tracees spent stopped in the tracer.
    pub fn observer(&self, syscalls: u64, duration_ns: u64) -> Option<ObserverCost> {
        match self {
            Self::Ebpf(source) => {
                let (per_run, runs_per_s) = source.run_cost()?;
                let total_ns = (per_run * 2.0 * syscalls as f64) as u64;
                let machine_ns = (per_run * runs_per_s * duration_ns as f64 / 1e9) as u64;
                Some(ObserverCost {
                    total_ns,
                    // The target's runs are among the machine's, whatever
                    // the sampling windows happened to see.
                    machine_ns: Some(machine_ns.max(total_ns)),
                    slow_path_ns: crate::calibration::load().map(|ns| ns * syscalls),
                })
            }
            Self::Ptrace(source) => Some(ObserverCost {
                total_ns: source.stopped_ns(),
                machine_ns: None,
                slow_path_ns: None,
            }),
        }
    }

    /// Syscall records the source could not deliver.
    pub fn lost_syscalls(&self) -> u64 {
        match self {
            Self::Ebpf(source) => source.lost_syscalls(),
            Self::Ptrace(_) => 0,
        }
    }

    /// Task records (fork, exit, exec) the source could not deliver.
    pub fn lost_tasks(&self) -> u64 {
        match self {
            Self::Ebpf(source) => source.lost_tasks(),
            Self::Ptrace(_) => 0,
        }
    }

    /// Captures (paths, data) the source could not deliver: their syscalls
    /// show pointers instead.
    pub fn lost_captures(&self) -> u64 {
        match self {
            Self::Ebpf(source) => source.lost_captures(),
            Self::Ptrace(_) => 0,
        }
    }

    /// Syscalls shown without their stack (`-k`): the kernel could not
    /// send it (ptrace takes it with the syscall, so never loses one).
    pub fn lost_stacks(&self) -> u64 {
        match self {
            Self::Ebpf(source) => source.lost_stacks(),
            Self::Ptrace(_) => 0,
        }
    }

    /// Syscalls of the targets that the kernel left out for `-e` (ptrace's
    /// seccomp filter does not stop the target for them at all).
    pub fn filtered(&self) -> u64 {
        match self {
            Self::Ebpf(source) => source.filtered(),
            Self::Ptrace(_) => 0,
        }
    }

    /// Captures the source took but could not attach to a syscall (ptrace
    /// reads them with their syscall, so it never has any).
    pub fn orphaned_captures(&self) -> u64 {
        match self {
            Self::Ebpf(source) => source.orphaned_captures(),
            Self::Ptrace(_) => 0,
        }
    }

    /// Stops recording and leaves every target running as before. Returns
    /// the events that were still in flight.
    pub fn detach(&mut self, sink: impl FnMut(Event)) -> usize {
        match self {
            Self::Ptrace(source) => source.detach(),
            Self::Ebpf(source) => source.stop_sampling(),
        }
        self.drain(sink)
    }
}
