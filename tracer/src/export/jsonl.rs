//! JSONL: one JSON object per syscall, and per line strace prints about a
//! task (signal deliveries, group-stops, ends), for scripts.
//!
//! `{"ts":…,"dur":…,"tgid":…,"tid":…,"comm":"…","syscall":"openat",
//! "args":"AT_FDCWD, \"/etc/hosts\", O_RDONLY","ret":3,"errno":null,
//! "request_id":null,"data":null,"type":"syscall"}`: `ts` is the
//! `CLOCK_MONOTONIC` entry time in ns, `dur` ns or null when the call
//! never returned, `args` the arguments as strace renders them. With
//! `-k`, a `stack` array follows: one object per frame, innermost first
//! (`crate::stacks::frames_json`).
//!
//! Task rows (#16) are objects of another `type`: `"signal"` (`--- SIGCHLD
//! {...} ---`), `"stopped"` (`--- stopped by SIGSTOP ---`, ptrace only),
//! `"exit"` (`+++ exited with 0 +++`, `+++ killed by SIGKILL +++`), with
//! `ts`, `tgid`, `tid`, `comm`, strace's text as `line`, and what it says
//! as fields: `signal` (its name), `exit_code`, `core_dumped`. Why a
//! `type` on every row rather than a second file or a flag: the syscall
//! rows keep every field, name and meaning they had, so a consumer that
//! reads them by name goes on working once it skips the types it does not
//! know, the usual rule for a JSONL stream of several kinds of record;
//! and one stream keeps syscalls and signals in the order they happened,
//! which two files would lose. CSV (`super::csv`) carries the same rows.

use std::io::{self, Write};

use serde::Serialize;

use super::{Call, errno_name, timeline::Names};
use crate::{
    event::{SyscallEvent, TaskEvent},
    exit::Ended,
    output::text::write_task_line,
    pipeline::{Sink, Tasks},
    syscalls::format::write_signal,
};

/// One syscall as JSONL and CSV show it.
#[derive(Serialize)]
pub(crate) struct Row<'a> {
    pub ts: u64,
    pub dur: Option<u64>,
    pub tgid: u32,
    pub tid: u32,
    pub comm: &'a str,
    pub syscall: &'a str,
    pub args: &'a str,
    pub ret: Option<i64>,
    pub errno: Option<&'static str>,
    pub request_id: Option<&'a str>,
    pub data: Option<&'a str>,
    /// `"syscall"`, or a task row's kind (CSV: the last column).
    #[serde(rename = "type")]
    pub kind: &'static str,
}

impl<'a> Row<'a> {
    pub fn new(ev: &'a SyscallEvent, call: &'a Call, comm: &'a str) -> Self {
        Row {
            ts: ev.enter_ns,
            dur: ev.duration_ns(),
            tgid: ev.tgid,
            tid: ev.tid,
            comm,
            syscall: call.name(),
            args: call.args(),
            ret: ev.ret,
            errno: errno_name(ev),
            request_id: ev.request.as_deref(),
            data: call.data(),
            kind: "syscall",
        }
    }
}

/// A task row: a line strace prints about a task, with what it says.
#[derive(Serialize)]
pub(crate) struct TaskRow<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub ts: u64,
    pub tgid: u32,
    pub tid: u32,
    pub comm: &'a str,
    /// The signal delivered, stopping, or killing; null for an exit.
    pub signal: Option<String>,
    /// For `"exit"`: the code it exited with, null when killed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<Option<i32>>,
    /// For `"exit"`: killed with a core dump.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub core_dumped: Option<bool>,
    /// strace's text (`--- SIGCHLD {...} ---`).
    pub line: &'a str,
}

