//! `tracer compare`: does the failure vanish under observation?
//!
//! Runs a command N times untraced and under each tracing mode, interleaved
//! in a random order so drift in the machine hits every mode alike, and
//! reports per mode the failure rate with a 95% Wilson interval, the
//! slowdown, the observer cost, and Fisher's exact test against untraced.
//! A failure that disappears under ptrace but not under eBPF is evidence
//! of a timing bug, not a dead end.
//!
//! Everything a run leaves (the recorder's summary, the output of failing
//! runs) goes to a private directory made for this compare with mkdtemp
//! semantics (`files::private_dir`); nothing is ever written at a name
//! another user could predict and prepare.

use std::{
    collections::BTreeMap,
    fs,
    io::{Read, Write},
    os::unix::process::{CommandExt, ExitStatusExt},
    path::{Path, PathBuf},
    process::Stdio,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
        mpsc,
    },
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use regex::bytes::Regex;
use serde::Serialize;

use super::run_mode::{Recorder, RunMode};
use crate::{
    exit::Exit,
    stats::{self, Z95},
};

/// How each run is judged and driven: the options compare and amplify
/// share.
#[derive(Clone, Debug, Args)]
pub struct RunOptions {
    /// What makes a run a failure: exit (non-zero exit status), signal
    /// (death by a signal), output=REGEX (stdout or stderr matches).
    /// Repeatable; default: exit and signal.
    #[arg(long = "fail-on", value_name = "COND")]
    pub fail_on: Vec<String>,
    /// Seconds before a run counts as hung (a failure of its own kind):
    /// more than 0, at most a year.
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = super::options::parse_seconds)]
    pub timeout: Duration,
    /// Runs at once (1 to 1024). More than 1 changes the timing of what is
    /// measured.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub jobs: u64,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Runs per mode (1 to 1000000).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub runs: u64,
    /// Modes to compare, each once: none (untraced), ebpf, ptrace
    /// (recorded), delay:SET=DURATION (SET's syscalls delayed: read,
    /// openat+read, %file; DURATION with ns, us, ms or s),
    /// ebpf+delay:SET=DURATION (recorded while delayed).
    #[arg(long, value_delimiter = ',', default_value = "none,ebpf,ptrace",
          value_parser = super::run_mode::parse_arg)]
    pub modes: Vec<String>,
    #[command(flatten)]
    pub run: RunOptions,
    /// Failing runs per mode whose stdout/stderr are kept.
    #[arg(long, default_value_t = 3)]
    pub keep_failures: usize,
    /// Keep the full recording (`record -w`) of every failing eBPF run, and
    /// of one passing run to compare with, in DIR (created 0700; an
    /// existing one must be ours and writable by nobody else): open them
    /// with `tracer report`.
    #[arg(long, value_name = "DIR")]
    pub trace_failures: Option<PathBuf>,
    /// The command to run.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    pub command: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Exit,
    Signal,
    Output,
    Timeout,
}

/// What decides that a run failed.
struct FailOn {
    exit: bool,
    signal: bool,
    output: Vec<Regex>,
}

impl FailOn {
    fn parse(conditions: &[String]) -> Result<Self> {
        if conditions.is_empty() {
            return Ok(Self {
                exit: true,
                signal: true,
                output: vec![],
            });
        }
        let mut fail = Self {
            exit: false,
            signal: false,
            output: vec![],
        };
        for c in conditions {
            match c.as_str() {
                "exit" => fail.exit = true,
                "signal" => fail.signal = true,
                other => match other.strip_prefix("output=") {
                    Some(re) => fail.output.push(
                        Regex::new(re)
                            .with_context(|| format!("invalid --fail-on regex {re:?}"))?,
                    ),
                    None => {
                        bail!("invalid --fail-on '{other}': expected exit, signal or output=REGEX")
                    }
                },
            }
        }
        Ok(fail)
    }
}

