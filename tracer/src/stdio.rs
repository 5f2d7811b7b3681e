//! tracer's own output to stdout and stderr, written so that a closed
//! output never panics, and what a closed output means, decided once.
//!
//! Rust's runtime ignores SIGPIPE, so a write to a pipe whose reader is
//! gone (`tracer report FILE | head -1`) fails with EPIPE instead of
//! killing tracer, and `println!`/`eprintln!` panic on that error. tracer
//! never uses them (main.rs denies `clippy::print_stdout` and
//! `print_stderr`):
//! - [`outln!`] writes a line of a command's result to stdout and returns
//!   the error, for `?`;
//! - [`note!`] writes a message to stderr, best effort: a message nobody
//!   can read is dropped, never a reason to stop (a daemon whose log pipe
//!   closed keeps serving);
//! - [`Guarded`] wraps the other writers a reader consumes (the trace on
//!   stderr or in `-o FILE`, an export to stdout) so that their EPIPE is
//!   told apart from a real failure, such as a full disk.
//!
//! A closed output means the reader went away, which is no error to report
//! to anyone: the command ends quietly (no message, as coreutils and
//! ripgrep do) and tracer dies by SIGPIPE, as it would had Rust not ignored
//! the signal, so the shell sees 141 as from `seq 1000000 | head -1` or
//! `strace CMD 2>&1 | head -1`. Not ripgrep's 0: a consumer that stopped
//! early did not get the whole result, and `set -o pipefail` scripts already
//! handle 141 from every coreutil. One exception, because tracer's status
//! is then the command's (the README promises it: `tracer record -- make
//! && deploy`): `record` with a launched command stops recording, lets the
//! command run on untraced and exits with its status (see `commands::record`).

use std::{
    error::Error,
    fmt,
    io::{self, Write},
};

/// A line of a command's result on stdout (`println!` that returns the
/// error instead of panicking).
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::stdio::out_line(format_args!($($arg)*))
    };
}
pub(crate) use outln;

/// A message on stderr, best effort (`eprintln!` that never panics).
macro_rules! note {
    ($($arg:tt)*) => {
        $crate::stdio::note_line(format_args!($($arg)*))
    };
}
pub(crate) use note;

/// What [`outln!`] calls.
pub fn out_line(args: fmt::Arguments) -> io::Result<()> {
    Guarded(io::stdout().lock()).write_fmt(format_args!("{args}\n"))
}

/// What [`note!`] calls.
pub fn note_line(args: fmt::Arguments) {
    let _ = io::stderr().lock().write_fmt(format_args!("{args}\n"));
}

/// The reader of an output went away (EPIPE on a write to it).
#[derive(Debug, thiserror::Error)]
#[error("the output was closed (broken pipe)")]
pub struct Closed;

/// A writer whose reader may go away: its EPIPE comes back as [`Closed`]
/// (still of kind `BrokenPipe`), which [`is_closed`] recognises anywhere
/// in an error's chain. An EPIPE from anything else (a socket to the
/// daemon) stays an ordinary error.
pub struct Guarded<W>(pub W);

impl<W: Write> Write for Guarded<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf).map_err(mark)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush().map_err(mark)
    }
}

fn mark(err: io::Error) -> io::Error {
    match err.kind() {
        io::ErrorKind::BrokenPipe if !is_closed_io(&err) => {
            io::Error::new(io::ErrorKind::BrokenPipe, Closed)
        }
        _ => err,
    }
}

/// Whether `err` is a guarded output's reader gone away.
pub fn is_closed_io(err: &io::Error) -> bool {
    err.get_ref().is_some_and(|inner| closed_in(inner))
}

/// Whether `err`, or what it wraps, is a guarded output's reader gone away
/// (then tracer ends quietly, by SIGPIPE).
pub fn is_closed(err: &anyhow::Error) -> bool {
    closed_in(err.as_ref())
}

fn closed_in(err: &(dyn Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(err) = next {
        if err.is::<Closed>() {
            return true;
        }
        if let Some(io) = err.downcast_ref::<io::Error>()
            && io.get_ref().is_some_and(|inner| closed_in(inner))
        {
            return true;
        }
        next = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context as _;

    /// A pipe whose read end is closed: every write fails with EPIPE.
    fn broken_pipe() -> std::fs::File {
        let (read, write) = nix::unistd::pipe().unwrap();
        drop(read);
        write.into()
    }

    #[test]
    fn a_guarded_epipe_is_closed_through_buffers_and_context() {
        let mut out = io::BufWriter::new(Guarded(broken_pipe()));
        writeln!(out, "line").unwrap();
        let err = out.flush().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        assert!(is_closed_io(&err));
        let err = Err::<(), _>(err)
            .context("cannot write the output")
            .unwrap_err();
        assert!(is_closed(&err));
        // serde_json hands the io::Error back as it was.
        let err = serde_json::to_writer(Guarded(broken_pipe()), &[1, 2]).unwrap_err();
        assert!(is_closed_io(&io::Error::from(err)));
    }

    #[test]
    fn an_unguarded_epipe_or_other_error_is_not() {
        let err = broken_pipe().write_all(b"x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        assert!(!is_closed_io(&err));
        assert!(!is_closed(&anyhow::Error::from(err)));
        let full = io::Error::from_raw_os_error(libc::ENOSPC);
        assert!(!is_closed_io(&mark(full)));
    }
}
