//! # early_use: a request thread takes from a pool still being filled
//!
//! **Pattern.** At start-up a pool thread fills a connection pool (60 µs
//! of CPU work: the "handshakes") and then marks it ready. Meanwhile a
//! request thread opens its log (`openat`), writes a line to it (`write`)
//! and takes a connection, without waiting for the pool to be ready. Both
//! start together; the request thread's two syscalls take a few µs, so it
//! nearly always arrives first and fails.
//!
//! **Shows as** exit 1 and `FAIL: request thread took from the pool before
//! it was filled`. `--fixed` waits for the ready flag (same syscalls).
//!
//! **Why it is here.** The other direction of `tracer amplify`: delaying a
//! syscall of the *fast* thread (`openat` or `write` of the request
//! thread, by 200 µs) makes it arrive after the pool is ready, and the
//! failure vanishes. That is how a tracer hides a bug: by slowing the
//! syscall-heavy side of a race. A table that says "delaying openat hides
//! it" says which side must be fast for the failure to happen.
//!
//! **Measured** (`tracer amplify`, 2-core VM, release build, load 7 to 12
//! from other builds): untraced 29/30 and 30/30 in two batches; under
//! `delay:openat=200us` 0/30 both times, `delay:write=200us` 0/30;
//! `delay:openat=20us` 26/30 (not enough to matter); the other syscalls
//! delayed leave it at 28/30 to 30/30.

use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use lab::{Outcome, StartLine, Variant};

/// How long the pool thread takes to fill the pool.
const FILL: Duration = Duration::from_micros(60);

fn main() -> std::process::ExitCode {
    lab::main(
        "early_use: a request thread takes from a pool still being filled",
        run,
    )
}

fn run(variant: Variant) -> io::Result<Outcome> {
    let ready = Arc::new(AtomicBool::new(false));
    let start = Arc::new(StartLine::new(2));
    let pool = {
        let (ready, start) = (Arc::clone(&ready), Arc::clone(&start));
        thread::spawn(move || {
            start.wait();
            lab::busy(FILL);
            ready.store(true, Ordering::Release);
        })
    };
    let request = thread::spawn(move || -> io::Result<bool> {
        start.wait();
        let mut log = lab::log_sink()?;
        log.write_all(b"request: taking a connection\n")?;
        if variant.is_fixed() {
            while !ready.load(Ordering::Acquire) {
                std::hint::spin_loop();
            }
        }
        Ok(ready.load(Ordering::Acquire))
    });
    let filled = lab::joined(request.join(), "request")??;
    lab::joined(pool.join(), "pool")?;
    if filled {
        Ok(Outcome::Pass)
    } else {
        Ok(Outcome::Fail(
            "request thread took from the pool before it was filled".to_string(),
        ))
    }
}
