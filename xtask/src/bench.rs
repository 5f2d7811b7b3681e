//! `cargo xtask bench`: how much does each way of watching slow the target?
//!
//! The workload is `dd if=/dev/zero of=/dev/null bs=1 count=N`: two syscalls
//! per byte, nothing else, so it is the worst case for a syscall tracer.
//! The time measured is dd's own copy time (its last stderr line), so the
//! tracers' start-up and tear-down do not blur the target's slowdown.
//! Every configuration runs once per round, in a shuffled order, so machine
//! drift hits all alike; the report gives medians and ratios to untraced.

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    thread,
    time::Duration,
};

use anyhow::{Context as _, Result, bail};

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Rounds (each configuration runs once per round).
    #[arg(long, default_value_t = 7)]
    rounds: usize,
    /// Bytes dd copies one at a time, for the eBPF group.
    #[arg(long, default_value_t = 500_000)]
    count: u64,
    /// Bytes for the ptrace group (ptrace tracers take ~100x longer).
    #[arg(long, default_value_t = 20_000)]
    ptrace_count: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Config {
    Untraced,
    /// dd untraced while tracer records another process: the cost that
    /// everybody else on the machine pays.
    Bystander,
    TracerEbpf,
    Bpftrace,
    TracerPtrace,
    Strace,
    TracerPtraceNarrow,
    StraceNarrow,
}

impl Config {
    fn label(self) -> &'static str {
        match self {
            Config::Untraced => "untraced",
            Config::Bystander => "untraced, tracer watching another process",
            Config::TracerEbpf => "tracer record (ebpf) -o FILE, every event as text",
            Config::Bpftrace => "bpftrace, every event printed",
            Config::TracerPtrace => "tracer record --mode ptrace -o /dev/null",
            Config::Strace => "strace -f -o /dev/null",
            Config::TracerPtraceNarrow => "tracer record --mode ptrace -e trace=openat",
            Config::StraceNarrow => "strace -f --seccomp-bpf -e trace=openat",
        }
    }
}

/// Configurations measured against one untraced baseline, on one dd size.
struct Group {
    title: &'static str,
    count: u64,
    configs: &'static [Config],
}

pub fn run(root: &Path, args: &BenchArgs) -> Result<()> {
    crate::run(crate::cargo().args(["build", "--locked", "--release", "-p", "tracer"]))?;
    let tracer = root.join("target/release/tracer");
    let scratch = tempdir()?;
    let groups = [
        Group {
            title: "eBPF: full per-event recording",
            count: args.count,
            configs: &[
                Config::Untraced,
                Config::Bystander,
                Config::TracerEbpf,
                Config::Bpftrace,
            ],
        },
        Group {
            title: "ptrace: every syscall stops the target",
            count: args.ptrace_count,
            configs: &[
                Config::Untraced,
                Config::TracerEbpf,
                Config::TracerPtrace,
                Config::Strace,
                Config::TracerPtraceNarrow,
                Config::StraceNarrow,
            ],
        },
    ];
    let mut report = String::new();
    for group in &groups {
        report.push_str(&run_group(group, args.rounds, &tracer, &scratch)?);
    }
    println!("{report}");
    Ok(())
}

fn run_group(group: &Group, rounds: usize, tracer: &Path, scratch: &Path) -> Result<String> {
    let dd = [
        find_in_path("dd")?,
        "if=/dev/zero".into(),
        "of=/dev/null".into(),
        "bs=1".into(),
        format!("count={}", group.count),
    ];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); group.configs.len()];
    let mut failures: Vec<String> = vec![];
    let mut lost = 0;
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64 ^ u64::from(std::process::id());
    for round in 0..rounds {
        let mut order: Vec<usize> = (0..group.configs.len()).collect();
        shuffle(&mut order, &mut seed);
        for i in order {
            let config = group.configs[i];
            match measure(config, tracer, &dd, scratch) {
                Ok((secs, dropped)) => {
                    eprintln!("round {round}: {:<50} {secs:.4} s", config.label());
                    times[i].push(secs);
                    lost += dropped;
                }
                Err(e) => {
                    eprintln!("round {round}: {:<50} failed: {e:#}", config.label());
                    failures.push(format!("{}: {e:#}", config.label()));
                }
            }
        }
    }
    let base = median(times[0].clone()).context("no untraced run succeeded")?;
    let mut out = format!(
        "\n{}: dd if=/dev/zero of=/dev/null bs=1 count={} ({rounds} rounds, medians of dd's own copy time)\n",
        group.title, group.count
    );
    out.push_str(&format!(
        "{:<52} {:>10} {:>8}\n",
        "configuration", "median s", "ratio"
    ));
    for (i, config) in group.configs.iter().enumerate() {
        match median(times[i].clone()) {
            Some(m) => out.push_str(&format!(
                "{:<52} {m:>10.4} {:>7.2}x\n",
                config.label(),
                m / base
            )),
            None => out.push_str(&format!("{:<52} {:>10} {:>8}\n", config.label(), "-", "-")),
        }
    }
    out.push_str(&format!("tracer lost events over all runs: {lost}\n"));
    for f in &failures {
        out.push_str(&format!("failed: {f}\n"));
    }
    Ok(out)
}

