//! `tracer report FILE`: a recording shown as the live run showed it
//! (lines, `-c` summary, `--json`), through the same pipeline and sinks,
//! optionally narrowed to threads, a request, or a time window.

use std::{
    collections::HashSet,
    io::{self, IsTerminal as _},
    path::PathBuf,
};

use anyhow::{Context as _, Result};
use clap::Args;

use crate::{
    event::{Anomaly, SyscallEvent, TaskEvent},
    exit::Exit,
    output::{View, lost_banner, view_sink},
    pipeline::{Pipeline, RunInfo, Sink, Tasks},
    recording::{self, Reader, RecordingError},
    stdio::note,
    syscalls::filter::SyscallFilter,
};

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The recording (from `tracer record -w FILE`).
    pub file: PathBuf,

    #[command(flatten)]
    pub show: super::show::ShowArgs,

    /// Only the syscalls of thread TID. Repeat, or separate with commas.
    #[arg(long = "thread", value_name = "TID", value_delimiter = ',')]
    pub threads: Vec<u32>,

    /// Only the syscalls attributed to request ID.
    #[arg(long, value_name = "ID")]
    pub request: Option<String>,

    /// Only syscalls that entered at least DUR after the recording began
    /// (`1.5`, `200ms`, `2m`: a bare number is seconds).
    #[arg(long, value_name = "DUR", value_parser = super::options::parse_offset_ns)]
    pub since: Option<u64>,

    /// Only syscalls that entered before DUR after the recording began.
    #[arg(long, value_name = "DUR", value_parser = super::options::parse_offset_ns)]
    pub until: Option<u64>,
}

pub fn run(args: ReportArgs) -> Result<Exit> {
    let filter = SyscallFilter::parse(&args.show.exprs).context("invalid -e expression")?;
    if let (Some(since), Some(until)) = (args.since, args.until)
        && until <= since
    {
        super::options::usage_error("--until must be later than --since");
    }
    let path = &args.file;
    let reader = Reader::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let start_ns = reader.header().start_ns;

    // No `-y`: it looks fds up in /proc, of no use for processes long gone.
    let sink = view_sink(&View {
        stdout: true,
        realtime_offset_ns: Some(reader.header().realtime_offset_ns),
        ..args.show.view()
    })?;
    let narrow = Narrow {
        threads: args.threads.iter().copied().collect(),
        request: args.request.clone(),
        from_ns: args.since.map(|s| start_ns.saturating_add(s)),
        to_ns: args.until.map(|u| start_ns.saturating_add(u)),
    };
    let windowed = narrow.from_ns.is_some() || narrow.to_ns.is_some();
    let sink: Box<dyn Sink> = if narrow.is_all() {
        sink
    } else {
        Box::new(Narrowed {
            inner: sink,
            narrow,
        })
    };
    let mut pipeline = args.show.stacks(Pipeline::new(filter, vec![sink]));
    let replay = recording::replay_from(reader, &mut pipeline)?;

    let mut run: RunInfo = replay.run.clone();
    if windowed {
        // Durations and shares are of the window shown.
        let from = args
            .since
            .map_or(run.start_ns, |s| start_ns.saturating_add(s));
        let to = args
            .until
            .map_or(run.end_ns, |u| start_ns.saturating_add(u));
        run.start_ns = from.max(run.start_ns);
        run.end_ns = to.min(run.end_ns).max(run.start_ns);
    }
    pipeline.finish(&run).context("cannot write the output")?;

    // The sinks end their output with the LOST banner; say it on stderr
    // too unless that output is already this terminal.
    if crate::output::lost_anything(&run)
        && (args.show.output.is_some() || !io::stdout().is_terminal())
    {
        note!("{}", lost_banner(&run));
    }
    if let Some(warning) = replay.warning() {
        note!("tracer: {}: {warning}", path.display());
    }
    Ok(match replay.damage {
        // A recording cut short is what a killed tracer leaves: all of it
        // was shown. Damage means some of it could not be.
        None | Some(RecordingError::Truncated { .. }) => Exit::Code(0),
        Some(_) => Exit::Code(1),
    })
}

/// Which events a report keeps, beyond `-e`.
struct Narrow {
    threads: HashSet<u32>,
    request: Option<String>,
    /// `CLOCK_MONOTONIC` window, start inclusive, end exclusive.
    from_ns: Option<u64>,
    to_ns: Option<u64>,
}

impl Narrow {
    fn is_all(&self) -> bool {
        self.threads.is_empty()
            && self.request.is_none()
            && self.from_ns.is_none()
            && self.to_ns.is_none()
    }

    fn thread(&self, tid: u32) -> bool {
        self.threads.is_empty() || self.threads.contains(&tid)
    }

    fn time(&self, ts: u64) -> bool {
        self.from_ns.is_none_or(|from| ts >= from) && self.to_ns.is_none_or(|to| ts < to)
    }

    fn request<'a>(&self, mut ids: impl Iterator<Item = &'a str>) -> bool {
        match &self.request {
            None => true,
            Some(wanted) => ids.any(|id| id == wanted),
        }
    }
}

/// Hands on to `inner` only what `narrow` keeps. Task events pass for the
/// threads kept whatever their time, so names stay known; the lines they
/// make are narrowed like syscalls (see [`Narrowed::task`]).
struct Narrowed {
    inner: Box<dyn Sink>,
    narrow: Narrow,
}

impl Sink for Narrowed {
    fn syscall(&mut self, ev: &SyscallEvent, tasks: &Tasks) -> io::Result<()> {
        let n = &self.narrow;
        if n.thread(ev.tid) && n.time(ev.enter_ns) && n.request(ev.request.as_deref().into_iter()) {
            self.inner.syscall(ev, tasks)?;
        }
        Ok(())
    }

    fn task(&mut self, event: &TaskEvent, tasks: &Tasks) -> io::Result<()> {
        let n = &self.narrow;
        if !n.thread(event.tid()) {
            return Ok(());
        }
        // The lines about tasks (strace's `---` and `+++`) show inside the
        // window, and belong to no request; an exit outside them still
        // passes, without its status (no line), for what sinks forget.
        let shown = n.time(event.ts_ns()) && n.request.is_none();
        match event {
            TaskEvent::Signal { .. } | TaskEvent::Stopped { .. } if !shown => Ok(()),
            TaskEvent::Exited {
                status: Some(_), ..
            } if !shown => {
                let mut quiet = event.clone();
                if let TaskEvent::Exited { status, .. } = &mut quiet {
                    *status = None;
                }
                self.inner.task(&quiet, tasks)
            }
            _ => self.inner.task(event, tasks),
        }
    }

    fn anomaly(&mut self, anomaly: &Anomaly, tasks: &Tasks) -> io::Result<()> {
        let n = &self.narrow;
        if n.thread(anomaly.tid)
            && n.time(anomaly.ts_ns)
            && n.request([&*anomaly.attributed, &*anomaly.found].into_iter())
        {
            self.inner.anomaly(anomaly, tasks)?;
        }
        Ok(())
    }

    fn finish(&mut self, run: &RunInfo, tasks: &Tasks) -> io::Result<()> {
        self.inner.finish(run, tasks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrowing() {
        let n = Narrow {
            threads: [5].into(),
            request: Some("r1".into()),
            from_ns: Some(100),
            to_ns: Some(200),
        };
        assert!(n.thread(5) && !n.thread(6));
        assert!(n.time(100) && n.time(199) && !n.time(200) && !n.time(99));
        assert!(n.request(["r0", "r1"].into_iter()) && !n.request(["r2"].into_iter()));
        assert!(!n.request(std::iter::empty()));
    }
}
