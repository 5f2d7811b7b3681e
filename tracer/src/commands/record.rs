//! `tracer record`: set up a source, start or attach to the target, pump
//! events through the pipeline until the target is gone or the user stops
//! us, then detach and summarise; exit with the launched command's status.
//! What tracer's own signals mean (a Ctrl-C is the command's) is [`Stop`].

use std::{
    collections::HashSet,
    ffi::OsString,
    io,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use anyhow::{Context as _, Result, bail};
use clap::{ArgAction, Args};
use nix::{
    errno::Errno,
    sys::{
        signal::{SigSet, Signal},
        wait::waitpid,
    },
    unistd::Pid,
};

use crate::{
    clock::clock_ns,
    commands::show::ShowArgs,
    event::{Event, TaskEvent},
    exit::{Ended, Exit, wait_end},
    launch::{self, inherited::Inherited},
    output::View,
    pipeline::{Pipeline, RunInfo},
    procfs,
    recording::{Header, Writer},
    request::{Attributor, patterns::Patterns},
    source::{Mode, Source},
    stdio::note,
    syscalls::filter::SyscallFilter,
};

/// Longest a streamed line waits in tracer's buffer while the target keeps
/// making syscalls (when it pauses, lines go out at once).
const FLUSH_NS: u64 = 50_000_000;

/// The arguments of `tracer record`.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// How to watch the target.
    #[arg(long, value_enum, default_value_t = Mode::Auto)]
    pub mode: Mode,

    /// Attach to process PID (all its threads, and its future children).
    /// Repeat, or separate with commas, for several.
    #[arg(
        short = 'p',
        long = "attach",
        value_name = "PID",
        value_delimiter = ',',
        value_parser = clap::value_parser!(i32).range(1..)
    )]
    pub pids: Vec<i32>,

    #[command(flatten)]
    pub show: ShowArgs,

    /// Also write a recording of every event shown to FILE (mode 0600), for
    /// `tracer report FILE` and the exports. Written as events arrive: a
    /// run cut short leaves a readable recording.
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: Option<PathBuf>,

    /// Also write the trace as FORMAT (perfetto, chrome, jsonl, csv) to
    /// FILE, as events arrive. Repeatable.
    #[arg(long = "export", value_name = "FORMAT:FILE")]
    pub exports: Vec<crate::export::ExportSpec>,

    /// Accepted for strace compatibility: children are always followed.
    #[arg(short = 'f', action = ArgAction::Count, hide = true)]
    pub follow: u8,

    /// When tracer is stopped (SIGTERM, SIGHUP), kill the launched command
    /// too. By default it is left running, untraced. (Ctrl-C does not stop
    /// tracer while the command runs: the command gets it and decides.)
    #[arg(long)]
    pub kill_on_exit: bool,

    /// Capture up to BYTES of each data buffer read or written (read,
    /// write, send, recv families and their vectored forms), for request
    /// IDs and display; 0 turns capture off. At most 4096.
    #[arg(short = 's', long = "capture-bytes", value_name = "BYTES", default_value_t = 512,
          value_parser = clap::value_parser!(u32).range(0..=tracer_common::capture::MAX_DATA as i64))]
    pub capture_bytes: u32,

    /// Keep the captured bytes in full (up to --capture-bytes) in the
    /// output and recordings. By default only request IDs, lengths and the
    /// 32-byte prefix shown in text mode are kept: captured data can hold
    /// passwords and tokens.
    #[arg(long)]
    pub keep_payload: bool,

    /// Show the path or socket behind each file descriptor:
    /// `read(3</etc/hosts>, ...)`, `write(5<TCP:[127.0.0.1:8080->127.0.0.1:51234]>, ...)`.
    #[arg(short = 'y', long = "decode-fds")]
    pub decode_fds: bool,

    /// Also find request IDs with REGEX, which must have exactly one
    /// capture group (the ID); it takes precedence over the built-in
    /// patterns (X-Request-Id, traceparent, req=/request_id=/request-id=
    /// log tokens). Repeatable.
    #[arg(long = "request-id", value_name = "REGEX", value_parser = parse_request_id)]
    pub request_ids: Vec<regex::bytes::Regex>,

    /// Do not use the built-in request ID patterns.
    #[arg(long)]
    pub no_default_request_ids: bool,

    /// Delay the syscalls of SET by DURATION while recording (SET=DURATION,
    /// as `tracer delay` takes it): what `compare --modes ebpf+delay:…`
    /// runs.
    #[arg(long, value_name = "SET=DURATION", hide = true)]
    pub inject_delay: Option<crate::inject::Delay>,

    /// Size of the eBPF ring buffer (power of two, e.g. 16M, 64MiB).
    #[arg(long, value_name = "BYTES", default_value = "64MiB", value_parser = parse_ring_size)]
    pub ring_size: u32,

    /// For `compare`: print the launched command's run time, from the
    /// release of its start gate to its exit, as a `tracer: command_ns=N`
    /// line on stderr.
    #[arg(long, hide = true)]
    pub print_command_ns: bool,

    /// The command to run and trace.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CMD"
    )]
    pub command: Vec<OsString>,
}

