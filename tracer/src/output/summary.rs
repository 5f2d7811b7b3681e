//! `-c`: per-syscall counts and latency percentiles, as a table like
//! `strace -c` (plus p50/p99/max) or as JSON; request-attribution
//! anomalies first, and with `--by-request` a summary per request.

use std::{
    collections::{BTreeMap, HashMap},
    io::{self, Write},
};

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::{
    event::{Anomaly, RequestId, SyscallEvent},
    pipeline::{ObserverCost, RunInfo, Sink, Tasks},
    request::REQUEST_BLEED,
    syscalls,
};

/// Latency statistics of one syscall.
struct PerSyscall {
    calls: u64,
    errors: u64,
    total_ns: u64,
    /// Nanoseconds, 3 significant digits, growing as needed.
    latency: Histogram<u64>,
}

impl PerSyscall {
    fn new() -> Self {
        Self {
            calls: 0,
            errors: 0,
            total_ns: 0,
            // 3 significant figures: 0.1% error on percentiles, a few KiB.
            latency: Histogram::new(3).expect("3 significant figures is valid"),
        }
    }
}

/// What one request did, for `--by-request`.
struct PerRequest {
    /// The tids that made syscalls for it, in order of first appearance.
    threads: Vec<u32>,
    /// Syscall number → (calls, errors).
    calls: HashMap<u32, (u64, u64)>,
    events: u64,
    first_ns: u64,
    last_ns: u64,
}

/// The summary as `--json` prints it (and as tests read it).
#[derive(Debug, Serialize)]
pub struct SummaryJson {
    /// What request attribution found wrong, in the order found; listed
    /// first because it matters most.
    pub anomalies: Vec<AnomalyJson>,
    pub mode: &'static str,
    /// Syscall records lost (ring full).
    pub lost_events: u64,
    /// Task records (fork, exit, exec) lost.
    pub lost_tasks: u64,
    /// Captures (data, paths) lost while their syscalls were recorded.
    pub lost_captures: u64,
    pub events: u64,
    pub duration_ns: u64,
    pub threads: usize,
    pub syscalls: BTreeMap<String, SyscallJson>,
    /// What watching cost the target; `null` when the source cannot tell.
    pub observer: Option<ObserverJson>,
    /// With `--by-request`: request ID → what was done for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests: Option<BTreeMap<String, RequestJson>>,
}

#[derive(Debug, Serialize)]
pub struct AnomalyJson {
    /// `request_bleed`.
    pub kind: String,
    pub tgid: u32,
    pub tid: u32,
    pub fd: i32,
    /// `CLOCK_MONOTONIC` ns at entry of the syscall that showed it.
    pub ts_ns: u64,
    /// The request the thread was serving.
    pub attributed: String,
    /// The request ID found in what it wrote.
    pub found: String,
}

