//! # logging_service: a long-running service that logs its failures
//!
//! **Pattern.** The subject of `tracer compare -p PID --fail-on
//! log=FILE:REGEX`: a service that is not rerun but keeps going, and whose
//! failures show only as lines in its log. It serves "requests" in a loop;
//! each request has two worker threads record 4 visits each in a counter
//! kept in a file they share, `pread` the number, add one, `pwrite` it
//! back (the race of `lost_update`, smaller). When an update is lost, the
//! request failed, and the service appends one line to its log:
//!
//! ```text
//! 1764467000.123456 logging_service[4242]: FAILURE lost update in request 17: expected 8, got 7
//! ```
//!
//! (match it with `FAILURE lost update`), plus an `INFO` line every 100
//! requests, which must not count. `--fixed` holds a mutex across the
//! read-modify-write and never fails. `--workers N` and `--visits N`
//! (default 2 and 4), and `--widen-us US` (CPU work between the read and
//! the write, default 0), make failures more frequent: tests that need
//! failures to count use `--widen-us 300`.
//!
//! **Measured** (2-core VM, release build, 3 s runs): untraced 5/515,
//! 2/537 and 1/511 requests failed (about 0.5%, 0.5 per second); under
//! `strace -f -o /dev/null` 65/304 (21%): ptrace stretches the two-syscall
//! window between `pread` and `pwrite`, as in `lost_update`.
//!
//! **Its own count.** So that tests can check that a follower counted
//! exactly what happened, the service keeps its count in `--count-file`
//! (`failures=N requests=M`), rewritten (to a temporary name, then renamed
//! over) after every failure, before the failure's log line is written,
//! and at exit, and prints the same line on stdout at exit.
//!
//! **Running and stopping.** `--log FILE` (appended to, created if
//! missing); `--requests N` or `--duration SECS` to stop by itself, or
//! `--stop-file PATH` to stop cleanly when that path appears (checked once
//! per request); without any of them it runs until killed.
//! `--interval-ms MS` sleeps between requests, to lower the failure rate.
//! Like Python's `WatchedFileHandler`, it reopens its log when the path
//! names another file (rename+create rotation) before each line it writes.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lab::counter::{load, store};

/// Defaults of `--workers` and `--visits`.
const WORKERS: u64 = 2;
const VISITS_PER_WORKER: u64 = 4;
const PACE: Duration = Duration::from_millis(1);
const PACE_STEP: Duration = Duration::from_micros(200);
/// An `INFO` line every this many requests.
const INFO_EVERY: u64 = 100;

const USAGE: &str = "logging_service: a service that logs its failures (lost updates)

usage: --log FILE [--count-file FILE] [--requests N | --duration SECS]
       [--stop-file PATH] [--interval-ms MS] [--workers N] [--visits N]
       [--widen-us US] [--fixed]";

#[derive(Debug, Default, PartialEq)]
struct Args {
    log: PathBuf,
    count_file: Option<PathBuf>,
    requests: Option<u64>,
    duration: Option<Duration>,
    stop_file: Option<PathBuf>,
    interval: Duration,
    workers: u64,
    visits: u64,
    widen: Duration,
    fixed: bool,
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(why) => {
            eprintln!("error: {why} (try --help)");
            return ExitCode::from(2);
        }
    };
    match serve(&args) {
        Ok(tally) => {
            println!("{}", tally.line());
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(2)
        }
    }
}

/// `Ok(None)` asks for help.
fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Args>, String> {
    let mut parsed = Args {
        workers: WORKERS,
        visits: VISITS_PER_WORKER,
        ..Args::default()
    };
    let mut log = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        let number = |v: String| {
            v.parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && *n >= 0.0)
                .ok_or_else(|| format!("{arg}: {v:?} is not a non-negative number"))
        };
        let count = |v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{arg}: {v:?} is not a whole number"))
        };
        match arg.as_str() {
            "--log" => log = Some(PathBuf::from(value()?)),
            "--count-file" => parsed.count_file = Some(PathBuf::from(value()?)),
            "--stop-file" => parsed.stop_file = Some(PathBuf::from(value()?)),
            "--requests" => parsed.requests = Some(count(value()?)?),
            "--widen-us" => parsed.widen = Duration::from_micros(count(value()?)?),
            "--workers" => parsed.workers = count(value()?)?.max(1),
            "--visits" => parsed.visits = count(value()?)?.max(1),
            "--duration" => parsed.duration = Some(Duration::from_secs_f64(number(value()?)?)),
            "--interval-ms" => {
                parsed.interval = Duration::from_secs_f64(number(value()?)? / 1000.0)
            }
            "--fixed" => parsed.fixed = true,
            "-h" | "--help" => return Ok(None),
            _ => return Err(format!("unexpected argument {arg:?}")),
        }
    }
    parsed.log = log.ok_or("--log FILE is required")?;
    Ok(Some(parsed))
}

/// What the service counted.
#[derive(Debug, Default)]
struct Tally {
    failures: u64,
    requests: u64,
}

impl Tally {
    fn line(&self) -> String {
        format!("failures={} requests={}", self.failures, self.requests)
    }
}

