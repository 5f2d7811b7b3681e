//! # collector_race: the wait covers the producers but not the collector
//!
//! **Pattern.** Four producer threads each compute 50 results (a 1 ms sleep
//! stands in for the work) and send them over a pipe to a collector thread,
//! which logs each result and counts it. `main` joins the producers and then
//! reads the collector's count. Its wait covers the producers but not the
//! collector: the last result can still be in the pipe, or between the
//! collector's `read` and its log `write`, when `main` looks.
//!
//! **Shows as** exit 1 and `FAIL: lost 1 of 200 results (the collector had
//! 199 when main read the total)`. `--fixed` joins the collector, which
//! stops at the pipe's EOF once every producer is gone, before reading.
//!
//! **Measured** (2-core VM, release build, log to /dev/null): untraced
//! 73/300 (24%); under `strace -f -o /dev/null` 1/100 (1%).
//!
//! **Why tracing hides it.** After the last producer's final `write`, the
//! collector needs its `read` to return and one log `write` to count the
//! result, while `main` needs the producer thread to exit (a few syscalls:
//! unmapping its stack, `exit`) and to return from its own `futex` wait.
//! Under ptrace every syscall stops for the tracer, and the exit path has
//! more of them, so the collector now wins the race it often loses
//! untraced. The balance is what matters: when the collector wrote each log
//! line in three `write`s (`writeln!` on a `File`), strace made the bug
//! *more* frequent (36/50).

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use lab::{Outcome, Variant};

const PRODUCERS: u64 = 4;
const RESULTS_PER_PRODUCER: u64 = 50;
const WORK: Duration = Duration::from_millis(1);

fn main() -> std::process::ExitCode {
    lab::main(
        "collector_race: main reads the total before the collector drained the pipe",
        run,
    )
}

fn run(variant: Variant) -> io::Result<Outcome> {
    let (mut reader, writer) = io::pipe()?;
    let mut log = lab::log_sink()?;
    let collected = Arc::new(AtomicU64::new(0));
    let collector = {
        let collected = Arc::clone(&collected);
        thread::spawn(move || {
            // Writes of 8 bytes to a pipe are atomic, so reads stay aligned;
            // the loop ends at EOF, once every writer is closed.
            let mut result = [0u8; 8];
            while reader.read_exact(&mut result).is_ok() {
                let line = format!("collected {}\n", u64::from_le_bytes(result));
                // One `write` per result (`writeln!` on a `File` makes three).
                let _ = log.write_all(line.as_bytes());
                collected.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    let producers = (0..PRODUCERS)
        .map(|p| {
            let mut writer = writer.try_clone()?;
            Ok(thread::spawn(move || -> io::Result<()> {
                for i in 0..RESULTS_PER_PRODUCER {
                    thread::sleep(WORK);
                    writer.write_all(&(p * 1000 + i).to_le_bytes())?;
                }
                Ok(())
            }))
        })
        .collect::<io::Result<Vec<_>>>()?;
    // Only the producers' clones keep the pipe open now.
    drop(writer);
    for producer in producers {
        lab::joined(producer.join(), "producer")??;
    }
    let collector = if variant.is_fixed() {
        lab::joined(collector.join(), "collector")?;
        None
    } else {
        Some(collector)
    };
    // The bug: nothing says the collector is done yet.
    let got = collected.load(Ordering::SeqCst);
    let expected = PRODUCERS * RESULTS_PER_PRODUCER;
    if got != expected {
        return Ok(Outcome::Fail(format!(
            "lost {} of {expected} results (the collector had {got} when main read the total)",
            expected - got
        )));
    }
    // Only reached when the collector had everything (or was joined): it
    // is at or near EOF, so this join is quick.
    if let Some(collector) = collector {
        lab::joined(collector.join(), "collector")?;
    }
    Ok(Outcome::Pass)
}
