//! strace-style lines: `[pid N] HH:MM:SS.uuuuuu name(args) = ret <secs>`,
//! and strace's lines about tasks: signal deliveries (`--- SIGCHLD {...}
//! ---`), group-stops (`--- stopped by SIGSTOP ---`) and ends (`+++
//! exited with 0 +++`).
//!
//! This sink runs once per event (millions a second), so a line is built in
//! a reused buffer with no allocation and written through a large
//! `BufWriter`.

use std::{
    io::{self, Write},
    rc::Rc,
};

use tracer_common::MAX_ARGS;

use crate::{
    clock::clock_ns,
    event::{Anomaly, SyscallEvent, TaskEvent},
    fds::FdNames,
    pipeline::{RunInfo, Sink, Tasks},
    syscalls::{
        self, ArgKind,
        format::{
            Captured, captured_of, write_call, write_call_with, write_exit_status, write_siginfo,
            write_signal,
        },
    },
};

/// The names of `ev`'s fd arguments, by position.
fn fd_names(fds: &mut FdNames, ev: &SyscallEvent) -> [Option<Rc<str>>; MAX_ARGS] {
    let mut names: [Option<Rc<str>>; MAX_ARGS] = Default::default();
    if let Some(sc) = syscalls::get(ev.nr) {
        for (i, kind) in sc.args.iter().enumerate().take(MAX_ARGS) {
            if matches!(kind, ArgKind::Fd | ArgKind::Dirfd) {
                names[i] = fds.name(ev.tgid, ev.args[i] as i32);
            }
        }
    }
    names
}

/// Appends strace's line about a task, without its pid, time or newline:
/// `--- SIGCHLD {...} ---` for a delivery, `--- stopped by SIGSTOP ---`
/// for a group-stop, `+++ exited with 0 +++` for an end (threads' too);
/// `false`, having written nothing, for what strace has no line for
/// (spawns, execs' names, an end of unknown status). The exports' task
/// rows (`crate::export::jsonl`) carry the same text.
pub fn write_task_line(line: &mut Vec<u8>, event: &TaskEvent) -> bool {
    match event {
        TaskEvent::Signal { info, .. } => {
            line.extend_from_slice(b"--- ");
            write_signal(line, info.signo);
            line.push(b' ');
            write_siginfo(line, info);
            line.extend_from_slice(b" ---");
        }
        TaskEvent::Stopped { signo, .. } => {
            line.extend_from_slice(b"--- stopped by ");
            write_signal(line, *signo);
            line.extend_from_slice(b" ---");
        }
        TaskEvent::Exited {
            status: Some(status),
            ..
        } => {
            line.extend_from_slice(b"+++ ");
            write_exit_status(line, *status);
            line.extend_from_slice(b" +++");
        }
        TaskEvent::Exited { status: None, .. }
        | TaskEvent::Spawned { .. }
        | TaskEvent::Named { .. } => return false,
    }
    true
}

/// `-t`, `-tt`, `-ttt`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Timestamps {
    #[default]
    None,
    /// `-t`: wall-clock seconds.
    Seconds,
    /// `-tt`: wall clock with microseconds.
    Micros,
    /// `-ttt`: seconds since the epoch, with microseconds.
    Epoch,
}

