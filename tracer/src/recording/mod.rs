//! Recordings: a run's events in a compact binary file (`tracer record -w`)
//! that `tracer report`, the exports and the daemon's dumps read back
//! through the same pipeline as a live run, so that every output is the
//! same whether the events come from the kernel or from a file.
//!
//! [`format`] says what the bytes are, [`writer`] writes them as a sink,
//! [`reader`] streams them back in constant memory.

pub mod format;
pub mod reader;
pub mod writer;

#[cfg(test)]
mod tests;

use std::{io::Read, path::Path};

use anyhow::{Context as _, Result};

pub use format::{Header, RecordingError};
pub use reader::{Item, Reader};
pub use writer::{Writer, realtime_offset_ns};

use crate::pipeline::{Pipeline, RunInfo};

/// What replaying a recording found.
#[derive(Debug)]
pub struct Replay {
    #[allow(dead_code, reason = "for the exports")]
    pub header: Header,
    /// The run's totals; the caller passes them to `Pipeline::finish`.
    pub run: RunInfo,
    /// The recording ended as a finished run ends. `false`: cut short
    /// (tracer killed, disk full) or damaged; [`Replay::warning`] says how.
    pub complete: bool,
    /// Why reading stopped before the end of the file, if it did: what was
    /// replayed is everything before that point.
    pub damage: Option<RecordingError>,
    /// Syscall events replayed (before any filter).
    pub syscalls: u64,
}

impl Replay {
    /// A sentence for stderr when the recording is not whole: cut short or
    /// damaged where, and how many syscalls were replayed.
    pub fn warning(&self) -> Option<String> {
        let held = format!("the {} syscalls before it are shown", self.syscalls);
        match &self.damage {
            Some(RecordingError::Truncated { offset }) => Some(format!(
                "the recording is cut short at byte {offset} (tracer was stopped, or the disk filled up, before it finished); {held}"
            )),
            Some(damage) => Some(format!("{damage}; {held}")),
            None if !self.complete => Some(format!(
                "the recording is cut short (tracer was stopped, or the disk filled up, before it finished); the {} syscalls it holds are shown",
                self.syscalls
            )),
            None => None,
        }
    }
}

/// Feeds every event and anomaly of the recording at `path` through
/// `pipeline` (`push`, `push_anomaly`), in recorded order. Does not call
/// `pipeline.finish`: the caller does, with `Replay::run` (which it may
/// adjust, e.g. to a time window).
///
/// A file that is not a recording, or whose header is unreadable, is an
/// error. A recording cut short or damaged after its header is replayed up
/// to its last good record and reported in `Replay::complete` and
/// `Replay::damage`.
pub fn replay(path: &Path, pipeline: &mut Pipeline) -> Result<Replay> {
    let reader = Reader::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    replay_from(reader, pipeline)
}

/// [`replay`] from a reader whose header the caller has looked at already.
pub fn replay_from<R: Read>(mut reader: Reader<R>, pipeline: &mut Pipeline) -> Result<Replay> {
    let damage = loop {
        match reader.next_item() {
            Ok(Some(Item::Event(event))) => {
                pipeline.push(event).context("cannot write the output")?
            }
            Ok(Some(Item::Anomaly(anomaly))) => pipeline
                .push_anomaly(&anomaly)
                .context("cannot write the output")?,
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    Ok(Replay {
        header: reader.header().clone(),
        run: reader.run(),
        complete: reader.complete() && damage.is_none(),
        damage,
        syscalls: reader.syscalls_read(),
    })
}
