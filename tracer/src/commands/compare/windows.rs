//! The windows of a live compare, and which runs each one counts. Pure
//! functions of what happened (when each window's mode was in force,
//! which processes started and ended when), so that the rules are tested
//! on their own:
//!
//! - [`schedule`]: N windows per mode in cycles, each cycle every mode once
//!   in a new random order, so that drift in the service (load over the
//!   day) hits every mode alike;
//! - [`place`]: a run is counted in the window where it ended; it counts
//!   for that window's mode only when it ran wholly while the mode was in
//!   force (it started after the recorder had attached, ended before it
//!   began to detach) and, in a traced window, the recorder followed it.
//!   Any other run is "mixed": reported, and left out of every rate;
//! - [`Criterion`]: what a failure criterion counts per window, in its
//!   unit. Runs (`--fail-on exit`, `signal`) are the one here; matching
//!   log lines (`log=FILE:REGEX`, `log_lines`) are counted per unit of
//!   time, with statistics of their own (`report`).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{fail_on::Kind, report::Unit};

/// The mode of each window in order: `per_mode` cycles, each holding every
/// one of `modes` once, shuffled anew per cycle.
pub fn schedule(modes: usize, per_mode: u64, rng: &mut fastrand::Rng) -> Vec<usize> {
    let mut order = Vec::with_capacity(modes * per_mode as usize);
    for _ in 0..per_mode {
        let mut cycle: Vec<usize> = (0..modes).collect();
        rng.shuffle(&mut cycle);
        order.extend(cycle);
    }
    order
}

/// One window as it happened (`CLOCK_MONOTONIC` ns throughout). Its span,
/// from `begin_ns` to `closed_ns`, is contiguous with its neighbours'; its
/// mode was in force from `start_ns` (the recorder attached; `begin_ns`
/// for an untraced window) to `end_ns` (detaching began).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Window {
    /// Index into the compare's modes.
    pub mode: usize,
    pub traced: bool,
    pub begin_ns: u64,
    pub start_ns: u64,
    pub end_ns: u64,
    pub closed_ns: u64,
    /// The processes the recorder attached to (indices into the process
    /// table): the roots of what it followed in this window.
    #[serde(skip)]
    pub attached: Vec<usize>,
}

/// A process of the watched set, as far as it was seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Process {
    pub tgid: u32,
    /// The process that forked it, when that was seen (index into the
    /// process table).
    pub parent: Option<usize>,
    /// When it was forked; `None` when it was running before the compare.
    pub start_ns: Option<u64>,
    /// When it exited, and how (`wait(2)` status, when the kernel said).
    pub end: Option<(u64, Option<i32>)>,
    /// Whether it is one of the runs counted (with `--comm`, only the
    /// processes of that name; their children are watched, not counted).
    pub counted: bool,
}

/// Why a run is left out of the rates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mixed {
    /// It started before its window's mode was in force (in an earlier
    /// window, while the recorder attached, or before the compare), or
    /// ended while the recorder detached.
    Straddles,
    /// In a traced window, the recorder did not follow it: it started
    /// outside every process the recorder attached to.
    NotFollowed,
    /// The kernel did not say how it ended.
    NoStatus,
    /// A failure logged while the recorder attached or detached (time
    /// criteria: a line belongs to no mode then).
    Transition,
}

/// Where a run is counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// For window `0`'s mode.
    Clean(usize),
    /// In window `0`, as mixed.
    Mixed(usize, Mixed),
    /// It ended outside every window (before the first, after the last).
    Outside,
}

/// The window whose span holds `ts`.
fn window_at(windows: &[Window], ts: u64) -> Option<usize> {
    windows
        .iter()
        .position(|w| w.begin_ns <= ts && ts < w.closed_ns)
}

/// Where process `index` is counted, by the rules in the file's header.
pub fn place(windows: &[Window], procs: &[Process], index: usize) -> Placement {
    let p = &procs[index];
    let Some((end_ns, status)) = p.end else {
        return Placement::Outside;
    };
    let Some(w) = window_at(windows, end_ns) else {
        return Placement::Outside;
    };
    let window = &windows[w];
    let within = p.start_ns.is_some_and(|s| s >= window.start_ns) && end_ns <= window.end_ns;
    if !within {
        return Placement::Mixed(w, Mixed::Straddles);
    }
    if window.traced && !followed(window, procs, index) {
        return Placement::Mixed(w, Mixed::NotFollowed);
    }
    if status.is_none() {
        return Placement::Mixed(w, Mixed::NoStatus);
    }
    Placement::Clean(w)
}

/// Whether the recorder of `window` followed process `index`: it attached
/// to it, or to an ancestor that forked the chain down to it while the
/// window's mode was in force.
fn followed(window: &Window, procs: &[Process], mut index: usize) -> bool {
    // Bounded by the table: a chain of parents cannot be longer.
    for _ in 0..=procs.len() {
        if window.attached.contains(&index) {
            return true;
        }
        let p = &procs[index];
        let forked_in_window = p.start_ns.is_some_and(|s| s >= window.start_ns);
        match p.parent {
            Some(parent) if forked_in_window => index = parent,
            _ => return false,
        }
    }
    false
}

