//! Scaffolding shared by the lab programs, so that every one of them reports
//! the same way and `tracer compare` can tell a race from a broken setup:
//!
//! - exit 0: the run passed;
//! - exit 1: the race struck; one line starting with `FAIL:` on stderr;
//! - exit 2: the program could not run (bad flag, no sockets, ...), with
//!   `error:` on stderr. Counting these as failures would blame the race.
//!
//! Every program takes `--fixed`, which removes its bug: the same code
//! paths and syscalls without the race, so a failure of the fixed variant
//! means the lab itself is broken.

pub mod counter;

use std::fs::File;
use std::io;
use std::process::ExitCode;

/// Which variant of a program to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// The racy original.
    Buggy,
    /// The race removed (`--fixed`).
    Fixed,
}

impl Variant {
    /// Whether this is the fixed variant.
    pub fn is_fixed(self) -> bool {
        self == Self::Fixed
    }
}

/// How a run went, when it could run at all.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    /// The race struck; the text follows `FAIL: ` on stderr.
    Fail(String),
}

/// Parses the command line, runs `run` and maps its result to the exit codes
/// described in the crate docs. `about` is the one-line description printed
/// by `--help`.
pub fn main(about: &str, run: impl FnOnce(Variant) -> io::Result<Outcome>) -> ExitCode {
    let variant = match parse_args(std::env::args().skip(1)) {
        Ok(Some(variant)) => variant,
        Ok(None) => {
            println!("{about}\n\nusage: [--fixed]\n  --fixed  run the variant without the race");
            return ExitCode::SUCCESS;
        }
        Err(arg) => {
            eprintln!("error: unexpected argument {arg:?} (try --help)");
            return ExitCode::from(2);
        }
    };
    match run(variant) {
        Ok(Outcome::Pass) => ExitCode::SUCCESS,
        Ok(Outcome::Fail(why)) => {
            eprintln!("FAIL: {why}");
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(2)
        }
    }
}

/// `Ok(None)` asks for help; `Err` carries the first argument not understood.
fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Variant>, String> {
    let mut variant = Variant::Buggy;
    for arg in args {
        match arg.as_str() {
            "--fixed" => variant = Variant::Fixed,
            "-h" | "--help" => return Ok(None),
            _ => return Err(arg),
        }
    }
    Ok(Some(variant))
}

/// Where the programs write their log lines: `/dev/null`.
///
/// The writes are the point (they are syscalls a tracer sees, and they take
/// time inside the racy windows); their destination is not. A pipe to a
/// reader that must be woken, or a terminal, would change the timing, and
/// with it the failure rate, depending on how the program was started.
pub fn log_sink() -> io::Result<File> {
    File::options().write(true).open("/dev/null")
}

/// A start line for threads that must begin a race together, without a
/// syscall: a futex wake-up would start them tens of µs apart, and would
/// be a syscall that a delay could move.
#[derive(Debug)]
pub struct StartLine {
    arrived: std::sync::atomic::AtomicUsize,
    threads: usize,
}

impl StartLine {
    pub fn new(threads: usize) -> Self {
        Self {
            arrived: std::sync::atomic::AtomicUsize::new(0),
            threads,
        }
    }

    /// Spins until every thread has arrived.
    pub fn wait(&self) {
        use std::sync::atomic::Ordering;
        self.arrived.fetch_add(1, Ordering::AcqRel);
        while self.arrived.load(Ordering::Acquire) < self.threads {
            std::hint::spin_loop();
        }
    }
}

/// Busy-works for `time` (CPU only, no syscall): work whose duration does
/// not depend on the build profile.
pub fn busy(time: std::time::Duration) {
    let start = std::time::Instant::now();
    let mut h = 0u64;
    while start.elapsed() < time {
        h = std::hint::black_box(h.rotate_left(5) ^ 0x9e37_79b9);
    }
}

/// Turns a panicked thread's join error into an `io::Error`, so that a bug
/// in the lab shows as exit 2 rather than as a (counted) race failure.
pub fn joined<T>(result: std::thread::Result<T>, what: &str) -> io::Result<T> {
    result.map_err(|_| io::Error::other(format!("{what} thread panicked")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_variants_help_and_junk() {
        assert_eq!(parse_args(args(&[])), Ok(Some(Variant::Buggy)));
        assert_eq!(parse_args(args(&["--fixed"])), Ok(Some(Variant::Fixed)));
        assert_eq!(parse_args(args(&["--fixed", "--help"])), Ok(None));
        assert_eq!(parse_args(args(&["--fix"])), Err("--fix".to_string()));
    }

    #[test]
    fn join_errors_become_io_errors() {
        let handle = std::thread::spawn(|| panic!("boom"));
        let err = joined(handle.join(), "worker").unwrap_err();
        assert_eq!(err.to_string(), "worker thread panicked");
    }
}
