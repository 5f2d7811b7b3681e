//! `tracer delay SET=DURATION -- CMD`: run a command with chosen syscalls
//! delayed and nothing else changed, then end as it ended (same status,
//! or death by the same signal). What `compare --modes delay:…` runs for
//! each of its delay runs, and a way to reproduce one by hand.
//!
//! Also the hidden `syscall-times` workload with which `cargo xtask bench`
//! measures the delays: it times each of its own `getppid` calls.

use std::{ffi::OsString, sync::Arc, time::Instant};

use anyhow::{Context as _, Result, bail};
use clap::Args;
use nix::{sys::wait::WaitStatus, unistd::Pid};
use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};

use crate::{
    exit::Exit,
    inject::{Delay, Mechanism, fallback, notify},
    launch::{self, Prepare},
    stats,
};

#[derive(Debug, Args)]
pub struct DelayArgs {
    /// What to delay and by how much: SET=DURATION, SET = syscall names or
    /// classes joined by `+` (read, openat+read, %file), DURATION with
    /// ns, us, ms or s (200us, 1.5ms).
    #[arg(value_name = "SET=DURATION")]
    pub delay: Delay,
    /// Say on stderr how many syscalls were delayed, and how.
    #[arg(short, long)]
    pub verbose: bool,
    /// The command to run.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        required = true,
        value_name = "CMD"
    )]
    pub command: Vec<OsString>,
}

pub fn run(args: DelayArgs) -> Result<Exit> {
    let (status, delayed, mechanism) = run_delayed(&args.delay, &args.command)?;
    if args.verbose {
        eprintln!(
            "tracer: delayed {delayed} syscalls ({}) by {} with {}",
            args.delay.set_text,
            crate::inject::format_duration(args.delay.duration),
            match mechanism {
                Mechanism::Notify => "seccomp user notification",
                Mechanism::Ptrace => "ptrace",
            }
        );
    }
    Ok(match status {
        WaitStatus::Exited(_, code) => Exit::Code(code),
        WaitStatus::Signaled(_, signal, _) => Exit::Signal(signal as i32),
        _ => Exit::Code(1),
    })
}

/// Runs `command` under `delay` to its end; returns its status and how
/// many syscalls were delayed.
fn run_delayed(delay: &Delay, command: &[OsString]) -> Result<(WaitStatus, u64, Mechanism)> {
    let mechanism = Mechanism::choose();
    // The command gets the terminal's signals itself (same process group);
    // tracer stays alive meanwhile, to keep serving its delays, and passes
    // on the ones sent to it alone.
    let signals = signal_hook::iterator::Signals::new([SIGINT, SIGQUIT, SIGTERM, SIGHUP])
        .context("cannot install signal handlers")?;
    let handle = signals.handle();
    match mechanism {
        Mechanism::Notify => {
            let (child_end, parent_end) =
                notify::channel(delay).context("cannot set up delay injection")?;
            let prepare = Prepare {
                delay: Some(Arc::new(child_end)),
                ..Prepare::default()
            };
            let gated = launch::spawn_gated(command, prepare)?;
            let (pid, supervisor) = gated.release_with(|| {
                parent_end
                    .receive()
                    .and_then(|fd| Ok(notify::Supervisor::start(fd, delay.duration)?))
            })?;
            let supervisor = supervisor?;
            forward_signals(signals, pid);
            let status = wait_child(pid)?;
            handle.close();
            Ok((status, supervisor.wait(), mechanism))
        }
        Mechanism::Ptrace => {
            eprintln!(
                "tracer: seccomp user notification unavailable: delaying with ptrace (a RET_TRACE filter stops only the delayed syscalls)"
            );
            let gated = launch::spawn_gated(command, fallback::prepare(delay))?;
            let delayer = fallback::Delayer::start(gated.pid(), delay.duration)?;
            let pid = gated.release()?;
            forward_signals(signals, pid);
            let (status, delayed) = delayer.wait()?;
            handle.close();
            Ok((status, delayed, mechanism))
        }
    }
}

/// Passes signals sent to tracer on to the command (the terminal's reach
/// it directly: same process group).
fn forward_signals(mut signals: signal_hook::iterator::Signals, pid: Pid) {
    std::thread::spawn(move || {
        for signal in signals.forever() {
            if matches!(signal, SIGTERM | SIGHUP) {
                // SAFETY: kill(2) of our own child.
                unsafe { libc::kill(pid.as_raw(), signal) };
            }
        }
    });
}

fn wait_child(pid: Pid) -> Result<WaitStatus> {
    loop {
        match nix::sys::wait::waitpid(pid, None) {
            Ok(status @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => return Ok(status),
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e).context("cannot wait for the command"),
        }
    }
}

/// `tracer syscall-times COUNT [--threads T]`: T threads make COUNT
/// `getppid` calls each, timing each call, and print
/// `{"count":…, "p50_ns":…, "p99_ns":…, "mean_ns":…, "wall_ns":…}`.
pub fn syscall_times(count: u64, threads: u32) -> Result<Exit> {
    if count == 0 || threads == 0 {
        bail!("syscall-times: COUNT and --threads must be at least 1");
    }
    let start = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            std::thread::spawn(move || {
                (0..count)
                    .map(|_| {
                        let start = Instant::now();
                        // SAFETY: getppid has no arguments and cannot fail.
                        unsafe { libc::getppid() };
                        start.elapsed().as_nanos() as f64
                    })
                    .collect::<Vec<f64>>()
            })
        })
        .collect();
    let mut samples = Vec::new();
    for w in workers {
        samples.extend(w.join().map_err(|_| anyhow::anyhow!("a thread panicked"))?);
    }
    let wall = start.elapsed().as_nanos() as u64;
    let mean = samples.iter().sum::<f64>() / samples.len() as f64;
    let p50 = stats::percentile(&mut samples, 50.0).unwrap_or(0.0);
    let p99 = stats::percentile(&mut samples, 99.0).unwrap_or(0.0);
    println!(
        "{}",
        serde_json::json!({"count": samples.len(), "p50_ns": p50, "p99_ns": p99, "mean_ns": mean, "wall_ns": wall})
    );
    Ok(Exit::Code(0))
}