/// One finished run.
struct Run {
    mode: usize,
    wall_s: f64,
    failure: Option<Kind>,
    observer_ns_per_syscall: Option<f64>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    /// The run's recording, with `--trace-failures`.
    recording: Option<PathBuf>,
}

#[derive(Default)]
struct ModeTally {
    runs: u64,
    failures: BTreeMap<Kind, u64>,
    wall: Vec<f64>,
    observer: Vec<f64>,
    kept: Vec<PathBuf>,
    failure_recordings: Vec<PathBuf>,
    pass_recording: Option<PathBuf>,
}

impl ModeTally {
    fn failed(&self) -> u64 {
        self.failures.values().sum()
    }
}

#[derive(Debug, Serialize)]
pub struct ModeJson {
    pub mode: String,
    pub runs: u64,
    pub failures: u64,
    failures_by_kind: BTreeMap<Kind, u64>,
    pub failure_rate: f64,
    pub ci95: [f64; 2],
    median_wall_s: Option<f64>,
    p90_wall_s: Option<f64>,
    slowdown: Option<f64>,
    observer_ns_per_syscall: Option<f64>,
    pub p_value: Option<f64>,
    significant: bool,
    kept_outputs: Vec<PathBuf>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failure_recordings: Vec<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pass_recording: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
pub struct CompareJson {
    command: Vec<String>,
    runs_per_mode: u64,
    pub interrupted: bool,
    pub modes: Vec<ModeJson>,
    verdict: String,
}

pub fn run(args: CompareArgs) -> Result<Exit> {
    let result = execute(&args)?;
    if args.run.json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        print_table(&result);
    }
    Ok(Exit::Code(if result.interrupted { 130 } else { 0 }))
}

