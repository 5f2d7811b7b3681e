//! Timelines for other tools: Perfetto, Chrome JSON, JSONL and CSV.
//!
//! Every format is a [`Sink`], so `tracer record --export FORMAT:OUT` adds
//! one to the live pipeline and `tracer export FILE` replays a recording
//! through a pipeline with one. Sinks stream: what they keep is per task,
//! per process and per request being served, never per event, so memory
//! stays flat whatever the length of the trace (and what they keep of a
//! task or process goes when it exits).

pub mod chrome;
pub mod csv;
pub mod jsonl;
pub mod perfetto;
mod synth;

use std::{
    collections::HashMap,
    fmt,
    io::{self, BufWriter, Write},
    path::{Path, PathBuf},
    str::FromStr,
    time::Instant,
};

use anyhow::{Context as _, Result, bail};
use clap::{Args, ValueEnum};

use crate::{
    event::{RequestId, SyscallEvent, TaskEvent},
    exit::Exit,
    pipeline::{Pipeline, Sink, Tasks},
    syscalls::{
        self, errno,
        format::{Captured, Strings, write_call, write_call_with, write_quoted},
    },
};

/// The formats `tracer export` and `tracer record --export` write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Perfetto protobuf trace, for ui.perfetto.dev and trace_processor.
    Perfetto,
    /// Chrome JSON (Trace Event Format), for tools that take only JSON.
    Chrome,
    /// One JSON object per syscall.
    Jsonl,
    /// One row per syscall, with a header.
    Csv,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Perfetto => "perfetto",
            Format::Chrome => "chrome",
            Format::Jsonl => "jsonl",
            Format::Csv => "csv",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The sink that writes `format` to `out`.
pub fn sink(format: Format, out: Box<dyn Write>) -> Box<dyn Sink> {
    match format {
        Format::Perfetto => Box::new(perfetto::PerfettoSink::new(out)),
        Format::Chrome => Box::new(chrome::ChromeSink::new(out)),
        Format::Jsonl => Box::new(jsonl::JsonlSink::new(out)),
        Format::Csv => Box::new(csv::CsvSink::new(out)),
    }
}

/// `--export FORMAT:FILE` of `tracer record`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub format: Format,
    pub path: PathBuf,
}

impl FromStr for Target {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (format, path) = text
            .split_once(':')
            .ok_or_else(|| format!("{text:?} is not FORMAT:FILE (e.g. perfetto:trace.pftrace)"))?;
        let format = Format::from_str(format, true).map_err(|_| {
            format!("unknown export format {format:?}: use perfetto, chrome, jsonl or csv")
        })?;
        if path.is_empty() {
            return Err(format!("{text:?} names no file"));
        }
        Ok(Self {
            format,
            path: PathBuf::from(path),
        })
    }
}

impl Target {
    /// Creates the file and its sink.
    pub fn open(&self) -> Result<Box<dyn Sink>> {
        Ok(sink(self.format, create(&self.path)?))
    }
}

/// Creates `path` (mode 0600: traces show what the target did) behind a
/// large buffer.
pub fn create(path: &Path) -> Result<Box<dyn Write>> {
    let file = crate::output::create_private(path)?;
    Ok(Box::new(BufWriter::with_capacity(1 << 20, file)))
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// A recording made with `tracer record -w FILE`.
    #[arg(value_name = "FILE", required_unless_present = "synthetic")]
    pub recording: Option<PathBuf>,

    /// What to write.
    #[arg(long, value_enum)]
    pub format: Format,

    /// Write to OUT instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: Option<PathBuf>,

    /// Export only these syscalls (strace syntax, as for `record -e`).
    #[arg(short = 'e', value_name = "EXPR")]
    pub exprs: Vec<String>,

    /// Export N generated events instead of a recording (benchmarks and
    /// tests: several processes and threads, requests handed across
    /// threads).
    #[arg(long, value_name = "N", hide = true, conflicts_with = "recording")]
    pub synthetic: Option<u64>,
}

