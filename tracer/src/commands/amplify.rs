//! `tracer amplify`: which syscall's timing makes a failure appear or
//! vanish?
//!
//! 1. Learn the program: one recorded run (eBPF, or ptrace when eBPF is
//!    unavailable) says which syscalls it makes and how often.
//! 2. Candidates: `delay:SYSCALL=DUR` for the K most frequent syscalls and
//!    every rare one (a syscall made once or twice is often the one at a
//!    precise point of the race), plus the untraced baseline.
//! 3. Run them all N times, interleaved in a shuffled order, with
//!    `compare`'s machinery (`compare::execute`): failure rate, Wilson
//!    interval, Fisher's exact test against the baseline; then Holm's
//!    adjustment over all candidates, since testing thirty delays finds a
//!    "significant" one by chance otherwise.
//! 4. For the strongest effects, a sweep of delays (20 µs, 200 µs, 2 ms):
//!    the smallest that still matters is the scale of the race window.
//! 5. A recipe (the `tracer compare` command that reproduces the strongest
//!    effect) and eBPF recordings of a few runs failing under it.
//!
//! Ctrl-C stops the runs in flight and prints the table of what was run.

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result, bail};
use clap::Args;
use serde::Serialize;

use super::{
    compare::{self, CompareArgs, CompareJson, ModeJson},
    options::usage_error,
};
use crate::{
    duration::format as format_duration,
    exit::Exit,
    stats,
    stdio::{note, outln},
    syscalls::filter::SyscallFilter,
};

/// Syscalls that are never candidates: delaying the start or the end of
/// the program says nothing about a race inside it.
const NOT_CANDIDATES: [&str; 3] = ["execve", "exit", "exit_group"];
/// A syscall made at most this often in the learning run is "rare", and a
/// candidate whatever its rank.
const RARE: u64 = 2;
/// The delays of the sweep.
const SWEEP: [Duration; 3] = [
    Duration::from_micros(20),
    Duration::from_micros(200),
    Duration::from_millis(2),
];
/// Candidates swept.
const SWEPT: usize = 2;
/// Runs recorded under the recipe, for the failure recordings.
const RECORDED_RUNS: u64 = 5;

#[derive(Debug, Args)]
pub struct AmplifyArgs {
    /// Runs per candidate and of the baseline (1 to 1000000).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub runs: u64,
    /// The delay each candidate applies to its syscall (ns, us, ms, s).
    #[arg(long, default_value = "200us", value_parser = super::options::parse_amplify_delay)]
    pub delay: Duration,
    /// Candidates among the most frequent syscalls (every rare one, made
    /// once or twice, is a candidate as well).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub candidates: u64,
    /// Only syscalls of this set are candidates: names or classes, as
    /// `-e trace=` takes them (read,openat or %file).
    #[arg(long, value_name = "SET")]
    pub syscalls: Option<String>,
    #[command(flatten)]
    pub run: super::compare::RunOptions,
    /// Skip the sweep of delays.
    #[arg(long)]
    pub no_sweep: bool,
    /// Where the recordings of failing runs go (default: a new private
    /// directory under $TMPDIR).
    #[arg(long, value_name = "DIR")]
    pub trace_failures: Option<PathBuf>,
    /// The command to run.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    pub command: Vec<String>,
}

/// The direction of a candidate's effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Direction {
    More,
    Fewer,
    Same,
}

#[derive(Debug, Serialize)]
struct BaselineJson {
    runs: u64,
    failures: u64,
    failure_rate: f64,
    ci95: [f64; 2],
}

#[derive(Debug, Serialize)]
struct CandidateJson {
    perturbation: String,
    syscall: String,
    delay_ns: u64,
    /// Calls in the learning run.
    calls: u64,
    /// Threads that made it in the learning run.
    threads: u64,
    runs: u64,
    failures: u64,
    failure_rate: f64,
    ci95: [f64; 2],
    p_value: f64,
    p_adjusted: f64,
    direction: Direction,
}

#[derive(Debug, Serialize)]
struct SweepPoint {
    delay_ns: u64,
    runs: u64,
    failures: u64,
    failure_rate: f64,
    p_value: f64,
    p_adjusted: f64,
    direction: Direction,
}

