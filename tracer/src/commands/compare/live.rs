//! `tracer compare -p PID | --comm NAME | --cgroup PATH`: traced against
//! untraced failure rates of a running service, in alternating windows.
//!
//! The service cannot be rerun a hundred times, so instead of runs per
//! mode the compare takes windows per mode: `--windows N` of `--window
//! DUR` each, in cycles that hold every mode once in a new random order.
//! In an untraced window nothing watches but the fork/exec/exit programs
//! (`watched`), which count the runs in every window the same way (or,
//! with `--fail-on log=FILE:REGEX`, a follower of the log, `log_lines`);
//! in a traced one a recorder (`recorder`) attaches at the start and
//! detaches at the end. The rules of which run counts where are `windows`'s; the
//! table and verdict are `report`'s.

use std::{
    collections::BTreeMap,
    io::IsTerminal,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result};
use indicatif::{ProgressBar, ProgressStyle};

use super::{
    CompareArgs,
    fail_on::FailOn,
    live_report::{LiveJson, TaskProgramsJson, WindowJson},
    log_lines::LogLines,
    recorder::{AttachError, Running, Stopped},
    report::{CompareJson, ModeCounts, modes_json, print_table, verdict},
    watched::{Target, Watched},
    windows::{self, Criterion, Window},
};
use crate::{
    clock::clock_ns,
    commands::{
        options::usage_error,
        run_mode::{Recorder, RunMode},
    },
    exit::Exit,
    stdio::{note, outln},
};

/// How often the kernel's records are taken in.
const TICK: Duration = Duration::from_millis(10);
/// A process younger than this is not handed to a recorder: it may be
/// gone before the recorder gets to it.
const MIN_AGE: Duration = Duration::from_millis(300);
/// Exit status of a compare that ended early (the `-p` process exited, a
/// recorder failed): what was gathered is reported, but it is not the
/// compare that was asked for.
const ENDED_EARLY: i32 = 3;

pub fn run(args: &CompareArgs) -> Result<Exit> {
    let (rules, modes) = check(args);
    let target = Target::check(
        args.live.pid,
        args.live.comm.as_deref(),
        args.live.cgroup.as_deref(),
    )?;
    let me = std::env::current_exe().context("cannot find the tracer binary")?;
    let work = crate::files::private_dir("tracer-compare-live-")?;
    let result = compare(args, &me, &work, target, rules, &modes);
    let _ = std::fs::remove_dir_all(&work);
    let (result, ended_early) = result?;
    if args.run.json {
        outln!("{}", serde_json::to_string_pretty(&result)?)?;
    } else {
        print_table(&result)?;
    }
    Ok(Exit::Code(if ended_early {
        ENDED_EARLY
    } else if result.interrupted {
        130
    } else {
        0
    }))
}

/// The checks clap cannot make: refused options are usage errors.
/// What counts as a failure: runs by their status, or lines of a log.
enum Rules {
    Runs(FailOn),
    Log(crate::logwatch::criterion::LogCriterion),
}