/// Runs `tracer export`.
pub fn run(args: ExportArgs) -> Result<Exit> {
    let filter = crate::syscalls::filter::SyscallFilter::parse(&args.exprs)
        .context("invalid -e expression")?;
    let out: Box<dyn Write> = match &args.output {
        Some(path) => create(path)?,
        None => {
            if args.format == Format::Perfetto && is_terminal(&io::stdout()) {
                bail!("a Perfetto trace is binary: give -o OUT or redirect standard output");
            }
            Box::new(BufWriter::with_capacity(1 << 20, io::stdout().lock()))
        }
    };
    let mut pipeline = Pipeline::new(filter, vec![sink(args.format, out)]);
    let started = Instant::now();
    let (run, warning, damaged) = match (&args.recording, args.synthetic) {
        (_, Some(events)) => (synth::generate(events, &mut pipeline)?, None, false),
        (Some(path), None) => {
            let replay = crate::recording::replay(path, &mut pipeline)?;
            let warning = replay.warning().map(|w| format!("{}: {w}", path.display()));
            // A recording cut short is what a killed tracer leaves: all of
            // it was exported. Damage means some of it could not be.
            let damaged = !matches!(
                replay.damage,
                None | Some(crate::recording::RecordingError::Truncated { .. })
            );
            (replay.run, warning, damaged)
        }
        (None, None) => bail!("give a recording to export"),
    };
    pipeline.finish(&run).context("cannot write the export")?;
    let secs = started.elapsed().as_secs_f64();
    let written = match args.output.as_deref().map(std::fs::metadata) {
        Some(Ok(meta)) if meta.is_file() => format!(", {} written", human(meta.len())),
        _ => String::new(),
    };
    let usage = rusage();
    let cpu = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    eprintln!(
        "tracer: exported {} syscalls as {} in {secs:.2} s ({:.2} s CPU{written}, peak memory {})",
        pipeline.syscalls,
        args.format,
        cpu(usage.ru_utime) + cpu(usage.ru_stime),
        human((usage.ru_maxrss.max(0) as u64) << 10),
    );
    if let Some(warning) = warning {
        eprintln!("tracer: {warning}");
    }
    if run.lost_events > 0 {
        eprintln!("{}", crate::output::lost_banner(run.lost_events));
    }
    Ok(Exit::Code(if damaged { 1 } else { 0 }))
}

fn is_terminal(stream: &io::Stdout) -> bool {
    use std::io::IsTerminal as _;
    stream.is_terminal()
}

/// `812.3 MiB`, `35 KiB`.
fn human(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
    } else {
        format!("{} KiB", bytes.div_ceil(1024))
    }
}

/// This process's CPU time and peak memory (`ru_maxrss`, KiB).
fn rusage() -> libc::rusage {
    // SAFETY: getrusage fills the struct we pass.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    }
}

/// One syscall rendered as strace shows it, split into its parts. The
/// buffer is reused from event to event.
#[derive(Default)]
pub(crate) struct Call {
    text: Vec<u8>,
    /// `name` is `text[..name_end]`, the arguments `text[name_end + 1..args_end]`.
    name_end: usize,
    args_end: usize,
    data: Vec<u8>,
}