impl Timestamps {
    pub fn from_count(count: u8) -> Self {
        match count {
            0 => Self::None,
            1 => Self::Seconds,
            2 => Self::Micros,
            _ => Self::Epoch,
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub struct TextOptions {
    pub timestamps: Timestamps,
    /// `-T`: time spent in each syscall.
    pub durations: bool,
    /// `-y`: the path or socket behind each fd.
    pub decode_fds: bool,
}

pub struct TextSink<W: Write> {
    out: W,
    options: TextOptions,
    line: Vec<u8>,
    clock: WallClock,
    fds: FdNames,
}

impl<W: Write> TextSink<W> {
    pub fn new(out: W, options: TextOptions) -> Self {
        Self {
            out,
            options,
            line: Vec::with_capacity(512),
            clock: WallClock::new(),
            fds: FdNames::default(),
        }
    }

    /// Starts a line about task `tid` at `ts_ns`: `[pid N] ` once there is
    /// more than one task, then the time if asked for.
    fn start_line(&mut self, tid: u32, ts_ns: u64, tasks: &Tasks) {
        let line = &mut self.line;
        line.clear();
        if tasks.seen() > 1 {
            line.extend_from_slice(b"[pid ");
            push_padded(line, tid, 5);
            line.extend_from_slice(b"] ");
        }
        if self.options.timestamps != Timestamps::None {
            self.clock.write(line, ts_ns, self.options.timestamps);
            line.push(b' ');
        }
    }

    /// Shows times with this `CLOCK_REALTIME - CLOCK_MONOTONIC` offset (a
    /// recording's, taken when it was made) instead of today's.
    pub fn with_realtime_offset(mut self, offset_ns: i64) -> Self {
        self.clock.offset_ns = i128::from(offset_ns);
        self
    }
}

impl<W: Write> Sink for TextSink<W> {
    /// strace's lines about tasks: `--- SIGCHLD {...} ---` for a signal
    /// delivery, `+++ exited with 0 +++` for every task's end (threads'
    /// too, as strace -f prints them).
    fn task(&mut self, event: &TaskEvent, tasks: &Tasks) -> io::Result<()> {
        if let TaskEvent::Exited {
            tgid,
            group_dead: true,
            ..
        } = event
        {
            // Its fds are gone, and its pid may come back as another
            // process.
            self.fds.forget(*tgid);
        }
        self.start_line(event.tid(), event.ts_ns(), tasks);
        if !write_task_line(&mut self.line, event) {
            return Ok(());
        }
        self.line.push(b'\n');
        self.out.write_all(&self.line)
    }

    fn unshown(&mut self, ev: &SyscallEvent) {
        if self.options.decode_fds {
            self.fds.after(ev);
        }
    }

    fn syscall(&mut self, ev: &SyscallEvent, tasks: &Tasks) -> io::Result<()> {
        self.start_line(ev.tid, ev.enter_ns, tasks);
        let line = &mut self.line;
        if self.options.decode_fds {
            // Owned here, borrowed by the rendering.
            let names = fd_names(&mut self.fds, ev);
            let mut captured = captured_of(ev);
            for (slot, name) in captured.iter_mut().zip(&names) {
                if let Some(name) = name {
                    *slot = Some(Captured {
                        bytes: name.as_bytes(),
                        truncated: false,
                    });
                }
            }
            write_call_with(line, ev, &captured);
            self.fds.after(ev);
        } else if ev.strings.is_none() && ev.data.is_none() {
            write_call(line, ev);
        } else {
            write_call_with(line, ev, &captured_of(ev));
        }
        if self.options.durations
            && let Some(ns) = ev.duration_ns()
        {
            line.extend_from_slice(b" <");
            push_fraction(line, ns / 1_000_000_000, (ns % 1_000_000_000) / 1000, 6);
            line.push(b'>');
        }
        if let Some(request) = &ev.request {
            line.extend_from_slice(b" [req=");
            line.extend_from_slice(request.as_bytes());
            line.push(b']');
        }
        line.push(b'\n');
        if let Some(stack) = &ev.stack {
            crate::stacks::write_strace_lines(line, stack);
        }
        self.out.write_all(line)
    }

    fn anomaly(&mut self, anomaly: &Anomaly, _tasks: &Tasks) -> io::Result<()> {
        writeln!(
            self.out,
            "!!! {}",
            super::summary::anomaly_sentence(anomaly)
        )
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn finish(&mut self, run: &RunInfo, _tasks: &Tasks) -> io::Result<()> {
        if crate::output::lost_anything(run) {
            writeln!(self.out, "{}", super::lost_banner(run))?;
        }
        self.out.flush()
    }
}

/// `n` right-aligned in `width` columns, like strace's `%5d`.
fn push_padded(out: &mut Vec<u8>, n: u32, width: usize) {
    let mut buf = itoa::Buffer::new();
    let digits = buf.format(n);
    out.resize(out.len() + width.saturating_sub(digits.len()), b' ');
    out.extend_from_slice(digits.as_bytes());
}

/// `whole.frac` with `frac` zero-padded to `digits`.
fn push_fraction(out: &mut Vec<u8>, whole: u64, frac: u64, digits: usize) {
    let mut buf = itoa::Buffer::new();
    out.extend_from_slice(buf.format(whole).as_bytes());
    out.push(b'.');
    let frac = buf.format(frac);
    out.resize(out.len() + digits.saturating_sub(frac.len()), b'0');
    out.extend_from_slice(frac.as_bytes());
}

/// Turns `CLOCK_MONOTONIC` event times into wall-clock times, with the
/// offset between the two clocks taken once at start (as perf does), and
/// the local-time breakdown cached per second.
struct WallClock {
    /// `CLOCK_REALTIME - CLOCK_MONOTONIC`, ns.
    offset_ns: i128,
    cached_second: i64,
    cached_hms: [u8; 8],
}

impl WallClock {
    fn new() -> Self {
        let real = clock_ns(libc::CLOCK_REALTIME);
        let mono = clock_ns(libc::CLOCK_MONOTONIC);
        Self {
            offset_ns: real as i128 - mono as i128,
            cached_second: i64::MIN,
            cached_hms: *b"00:00:00",
        }
    }

    fn write(&mut self, out: &mut Vec<u8>, mono_ns: u64, style: Timestamps) {
        let wall = (mono_ns as i128 + self.offset_ns).max(0) as u64;
        let (secs, micros) = (wall / 1_000_000_000, (wall % 1_000_000_000) / 1000);
        if style == Timestamps::Epoch {
            push_fraction(out, secs, micros, 6);
            return;
        }
        if secs as i64 != self.cached_second {
            self.cached_second = secs as i64;
            self.cached_hms = local_hms(secs as i64);
        }
        out.extend_from_slice(&self.cached_hms);
        if style == Timestamps::Micros {
            out.push(b'.');
            let mut buf = itoa::Buffer::new();
            let frac = buf.format(micros);
            out.resize(out.len() + 6 - frac.len(), b'0');
            out.extend_from_slice(frac.as_bytes());
        }
    }
}

/// `HH:MM:SS` of `secs` since the epoch in the local time zone.
fn local_hms(secs: i64) -> [u8; 8] {
    // SAFETY: localtime_r fills the tm we pass; `t` outlives the call.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        let t: libc::time_t = secs;
        libc::localtime_r(&t, &mut tm);
        tm
    };
    let two = |n: i32| [b'0' + (n / 10 % 10) as u8, b'0' + (n % 10) as u8];
    let (h, m, s) = (two(tm.tm_hour), two(tm.tm_min), two(tm.tm_sec));
    [h[0], h[1], b':', m[0], m[1], b':', s[0], s[1]]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn getppid(tid: u32) -> SyscallEvent {
        SyscallEvent {
            tgid: 7,
            tid,
            nr: 110,
            args: [0; 6],
            enter_ns: 1_000,
            exit_ns: Some(1_500_000_000 + 1_000 + 12_345),
            ret: Some(42),
            strings: None,
            data: None,
            request: None,
            stack: None,
        }
    }

    fn render(options: TextOptions, tasks: &Tasks, ev: &SyscallEvent) -> String {
        let mut sink = TextSink::new(Vec::new(), options);
        sink.syscall(ev, tasks).unwrap();
        String::from_utf8(sink.out).unwrap()
    }

    #[test]
    fn plain_line() {
        let line = render(TextOptions::default(), &Tasks::default(), &getppid(7));
        assert_eq!(line, "getppid() = 42\n");
    }

    #[test]
    fn duration_suffix() {
        let options = TextOptions {
            durations: true,
            ..Default::default()
        };
        let line = render(options, &Tasks::default(), &getppid(7));
        assert_eq!(line, "getppid() = 42 <1.500012>\n");
    }

    #[test]
    fn request_suffix_and_anomaly_lines() {
        let mut ev = getppid(7);
        ev.request = Some("req-17".into());
        let line = render(TextOptions::default(), &Tasks::default(), &ev);
        assert_eq!(line, "getppid() = 42 [req=req-17]\n");
        let mut sink = TextSink::new(Vec::new(), TextOptions::default());
        let anomaly = Anomaly {
            kind: crate::request::REQUEST_BLEED.to_string(),
            tgid: 7,
            tid: 8,
            fd: 5,
            ts_ns: 0,
            attributed: "req-17".into(),
            found: "req-23".into(),
        };
        sink.anomaly(&anomaly, &Tasks::default()).unwrap();
        assert_eq!(
            String::from_utf8(sink.out).unwrap(),
            "!!! request bleed: tid 8 serving req-17 wrote req-23's ID to fd 5\n"
        );
    }

    /// #16: strace's `---` and `+++` lines; an exit whose status is
    /// unknown (a recording made before statuses were kept) has none.
    #[test]
    fn signal_and_exit_lines() {
        let mut sink = TextSink::new(Vec::new(), TextOptions::default());
        let tasks = Tasks::default();
        let info = crate::event::SigInfo {
            signo: libc::SIGCHLD,
            errno: 0,
            code: 1,
            fields: [8, 3, 0, 0],
        };
        let exited = |tid, status| TaskEvent::Exited {
            ts_ns: 3,
            tgid: 7,
            tid,
            group_dead: tid == 7,
            comm: String::new(),
            status,
        };
        for event in [
            TaskEvent::Signal {
                ts_ns: 1,
                tgid: 7,
                tid: 7,
                info,
            },
            exited(9, None),
            exited(8, Some(libc::SIGSEGV | 0x80)),
            exited(7, Some(3 << 8)),
        ] {
            sink.task(&event, &tasks).unwrap();
        }
        assert_eq!(
            String::from_utf8(sink.out).unwrap(),
            "--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=8, si_uid=0, \
             si_status=3, si_utime=0, si_stime=0} ---\n\
             +++ killed by SIGSEGV (core dumped) +++\n\
             +++ exited with 3 +++\n"
        );
    }

    #[test]
    fn pid_prefix_once_there_are_two_tasks() {
        let mut pipeline = crate::pipeline::Pipeline::new(Default::default(), vec![]);
        pipeline.add_task(7, 7, None, 0).unwrap();
        pipeline.add_task(8, 7, None, 0).unwrap();
        let line = render(TextOptions::default(), pipeline.tasks(), &getppid(8));
        assert_eq!(line, "[pid     8] getppid() = 42\n");
    }

    #[test]
    fn timestamp_styles() {
        for (style, len) in [
            (Timestamps::Seconds, "HH:MM:SS ".len()),
            (Timestamps::Micros, "HH:MM:SS.uuuuuu ".len()),
        ] {
            let options = TextOptions {
                timestamps: style,
                ..TextOptions::default()
            };
            let line = render(options, &Tasks::default(), &getppid(7));
            assert_eq!(line.find("getppid"), Some(len), "{line}");
            assert_eq!(&line[2..3], ":");
        }
        let options = TextOptions {
            timestamps: Timestamps::Epoch,
            ..TextOptions::default()
        };
        let line = render(options, &Tasks::default(), &getppid(7));
        let stamp: f64 = line.split(' ').next().unwrap().parse().unwrap();
        assert!(stamp > 1.6e9, "{line}");
    }
}
