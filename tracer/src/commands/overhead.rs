//! `tracer overhead`: how many nanoseconds each way of watching adds to one
//! syscall, measured side by side in one run.
//!
//! The workload is tracer itself, re-executed as `tracer syscall-loop N`: N
//! `getppid` calls timed from inside, so process start-up and the tracer's
//! own set-up stay out of the number. Modes alternate within each round so
//! machine drift hits them alike; medians over rounds.

use std::{
    path::PathBuf,
    process::{Command, Stdio},
    time::Instant,
};

use anyhow::{Context as _, Result, bail};
use clap::Args;

use crate::{exit::Exit, stats, syscalls::nr};

#[derive(Debug, Args)]
pub struct OverheadArgs {
    /// Syscalls per run (at least 1).
    #[arg(long, default_value_t = 200_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub syscalls: u64,
    /// Rounds; every mode runs once per round (1 to 10000).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub rounds: u64,
    /// Modes to calibrate, each once (none is the untraced baseline,
    /// always run).
    #[arg(long, value_delimiter = ',', default_value = "ebpf,ptrace",
          value_parser = ["ebpf", "ptrace"])]
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
    println!("{}", start.elapsed().as_nanos());
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
    println!(
        "{} getppid syscalls per run, {} rounds, medians:",
        args.syscalls, args.rounds
    );
    println!(
        "{:<8} {:>12} {:>14} {:>9}",
        "mode", "ns/syscall", "added ns", "slowdown"
    );
    for (i, mode) in modes.iter().enumerate() {
        match (&errors[i], stats::median(&mut samples[i])) {
            (Some(err), _) => println!("{mode:<8} unavailable: {err}"),
            (None, Some(ns)) => println!(
                "{mode:<8} {ns:>12.0} {:>14.0} {:>8.2}x",
                ns - base,
                ns / base
            ),
            (None, None) => println!("{mode:<8} no data"),
        }
    }
    Ok(Exit::Code(0))
}

fn time_once(me: &PathBuf, mode: &str, count: u64) -> Result<u64> {
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
