//! `tracer overhead`: how many nanoseconds each way of watching adds to one
//! syscall, measured side by side in one run.
//!
//! The workload is tracer itself, re-executed as `tracer syscall-loop N`: N
//! `getppid` calls timed from inside, so process start-up and the tracer's
//! own set-up stay out of the number. Modes alternate within each round so
//! machine drift hits them alike; medians over rounds.
//!
//! `floor` is the loop with only the floor programs attached (a tgid check
//! on the `raw_syscalls` tracepoints, see [`crate::ebpf::floor`]): its
//! cost over untraced is the tracepoint slow path, which the programs' own
//! run time does not show. It is saved ([`crate::calibration`]) and added
//! to `record`'s observer cost.

use std::{
    path::PathBuf,
    process::{Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result, bail};
use clap::Args;

use crate::stdio::{note, outln};
use crate::{ebpf::floor::Floor, exit::Exit, stats, syscalls::nr};

#[derive(Debug, Args)]
pub struct OverheadArgs {
    /// Syscalls per run (at least 1).
    #[arg(long, default_value_t = 200_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub syscalls: u64,
    /// Rounds; every mode runs once per round (1 to 10000).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub rounds: u64,
    /// Modes to calibrate, each once (none is the untraced baseline,
    /// always run; floor calibrates the slow path that record's observer
    /// cost adds).
    #[arg(long, value_delimiter = ',', default_value = "floor,ebpf,ptrace",
          value_parser = ["floor", "ebpf", "ptrace"])]
    pub modes: Vec<String>,
}

/// The calibration loop: `count` getppid calls; prints the elapsed
/// nanoseconds.
pub fn syscall_loop(count: u64) -> Result<Exit> {
    let start = Instant::now();
    for _ in 0..count {
        // SAFETY: getppid takes no arguments and cannot fail.
        unsafe { libc::syscall(nr::GETPPID.into()) };
    }
    outln!("{}", start.elapsed().as_nanos())?;
    Ok(Exit::Code(0))
}

/// Attaches the floor programs (see [`crate::ebpf::floor`]) and keeps them
/// until SIGINT or SIGTERM; says "floor attached" on stderr once they are.
pub fn floor_probe() -> Result<Exit> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [libc::SIGINT, libc::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .context("cannot install signal handlers")?;
    }
    let floor = Floor::attach(u32::MAX).context("cannot attach the floor programs")?;
    note!("tracer: floor attached");
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(floor);
    Ok(Exit::Code(0))
}

pub fn run(args: OverheadArgs) -> Result<Exit> {
    for (i, mode) in args.modes.iter().enumerate() {
        if args.modes[..i].contains(mode) {
            super::options::usage_error(format!("--modes names '{mode}' twice"));
        }
    }
    let me = std::env::current_exe().context("cannot find the tracer binary")?;
    let mut modes = vec!["none".to_string()];
    modes.extend(args.modes.iter().cloned());
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); modes.len()];
    let mut errors: Vec<Option<String>> = vec![None; modes.len()];
    for _ in 0..args.rounds {
        for (i, mode) in modes.iter().enumerate() {
            if errors[i].is_some() {
                continue;
            }
            match time_once(&me, mode, args.syscalls) {
                Ok(ns) => samples[i].push(ns as f64 / args.syscalls as f64),
                Err(e) => errors[i] = Some(format!("{e:#}")),
            }
        }
    }
    let base = stats::median(&mut samples[0].clone()).context("the untraced runs failed")?;
    outln!(
        "{} getppid syscalls per run, {} rounds, medians:",
        args.syscalls,
        args.rounds
    )?;
    outln!(
        "{:<8} {:>12} {:>14} {:>9}",
        "mode",
        "ns/syscall",
        "added ns",
        "slowdown"
    )?;
    let mut slow_path = None;
    for (i, mode) in modes.iter().enumerate() {
        match (&errors[i], stats::median(&mut samples[i])) {
            (Some(err), _) => outln!("{mode:<8} unavailable: {err}")?,
            (None, Some(ns)) => {
                outln!(
                    "{mode:<8} {ns:>12.0} {:>14.0} {:>8.2}x",
                    ns - base,
                    ns / base
                )?;
                if mode == "floor" {
                    slow_path = Some((ns - base).max(0.0).round() as u64);
                }
            }
            (None, None) => outln!("{mode:<8} no data")?,
        }
    }
    if let Some(ns) = slow_path {
        let path = crate::calibration::save(ns)?;
        outln!(
            "floor: the tracepoint slow path costs {ns} ns per syscall here; saved to {} for record's observer cost",
            path.display()
        )?;
    }
    Ok(Exit::Code(0))
}

fn time_once(me: &PathBuf, mode: &str, count: u64) -> Result<u64> {
    if mode == "floor" {
        let mut probe = Command::new(me)
            .arg("floor-probe")
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot start the floor probe")?;
        let mut said = String::new();
        if let Some(stderr) = probe.stderr.take() {
            std::io::BufRead::read_line(&mut std::io::BufReader::new(stderr), &mut said)?;
        }
        let result = if said.contains("floor attached") {
            time_once(me, "none", count)
        } else {
            Err(anyhow::anyhow!("{}", said.trim()))
        };
        // SAFETY: kill on our own child's pid, which we have not reaped.
        unsafe { libc::kill(probe.id() as i32, libc::SIGINT) };
        let _ = probe.wait();
        return result;
    }
    let mut cmd = Command::new(me);
    if mode != "none" {
        cmd.args(["record", "--mode", mode, "-o", "/dev/null", "--"])
            .arg(me);
    }
    let out = cmd
        .args(["syscall-loop", &count.to_string()])
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {mode} calibration"))?;
    if !out.status.success() {
        bail!("{}", String::from_utf8_lossy(&out.stderr).trim());
    }
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .context("the calibration loop printed no time")
}
