//! # supervisor: keeps a crashing worker going, and says how each run went
//!
//! What systemd's `Restart=always` or `while true; do worker; done` does:
//! starts the program, waits for it, starts it again at once, forever (or
//! `--runs N` times). The subject of `tracer compare -p`: a long-lived
//! process whose worker fails now and then, which cannot be rerun a
//! hundred times the way `compare -- CMD` does.
//!
//! It reports every run on stdout, one line each, as it ends:
//!
//! ```text
//! run pid=4242 spawned_ns=1234 reaped_ns=5678 status=256 outcome=exit:1
//! ```
//!
//! `spawned_ns` (just before the fork) and `reaped_ns` (just after the
//! wait) are `CLOCK_MONOTONIC`, the clock tracer's windows are in, so they
//! bracket the run's fork and exit; `status` is the raw `wait(2)` status;
//! `outcome` is `pass`, `exit:N` or `signal:N`. Tests check `tracer
//! compare`'s counts per window against these lines.
//!
//! usage: `supervisor [--runs N] [--pause MS] -- PROGRAM [ARGS...]`
//! (`--pause`: a wait between a run's end and the next start, as
//! systemd's `RestartSec=`; the program's
//! stdout goes to `/dev/null`, its stderr is the supervisor's). Exit 2 on
//! bad usage or a program that cannot start.

use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitCode, Stdio};

fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The `outcome=` of a raw wait status.
fn outcome(status: i32) -> String {
    let signal = status & 0x7f;
    let code = (status >> 8) & 0xff;
    match (signal, code) {
        (0, 0) => "pass".into(),
        (0, code) => format!("exit:{code}"),
        (signal, _) => format!("signal:{signal}"),
    }
}

/// What the command line asks for.
struct Options<'a> {
    runs: Option<u64>,
    pause: std::time::Duration,
    command: &'a [String],
}

fn parse(args: &[String]) -> Result<Options<'_>, String> {
    let mut runs = None;
    let mut pause = std::time::Duration::ZERO;
    let mut i = 0;
    while i < args.len() {
        let value = |what: &str| -> Result<u64, String> {
            let n = args.get(i + 1).ok_or(format!("{what} needs a number"))?;
            n.parse().map_err(|_| format!("{what} {n}: not a number"))
        };
        match args[i].as_str() {
            "--runs" => {
                runs = Some(value("--runs")?);
                i += 2;
            }
            "--pause" => {
                pause = std::time::Duration::from_millis(value("--pause")?);
                i += 2;
            }
            "--" if i + 1 < args.len() => {
                return Ok(Options {
                    runs,
                    pause,
                    command: &args[i + 1..],
                });
            }
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    Err("usage: supervisor [--runs N] [--pause MS] -- PROGRAM [ARGS...]".into())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Options {
        runs,
        pause,
        command,
    } = match parse(&args) {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut out = std::io::stdout().lock();
    let mut n = 0;
    while runs.is_none_or(|runs| n < runs) {
        let spawned_ns = monotonic_ns();
        let child = Command::new(&command[0])
            .args(&command[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn();
        let mut child = match child {
            Ok(child) => child,
            Err(e) => {
                eprintln!("error: cannot run {}: {e}", command[0]);
                return ExitCode::from(2);
            }
        };
        let pid = child.id();
        let status = match child.wait() {
            Ok(status) => status.into_raw(),
            Err(e) => {
                eprintln!("error: cannot wait for {pid}: {e}");
                return ExitCode::from(2);
            }
        };
        let reaped_ns = monotonic_ns();
        // One line per write, flushed: a reader sees every finished run.
        let line = format!(
            "run pid={pid} spawned_ns={spawned_ns} reaped_ns={reaped_ns} status={status} outcome={}\n",
            outcome(status)
        );
        if out
            .write_all(line.as_bytes())
            .and_then(|()| out.flush())
            .is_err()
        {
            // Nobody reads the report any more.
            return ExitCode::SUCCESS;
        }
        n += 1;
        std::thread::sleep(pause);
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_of_wait_statuses() {
        assert_eq!(outcome(0), "pass");
        assert_eq!(outcome(1 << 8), "exit:1");
        assert_eq!(outcome(libc::SIGKILL), "signal:9");
        assert_eq!(outcome(libc::SIGSEGV | 0x80), "signal:11");
    }

    #[test]
    fn arguments() {
        let a = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let args = a(&["--runs", "3", "--pause", "5", "--", "true", "x"]);
        let o = parse(&args).unwrap();
        assert_eq!((o.runs, o.command), (Some(3), &args[5..]));
        assert_eq!(o.pause, std::time::Duration::from_millis(5));
        assert!(parse(&a(&["--runs", "x", "--", "true"])).is_err());
        assert!(parse(&a(&["--"])).is_err());
        assert!(parse(&a(&["true"])).is_err());
    }
}
