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
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result, bail};

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Rounds (each configuration runs once per round).
    #[arg(long, default_value_t = 7)]
    rounds: usize,
    /// Bytes dd copies one at a time.
    #[arg(long, default_value_t = 500_000)]
    count: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Config {
    Untraced,
    /// dd untraced while tracer records another process: the cost that
    /// everybody else on the machine pays.
    Bystander,
    TracerEbpf,
    Strace,
    Bpftrace,
}

impl Config {
    const ALL: [Config; 5] = [
        Config::Untraced,
        Config::Bystander,
        Config::TracerEbpf,
        Config::Strace,
        Config::Bpftrace,
    ];

    fn label(self) -> &'static str {
        match self {
            Config::Untraced => "untraced",
            Config::Bystander => "untraced, tracer watching another process",
            Config::TracerEbpf => "tracer record (ebpf) -o FILE, every event as text",
            Config::Strace => "strace -f -o /dev/null",
            Config::Bpftrace => "bpftrace, every event printed",
        }
    }
}

pub fn run(root: &Path, args: &BenchArgs) -> Result<()> {
    crate::run(crate::cargo().args(["build", "--locked", "--release", "-p", "tracer"]))?;
    let tracer = root.join("target/release/tracer");
    let scratch = tempdir()?;
    let dd = [
        "dd".to_string(),
        "if=/dev/zero".into(),
        "of=/dev/null".into(),
        "bs=1".into(),
        format!("count={}", args.count),
    ];

    let mut times: Vec<(Config, Vec<f64>)> = Config::ALL.iter().map(|&c| (c, vec![])).collect();
    let mut failures: Vec<String> = vec![];
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64 ^ Instant::now().elapsed().as_nanos() as u64;
    for round in 0..args.rounds {
        let mut order = Config::ALL;
        shuffle(&mut order, &mut seed);
        for config in order {
            let result = measure(config, &tracer, &dd, &scratch);
            match result {
                Ok(secs) => {
                    eprintln!("round {round}: {:<50} {secs:.4} s", config.label());
                    if let Some(t) = times.iter_mut().find(|(c, _)| *c == config) {
                        t.1.push(secs);
                    }
                }
                Err(e) => {
                    eprintln!("round {round}: {:<50} failed: {e:#}", config.label());
                    failures.push(format!("{}: {e:#}", config.label()));
                }
            }
        }
    }

    let median_of = |c: Config| {
        times
            .iter()
            .find(|(k, _)| *k == c)
            .and_then(|(_, v)| median(v.clone()))
    };
    let base = median_of(Config::Untraced).context("no untraced run succeeded")?;
    println!(
        "\nworkload: dd if=/dev/zero of=/dev/null bs=1 count={} ({} rounds, medians of dd's own copy time)",
        args.count, args.rounds
    );
    println!("{:<52} {:>10} {:>8}", "configuration", "median s", "ratio");
    for config in Config::ALL {
        match median_of(config) {
            Some(m) => println!("{:<52} {m:>10.4} {:>7.2}x", config.label(), m / base),
            None => println!("{:<52} {:>10} {:>8}", config.label(), "-", "-"),
        }
    }
    let lost = std::fs::read_to_string(scratch.join("lost")).unwrap_or_default();
    println!(
        "tracer lost events over all runs: {}",
        lost.trim().parse::<u64>().unwrap_or(0)
    );
    for f in &failures {
        println!("failed: {f}");
    }
    Ok(())
}

fn measure(config: Config, tracer: &Path, dd: &[String], scratch: &Path) -> Result<f64> {
    let trace_file = scratch.join("trace.txt");
    match config {
        Config::Untraced => dd_time(Command::new(&dd[0]).args(&dd[1..])),
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
                    let r = dd_time(Command::new(&dd[0]).args(&dd[1..]));
                    stop(&mut watcher);
                    r
                }
                Err(e) => Err(e.into()),
            };
            let _ = victim.kill();
            let _ = victim.wait();
            result
        }
        Config::TracerEbpf => {
            let out = Command::new(tracer)
                .args(["record", "--mode", "ebpf", "-o"])
                .arg(&trace_file)
                .arg("--")
                .args(dd)
                .output()?;
            let stderr = String::from_utf8_lossy(&out.stderr);
            if let Some(lost) = stderr.lines().find(|l| l.contains("LOST")) {
                let n: u64 = lost
                    .split_whitespace()
                    .find_map(|w| w.parse().ok())
                    .unwrap_or(0);
                let path = scratch.join("lost");
                let before: u64 = std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                    .unwrap_or(0);
                std::fs::write(path, (before + n).to_string())?;
            }
            parse_dd(&stderr)
        }
        Config::Strace => dd_time(
            Command::new("strace")
                .args(["-f", "-o", "/dev/null", "--"])
                .args(dd),
        ),
        Config::Bpftrace => {
            let program = "tracepoint:raw_syscalls:sys_enter /pid == cpid/ { @s[tid] = nsecs; } \
                 tracepoint:raw_syscalls:sys_exit /pid == cpid && @s[tid]/ { \
                 printf(\"%d %d %d %d %d\\n\", tid, args.id, args.ret, @s[tid], nsecs); \
                 delete(@s[tid]); }";
            dd_time(Command::new("bpftrace").arg("-o").arg(&trace_file).args([
                "-e",
                program,
                "-c",
                &dd.join(" "),
            ]))
        }
    }
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
fn shuffle<T>(items: &mut [T], seed: &mut u64) {
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
