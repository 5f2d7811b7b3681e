//! A generated trace for `tracer export --synthetic N` (benchmarks and the
//! export tests): two server processes, each with an acceptor thread that
//! reads requests (`X-Request-Id: req-K`) and hands each to one of three
//! workers, which open, read, write and close on its behalf, sometimes
//! failing with ENOENT, and wait on a futex (serving nothing) between
//! requests. Every 50th response carries the previous request's ID (a
//! `request_bleed` anomaly). Exactly N syscalls, the last of each process an `exit_group`
//! that never returns; deterministic, so that runs compare.

use std::sync::Arc;

use anyhow::{Context as _, Result};

use crate::{
    event::{
        Anomaly, ArgString, ArgStrings, DataCapture, Event, RequestId, SyscallEvent, TaskEvent,
    },
    pipeline::{Pipeline, RunInfo},
    syscalls::nr,
};

/// A syscall of a worker: number, arguments, return value, strings, data.
type Call = (u32, [u64; 6], i64, Option<Box<ArgStrings>>, Option<Vec<u8>>);

const PROCESSES: [u32; 2] = [41_000, 42_000];
const WORKERS: u32 = 3;
/// Where the synthetic clock starts, ns.
const START_NS: u64 = 1_000_000_000_000;

struct Gen<'p> {
    pipeline: &'p mut Pipeline,
    left: u64,
    now: u64,
}

impl Gen<'_> {
    /// One syscall of `dur` ns; false once the budget is spent.
    #[allow(clippy::too_many_arguments)]
    fn call(
        &mut self,
        tgid: u32,
        tid: u32,
        nr: u32,
        args: [u64; 6],
        ret: i64,
        request: Option<&RequestId>,
        strings: Option<Box<ArgStrings>>,
        data: Option<&[u8]>,
    ) -> Result<bool> {
        // Keep one syscall per process for its exit_group.
        if self.left <= PROCESSES.len() as u64 {
            return Ok(false);
        }
        self.left -= 1;
        let enter = self.now;
        let dur = 800 + (self.left % 7) * 300;
        self.now += dur + 400;
        let ev = SyscallEvent {
            tgid,
            tid,
            nr,
            args,
            enter_ns: enter,
            exit_ns: Some(enter + dur),
            ret: Some(ret),
            strings,
            data: data.map(|bytes| {
                Box::new(DataCapture {
                    bytes: bytes.to_vec(),
                    truncated: false,
                })
            }),
            request: request.cloned(),
            stack: None,
        };
        self.pipeline
            .push(Event::Syscall(ev))
            .context("cannot write the export")?;
        Ok(true)
    }
}

fn path(arg: usize, text: String) -> Option<Box<ArgStrings>> {
    let mut strings: ArgStrings = Default::default();
    strings[arg] = Some(ArgString {
        bytes: text.into_bytes(),
        truncated: false,
    });
    Some(Box::new(strings))
}

/// Pushes `events` syscalls (and the task events around them) through
/// `pipeline`; returns the run's facts.
pub fn generate(events: u64, pipeline: &mut Pipeline) -> Result<RunInfo> {
    let mut g = Gen {
        pipeline,
        left: events,
        now: START_NS,
    };
    for &tgid in &PROCESSES {
        g.pipeline
            .add_task(tgid, tgid, Some("synth-server".into()), START_NS)
            .context("cannot write the export")?;
        for w in 1..=WORKERS {
            g.pipeline
                .add_task(tgid + w, tgid, Some(format!("worker-{w}")), START_NS)
                .context("cannot write the export")?;
        }
    }
    let (read, write, openat, close, futex) =
        (nr::READ, nr::WRITE, nr::OPENAT, nr::CLOSE, nr::FUTEX);
    let at_fdcwd = -100i64 as u64;
    let mut k: u64 = 0;
    'run: loop {
        let tgid = PROCESSES[(k % 2) as usize];
        let request: RequestId = Arc::from(format!("req-{k}"));
        let fd = 5 + (k % 50);
        let head = format!("GET /item/{k} HTTP/1.1\r\nX-Request-Id: req-{k}\r\n\r\n");
        let n = head.len() as u64;
        if !g.call(
            tgid,
            tgid,
            read,
            [4, 0x7f00_0000, 4096, 0, 0, 0],
            n as i64,
            Some(&request),
            None,
            Some(head.as_bytes()),
        )? {
            break;
        }
        let worker = tgid + 1 + (k % u64::from(WORKERS)) as u32;
        let file = format!("/srv/items/{k}");
        let missing = k % 7 == 3;
        let ret = if missing {
            -libc::ENOENT as i64
        } else {
            fd as i64
        };
        let calls: [Call; 4] = [
            (
                openat,
                [at_fdcwd, 0x5500_0000, 0x80000, 0, 0, 0],
                ret,
                path(1, file),
                None,
            ),
            (
                read,
                [fd, 0x7f00_1000, 4096, 0, 0, 0],
                64,
                None,
                Some(vec![b'x'; 64]),
            ),
            (
                write,
                [4, 0x7f00_2000, 17, 0, 0, 0],
                17,
                None,
                Some(b"HTTP/1.1 200 OK\r\n".to_vec()),
            ),
            (close, [fd, 0, 0, 0, 0, 0], 0, None, None),
        ];
        for (nr, args, ret, strings, data) in calls {
            let enter = g.now;
            if !g.call(
                tgid,
                worker,
                nr,
                args,
                ret,
                Some(&request),
                strings,
                data.as_deref(),
            )? {
                break 'run;
            }
            // Now and then the response carries the previous request's ID.
            if nr == write && k % 50 == 49 {
                let anomaly = Anomaly {
                    kind: "request_bleed".into(),
                    tgid,
                    tid: worker,
                    fd: 4,
                    ts_ns: enter,
                    attributed: request.clone(),
                    found: Arc::from(format!("req-{}", k - 1)),
                };
                g.pipeline
                    .push_anomaly(&anomaly)
                    .context("cannot write the export")?;
            }
        }
        // Done with the request: wait for the next one.
        if !g.call(
            tgid,
            worker,
            futex,
            [0x5600_0000, 0x80, 0, 0, 0, 0],
            0,
            None,
            None,
            None,
        )? {
            break;
        }
        k += 1;
    }
    // The end: each process exits from its main thread.
    for &tgid in &PROCESSES {
        if g.left == 0 {
            break;
        }
        g.left -= 1;
        let ev = SyscallEvent {
            tgid,
            tid: tgid,
            nr: nr::EXIT_GROUP,
            args: [0; 6],
            enter_ns: g.now,
            exit_ns: None,
            ret: None,
            strings: None,
            data: None,
            request: None,
            stack: None,
        };
        g.pipeline
            .push(Event::Syscall(ev))
            .context("cannot write the export")?;
        g.now += 1000;
        for tid in (tgid..=tgid + WORKERS).rev() {
            let exited = TaskEvent::Exited {
                ts_ns: g.now,
                tgid,
                tid,
                group_dead: tid == tgid,
                comm: String::new(),
                status: Some(0),
            };
            g.pipeline
                .push(Event::Task(exited))
                .context("cannot write the export")?;
        }
    }
    Ok(RunInfo {
        mode: "synthetic",
        lost_events: 0,
        lost_tasks: 0,
        lost_captures: 0,
        syscalls: g.pipeline.syscalls,
        start_ns: START_NS,
        end_ns: g.now,
        observer: None,
    })
}