#[derive(Debug, Serialize)]
struct SweepJson {
    syscall: String,
    points: Vec<SweepPoint>,
    /// The smallest delay with a significant effect in the candidate's
    /// direction.
    smallest_significant_ns: Option<u64>,
}

#[derive(Debug, Serialize)]
struct LearnedJson {
    mode: String,
    threads: u64,
    /// Calls of each syscall in the learning run.
    syscalls: BTreeMap<String, u64>,
    /// How many threads made each syscall.
    threads_by_syscall: BTreeMap<String, u64>,
}

#[derive(Debug, Serialize)]
struct AmplifyJson {
    command: Vec<String>,
    learned: LearnedJson,
    baseline: BaselineJson,
    candidates: Vec<CandidateJson>,
    sweep: Vec<SweepJson>,
    verdict: String,
    recipe: Option<String>,
    failure_recordings: Vec<PathBuf>,
    interrupted: bool,
}

pub fn run(args: AmplifyArgs) -> Result<Exit> {
    if args.delay >= args.run.timeout {
        usage_error(format!(
            "--delay {} is not shorter than --timeout {} s",
            format_duration(args.delay),
            args.run.timeout.as_secs_f64()
        ));
    }
    let only = args.syscalls.as_ref().map(|set| {
        set.parse::<SyscallFilter>()
            .unwrap_or_else(|e| usage_error(format!("--syscalls {set}: {e}")))
    });
    crate::launch::resolve(&args.command[0].clone().into())?;

    // Ctrl-C from here on ends with what was gathered (compare's runs stop
    // on it as well), never by killing tracer mid-way.
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [libc::SIGINT, libc::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .context("cannot install signal handlers")?;
    }
    let learned = learn(&args);
    if stop.load(Ordering::Relaxed) {
        note!("tracer amplify: interrupted while learning the program: nothing to show");
        return Ok(Exit::Code(130));
    }
    let learned = learned?;
    let mut chosen = choose(&learned.syscalls, args.candidates as usize, only.as_ref());
    if chosen.is_empty() {
        bail!("the learning run made no syscall that could be delayed");
    }
    if !args.run.json {
        note!(
            "tracer amplify: learned {} syscalls on {} threads ({}); {} candidates of {} runs each, and the baseline",
            learned.syscalls.len(),
            learned.threads,
            learned.mode,
            chosen.len(),
            args.runs
        );
    }
    chosen.sort();
    let mut modes = vec!["none".to_string()];
    modes.extend(chosen.iter().map(|s| mode(s, args.delay)));
    let result = compare::execute(&compare_args(&args, modes, args.runs, None))?;
    let (baseline, mut candidates) = assess(&result, &chosen, &learned, args.delay);
    candidates.sort_by(|a, b| {
        effect(b, &baseline)
            .total_cmp(&effect(a, &baseline))
            .then(a.p_adjusted.total_cmp(&b.p_adjusted))
    });

    let mut out = AmplifyJson {
        command: args.command.clone(),
        learned,
        baseline,
        candidates,
        sweep: vec![],
        verdict: String::new(),
        recipe: None,
        failure_recordings: vec![],
        interrupted: result.interrupted,
    };
    let strongest: Vec<String> = out
        .candidates
        .iter()
        .filter(|c| c.direction != Direction::Same)
        .take(SWEPT)
        .map(|c| c.syscall.clone())
        .collect();
    if !out.interrupted && !args.no_sweep {
        for syscall in &strongest {
            let sweep = sweep(&args, syscall, &out)?;
            out.interrupted |= sweep.1;
            out.sweep.push(sweep.0);
            if out.interrupted {
                break;
            }
        }
    }
    if let Some(best) = out
        .candidates
        .first()
        .filter(|c| c.direction != Direction::Same)
    {
        out.recipe = Some(recipe(&args, &best.syscall, args.delay));
        if best.direction == Direction::More && !out.interrupted {
            let (recordings, interrupted) = record_failures(&args, &best.syscall)?;
            out.failure_recordings = recordings;
            out.interrupted |= interrupted;
        }
    }
    out.verdict = verdict(&out);
    if args.run.json {
        outln!("{}", serde_json::to_string_pretty(&out)?)?;
    } else {
        print_report(&out)?;
    }
    Ok(Exit::Code(if out.interrupted { 130 } else { 0 }))
}

