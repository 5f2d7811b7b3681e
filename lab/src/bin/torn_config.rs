//! # torn_config: a reload lands while a reader is between check and use
//!
//! **Pattern.** A worker takes the configuration's generation number,
//! reads the configuration body (one `read` from the pipe it arrives on),
//! parses it (50 µs of CPU work) and then checks that the generation has
//! not moved, as a seqlock reader would. A reloader thread publishes the
//! next generation 150 µs after both start. The worker's window (from
//! taking the generation to checking it) is about 55 µs long and ends well
//! before the reload, so the race almost never strikes: unless something
//! stretches the window, and the only thing in it that can be stretched
//! from outside is the `read`.
//!
//! **Shows as** exit 1 and `FAIL: torn configuration: generation 1 when
//! reading, 2 after parsing`. `--fixed` makes the reloader wait until the
//! worker is done (same syscalls, no race).
//!
//! **Why it is here.** It is the case `tracer amplify` exists for: a rare
//! failure whose window contains a syscall. Delaying `read` by 200 µs
//! widens the window past the reload and the failure becomes near-certain
//! (see the README's amplify section for a measured table); 20 µs is too
//! little, which measures the window: the reload comes about 100 µs after
//! the `read`.
//!
//! **Measured** (`tracer amplify`, 2-core VM, release build, load 7 to 12
//! from other builds): untraced 1/30 and 0/30 in two batches; under
//! `delay:read=200us` 30/30 both times (22/30 with `--jobs 2` at load 12);
//! `delay:read=20us` 0/30; every other syscall delayed: 0/30.

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use lab::{Outcome, StartLine, Variant};

/// The worker's parsing of the body, after its `read`.
const PARSE: Duration = Duration::from_micros(10);
/// When the reloader publishes the next generation, from the start line.
const RELOAD_AT: Duration = Duration::from_micros(80);

fn main() -> std::process::ExitCode {
    lab::main(
        "torn_config: a reload lands inside a reader's check-then-use window",
        run,
    )
}

fn run(variant: Variant) -> io::Result<Outcome> {
    let (mut body, mut feed) = io::pipe()?;
    feed.write_all(b"heartbeat=10ms\nworkers=4\n")?;
    drop(feed);
    let generation = Arc::new(AtomicU64::new(1));
    let worker_done = Arc::new(AtomicBool::new(false));
    let start = Arc::new(StartLine::new(2));

    let reloader = {
        let (generation, worker_done, start) = (
            Arc::clone(&generation),
            Arc::clone(&worker_done),
            Arc::clone(&start),
        );
        thread::spawn(move || {
            start.wait();
            lab::busy(RELOAD_AT);
            if variant.is_fixed() {
                while !worker_done.load(Ordering::Acquire) {
                    std::hint::spin_loop();
                }
            }
            generation.store(2, Ordering::Release);
        })
    };
    let worker = {
        let generation = Arc::clone(&generation);
        thread::spawn(move || -> io::Result<(u64, u64)> {
            let mut text = [0u8; 64];
            start.wait();
            let before = generation.load(Ordering::Acquire);
            // The window: the read, then the parse.
            let n = body.read(&mut text)?;
            std::hint::black_box(&text[..n]);
            lab::busy(PARSE);
            let after = generation.load(Ordering::Acquire);
            worker_done.store(true, Ordering::Release);
            Ok((before, after))
        })
    };
    let (before, after) = lab::joined(worker.join(), "worker")??;
    lab::joined(reloader.join(), "reloader")?;
    if before == after {
        Ok(Outcome::Pass)
    } else {
        Ok(Outcome::Fail(format!(
            "torn configuration: generation {before} when reading, {after} after parsing"
        )))
    }
}
