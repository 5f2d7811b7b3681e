//! Command-line interface. Options follow strace's spelling where strace
//! has the same option, since that is what users' fingers know.

use std::{ffi::OsString, path::PathBuf};

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

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
    Record(RecordArgs),
    /// Show a recording (record -w FILE) as the live run would have:
    /// lines, -c summary or --json, filtered by thread, request, time.
    Report(crate::commands::report::ReportArgs),
    /// Convert a recording (record -w FILE) into a timeline for other
    /// tools: Perfetto, Chrome JSON, JSONL or CSV.
    Export(crate::export::ExportArgs),
    /// Run a command many times untraced and traced: does the failure
    /// vanish under observation?
    Compare(crate::commands::compare::CompareArgs),
    /// Measure the nanoseconds each mode adds to a syscall, side by side.
    Overhead(crate::commands::overhead::OverheadArgs),
    /// Always-on flight recorder: keeps recent events of watched processes
    /// and dumps them when one crashes, fails or logs a panic.
    Daemon(crate::daemon::DaemonArgs),
    /// Talk to a running `tracer daemon`: watch, list, dump, stream, stats.
    Ctl(crate::commands::ctl::CtlArgs),
    /// The calibration workload of `overhead`: COUNT getppid calls, then
    /// print the elapsed nanoseconds.
    #[command(hide = true)]
    SyscallLoop { count: u64 },
}

/// Where events come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// eBPF on the raw_syscalls tracepoints: low overhead.
    Ebpf,
    /// ptrace: works without eBPF, stops the target at every syscall.
    Ptrace,
    /// eBPF when it can be loaded, else ptrace.
    Auto,
}

#[derive(Debug, Args)]
pub struct RecordArgs {
    /// How to watch the target.
    #[arg(long, value_enum, default_value_t = Mode::Auto)]
    pub mode: Mode,

    /// Attach to process PID (all its threads, and its future children).
    /// Repeat, or separate with commas, for several.
    #[arg(
        short = 'p',
        long = "attach",
        value_name = "PID",
        value_delimiter = ','
    )]
    pub pids: Vec<i32>,

    #[command(flatten)]
    pub show: ShowArgs,

    /// Also write a recording of every event shown to FILE (mode 0600), for
    /// `tracer report FILE` and the exports. Written as events arrive: a
    /// run cut short leaves a readable recording.
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: Option<PathBuf>,

    /// Also write the trace as FORMAT (perfetto, chrome, jsonl, csv) to
    /// FILE, as events arrive. Repeatable.
    #[arg(long = "export", value_name = "FORMAT:FILE")]
    pub exports: Vec<crate::export::Target>,

    /// Accepted for strace compatibility: children are always followed.
    #[arg(short = 'f', action = ArgAction::Count, hide = true)]
    pub follow: u8,

    /// When tracer is stopped (Ctrl-C, SIGTERM, SIGHUP), kill the launched
    /// command too. By default it is left running, untraced.
    #[arg(long)]
    pub kill_on_exit: bool,

    /// Capture up to BYTES of each data buffer read or written (read,
    /// write, send, recv families and their vectored forms), for request
    /// IDs and display; 0 turns capture off. At most 4096.
    #[arg(short = 's', long = "capture-bytes", value_name = "BYTES", default_value_t = 512,
          value_parser = clap::value_parser!(u32).range(0..=tracer_common::capture::MAX_DATA as i64))]
    pub capture_bytes: u32,

    /// Keep the captured bytes in full (up to --capture-bytes) in the
    /// output and recordings. By default only request IDs, lengths and the
    /// 32-byte prefix shown in text mode are kept: captured data can hold
    /// passwords and tokens.
    #[arg(long)]
    pub keep_payload: bool,

    /// Show the path or socket behind each file descriptor:
    /// `read(3</etc/hosts>, ...)`, `write(5<TCP:[127.0.0.1:8080->127.0.0.1:51234]>, ...)`.
    #[arg(short = 'y', long = "decode-fds")]
    pub decode_fds: bool,

    /// Also find request IDs with REGEX, which must have exactly one
    /// capture group (the ID); it takes precedence over the built-in
    /// patterns (X-Request-Id, traceparent, req=/request_id=/request-id=
    /// log tokens). Repeatable.
    #[arg(long = "request-id", value_name = "REGEX", value_parser = parse_request_id)]
    pub request_ids: Vec<regex::bytes::Regex>,

    /// Do not use the built-in request ID patterns.
    #[arg(long)]
    pub no_default_request_ids: bool,

    /// Size of the eBPF ring buffer (power of two, e.g. 16M, 64MiB).
    #[arg(long, value_name = "BYTES", default_value = "64MiB", value_parser = parse_ring_size)]
    pub ring_size: u32,

    /// The command to run and trace.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CMD"
    )]
    pub command: Vec<OsString>,
}

fn parse_request_id(text: &str) -> Result<regex::bytes::Regex, String> {
    crate::request::patterns::parse(text).map_err(|e| e.to_string())
}

/// How events are shown: the options `record` and `report` share, so that
/// a recording reads back exactly as the live run printed.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Write tracer's output (lines or summary) to FILE, mode 0600, instead
    /// of stderr (record) or stdout (report).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Print a per-syscall summary (counts, errors, latency percentiles)
    /// instead of one line per syscall.
    #[arg(short = 'c', long = "summary")]
    pub summary: bool,

    /// Print the summary as JSON (implies -c).
    #[arg(long)]
    pub json: bool,

    /// Summarise per request: threads, syscalls, wall time, first and last
    /// event, after the anomalies (implies -c; with --json adds `requests`).
    #[arg(long)]
    pub by_request: bool,

    /// Prefix lines with the wall-clock time: -t seconds, -tt microseconds,
    /// -ttt seconds since the epoch.
    #[arg(short = 't', action = ArgAction::Count)]
    pub timestamps: u8,

    /// Show the time spent in each syscall.
    #[arg(short = 'T')]
    pub durations: bool,

    /// Filter expression, strace syntax: trace=open,close | trace=%file |
    /// trace=!read,write | %network, %process, %memory, %signal, %desc.
    #[arg(short = 'e', value_name = "EXPR")]
    pub exprs: Vec<String>,
}

impl ShowArgs {
    /// The view these options ask for (where output goes by default, and
    /// the clock, are the command's to set).
    pub fn view(&self) -> crate::output::View {
        crate::output::View {
            summary: self.summary,
            json: self.json,
            by_request: self.by_request,
            timestamps: self.timestamps,
            durations: self.durations,
            output: self.output.clone(),
            ..Default::default()
        }
    }
}

fn parse_ring_size(text: &str) -> Result<u32, String> {
    // Binary units: "16M" is 16 MiB, as ring sizes are powers of two.
    let bytes = parse_size::Config::new()
        .with_binary()
        .parse_size(text)
        .map_err(|e| e.to_string())?;
    let bytes = u32::try_from(bytes).map_err(|_| format!("{text} is larger than 2 GiB"))?;
    if bytes < 4096 || !bytes.is_power_of_two() {
        return Err(format!("{text} is not a power of two of at least 4 KiB"));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