impl Call {
    pub fn render(&mut self, ev: &SyscallEvent) {
        self.text.clear();
        match &ev.strings {
            None => write_call(&mut self.text, ev),
            Some(strings) => {
                let captured: Strings<'_> = std::array::from_fn(|i| {
                    strings[i].as_ref().map(|s| Captured {
                        bytes: &s.bytes,
                        truncated: s.truncated,
                    })
                });
                write_call_with(&mut self.text, ev, &captured);
            }
        }
        // `name(args) = ret`: the return part never holds ") = ", a
        // quoted argument may.
        self.name_end = self.text.iter().position(|&b| b == b'(').unwrap_or(0);
        self.args_end = self
            .text
            .windows(4)
            .rposition(|w| w == b") = ")
            .unwrap_or(self.text.len());
        self.data.clear();
        if let Some(data) = &ev.data {
            write_quoted(&mut self.data, &data.bytes, data.truncated);
        }
    }

    fn part(bytes: &[u8]) -> &str {
        // The renderer writes ASCII (strings are escaped).
        std::str::from_utf8(bytes).unwrap_or("?")
    }

    /// `openat`
    pub fn name(&self) -> &str {
        Self::part(&self.text[..self.name_end])
    }

    /// `AT_FDCWD, "/etc/hosts", O_RDONLY`
    pub fn args(&self) -> &str {
        let start = (self.name_end + 1).min(self.args_end);
        Self::part(&self.text[start..self.args_end])
    }

    /// The captured data, quoted, if the event has any.
    pub fn data(&self) -> Option<&str> {
        (!self.data.is_empty()).then(|| Self::part(&self.data))
    }
}

/// `ENOENT` for a failed syscall.
pub(crate) fn errno_name(ev: &SyscallEvent) -> Option<&'static str> {
    ev.errno().map(|e| errno::name(e).unwrap_or("E?"))
}

/// Task names for the exports: a task's own, else its process's, else its
/// creator's, which a forked task inherits (a source may not have read the
/// name of a child that exited at once).
#[derive(Default)]
pub(crate) struct Names {
    parent: HashMap<u32, u32>,
}

impl Names {
    pub fn task(&mut self, ev: &TaskEvent) {
        match ev {
            TaskEvent::Spawned {
                tid, parent_tid, ..
            } => {
                self.parent.insert(*tid, *parent_tid);
            }
            TaskEvent::Exited { tid, .. } => {
                self.parent.remove(tid);
            }
            TaskEvent::Named { .. } => {}
        }
    }

    pub fn comm<'a>(&self, tasks: &'a Tasks, tid: u32, tgid: u32) -> &'a str {
        if let Some(name) = tasks.comm(tid).or_else(|| tasks.comm(tgid)) {
            return name;
        }
        let mut task = tid;
        // A chain of creators, bounded should it ever loop.
        for _ in 0..16 {
            match self.parent.get(&task) {
                Some(&parent) if parent != task => task = parent,
                _ => break,
            }
            if let Some(name) = tasks.comm(task) {
                return name;
            }
        }
        ""
    }
}

/// Whether syscall `nr` never returns to the caller when it succeeds.
pub(crate) fn never_returns(nr: u32) -> bool {
    matches!(syscalls::name(nr), Some("exit" | "exit_group"))
}

/// Where a request entered a thread: the first syscall a thread made for
/// it after serving something else (or nothing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub tgid: u32,
    pub tid: u32,
    pub ts_ns: u64,
}

/// A stretch of time during which at least one thread served a request:
/// from the start of its earliest syscall to the end of its latest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    pub request: RequestId,
    /// Unique per span, from 1.
    pub id: u64,
    /// The process where the span began.
    pub tgid: u32,
    pub start_ns: u64,
    pub end_ns: u64,
    /// How many times the request entered a thread during the span.
    pub entries: u64,
}

struct Open {
    span: Span,
    /// Threads serving the request now.
    serving: u32,
    last_entry: Entry,
}

/// What one syscall did to the requests.
#[derive(Debug, Default)]
pub(crate) struct Step {
    /// The syscall is where its request entered the thread; with the
    /// previous entry of the same request, if it is served or was recently.
    pub entry: Option<Option<Entry>>,
    /// The thread stopped serving a request that no thread serves now.
    pub closed: Option<Span>,
}