/// dd's copy time, and the events tracer reported lost.
fn measure(config: Config, tracer: &Path, dd: &[String], scratch: &Path) -> Result<(f64, u64)> {
    let trace_file = scratch.join("trace.txt");
    let plain = |cmd: &mut Command| dd_time(cmd).map(|t| (t, 0));
    match config {
        Config::Untraced => plain(Command::new(&dd[0]).args(&dd[1..])),
        Config::Bystander => {
            let mut victim = Command::new("sleep").arg("600").spawn()?;
            let watcher = Command::new(tracer)
                .args(["record", "-o", "/dev/null", "-p", &victim.id().to_string()])
                .stderr(Stdio::null())
                .spawn();
            let result = match watcher {
                Ok(mut watcher) => {
                    // Loading and attaching takes well under a second.
                    thread::sleep(Duration::from_millis(1500));
                    let r = plain(Command::new(&dd[0]).args(&dd[1..]));
                    stop(&mut watcher);
                    r
                }
                Err(e) => Err(e.into()),
            };
            let _ = victim.kill();
            let _ = victim.wait();
            result
        }
        Config::TracerEbpf | Config::TracerPtrace | Config::TracerPtraceNarrow => {
            let mut cmd = Command::new(tracer);
            match config {
                Config::TracerEbpf => cmd
                    .args(["record", "--mode", "ebpf", "-o"])
                    .arg(&trace_file),
                Config::TracerPtrace => cmd.args(["record", "--mode", "ptrace", "-o", "/dev/null"]),
                _ => cmd.args([
                    "record",
                    "--mode",
                    "ptrace",
                    "-e",
                    "trace=openat",
                    "-o",
                    "/dev/null",
                ]),
            };
            let out = cmd.arg("--").args(dd).output()?;
            let stderr = String::from_utf8_lossy(&out.stderr);
            let lost = stderr
                .lines()
                .filter(|l| l.contains("LOST"))
                .filter_map(|l| l.split_whitespace().find_map(|w| w.parse::<u64>().ok()))
                .sum();
            Ok((parse_dd(&stderr)?, lost))
        }
        Config::Strace => plain(
            Command::new("strace")
                .args(["-f", "-o", "/dev/null", "--"])
                .args(dd),
        ),
        Config::StraceNarrow => plain(
            Command::new("strace")
                .args([
                    "-f",
                    "--seccomp-bpf",
                    "-e",
                    "trace=openat",
                    "-o",
                    "/dev/null",
                    "--",
                ])
                .args(dd),
        ),
        Config::Bpftrace => {
            let program = "tracepoint:raw_syscalls:sys_enter /pid == cpid/ { @s[tid] = nsecs; } \
                 tracepoint:raw_syscalls:sys_exit /pid == cpid && @s[tid]/ { \
                 printf(\"%d %d %d %d %d\\n\", tid, args->id, args->ret, @s[tid], nsecs); \
                 delete(@s[tid]); }";
            plain(Command::new("bpftrace").arg("-o").arg(&trace_file).args([
                "-e",
                program,
                "-c",
                &dd.join(" "),
            ]))
        }
    }
}

/// The full path of `program`, so every tool runs the same binary (and
/// bpftrace, which wants a unique path, accepts it).
fn find_in_path(program: &str) -> Result<String> {
    std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .map(|dir| Path::new(dir).join(program))
        .find(|p| p.is_file())
        .and_then(|p| p.canonicalize().ok())
        .map(|p| p.display().to_string())
        .with_context(|| format!("{program} not found in PATH"))
}

fn stop(child: &mut Child) {
    // SIGINT, like a user's Ctrl-C: tracer detaches and exits.
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

fn dd_time(cmd: &mut Command) -> Result<f64> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?}: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    parse_dd(&String::from_utf8_lossy(&out.stderr))
}

/// dd's summary: "500000 bytes (500 kB, 488 KiB) copied, 0.512 s, 977 kB/s".
fn parse_dd(stderr: &str) -> Result<f64> {
    stderr
        .lines()
        .filter_map(|l| l.split("copied, ").nth(1))
        .filter_map(|rest| rest.split(' ').next()?.parse::<f64>().ok())
        .next_back()
        .with_context(|| format!("no dd summary in: {}", stderr.trim()))
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Fisher–Yates with xorshift: the order only needs to vary per round.
fn shuffle(items: &mut [usize], seed: &mut u64) {
    for i in (1..items.len()).rev() {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        items.swap(i, (*seed % (i as u64 + 1)) as usize);
    }
}

fn tempdir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("tracer-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dd_summary() {
        let s = "500000+0 records in\n500000+0 records out\n500000 bytes (500 kB, 488 KiB) copied, 0.512 s, 977 kB/s\n";
        assert_eq!(parse_dd(s).unwrap(), 0.512);
        assert!(parse_dd("nothing").is_err());
    }

    #[test]
    fn medians() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(vec![]), None);
    }
}
