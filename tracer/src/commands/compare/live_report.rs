//! What a live compare adds to the common result (`report`): the target,
//! each window as it happened, the runs left out as mixed, and what the
//! fork/exec/exit programs that counted them cost. Its JSON sits under
//! `live`; its lines go before the verdict.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{fail_on::Kind, windows::Mixed};

use crate::stdio::outln;

#[derive(Debug, Serialize)]
pub struct LiveJson {
    /// What was watched, in words.
    pub target: String,
    pub window_s: f64,
    pub windows_per_mode: u64,
    /// Every window, in order.
    pub windows: Vec<WindowJson>,
    /// Runs that ended in a window but count for no mode, by why.
    pub mixed: BTreeMap<Mixed, u64>,
    /// The fork/exec/exit programs that count runs in every window.
    pub task_programs: TaskProgramsJson,
    /// Task records the kernel could not deliver (a full ring): exits
    /// that may be missing from the counts. 0 in a sound compare.
    pub lost_task_records: u64,
    /// Why the compare ended before its last window, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_early: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct WindowJson {
    pub mode: String,
    /// `CLOCK_MONOTONIC` ns: the window's span (`begin_ns`..`closed_ns`),
    /// and the part in which its mode was in force (`start_ns`..`end_ns`;
    /// the rest is the recorder attaching and detaching).
    pub begin_ns: u64,
    pub start_ns: u64,
    pub end_ns: u64,
    pub closed_ns: u64,
    pub runs: u64,
    pub failures: u64,
    pub failures_by_kind: BTreeMap<Kind, u64>,
    pub mixed: u64,
    /// The recorder's processes attached at the start (traced windows).
    pub attached: Vec<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub syscalls: Option<u64>,
    /// Syscalls the recorder lost (its ring was full).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost_events: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observer_ns_per_syscall: Option<f64>,
}

/// The cost of the task programs, measured by the kernel
/// (`run_time_ns`/`run_cnt` with `BPF_ENABLE_STATS`) over the untraced
/// and ptrace windows: the eBPF recorder's windows are left out, as
/// statistics would slow its syscall programs.
#[derive(Debug, Serialize)]
pub struct TaskProgramsJson {
    pub programs: [&'static str; 3],
    /// Runs of the three programs over the measured time (for every
    /// fork, exec and exit on the machine, watched or not).
    pub runs: u64,
    pub run_time_ns: u64,
    pub measured_s: f64,
    pub ns_per_run: Option<f64>,
    /// CPU time they took per second of measured time, in µs.
    pub cpu_us_per_s: Option<f64>,
}

pub fn print(live: &LiveJson) -> std::io::Result<()> {
    outln!(
        "target: {}; {} windows of {} s per mode",
        live.target,
        live.windows_per_mode,
        live.window_s
    )?;
    let mixed: u64 = live.mixed.values().sum();
    if mixed > 0 {
        let why: Vec<_> = live
            .mixed
            .iter()
            .map(|(k, n)| format!("{n} {}", mixed_words(*k)))
            .collect();
        outln!(
            "mixed (ended in a window, counted for no mode): {mixed} ({})",
            why.join(", ")
        )?;
    }
    let t = &live.task_programs;
    match (t.ns_per_run, t.cpu_us_per_s) {
        (Some(per_run), Some(cpu)) => outln!(
            "counting cost: the fork/exec/exit programs ran {} times in {:.1} s measured, {per_run:.0} ns each: {cpu:.1} µs of CPU per second, on forks, execs and exits only",
            t.runs,
            t.measured_s
        )?,
        _ => outln!("counting cost: not measured (no fork, exec or exit while measuring)")?,
    }
    if live.lost_task_records > 0 {
        outln!(
            "LOST {} task records: some exits may be missing from the counts",
            live.lost_task_records
        )?;
    }
    if let Some(why) = &live.ended_early {
        outln!("ended early: {why}")?;
    }
    Ok(())
}

fn mixed_words(kind: Mixed) -> &'static str {
    match kind {
        Mixed::Straddles => "straddled a window boundary",
        Mixed::NotFollowed => "started outside what the recorder followed",
        Mixed::NoStatus => "ended without a known status",
        Mixed::Transition => "logged while a recorder attached or detached",
    }
}
