//! Command-line interface: the subcommands, each with the arguments its
//! own module defines (`commands::*`, `export`, `daemon`). Nothing imports
//! this file but `main`. Options follow strace's spelling where strace has
//! the same option, since that is what users' fingers know.

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "tracer",
    version,
    about = "A Linux syscall tracer that knows its own observer effect"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Record the syscalls of a command, or of running processes (-p).
    Record(crate::commands::record::RecordArgs),
    /// Show a recording (record -w FILE) as the live run would have:
    /// lines, -c summary or --json, filtered by thread, request, time.
    Report(crate::commands::report::ReportArgs),
    /// Convert a recording (record -w FILE) into a timeline for other
    /// tools: Perfetto, Chrome JSON, JSONL or CSV.
    Export(crate::commands::export::ExportArgs),
    /// Run a command many times untraced and traced: does the failure
    /// vanish under observation?
    Compare(crate::commands::compare::CompareArgs),
    /// Find which syscall's timing makes a failure appear or vanish: delay
    /// each syscall the command makes, many runs each, and rank the effects.
    Amplify(crate::commands::amplify::AmplifyArgs),
    /// Measure the nanoseconds each mode adds to a syscall, side by side.
    Overhead(crate::commands::overhead::OverheadArgs),
    /// Always-on flight recorder: keeps recent events of watched processes
    /// and dumps them when one crashes, fails or logs a panic.
    Daemon(crate::daemon::DaemonArgs),
    /// Talk to a running `tracer daemon`: watch, list, dump, stream, stats.
    Ctl(crate::commands::ctl::CtlArgs),
    /// Run a command with chosen syscalls delayed (seccomp user
    /// notification), nothing else changed: `tracer delay read=200us -- CMD`.
    Delay(crate::commands::delay::DelayArgs),
    /// The workload of `cargo xtask bench`'s delay measurement: COUNT
    /// getppid calls, each timed; prints p50/p99 as JSON.
    #[command(hide = true)]
    SyscallTimes {
        count: u64,
        /// Threads making COUNT calls each, all at once.
        #[arg(long, default_value_t = 1)]
        threads: u32,
    },
    /// The calibration workload of `overhead`: COUNT getppid calls, then
    /// print the elapsed nanoseconds.
    #[command(hide = true)]
    SyscallLoop { count: u64 },
    /// The floor of `cargo xtask bench` and `overhead`: attach programs that
    /// only check the tgid, until SIGINT or SIGTERM.
    #[command(hide = true)]
    FloorProbe,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{commands::record::RecordArgs, source::Mode};

    fn parse(args: &[&str]) -> Result<RecordArgs, clap::Error> {
        let cli = Cli::try_parse_from(["tracer", "record"].iter().chain(args))?;
        match cli.command {
            Command::Record(args) => Ok(args),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn strace_style_options() {
        let a = parse(&[
            "-f",
            "-tt",
            "-T",
            "-e",
            "trace=open",
            "-o",
            "out",
            "--",
            "ls",
            "-l",
        ])
        .unwrap();
        assert_eq!(a.show.timestamps, 2);
        assert!(a.show.durations);
        assert_eq!(a.show.exprs, ["trace=open"]);
        assert_eq!(a.command, ["ls", "-l"]);
        assert_eq!(a.mode, Mode::Auto);
        assert_eq!(a.ring_size, 64 << 20);
    }

    #[test]
    fn request_id_options() {
        let a = parse(&["--request-id", r"rid=(\w+) ", "--request-id", "x:(.+)\n"]).unwrap();
        assert_eq!(a.request_ids.len(), 2);
        assert!(!a.no_default_request_ids && !a.show.by_request);
        let a = parse(&["--no-default-request-ids", "--by-request"]).unwrap();
        assert!(a.no_default_request_ids && a.show.by_request);
        let err = parse(&["--request-id", r"rid=\w+"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("exactly one capture group"), "{err}");
        assert!(parse(&["--request-id", "(a)(b)"]).is_err());
        assert!(parse(&["--request-id", "(a"]).is_err());
    }

    #[test]
    fn pids_and_sizes() {
        let a = parse(&["-p", "1,2", "-p", "3", "--ring-size", "16M"]).unwrap();
        assert_eq!(a.pids, [1, 2, 3]);
        assert_eq!(a.ring_size, 16 << 20);
        assert!(parse(&["--ring-size", "3000"]).is_err());
        assert!(parse(&["--ring-size", "8G"]).is_err());
        assert!(parse(&["-p", "abc"]).is_err());
        for bad in ["0", "-1", "1,0"] {
            let err = parse(&["-p", bad]).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad}");
        }
    }
}
