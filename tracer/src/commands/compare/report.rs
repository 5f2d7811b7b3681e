//! The result of a compare, launched or live: one schema (`--json`), one
//! table, one verdict in words. Per mode: the failure proportion with its
//! Wilson interval, Fisher's exact test against the untraced mode, how
//! long runs took and what watching cost; a live compare adds its windows
//! (`live`), and says per mode in which unit it counted (`unit`).

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    time::Duration,
};

use serde::Serialize;

use super::fail_on::Kind;
use crate::stats;
use crate::stdio::outln;

/// What a mode's failures are counted against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// Runs (a launched run, or a process of a live target that ended): the
    /// rate is a proportion (Wilson interval, Fisher's exact test).
    Runs,
    /// Time (failures in a log, live compares): the rate is per hour of the
    /// mode's windows (exact Poisson interval), compared with untraced by a
    /// Mann–Whitney test of the per-window rates (rates drift from window
    /// to window, so failures are not assumed Poisson across windows),
    /// with the Poisson rate ratio and its exact test beside it.
    Time,
}

/// A traced mode's failure rate over the untraced one (time units).
#[derive(Debug, Serialize)]
pub struct RatioJson {
    pub ratio: f64,
    pub ci95: [f64; 2],
    /// The exact conditional test of equal Poisson rates.
    pub p_value: f64,
}

