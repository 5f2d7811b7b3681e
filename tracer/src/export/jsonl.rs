//! JSONL: one JSON object per syscall, for scripts.
//!
//! `{"ts":…,"dur":…,"tgid":…,"tid":…,"comm":"…","syscall":"openat",
//! "args":"AT_FDCWD, \"/etc/hosts\", O_RDONLY","ret":3,"errno":null,
//! "request_id":null,"data":null}`: `ts` is the `CLOCK_MONOTONIC` entry
//! time in ns, `dur` ns or null when the call never returned, `args` the
//! arguments as strace renders them. With `-k`, a `stack` array follows:
//! one object per frame, innermost first (`crate::stacks::frames_json`).

use std::io::{self, Write};

use serde::Serialize;

use super::{Call, errno_name, timeline::Names};
use crate::{
    event::{SyscallEvent, TaskEvent},
    pipeline::{Sink, Tasks},
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
        }
    }
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
    names: Names,
}

impl JsonlSink {
    pub fn new(out: Box<dyn Write>) -> Self {
        Self {
            out,
            call: Call::default(),
            line: Vec::with_capacity(1024),
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

    fn task(&mut self, ev: &TaskEvent, _tasks: &Tasks) -> io::Result<()> {
        self.names.task(ev);
        Ok(())
    }

    fn finish(&mut self, _run: &crate::pipeline::RunInfo, _tasks: &Tasks) -> io::Result<()> {
        self.out.flush()
    }
}