/// Follows which thread serves which request, for the flows and the
/// per-request tracks. Keeps state for the requests being served, and the
/// last entry of the [`RECENT`] requests served last.
#[derive(Default)]
pub(crate) struct Requests {
    serving: HashMap<u32, RequestId>,
    open: HashMap<RequestId, Open>,
    spans: u64,
    /// Requests no thread serves now, oldest first, with their last entry:
    /// a request that goes back to being served (events arrive as calls
    /// end, so a hand-off can be seen after the sender moved on) links up.
    recent: HashMap<RequestId, Entry>,
    recent_order: std::collections::VecDeque<RequestId>,
}

/// How many requests no longer served [`Requests`] remembers.
pub(crate) const RECENT: usize = 4096;

impl Requests {
    pub fn syscall(&mut self, ev: &SyscallEvent) -> Step {
        let mut step = Step::default();
        let current = self.serving.get(&ev.tid);
        if current.map(|r| &**r) != ev.request.as_deref() {
            if let Some(old) = current.cloned() {
                self.serving.remove(&ev.tid);
                step.closed = self.leave(&old);
            }
            if let Some(request) = &ev.request {
                let entry = Entry {
                    tgid: ev.tgid,
                    tid: ev.tid,
                    ts_ns: ev.enter_ns,
                };
                self.serving.insert(ev.tid, request.clone());
                let previous = match self.open.get_mut(request) {
                    Some(open) => {
                        open.serving += 1;
                        open.span.entries += 1;
                        Some(std::mem::replace(&mut open.last_entry, entry))
                    }
                    None => {
                        self.spans += 1;
                        let span = Span {
                            request: request.clone(),
                            id: self.spans,
                            tgid: ev.tgid,
                            start_ns: ev.enter_ns,
                            end_ns: ev.enter_ns,
                            entries: 1,
                        };
                        let open = Open {
                            span,
                            serving: 1,
                            last_entry: entry,
                        };
                        self.open.insert(request.clone(), open);
                        self.recent.remove(request)
                    }
                };
                step.entry = Some(previous);
            }
        }
        if let Some(request) = &ev.request
            && let Some(open) = self.open.get_mut(request)
        {
            // Events come in roughly as syscalls end: a call of another
            // thread may have begun before the span's first.
            let end = ev.exit_ns.unwrap_or(ev.enter_ns);
            open.span.start_ns = open.span.start_ns.min(ev.enter_ns);
            open.span.end_ns = open.span.end_ns.max(end);
        }
        step
    }

    /// A task exited: it serves nothing any more.
    pub fn task(&mut self, ev: &TaskEvent) -> Option<Span> {
        let TaskEvent::Exited { tid, .. } = ev else {
            return None;
        };
        let old = self.serving.remove(tid)?;
        self.leave(&old)
    }

    /// Every span still open, by start time: the trace is over.
    pub fn finish(&mut self) -> Vec<Span> {
        self.serving.clear();
        let mut spans: Vec<Span> = self.open.drain().map(|(_, open)| open.span).collect();
        spans.sort_by_key(|s| (s.start_ns, s.id));
        spans
    }

    fn leave(&mut self, request: &RequestId) -> Option<Span> {
        let open = self.open.get_mut(request)?;
        open.serving = open.serving.saturating_sub(1);
        if open.serving > 0 {
            return None;
        }
        let open = self.open.remove(request)?;
        if self
            .recent
            .insert(request.clone(), open.last_entry)
            .is_none()
        {
            self.recent_order.push_back(request.clone());
        }
        while self.recent_order.len() > RECENT {
            if let Some(old) = self.recent_order.pop_front() {
                self.recent.remove(&old);
            }
        }
        Some(open.span)
    }
}

/// Syscalls per second per process, in one-second buckets from the first
/// event of the trace.
#[derive(Default)]
pub(crate) struct Rates {
    origin: Option<u64>,
    buckets: HashMap<u32, (u64, u64)>,
}

/// A value of a process's rate counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Sample {
    pub tgid: u32,
    pub ts_ns: u64,
    pub count: u64,
}

