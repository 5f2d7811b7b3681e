//! # init_race: a background thread started before initialisation finished
//!
//! **Pattern.** A service starts its heartbeat thread first and finishes
//! loading its configuration second. The heartbeat thread waits for its
//! first tick (100 µs), opens its log, writes its banner (40 short lines,
//! one `write` each) and then reads the heartbeat interval from the
//! configuration. Meanwhile `main`, which read the config file before
//! starting the thread, parses and validates it (800 µs of CPU work, timed
//! so that debug and release builds behave alike) before publishing it.
//! Usually `main` wins; when the heartbeat thread gets the other core
//! quickly, it reads the configuration before it exists.
//!
//! **Shows as** exit 1 and `FAIL: heartbeat thread read the config before
//! it was loaded`. `--fixed` publishes the configuration before starting
//! the thread.
//!
//! **Measured** (2-core VM, release build): untraced 28/300 (9%; an
//! earlier batch of the same code gave 40/200); under
//! `strace -f -o /dev/null` 0/100.
//!
//! **Why tracing hides it.** The side that must be fast to fail is the
//! syscall-heavy one: the heartbeat thread's start (`clone`, the new
//! thread's setup), its `nanosleep`, `openat` and 40 `write`s. Under ptrace
//! each of those stops for the tracer, while `main`'s window is CPU work
//! that tracing does not slow, so the thread arrives late. The balance is
//! what matters: with a 5-line banner the traced thread still made it in
//! time and strace made the bug *more* frequent (47/100 against 13/300
//! untraced): untraced, what holds the thread up is apparently getting a
//! CPU (the rate hardly moved with how much `main` did), not its syscalls.

use std::io::{self, Write};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use lab::{Outcome, Variant};

/// The heartbeat thread's wait for its first tick.
const FIRST_TICK: Duration = Duration::from_micros(100);
const BANNER_LINES: usize = 40;
/// How long `main` spends validating the configuration.
const VALIDATION: Duration = Duration::from_micros(800);

#[derive(Debug)]
struct Config {
    heartbeat: Duration,
}

static CONFIG: OnceLock<Config> = OnceLock::new();

fn main() -> std::process::ExitCode {
    lab::main(
        "init_race: a heartbeat thread starts before the config is loaded",
        run,
    )
}

fn run(variant: Variant) -> io::Result<Outcome> {
    let mut log = lab::log_sink()?;
    // The "config file": any small file every Linux system has will do.
    let text = std::fs::read_to_string("/proc/self/stat")?;
    if variant.is_fixed() {
        load_config(&text);
    }
    let heartbeat = thread::spawn(move || -> io::Result<Option<Duration>> {
        thread::sleep(FIRST_TICK);
        for _ in 0..BANNER_LINES {
            log.write_all(b"heartbeat: starting\n")?;
        }
        // The bug: nothing guarantees `main` has published the config yet.
        Ok(CONFIG.get().map(|config| config.heartbeat))
    });
    if !variant.is_fixed() {
        load_config(&text);
    }
    match lab::joined(heartbeat.join(), "heartbeat")?? {
        Some(_) => Ok(Outcome::Pass),
        None => Ok(Outcome::Fail(
            "heartbeat thread read the config before it was loaded".to_string(),
        )),
    }
}

/// Parses and validates the configuration, then publishes it in `CONFIG`.
fn load_config(text: &str) {
    let validating = Instant::now();
    while validating.elapsed() < VALIDATION {
        std::hint::black_box(
            text.bytes()
                .fold(0u64, |h, b| h.rotate_left(5) ^ u64::from(b)),
        );
    }
    let _ = CONFIG.set(Config {
        heartbeat: Duration::from_millis(10),
    });
}
