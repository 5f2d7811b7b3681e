//! CSV for spreadsheets: a header, then one row per syscall with the
//! columns of the JSONL export (empty where JSONL has null).

use std::io::{self, Write};

use super::{Call, jsonl::Row, timeline::Names};
use crate::{
    event::{SyscallEvent, TaskEvent},
    pipeline::{RunInfo, Sink, Tasks},
};

pub struct CsvSink {
    out: ::csv::Writer<Box<dyn Write>>,
    call: Call,
    rows: bool,
    names: Names,
}

/// `Row`'s field names, which `serialize` writes before the first row.
const HEADER: [&str; 11] = [
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

    fn task(&mut self, ev: &TaskEvent, _tasks: &Tasks) -> io::Result<()> {
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