fn check(args: &CompareArgs) -> (Rules, Vec<(String, Option<Recorder>)>) {
    if let Some(output) = args.run.fail_on.iter().find(|c| c.starts_with("output=")) {
        usage_error(format!(
            "--fail-on {output}: a live compare cannot see the service's output in untraced windows (nothing reads it there), so it could not count it the same way in every mode; use exit or signal"
        ));
    }
    if args.run.jobs != 1 {
        usage_error(
            "--jobs has no meaning with -p, --comm or --cgroup: the service runs as it runs",
        );
    }
    if args.trace_failures.is_some() {
        usage_error("--trace-failures applies to launched runs only (compare -- CMD)");
    }
    let logs: Vec<&String> = args
        .run
        .fail_on
        .iter()
        .filter(|c| c.starts_with(crate::logwatch::criterion::PREFIX))
        .collect();
    let rules = match logs.as_slice() {
        [] => Rules::Runs(match FailOn::parse(&args.run.fail_on) {
            Ok(rules) => rules,
            Err(e) => usage_error(format!("{e:#}")),
        }),
        [log] if args.run.fail_on.len() == 1 => match crate::logwatch::criterion::parse(log) {
            Ok(log) => Rules::Log(log),
            Err(e) => usage_error(format!("--fail-on: {e}")),
        },
        _ => usage_error(
            "--fail-on log=FILE:REGEX counts failures per hour, exit and signal per run: give one log criterion alone, or exit/signal",
        ),
    };
    let mut modes = Vec::new();
    for (i, m) in args.modes.iter().enumerate() {
        if args.modes[..i].contains(m) {
            usage_error(format!("--modes names '{m}' twice"));
        }
        let mode: RunMode = match m.parse() {
            Ok(mode) => mode,
            Err(e) => usage_error(e),
        };
        if mode.delay.is_some() {
            usage_error(format!(
                "mode '{m}': delays are for launched runs (compare -- CMD); a live compare takes none, ebpf and ptrace"
            ));
        }
        modes.push((m.clone(), mode.recorder));
    }
    (rules, modes)
}