/// What one window counted.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct WindowTally {
    /// Runs counted for the window's mode.
    pub runs: u64,
    pub failures: BTreeMap<Kind, u64>,
    /// Runs that ended in the window but are left out, by why.
    pub mixed: BTreeMap<Mixed, u64>,
    /// The durations of the counted runs, in seconds.
    #[serde(skip)]
    pub wall: Vec<f64>,
}

impl WindowTally {
    pub fn failed(&self) -> u64 {
        self.failures.values().sum()
    }

    pub fn mixed_total(&self) -> u64 {
        self.mixed.values().sum()
    }
}

/// What a failure criterion counts, window by window. The compare feeds
/// it the processes as they end and asks for the tallies once every
/// window has closed; the per-mode statistics follow from its [`Unit`].
pub trait Criterion {
    fn unit(&self) -> Unit;
    /// Takes the processes seen so far (called on every tick: a criterion
    /// with a source of its own, a log, reads it here).
    fn poll(&mut self, procs: &[Process]) -> anyhow::Result<()>;
    /// The count of each window.
    fn tally(&self, windows: &[Window], procs: &[Process]) -> Vec<WindowTally>;
}

/// `--fail-on exit` / `signal`: each counted process that ended is a run,
/// failed when its status says so.
pub struct Runs {
    pub rules: super::fail_on::FailOn,
}

impl Criterion for Runs {
    fn unit(&self) -> Unit {
        Unit::Runs
    }

    fn poll(&mut self, _procs: &[Process]) -> anyhow::Result<()> {
        Ok(())
    }

    fn tally(&self, windows: &[Window], procs: &[Process]) -> Vec<WindowTally> {
        let mut tallies = vec![WindowTally::default(); windows.len()];
        for (i, p) in procs.iter().enumerate() {
            if !p.counted {
                continue;
            }
            match place(windows, procs, i) {
                Placement::Clean(w) => {
                    let t = &mut tallies[w];
                    t.runs += 1;
                    let (end_ns, status) = p.end.unwrap_or_default();
                    if let Some(start) = p.start_ns {
                        t.wall.push(end_ns.saturating_sub(start) as f64 / 1e9);
                    }
                    if let Some(kind) = status.and_then(|s| self.rules.judge_status(s)) {
                        *t.failures.entry(kind).or_default() += 1;
                    }
                }
                Placement::Mixed(w, why) => *tallies[w].mixed.entry(why).or_default() += 1,
                Placement::Outside => {}
            }
        }
        tallies
    }
}

