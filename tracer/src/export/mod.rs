//! Timelines for other tools: Perfetto, Chrome JSON, JSONL and CSV.
//!
//! Every format is a [`Sink`], so `tracer record --export FORMAT:OUT` adds
//! one to the live pipeline and `tracer export FILE` (`commands::export`)
//! replays a recording through a pipeline with one. This folder holds the
//! sinks only: one file per format, the timeline model the Perfetto and
//! Chrome sinks share (`timeline`), and here what every format uses. Sinks stream: what they keep is per task,
//! per process and per request being served, never per event, so memory
//! stays flat whatever the length of the trace (and what they keep of a
//! task or process goes when it exits).

mod callstacks;
pub mod chrome;
pub mod csv;
pub mod jsonl;
pub mod perfetto;
pub(crate) mod synth;
pub(crate) mod timeline;

use std::{
    fmt,
    io::{BufWriter, Write},
    path::{Path, PathBuf},
    str::FromStr,
};

use anyhow::Result;
use clap::ValueEnum;

use crate::{
    event::SyscallEvent,
    pipeline::Sink,
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

/// `--export FORMAT:FILE` of `tracer record`: what to write, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportSpec {
    pub format: Format,
    pub path: PathBuf,
}

impl FromStr for ExportSpec {
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

impl ExportSpec {
    /// Creates the file and its sink.
    pub fn open(&self) -> Result<Box<dyn Sink>> {
        Ok(sink(self.format, create(&self.path)?))
    }
}

/// Creates `path` (mode 0600: traces show what the target did) behind a
/// large buffer; guarded, as it may be a pipe (`/dev/stdout`).
pub fn create(path: &Path) -> Result<Box<dyn Write>> {
    let file = crate::stdio::Guarded(crate::files::create_private(path)?);
    Ok(Box::new(BufWriter::with_capacity(1 << 20, file)))
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

/// Whether syscall `nr` never returns to the caller when it succeeds.
pub(crate) fn never_returns(nr: u32) -> bool {
    matches!(nr, syscalls::nr::EXIT | syscalls::nr::EXIT_GROUP)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    pub(super) fn event(tgid: u32, tid: u32, ts: u64, request: Option<&str>) -> SyscallEvent {
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
            stack: None,
        }
    }

    #[test]
    fn export_specs_parse() {
        let t: ExportSpec = "perfetto:out.pftrace".parse().unwrap();
        assert_eq!(t.format, Format::Perfetto);
        assert_eq!(t.path, PathBuf::from("out.pftrace"));
        let t: ExportSpec = "CSV:/tmp/a:b.csv".parse().unwrap();
        assert_eq!(t.format, Format::Csv);
        assert_eq!(t.path, PathBuf::from("/tmp/a:b.csv"));
        assert!("perfetto".parse::<ExportSpec>().is_err());
        assert!("svg:x".parse::<ExportSpec>().is_err());
        assert!("json:".parse::<ExportSpec>().is_err());
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
}
