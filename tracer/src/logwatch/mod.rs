//! Follows a log file from outside the target and timestamps the lines
//! appended to it that match a regex: the failure counter of
//! `--fail-on log=FILE:REGEX`, where a long-running service reports each
//! failure as a log line and failures are counted per window of time.
//!
//! Following from outside (inotify on the file's directory, reading the
//! file by offset) never touches the service: the count is the same
//! whether or not the service is traced, which is what makes traced and
//! untraced windows comparable.
//!
//! # API
//!
//! ```text
//! let watch = LogWatch::open(path, regex)?;    // starts at the end of FILE
//! ... window runs ...
//! let seen: Vec<Instant> = watch.take_all()?;  // every match written so far
//! let seen = watch.take_matches_until(t)?;     // or: those stamped <= t
//! drop(watch);                                  // stops the follower thread
//! ```
//!
//! A background thread wakes on every inotify event (and every
//! [`TICK`] in any case) and reads what was appended, stamping each
//! complete matching line with the [`Instant`] it was read: the write time
//! plus the wake-up latency (microseconds; milliseconds on a loaded
//! machine). Both `take_*` calls first read whatever the thread has not
//! yet, so a line written before the call is never missed: `take_all` is
//! the exact cut for a window that ends at the call; `take_matches_until`
//! attributes by timestamp and leaves later matches for the next call.
//!
//! # What counts
//!
//! - Only lines appended after [`LogWatch::open`]. If the file then ends in
//!   the middle of a line, the rest of that line is skipped too: it began
//!   before the watch.
//! - A line counts once it is complete (ends in `\n`); a partial line
//!   waits for the rest of its write. A line longer than [`MAX_LINE`] is
//!   matched on its first `MAX_LINE` bytes. Lines are bytes: a log need
//!   not be UTF-8.
//! - Truncation in place (logrotate's `copytruncate`, `> FILE`): the file
//!   is read again from its start. A partial line pending at the
//!   truncation is continued by what follows, as an `O_APPEND` writer
//!   would continue it.
//! - Rotation by rename and create: when FILE names a new file, the old
//!   one is read to its end and still followed (a service writes to it
//!   until it reopens its log) until the next rotation; its unterminated
//!   last line is then counted as a line. The new file is read from its
//!   start.
//! - A truncation followed by growth past the old offset between two
//!   reads cannot be told from growth and loses the overwritten part; at
//!   one read per inotify event this needs a writer faster than the
//!   follower.

pub mod criterion;

use std::collections::VecDeque;
use std::fs::{File, Metadata};
use std::io::{self, PipeWriter};
use std::os::fd::AsFd;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use regex::bytes::Regex;

/// How long the follower sleeps without an inotify event before it looks
/// anyway: a writer in another directory (the rotated file moved away)
/// raises no event on the watched one.
pub const TICK: Duration = Duration::from_millis(100);

/// The longest line matched whole; longer ones are matched on this prefix.
pub const MAX_LINE: usize = 1 << 20;

/// How much is read from the file at a time.
const CHUNK: usize = 64 * 1024;

/// Why a log cannot be followed.
#[derive(Debug, thiserror::Error)]
pub enum LogWatchError {
    #[error("log file {0} does not exist")]
    Missing(PathBuf),
    #[error("log file {0} is not a regular file")]
    NotAFile(PathBuf),
    #[error("cannot read log file {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("cannot watch {path} with inotify: {source}")]
    Inotify {
        path: PathBuf,
        source: nix::errno::Errno,
    },
    #[error("the log follower stopped: {0}")]
    Stopped(String),
}

/// A log file being followed; see the module docs.
pub struct LogWatch {
    follower: Arc<Mutex<Follower>>,
    /// Dropping it wakes the thread (its reader sees the pipe hang up).
    stop: Option<PipeWriter>,
    thread: Option<JoinHandle<()>>,
}

impl LogWatch {
    /// Starts following `path` from its current end, counting the lines
    /// that `regex` matches. Fails if the file does not exist, is not a
    /// regular file or cannot be read, or its directory cannot be watched.
    pub fn open(path: &Path, regex: Regex) -> Result<Self, LogWatchError> {
        Self::open_with_tick(path, regex, TICK)
    }

