//! `--fail-on log=FILE:REGEX` in a live compare: failures are the lines
//! appended to a log that match, read from outside the service
//! (`logwatch`), so they are counted the same way in every window
//! whatever the mode. The unit is time: failures per hour of each mode's
//! windows (`report` does the statistics).

use std::time::Instant;

use anyhow::{Context as _, Result};

use super::{
    fail_on::Kind,
    report::Unit,
    windows::{Criterion, Process, Window, WindowTally, tally_events},
};
use crate::{
    clock::clock_ns,
    logwatch::{LogWatch, criterion::LogCriterion},
};

pub struct LogLines {
    watch: LogWatch,
    /// When each matching line was read, in `CLOCK_MONOTONIC` ns (the
    /// windows' clock).
    seen: Vec<u64>,
    /// One reading of both clocks, to put the follower's `Instant`s on
    /// the windows' clock (both are `CLOCK_MONOTONIC` on Linux; `Instant`
    /// only hides the number).
    anchor: (Instant, u64),
}

impl LogLines {
    /// Starts following the log: lines appended from now on count.
    pub fn open(criterion: &LogCriterion) -> Result<Self> {
        let watch = LogWatch::open(&criterion.path, criterion.regex.clone())
            .with_context(|| format!("--fail-on log={}", criterion.path.display()))?;
        Ok(Self {
            watch,
            seen: Vec::new(),
            anchor: (Instant::now(), clock_ns(libc::CLOCK_MONOTONIC)),
        })
    }

    fn ns(&self, at: Instant) -> u64 {
        let (instant, ns) = self.anchor;
        match at.checked_duration_since(instant) {
            Some(after) => ns + after.as_nanos() as u64,
            None => ns.saturating_sub(instant.duration_since(at).as_nanos() as u64),
        }
    }
}

impl Criterion for LogLines {
    fn unit(&self) -> Unit {
        Unit::Time
    }

    fn poll(&mut self, _procs: &[Process]) -> Result<()> {
        let lines = self.watch.take_all().context("cannot follow the log")?;
        let stamped: Vec<u64> = lines.into_iter().map(|at| self.ns(at)).collect();
        self.seen.extend(stamped);
        Ok(())
    }

    fn tally(&self, windows: &[Window], _procs: &[Process]) -> Vec<WindowTally> {
        tally_events(windows, &self.seen, Kind::Log)
    }
}
