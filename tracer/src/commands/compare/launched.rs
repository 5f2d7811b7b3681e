//! `tracer compare -- CMD`: does the failure vanish under observation?
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
use indicatif::{ProgressBar, ProgressStyle};

use super::{
    CompareArgs,
    fail_on::{FailOn, Kind},
    report::{CompareJson, ModeCounts, Unit, modes_json, print_table, verdict},
};
use crate::{
    commands::run_mode::{Recorder, RunMode},
    exit::Exit,
    stdio::{note, outln},
};

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

pub fn run(args: CompareArgs) -> Result<Exit> {
    let result = execute(&args)?;
    if args.run.json {
        outln!("{}", serde_json::to_string_pretty(&result)?)?;
    } else {
        print_table(&result)?;
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
            crate::commands::options::usage_error(format!("--modes names '{m}' twice"));
        }
        let delay = m.parse::<RunMode>()?.delay_duration();
        if delay >= args.run.timeout {
            crate::commands::options::usage_error(format!(
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
                    Err(e) => note!("tracer compare: {e:#}"),
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
    let counts: Vec<ModeCounts> = modes
        .iter()
        .zip(tallies)
        .map(|(mode, t)| ModeCounts {
            mode: mode.clone(),
            runs: t.runs,
            failures: t.failures.clone(),
            wall: t.wall.clone(),
            observer: t.observer.clone(),
            windows: None,
            unit: Unit::Runs,
            exposure: std::time::Duration::ZERO,
            window_rates: Vec::new(),
        })
        .collect();
    let mut out = modes_json(&counts);
    for (m, t) in out.iter_mut().zip(tallies) {
        m.kept_outputs = t.kept.clone();
        m.failure_recordings = t.failure_recordings.clone();
        m.pass_recording = t.pass_recording.clone();
    }
    let verdict = verdict(&out);
    CompareJson {
        command: args.command.clone(),
        runs_per_mode: Some(args.runs),
        interrupted,
        modes: out,
        verdict,
        live: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
