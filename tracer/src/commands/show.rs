//! The display options `record` and `report` share (`-o`, `-c`, `--json`,
//! `--by-request`, `-t`, `-T`, `-e`), defined once so that a recording
//! reads back exactly as the live run printed it.

use std::path::PathBuf;

use clap::{ArgAction, Args};

/// How events are shown: the options `record` and `report` share, so that
/// a recording reads back exactly as the live run printed.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Write tracer's output (lines or summary) to FILE, mode 0600, instead
    /// of stderr (record) or stdout (report).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Print a per-syscall summary (counts, errors, latency percentiles)
    /// instead of one line per syscall.
    #[arg(short = 'c', long = "summary")]
    pub summary: bool,

    /// Print the summary as JSON (implies -c).
    #[arg(long)]
    pub json: bool,

    /// Summarise per request: threads, syscalls, wall time, first and last
    /// event, after the anomalies (implies -c; with --json adds `requests`).
    #[arg(long)]
    pub by_request: bool,

    /// Prefix lines with the wall-clock time: -t seconds, -tt microseconds,
    /// -ttt seconds since the epoch.
    #[arg(short = 't', action = ArgAction::Count)]
    pub timestamps: u8,

    /// Show the time spent in each syscall.
    #[arg(short = 'T')]
    pub durations: bool,

    /// Filter expression, strace syntax: trace=open,close | trace=%file |
    /// trace=!read,write | %network, %process, %memory, %signal, %desc.
    /// eBPF applies it in the kernel: a syscall left out costs the target
    /// one table lookup over the floor. Still recorded, not shown: the
    /// read/write/open/close families when request attribution is on (a
    /// narrow -e turns the built-in patterns off unless --by-request; a
    /// --request-id keeps it on), and fd-changing calls under -y.
    #[arg(short = 'e', value_name = "EXPR")]
    pub exprs: Vec<String>,

    /// Show the user stack of each syscall `-e` selects, symbolized, as
    /// ` > /usr/bin/prog(func+0x4c) [0x4a5f2c]` lines after it (strace -k).
    /// Frame pointers only: code built without them gives short stacks.
    #[arg(short = 'k', long = "stack-trace")]
    pub stack_trace: bool,
}

impl ShowArgs {
    /// `pipeline` with stacks shown (symbolized) when `-k` asks for them.
    pub fn stacks(&self, pipeline: crate::pipeline::Pipeline) -> crate::pipeline::Pipeline {
        match self.stack_trace {
            true => pipeline.with_stacks(Default::default()),
            false => pipeline,
        }
    }

    /// The view these options ask for (where output goes by default, and
    /// the clock, are the command's to set).
    pub fn view(&self) -> crate::output::View {
        crate::output::View {
            summary: self.summary,
            json: self.json,
            by_request: self.by_request,
            timestamps: self.timestamps,
            durations: self.durations,
            output: self.output.clone(),
            ..Default::default()
        }
    }
}
