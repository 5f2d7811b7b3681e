//! `cargo xtask bench`: how much does each way of watching slow the target?
//!
//! The workload is `dd if=/dev/zero of=/dev/null bs=1 count=N`: two syscalls
//! per byte, nothing else, so it is the worst case for a syscall tracer.
//! The time measured is dd's own copy time (its last stderr line), so the
//! tracers' start-up and tear-down do not blur the target's slowdown.
//! Every configuration runs once per round, in a shuffled order, so machine
//! drift hits all alike; the report gives medians, ratios to untraced, and
//! the nanoseconds each configuration adds per syscall over untraced and
//! over the floor: programs on the same tracepoints that only check the
//! tgid (`tracer floor-probe`), what any eBPF recorder here pays at least.

use std::{
    io::Write as _,
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
    /// Syscalls in the recording that every export format converts (0: no
    /// export benchmark).
    #[arg(long, default_value_t = 10_000_000)]
    export_events: u64,
    /// Only the export benchmark.
    #[arg(long)]
    export_only: bool,
    /// Only the daemon benchmark: dd untraced, unwatched while `tracer
    /// daemon` runs, and watched by it (`--comm dd`).
    #[arg(long)]
    daemon_only: bool,
    /// Only the delay-injection benchmark (achieved vs requested delay,
    /// cost of an intercepted syscall).
    #[arg(long)]
    delay_only: bool,
    /// Only what `-k` (user stacks) costs: eBPF and ptrace, each with and
    /// without it, beside untraced and the floor.
    #[arg(long)]
    stacks_only: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Config {
    Untraced,
    /// dd untraced while the floor programs are attached.
    Floor,
    /// dd untraced while tracer records another process: the cost that
    /// everybody else on the machine pays.
    Bystander,
    TracerEbpf,
    /// The same with data capture off (`-s 0`): what capture costs.
    TracerEbpfNoCapture,
    /// `-e trace=openat`: the set is applied in the kernel.
    TracerEbpfNarrow,
    /// `-k`: the user stack of every syscall, walked by the kernel and
    /// sent once per distinct stack.
    TracerEbpfStacks,
    Bpftrace,
    /// `tracer daemon` running with no watch; dd unwatched.
    DaemonIdle,
    /// `tracer daemon` watching another process; dd unwatched.
    DaemonBystander,
    /// `tracer daemon` watching `--comm dd`: dd recorded into its ring.
    DaemonWatched,
    TracerPtrace,
    /// `-k` under ptrace: a frame-pointer walk with process_vm_readv at
    /// every syscall entry.
    TracerPtraceStacks,
    Strace,
    TracerPtraceNarrow,
    StraceNarrow,
}

impl Config {
    fn label(self) -> &'static str {
        match self {
            Config::Untraced => "untraced",
            Config::Floor => "floor: tgid check only on raw_syscalls",
            Config::Bystander => "untraced, tracer watching another process",
            Config::TracerEbpf => "tracer record (ebpf) -o FILE, every event as text",
            Config::TracerEbpfNoCapture => "tracer record (ebpf) -s 0 -o FILE: no data capture",
            Config::TracerEbpfNarrow => "tracer record --mode ebpf -e trace=openat",
            Config::TracerEbpfStacks => "tracer record (ebpf) -k -o FILE: user stacks",
            Config::Bpftrace => "bpftrace, every event printed",
            Config::DaemonIdle => "tracer daemon running, no watch",
            Config::DaemonBystander => "tracer daemon watching another process",
            Config::DaemonWatched => "tracer daemon watching dd (--comm dd)",
            Config::TracerPtrace => "tracer record --mode ptrace -o /dev/null",
            Config::TracerPtraceStacks => "tracer record --mode ptrace -k -o /dev/null",
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
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or(root.join("target"), Into::into);
    let tracer = target.join("release/tracer");
    let scratch = tempdir()?;
    if args.export_only {
        print(&export_bench(&tracer, &scratch, args.export_events)?)?;
        return Ok(());
    }
    if args.delay_only {
        print(&crate::delay_bench::report(&tracer)?)?;
        return Ok(());
    }
    if args.daemon_only {
        let group = Group {
            title: "daemon: always-on flight recorder",
            count: args.count,
            configs: &[
                Config::Untraced,
                Config::DaemonIdle,
                Config::DaemonBystander,
                Config::DaemonWatched,
                // The same events through `record`, for reference.
                Config::TracerEbpf,
            ],
        };
        print(&run_group(&group, args.rounds, &tracer, &scratch)?)?;
        return Ok(());
    }
    if args.stacks_only {
        for group in [
            Group {
                title: "-k: user stacks, eBPF",
                count: args.count,
                configs: &[
                    Config::Untraced,
                    Config::Floor,
                    Config::TracerEbpf,
                    Config::TracerEbpfStacks,
                ],
            },
            Group {
                title: "-k: user stacks, ptrace",
                count: args.ptrace_count,
                configs: &[
                    Config::Untraced,
                    Config::Floor,
                    Config::TracerPtrace,
                    Config::TracerPtraceStacks,
                ],
            },
        ] {
            print(&run_group(&group, args.rounds, &tracer, &scratch)?)?;
        }
        return Ok(());
    }
    let groups = [
        Group {
            title: "eBPF: full per-event recording",
            count: args.count,
            configs: &[
                Config::Untraced,
                Config::Floor,
                Config::Bystander,
                Config::TracerEbpf,
                Config::TracerEbpfNoCapture,
                Config::TracerEbpfNarrow,
                Config::TracerEbpfStacks,
                Config::Bpftrace,
            ],
        },
        Group {
            title: "narrow -e trace=openat: eBPF, ptrace, strace side by side",
            count: args.count,
            configs: &[
                Config::Untraced,
                Config::Floor,
                Config::TracerEbpfNarrow,
                Config::TracerPtraceNarrow,
                Config::StraceNarrow,
            ],
        },
        Group {
            title: "ptrace: every syscall stops the target",
            count: args.ptrace_count,
            configs: &[
                Config::Untraced,
                Config::Floor,
                Config::TracerEbpf,
                Config::TracerEbpfStacks,
                Config::TracerPtrace,
                Config::TracerPtraceStacks,
                Config::Strace,
            ],
        },
    ];
    let mut report = String::new();
    for group in &groups {
        report.push_str(&run_group(group, args.rounds, &tracer, &scratch)?);
    }
    report.push_str(&crate::delay_bench::report(&tracer)?);
    if args.export_events > 0 {
        report.push_str(&export_bench(&tracer, &scratch, args.export_events)?);
    }
    print(&report)
}

/// A result on stdout. `println!` would panic when the reader went away
/// (`cargo xtask bench | head`: Rust ignores SIGPIPE); the error goes up
/// instead, and `main` ends quietly on it.
fn print(text: &str) -> Result<()> {
    writeln!(std::io::stdout().lock(), "{text}")?;
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
    let floor = group
        .configs
        .iter()
        .position(|&c| c == Config::Floor)
        .and_then(|i| median(times[i].clone()));
    // dd makes two syscalls per byte.
    let per_syscall = |secs: f64| secs * 1e9 / (2 * group.count) as f64;
    let mut out = format!(
        "\n{}: dd if=/dev/zero of=/dev/null bs=1 count={} ({rounds} rounds, medians of dd's own copy time)\n",
        group.title, group.count
    );
    out.push_str(&format!(
        "{:<52} {:>10} {:>8} {:>12} {:>12} {:>9}\n",
        "configuration", "median s", "ratio", "+ns/syscall", "+ns o/floor", "x floor"
    ));
    for (i, config) in group.configs.iter().enumerate() {
        match median(times[i].clone()) {
            Some(m) => {
                let (over_floor, x_floor) = match floor {
                    Some(f) => (
                        format!("{:+.0}", per_syscall(m - f)),
                        format!("{:.2}x", m / f),
                    ),
                    None => ("-".into(), "-".into()),
                };
                out.push_str(&format!(
                    "{:<52} {m:>10.4} {:>7.2}x {:>12} {over_floor:>12} {x_floor:>9}\n",
                    config.label(),
                    m / base,
                    format!("{:+.0}", per_syscall(m - base)),
                ));
            }
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
        Config::Floor => {
            let mut probe = Command::new(tracer)
                .arg("floor-probe")
                .stderr(Stdio::piped())
                .spawn()
                .context("cannot start tracer floor-probe")?;
            // It says "floor attached" once the programs are in.
            let mut said = String::new();
            let stderr = probe.stderr.take().context("no stderr")?;
            std::io::BufRead::read_line(&mut std::io::BufReader::new(stderr), &mut said)?;
            let result = if said.contains("floor attached") {
                plain(Command::new(&dd[0]).args(&dd[1..]))
            } else {
                Err(anyhow::anyhow!("tracer floor-probe: {}", said.trim()))
            };
            stop(&mut probe);
            result
        }
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
        Config::TracerEbpf
        | Config::TracerEbpfNoCapture
        | Config::TracerEbpfNarrow
        | Config::TracerEbpfStacks
        | Config::TracerPtrace
        | Config::TracerPtraceStacks
        | Config::TracerPtraceNarrow => {
            let mut cmd = Command::new(tracer);
            match config {
                Config::TracerEbpf => cmd
                    .args(["record", "--mode", "ebpf", "-o"])
                    .arg(&trace_file),
                Config::TracerEbpfNoCapture => cmd
                    .args(["record", "--mode", "ebpf", "-s", "0", "-o"])
                    .arg(&trace_file),
                Config::TracerEbpfStacks => cmd
                    .args(["record", "--mode", "ebpf", "-k", "-o"])
                    .arg(&trace_file),
                Config::TracerPtrace => cmd.args(["record", "--mode", "ptrace", "-o", "/dev/null"]),
                Config::TracerPtraceStacks => {
                    cmd.args(["record", "--mode", "ptrace", "-k", "-o", "/dev/null"])
                }
                Config::TracerEbpfNarrow => cmd.args([
                    "record",
                    "--mode",
                    "ebpf",
                    "-e",
                    "trace=openat",
                    "-o",
                    "/dev/null",
                ]),
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
        Config::DaemonIdle | Config::DaemonBystander | Config::DaemonWatched => {
            daemon_dd(config, tracer, dd, scratch)
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

/// Export speed: `tracer export` of a recording of `events` syscalls (dd,
/// recorded with eBPF) and of as many generated ones (servers handing
/// requests across threads: strings, data, flows), to each format. Each
/// output is deleted once measured; tracer reports its own peak memory.
fn export_bench(tracer: &Path, scratch: &Path, events: u64) -> Result<String> {
    let recording = scratch.join("export-bench.rec");
    let mut record = Command::new(tracer);
    record
        .args(["record", "--mode", "ebpf", "-o", "/dev/null", "-w"])
        .arg(&recording)
        .args([
            "--",
            &find_in_path("dd")?,
            "if=/dev/zero",
            "of=/dev/null",
            "bs=1",
        ])
        .arg(format!("count={}", events / 2))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let status = record.status().context("cannot run tracer record")?;
    if !status.success() {
        bail!("tracer record -w failed: {status}");
    }
    let mut out = format!(
        "\nexport: {events} syscalls to each format (`tracer export`: wall and CPU time)\n{:<34} {:<9} {:>10} {:>9} {:>9} {:>11} {:>9}\n",
        "source", "format", "syscalls", "wall s", "CPU s", "output MiB", "peak MiB"
    );
    let sources: [(&str, Vec<String>); 2] = [
        (
            "recording of dd (ebpf)",
            vec![recording.display().to_string()],
        ),
        (
            "generated servers with requests",
            vec!["--synthetic".into(), events.to_string()],
        ),
    ];
    for (label, source) in &sources {
        for format in ["perfetto", "chrome", "jsonl", "csv"] {
            let target = scratch.join(format!("export-bench.{format}"));
            let started = std::time::Instant::now();
            let run = Command::new(tracer)
                .arg("export")
                .args(source)
                .args(["--format", format, "-o"])
                .arg(&target)
                .output()
                .context("cannot run tracer export")?;
            let secs = started.elapsed().as_secs_f64();
            let stderr = String::from_utf8_lossy(&run.stderr);
            if !run.status.success() {
                bail!("tracer export {format} failed: {}", stderr.trim());
            }
            let size = std::fs::metadata(&target).map(|m| m.len()).unwrap_or(0);
            let _ = std::fs::remove_file(&target);
            // "tracer: exported N syscalls as F in S s (…, peak memory M MiB)"
            let syscalls = stderr
                .split("exported ")
                .nth(1)
                .and_then(|t| t.split(' ').next())
                .unwrap_or("?");
            let cpu = stderr
                .split(" s (")
                .nth(1)
                .and_then(|t| t.split(' ').next())
                .unwrap_or("?");
            let peak = stderr
                .split("peak memory ")
                .nth(1)
                .and_then(|t| t.split(' ').next())
                .unwrap_or("?");
            eprintln!("export: {label}, {format}: {secs:.2} s");
            out.push_str(&format!(
                "{label:<34} {format:<9} {syscalls:>10} {secs:>9.2} {cpu:>9} {:>11.1} {peak:>9}\n",
                size as f64 / f64::from(1 << 20)
            ));
        }
    }
    let _ = std::fs::remove_file(&recording);
    Ok(out)
}

/// dd's time while `tracer daemon` runs (started fresh, SIGTERM'd after),
/// and the events the daemon reported lost.
fn daemon_dd(config: Config, tracer: &Path, dd: &[String], scratch: &Path) -> Result<(f64, u64)> {
    let socket = scratch.join("daemon.sock");
    let socket_arg = socket.display().to_string();
    let mut daemon = Command::new(tracer)
        .args(["daemon", "--socket", &socket_arg, "--dump-dir"])
        .arg(scratch.join("dumps"))
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start tracer daemon")?;
    let mut victim = None;
    let result = (|| -> Result<(f64, u64)> {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::os::unix::net::UnixStream::connect(&socket).is_err() {
            if std::time::Instant::now() > deadline || daemon.try_wait()?.is_some() {
                bail!("tracer daemon did not start");
            }
            thread::sleep(Duration::from_millis(50));
        }
        let ctl = |args: &[&str]| -> Result<String> {
            let out = Command::new(tracer)
                .args(["ctl", "--socket", &socket_arg])
                .args(args)
                .output()?;
            if !out.status.success() {
                bail!("ctl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
            }
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        };
        match config {
            Config::DaemonBystander => {
                let child = Command::new("sleep").arg("600").spawn()?;
                ctl(&["watch", &child.id().to_string()])?;
                victim = Some(child);
            }
            Config::DaemonWatched => {
                ctl(&["watch", "--comm", "dd"])?;
            }
            _ => {}
        }
        let secs = dd_time(Command::new(&dd[0]).args(&dd[1..]))?;
        let stats = ctl(&["--json", "stats"])?;
        // The watched dd made two syscalls per byte: the daemon must have
        // seen them, or this measured nothing.
        let count: u64 = dd[4].trim_start_matches("count=").parse()?;
        if config == Config::DaemonWatched && json_u64(&stats, "events_total").unwrap_or(0) < count
        {
            bail!("the daemon did not see the watched dd's events: {stats}");
        }
        Ok((secs, json_u64(&stats, "lost_events").unwrap_or(0)))
    })();
    // SIGTERM: the daemon detaches and exits.
    let _ = Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status();
    let _ = daemon.wait();
    if let Some(mut victim) = victim {
        let _ = victim.kill();
        let _ = victim.wait();
    }
    result
}

/// The number after `"key":` in a flat JSON text.
fn json_u64(json: &str, key: &str) -> Option<u64> {
    let rest = json.split(&format!("\"{key}\":")).nth(1)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

fn tempdir() -> Result<std::path::PathBuf> {
    crate::private_dir("tracer-bench")
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