/// Runs every window; returns the result and whether it ended early.
fn compare(
    args: &CompareArgs,
    me: &Path,
    work: &Path,
    target: Target,
    rules: Rules,
    modes: &[(String, Option<Recorder>)],
) -> Result<(CompareJson, bool)> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .context("cannot install signal handlers")?;
    }
    let description = target.describe();
    let mut criterion: Box<dyn Criterion> = match &rules {
        Rules::Runs(rules) => Box::new(windows::Runs {
            rules: rules.clone(),
        }),
        // Before the programs load: a missing log costs nothing.
        Rules::Log(log) => Box::new(LogLines::open(log)?),
    };
    let mut watched = Watched::start(target.clone())?;

    let order = windows::schedule(modes.len(), args.live.windows, &mut fastrand::Rng::new());
    let window = args.live.window;
    let bar = progress(args.run.json, window * order.len() as u32);

    let mut done: Vec<Window> = Vec::new();
    let mut recorded: Vec<Option<Stopped>> = Vec::new();
    let mut ended_early = None;
    let mut begin = clock_ns(libc::CLOCK_MONOTONIC);
    for (k, &mode) in order.iter().enumerate() {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let (name, recorder) = &modes[mode];
        bar.set_message(format!("window {}/{}: {name}", k + 1, order.len()));
        // The task programs are measured except while an eBPF recorder's
        // programs run: statistics would slow those too.
        watched.measure(*recorder != Some(Recorder::Ebpf), begin);
        let (running, attached) = match recorder {
            None => (None, Vec::new()),
            Some(kind) => match attach(me, work, *kind, k, window, &mut watched, &stop) {
                Ok(Some(attached)) => attached,
                Ok(None) => {
                    // Stopped, or the `-p` process exited while attaching.
                    if let Some(status) = watched.root_ended {
                        ended_early = Some(root_exit(&target, status, k, order.len()));
                    }
                    break;
                }
                Err(e) => {
                    ended_early = Some(match watched.root_ended {
                        Some(status) => root_exit(&target, status, k, order.len()),
                        None => format!("the {name} recorder of window {}: {e:#}", k + 1),
                    });
                    break;
                }
            },
        };
        let start = clock_ns(libc::CLOCK_MONOTONIC);
        let deadline = Instant::now() + window;
        let base = bar.position();
        while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
            watched.poll()?;
            criterion.poll(&watched.procs)?;
            if watched.root_ended.is_some() {
                break;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            bar.set_position(base + (window - left.min(window)).as_millis() as u64);
            thread::sleep(TICK.min(left));
        }
        let end = clock_ns(libc::CLOCK_MONOTONIC);
        let stopped = match running {
            Some(running) => match running.stop() {
                Ok(stopped) => Some(stopped),
                Err(e) => {
                    ended_early = Some(format!("the {name} recorder of window {}: {e:#}", k + 1));
                    None
                }
            },
            None => None,
        };
        watched.poll()?;
        let closed = clock_ns(libc::CLOCK_MONOTONIC);
        done.push(Window {
            mode,
            traced: recorder.is_some(),
            begin_ns: begin,
            start_ns: start,
            end_ns: end,
            closed_ns: closed,
            attached,
        });
        recorded.push(stopped);
        begin = closed;
        if let Some(status) = watched.root_ended {
            ended_early = Some(root_exit(&target, status, k, order.len()));
        }
        if ended_early.is_some() {
            break;
        }
        bar.set_position(base + window.as_millis() as u64);
    }
    watched.measure(false, clock_ns(libc::CLOCK_MONOTONIC));
    // Exits of the last moments, still on their way through the ring.
    thread::sleep(TICK);
    watched.poll()?;
    criterion.poll(&watched.procs)?;
    bar.finish_and_clear();
    if let Some(why) = &ended_early {
        note!("tracer compare: {why}");
    }

    let tallies = criterion.tally(&done, &watched.procs);
    let mut counts: Vec<ModeCounts> = modes
        .iter()
        .map(|(name, _)| ModeCounts {
            mode: name.clone(),
            runs: 0,
            failures: BTreeMap::new(),
            wall: Vec::new(),
            observer: Vec::new(),
            windows: Some(0),
            unit: criterion.unit(),
            exposure: Duration::ZERO,
            window_rates: Vec::new(),
        })
        .collect();
    let mut mixed = BTreeMap::new();
    let mut windows_json = Vec::new();
    for ((w, t), stopped) in done.iter().zip(&tallies).zip(&recorded) {
        let c = &mut counts[w.mode];
        c.runs += t.runs;
        for (kind, n) in &t.failures {
            *c.failures.entry(*kind).or_default() += n;
        }
        c.wall.extend(&t.wall);
        if let Some(o) = stopped.as_ref().and_then(|s| s.observer_ns_per_syscall) {
            c.observer.push(o);
        }
        *c.windows.get_or_insert(0) += 1;
        let in_force = Duration::from_nanos(w.end_ns.saturating_sub(w.start_ns));
        c.exposure += in_force;
        if !in_force.is_zero() {
            c.window_rates
                .push(t.failed() as f64 * 3600.0 / in_force.as_secs_f64());
        }
        for (why, n) in &t.mixed {
            *mixed.entry(*why).or_default() += n;
        }
        windows_json.push(WindowJson {
            mode: modes[w.mode].0.clone(),
            begin_ns: w.begin_ns,
            start_ns: w.start_ns,
            end_ns: w.end_ns,
            closed_ns: w.closed_ns,
            runs: t.runs,
            failures: t.failed(),
            failures_by_kind: t.failures.clone(),
            mixed: t.mixed_total(),
            attached: w.attached.iter().map(|&i| watched.procs[i].tgid).collect(),
            syscalls: stopped.as_ref().map(|s| s.syscalls),
            lost_events: stopped.as_ref().map(|s| s.lost_events),
            observer_ns_per_syscall: stopped.as_ref().and_then(|s| s.observer_ns_per_syscall),
        });
    }
    let out = modes_json(&counts);
    let verdict = verdict(&out);
    let (run_time_ns, runs) = watched.cost;
    let measured_s = watched.cost_ns as f64 / 1e9;
    let live = LiveJson {
        target: description,
        window_s: window.as_secs_f64(),
        windows_per_mode: args.live.windows,
        windows: windows_json,
        mixed,
        task_programs: TaskProgramsJson {
            programs: [
                "sched_process_fork",
                "sched_process_exec",
                "sched_process_exit",
            ],
            runs,
            run_time_ns,
            measured_s,
            ns_per_run: (runs > 0).then(|| run_time_ns as f64 / runs as f64),
            cpu_us_per_s: (runs > 0 && measured_s > 0.0)
                .then(|| run_time_ns as f64 / 1e3 / measured_s),
        },
        lost_task_records: watched.lost(),
        ended_early: ended_early.clone(),
    };
    Ok((
        CompareJson {
            command: Vec::new(),
            runs_per_mode: None,
            interrupted: stop.load(Ordering::Relaxed),
            modes: out,
            verdict,
            live: Some(live),
        },
        ended_early.is_some(),
    ))
}

