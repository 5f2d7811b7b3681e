//! CSV for spreadsheets: a header, then one row per syscall with the
//! columns of the JSONL export (empty where JSONL has null), and one per
//! line strace prints about a task (#16).
//!
//! The task rows are told apart by an extra last column, `type`
//! (`syscall`, `signal`, `stopped`, `exit`, as in JSONL), rather than by a
//! separate file: the first eleven columns keep their names, order and
//! meaning, so readers by position and by header go on working, and the
//! rows stay in the order things happened. A task row fills `ts`, `tgid`,
//! `tid`, `comm`, and puts strace's text (`+++ exited with 0 +++`) in
//! `args`; `syscall` and the rest are empty. The JSONL rows carry the same
//! facts as fields of their own.

use std::io::{self, Write};

use super::{
    Call,
    jsonl::{Row, task_kind, task_line},
    timeline::Names,
};
use crate::{
    event::{SyscallEvent, TaskEvent},
    pipeline::{RunInfo, Sink, Tasks},
};

pub struct CsvSink {
    out: ::csv::Writer<Box<dyn Write>>,
    call: Call,
    rows: bool,
    names: Names,
    /// A task row's strace text.
    text: Vec<u8>,
}

/// `Row`'s field names, which `serialize` writes before the first row.
const HEADER: [&str; 12] = [
    "ts",
    "dur",
    "tgid",
    "tid",
    "comm",
    "syscall",
    "args",
    "ret",
    "errno",
    "request_id",
    "data",
    "type",
];

impl CsvSink {
    pub fn new(out: Box<dyn Write>) -> Self {
        Self {
            // The header comes from `Row`'s field names, before the first row.
            out: ::csv::WriterBuilder::new()
                .has_headers(true)
                .buffer_capacity(1 << 16)
                .from_writer(out),
            call: Call::default(),
            rows: false,
            names: Names::default(),
            text: Vec::with_capacity(256),
        }
    }
}

fn io_error(e: ::csv::Error) -> io::Error {
    match e.into_kind() {
        ::csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}

impl Sink for CsvSink {
    fn syscall(&mut self, ev: &SyscallEvent, tasks: &Tasks) -> io::Result<()> {
        self.call.render(ev);
        self.rows = true;
        self.out
            .serialize(Row::new(
                ev,
                &self.call,
                self.names.comm(tasks, ev.tid, ev.tgid),
            ))
            .map_err(io_error)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn task(&mut self, ev: &TaskEvent, tasks: &Tasks) -> io::Result<()> {
        let comm = self.names.comm(tasks, ev.tid(), ev.tgid());
        if let Some(line) = task_line(&mut self.text, ev)
            && let Some(kind) = task_kind(ev)
        {
            self.rows = true;
            self.out
                .serialize(Row {
                    ts: ev.ts_ns(),
                    dur: None,
                    tgid: ev.tgid(),
                    tid: ev.tid(),
                    comm,
                    syscall: "",
                    args: line,
                    ret: None,
                    errno: None,
                    request_id: None,
                    data: None,
                    kind,
                })
                .map_err(io_error)?;
        }
        self.names.task(ev);
        Ok(())
    }

    fn finish(&mut self, _run: &RunInfo, _tasks: &Tasks) -> io::Result<()> {
        // A trace without syscalls still gets its header.
        if !self.rows {
            self.out.write_record(HEADER).map_err(io_error)?;
        }
        self.out.flush()
    }
}
