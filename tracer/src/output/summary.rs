//! `-c`: per-syscall counts and latency percentiles, as a table like
//! `strace -c` (plus p50/p99/max) or as JSON.

use std::{
    collections::{BTreeMap, HashMap},
    io::{self, Write},
};

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::{
    event::SyscallEvent,
    pipeline::{ObserverCost, RunInfo, Sink, Tasks},
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

/// The summary as `--json` prints it (and as tests read it).
#[derive(Debug, Serialize)]
pub struct SummaryJson {
    pub mode: &'static str,
    pub lost_events: u64,
    pub events: u64,
    pub duration_ns: u64,
    pub threads: usize,
    pub syscalls: BTreeMap<String, SyscallJson>,
    /// What watching cost the target; `null` when the source cannot tell.
    pub observer: Option<ObserverJson>,
}

#[derive(Debug, Serialize)]
pub struct ObserverJson {
    pub total_ns: u64,
    /// eBPF: program run time over every task on the machine.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub machine_ns: Option<u64>,
    pub per_syscall_ns: u64,
    /// `total_ns` over the trace's wall-clock duration.
    pub share_of_runtime: f64,
}

impl ObserverJson {
    fn new(cost: ObserverCost, syscalls: u64, duration_ns: u64) -> Self {
        Self {
            total_ns: cost.total_ns,
            machine_ns: cost.machine_ns,
            per_syscall_ns: cost.total_ns.checked_div(syscalls).unwrap_or(0),
            share_of_runtime: if duration_ns == 0 {
                0.0
            } else {
                cost.total_ns as f64 / duration_ns as f64
            },
        }
    }

    /// "observer cost: 41.2 ms over 812,345 syscalls (50 ns each), 3.1% of
    /// the target's run time".
    pub fn sentence(&self, syscalls: u64) -> String {
        format!(
            "observer cost: {:.1} ms over {} syscalls ({} ns each), {:.1}% of the target's run time",
            self.total_ns as f64 / 1e6,
            thousands(syscalls),
            self.per_syscall_ns,
            self.share_of_runtime * 100.0
        )
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
}

impl<W: Write> SummarySink<W> {
    pub fn new(out: W, format: SummaryFormat) -> Self {
        Self {
            out,
            format,
            by_nr: HashMap::new(),
            events: 0,
        }
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
        SummaryJson {
            mode: run.mode,
            lost_events: run.lost_events,
            events: self.events,
            duration_ns: run.duration_ns(),
            threads: tasks.seen(),
            syscalls,
            observer: run
                .observer
                .map(|cost| ObserverJson::new(cost, run.syscalls, run.duration_ns())),
        }
    }

    fn write_table(&mut self, run: &RunInfo, tasks: &Tasks) -> io::Result<()> {
        let summary = self.json(run, tasks);
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
        if run.lost_events > 0 {
            writeln!(out, "{}", super::lost_banner(run.lost_events))?;
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

    #[test]
    fn observer_sentence() {
        let json = ObserverJson::new(
            ObserverCost {
                total_ns: 41_200_000,
                machine_ns: None,
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

    #[test]
    fn table_lists_every_syscall_and_lost_events() {
        let mut sink = SummarySink::new(Vec::new(), SummaryFormat::Table);
        let tasks = Tasks::default();
        sink.syscall(&call(110, 1000, 5), &tasks).unwrap();
        sink.syscall(&call(257, 10, -2), &tasks).unwrap();
        let run = RunInfo {
            mode: "ebpf",
            lost_events: 7,
            syscalls: 2,
            observer: Some(ObserverCost {
                total_ns: 5_000,
                machine_ns: Some(9_000),
            }),
            start_ns: 0,
            end_ns: 100_000,
        };
        sink.finish(&run, &tasks).unwrap();
        let text = String::from_utf8(sink.out).unwrap();
        assert!(text.contains(" getppid\n"), "{text}");
        assert!(text.contains(" openat\n"), "{text}");
        assert!(text.contains("LOST 7 events"), "{text}");
        assert!(text.contains(" total\n"), "{text}");
        assert!(
            text.contains("observer cost: 0.0 ms over 2 syscalls (2500 ns each), 5.0%"),
            "{text}"
        );
    }
}
