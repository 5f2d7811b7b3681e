//! Sinks that render events for people: strace-like lines and summaries.

pub mod summary;
pub mod text;

use std::{
    io::{self, BufWriter, Write},
    path::PathBuf,
};

use anyhow::Result;

use crate::{pipeline::Sink, stdio::Guarded};
use summary::{SummaryFormat, SummarySink};
use text::{TextOptions, TextSink, Timestamps};

/// How events are shown: the options `record` and `report` share, built in
/// one place so that a recording reads back exactly as the live run printed.
#[derive(Clone, Debug, Default)]
pub struct View {
    /// `-c`: a summary table instead of lines.
    pub summary: bool,
    /// `--json`: the summary as JSON.
    pub json: bool,
    /// `-t` count.
    pub timestamps: u8,
    /// `-T`.
    pub durations: bool,
    /// `-y`.
    pub decode_fds: bool,
    /// `--by-request`: the summary also per request.
    pub by_request: bool,
    /// `-o FILE`, created 0600.
    pub output: Option<PathBuf>,
    /// Without `-o`: stdout instead of stderr (stderr is the traced
    /// command's to share, as in strace; a report has stdout to itself).
    pub stdout: bool,
    /// `CLOCK_REALTIME - CLOCK_MONOTONIC` to show times with, when the
    /// events are not from now (a recording); else taken at start.
    pub realtime_offset_ns: Option<i64>,
}

/// The sink that renders `view`. Its output may be a pipe whose reader
/// goes away (`| head`, `-o /dev/stdout`): guarded, so that the command
/// can tell that from a full disk (see `stdio`).
pub fn view_sink(view: &View) -> Result<Box<dyn Sink>> {
    let out: Box<dyn Write> = match &view.output {
        Some(path) => Box::new(BufWriter::with_capacity(
            1 << 20,
            Guarded(crate::files::create_private(path)?),
        )),
        None if view.stdout => Box::new(BufWriter::with_capacity(1 << 16, Guarded(io::stdout()))),
        None => Box::new(BufWriter::with_capacity(1 << 16, Guarded(io::stderr()))),
    };
    Ok(if view.summary || view.json || view.by_request {
        let format = if view.json {
            SummaryFormat::Json
        } else {
            SummaryFormat::Table
        };
        Box::new(SummarySink::new(out, format).by_request(view.by_request))
    } else {
        let options = TextOptions {
            timestamps: Timestamps::from_count(view.timestamps),
            durations: view.durations,
            decode_fds: view.decode_fds,
        };
        let sink = TextSink::new(out, options);
        Box::new(match view.realtime_offset_ns {
            Some(offset) => sink.with_realtime_offset(offset),
            None => sink,
        })
    })
}

/// The line every output ends with when events were dropped: loud, because a
/// trace with holes must never pass for a complete one. Lost syscalls,
/// task records and captures are counted apart: a lost capture leaves its
/// syscall recorded.
pub fn lost_anything(run: &crate::pipeline::RunInfo) -> bool {
    run.lost_events + run.lost_tasks + run.lost_captures > 0
}

/// The banner itself (see [`lost_anything`]).
pub fn lost_banner(run: &crate::pipeline::RunInfo) -> String {
    let tasks = match run.lost_tasks {
        0 => String::new(),
        n => format!(", {n} task records"),
    };
    let captures = match run.lost_captures {
        0 => String::new(),
        n => format!(", and the data or paths of {n} recorded syscalls (shown as pointers)"),
    };
    format!(
        "tracer: LOST {} syscalls{tasks}{captures} (ring buffer full; raise --ring-size)",
        run.lost_events
    )
}