fn serve(args: &Args) -> io::Result<Tally> {
    let mut log = Log::open(&args.log)?;
    let mut tally = Tally::default();
    if let Some(path) = &args.count_file {
        write_count(path, &tally)?;
    }
    let start = Instant::now();
    loop {
        let done = args.requests.is_some_and(|n| tally.requests >= n)
            || args.duration.is_some_and(|d| start.elapsed() >= d)
            || args.stop_file.as_ref().is_some_and(|p| p.exists());
        if done {
            break;
        }
        let request = tally.requests;
        let lost = handle_request(args)?;
        tally.requests += 1;
        if let Some((expected, got)) = lost {
            tally.failures += 1;
            // The count first: whoever sees the line finds it counted.
            if let Some(path) = &args.count_file {
                write_count(path, &tally)?;
            }
            log.line(&format!(
                "FAILURE lost update in request {request}: expected {expected}, got {got}"
            ))?;
        }
        if tally.requests % INFO_EVERY == 0 {
            log.line(&format!(
                "INFO served {} requests, {} failed",
                tally.requests, tally.failures
            ))?;
        }
        if !args.interval.is_zero() {
            thread::sleep(args.interval);
        }
    }
    if let Some(path) = &args.count_file {
        write_count(path, &tally)?;
    }
    Ok(tally)
}

/// One request: two workers update the shared counter. `Some((expected,
/// got))` when an update was lost.
fn handle_request(args: &Args) -> io::Result<Option<(u64, u64)>> {
    let (fixed, visits, widen) = (args.fixed, args.visits, args.widen);
    let file = lab::counter::anonymous()?;
    let counter = Arc::new((file, Mutex::new(())));
    let workers = (0..args.workers)
        .map(|w| {
            let counter = Arc::clone(&counter);
            let pace = PACE + PACE_STEP * w as u32;
            thread::spawn(move || -> io::Result<()> {
                let (file, lock) = &*counter;
                for _ in 0..visits {
                    thread::sleep(pace);
                    let _guard = fixed.then(|| lock.lock().unwrap_or_else(|e| e.into_inner()));
                    let visits = load(file)?;
                    lab::busy(widen);
                    store(file, visits + 1)?;
                }
                Ok(())
            })
        })
        .collect::<Vec<_>>();
    for worker in workers {
        lab::joined(worker.join(), "worker")??;
    }
    let expected = args.workers * visits;
    let got = load(&counter.0)?;
    Ok((got != expected).then_some((expected, got)))
}

/// Replaces the count file whole, so that a reader never sees half of it.
fn write_count(path: &Path, tally: &Tally) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, format!("{}\n", tally.line()))?;
    std::fs::rename(&tmp, path)
}

/// The service's log: appended to, reopened when rotated away.
struct Log {
    path: PathBuf,
    file: File,
    ino: u64,
}

impl Log {
    fn open(path: &Path) -> io::Result<Self> {
        let file = OpenOptions::new().append(true).create(true).open(path)?;
        let ino = file.metadata()?.ino();
        Ok(Self {
            path: path.to_path_buf(),
            file,
            ino,
        })
    }

    /// Appends `text` as one line, in one write (so that no other writer
    /// can come between its parts).
    fn line(&mut self, text: &str) -> io::Result<()> {
        let moved = std::fs::metadata(&self.path).map_or(true, |m| m.ino() != self.ino);
        if moved {
            *self = Self::open(&self.path)?;
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let line = format!(
            "{}.{:06} logging_service[{}]: {text}\n",
            now.as_secs(),
            now.subsec_micros(),
            std::process::id()
        );
        self.file.write_all(line.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Option<Args>, String> {
        parse_args(list.iter().map(|s| s.to_string()))
    }

    #[test]
    fn parses_its_flags() {
        let a = args(&[
            "--log",
            "l",
            "--count-file",
            "c",
            "--requests",
            "5",
            "--fixed",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(a.log, PathBuf::from("l"));
        assert_eq!(a.count_file, Some(PathBuf::from("c")));
        assert_eq!((a.requests, a.fixed), (Some(5), true));
        assert_eq!((a.workers, a.visits), (WORKERS, VISITS_PER_WORKER));
        let a = args(&["--log", "l", "--workers", "4", "--visits", "0"])
            .unwrap()
            .unwrap();
        assert_eq!((a.workers, a.visits), (4, 1));
        let a = args(&["--log", "l", "--widen-us", "300"]).unwrap().unwrap();
        assert_eq!(a.widen, Duration::from_micros(300));
        let a = args(&["--log", "l", "--duration", "1.5", "--interval-ms", "2"])
            .unwrap()
            .unwrap();
        assert_eq!(a.duration, Some(Duration::from_millis(1500)));
        assert_eq!(a.interval, Duration::from_millis(2));
        assert_eq!(args(&["--help"]), Ok(None));
    }

    #[test]
    fn refuses_bad_flags() {
        assert!(args(&[]).unwrap_err().contains("--log"));
        assert!(args(&["--log"]).unwrap_err().contains("needs a value"));
        assert!(args(&["--log", "l", "--duration", "-1"]).is_err());
        assert!(args(&["--log", "l", "--requests", "x"]).is_err());
        assert!(args(&["--log", "l", "--bogus"]).is_err());
    }
}