/// `delay:SYSCALL=DUR`.
fn mode(syscall: &str, delay: Duration) -> String {
    format!("delay:{syscall}={}", format_duration(delay))
}

fn compare_args(
    args: &AmplifyArgs,
    modes: Vec<String>,
    runs: u64,
    trace_failures: Option<PathBuf>,
) -> CompareArgs {
    CompareArgs {
        runs,
        modes,
        // `json` also hides compare's progress bar when amplify prints JSON.
        run: args.run.clone(),
        keep_failures: 0,
        trace_failures,
        live: Default::default(),
        command: args.command.clone(),
    }
}

/// Runs the command once, recorded, and reads what it did.
fn learn(args: &AmplifyArgs) -> Result<LearnedJson> {
    let dir = crate::files::private_dir("tracer-amplify-")?;
    let summary = dir.join("learn.json");
    let events = dir.join("learn.jsonl");
    let me = std::env::current_exe().context("cannot find the tracer binary")?;
    let mut child = Command::new(me)
        .args(["record", "--mode", "auto", "--json", "-o"])
        .arg(&summary)
        .arg("--export")
        .arg(format!("jsonl:{}", events.display()))
        .arg("--")
        .args(&args.command)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start the learning run")?;
    let start = Instant::now();
    let limit = args.run.timeout;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            let _ = fs::remove_dir_all(&dir);
            bail!("the learning run did not finish within --timeout");
        }
        thread::sleep(Duration::from_millis(5));
    };
    let stderr = child
        .stderr
        .take()
        .map(|mut e| {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut e, &mut text);
            text
        })
        .unwrap_or_default();
    let json = fs::read(&summary)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
    let threads_by_syscall = threads_by_syscall(&events);
    let _ = fs::remove_dir_all(&dir);
    let json = json.with_context(|| {
        format!(
            "the learning run (tracer record) failed ({status}): {}",
            stderr
                .lines()
                .filter(|l| l.starts_with("tracer: "))
                .collect::<Vec<_>>()
                .join("; ")
        )
    })?;
    let syscalls = json["syscalls"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(name, v)| Some((name.clone(), v["calls"].as_u64()?)))
                .collect()
        })
        .unwrap_or_default();
    Ok(LearnedJson {
        mode: json["mode"].as_str().unwrap_or("?").to_string(),
        threads: json["threads"].as_u64().unwrap_or(0),
        syscalls,
        threads_by_syscall,
    })
}

/// One event of the learning run's JSONL export, what amplify needs of it.
#[derive(serde::Deserialize)]
struct LearnedEvent {
    tid: u32,
    syscall: String,
}

/// How many distinct threads made each syscall, from a JSONL export
/// (empty when it cannot be read: the table then shows no thread counts).
fn threads_by_syscall(events: &Path) -> BTreeMap<String, u64> {
    use std::io::BufRead;
    let mut tids: BTreeMap<String, std::collections::BTreeSet<u32>> = BTreeMap::new();
    let Ok(file) = fs::File::open(events) else {
        return BTreeMap::new();
    };
    for line in std::io::BufReader::new(file).lines().map_while(Result::ok) {
        if let Ok(event) = serde_json::from_str::<LearnedEvent>(&line) {
            tids.entry(event.syscall).or_default().insert(event.tid);
        }
    }
    tids.into_iter()
        .map(|(name, set)| (name, set.len() as u64))
        .collect()
}

/// The K most frequent syscalls and every rare one, that can be delayed.
fn choose(seen: &BTreeMap<String, u64>, k: usize, only: Option<&SyscallFilter>) -> Vec<String> {
    let mut usable: Vec<(&String, u64)> = seen
        .iter()
        .filter(|(name, _)| !NOT_CANDIDATES.contains(&name.as_str()))
        .filter(|(name, _)| {
            // Only names the delay syntax can say (not `syscall_335`).
            crate::syscalls::by_name(name)
                .is_some_and(|nr| only.is_none_or(|filter| filter.matches(nr)))
        })
        .map(|(name, &calls)| (name, calls))
        .collect();
    usable.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    usable
        .iter()
        .enumerate()
        .filter(|(rank, (_, calls))| *rank < k || *calls <= RARE)
        .map(|(_, (name, _))| (*name).clone())
        .collect()
}

