//! `tracer record`: set up a source, start or attach to the target, pump
//! events through the pipeline until the target is gone or the user stops
//! us, then detach and summarise.

use std::{
    collections::HashSet,
    io,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use anyhow::{Context as _, Result, bail};
use nix::sys::wait::WaitStatus;

use crate::{
    Exit,
    cli::RecordArgs,
    event::{Event, TaskEvent},
    launch,
    output::{View, text::clock_ns},
    pipeline::{Pipeline, RunInfo},
    procfs,
    recording::{Header, Writer},
    request::{Attributor, patterns::Patterns},
    source::Source,
    syscalls::filter::SyscallFilter,
};

/// Runs `tracer record`; returns how tracer should exit.
pub fn run(args: RecordArgs) -> Result<Exit> {
    let filter = SyscallFilter::parse(&args.show.exprs).context("invalid -e expression")?;
    if args.command.is_empty() && args.pids.is_empty() {
        bail!("nothing to trace: give a command (tracer record -- CMD ARGS...) or -p PID");
    }
    // Check every -p before loading anything, so a typo costs nothing.
    let mut attach = Vec::new();
    for &pid in &args.pids {
        procfs::check(pid)?;
        attach.push(procfs::tgid(pid)?);
    }
    if let Some(program) = args.command.first() {
        launch::resolve(program)?;
    }

    // One wall-clock offset for the lines shown and the recording written,
    // so that `tracer report` shows the same times to the microsecond.
    let clock_offset = crate::recording::realtime_offset_ns();
    let mut sinks = vec![crate::output::view_sink(&View {
        decode_fds: args.decode_fds,
        realtime_offset_ns: Some(clock_offset),
        ..args.show.view()
    })?];
    let mut source = Source::open(args.mode, args.ring_size, args.capture_bytes)?;
    if let Some(path) = &args.write {
        let command = args
            .command
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let targets = attach.iter().map(|&tgid| tgid as u32).collect();
        let mut header = Header::now(source.mode(), command, targets, args.keep_payload);
        header.realtime_offset_ns = clock_offset;
        sinks.push(Box::new(Writer::create(path, &header)?));
    }
    for target in &args.exports {
        sinks.push(target.open()?);
    }
    let prepare_filter = filter.clone();
    let mut pipeline = Pipeline::new(filter, sinks);
    if !args.keep_payload {
        pipeline = pipeline.keep_bytes(crate::pipeline::SHOWN_BYTES);
    }
    // Request attribution, whenever there is a pattern to look for: it
    // costs a branch per event when nothing is captured.
    let patterns = Patterns::new(args.request_ids.clone(), !args.no_default_request_ids);
    if !patterns.is_empty() {
        pipeline = pipeline.with_attributor(Attributor::new(patterns));
    }

    let stop = Stop::install()?;
    let start_ns = clock_ns(libc::CLOCK_MONOTONIC);

    let mut live: HashSet<u32> = HashSet::new();
    for &tgid in &attach {
        for tid in source.trace(tgid as u32, false)? {
            live.insert(tid);
            pipeline
                .add_task(tid, tgid as u32, procfs::comm(tid), start_ns)
                .context("cannot write the output")?;
        }
        eprintln!("tracer: Process {tgid} attached");
    }
    if !attach.is_empty() && !prepare_filter.is_all() && source.mode() == "ptrace" {
        eprintln!(
            "tracer: seccomp cannot be added to a running process: with -p, every syscall stops it"
        );
    }
    let gated = match args.command.is_empty() {
        true => None,
        false => {
            let gated = launch::spawn_gated(&args.command, source.prepare(&prepare_filter))?;
            let pid = gated.pid().as_raw() as u32;
            source.trace(pid, true)?;
            live.insert(pid);
            // Named at its exec, by the source.
            pipeline
                .add_task(pid, pid, None, start_ns)
                .context("cannot write the output")?;
            Some(gated)
        }
    };
    source.start();
    let child = gated.map(launch::Gated::release).transpose()?;

    let mut status = None;
    let mut failure: Option<io::Error> = None;
    loop {
        source.poll(|event| forward(event, &mut pipeline, &mut live, &mut failure));
        if failure.is_some() || stop.requested() {
            break;
        }
        if let Some(pid) = child
            && status.is_none()
        {
            status = source.child_status(pid);
        }
        // Task events say when the last task is gone; /proc backs them up
        // in case an exit record was lost (a full ring), so tracer never
        // waits for a task that no longer exists.
        let target_gone = source.finished()
            || ((child.is_none() || status.is_some())
                && (live.is_empty() || live.iter().all(|&tid| !procfs::alive(tid))));
        if target_gone {
            break;
        }
    }
    // Detach first: the target runs untraced from here on. What was still
    // in flight (the last exit records) is taken on the way out.
    source.detach(|event| forward(event, &mut pipeline, &mut live, &mut failure));
    if let Some(pid) = child
        && status.is_none()
    {
        status = source.child_status(pid);
        if status.is_none() && stop.requested() && args.kill_on_exit {
            // Detached already, so this is a plain kill of our own child.
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            status = nix::sys::wait::waitpid(pid, None).ok();
        }
    }

    let end_ns = clock_ns(libc::CLOCK_MONOTONIC);
    let run = RunInfo {
        mode: source.mode(),
        lost_events: source.lost(),
        syscalls: pipeline.syscalls,
        observer: source.observer(pipeline.syscalls, end_ns.saturating_sub(start_ns)),
        start_ns,
        end_ns,
    };
    let orphaned = source.orphaned_captures();
    drop(source);
    for tgid in &attach {
        if procfs::alive(*tgid as u32) {
            eprintln!("tracer: Process {tgid} detached");
        }
    }
    pipeline.finish(&run).context("cannot write the output")?;
    if let Some(err) = failure {
        return Err(err).context("cannot write the output");
    }
    if run.lost_events > 0 && args.show.output.is_some() {
        eprintln!("{}", crate::output::lost_banner(run.lost_events));
    }
    if orphaned > 0 {
        // Not silent: those syscalls show pointers where data was taken.
        eprintln!(
            "tracer: {orphaned} captures (paths, data) dropped: their syscall never came (lost, or in flight at detach)"
        );
    }
    if let Some(signal) = stop.signal() {
        return Ok(Exit::Code(128 + signal));
    }
    Ok(match status {
        Some(WaitStatus::Exited(_, code)) => Exit::Code(code),
        Some(WaitStatus::Signaled(_, signal, _)) => Exit::Signal(signal as i32),
        _ => Exit::Code(0),
    })
}

/// Keeps the set of live tasks in step, then hands the event on.
fn forward(
    event: Event,
    pipeline: &mut Pipeline,
    live: &mut HashSet<u32>,
    failure: &mut Option<io::Error>,
) {
    if failure.is_some() {
        return;
    }
    match &event {
        Event::Task(TaskEvent::Spawned { tid, .. }) => {
            live.insert(*tid);
        }
        Event::Task(TaskEvent::Exited { tid, .. }) => {
            live.remove(tid);
        }
        Event::Task(TaskEvent::Named { .. }) | Event::Syscall(_) => {}
    }
    if let Err(e) = pipeline.push(event) {
        *failure = Some(e);
    }
}

/// SIGINT/SIGTERM/SIGHUP ask for a clean stop: detach, summarise, exit.
struct Stop {
    signal: Arc<AtomicUsize>,
}

impl Stop {
    fn install() -> Result<Self> {
        let signal = Arc::new(AtomicUsize::new(0));
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            signal_hook::flag::register_usize(sig, Arc::clone(&signal), sig as usize)
                .context("cannot install signal handlers")?;
        }
        Ok(Self { signal })
    }

    fn requested(&self) -> bool {
        self.signal.load(Ordering::Relaxed) != 0
    }

    fn signal(&self) -> Option<i32> {
        match self.signal.load(Ordering::Relaxed) {
            0 => None,
            sig => Some(sig as i32),
        }
    }
}