pub(crate) const SECOND: u64 = 1_000_000_000;

impl Rates {
    /// Counts one syscall of `tgid` at `ts_ns`; hands `emit` the samples of
    /// the buckets this closes: the count of the finished second, and a
    /// zero when seconds without syscalls follow.
    pub fn count(&mut self, tgid: u32, ts_ns: u64, mut emit: impl FnMut(Sample)) {
        let origin = *self.origin.get_or_insert(ts_ns);
        let second = ts_ns.saturating_sub(origin) / SECOND;
        let (current, count) = self.buckets.entry(tgid).or_insert((second, 0));
        // Events of a process arrive nearly in order; a late one counts in
        // the current second.
        if second > *current {
            emit(Sample {
                tgid,
                ts_ns: origin + *current * SECOND,
                count: *count,
            });
            if second > *current + 1 {
                emit(Sample {
                    tgid,
                    ts_ns: origin + (*current + 1) * SECOND,
                    count: 0,
                });
            }
            *current = second;
            *count = 0;
        }
        *count += 1;
    }

    /// The last bucket of a process that exited, and a zero after it.
    pub fn end(&mut self, tgid: u32) -> Vec<Sample> {
        match (self.origin, self.buckets.remove(&tgid)) {
            (Some(origin), Some((second, count))) => vec![
                Sample {
                    tgid,
                    ts_ns: origin + second * SECOND,
                    count,
                },
                Sample {
                    tgid,
                    ts_ns: origin + (second + 1) * SECOND,
                    count: 0,
                },
            ],
            _ => Vec::new(),
        }
    }