fn rate(m: &ModeJson) -> f64 {
    m.failure_rate
}

/// The baseline, and each candidate judged against it with Holm's
/// adjustment over all of them.
fn assess(
    result: &CompareJson,
    chosen: &[String],
    learned: &LearnedJson,
    delay: Duration,
) -> (BaselineJson, Vec<CandidateJson>) {
    let base = &result.modes[0];
    let baseline = BaselineJson {
        runs: base.runs,
        failures: base.failures,
        failure_rate: base.failure_rate,
        ci95: base.ci95,
    };
    let p: Vec<f64> = result.modes[1..]
        .iter()
        .map(|m| m.p_value.unwrap_or(1.0))
        .collect();
    let adjusted = stats::holm_adjust(&p);
    let candidates = result.modes[1..]
        .iter()
        .zip(chosen)
        .zip(p.iter().zip(&adjusted))
        .map(|((m, syscall), (&p_value, &p_adjusted))| CandidateJson {
            perturbation: m.mode.clone(),
            syscall: syscall.clone(),
            delay_ns: delay.as_nanos() as u64,
            calls: learned.syscalls.get(syscall).copied().unwrap_or(0),
            threads: learned
                .threads_by_syscall
                .get(syscall)
                .copied()
                .unwrap_or(0),
            runs: m.runs,
            failures: m.failures,
            failure_rate: rate(m),
            ci95: m.ci95,
            p_value,
            p_adjusted,
            direction: direction(rate(m), base.failure_rate, p_adjusted, m.runs),
        })
        .collect();
    (baseline, candidates)
}

fn direction(rate: f64, base: f64, p_adjusted: f64, runs: u64) -> Direction {
    if runs == 0 || p_adjusted >= 0.05 {
        Direction::Same
    } else if rate > base {
        Direction::More
    } else {
        Direction::Fewer
    }
}

/// The size of an effect, for ranking: significant ones first, then by
/// how far the rate moved.
fn effect(c: &CandidateJson, base: &BaselineJson) -> f64 {
    let moved = (c.failure_rate - base.failure_rate).abs();
    match c.direction {
        Direction::Same => moved - 1.0,
        _ => moved,
    }
}

/// Runs `syscall` at each delay of the sweep; returns the sweep and
/// whether it was interrupted.
fn sweep(args: &AmplifyArgs, syscall: &str, out: &AmplifyJson) -> Result<(SweepJson, bool)> {
    let delays: Vec<Duration> = SWEEP
        .iter()
        .copied()
        .filter(|d| *d < args.run.timeout)
        .collect();
    let mut modes = vec!["none".to_string()];
    modes.extend(delays.iter().map(|&d| mode(syscall, d)));
    let result = compare::execute(&compare_args(args, modes, args.runs, None))?;
    let base = &result.modes[0];
    let p: Vec<f64> = result.modes[1..]
        .iter()
        .map(|m| m.p_value.unwrap_or(1.0))
        .collect();
    let adjusted = stats::holm_adjust(&p);
    let wanted = out
        .candidates
        .iter()
        .find(|c| c.syscall == syscall)
        .map_or(Direction::Same, |c| c.direction);
    let points: Vec<SweepPoint> = result.modes[1..]
        .iter()
        .zip(&delays)
        .zip(p.iter().zip(&adjusted))
        .map(|((m, d), (&p_value, &p_adjusted))| SweepPoint {
            delay_ns: d.as_nanos() as u64,
            runs: m.runs,
            failures: m.failures,
            failure_rate: m.failure_rate,
            p_value,
            p_adjusted,
            direction: direction(m.failure_rate, base.failure_rate, p_adjusted, m.runs),
        })
        .collect();
    let smallest_significant_ns = points
        .iter()
        .find(|p| p.direction == wanted && wanted != Direction::Same)
        .map(|p| p.delay_ns);
    Ok((
        SweepJson {
            syscall: syscall.to_string(),
            points,
            smallest_significant_ns,
        },
        result.interrupted,
    ))
}

