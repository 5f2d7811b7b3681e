//! tracer: a Linux syscall tracer that knows its own observer effect.
//!
//! `main` only wires things together: parse the command line, run the
//! subcommand, turn its outcome into an exit status.

// `println!` and `eprintln!` panic when the output is closed: tracer
// writes through `stdio` instead.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod calibration;
mod cli;
mod clock;
mod commands;
mod daemon;
mod duration;
mod ebpf;
mod event;
mod exit;
mod export;
mod fds;
mod files;
mod hash;
mod inject;
mod launch;
// Until `compare -p` counts `--fail-on log=FILE:REGEX` with it (#15).
#[allow(dead_code)]
mod logwatch;
mod output;
mod pipeline;
mod procfs;
mod ptrace;
mod recording;
mod request;
mod source;
mod stacks;
mod stats;
mod stdio;
mod syscalls;

use std::process::ExitCode;

use clap::Parser;

use commands::{amplify, compare, ctl, delay, overhead, record, report};
use exit::Exit;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let outcome = match cli.command {
        cli::Command::Record(args) => record::run(args),
        cli::Command::Report(args) => report::run(args),
        cli::Command::Export(args) => commands::export::run(args),
        cli::Command::Compare(args) => compare::run(args),
        cli::Command::Amplify(args) => amplify::run(args),
        cli::Command::Overhead(args) => overhead::run(args),
        cli::Command::Daemon(args) => daemon::run(args),
        cli::Command::Ctl(args) => ctl::run(args),
        cli::Command::SyscallLoop { count } => overhead::syscall_loop(count),
        cli::Command::FloorProbe => overhead::floor_probe(),
        cli::Command::Delay(args) => delay::run(args),
        cli::Command::SyscallTimes { count, threads } => delay::syscall_times(count, threads),
    };
    // A closed output (the reader went away) ends tracer quietly, by
    // SIGPIPE: see `stdio` for why.
    let outcome = outcome.or_else(|err| match stdio::is_closed(&err) {
        true => Ok(Exit::Signal(libc::SIGPIPE)),
        false => Err(err),
    });
    match outcome {
        Ok(Exit::Code(code)) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Ok(Exit::Signal(signal)) => {
            die_by(signal);
            ExitCode::from(u8::try_from(128 + signal).unwrap_or(1))
        }
        Err(err) => {
            stdio::note!("tracer: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Re-raises `signal` on ourselves with its default action, without a core
/// dump of tracer. Returns only if the signal does not kill.
fn die_by(signal: i32) {
    let no_core = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain libc calls on our own process; `no_core` outlives them.
    unsafe {
        libc::setrlimit(libc::RLIMIT_CORE, &no_core);
        libc::signal(signal, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, signal);
        libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::raise(signal);
    }
}