#[derive(Debug, Serialize)]
pub struct ModeJson {
    pub mode: String,
    /// What `runs` counts.
    pub unit: Unit,
    /// Live compare: the windows this mode was in force.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub windows: Option<u64>,
    pub runs: u64,
    pub failures: u64,
    pub failures_by_kind: BTreeMap<Kind, u64>,
    pub failure_rate: f64,
    pub ci95: [f64; 2],
    pub median_wall_s: Option<f64>,
    pub p90_wall_s: Option<f64>,
    pub slowdown: Option<f64>,
    pub observer_ns_per_syscall: Option<f64>,
    pub p_value: Option<f64>,
    pub significant: bool,
    /// Time units: failures per hour (also `failure_rate`, with `ci95`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_per_hour: Option<f64>,
    /// Time units: the time the mode was in force, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exposure_s: Option<f64>,
    /// Time units: the rate against untraced's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_ratio: Option<RatioJson>,
    pub kept_outputs: Vec<PathBuf>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failure_recordings: Vec<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pass_recording: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
pub struct CompareJson {
    /// The launched command (empty for a live compare).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runs_per_mode: Option<u64>,
    pub interrupted: bool,
    pub modes: Vec<ModeJson>,
    pub verdict: String,
    /// A live compare's target, windows and costs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<super::live_report::LiveJson>,
}

/// What one mode gathered, launched or live.
pub struct ModeCounts {
    pub mode: String,
    pub runs: u64,
    pub failures: BTreeMap<Kind, u64>,
    /// Each run's duration, in seconds.
    pub wall: Vec<f64>,
    /// The recorder's cost per syscall, one value per recorded run or window.
    pub observer: Vec<f64>,
    pub windows: Option<u64>,
    pub unit: Unit,
    /// Time units: how long the mode was in force, and its failures per
    /// hour in each window.
    pub exposure: Duration,
    pub window_rates: Vec<f64>,
}

impl ModeCounts {
    pub fn failed(&self) -> u64 {
        self.failures.values().sum()
    }
}

/// The per-mode rows: rates and intervals, and each traced mode against
/// the untraced one (`none`), when there is one.
pub fn modes_json(counts: &[ModeCounts]) -> Vec<ModeJson> {
    let base = counts.iter().find(|c| c.mode == "none");
    let base_median = base.and_then(|b| stats::median(&mut b.wall.clone()));
    counts
        .iter()
        .map(|t| {
            let failures = t.failed();
            if t.unit == Unit::Time {
                return time_json(t, base);
            }
            let (lo, hi) = stats::wilson_interval(failures, t.runs, stats::Z95);
            let median = stats::median(&mut t.wall.clone());
            let p_value = match base {
                Some(b) if t.mode != "none" && b.runs > 0 && t.runs > 0 => {
                    let bf = b.failed();
                    Some(stats::fisher_exact_two_sided(
                        failures,
                        t.runs - failures,
                        bf,
                        b.runs - bf,
                    ))
                }
                _ => None,
            };
            ModeJson {
                mode: t.mode.clone(),
                unit: t.unit,
                windows: t.windows,
                runs: t.runs,
                failures,
                failures_by_kind: t.failures.clone(),
                failure_rate: if t.runs == 0 {
                    0.0
                } else {
                    failures as f64 / t.runs as f64
                },
                ci95: [lo, hi],
                median_wall_s: median,
                p90_wall_s: stats::percentile(&mut t.wall.clone(), 90.0),
                slowdown: median.zip(base_median).map(|(m, b)| m / b),
                observer_ns_per_syscall: stats::median(&mut t.observer.clone()),
                p_value,
                significant: p_value.is_some_and(|p| p < 0.05),
                rate_per_hour: None,
                exposure_s: None,
                rate_ratio: None,
                kept_outputs: vec![],
                failure_recordings: vec![],
                pass_recording: None,
            }
        })
        .collect()
}

/// A mode's row in time units (see [`Unit::Time`]).
fn time_json(t: &ModeCounts, base: Option<&ModeCounts>) -> ModeJson {
    let failures = t.failed();
    let rate = stats::rate::rate_per_hour(failures, t.exposure, 0.95);
    let against = base.filter(|b| b.mode != t.mode);
    let p_value = against
        .and_then(|b| stats::rank::mann_whitney(&t.window_rates, &b.window_rates))
        .map(|mw| mw.p_value);
    let rate_ratio = against
        .and_then(|b| {
            stats::rate::poisson_rate_ratio(failures, t.exposure, b.failed(), b.exposure, 0.95)
        })
        .map(|r| RatioJson {
            ratio: r.ratio,
            ci95: [r.low, r.high],
            p_value: r.p_value,
        });
    ModeJson {
        mode: t.mode.clone(),
        unit: t.unit,
        windows: t.windows,
        runs: t.runs,
        failures,
        failures_by_kind: t.failures.clone(),
        failure_rate: rate.map_or(0.0, |r| r.per_hour),
        ci95: rate.map_or([0.0, f64::INFINITY], |r| [r.low, r.high]),
        median_wall_s: None,
        p90_wall_s: None,
        slowdown: None,
        observer_ns_per_syscall: stats::median(&mut t.observer.clone()),
        p_value,
        significant: p_value.is_some_and(|p| p < 0.05),
        rate_per_hour: rate.map(|r| r.per_hour),
        exposure_s: Some(t.exposure.as_secs_f64()),
        rate_ratio,
        kept_outputs: vec![],
        failure_recordings: vec![],
        pass_recording: None,
    }
}

/// The verdict in time units: per traced mode, its rate per hour against
/// untraced's, whether the windows' rates differ, and the rate ratio.
fn verdict_time(modes: &[ModeJson]) -> String {
    let per_hour = |m: &ModeJson| {
        let s = m.exposure_s.unwrap_or(0.0);
        let over = match s {
            ..120.0 => format!("{s:.0} s"),
            ..7200.0 => format!("{:.0} min", s / 60.0),
            _ => format!("{:.1} h", s / 3600.0),
        };
        format!(
            "{:.2}/h [{:.2}–{:.2}] over {over}",
            m.failure_rate, m.ci95[0], m.ci95[1]
        )
    };
    let Some(base) = modes.iter().find(|m| m.mode == "none") else {
        let each: Vec<_> = modes
            .iter()
            .map(|m| {
                format!(
                    "{} logged {} failures ({})",
                    m.mode,
                    m.failures,
                    per_hour(m)
                )
            })
            .collect();
        return format!(
            "{}; no untraced baseline (add mode none) to compare against",
            each.join("; ")
        );
    };
    let traced: Vec<&ModeJson> = modes.iter().filter(|m| m.mode != "none").collect();
    if traced.is_empty() {
        return format!("untraced only: {}", per_hour(base));
    }
    if modes.iter().all(|m| m.failures == 0) {
        return "no failure logged in any mode".into();
    }
    let mut parts = Vec::new();
    for m in traced {
        let versus = format!("{} vs {} untraced", per_hour(m), per_hour(base));
        let ratio = m.rate_ratio.as_ref().map_or(String::new(), |r| {
            format!(
                "; rate ratio {:.2} [{:.2}–{:.2}], Poisson p={:.4}",
                r.ratio, r.ci95[0], r.ci95[1], r.p_value
            )
        });
        let p = m.p_value.map_or("no windows to compare".to_string(), |p| {
            format!("windows' rates differ with p={p:.4}")
        });
        let text = if m.significant && m.failure_rate < base.failure_rate {
            format!(
                "failure rate under {} {versus} ({p}{ratio}): watching with {} hides it",
                m.mode, m.mode
            )
        } else if m.significant {
            format!(
                "failure rate under {} {versus} ({p}{ratio}): watching with {} makes it fail more often",
                m.mode, m.mode
            )
        } else {
            format!(
                "{} {versus} ({p}{ratio}): too few windows to tell a difference",
                m.mode
            )
        };
        parts.push(text);
    }
    parts.join("; ")
}

pub fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// A plain-words reading of the numbers: for each traced mode, whether
/// the failure rate moved, which way, and whether the runs can tell.
pub fn verdict(modes: &[ModeJson]) -> String {
    if modes.iter().any(|m| m.unit == Unit::Time) {
        return verdict_time(modes);
    }
    let describe = |m: &ModeJson| {
        format!(
            "{} [{}–{}]",
            pct(m.failure_rate),
            pct(m.ci95[0]),
            pct(m.ci95[1])
        )
    };
    let tally = |m: &ModeJson| {
        format!(
            "{} failed {}/{} runs ({})",
            m.mode,
            m.failures,
            m.runs,
            describe(m)
        )
    };
    let Some(base) = modes.iter().find(|m| m.mode == "none") else {
        let each: Vec<_> = modes.iter().map(tally).collect();
        return format!(
            "{}; no untraced baseline (add mode none) to compare against",
            each.join("; ")
        );
    };
    if base.runs == 0 {
        return "no untraced run finished: nothing to compare against".into();
    }
    let traced: Vec<&ModeJson> = modes.iter().filter(|m| m.mode != "none").collect();
    if traced.is_empty() {
        return format!(
            "untraced only: {}/{} runs failed ({}); add ebpf or ptrace to --modes to see whether watching changes that",
            base.failures,
            base.runs,
            describe(base)
        );
    }
    if modes.iter().all(|m| m.failures == 0 && m.runs > 0) {
        return format!(
            "no failure in any mode ({} runs each; the untraced rate is below {} with 95% confidence)",
            base.runs,
            pct(stats::rule_of_three(base.runs))
        );
    }
    let mut parts = Vec::new();
    for m in traced {
        if m.runs == 0 {
            parts.push(format!("no run under {} finished", m.mode));
            continue;
        }
        let p = m.p_value.unwrap_or(1.0);
        let versus = format!("{} vs {} untraced", describe(m), describe(base));
        let more_runs = || {
            stats::runs_needed(base.failure_rate, m.failure_rate, 0.05, 0.8)
                .filter(|&n| n > base.runs.min(m.runs))
                .map(|n| format!(": about {n} runs per mode would be needed"))
                .unwrap_or_default()
        };
        let text = if m.significant && m.failure_rate < base.failure_rate {
            format!(
                "failure rate under {} {versus}, p={p:.4}: the failure is timing-sensitive and watching with {} hides it",
                m.mode, m.mode
            )
        } else if m.significant && base.failures == 0 {
            format!(
                "failure rate under {} {versus}, p={p:.4}: the failure appears only under watching with {}",
                m.mode, m.mode
            )
        } else if m.significant {
            format!(
                "failure rate under {} {versus}, p={p:.4}: watching with {} makes it fail more often",
                m.mode, m.mode
            )
        } else if m.failures == 0 && base.failures == 0 {
            format!("neither {} nor untraced runs failed", m.mode)
        } else if base.failures == 0 {
            format!(
                "failed only under {} ({versus}, p={p:.2}), too rarely to be sure watching causes it{}",
                m.mode,
                more_runs()
            )
        } else if m.failures == 0 {
            format!(
                "never failed under {} ({versus}, p={p:.2}), but too few runs to be sure watching hides it{}",
                m.mode,
                more_runs()
            )
        } else {
            let needed = more_runs();
            match needed.is_empty() || m.failure_rate == base.failure_rate {
                true => format!("{} keeps it ({versus}, p={p:.2})", m.mode),
                false => format!(
                    "{} keeps it ({versus}, p={p:.2}); too few runs to tell a difference this size{needed}",
                    m.mode
                ),
            }
        };
        parts.push(text);
    }
    parts.join("; ")
}

pub fn print_table(result: &CompareJson) -> std::io::Result<()> {
    let w = result
        .modes
        .iter()
        .map(|m| m.mode.len())
        .max()
        .unwrap_or(0)
        .max(7);
    outln!(
        "{:<w$} {:>5} {:>8} {:>8} {:>17} {:>10} {:>9} {:>9} {:>12} {:>8}",
        "mode",
        "runs",
        "failed",
        "rate",
        "95% CI",
        "median s",
        "p90 s",
        "slowdown",
        "observer/sc",
        "p"
    )?;
    for m in &result.modes {
        let opt =
            |x: Option<f64>, prec: usize| x.map_or("-".to_string(), |v| format!("{v:.prec$}"));
        outln!(
            "{:<w$} {:>5} {:>8} {:>8} {:>17} {:>10} {:>9} {:>9} {:>12} {:>8}",
            m.mode,
            match m.unit {
                Unit::Runs => m.runs.to_string(),
                Unit::Time => "-".into(),
            },
            m.failures,
            match m.unit {
                Unit::Runs => pct(m.failure_rate),
                Unit::Time => format!("{:.2}/h", m.failure_rate),
            },
            match m.unit {
                Unit::Runs => format!("[{}–{}]", pct(m.ci95[0]), pct(m.ci95[1])),
                Unit::Time => format!("[{:.2}–{:.2}]", m.ci95[0], m.ci95[1]),
            },
            opt(m.median_wall_s, 4),
            opt(m.p90_wall_s, 4),
            m.slowdown.map_or("-".into(), |s| format!("{s:.2}x")),
            m.observer_ns_per_syscall
                .map_or("-".into(), |o| format!("{o:.0} ns")),
            opt(m.p_value, 4),
        )?;
    }
    for m in &result.modes {
        if !m.failures_by_kind.is_empty() {
            let kinds: Vec<_> = m
                .failures_by_kind
                .iter()
                .map(|(k, n)| format!("{k:?}: {n}").to_lowercase())
                .collect();
            outln!("{} failures by kind: {}", m.mode, kinds.join(", "))?;
        }
        for kept in &m.kept_outputs {
            outln!(
                "{} failing run output: {}.stdout / .stderr",
                m.mode,
                kept.display()
            )?;
        }
        if let Some(first) = m.failure_recordings.first() {
            outln!(
                "{} failing run recordings: {} in {} (open one: tracer report {})",
                m.mode,
                m.failure_recordings.len(),
                first.parent().unwrap_or(Path::new(".")).display(),
                first.display()
            )?;
        }
        if let Some(pass) = &m.pass_recording {
            outln!("{} passing run recording: {}", m.mode, pass.display())?;
        }
    }
    if let Some(live) = &result.live {
        super::live_report::print(live)?;
    }
    if result.interrupted {
        outln!("(interrupted: these are the runs gathered so far)")?;
    }
    outln!("verdict: {}", result.verdict)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{self, Z95};

    fn mode(name: &str, runs: u64, failures: u64, p: Option<f64>) -> ModeJson {
        let (lo, hi) = stats::wilson_interval(failures, runs, Z95);
        ModeJson {
            mode: name.into(),
            runs,
            failures,
            failures_by_kind: BTreeMap::new(),
            failure_rate: failures as f64 / runs as f64,
            ci95: [lo, hi],
            median_wall_s: None,
            p90_wall_s: None,
            slowdown: None,
            observer_ns_per_syscall: None,
            p_value: p,
            significant: p.is_some_and(|p| p < 0.05),
            kept_outputs: vec![],
            failure_recordings: vec![],
            pass_recording: None,
            unit: Unit::Runs,
            windows: None,
            rate_per_hour: None,
            exposure_s: None,
            rate_ratio: None,
        }
    }

    #[test]
    fn verdicts() {
        let none = mode("none", 300, 6, None);
        let ptrace = mode("ptrace", 300, 0, Some(0.0305));
        let v = verdict(&[none, ptrace]);
        assert!(v.contains("timing-sensitive"), "{v}");
        assert!(
            v.contains("ptrace 0.0% [0.0%–1.3%] vs 2.0% [0.9%–4.3%]"),
            "{v}"
        );

        let none = mode("none", 20, 2, None);
        let ebpf = mode("ebpf", 20, 1, Some(1.0));
        let v = verdict(&[none, ebpf]);
        assert!(v.contains("too few runs"), "{v}");

        let v = verdict(&[mode("none", 10, 0, None), mode("ebpf", 10, 0, Some(1.0))]);
        assert!(v.starts_with("no failure in any mode"), "{v}");
    }

    /// What used to read "ebpf keeps it (100% vs 0% untraced)": the
    /// failure appears only under watching, and the verdict says so.
    #[test]
    fn verdict_says_which_way_it_moved() {
        let v = verdict(&[mode("none", 2, 0, None), mode("ebpf", 2, 2, Some(0.33))]);
        assert!(v.starts_with("failed only under ebpf (100.0%"), "{v}");
        assert!(!v.contains("keeps it"), "{v}");
        let v = verdict(&[mode("none", 30, 30, None), mode("ebpf", 30, 0, Some(1e-17))]);
        assert!(v.contains("watching with ebpf hides it"), "{v}");
        let v = verdict(&[mode("none", 30, 0, None), mode("ebpf", 30, 30, Some(1e-17))]);
        assert!(v.contains("appears only under watching with ebpf"), "{v}");
        let v = verdict(&[mode("none", 3, 2, None), mode("ptrace", 3, 0, Some(0.4))]);
        assert!(v.starts_with("never failed under ptrace"), "{v}");
        let v = verdict(&[
            mode("none", 5, 0, None),
            mode("ebpf", 5, 0, Some(1.0)),
            mode("ptrace", 5, 5, Some(0.008)),
        ]);
        assert!(
            v.starts_with("neither ebpf nor untraced runs failed; "),
            "{v}"
        );
    }

    #[test]
    fn verdict_is_never_empty() {
        let v = verdict(&[mode("none", 4, 1, None)]);
        assert!(
            v.starts_with("untraced only: 1/4 runs failed (25.0%"),
            "{v}"
        );
        let v = verdict(&[mode("ebpf", 4, 1, Some(1.0))]);
        assert!(v.starts_with("ebpf failed 1/4 runs"), "{v}");
        assert!(v.contains("no untraced baseline"), "{v}");
    }

    fn time_mode(name: &str, failures: u64, rates: &[f64]) -> ModeCounts {
        ModeCounts {
            mode: name.into(),
            runs: 0,
            failures: BTreeMap::from([(Kind::Log, failures)]),
            wall: vec![],
            observer: vec![],
            windows: Some(rates.len() as u64),
            unit: Unit::Time,
            exposure: Duration::from_secs(600 * rates.len() as u64),
            window_rates: rates.to_vec(),
        }
    }

    #[test]
    fn time_units_are_rates_per_hour_compared_by_window() {
        // Ten windows of 10 min each: 6 failures per window untraced
        // (36/h), none under ptrace.
        let none = time_mode("none", 60, &[36.0; 10]);
        let ptrace = time_mode("ptrace", 0, &[0.0; 10]);
        let rows = modes_json(&[none, ptrace]);
        assert_eq!(rows[0].rate_per_hour, Some(36.0));
        assert_eq!(rows[0].failure_rate, 36.0);
        assert!(rows[0].ci95[0] < 36.0 && 36.0 < rows[0].ci95[1]);
        assert_eq!(rows[0].exposure_s, Some(6000.0));
        assert_eq!(rows[0].p_value, None);
        let p = rows[1].p_value.unwrap();
        assert!(p < 0.001, "{p}");
        assert_eq!(rows[1].rate_ratio.as_ref().unwrap().ratio, 0.0);
        let v = verdict(&rows);
        assert!(
            v.starts_with("failure rate under ptrace 0.00/h [0.00–"),
            "{v}"
        );
        assert!(v.contains("vs 36.00/h ["), "{v}");
        assert!(v.contains("over 100 min"), "{v}");
        assert!(v.ends_with("watching with ptrace hides it"), "{v}");

        // Two windows each cannot tell (Mann-Whitney's smallest p is 1/3).
        let rows = modes_json(&[
            time_mode("none", 2, &[6.0, 6.0]),
            time_mode("ebpf", 4, &[12.0, 12.0]),
        ]);
        let v = verdict(&rows);
        assert!(v.ends_with("too few windows to tell a difference"), "{v}");
        let v = verdict(&rows[1..]);
        assert!(v.contains("no untraced baseline"), "{v}");
    }
}