    /// [`LogWatch::open`] with another [`TICK`].
    fn open_with_tick(path: &Path, regex: Regex, tick: Duration) -> Result<Self, LogWatchError> {
        let tail = Tail::open(path, true)?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let inotify_err = |source| LogWatchError::Inotify {
            path: dir.clone(),
            source,
        };
        let inotify =
            Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC).map_err(inotify_err)?;
        // The directory, not the file: its events name every write to a
        // file in it (the log, and the old log after a rename within it)
        // and every rename or creation of the log's name.
        inotify
            .add_watch(
                &dir,
                AddWatchFlags::IN_MODIFY
                    | AddWatchFlags::IN_CREATE
                    | AddWatchFlags::IN_MOVED_TO
                    | AddWatchFlags::IN_MOVED_FROM
                    | AddWatchFlags::IN_DELETE
                    | AddWatchFlags::IN_ATTRIB,
            )
            .map_err(inotify_err)?;
        let follower = Arc::new(Mutex::new(Follower {
            path: path.to_path_buf(),
            regex,
            current: tail,
            previous: None,
            matches: VecDeque::new(),
            error: None,
        }));
        let (wake, stop) = io::pipe().map_err(|source| LogWatchError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let shared = Arc::clone(&follower);
        let thread = std::thread::Builder::new()
            .name("logwatch".into())
            .spawn(move || follow(&shared, &inotify, &wake, tick))
            .map_err(|source| LogWatchError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Self {
            follower,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Reads what was appended so far, then removes and returns the
    /// timestamps of the matches read at or before `until`, oldest first.
    /// Later ones stay for the next call.
    pub fn take_matches_until(&self, until: Instant) -> Result<Vec<Instant>, LogWatchError> {
        let mut f = self.caught_up()?;
        let n = f.matches.partition_point(|&t| t <= until);
        Ok(f.matches.drain(..n).collect())
    }

    /// Reads what was appended so far, then removes and returns the
    /// timestamps of every match, oldest first: the count of a window that
    /// ends now.
    pub fn take_all(&self) -> Result<Vec<Instant>, LogWatchError> {
        let mut f = self.caught_up()?;
        Ok(f.matches.drain(..).collect())
    }

    /// How many matches were read and not taken yet, without reading
    /// more: what the follower thread has seen by itself.
    #[cfg(test)]
    fn seen(&self) -> usize {
        let f = self.follower.lock().unwrap_or_else(|p| p.into_inner());
        f.matches.len()
    }

    /// The follower, after reading everything appended up to now.
    fn caught_up(&self) -> Result<MutexGuard<'_, Follower>, LogWatchError> {
        // A poisoned lock means the thread panicked mid-read; the state
        // is still a valid one to read on from.
        let mut f = self
            .follower
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(e) = &f.error {
            return Err(LogWatchError::Stopped(e.clone()));
        }
        f.catch_up()?;
        Ok(f)
    }
}

impl Drop for LogWatch {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The follower thread: read on every inotify event or [`TICK`], until
/// the stop pipe hangs up. An error ends it and is kept for the next
/// `take_*` call to return.
fn follow(follower: &Mutex<Follower>, inotify: &Inotify, wake: &io::PipeReader, tick: Duration) {
    loop {
        let mut fds = [
            PollFd::new(inotify.as_fd(), PollFlags::POLLIN),
            PollFd::new(wake.as_fd(), PollFlags::POLLIN),
        ];
        let timeout = PollTimeout::try_from(tick).unwrap_or(PollTimeout::MAX);
        let polled = poll(&mut fds, timeout);
        let stopping = fds[1].any().unwrap_or(true);
        if stopping {
            return;
        }
        let mut f = follower.lock().unwrap_or_else(|p| p.into_inner());
        match polled {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => {
                f.error = Some(format!("poll: {e}"));
                return;
            }
        }
        // The events only wake us; what changed is read from the file.
        // EAGAIN ends the drain.
        while inotify.read_events().is_ok_and(|events| !events.is_empty()) {}
        if let Err(e) = f.catch_up() {
            f.error = Some(e.to_string());
            return;
        }
    }
}

/// The state shared by the thread and the `take_*` calls.
struct Follower {
    path: PathBuf,
    regex: Regex,
    /// The file `path` named when last looked at.
    current: Tail,
    /// The file it named before the last rotation, still written to by a
    /// service that has not reopened its log yet.
    previous: Option<Tail>,
    /// Timestamps of the matches not taken yet, in order.
    matches: VecDeque<Instant>,
    /// Why the thread stopped, if it did.
    error: Option<String>,
}

impl Follower {
    /// Reads everything appended to the followed files, switching to a
    /// new file if `path` was rotated.
    fn catch_up(&mut self) -> Result<(), LogWatchError> {
        let Self {
            path,
            regex,
            current,
            previous,
            matches,
            ..
        } = self;
        let mut on_line = |line: &[u8]| {
            if regex.is_match(line) {
                matches.push_back(Instant::now());
            }
        };
        if let Some(prev) = previous {
            prev.read_new(path, &mut on_line)?;
        }
        current.read_new(path, &mut on_line)?;
        // Rotated: `path` names another file now. A missing `path` (moved
        // away, not yet recreated) is not a rotation yet.
        match std::fs::metadata(&*path) {
            Ok(meta) if !current.is(&meta) => {
                let mut new = Tail::open(path, false)?;
                if let Some(mut old) = previous.take() {
                    old.finish(&mut on_line);
                }
                new.read_new(path, &mut on_line)?;
                *previous = Some(std::mem::replace(current, new));
            }
            _ => {}
        }
        Ok(())
    }
}

/// One file being read: where it is at, and its unfinished last line.
struct Tail {
    file: File,
    dev: u64,
    ino: u64,
    offset: u64,
    /// Bytes of a line whose `\n` has not been read yet.
    pending: Vec<u8>,
    /// Discard bytes up to the next `\n`: the rest of a line that began
    /// before the watch, or of one longer than [`MAX_LINE`].
    skipping: bool,
}

impl Tail {
    /// Opens `path`, at its end (`at_end`, skipping a partial last line)
    /// or at its start.
    fn open(path: &Path, at_end: bool) -> Result<Self, LogWatchError> {
        let io_err = |source: io::Error| match source.kind() {
            io::ErrorKind::NotFound => LogWatchError::Missing(path.to_path_buf()),
            _ => LogWatchError::Io {
                path: path.to_path_buf(),
                source,
            },
        };
        // O_NONBLOCK: opening a FIFO must not hang; it is refused below.
        let file = File::options()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .map_err(io_err)?;
        let meta = file.metadata().map_err(io_err)?;
        if !meta.is_file() {
            return Err(LogWatchError::NotAFile(path.to_path_buf()));
        }
        let mut tail = Self {
            file,
            dev: meta.dev(),
            ino: meta.ino(),
            offset: 0,
            pending: Vec::new(),
            skipping: false,
        };
        if at_end && meta.len() > 0 {
            tail.offset = meta.len();
            let mut last = [0u8; 1];
            tail.file
                .read_exact_at(&mut last, meta.len() - 1)
                .map_err(io_err)?;
            tail.skipping = last[0] != b'\n';
        }
        Ok(tail)
    }

    /// Whether `meta` describes this file.
    fn is(&self, meta: &Metadata) -> bool {
        meta.dev() == self.dev && meta.ino() == self.ino
    }

    /// Reads what was appended since the last call and hands every
    /// complete line to `on_line`. `path` is for error messages.
    fn read_new(
        &mut self,
        path: &Path,
        on_line: &mut impl FnMut(&[u8]),
    ) -> Result<(), LogWatchError> {
        let io_err = |source| LogWatchError::Io {
            path: path.to_path_buf(),
            source,
        };
        let len = self.file.metadata().map_err(io_err)?.len();
        if len < self.offset {
            // Truncated in place: start over from its beginning.
            self.offset = 0;
        }
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = match self.file.read_at(&mut buf, self.offset) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_err(e)),
            };
            self.offset += n as u64;
            self.feed(&buf[..n], on_line);
        }
    }

    /// Splits `bytes` into lines, joining the pending partial line.
    fn feed(&mut self, mut bytes: &[u8], on_line: &mut impl FnMut(&[u8])) {
        while !bytes.is_empty() {
            let newline = bytes.iter().position(|&b| b == b'\n');
            let (part, rest, complete) = match newline {
                Some(i) => (&bytes[..i], &bytes[i + 1..], true),
                None => (bytes, &[][..], false),
            };
            bytes = rest;
            if self.skipping {
                self.skipping = !complete;
                continue;
            }
            let room = MAX_LINE - self.pending.len();
            self.pending
                .extend_from_slice(&part[..part.len().min(room)]);
            if complete || self.pending.len() == MAX_LINE {
                on_line(&self.pending);
                self.pending.clear();
                // An overlong line's remainder is not a line of its own.
                self.skipping = !complete;
            }
        }
    }

    /// This file will not be read again: its unterminated last line, if
    /// any, counts as a line.
    fn finish(&mut self, on_line: &mut impl FnMut(&[u8])) {
        if !self.pending.is_empty() {
            on_line(&self.pending);
            self.pending.clear();
        }
    }
}

#[cfg(test)]
mod tests;