/// Records a few runs under the strongest delay with eBPF and keeps the
/// failing ones; returns them and whether the runs were interrupted.
fn record_failures(args: &AmplifyArgs, syscall: &str) -> Result<(Vec<PathBuf>, bool)> {
    let dir = match &args.trace_failures {
        Some(dir) => dir.clone(),
        None => crate::files::private_dir("tracer-amplify-")?,
    };
    let modes = vec![format!("ebpf+{}", mode(syscall, args.delay))];
    let runs = RECORDED_RUNS.min(args.runs);
    match compare::execute(&compare_args(args, modes, runs, Some(dir))) {
        Ok(result) => Ok((
            result.modes[0].failure_recordings.clone(),
            result.interrupted,
        )),
        Err(err) => {
            // Recordings are a convenience: without eBPF the table stands.
            note!("tracer amplify: no failure recordings: {err:#}");
            Ok((vec![], false))
        }
    }
}

/// The `tracer compare` command that reproduces the effect.
fn recipe(args: &AmplifyArgs, syscall: &str, delay: Duration) -> String {
    let mut words = vec![
        "tracer".to_string(),
        "compare".into(),
        "--runs".into(),
        args.runs.to_string(),
        "--modes".into(),
        format!("none,{}", mode(syscall, delay)),
    ];
    for f in &args.run.fail_on {
        words.push("--fail-on".into());
        words.push(f.clone());
    }
    if args.run.timeout != Duration::from_secs(60) {
        words.push("--timeout".into());
        words.push(args.run.timeout.as_secs_f64().to_string());
    }
    if args.run.jobs != 1 {
        words.push("--jobs".into());
        words.push(args.run.jobs.to_string());
    }
    words.push("--".into());
    words.extend(args.command.iter().cloned());
    words
        .iter()
        .map(|w| shell_quote(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `w` as a shell word.
fn shell_quote(w: &str) -> String {
    let plain = !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:=+,%@".contains(c));
    if plain {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', r"'\''"))
    }
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn verdict(out: &AmplifyJson) -> String {
    let base = pct(out.baseline.failure_rate);
    let mut parts = Vec::new();
    let more: Vec<_> = out
        .candidates
        .iter()
        .filter(|c| c.direction == Direction::More)
        .collect();
    let fewer: Vec<_> = out
        .candidates
        .iter()
        .filter(|c| c.direction == Direction::Fewer)
        .collect();
    if let Some(c) = more.first() {
        parts.push(format!(
            "delaying {} by {} raises the failure rate from {base} to {} (p_adj={:.2e}): the race window contains a {}",
            c.syscall,
            format_duration(Duration::from_nanos(c.delay_ns)),
            pct(c.failure_rate),
            c.p_adjusted,
            c.syscall
        ));
        if more.len() > 1 {
            let others: Vec<_> = more[1..].iter().map(|c| c.syscall.as_str()).collect();
            parts.push(format!("so does delaying {}", others.join(", ")));
        }
    }
    if let Some(c) = fewer.first() {
        parts.push(format!(
            "delaying {} hides it ({base} → {}, p_adj={:.2e}): the side that makes that syscall must be fast for the failure to happen",
            c.syscall,
            pct(c.failure_rate),
            c.p_adjusted
        ));
        if fewer.len() > 1 {
            let others: Vec<_> = fewer[1..].iter().map(|c| c.syscall.as_str()).collect();
            parts.push(format!("so does delaying {}", others.join(", ")));
        }
    }
    if parts.is_empty() {
        let runs = out.baseline.runs;
        return if out.baseline.failures == 0 && out.candidates.iter().all(|c| c.failures == 0) {
            format!(
                "no failure in any run ({runs} runs each): nothing to amplify; try more --runs, or check --fail-on"
            )
        } else {
            format!(
                "no delay changed the failure rate ({base} untraced) significantly after Holm's adjustment over {} candidates",
                out.candidates.len()
            )
        };
    }
    for s in &out.sweep {
        if let Some(ns) = s.smallest_significant_ns {
            parts.push(format!(
                "for {}, {} is the smallest delay with an effect",
                s.syscall,
                format_duration(Duration::from_nanos(ns))
            ));
        }
    }
    parts.join("; ")
}

fn print_report(out: &AmplifyJson) -> std::io::Result<()> {
    let w = out
        .candidates
        .iter()
        .map(|c| c.perturbation.len())
        .max()
        .unwrap_or(0)
        .max(10);
    outln!(
        "{:<w$} {:>7} {:>7} {:>5} {:>7} {:>8} {:>17} {:>9} {:>9}  direction",
        "delay",
        "calls",
        "threads",
        "runs",
        "failed",
        "rate",
        "95% CI",
        "p",
        "p_adj"
    )?;
    let b = &out.baseline;
    outln!(
        "{:<w$} {:>7} {:>7} {:>5} {:>7} {:>8} {:>17} {:>9} {:>9}  -",
        "none",
        "-",
        "-",
        b.runs,
        b.failures,
        pct(b.failure_rate),
        format!("[{}–{}]", pct(b.ci95[0]), pct(b.ci95[1])),
        "-",
        "-"
    )?;
    for c in &out.candidates {
        outln!(
            "{:<w$} {:>7} {:>7} {:>5} {:>7} {:>8} {:>17} {:>9.2e} {:>9.2e}  {}",
            c.perturbation,
            c.calls,
            c.threads,
            c.runs,
            c.failures,
            pct(c.failure_rate),
            format!("[{}–{}]", pct(c.ci95[0]), pct(c.ci95[1])),
            c.p_value,
            c.p_adjusted,
            match c.direction {
                Direction::More => "more",
                Direction::Fewer => "fewer",
                Direction::Same => "same",
            }
        )?;
    }
    for s in &out.sweep {
        let points: Vec<String> = s
            .points
            .iter()
            .map(|p| {
                format!(
                    "{} {} (p_adj={:.2e})",
                    format_duration(Duration::from_nanos(p.delay_ns)),
                    pct(p.failure_rate),
                    p.p_adjusted
                )
            })
            .collect();
        outln!("sweep {}: {}", s.syscall, points.join(", "))?;
    }
    if out.interrupted {
        outln!("(interrupted: these are the runs gathered so far)")?;
    }
    outln!("verdict: {}", out.verdict)?;
    if let Some(recipe) = &out.recipe {
        outln!("recipe: {recipe}")?;
    }
    if let Some(first) = out.failure_recordings.first() {
        outln!(
            "failing runs recorded under it: {} in {} (open one: tracer report {})",
            out.failure_recordings.len(),
            first.parent().unwrap_or(Path::new(".")).display(),
            first.display()
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_are_the_frequent_and_the_rare() {
        let seen: BTreeMap<String, u64> = [
            ("read", 500),
            ("write", 300),
            ("mmap", 40),
            ("futex", 20),
            ("clone3", 1),
            ("openat", 2),
            ("execve", 1),
            ("exit_group", 1),
        ]
        .into_iter()
        .map(|(n, c)| (n.to_string(), c))
        .collect();
        let mut got = choose(&seen, 2, None);
        got.sort();
        assert_eq!(got, ["clone3", "openat", "read", "write"]);
        let only: SyscallFilter = "%file,read".parse().unwrap();
        assert_eq!(choose(&seen, 30, Some(&only)), ["read", "openat"]);
    }

    #[test]
    fn directions_need_adjusted_significance() {
        assert_eq!(direction(0.9, 0.1, 0.001, 30), Direction::More);
        assert_eq!(direction(0.0, 0.9, 0.001, 30), Direction::Fewer);
        assert_eq!(direction(0.9, 0.1, 0.06, 30), Direction::Same);
        assert_eq!(direction(0.9, 0.1, 0.001, 0), Direction::Same);
    }

    #[test]
    fn recipes_quote_what_the_shell_would_split() {
        assert_eq!(shell_quote("delay:read=200us"), "delay:read=200us");
        assert_eq!(shell_quote("output=Key Error"), "'output=Key Error'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