impl From<&Anomaly> for AnomalyJson {
    fn from(a: &Anomaly) -> Self {
        Self {
            kind: a.kind.clone(),
            tgid: a.tgid,
            tid: a.tid,
            fd: a.fd,
            ts_ns: a.ts_ns,
            attributed: a.attributed.to_string(),
            found: a.found.to_string(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct RequestJson {
    /// tids of the threads that worked on it, in order of appearance.
    pub threads: Vec<u32>,
    /// Syscall events attributed to it.
    pub events: u64,
    /// `CLOCK_MONOTONIC` ns: entry of its first syscall, exit (or entry)
    /// of its last.
    pub first_ns: u64,
    pub last_ns: u64,
    /// `last_ns - first_ns`.
    pub wall_ns: u64,
    pub syscalls: BTreeMap<String, RequestCallsJson>,
}

#[derive(Debug, Serialize)]
pub struct RequestCallsJson {
    pub calls: u64,
    pub errors: u64,
}

/// One line telling what an anomaly is, for people: `request bleed: tid 12
/// serving req-1 wrote req-2's ID to fd 5`.
pub fn anomaly_sentence(a: &Anomaly) -> String {
    match a.kind.as_str() {
        REQUEST_BLEED => format!(
            "request bleed: tid {} serving {} wrote {}'s ID to fd {}",
            a.tid, a.attributed, a.found, a.fd
        ),
        kind => format!(
            "{kind}: tid {} serving {} found {} on fd {}",
            a.tid, a.attributed, a.found, a.fd
        ),
    }
}

#[derive(Debug, Serialize)]
pub struct ObserverJson {
    /// Everything below that is known: programs (or stops) plus the slow
    /// path.
    pub total_ns: u64,
    /// eBPF: tracer's programs' run time for the target. ptrace: the time
    /// the target spent stopped.
    pub programs_ns: u64,
    /// eBPF: the tracepoint slow path the target's syscalls took, from
    /// `tracer overhead`'s calibration; absent when not calibrated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slow_path_ns: Option<u64>,
    /// eBPF: program run time over every task on the machine.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub machine_ns: Option<u64>,
    pub per_syscall_ns: u64,
    /// `total_ns` over the trace's wall-clock duration.
    pub share_of_runtime: f64,
}

impl ObserverJson {
    fn new(cost: ObserverCost, syscalls: u64, duration_ns: u64) -> Self {
        let total_ns = cost.total_ns + cost.slow_path_ns.unwrap_or(0);
        Self {
            total_ns,
            programs_ns: cost.total_ns,
            slow_path_ns: cost.slow_path_ns,
            machine_ns: cost.machine_ns,
            per_syscall_ns: total_ns.checked_div(syscalls).unwrap_or(0),
            share_of_runtime: if duration_ns == 0 {
                0.0
            } else {
                total_ns as f64 / duration_ns as f64
            },
        }
    }

    /// "observer cost: 41.2 ms over 812,345 syscalls (50 ns each), 3.1% of
    /// the target's run time".
    /// eBPF adds which part is which: "…: 20.1 ms in tracer's programs,
    /// 21.1 ms in the tracepoint slow path (calibrated by `tracer
    /// overhead`)", or says that the slow path is not counted.
    pub fn sentence(&self, syscalls: u64) -> String {
        let mut text = format!(
            "observer cost: {:.1} ms over {} syscalls ({} ns each), {:.1}% of the target's run time",
            self.total_ns as f64 / 1e6,
            thousands(syscalls),
            self.per_syscall_ns,
            self.share_of_runtime * 100.0
        );
        match (self.machine_ns, self.slow_path_ns) {
            (Some(_), Some(slow)) => text.push_str(&format!(
                ": {:.1} ms in tracer's programs, {:.1} ms in the tracepoint slow path (calibrated by `tracer overhead`)",
                self.programs_ns as f64 / 1e6,
                slow as f64 / 1e6
            )),
            (Some(_), None) => text.push_str(
                ": tracer's programs only; the tracepoint slow path is not counted (run `tracer overhead` once to calibrate it)",
            ),
            _ => {}
        }
        text
    }
}

/// `1234567` → `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[derive(Debug, Serialize)]
pub struct SyscallJson {
    pub calls: u64,
    pub errors: u64,
    pub total_ns: u64,
    pub avg_ns: u64,
    pub p50_ns: u64,
    pub p99_ns: u64,
    pub max_ns: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SummaryFormat {
    Table,
    Json,
}

pub struct SummarySink<W: Write> {
    out: W,
    format: SummaryFormat,
    by_nr: HashMap<u32, PerSyscall>,
    events: u64,
    anomalies: Vec<Anomaly>,
    /// `Some` with `--by-request`.
    requests: Option<HashMap<RequestId, PerRequest>>,
}

impl<W: Write> SummarySink<W> {
    pub fn new(out: W, format: SummaryFormat) -> Self {
        Self {
            out,
            format,
            by_nr: HashMap::new(),
            events: 0,
            anomalies: Vec::new(),
            requests: None,
        }
    }

    /// Also summarise per request (`--by-request`).
    pub fn by_request(mut self, on: bool) -> Self {
        self.requests = on.then(HashMap::new);
        self
    }

    pub fn json(&self, run: &RunInfo, tasks: &Tasks) -> SummaryJson {
        let syscalls = self
            .by_nr
            .iter()
            .map(|(&nr, s)| {
                let h = &s.latency;
                let json = SyscallJson {
                    calls: s.calls,
                    errors: s.errors,
                    total_ns: s.total_ns,
                    avg_ns: s.total_ns.checked_div(h.len()).unwrap_or(0),
                    p50_ns: h.value_at_quantile(0.5),
                    p99_ns: h.value_at_quantile(0.99),
                    max_ns: h.max(),
                };
                (syscalls::display_name(nr).into_owned(), json)
            })
            .collect();
        let requests = self.requests.as_ref().map(|requests| {
            requests
                .iter()
                .map(|(id, r)| {
                    let syscalls = r
                        .calls
                        .iter()
                        .map(|(&nr, &(calls, errors))| {
                            let name = syscalls::display_name(nr).into_owned();
                            (name, RequestCallsJson { calls, errors })
                        })
                        .collect();
                    let json = RequestJson {
                        threads: r.threads.clone(),
                        events: r.events,
                        first_ns: r.first_ns,
                        last_ns: r.last_ns,
                        wall_ns: r.last_ns - r.first_ns,
                        syscalls,
                    };
                    (id.to_string(), json)
                })
                .collect()
        });
        SummaryJson {
            anomalies: self.anomalies.iter().map(AnomalyJson::from).collect(),
            requests,
            mode: run.mode,
            lost_events: run.lost_events,
            lost_tasks: run.lost_tasks,
            lost_captures: run.lost_captures,
            events: self.events,
            duration_ns: run.duration_ns(),
            threads: tasks.seen(),
            syscalls,
            observer: run
                .observer
                .map(|cost| ObserverJson::new(cost, run.syscalls, run.duration_ns())),
        }
    }

    /// Anomalies, loud, before anything else.
    fn write_anomalies(&mut self, summary: &SummaryJson, run: &RunInfo) -> io::Result<()> {
        if self.anomalies.is_empty() {
            return Ok(());
        }
        let n = self.anomalies.len();
        writeln!(
            self.out,
            "!!! {n} {} found by request attribution:",
            if n == 1 { "anomaly" } else { "anomalies" }
        )?;
        for (anomaly, json) in self.anomalies.iter().zip(&summary.anomalies) {
            writeln!(
                self.out,
                "!!! {} at +{:.6} s",
                anomaly_sentence(anomaly),
                json.ts_ns.saturating_sub(run.start_ns) as f64 / 1e9
            )?;
        }
        writeln!(self.out)
    }

    /// `--by-request`: one row per request, in order of first event.
    fn write_requests(&mut self, summary: &SummaryJson, run: &RunInfo) -> io::Result<()> {
        let Some(requests) = &summary.requests else {
            return Ok(());
        };
        let mut rows: Vec<_> = requests.iter().collect();
        rows.sort_by(|a, b| a.1.first_ns.cmp(&b.1.first_ns).then(a.0.cmp(b.0)));
        let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max(7);
        let out = &mut self.out;
        writeln!(
            out,
            "{:width$}   first(s)    last(s)   wall(ms)  syscalls  threads  top syscalls",
            "request"
        )?;
        let secs = |ns: u64| ns.saturating_sub(run.start_ns) as f64 / 1e9;
        for (id, r) in rows {
            let mut top: Vec<_> = r.syscalls.iter().collect();
            top.sort_by(|a, b| b.1.calls.cmp(&a.1.calls).then(a.0.cmp(b.0)));
            let top = top
                .iter()
                .take(4)
                .map(|(name, c)| format!("{name} {}", c.calls))
                .collect::<Vec<_>>()
                .join(", ");
            let threads = r
                .threads
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(",");
            writeln!(
                out,
                "{id:width$} {:10.6} {:10.6} {:10.3} {:9}  {threads:>7}  {top}",
                secs(r.first_ns),
                secs(r.last_ns),
                r.wall_ns as f64 / 1e6,
                r.events,
            )?;
        }
        writeln!(
            out,
            "{} requests, {} syscall events attributed\n",
            requests.len(),
            requests.values().map(|r| r.events).sum::<u64>()
        )
    }

    fn write_table(&mut self, run: &RunInfo, tasks: &Tasks) -> io::Result<()> {
        let summary = self.json(run, tasks);
        self.write_anomalies(&summary, run)?;
        self.write_requests(&summary, run)?;
        let mut rows: Vec<_> = summary.syscalls.iter().collect();
        rows.sort_by(|a, b| b.1.total_ns.cmp(&a.1.total_ns).then(a.0.cmp(b.0)));
        let total_ns: u64 = rows.iter().map(|r| r.1.total_ns).sum();
        let out = &mut self.out;
        writeln!(
            out,
            "% time     seconds  usecs/call     calls    errors   p50(us)   p99(us)   max(us) syscall"
        )?;
        let rule = "------ ----------- ----------- --------- --------- --------- --------- --------- ----------------";
        writeln!(out, "{rule}")?;
        let us = |ns: u64| ns as f64 / 1000.0;
        for (name, s) in &rows {
            let share = if total_ns == 0 {
                0.0
            } else {
                100.0 * s.total_ns as f64 / total_ns as f64
            };
            writeln!(
                out,
                "{share:6.2} {:11.6} {:11} {:9} {:>9} {:9.1} {:9.1} {:9.1} {name}",
                s.total_ns as f64 / 1e9,
                s.avg_ns / 1000,
                s.calls,
                if s.errors > 0 {
                    s.errors.to_string()
                } else {
                    String::new()
                },
                us(s.p50_ns),
                us(s.p99_ns),
                us(s.max_ns),
            )?;
        }
        writeln!(out, "{rule}")?;
        let calls: u64 = rows.iter().map(|r| r.1.calls).sum();
        let errors: u64 = rows.iter().map(|r| r.1.errors).sum();
        writeln!(
            out,
            "100.00 {:11.6} {:11} {calls:9} {:>9} {:9} {:9} {:9} total",
            total_ns as f64 / 1e9,
            total_ns.checked_div(calls).unwrap_or(0) / 1000,
            if errors > 0 {
                errors.to_string()
            } else {
                String::new()
            },
            "",
            "",
            "",
        )?;
        if let Some(observer) = &summary.observer {
            writeln!(out, "{}", observer.sentence(run.syscalls))?;
        }
        if crate::output::lost_anything(run) {
            writeln!(out, "{}", super::lost_banner(run))?;
        }
        Ok(())
    }
}

impl<W: Write> Sink for SummarySink<W> {
    fn syscall(&mut self, ev: &SyscallEvent, _tasks: &Tasks) -> io::Result<()> {
        self.events += 1;
        let entry = self.by_nr.entry(ev.nr).or_insert_with(PerSyscall::new);
        entry.calls += 1;
        if ev.errno().is_some() {
            entry.errors += 1;
        }
        if let Some(ns) = ev.duration_ns() {
            entry.total_ns += ns;
            // Auto-resizing: fails only past u64 limits, where a lost
            // sample changes nothing.
            let _ = entry.latency.record(ns);
        }
        if let (Some(requests), Some(id)) = (&mut self.requests, &ev.request) {
            let end = ev.exit_ns.unwrap_or(ev.enter_ns);
            let r = match requests.get_mut(id) {
                Some(r) => r,
                None => requests.entry(id.clone()).or_insert(PerRequest {
                    threads: Vec::new(),
                    calls: HashMap::new(),
                    events: 0,
                    first_ns: ev.enter_ns,
                    last_ns: end,
                }),
            };
            if !r.threads.contains(&ev.tid) {
                r.threads.push(ev.tid);
            }
            let calls = r.calls.entry(ev.nr).or_default();
            calls.0 += 1;
            calls.1 += u64::from(ev.errno().is_some());
            r.events += 1;
            r.first_ns = r.first_ns.min(ev.enter_ns);
            r.last_ns = r.last_ns.max(end);
        }
        Ok(())
    }

    fn anomaly(&mut self, anomaly: &Anomaly, _tasks: &Tasks) -> io::Result<()> {
        self.anomalies.push(anomaly.clone());
        Ok(())
    }

    fn finish(&mut self, run: &RunInfo, tasks: &Tasks) -> io::Result<()> {
        match self.format {
            SummaryFormat::Table => self.write_table(run, tasks)?,
            SummaryFormat::Json => {
                let json = self.json(run, tasks);
                serde_json::to_writer_pretty(&mut self.out, &json)?;
                writeln!(self.out)?;
            }
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(nr: u32, ns: u64, ret: i64) -> SyscallEvent {
        SyscallEvent {
            tgid: 1,
            tid: 1,
            nr,
            args: [0; 6],
            enter_ns: 0,
            exit_ns: Some(ns),
            ret: Some(ret),
            strings: None,
            data: None,
            request: None,
            stack: None,
        }
    }

    #[test]
    fn counts_errors_and_percentiles() {
        let mut sink = SummarySink::new(Vec::new(), SummaryFormat::Json);
        let tasks = Tasks::default();
        for i in 1..=100u64 {
            sink.syscall(&call(110, i * 1000, 5), &tasks).unwrap();
        }
        sink.syscall(&call(257, 10, -2), &tasks).unwrap();
        let run = RunInfo {
            mode: "ebpf",
            lost_events: 3,
            ..Default::default()
        };
        let json = sink.json(&run, &tasks);
        let getppid = &json.syscalls["getppid"];
        assert_eq!((getppid.calls, getppid.errors), (100, 0));
        assert_eq!(getppid.total_ns, 5050 * 1000);
        assert!(
            (49_900..=50_100).contains(&getppid.p50_ns),
            "{}",
            getppid.p50_ns
        );
        assert!(
            (98_900..=99_100).contains(&getppid.p99_ns),
            "{}",
            getppid.p99_ns
        );
        assert!((99_900..=100_100).contains(&getppid.max_ns));
        assert_eq!(json.syscalls["openat"].errors, 1);
        assert_eq!((json.lost_events, json.events), (3, 101));
    }

    fn attributed(tid: u32, nr: u32, id: &str, enter_ns: u64, ret: i64) -> SyscallEvent {
        SyscallEvent {
            tid,
            enter_ns,
            exit_ns: Some(enter_ns + 100),
            request: Some(RequestId::from(id)),
            ..call(nr, 0, ret)
        }
    }

    fn bleed() -> Anomaly {
        Anomaly {
            kind: REQUEST_BLEED.to_string(),
            tgid: 1,
            tid: 3,
            fd: 5,
            ts_ns: 2_500_000,
            attributed: RequestId::from("req-17"),
            found: RequestId::from("req-23"),
        }
    }

    fn by_request_sink(format: SummaryFormat) -> SummarySink<Vec<u8>> {
        let mut sink = SummarySink::new(Vec::new(), format).by_request(true);
        let tasks = Tasks::default();
        sink.syscall(&attributed(3, 0, "req-17", 2_000_000, 60), &tasks)
            .unwrap();
        sink.syscall(&attributed(4, 1, "req-17", 3_000_000, -32), &tasks)
            .unwrap();
        sink.syscall(&attributed(4, 1, "req-17", 1_000_000, 9), &tasks)
            .unwrap();
        sink.syscall(&attributed(4, 0, "req-23", 2_200_000, 60), &tasks)
            .unwrap();
        sink.syscall(&call(110, 10, 1), &tasks).unwrap();
        sink.anomaly(&bleed(), &tasks).unwrap();
        sink
    }

    #[test]
    fn per_request_json() {
        let sink = by_request_sink(SummaryFormat::Json);
        let run = RunInfo {
            mode: "ebpf",
            ..Default::default()
        };
        let json = serde_json::to_value(sink.json(&run, &Tasks::default())).unwrap();
        let r17 = &json["requests"]["req-17"];
        assert_eq!(r17["threads"], serde_json::json!([3, 4]));
        assert_eq!(r17["syscalls"]["read"]["calls"], 1);
        assert_eq!(r17["syscalls"]["write"]["calls"], 2);
        assert_eq!(r17["syscalls"]["write"]["errors"], 1);
        assert_eq!(r17["first_ns"], 1_000_000);
        assert_eq!(r17["last_ns"], 3_000_100);
        assert_eq!(r17["wall_ns"], 2_000_100);
        assert_eq!(r17["events"], 3);
        assert_eq!(
            json["requests"]["req-23"]["threads"],
            serde_json::json!([4])
        );
        assert_eq!(json["requests"].as_object().unwrap().len(), 2);
        assert_eq!(
            json["anomalies"],
            serde_json::json!([{
                "kind": "request_bleed", "tgid": 1, "tid": 3, "fd": 5, "ts_ns": 2_500_000,
                "attributed": "req-17", "found": "req-23"
            }])
        );
        // The unattributed getppid counts in the totals only.
        assert_eq!(json["events"], 5);
    }

    #[test]
    fn anomalies_always_requests_only_when_asked() {
        let mut sink = SummarySink::new(Vec::new(), SummaryFormat::Json);
        let tasks = Tasks::default();
        sink.syscall(&attributed(3, 0, "a", 1, 1), &tasks).unwrap();
        sink.finish(&RunInfo::default(), &tasks).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&sink.out).unwrap();
        assert_eq!(json["anomalies"], serde_json::json!([]));
        assert!(json.get("requests").is_none(), "{json}");
    }

    #[test]
    fn per_request_table_lists_anomalies_first() {
        let mut sink = by_request_sink(SummaryFormat::Table);
        let run = RunInfo {
            mode: "ebpf",
            start_ns: 500_000,
            end_ns: 4_000_000,
            ..Default::default()
        };
        sink.finish(&run, &Tasks::default()).unwrap();
        let text = String::from_utf8(sink.out).unwrap();
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines[0], "!!! 1 anomaly found by request attribution:");
        assert_eq!(
            lines[1],
            "!!! request bleed: tid 3 serving req-17 wrote req-23's ID to fd 5 at +0.002000 s"
        );
        let header = lines
            .iter()
            .position(|l| l.starts_with("request "))
            .unwrap();
        assert!(header > 1);
        // In order of first event; req-17 first at +0.5 ms, 2 ms of wall.
        assert!(
            lines[header + 1].starts_with("req-17    0.000500   0.002500      2.000"),
            "{text}"
        );
        assert!(
            lines[header + 1].contains(" 3,4  write 2, read 1"),
            "{text}"
        );
        assert!(lines[header + 2].starts_with("req-23 "), "{text}");
        assert!(
            text.contains("2 requests, 4 syscall events attributed"),
            "{text}"
        );
        assert!(text.contains(" total\n"), "{text}");
    }

    #[test]
    fn observer_sentence() {
        let json = ObserverJson::new(
            ObserverCost {
                total_ns: 41_200_000,
                machine_ns: None,
                slow_path_ns: None,
            },
            812_345,
            1_329_000_000,
        );
        assert_eq!(json.per_syscall_ns, 50);
        assert_eq!(
            json.sentence(812_345),
            "observer cost: 41.2 ms over 812,345 syscalls (50 ns each), 3.1% of the target's run time"
        );
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
    }

    /// Item 6 of #13: the slow path is added to the programs' run time, and
    /// the sentence says which part is which.
    #[test]
    fn observer_cost_adds_the_calibrated_slow_path() {
        let cost = |slow_path_ns| ObserverCost {
            total_ns: 20_000_000,
            machine_ns: Some(25_000_000),
            slow_path_ns,
        };
        let json = ObserverJson::new(cost(Some(30_000_000)), 1_000_000, 1_000_000_000);
        assert_eq!((json.total_ns, json.programs_ns), (50_000_000, 20_000_000));
        assert_eq!(json.per_syscall_ns, 50);
        let text = json.sentence(1_000_000);
        assert!(
            text.contains("50.0 ms over 1,000,000 syscalls (50 ns each), 5.0% of the target's run time: 20.0 ms in tracer's programs, 30.0 ms in the tracepoint slow path"),
            "{text}"
        );
        let text = ObserverJson::new(cost(None), 1_000_000, 1_000_000_000).sentence(1_000_000);
        assert!(text.contains("(20 ns each), 2.0%"), "{text}");
        assert!(text.contains("slow path is not counted"), "{text}");
    }

    #[test]
    fn table_lists_every_syscall_and_lost_events() {
        let mut sink = SummarySink::new(Vec::new(), SummaryFormat::Table);
        let tasks = Tasks::default();
        sink.syscall(&call(110, 1000, 5), &tasks).unwrap();
        sink.syscall(&call(257, 10, -2), &tasks).unwrap();
        let run = RunInfo {
            mode: "ebpf",
            lost_events: 7,
            lost_tasks: 1,
            lost_captures: 3,
            syscalls: 2,
            observer: Some(ObserverCost {
                total_ns: 5_000,
                machine_ns: Some(9_000),
                slow_path_ns: None,
            }),
            start_ns: 0,
            end_ns: 100_000,
        };
        sink.finish(&run, &tasks).unwrap();
        let text = String::from_utf8(sink.out).unwrap();
        assert!(text.contains(" getppid\n"), "{text}");
        assert!(text.contains(" openat\n"), "{text}");
        assert!(
            text.contains(
                "LOST 7 syscalls, 1 task records, and the data or paths of 3 recorded syscalls"
            ),
            "{text}"
        );
        assert!(text.contains(" total\n"), "{text}");
        assert!(
            text.contains("observer cost: 0.0 ms over 2 syscalls (2500 ns each), 5.0%"),
            "{text}"
        );
    }
}