/// Starts window `k`'s recorder on what the set holds now and waits for it
/// to attach, taking in the kernel's records meanwhile (no recorder when
/// nothing of the target ran for a window's length). A process gone
/// before the recorder got to it is left out and the recorder started
/// again. `None`: the compare was stopped meanwhile, or the `-p` process
/// exited.
fn attach(
    me: &Path,
    work: &Path,
    kind: Recorder,
    k: usize,
    window: Duration,
    watched: &mut Watched,
    stop: &AtomicBool,
) -> Result<Option<(Option<Running>, Vec<usize>)>> {
    let mut left_out = Vec::new();
    let mut waited = Duration::ZERO;
    let mut attempt = 0;
    while attempt < 10 {
        watched.poll()?;
        if watched.root_ended.is_some() {
            return Ok(None);
        }
        let now = clock_ns(libc::CLOCK_MONOTONIC);
        let targets: Vec<(u32, usize)> = watched
            .attach_targets(now, MIN_AGE.as_nanos() as u64)
            .into_iter()
            .filter(|(tgid, _)| !left_out.contains(tgid))
            .collect();
        if targets.is_empty() {
            // Nothing of the target runs now (`--comm`, `--cgroup`): wait
            // for something to attach to, up to a window's length; then
            // the window goes on with nothing attached (and whatever ends
            // in it counts as not followed).
            if waited >= window {
                return Ok(Some((None, Vec::new())));
            }
            thread::sleep(TICK);
            waited += TICK;
            continue;
        }
        let pids: Vec<u32> = targets.iter().map(|t| t.0).collect();
        let summary = work.join(format!("window-{k}-{attempt}.json"));
        attempt += 1;
        let mut running = Running::start(me, kind, &pids, &summary)?;
        let started = Instant::now();
        loop {
            match running.poll_attached(started) {
                Ok(true) => {
                    return Ok(Some((Some(running), targets.iter().map(|t| t.1).collect())));
                }
                Ok(false) => {}
                Err(AttachError::Gone(gone)) => {
                    left_out.extend(gone);
                    break;
                }
                Err(AttachError::Failed(e)) => return Err(e),
            }
            watched.poll()?;
            if stop.load(Ordering::Relaxed) || watched.root_ended.is_some() {
                let _ = running.stop();
                return Ok(None);
            }
            thread::sleep(Duration::from_millis(2));
        }
    }
    anyhow::bail!("processes kept exiting before the recorder could attach to them")
}

/// The progress bar: time gone and left, on a terminal only (and never
/// with `--json`).
fn progress(json: bool, total: Duration) -> ProgressBar {
    if json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total.as_millis() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {elapsed} (~{eta} left) {msg}")
            .expect("valid template"),
    );
    bar
}

/// What the compare says when the `-p` process exited in window `k`.
fn root_exit(target: &Target, status: Option<i32>, k: usize, windows: usize) -> String {
    let pid = match target {
        Target::Pid(pid) => *pid,
        _ => 0,
    };
    format!(
        "process {pid} exited ({}) during window {} of {windows}: these are the windows gathered so far",
        describe_status(status),
        k + 1,
    )
}

fn describe_status(status: Option<i32>) -> String {
    match status {
        None => "how is unknown".into(),
        Some(s) if s & 0x7f != 0 => format!("killed by signal {}", s & 0x7f),
        Some(s) => format!("exit status {}", (s >> 8) & 0xff),
    }
}
