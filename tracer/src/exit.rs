//! How a subcommand asks tracer to end. Every subcommand returns
//! `Result<Exit>`; `main` turns it into the process's exit.

/// How tracer ends: with a status, or (like strace, when the traced command
/// was killed by a signal) by the same signal, so that shells and `tracer
/// compare` see what the command did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}
