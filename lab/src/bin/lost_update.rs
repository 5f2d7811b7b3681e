//! # lost_update: read-modify-write of a shared counter file
//!
//! **Pattern.** Four worker threads each record 20 visits in a counter kept
//! in a file they share through one descriptor: `pread` the number, add
//! one, `pwrite` it back. Between a worker's `pread` and its `pwrite`
//! another worker can read the same old value, and one of the two
//! increments is lost. The workers handle their requests at slightly
//! different paces (a 1 ms sleep plus 0.2 ms per worker), so they only now
//! and then arrive together.
//!
//! **Shows as** exit 1 and `FAIL: lost 1 updates (expected 80, got 79)`.
//! `--fixed` holds a mutex across the read-modify-write.
//!
//! **Measured** (2-core VM, release build): untraced 55/300 (18%); under
//! `strace -f -o /dev/null` 100/100.
//!
//! **Why tracing changes it.** Here tracing makes the bug *worse*: the racy
//! window is two syscalls wide (the end of `pread`, the start of
//! `pwrite`), and under ptrace each of those stops the thread for the
//! tracer, stretching a window of microseconds to tens of them, while the
//! sleeps between visits stay 1 ms. A tracer with low overhead (eBPF)
//! leaves the window alone.

use std::io;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use lab::counter::{load, store};
use lab::{Outcome, Variant};

const WORKERS: u64 = 4;
const VISITS_PER_WORKER: u64 = 12;
const PACE: Duration = Duration::from_millis(1);
const PACE_STEP: Duration = Duration::from_micros(200);

fn main() -> std::process::ExitCode {
    lab::main(
        "lost_update: workers increment a counter file with pread/pwrite",
        run,
    )
}

fn run(variant: Variant) -> io::Result<Outcome> {
    let file = lab::counter::anonymous()?;
    let counter = Arc::new((file, Mutex::new(())));
    let workers = (0..WORKERS)
        .map(|w| {
            let counter = Arc::clone(&counter);
            let pace = PACE + PACE_STEP * w as u32;
            thread::spawn(move || -> io::Result<()> {
                let (file, lock) = &*counter;
                for _ in 0..VISITS_PER_WORKER {
                    thread::sleep(pace);
                    // A poisoned lock only means another worker panicked;
                    // the counter file is still consistent.
                    let _guard = variant
                        .is_fixed()
                        .then(|| lock.lock().unwrap_or_else(|e| e.into_inner()));
                    let visits = load(file)?;
                    store(file, visits + 1)?;
                }
                Ok(())
            })
        })
        .collect::<Vec<_>>();
    for worker in workers {
        lab::joined(worker.join(), "worker")??;
    }
    let expected = WORKERS * VISITS_PER_WORKER;
    let got = load(&counter.0)?;
    if got != expected {
        return Ok(Outcome::Fail(format!(
            "lost {} updates (expected {expected}, got {got})",
            expected.saturating_sub(got)
        )));
    }
    Ok(Outcome::Pass)
}
