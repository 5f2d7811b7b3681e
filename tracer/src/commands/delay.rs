//! `tracer delay SET=DURATION -- CMD`: run a command with chosen syscalls
//! delayed and nothing else changed, then end as it ended (same status,
//! or death by the same signal). What `compare --modes delay:…` runs for
//! each of its delay runs, and a way to reproduce one by hand.
//!
//! Also the hidden `syscall-times` workload with which `cargo xtask bench`
//! measures the delays: it times each of its own `getppid` calls.

use std::{
    ffi::OsString,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result, bail};
use clap::Args;
use nix::unistd::Pid;
use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};

use crate::{
    exit::{Ended, Exit, wait_end},
    inject::{Delay, Mechanism, fallback, notify},
    launch::{Launcher, Prepare},
    stats,
    stdio::{note, outln},
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
    /// Print how long the command ran, from the release of its start gate
    /// to its exit, as a `tracer: command_ns=N` line on stderr (for
    /// `compare`, as `record` does).
    #[arg(long, hide = true)]
    pub print_command_ns: bool,
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
    let (status, delayed, mechanism, ran) = run_delayed(&args.delay, &args.command)?;
    if args.print_command_ns {
        note!("tracer: command_ns={}", ran.as_nanos());
    }
    if args.verbose {
        note!(
            "tracer: delayed {delayed} syscalls ({}) by {} with {}",
            args.delay.set_text,
            crate::duration::format(args.delay.duration),
            match mechanism {
                Mechanism::Notify => "seccomp user notification",
                Mechanism::Ptrace => "ptrace",
            }
        );
    }
    Ok(status.exit())
}

/// Runs `command` under `delay` to its end; returns its status, how many
/// syscalls were delayed, how, and how long the command ran (from the
/// release of its gate to its exit).
fn run_delayed(delay: &Delay, command: &[OsString]) -> Result<(Ended, u64, Mechanism, Duration)> {
    let mechanism = Mechanism::choose();
    // The command gets the terminal's signals itself (same process group);
    // tracer stays alive meanwhile, to keep serving its delays, and passes
    // on the ones sent to it alone.
    let handlers = || {
        signal_hook::iterator::Signals::new([SIGINT, SIGQUIT, SIGTERM, SIGHUP])
            .context("cannot install signal handlers")
    };
    match mechanism {
        Mechanism::Notify => {
            let (child_end, parent_end) =
                notify::channel(delay).context("cannot set up delay injection")?;
            // The launcher first, while tracer is small and its signal
            // handlers are not installed yet.
            let launcher = Launcher::start(command, None, Some(Arc::new(child_end)))?;
            let signals = handlers()?;
            let handle = signals.handle();
            let gated = launcher.spawn(Prepare {
                delay: true,
                ..Prepare::default()
            })?;
            let released = Instant::now();
            let (pid, supervisor) = gated.release_with(|| {
                parent_end
                    .receive()
                    .and_then(|fd| Ok(notify::Supervisor::start(fd, delay.duration)?))
            })?;
            let supervisor = supervisor?;
            forward_signals(signals, pid);
            let status = wait_child(pid)?;
            let ran = released.elapsed();
            handle.close();
            Ok((status, supervisor.wait(), mechanism, ran))
        }
        Mechanism::Ptrace => {
            note!(
                "tracer: seccomp user notification unavailable: delaying with ptrace (a RET_TRACE filter stops only the delayed syscalls)"
            );
            let launcher = Launcher::start(command, Some(fallback::filter(delay)), None)?;
            let signals = handlers()?;
            let handle = signals.handle();
            let gated = launcher.spawn(Prepare {
                stop_before_exec: true,
                seccomp: true,
                ..Prepare::default()
            })?;
            let delayer = fallback::Delayer::start(gated.pid(), delay.duration)?;
            let released = Instant::now();
            let pid = gated.release()?;
            forward_signals(signals, pid);
            let (status, delayed) = delayer.wait()?;
            // The tracer thread reaps the command as soon as it exits, but
            // returns only when every task is gone: an upper bound.
            let ran = released.elapsed();
            handle.close();
            Ok((status, delayed, mechanism, ran))
        }
    }
}

/// The tracer side of a delay set up for `record --inject-delay`.
pub struct RecordDelay {
    parent: notify::ParentEnd,
    duration: std::time::Duration,
}

impl RecordDelay {
    /// Takes the listener from the released child and starts serving it.
    pub fn start(self) -> Result<notify::Supervisor> {
        let fd = self.parent.receive()?;
        Ok(notify::Supervisor::start(fd, self.duration)?)
    }
}

/// The delay filter for `record --inject-delay`: the command's end (for
/// the launcher) and tracer's. Only user notification mixes with
/// recording: the ptrace fallback would compete with the recorder for the
/// tracee, and a ptrace `-e` filter's `RET_TRACE` loses to
/// `RET_USER_NOTIF` (the delayed syscalls would go unrecorded).
pub fn channel_for_record(
    delay: Option<&Delay>,
    narrowed_ptrace: bool,
    launching: bool,
) -> Result<Option<(Arc<notify::ChildEnd>, RecordDelay)>> {
    let Some(delay) = delay else {
        return Ok(None);
    };
    if !launching {
        bail!("--inject-delay needs a command to launch (it cannot be added to -p PID)");
    }
    if Mechanism::choose() != Mechanism::Notify {
        bail!(
            "delays while recording need seccomp user notification, which this kernel lacks (tracer delay alone falls back to ptrace)"
        );
    }
    if narrowed_ptrace {
        bail!("delays cannot be combined with ptrace recording narrowed by -e");
    }
    let (child, parent) = notify::channel(delay).context("cannot set up delay injection")?;
    Ok(Some((
        Arc::new(child),
        RecordDelay {
            parent,
            duration: delay.duration,
        },
    )))
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

/// The command's end, real-time signals included (which nix cannot read).
fn wait_child(pid: Pid) -> Result<Ended> {
    loop {
        match wait_end(pid, false) {
            Ok(Some(ended)) => return Ok(ended),
            Ok(None) | Err(nix::errno::Errno::EINTR) => continue,
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
    outln!(
        "{}",
        serde_json::json!({"count": samples.len(), "p50_ns": p50, "p99_ns": p99, "mean_ns": mean, "wall_ns": wall})
    )?;
    Ok(Exit::Code(0))
}