/// Time criteria: each event (a matching log line, at `CLOCK_MONOTONIC`
/// ns) counts as a failure of the window whose mode was in force then, or
/// as mixed when it came while a recorder attached or detached.
pub fn tally_events(windows: &[Window], events: &[u64], kind: Kind) -> Vec<WindowTally> {
    let mut tallies = vec![WindowTally::default(); windows.len()];
    for &ts in events {
        let Some(w) = window_at(windows, ts) else {
            continue;
        };
        let window = &windows[w];
        if window.start_ns <= ts && ts <= window.end_ns {
            *tallies[w].failures.entry(kind).or_default() += 1;
        } else {
            *tallies[w].mixed.entry(Mixed::Transition).or_default() += 1;
        }
    }
    tallies
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::compare::fail_on::FailOn;

    const MS: u64 = 1_000_000;

    /// Windows of 100 ms with 10 ms of attach and 10 ms of detach in the
    /// traced ones; `modes[i]` is window i's mode (0: untraced).
    fn windows(modes: &[usize]) -> Vec<Window> {
        modes
            .iter()
            .enumerate()
            .map(|(i, &mode)| {
                let begin = 1000 * MS + i as u64 * 100 * MS;
                let traced = mode != 0;
                let pad = if traced { 10 * MS } else { 0 };
                Window {
                    mode,
                    traced,
                    begin_ns: begin,
                    start_ns: begin + pad,
                    end_ns: begin + 100 * MS - pad,
                    closed_ns: begin + 100 * MS,
                    attached: vec![],
                }
            })
            .collect()
    }

    fn proc(start_ms: Option<u64>, end_ms: u64, status: i32) -> Process {
        Process {
            tgid: 1,
            parent: None,
            start_ns: start_ms.map(|s| s * MS),
            end: Some((end_ms * MS, Some(status))),
            counted: true,
        }
    }

    #[test]
    fn events_count_where_the_mode_was_in_force() {
        let w = windows(&[0, 1]);
        let at = |ms: u64| ms * MS;
        // Window 0 (untraced: all of it), window 1's attach, its middle,
        // its detach, and after the last window.
        let events = [at(1000), at(1099), at(1105), at(1150), at(1195), at(1300)];
        let t = tally_events(&w, &events, Kind::Log);
        assert_eq!(t[0].failures[&Kind::Log], 2);
        assert_eq!(t[0].mixed_total(), 0);
        assert_eq!(t[1].failures[&Kind::Log], 1);
        assert_eq!(t[1].mixed[&Mixed::Transition], 2);
        assert_eq!(t[1].runs, 0);
    }

    #[test]
    fn the_schedule_has_every_mode_once_per_cycle() {
        let mut rng = fastrand::Rng::with_seed(7);
        let order = schedule(3, 50, &mut rng);
        assert_eq!(order.len(), 150);
        for cycle in order.chunks(3) {
            let mut c = cycle.to_vec();
            c.sort();
            assert_eq!(c, [0, 1, 2]);
        }
        // Shuffled: not every cycle in the same order.
        assert!(order.chunks(3).any(|c| c != &order[..3]), "{order:?}");
    }

    #[test]
    fn a_run_is_counted_where_it_ended_and_straddlers_are_mixed() {
        let w = windows(&[0, 0, 1]);
        let procs = vec![
            // Wholly inside window 0.
            proc(Some(1010), 1050, 0),
            // From window 0 into window 1, both untraced: still mixed,
            // it crossed a boundary.
            proc(Some(1090), 1110, 0),
            // Started before the compare.
            proc(None, 1020, 0),
            // Started while window 2's recorder attached.
            proc(Some(1205), 1250, 0),
            // Ended while window 2's recorder detached.
            proc(Some(1250), 1295, 0),
            // After the last window.
            proc(Some(1250), 1400, 0),
        ];
        let places: Vec<_> = (0..procs.len()).map(|i| place(&w, &procs, i)).collect();
        assert_eq!(
            places,
            [
                Placement::Clean(0),
                Placement::Mixed(1, Mixed::Straddles),
                Placement::Mixed(0, Mixed::Straddles),
                Placement::Mixed(2, Mixed::Straddles),
                Placement::Mixed(2, Mixed::Straddles),
                Placement::Outside,
            ]
        );
    }

    #[test]
    fn a_traced_window_counts_only_what_its_recorder_followed() {
        let mut w = windows(&[1]);
        // 0: the supervisor, attached; 1: a worker it forked in the
        // window; 2: that worker's child; 3: a process from elsewhere;
        // 4: forked by the supervisor before the window, its child 5 in it.
        let mut procs = vec![
            proc(None, 5000, 0),
            proc(Some(1020), 1050, 0),
            proc(Some(1030), 1040, 0),
            proc(Some(1020), 1060, 0),
            proc(Some(1005), 1080, 0),
            proc(Some(1030), 1040, 0),
        ];
        procs[0].end = None;
        procs[1].parent = Some(0);
        procs[2].parent = Some(1);
        procs[4].parent = Some(0);
        procs[5].parent = Some(4);
        w[0].attached = vec![0];
        let places: Vec<_> = (1..procs.len()).map(|i| place(&w, &procs, i)).collect();
        assert_eq!(
            places,
            [
                Placement::Clean(0),
                Placement::Clean(0),
                Placement::Mixed(0, Mixed::NotFollowed),
                Placement::Mixed(0, Mixed::Straddles),
                Placement::Mixed(0, Mixed::NotFollowed),
            ]
        );
        // Untraced windows follow nothing and need not.
        let w = windows(&[0]);
        assert_eq!(place(&w, &procs, 3), Placement::Clean(0));
    }

    #[test]
    fn runs_are_tallied_per_window_with_their_failures() {
        let w = windows(&[0, 1]);
        let mut procs = vec![
            proc(Some(1010), 1020, 0),
            proc(Some(1020), 1030, 1 << 8),
            proc(Some(1030), 1040, libc::SIGKILL),
            proc(Some(1090), 1120, 2 << 8),
            proc(Some(1120), 1130, libc::SIGSEGV | 0x80),
            proc(Some(1130), 1140, 0),
        ];
        // Not counted (a child of a counted process, under --comm).
        procs.push(Process {
            counted: false,
            ..proc(Some(1010), 1020, 1 << 8)
        });
        // How it ended is unknown.
        procs.push(Process {
            end: Some((1050 * MS, None)),
            ..proc(Some(1010), 1020, 0)
        });
        let mut w = w;
        w[1].attached = vec![4, 5];
        let runs = Runs {
            rules: FailOn::parse(&[]).unwrap(),
        };
        let t = runs.tally(&w, &procs);
        assert_eq!(t[0].runs, 3);
        assert_eq!(t[0].failed(), 2);
        assert_eq!(t[0].failures[&Kind::Exit], 1);
        assert_eq!(t[0].failures[&Kind::Signal], 1);
        assert_eq!(t[0].mixed[&Mixed::NoStatus], 1);
        assert_eq!(t[1].runs, 2);
        assert_eq!(t[1].failures[&Kind::Signal], 1);
        assert_eq!(t[1].mixed[&Mixed::Straddles], 1);
        assert_eq!(t[0].wall, [0.01, 0.01, 0.01]);
        // Only signals count with --fail-on signal.
        let signals = Runs {
            rules: FailOn::parse(&["signal".into()]).unwrap(),
        };
        let t = signals.tally(&w, &procs);
        assert_eq!(t[0].failed(), 1);
    }
}