/// Makes every run and sums them up, printing nothing but the progress
/// bar (hidden with `--json`): `compare` prints the result, `amplify`
/// builds on it.
pub fn execute(args: &CompareArgs) -> Result<CompareJson> {
    let modes = args.modes.clone();
    for (i, m) in modes.iter().enumerate() {
        if modes[..i].contains(m) {
            super::options::usage_error(format!("--modes names '{m}' twice"));
        }
        let delay = m.parse::<RunMode>()?.delay_duration();
        if delay >= args.run.timeout {
            super::options::usage_error(format!(
                "mode '{m}' delays syscalls by {} s, not less than --timeout {} s",
                delay.as_secs_f64(),
                args.run.timeout.as_secs_f64()
            ));
        }
    }
    let fail_on = Arc::new(FailOn::parse(&args.run.fail_on)?);
    crate::launch::resolve(&args.command[0].clone().into())?;
    let me = std::env::current_exe().context("cannot find the tracer binary")?;
    if let Some(dir) = &args.trace_failures {
        recordings_dir(dir)?;
    }
    // The runs' summaries and the kept outputs of failing runs.
    let work = crate::files::private_dir("tracer-compare-")?;

    // Every (mode, run) pair, shuffled.
    let mut plan: Vec<usize> = (0..modes.len())
        .flat_map(|m| std::iter::repeat_n(m, args.runs as usize))
        .collect();
    fastrand::shuffle(&mut plan);
    let queue = Arc::new(Mutex::new(plan));

    let stop = Arc::new(AtomicBool::new(false));
    for sig in [libc::SIGINT, libc::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .context("cannot install signal handlers")?;
    }

    let total = args.runs * modes.len() as u64;
    let bar = if args.run.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(total)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} runs {elapsed} (~{eta} left) {msg}")
            .expect("valid template"),
    );

    let (tx, rx) = mpsc::channel::<Run>();
    let timeout = args.run.timeout;
    // Why a run could not be made: it ends the compare with an error.
    let broken: Arc<Mutex<Option<anyhow::Error>>> = Arc::default();
    let workers: Vec<_> = (0..args.run.jobs)
        .map(|_| {
            let queue = Arc::clone(&queue);
            let stop = Arc::clone(&stop);
            let tx = tx.clone();
            let modes = modes.clone();
            let command = args.command.clone();
            let me = me.clone();
            let rules = Arc::clone(&fail_on);
            let record_dir = args.trace_failures.clone();
            let work = work.clone();
            let broken = Arc::clone(&broken);
            thread::spawn(move || {
                loop {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let Some(mode) = queue.lock().ok().and_then(|mut q| q.pop()) else {
                        break;
                    };
                    let dirs = Dirs {
                        work: &work,
                        recordings: record_dir.as_deref(),
                    };
                    match run_once(&me, &modes[mode], &command, timeout, &rules, dirs) {
                        Ok(mut run) => {
                            run.mode = mode;
                            if tx.send(run).is_err() {
                                break;
                            }
                        }
                        Err(e) => {
                            if let Ok(mut broken) = broken.lock() {
                                broken.get_or_insert(e);
                            }
                            stop.store(true, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    drop(tx);

    let mut tallies: Vec<ModeTally> = modes.iter().map(|_| ModeTally::default()).collect();
    for run in rx {
        let tally = &mut tallies[run.mode];
        tally.runs += 1;
        tally.wall.push(run.wall_s);
        if let Some(o) = run.observer_ns_per_syscall {
            tally.observer.push(o);
        }
        if let Some(kind) = run.failure {
            *tally.failures.entry(kind).or_default() += 1;
            if tally.kept.len() < args.keep_failures {
                let n = tally.kept.len();
                let base = work.join(format!("{}-failure-{n}", modes[run.mode]));
                let kept = write_private(&base.with_extension("stdout"), &run.stdout)
                    .and_then(|()| write_private(&base.with_extension("stderr"), &run.stderr));
                match kept {
                    Ok(()) => tally.kept.push(base),
                    Err(e) => eprintln!("tracer compare: {e:#}"),
                }
            }
        }
        if let Some(recording) = &run.recording {
            keep_recording(tally, &modes[run.mode], recording, run.failure.is_some());
        }
        bar.inc(1);
        bar.set_message(match modes.len() {
            ..=4 => modes
                .iter()
                .zip(&tallies)
                .map(|(m, t)| format!("{m}: {}/{} failed", t.failed(), t.runs))
                .collect::<Vec<_>>()
                .join("  "),
            n => format!(
                "{n} modes, {} failed",
                tallies.iter().map(ModeTally::failed).sum::<u64>()
            ),
        });
    }
    for w in workers {
        let _ = w.join();
    }
    bar.finish_and_clear();
    if let Some(e) = broken.lock().ok().and_then(|mut b| b.take()) {
        let _ = fs::remove_dir_all(&work);
        return Err(e.context("a run could not be made"));
    }
    // Nothing kept: leave nothing behind (the summaries are gone already).
    if tallies.iter().all(|t| t.kept.is_empty()) {
        let _ = fs::remove_dir_all(&work);
    }

    let interrupted = stop.load(Ordering::Relaxed);
    Ok(summarise(args, &modes, &tallies, interrupted))
}

/// Writes a kept output, mode 0600 like everything tracer writes (it is
/// the target's own output, and may hold its secrets), as a new file in
/// the private directory.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = crate::files::create_new(path)?;
    file.write_all(bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Makes `--trace-failures DIR` (mode 0700) unless it exists, and refuses
/// one that another user owns or may write to: the recordings are made
/// under names anyone can predict, and hold what the target did.
fn recordings_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let meta = fs::metadata(dir).with_context(|| format!("cannot stat {}", dir.display()))?;
    let us = nix::unistd::geteuid().as_raw();
    if meta.uid() != us {
        bail!(
            "--trace-failures {}: the directory belongs to uid {}, not to us (uid {us}); choose a directory of our own",
            dir.display(),
            meta.uid()
        );
    }
    if meta.mode() & 0o022 != 0 {
        bail!(
            "--trace-failures {}: other users may write to it (mode {:o}); choose a private directory",
            dir.display(),
            meta.mode() & 0o7777
        );
    }
    Ok(())
}

/// Where a run writes: the compare's private directory, and the
/// recordings' directory with `--trace-failures`.
#[derive(Clone, Copy)]
struct Dirs<'a> {
    work: &'a Path,
    recordings: Option<&'a Path>,
}

/// Keeps a failing run's recording under a name that says so, the first
/// passing run's too, and deletes the rest.
fn keep_recording(tally: &mut ModeTally, mode: &str, recording: &Path, failed: bool) {
    let Some(dir) = recording.parent() else {
        return;
    };
    let name = match failed {
        true => format!("{mode}-failure-{}.rec", tally.failure_recordings.len()),
        false if tally.pass_recording.is_none() => format!("{mode}-pass.rec"),
        false => {
            let _ = fs::remove_file(recording);
            return;
        }
    };
    let kept = dir.join(name);
    if fs::rename(recording, &kept).is_ok() {
        match failed {
            true => tally.failure_recordings.push(kept),
            false => tally.pass_recording = Some(kept),
        }
    }
}

fn run_once(
    me: &Path,
    mode: &str,
    command: &[String],
    timeout: Duration,
    rules: &FailOn,
    dirs: Dirs,
) -> Result<Run> {
    let run_mode: RunMode = mode.parse()?;
    let summary = dirs.work.join(format!(
        "{mode}-run-{}.json",
        NEXT_SUMMARY.fetch_add(1, Ordering::Relaxed)
    ));
    // Only eBPF runs are recorded: their timing is close enough to
    // untraced that their failures are the ones worth reading (ptrace
    // often hides or changes them).
    let recording = match dirs.recordings {
        Some(dir) if run_mode.recorder == Some(Recorder::Ebpf) => Some(dir.join(format!(
            "{mode}-run-{}.rec",
            NEXT_RECORDING.fetch_add(1, Ordering::Relaxed)
        ))),
        _ => None,
    };
    let mut cmd = run_mode.command(me, command, &summary, recording.as_deref());
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so a hung run is killed with everything
        // it started.
        .process_group(0);
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot run {}", command[0]))?;
    let mut stdout = child.stdout.take().context("stdout")?;
    let mut stderr = child.stderr.take().context("stderr")?;
    let out_reader = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let err_reader = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let (status, timed_out, exited) = wait_for(&mut child, start + timeout)?;
    let outer_wall = exited.duration_since(start).as_secs_f64();
    let stdout = out_reader.join().unwrap_or_default();
    let mut stderr = err_reader.join().unwrap_or_default();

    // Traced runs: the recorder's summary says how long the command ran,
    // from its start to its exit as an untraced run is timed (without
    // tracer's own set-up and teardown), and what watching cost.
    let mut wall_s = outer_wall;
    let mut observer = None;
    if run_mode.records() {
        let json = fs::read(&summary)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
        let _ = fs::remove_file(&summary);
        match json {
            Some(json) => {
                // The recorder's own run time only if it could not tell.
                if let Some(ns) = command_ns(&stderr).or(json["duration_ns"].as_u64()) {
                    wall_s = ns as f64 / 1e9;
                }
                observer = json["observer"]["per_syscall_ns"].as_f64();
            }
            // No summary although the recorder was not killed: it failed
            // (could not load, attach, or write), which says nothing about
            // the command.
            None if !timed_out => bail!(
                "the {mode} recorder failed ({status}): {}",
                String::from_utf8_lossy(&tracer_lines(&stderr)).trim_end()
            ),
            None => {}
        }
    } else if let Some(ns) = command_ns(&stderr) {
        // `tracer delay` times the command the same way.
        wall_s = ns as f64 / 1e9;
    }
    if !run_mode.is_untraced() {
        // Our own stderr lines are not the command's output.
        stderr = strip_tracer_lines(&stderr);
    }

    let failure = if timed_out {
        Some(Kind::Timeout)
    } else if rules.signal && status.signal().is_some() {
        Some(Kind::Signal)
    } else if rules.exit && status.code().is_some_and(|c| c != 0) {
        Some(Kind::Exit)
    } else if rules
        .output
        .iter()
        .any(|re| re.is_match(&stdout) || re.is_match(&stderr))
    {
        Some(Kind::Output)
    } else {
        None
    };
    Ok(Run {
        mode: 0,
        wall_s,
        failure,
        observer_ns_per_syscall: observer,
        stdout,
        stderr,
        recording,
    })
}

/// Waits for `child` until `deadline`; at the deadline kills its process
/// group. Returns its status, whether it timed out, and when it exited,
/// as closely as the kernel says: a pidfd turns readable at the exit, so
/// an untraced run is timed to its exit, not to the next poll.
fn wait_for(
    child: &mut std::process::Child,
    deadline: Instant,
) -> Result<(std::process::ExitStatus, bool, Instant)> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let kill_group = |child: &mut std::process::Child| {
        // SAFETY: kill(2) on the run's own process group.
        unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
        child.wait()
    };
    // SAFETY: pidfd_open(2) takes a pid and flags, returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, child.id() as libc::pid_t, 0) };
    if fd < 0 {
        // No pidfd (a kernel before 5.3): poll the status.
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok((status, false, Instant::now()));
            }
            if Instant::now() >= deadline {
                return Ok((kill_group(child)?, true, Instant::now()));
            }
            thread::sleep(Duration::from_millis(1));
        }
    }
    // SAFETY: a new fd that nothing else owns.
    let pidfd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ms = i32::try_from(left.as_micros().div_ceil(1000)).unwrap_or(i32::MAX);
        let mut pfd = libc::pollfd {
            fd: pidfd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, for the duration of the call.
        let n = unsafe { libc::poll(&mut pfd, 1, ms) };
        let now = Instant::now();
        if n > 0 {
            return Ok((child.wait()?, false, now));
        }
        if n < 0 {
            let err = std::io::Error::last_os_error();
            if err.kind() != std::io::ErrorKind::Interrupted {
                return Err(err).context("cannot wait for the run");
            }
        } else if now >= deadline {
            return Ok((kill_group(child)?, true, now));
        }
    }
}

/// Numbers the recordings of runs in flight.
static NEXT_RECORDING: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
/// Numbers the recorders' summaries.
static NEXT_SUMMARY: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The command's run time the recorder reported (`--print-command-ns`).
fn command_ns(stderr: &[u8]) -> Option<u64> {
    stderr
        .split(|&b| b == b'\n')
        .rev()
        .find_map(|line| line.strip_prefix(b"tracer: command_ns="))
        .and_then(|n| std::str::from_utf8(n).ok()?.trim().parse().ok())
}

/// The lines tracer itself wrote to stderr (its errors among them).
fn tracer_lines(stderr: &[u8]) -> Vec<u8> {
    stderr
        .split_inclusive(|&b| b == b'\n')
        .filter(|line| line.starts_with(b"tracer: "))
        .flatten()
        .copied()
        .collect()
}

fn strip_tracer_lines(stderr: &[u8]) -> Vec<u8> {
    stderr
        .split_inclusive(|&b| b == b'\n')
        .filter(|line| !line.starts_with(b"tracer: "))
        .flatten()
        .copied()
        .collect()
}

fn summarise(
    args: &CompareArgs,
    modes: &[String],
    tallies: &[ModeTally],
    interrupted: bool,
) -> CompareJson {
    let base = modes.iter().position(|m| m == "none");
    let base_median = base.and_then(|b| stats::median(&mut tallies[b].wall.clone()));
    let mut out = Vec::new();
    for (mode, t) in modes.iter().zip(tallies) {
        let failures = t.failed();
        let (lo, hi) = stats::wilson_interval(failures, t.runs, Z95);
        let median = stats::median(&mut t.wall.clone());
        let p_value = match base {
            Some(b) if mode != "none" && tallies[b].runs > 0 && t.runs > 0 => {
                let bf = tallies[b].failed();
                Some(stats::fisher_exact_two_sided(
                    failures,
                    t.runs - failures,
                    bf,
                    tallies[b].runs - bf,
                ))
            }
            _ => None,
        };
        out.push(ModeJson {
            mode: mode.clone(),
            runs: t.runs,
            failures,
            failures_by_kind: t.failures.clone(),
            failure_rate: if t.runs == 0 {
                0.0
            } else {
                failures as f64 / t.runs as f64
            },
            ci95: [lo, hi],
            median_wall_s: median,
            p90_wall_s: stats::percentile(&mut t.wall.clone(), 90.0),
            slowdown: median.zip(base_median).map(|(m, b)| m / b),
            observer_ns_per_syscall: stats::median(&mut t.observer.clone()),
            p_value,
            significant: p_value.is_some_and(|p| p < 0.05),
            kept_outputs: t.kept.clone(),
            failure_recordings: t.failure_recordings.clone(),
            pass_recording: t.pass_recording.clone(),
        });
    }
    let verdict = verdict(&out);
    CompareJson {
        command: args.command.clone(),
        runs_per_mode: args.runs,
        interrupted,
        modes: out,
        verdict,
    }
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// A plain-words reading of the numbers: for each traced mode, whether
/// the failure rate moved, which way, and whether the runs can tell.
fn verdict(modes: &[ModeJson]) -> String {
    let describe = |m: &ModeJson| {
        format!(
            "{} [{}–{}]",
            pct(m.failure_rate),
            pct(m.ci95[0]),
            pct(m.ci95[1])
        )
    };
    let tally = |m: &ModeJson| {
        format!(
            "{} failed {}/{} runs ({})",
            m.mode,
            m.failures,
            m.runs,
            describe(m)
        )
    };
    let Some(base) = modes.iter().find(|m| m.mode == "none") else {
        let each: Vec<_> = modes.iter().map(tally).collect();
        return format!(
            "{}; no untraced baseline (add mode none) to compare against",
            each.join("; ")
        );
    };
    if base.runs == 0 {
        return "no untraced run finished: nothing to compare against".into();
    }
    let traced: Vec<&ModeJson> = modes.iter().filter(|m| m.mode != "none").collect();
    if traced.is_empty() {
        return format!(
            "untraced only: {}/{} runs failed ({}); add ebpf or ptrace to --modes to see whether watching changes that",
            base.failures,
            base.runs,
            describe(base)
        );
    }
    if modes.iter().all(|m| m.failures == 0 && m.runs > 0) {
        return format!(
            "no failure in any mode ({} runs each; the untraced rate is below {} with 95% confidence)",
            base.runs,
            pct(stats::rule_of_three(base.runs))
        );
    }
    let mut parts = Vec::new();
    for m in traced {
        if m.runs == 0 {
            parts.push(format!("no run under {} finished", m.mode));
            continue;
        }
        let p = m.p_value.unwrap_or(1.0);
        let versus = format!("{} vs {} untraced", describe(m), describe(base));
        let more_runs = || {
            stats::runs_needed(base.failure_rate, m.failure_rate, 0.05, 0.8)
                .filter(|&n| n > base.runs.min(m.runs))
                .map(|n| format!(": about {n} runs per mode would be needed"))
                .unwrap_or_default()
        };
        let text = if m.significant && m.failure_rate < base.failure_rate {
            format!(
                "failure rate under {} {versus}, p={p:.4}: the failure is timing-sensitive and watching with {} hides it",
                m.mode, m.mode
            )
        } else if m.significant && base.failures == 0 {
            format!(
                "failure rate under {} {versus}, p={p:.4}: the failure appears only under watching with {}",
                m.mode, m.mode
            )
        } else if m.significant {
            format!(
                "failure rate under {} {versus}, p={p:.4}: watching with {} makes it fail more often",
                m.mode, m.mode
            )
        } else if m.failures == 0 && base.failures == 0 {
            format!("neither {} nor untraced runs failed", m.mode)
        } else if base.failures == 0 {
            format!(
                "failed only under {} ({versus}, p={p:.2}), too rarely to be sure watching causes it{}",
                m.mode,
                more_runs()
            )
        } else if m.failures == 0 {
            format!(
                "never failed under {} ({versus}, p={p:.2}), but too few runs to be sure watching hides it{}",
                m.mode,
                more_runs()
            )
        } else {
            let needed = more_runs();
            match needed.is_empty() || m.failure_rate == base.failure_rate {
                true => format!("{} keeps it ({versus}, p={p:.2})", m.mode),
                false => format!(
                    "{} keeps it ({versus}, p={p:.2}); too few runs to tell a difference this size{needed}",
                    m.mode
                ),
            }
        };
        parts.push(text);
    }
    parts.join("; ")
}

fn print_table(result: &CompareJson) {
    let w = result
        .modes
        .iter()
        .map(|m| m.mode.len())
        .max()
        .unwrap_or(0)
        .max(7);
    println!(
        "{:<w$} {:>5} {:>8} {:>8} {:>17} {:>10} {:>9} {:>9} {:>12} {:>8}",
        "mode",
        "runs",
        "failed",
        "rate",
        "95% CI",
        "median s",
        "p90 s",
        "slowdown",
        "observer/sc",
        "p"
    );
    for m in &result.modes {
        let opt =
            |x: Option<f64>, prec: usize| x.map_or("-".to_string(), |v| format!("{v:.prec$}"));
        println!(
            "{:<w$} {:>5} {:>8} {:>8} {:>17} {:>10} {:>9} {:>9} {:>12} {:>8}",
            m.mode,
            m.runs,
            m.failures,
            pct(m.failure_rate),
            format!("[{}–{}]", pct(m.ci95[0]), pct(m.ci95[1])),
            opt(m.median_wall_s, 4),
            opt(m.p90_wall_s, 4),
            m.slowdown.map_or("-".into(), |s| format!("{s:.2}x")),
            m.observer_ns_per_syscall
                .map_or("-".into(), |o| format!("{o:.0} ns")),
            opt(m.p_value, 4),
        );
    }
    for m in &result.modes {
        if !m.failures_by_kind.is_empty() {
            let kinds: Vec<_> = m
                .failures_by_kind
                .iter()
                .map(|(k, n)| format!("{k:?}: {n}").to_lowercase())
                .collect();
            println!("{} failures by kind: {}", m.mode, kinds.join(", "));
        }
        for kept in &m.kept_outputs {
            println!(
                "{} failing run output: {}.stdout / .stderr",
                m.mode,
                kept.display()
            );
        }
        if let Some(first) = m.failure_recordings.first() {
            println!(
                "{} failing run recordings: {} in {} (open one: tracer report {})",
                m.mode,
                m.failure_recordings.len(),
                first.parent().unwrap_or(Path::new(".")).display(),
                first.display()
            );
        }
        if let Some(pass) = &m.pass_recording {
            println!("{} passing run recording: {}", m.mode, pass.display());
        }
    }
    if result.interrupted {
        println!("(interrupted: these are the runs gathered so far)");
    }
    println!("verdict: {}", result.verdict);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_on_parsing() {
        let f = FailOn::parse(&[]).unwrap();
        assert!(f.exit && f.signal && f.output.is_empty());
        let f = FailOn::parse(&["output=KeyError".into()]).unwrap();
        assert!(!f.exit && !f.signal && f.output.len() == 1);
        assert!(FailOn::parse(&["exitt".into()]).is_err());
        assert!(FailOn::parse(&["output=(".into()]).is_err());
    }

    #[test]
    fn reads_the_command_time() {
        let s = b"out\ntracer: Process 1 attached\ntracer: command_ns=1234\n";
        assert_eq!(command_ns(s), Some(1234));
        assert_eq!(command_ns(b"tracer: command_ns=x\n"), None);
        assert_eq!(command_ns(b"command_ns=5\n"), None);
    }

    #[test]
    fn strips_only_tracer_lines() {
        let s = b"tracer: Process 1 attached\nKeyError: 3\ntracer: LOST 2 events\n";
        assert_eq!(strip_tracer_lines(s), b"KeyError: 3\n");
    }

    fn mode(name: &str, runs: u64, failures: u64, p: Option<f64>) -> ModeJson {
        let (lo, hi) = stats::wilson_interval(failures, runs, Z95);
        ModeJson {
            mode: name.into(),
            runs,
            failures,
            failures_by_kind: BTreeMap::new(),
            failure_rate: failures as f64 / runs as f64,
            ci95: [lo, hi],
            median_wall_s: None,
            p90_wall_s: None,
            slowdown: None,
            observer_ns_per_syscall: None,
            p_value: p,
            significant: p.is_some_and(|p| p < 0.05),
            kept_outputs: vec![],
            failure_recordings: vec![],
            pass_recording: None,
        }
    }

    #[test]
    fn verdicts() {
        let none = mode("none", 300, 6, None);
        let ptrace = mode("ptrace", 300, 0, Some(0.0305));
        let v = verdict(&[none, ptrace]);
        assert!(v.contains("timing-sensitive"), "{v}");
        assert!(
            v.contains("ptrace 0.0% [0.0%–1.3%] vs 2.0% [0.9%–4.3%]"),
            "{v}"
        );

        let none = mode("none", 20, 2, None);
        let ebpf = mode("ebpf", 20, 1, Some(1.0));
        let v = verdict(&[none, ebpf]);
        assert!(v.contains("too few runs"), "{v}");

        let v = verdict(&[mode("none", 10, 0, None), mode("ebpf", 10, 0, Some(1.0))]);
        assert!(v.starts_with("no failure in any mode"), "{v}");
    }

    /// What used to read "ebpf keeps it (100% vs 0% untraced)": the
    /// failure appears only under watching, and the verdict says so.
    #[test]
    fn verdict_says_which_way_it_moved() {
        let v = verdict(&[mode("none", 2, 0, None), mode("ebpf", 2, 2, Some(0.33))]);
        assert!(v.starts_with("failed only under ebpf (100.0%"), "{v}");
        assert!(!v.contains("keeps it"), "{v}");
        let v = verdict(&[mode("none", 30, 30, None), mode("ebpf", 30, 0, Some(1e-17))]);
        assert!(v.contains("watching with ebpf hides it"), "{v}");
        let v = verdict(&[mode("none", 30, 0, None), mode("ebpf", 30, 30, Some(1e-17))]);
        assert!(v.contains("appears only under watching with ebpf"), "{v}");
        let v = verdict(&[mode("none", 3, 2, None), mode("ptrace", 3, 0, Some(0.4))]);
        assert!(v.starts_with("never failed under ptrace"), "{v}");
        let v = verdict(&[
            mode("none", 5, 0, None),
            mode("ebpf", 5, 0, Some(1.0)),
            mode("ptrace", 5, 5, Some(0.008)),
        ]);
        assert!(
            v.starts_with("neither ebpf nor untraced runs failed; "),
            "{v}"
        );
    }

    #[test]
    fn verdict_is_never_empty() {
        let v = verdict(&[mode("none", 4, 1, None)]);
        assert!(
            v.starts_with("untraced only: 1/4 runs failed (25.0%"),
            "{v}"
        );
        let v = verdict(&[mode("ebpf", 4, 1, Some(1.0))]);
        assert!(v.starts_with("ebpf failed 1/4 runs"), "{v}");
        assert!(v.contains("no untraced baseline"), "{v}");
    }
}