fn parse_request_id(text: &str) -> Result<regex::bytes::Regex, String> {
    crate::request::patterns::parse(text).map_err(|e| e.to_string())
}

fn parse_ring_size(text: &str) -> Result<u32, String> {
    // Binary units: "16M" is 16 MiB, as ring sizes are powers of two.
    let bytes = parse_size::Config::new()
        .with_binary()
        .parse_size(text)
        .map_err(|e| e.to_string())?;
    let bytes = u32::try_from(bytes).map_err(|_| format!("{text} is larger than 2 GiB"))?;
    if bytes < 4096 || !bytes.is_power_of_two() {
        return Err(format!("{text} is not a power of two of at least 4 KiB"));
    }
    Ok(bytes)
}

/// Runs `tracer record`; returns how tracer should exit.
pub fn run(args: RecordArgs) -> Result<Exit> {
    let filter = SyscallFilter::parse(&args.show.exprs).context("invalid -e expression")?;
    if args.command.is_empty() && args.pids.is_empty() {
        bail!("nothing to trace: give a command (tracer record -- CMD ARGS...) or -p PID");
    }
    // Check every -p before loading anything, so a typo costs nothing. A
    // process named twice (`-p X,X`, or by two of its threads) is traced
    // once.
    let mut attach = Vec::new();
    for &pid in &args.pids {
        procfs::check(pid)?;
        let tgid = procfs::tgid(pid)?;
        if !attach.contains(&tgid) {
            attach.push(tgid);
        }
    }
    // First, while tracer is small and has one thread: the handlers (a
    // Ctrl-C from now on is tracer's to interpret) and the launcher, which
    // forks the command later without tracer's ring, maps and threads.
    let stop = Stop::install(!args.command.is_empty())?;
    // Delays (`--inject-delay`): the socket the command hands its listener
    // back over exists before the launcher is forked, which passes it on.
    let (delay_child, delay) = crate::commands::delay::channel_for_record(
        args.inject_delay.as_ref(),
        Source::seccomp_program(args.mode, &filter).is_some(),
        !args.command.is_empty(),
    )?
    .unzip();
    let launcher = match args.command.is_empty() {
        true => None,
        false => Some(launch::Launcher::start(
            &args.command,
            Source::seccomp_program(args.mode, &filter),
            delay_child,
        )?),
    };

    // One wall-clock offset for the lines shown and the recording written,
    // so that `tracer report` shows the same times to the microsecond.
    let clock_offset = crate::recording::realtime_offset_ns();
    let mut sinks = vec![crate::output::view_sink(&View {
        decode_fds: args.decode_fds,
        realtime_offset_ns: Some(clock_offset),
        ..args.show.view()
    })?];
    // Request attribution, whenever there is a pattern to look for: it
    // costs a branch per event when nothing is captured. A narrow `-e`
    // leaves the built-in patterns off unless --by-request asks for
    // requests: attribution needs every read and write recorded, which is
    // what a narrow trace is meant not to pay for.
    let defaults = !args.no_default_request_ids && (filter.is_all() || args.show.by_request);
    let patterns = Patterns::new(args.request_ids.clone(), defaults);
    let recorded = kernel_set(&filter, !patterns.is_empty(), args.decode_fds);
    // The structures behind pointers cost a read per call that has one:
    // only for the sinks that show them (lines, recordings, exports), not
    // for a summary alone.
    let view = args.show.view();
    let structs = !(view.summary || view.json || view.by_request)
        || args.write.is_some()
        || !args.exports.is_empty();
    let opened = stop.in_main_thread_only(|| {
        Source::open(
            args.mode,
            args.ring_size,
            args.capture_bytes,
            structs,
            &recorded,
        )
    });
    if launcher.is_some()
        && let Some(signal) = stop.signal()
    {
        // Stopped while loading (which a signal can also make fail).
        return Ok(stop.before_launch(&args.command[0], signal));
    }
    let mut source = opened?;
    if args.show.stack_trace {
        source.stacks(&filter)?;
    }
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
    let mut pipeline = args.show.stacks(Pipeline::new(filter, sinks));
    if !args.keep_payload {
        pipeline = pipeline.keep_bytes(crate::pipeline::SHOWN_BYTES);
    }
    if !patterns.is_empty() {
        pipeline = pipeline.with_attributor(Attributor::new(patterns));
    }

    let start_ns = clock_ns(libc::CLOCK_MONOTONIC);

    let mut live: HashSet<u32> = HashSet::new();
    for &tgid in &attach {
        for tid in source.trace(tgid as u32, false)? {
            live.insert(tid);
            pipeline
                .add_task(tid, tgid as u32, procfs::comm(tid), start_ns)
                .context("cannot write the output")?;
        }
        note!("tracer: Process {tgid} attached");
    }
    if !attach.is_empty() && !recorded.is_all() && source.mode() == "ptrace" {
        note!(
            "tracer: seccomp cannot be added to a running process: with -p, every syscall stops it"
        );
    }
    let gated = match launcher {
        None => None,
        Some(launcher) => {
            let prepare = launch::Prepare {
                delay: delay.is_some(),
                ..source.prepare(&recorded)
            };
            let gated = launcher.spawn(prepare)?;
            let pid = gated.pid().as_raw() as u32;
            // Named at its exec, by the source.
            let traced = source.trace(pid, true).and_then(|_| {
                pipeline
                    .add_task(pid, pid, None, start_ns)
                    .context("cannot write the output")
            });
            match traced {
                Ok(()) => {
                    live.insert(pid);
                }
                // A Ctrl-C to the group can kill the command at its gate
                // before it is traced: the signal decides, below.
                Err(_) if stop.signal().is_some() => {}
                Err(err) => return Err(err),
            }
            Some(gated)
        }
    };
    let gated = match (gated, stop.signal()) {
        (Some(gated), Some(signal)) => {
            // Stopped before the command ran: it never runs, and tracer
            // ends as the signal says (an untraced command would have
            // died of a Ctrl-C then).
            let pid = gated.abort();
            drop(source);
            let _ = waitpid(pid, None);
            return Ok(stop.before_launch(&args.command[0], signal));
        }
        (gated, _) => gated,
    };
    source.start();
    let released_ns = clock_ns(libc::CLOCK_MONOTONIC);
    let (child, _supervisor) = match gated {
        None => (None, None),
        Some(gated) => {
            let (pid, supervisor) = gated.release_with(|| delay.map(|d| d.start()))?;
            (Some(pid), supervisor.transpose()?)
        }
    };
    let mut span = CommandSpan {
        pid: child.map(|pid| pid.as_raw() as u32),
        start_ns: released_ns,
        end_ns: None,
    };

    let mut status = None;
    let mut failure: Option<io::Error> = None;
    let mut flushed_ns = start_ns;
    loop {
        let n = source.poll(|event| {
            span.see(&event);
            forward(event, &mut pipeline, &mut live, &mut failure)
        });
        // Lines reach their reader when the target pauses, and at least
        // every FLUSH_NS while it streams: no write per line, and no line
        // held back until the target exits.
        let now = clock_ns(libc::CLOCK_MONOTONIC);
        if failure.is_none() && (n == 0 || now.saturating_sub(flushed_ns) >= FLUSH_NS) {
            flushed_ns = now;
            if let Err(e) = pipeline.flush() {
                failure = Some(e);
            }
        }
        if failure.is_some() {
            break;
        }
        if let Some(pid) = child
            && status.is_none()
        {
            status = source.child_status(pid);
            if status.is_some() {
                // Up to a poll interval late: the exit event, when it
                // comes, has the kernel's time.
                span.reaped(clock_ns(libc::CLOCK_MONOTONIC));
            }
        }
        if stop.now(child.is_some() && status.is_none()) {
            break;
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
    if let Some(err) = &failure {
        // Said now, not after the command ends: it may run for long. A
        // closed output (`| head`) is said only when the target still
        // runs: tracing it stopped early, which its reader may not know.
        // (On the closed output itself, if stderr, it goes nowhere.)
        let closed = crate::stdio::is_closed_io(err);
        let why = match closed {
            true => "the output was closed".to_string(),
            false => format!("cannot write the output: {err}"),
        };
        match child {
            Some(pid) if status.is_none() => note!(
                "tracer: {why}; recording stopped, {} (pid {pid}) goes on untraced and tracer waits for it",
                args.command[0].to_string_lossy()
            ),
            // Attached: the processes are detached below, then tracer
            // ends (an error other than a closed output is said then).
            None if closed => note!("tracer: {why}; recording stopped"),
            _ => {}
        }
    }
    // Detach first: the target runs untraced from here on. What was still
    // in flight (the last exit records) is taken on the way out.
    source.detach(|event| {
        span.see(&event);
        forward(event, &mut pipeline, &mut live, &mut failure)
    });
    if let Some(pid) = child
        && status.is_none()
    {
        status = source.child_status(pid);
        if status.is_none() && failure.is_some() {
            // The output broke, not the command: its fate is still ours
            // to report, so wait for it (SIGTERM/SIGHUP stop waiting).
            status = wait_for(pid, &stop);
        } else if status.is_none() && stop.terminated() && args.kill_on_exit {
            // Detached already, so this is a plain kill of our own child.
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            status = wait_end(pid, false).ok().flatten();
        }
    }

    let end_ns = clock_ns(libc::CLOCK_MONOTONIC);
    // The syscalls left out in the kernel ran the programs too.
    let made = pipeline.syscalls + source.filtered();
    let run = RunInfo {
        mode: source.mode(),
        lost_events: source.lost_syscalls(),
        lost_tasks: source.lost_tasks(),
        lost_captures: source.lost_captures(),
        syscalls: pipeline.syscalls,
        observer: source.observer(made, end_ns.saturating_sub(start_ns)),
        start_ns,
        end_ns,
    };
    if args.print_command_ns
        && let Some(ns) = span.ns()
    {
        note!("tracer: command_ns={ns}");
    }
    let orphaned = source.orphaned_captures();
    let lost_stacks = source.lost_stacks();
    drop(source);
    for tgid in &attach {
        if procfs::alive(*tgid as u32) {
            note!("tracer: Process {tgid} detached");
        }
    }
    // An output error (the disk is full, or its reader went away) does
    // not change the command's fate: once its status is known, tracer
    // exits with it, and says the recording is incomplete (not for a
    // closed output: its reader chose to stop, see `stdio`). With no
    // command, a closed output ends tracer by SIGPIPE, quietly.
    let finished = pipeline.finish(&run);
    if let Some(err) = failure.or(finished.err()) {
        match (child, status) {
            (Some(_), Some(_)) if crate::stdio::is_closed_io(&err) => {}
            (Some(pid), Some(_)) => note!(
                "tracer: the recording is incomplete (cannot write the output: {err}); exiting with the status of {} (pid {pid})",
                args.command[0].to_string_lossy()
            ),
            _ => return Err(err).context("cannot write the output"),
        }
    }
    if crate::output::lost_anything(&run) && args.show.output.is_some() {
        note!("{}", crate::output::lost_banner(&run));
    }
    if orphaned > 0 {
        // Not silent: those syscalls show pointers where data was taken.
        note!(
            "tracer: {orphaned} captures (paths, data) dropped: their syscall never came (lost, or in flight at detach)"
        );
    }
    if lost_stacks > 0 {
        note!(
            "tracer: {lost_stacks} syscalls shown without their stack (-k): the ring had no room for it"
        );
    }
    if stop.terminated() || (stop.signal().is_some() && child.is_none()) {
        return Ok(stop.exit());
    }
    Ok(match status {
        Some(ended) => {
            if ended.core_dumped() {
                // The shell cannot say it: tracer dies of the same signal
                // without dumping a core of its own over the command's
                // (as strace does), so say it here.
                note!(
                    "tracer: {} (pid {}) killed by {} (core dumped)",
                    args.command[0].to_string_lossy(),
                    child.map_or(0, Pid::as_raw),
                    signal_name(ended.signal().unwrap_or(0))
                );
            }
            ended.exit()
        }
        None => Exit::Code(0),
    })
}

/// The launched command's run: from the release of its start gate (it
/// then goes on to `execve`) to its exit. `compare` times an untraced run
/// over the same span (its spawn to its exit) and asks for this one with
/// `--print-command-ns`, so slowdowns compare like with like: tracer's own
/// set-up and teardown are not in it.
struct CommandSpan {
    pid: Option<u32>,
    start_ns: u64,
    end_ns: Option<u64>,
}

impl CommandSpan {
    /// The exit of the command's last thread, at the time the source saw
    /// it (eBPF: the kernel's clock at `sched_process_exit`).
    fn see(&mut self, event: &Event) {
        if let Event::Task(TaskEvent::Exited {
            tgid,
            group_dead: true,
            ts_ns,
            ..
        }) = event
            && Some(*tgid) == self.pid
        {
            self.end_ns = Some(*ts_ns);
        }
    }

    /// The command was reaped: its exit was at the latest now.
    fn reaped(&mut self, now_ns: u64) {
        self.end_ns.get_or_insert(now_ns);
    }

    fn ns(&self) -> Option<u64> {
        self.pid?;
        Some(self.end_ns?.saturating_sub(self.start_ns))
    }
}

/// Waits for our child `pid` after recording stopped, until it ends or
/// tracer is told to stop (SIGTERM, SIGHUP).
fn wait_for(pid: Pid, stop: &Stop) -> Option<Ended> {
    loop {
        match wait_end(pid, true) {
            Ok(Some(ended)) => return Some(ended),
            Ok(None) | Err(Errno::EINTR) => {}
            Err(_) => return None,
        }
        if stop.terminated() {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// As strace names it (`SIGINT`, `SIGRT_2`).
fn signal_name(signal: i32) -> String {
    let mut name = Vec::new();
    crate::syscalls::format::write_signal(&mut name, signal);
    String::from_utf8_lossy(&name).into_owned()
}

/// The syscalls the source records: what `-e` shows, plus what the
/// features that are on learn from (attribution, `-y`), whatever is shown.
fn kernel_set(shown: &SyscallFilter, attribution: bool, decode_fds: bool) -> SyscallFilter {
    let mut set = shown.clone();
    if attribution {
        set = set.with(crate::request::needs);
    }
    if decode_fds {
        set = set.with(crate::fds::tracks);
    }
    set
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
        Event::Task(
            TaskEvent::Named { .. } | TaskEvent::Signal { .. } | TaskEvent::Stopped { .. },
        )
        | Event::Syscall(_) => {}
    }
    if let Err(e) = pipeline.push(event) {
        *failure = Some(e);
    }
}

/// What tracer's own signals mean.
///
/// SIGTERM and SIGHUP ask for a clean stop: detach, summarise, exit
/// 128+signal (the launched command goes on, untraced, unless
/// `--kill-on-exit`).
///
/// SIGINT and SIGQUIT come from the terminal, which sends them to the
/// whole foreground group: the launched command got its own, and decides.
/// So while a launched command runs, tracer keeps recording and waits for
/// it, then exits with its status (as `strace -o FILE CMD` does); before it
/// runs, they stop the launch; with `-p` alone they stop as SIGTERM does.
///
/// A signal tracer was started with ignored (nohup, `trap ""`) stays
/// ignored: tracer does not catch it.
struct Stop {
    interrupt: Arc<AtomicUsize>,
    terminate: Arc<AtomicUsize>,
}

impl Stop {
    /// `launching`: a command will be launched (SIGQUIT is caught too).
    fn install(launching: bool) -> Result<Self> {
        let interrupt = Arc::new(AtomicUsize::new(0));
        let terminate = Arc::new(AtomicUsize::new(0));
        let inherited = Inherited::at_startup();
        let quit = launching.then_some(libc::SIGQUIT);
        let handled = [
            (libc::SIGINT, &interrupt),
            (libc::SIGTERM, &terminate),
            (libc::SIGHUP, &terminate),
        ]
        .into_iter()
        .chain(quit.map(|sig| (sig, &interrupt)));
        for (sig, flag) in handled {
            if inherited.ignores(sig) {
                continue;
            }
            signal_hook::flag::register_usize(sig, Arc::clone(flag), sig as usize)
                .context("cannot install signal handlers")?;
        }
        Ok(Self {
            interrupt,
            terminate,
        })
    }

    /// Runs `f`, which may start threads, so that those threads block the
    /// signals handled here: the kernel then hands them to the main thread,
    /// whose handler runs before its current syscall returns. A Ctrl-C
    /// that reaches the group before the command exists is then seen
    /// before the command is released (a handler run late on another
    /// thread would let the command start without it).
    fn in_main_thread_only<T>(&self, f: impl FnOnce() -> T) -> T {
        let mut handled = SigSet::empty();
        for sig in [
            Signal::SIGINT,
            Signal::SIGQUIT,
            Signal::SIGTERM,
            Signal::SIGHUP,
        ] {
            handled.add(sig);
        }
        let _ = handled.thread_block();
        let result = f();
        let _ = handled.thread_unblock();
        result
    }

    /// Whether to stop recording now; `command_running`: the launched
    /// command has not ended.
    fn now(&self, command_running: bool) -> bool {
        self.terminated() || (self.interrupted() && !command_running)
    }

    fn terminated(&self) -> bool {
        self.terminate.load(Ordering::Relaxed) != 0
    }

    fn interrupted(&self) -> bool {
        self.interrupt.load(Ordering::Relaxed) != 0
    }

    /// The signal that stopped tracer, if any (SIGTERM/SIGHUP first).
    fn signal(&self) -> Option<i32> {
        [&self.terminate, &self.interrupt]
            .into_iter()
            .map(|flag| flag.load(Ordering::Relaxed))
            .find(|&sig| sig != 0)
            .map(|sig| sig as i32)
    }

    /// How tracer ends when `signal` came before the command ran (it never
    /// runs): as the signal says, as an untraced command would have.
    fn before_launch(&self, program: &std::ffi::OsStr, signal: i32) -> Exit {
        note!(
            "tracer: {} was not started: stopped by {}",
            program.to_string_lossy(),
            signal_name(signal)
        );
        match self.terminated() {
            true => self.exit(),
            false => Exit::Signal(signal),
        }
    }

    /// How tracer exits when a signal, not the command, ended it: 128 +
    /// the signal, after the summary.
    fn exit(&self) -> Exit {
        Exit::Code(self.signal().map_or(0, |sig| 128 + sig))
    }
}