    /// The last bucket of every process, and a zero after it.
    pub fn finish(&mut self) -> Vec<Sample> {
        let Some(origin) = self.origin else {
            return Vec::new();
        };
        let mut samples = Vec::new();
        let mut buckets: Vec<(u32, (u64, u64))> = self.buckets.drain().collect();
        buckets.sort_unstable();
        for (tgid, (second, count)) in buckets {
            samples.push(Sample {
                tgid,
                ts_ns: origin + second * SECOND,
                count,
            });
            samples.push(Sample {
                tgid,
                ts_ns: origin + (second + 1) * SECOND,
                count: 0,
            });
        }
        samples
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn event(tgid: u32, tid: u32, ts: u64, request: Option<&str>) -> SyscallEvent {
        SyscallEvent {
            tgid,
            tid,
            nr: 0,
            args: [3, 0x1000, 10, 0, 0, 0],
            enter_ns: ts,
            exit_ns: Some(ts + 10),
            ret: Some(10),
            strings: None,
            data: None,
            request: request.map(Arc::from),
        }
    }

    #[test]
    fn targets_parse() {
        let t: Target = "perfetto:out.pftrace".parse().unwrap();
        assert_eq!(t.format, Format::Perfetto);
        assert_eq!(t.path, PathBuf::from("out.pftrace"));
        let t: Target = "CSV:/tmp/a:b.csv".parse().unwrap();
        assert_eq!(t.format, Format::Csv);
        assert_eq!(t.path, PathBuf::from("/tmp/a:b.csv"));
        assert!("perfetto".parse::<Target>().is_err());
        assert!("svg:x".parse::<Target>().is_err());
        assert!("json:".parse::<Target>().is_err());
    }

    #[test]
    fn call_parts() {
        let mut call = Call::default();
        call.render(&event(1, 1, 0, None));
        assert_eq!(call.name(), "read");
        assert_eq!(call.args(), "3, 0x1000, 10");
        let mut ev = event(1, 1, 0, None);
        ev.nr = 60;
        ev.args = [0; 6];
        ev.ret = None;
        call.render(&ev);
        assert_eq!((call.name(), call.args()), ("exit", "0"));
        assert!(never_returns(60) && never_returns(231) && !never_returns(0));
    }

    #[test]
    fn requests_enter_hand_off_and_close() {
        let mut r = Requests::default();
        // Thread 1 takes request a, thread 2 joins it, thread 1 moves on.
        let s = r.syscall(&event(1, 1, 100, Some("a")));
        assert_eq!(s.entry, Some(None));
        assert!(r.syscall(&event(1, 1, 200, Some("a"))).entry.is_none());
        let s = r.syscall(&event(1, 2, 300, Some("a")));
        let first = Entry {
            tgid: 1,
            tid: 1,
            ts_ns: 100,
        };
        assert_eq!(s.entry, Some(Some(first)));
        let s = r.syscall(&event(1, 1, 400, Some("b")));
        assert!(s.closed.is_none(), "thread 2 still serves a");
        // Thread 2 stops serving: a is closed, spanning 100..310.
        let s = r.syscall(&event(1, 2, 500, None));
        let span = s.closed.unwrap();
        assert_eq!(
            (&*span.request, span.start_ns, span.end_ns),
            ("a", 100, 310)
        );
        assert_eq!(span.entries, 2);
        // Back to a: a new span, linked to a's last entry.
        let s = r.syscall(&event(1, 2, 550, Some("a")));
        let last = Entry {
            tgid: 1,
            tid: 2,
            ts_ns: 300,
        };
        assert_eq!(s.entry, Some(Some(last)));
        assert_eq!(r.syscall(&event(1, 2, 560, None)).closed.unwrap().id, 3);
        // b ends with its thread.
        let exited = TaskEvent::Exited {
            ts_ns: 600,
            tgid: 1,
            tid: 1,
            group_dead: false,
            comm: String::new(),
        };
        assert_eq!(&*r.task(&exited).unwrap().request, "b");
        assert!(r.finish().is_empty());
    }

    #[test]
    fn spans_cover_calls_that_began_earlier() {
        // Thread 2's call began before thread 1's but ended after it, so it
        // arrives second.
        let mut r = Requests::default();
        r.syscall(&event(1, 1, 100, Some("a")));
        let mut late = event(1, 2, 50, Some("a"));
        late.exit_ns = Some(400);
        r.syscall(&late);
        let span = r.finish().pop().unwrap();
        assert_eq!((span.start_ns, span.end_ns), (50, 400));
    }

    #[test]
    fn forked_tasks_inherit_their_creators_name() {
        let mut pipeline = Pipeline::new(Default::default(), vec![]);
        pipeline.add_task(5, 5, Some("server".into()), 0).unwrap();
        let mut names = Names::default();
        // The source could not read the child's name: it had exited.
        let spawned = TaskEvent::Spawned {
            ts_ns: 1,
            parent_tgid: 5,
            parent_tid: 5,
            tid: 6,
            comm: String::new(),
        };
        names.task(&spawned);
        pipeline.push(crate::event::Event::Task(spawned)).unwrap();
        assert_eq!(names.comm(pipeline.tasks(), 6, 6), "server");
        assert_eq!(names.comm(pipeline.tasks(), 7, 7), "");
    }

    #[test]
    fn rates_per_second() {
        let mut rates = Rates::default();
        let mut out = Vec::new();
        for ts in [0, 10, 20, SECOND + 5, 3 * SECOND] {
            rates.count(7, 1000 + ts, |s| out.push(s));
        }
        let s = |ts_ns, count| Sample {
            tgid: 7,
            ts_ns: 1000 + ts_ns,
            count,
        };
        assert_eq!(out, [s(0, 3), s(SECOND, 1), s(2 * SECOND, 0)]);
        assert_eq!(rates.finish(), [s(3 * SECOND, 1), s(4 * SECOND, 0)]);
        rates.count(7, 1000, |_| {});
        assert_eq!(rates.end(7), [s(0, 1), s(SECOND, 0)]);
        assert!(rates.end(7).is_empty() && rates.finish().is_empty());
    }
}