impl<'a> TaskRow<'a> {
    /// The row of `ev`, whose strace text `line` holds, when strace has a
    /// line for it.
    pub fn new(ev: &TaskEvent, comm: &'a str, line: &'a str) -> Option<Self> {
        let kind = task_kind(ev)?;
        let name = |signo: i32| {
            let mut name = Vec::new();
            write_signal(&mut name, signo);
            Some(String::from_utf8_lossy(&name).into_owned())
        };
        let (signal, exit_code, core_dumped) = match *ev {
            TaskEvent::Signal { info, .. } => (name(info.signo), None, None),
            TaskEvent::Stopped { signo, .. } => (name(signo), None, None),
            TaskEvent::Exited {
                status: Some(status),
                ..
            } => {
                let ended = Ended(status);
                (
                    ended.signal().and_then(name),
                    Some(ended.code()),
                    Some(ended.core_dumped()),
                )
            }
            _ => (None, None, None),
        };
        Some(Self {
            kind,
            ts: ev.ts_ns(),
            tgid: ev.tgid(),
            tid: ev.tid(),
            comm,
            signal,
            exit_code,
            core_dumped,
            line,
        })
    }
}

/// The `type` of `ev`'s row, when strace has a line for it (`None` for
/// spawns, exec names, ends of unknown status).
pub(crate) fn task_kind(ev: &TaskEvent) -> Option<&'static str> {
    match ev {
        TaskEvent::Signal { .. } => Some("signal"),
        TaskEvent::Stopped { .. } => Some("stopped"),
        TaskEvent::Exited {
            status: Some(_), ..
        } => Some("exit"),
        TaskEvent::Exited { status: None, .. }
        | TaskEvent::Spawned { .. }
        | TaskEvent::Named { .. } => None,
    }
}

/// Renders `ev`'s strace line into `buf` and returns it as text, when
/// strace has one.
pub(crate) fn task_line<'b>(buf: &'b mut Vec<u8>, ev: &TaskEvent) -> Option<&'b str> {
    buf.clear();
    if !write_task_line(buf, ev) {
        return None;
    }
    // The renderer escapes what it prints: ASCII.
    std::str::from_utf8(buf).ok()
}

/// A row with its user stack (`-k`).
#[derive(Serialize)]
struct WithStack<'a> {
    #[serde(flatten)]
    row: Row<'a>,
    stack: serde_json::Value,
}

pub struct JsonlSink {
    out: Box<dyn Write>,
    call: Call,
    line: Vec<u8>,
    /// A task row's strace text.
    text: Vec<u8>,
    names: Names,
}

impl JsonlSink {
    pub fn new(out: Box<dyn Write>) -> Self {
        Self {
            out,
            call: Call::default(),
            line: Vec::with_capacity(1024),
            text: Vec::with_capacity(256),
            names: Names::default(),
        }
    }
}

impl Sink for JsonlSink {
    fn syscall(&mut self, ev: &SyscallEvent, tasks: &Tasks) -> io::Result<()> {
        self.call.render(ev);
        self.line.clear();
        let comm = self.names.comm(tasks, ev.tid, ev.tgid);
        let row = Row::new(ev, &self.call, comm);
        match &ev.stack {
            None => serde_json::to_writer(&mut self.line, &row),
            Some(stack) => serde_json::to_writer(
                &mut self.line,
                &WithStack {
                    row,
                    stack: crate::stacks::frames_json(stack),
                },
            ),
        }
        .map_err(io::Error::other)?;
        self.line.push(b'\n');
        self.out.write_all(&self.line)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn task(&mut self, ev: &TaskEvent, tasks: &Tasks) -> io::Result<()> {
        let comm = self.names.comm(tasks, ev.tid(), ev.tgid());
        if let Some(line) = task_line(&mut self.text, ev)
            && let Some(row) = TaskRow::new(ev, comm, line)
        {
            self.line.clear();
            serde_json::to_writer(&mut self.line, &row).map_err(io::Error::other)?;
            self.line.push(b'\n');
            self.out.write_all(&self.line)?;
        }
        self.names.task(ev);
        Ok(())
    }

    fn finish(&mut self, _run: &crate::pipeline::RunInfo, _tasks: &Tasks) -> io::Result<()> {
        self.out.flush()
    }
}
