//! `tracer compare`: does the failure vanish under observation?
//!
//! Two ways to ask, one result (`report`):
//! - `compare -- CMD` launches the command many times per mode, in a
//!   random order (`launched`);
//! - `compare -p PID | --comm NAME | --cgroup PATH` watches a running
//!   service in alternating windows of each mode (`live`): for the worker
//!   that fails once an hour and cannot be rerun a hundred times.
//!
//! This file holds the options both share and picks one; `fail_on` says
//! what a failure is, `report` prints the table, JSON and verdict.

mod fail_on;
mod launched;
mod live;
mod live_report;
mod log_lines;
mod recorder;
mod report;
mod watched;
mod windows;

use std::{path::PathBuf, time::Duration};

use anyhow::Result;
use clap::Args;

pub use launched::execute;
pub use report::{CompareJson, ModeJson};

use crate::exit::Exit;

/// How each run is judged and driven: the options compare and amplify
/// share.
#[derive(Clone, Debug, Args)]
pub struct RunOptions {
    /// What makes a run a failure: exit (non-zero exit status), signal
    /// (death by a signal), output=REGEX (stdout or stderr matches);
    /// with -p/--comm/--cgroup also log=FILE:REGEX (lines appended to FILE
    /// that match, counted per hour). Repeatable; default: exit and signal.
    #[arg(long = "fail-on", value_name = "COND")]
    pub fail_on: Vec<String>,
    /// How long before a run counts as hung (a failure of its own kind):
    /// 1ms to a year, with ms, s, m or h (a bare number is seconds).
    #[arg(long, value_name = "DUR", default_value = "60", value_parser = crate::commands::options::parse_timeout)]
    pub timeout: Duration,
    /// Runs at once (1 to 1024). More than 1 changes the timing of what is
    /// measured.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub jobs: u64,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Runs per mode (1 to 1000000).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub runs: u64,
    /// Modes to compare, each once: none (untraced), ebpf, ptrace
    /// (recorded), delay:SET=DURATION (SET's syscalls delayed: read,
    /// openat+read, %file; DURATION with ns, us, ms or s),
    /// ebpf+delay:SET=DURATION (recorded while delayed).
    #[arg(long, value_delimiter = ',', default_value = "none,ebpf,ptrace",
          value_parser = super::run_mode::parse_arg)]
    pub modes: Vec<String>,
    #[command(flatten)]
    pub run: RunOptions,
    /// Failing runs per mode whose stdout/stderr are kept.
    #[arg(long, default_value_t = 3)]
    pub keep_failures: usize,
    /// Keep the full recording (`record -w`) of every failing eBPF run, and
    /// of one passing run to compare with, in DIR (created 0700; an
    /// existing one must be ours and writable by nobody else): open them
    /// with `tracer report`.
    #[arg(long, value_name = "DIR")]
    pub trace_failures: Option<PathBuf>,
    /// A running target instead of a command (`-p`, `--comm`, `--cgroup`).
    #[command(flatten)]
    pub live: LiveArgs,
    /// The command to run.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        required_unless_present_any = ["pid", "comm", "cgroup"]
    )]
    pub command: Vec<String>,
}

/// `compare -p PID | --comm NAME | --cgroup PATH`: a running service
/// watched in alternating windows instead of a command launched many
/// times.
#[derive(Clone, Debug, Default, Args)]
pub struct LiveArgs {
    /// Compare on running process PID and every process it starts (a
    /// supervisor and the workers it restarts), in alternating windows.
    #[arg(short = 'p', long = "pid", value_name = "PID",
          value_parser = clap::value_parser!(i32).range(1..),
          conflicts_with_all = ["comm", "cgroup", "command"])]
    pub pid: Option<i32>,
    /// Compare on the processes named NAME (as in /proc/PID/comm, at most
    /// 15 bytes), in alternating windows.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["cgroup", "command"])]
    pub comm: Option<String>,
    /// Compare on the processes of cgroup (v2) PATH, in alternating
    /// windows.
    #[arg(long, value_name = "PATH", conflicts_with = "command")]
    pub cgroup: Option<PathBuf>,
    /// Length of each window: 100ms at least (attaching takes about that
    /// long), at most a day; with ms, s, m or h (a bare number is seconds).
    #[arg(long, value_name = "DUR", default_value = "60s", value_parser = crate::commands::options::parse_window)]
    pub window: Duration,
    /// Windows per mode (1 to 100000); each cycle has one window of every
    /// mode, in a new random order.
    #[arg(long, value_name = "N", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub windows: u64,
}

impl LiveArgs {
    /// Whether the compare is on a running target.
    pub fn is_live(&self) -> bool {
        self.pid.is_some() || self.comm.is_some() || self.cgroup.is_some()
    }
}

/// Runs `tracer compare`, launched or live.
pub fn run(args: CompareArgs) -> Result<Exit> {
    match args.live.is_live() {
        true => live::run(&args),
        false => launched::run(args),
    }
}
