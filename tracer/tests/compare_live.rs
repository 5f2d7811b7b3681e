//! `tracer compare -p PID`: a live service (the lab's `supervisor`,
//! restarting a worker forever) compared in alternating windows, in both
//! tracing modes. The counts of every window are checked against what the
//! supervisor itself reports of each run; the service is checked to be
//! exactly as it was after the compare (running, not stopped, its signal
//! dispositions and mask unchanged, no seccomp filter, no tracer), also
//! when the compare is killed with SIGKILL mid-window; and bad input is
//! refused with a clear message.

mod common;

use common::*;

use std::{
    collections::BTreeSet,
    io::{BufRead, BufReader},
    process::{Child, Command, Output, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde_json::Value;

/// A worker whose outcome depends on its pid alone, never on timing: a
/// third exit 3, a third die of SIGTERM, a third pass. No fork, no exec
/// (dash's `kill` and `exit` are builtins): one process per run.
const WORKER: &str = "case $(($$ % 3)) in 0) exit 3;; 1) kill -TERM $$;; esac";

/// One line of the supervisor's report.
#[derive(Clone, Debug)]
struct Run {
    spawned_ns: u64,
    reaped_ns: u64,
    outcome: String,
}

/// The lab's supervisor running `sh -c WORKER` with a pause between runs,
/// its report gathered as it comes.
struct Service {
    child: Child,
    runs: Arc<Mutex<Vec<Run>>>,
}

impl Service {
    fn start(pause_ms: u32) -> Self {
        Self::start_with("sh", pause_ms)
    }

    /// With the worker run by `shell` (a link to `sh` under a name of its
    /// own, for `--comm`).
    fn start_with(shell: &str, pause_ms: u32) -> Self {
        let mut child = Command::new(sibling("supervisor"))
            .args(["--pause", &pause_ms.to_string(), "--", shell, "-c", WORKER])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        let runs = Arc::new(Mutex::new(Vec::new()));
        let gathered = Arc::clone(&runs);
        std::thread::spawn(move || {
            for line in out.lines() {
                let Ok(line) = line else { break };
                let field = |key: &str| {
                    line.split(' ')
                        .find_map(|f| f.strip_prefix(&format!("{key}=")))
                        .unwrap()
                        .to_owned()
                };
                gathered.lock().unwrap().push(Run {
                    spawned_ns: field("spawned_ns").parse().unwrap(),
                    reaped_ns: field("reaped_ns").parse().unwrap(),
                    outcome: field("outcome"),
                });
            }
        });
        // Running, with a run or two behind it.
        let deadline = Instant::now() + Duration::from_secs(10);
        while runs.lock().unwrap().len() < 2 {
            assert!(Instant::now() < deadline, "the supervisor reports no run");
            std::thread::sleep(Duration::from_millis(10));
        }
        Self { child, runs }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn runs(&self) -> Vec<Run> {
        self.runs.lock().unwrap().clone()
    }

    /// What must be the same after a compare as before it, read when the
    /// supervisor is not in the middle of starting a worker (it blocks
    /// every signal for the moment of the fork): the first reading with no
    /// signal blocked, or the last of a second's worth.
    fn settled_state(&self) -> ServiceState {
        let mut state = self.state();
        for _ in 0..200 {
            if state.signals[0] == "0000000000000000" {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
            state = self.state();
        }
        state
    }

    fn state(&self) -> ServiceState {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{name}:")))
                .unwrap_or_else(|| panic!("no {name} in {status}"))
                .trim()
                .to_owned()
        };
        ServiceState {
            stopped: field("State").starts_with(['T', 't']),
            signals: ["SigBlk", "SigIgn", "SigCgt"].map(field),
            seccomp: field("Seccomp"),
            tracer: field("TracerPid"),
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug, PartialEq, Eq)]
struct ServiceState {
    /// In state `T` or `t` (stopped, or stopped by a tracer).
    stopped: bool,
    signals: [String; 3],
    seccomp: String,
    tracer: String,
}

fn compare(args: &[&str]) -> Output {
    let out = Command::new(tracer())
        .arg("compare")
        .args(args)
        .output()
        .unwrap();
    eprintln!(
        "stderr of compare {args:?}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The failure kind a supervisor outcome counts as.
fn kind(outcome: &str) -> Option<&'static str> {
    match outcome.split(':').next() {
        Some("exit") => Some("exit"),
        Some("signal") => Some("signal"),
        _ => None,
    }
}

/// How a compare names the service.
enum Named {
    Pid,
    Comm,
    Cgroup,
}

/// Compares `mode` against untraced on the supervisor, named as `named`
/// says; checks every window's counts against the supervisor's report,
/// and that the service is as before.
fn counts_match_the_supervisor(mode: &str, named: Named) {
    // `--comm`: the workers run as a link to sh with a name of this test's.
    let name = format!("lw{}{}", mode.len(), std::process::id() % 100_000);
    let link = scratch(&name);
    if matches!(named, Named::Comm) && !link.exists() {
        std::os::unix::fs::symlink(std::fs::canonicalize("/bin/sh").unwrap(), &link).unwrap();
    }
    let service = match named {
        Named::Comm => Service::start_with(link.to_str().unwrap(), 15),
        _ => Service::start(15),
    };
    // `--cgroup`: the supervisor moved into a group of its own.
    let group = matches!(named, Named::Cgroup).then(|| {
        let group = ChildCgroup(cgroup2_mount().join(format!("tracer-live-{name}")));
        std::fs::create_dir(&group.0).unwrap();
        std::fs::write(group.0.join("cgroup.procs"), service.pid().to_string()).unwrap();
        group
    });
    let before = service.settled_state();
    assert!(!before.stopped, "{before:?}");
    let modes = format!("none,{mode}");
    let target: Vec<String> = match &group {
        Some(group) => vec!["--cgroup".into(), group.0.display().to_string()],
        None if matches!(named, Named::Comm) => vec!["--comm".into(), name.clone()],
        None => vec!["-p".into(), service.pid().to_string()],
    };
    let mut args: Vec<&str> = target.iter().map(String::as_str).collect();
    args.extend([
        "--modes",
        &modes,
        "--window",
        "1s",
        "--windows",
        "2",
        "--json",
    ]);
    let out = compare(&args);
    assert_eq!(out.status.code(), Some(0), "{mode}");
    // The runs of the last window ended by now: the compare took in its
    // records after closing it.
    let runs = service.runs();
    let after = service.settled_state();
    assert_eq!(after, before, "{mode}: the service changed");

    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let windows = json["live"]["windows"].as_array().unwrap();
    assert_eq!(windows.len(), 4, "{json}");
    let mut per_mode = std::collections::BTreeMap::<String, (u64, u64)>::new();
    for w in windows {
        let start = w["start_ns"].as_u64().unwrap();
        let end = w["end_ns"].as_u64().unwrap();
        let name = w["mode"].as_str().unwrap();
        if name != "none" {
            assert_eq!(w["attached"][0].as_u64(), Some(service.pid() as u64), "{w}");
        }
        // The kernel's fork and exit lie between the supervisor's spawn
        // and reap: a run certainly counted here ran wholly inside; one
        // that may be counted here overlaps the span.
        let certain = |r: &&Run| r.spawned_ns >= start && r.reaped_ns <= end;
        let possible = |r: &&Run| r.reaped_ns >= start && r.spawned_ns <= end;
        let count = |f: &dyn Fn(&&Run) -> bool, k: Option<&str>| {
            runs.iter()
                .filter(|r| f(r) && (k.is_none() || kind(&r.outcome) == k))
                .count() as u64
        };
        let counted = w["runs"].as_u64().unwrap();
        assert!(
            count(&certain, None) <= counted && counted <= count(&possible, None),
            "{mode}: window {w}: {} certain, {} possible runs",
            count(&certain, None),
            count(&possible, None)
        );
        assert!(counted > 3, "{mode}: too few runs to check anything: {w}");
        for k in ["exit", "signal"] {
            let n = w["failures_by_kind"][k].as_u64().unwrap_or(0);
            assert!(
                count(&certain, Some(k)) <= n && n <= count(&possible, Some(k)),
                "{mode}: {k} failures in window {w}"
            );
        }
        let e = per_mode.entry(name.to_owned()).or_default();
        e.0 += counted;
        e.1 += w["failures"].as_u64().unwrap();
    }
    // The modes' rows are the sums of their windows.
    for m in json["modes"].as_array().unwrap() {
        let (runs, failures) = per_mode[m["mode"].as_str().unwrap()];
        assert_eq!(m["runs"], runs, "{m}");
        assert_eq!(m["failures"], failures, "{m}");
        assert_eq!(m["unit"], "runs", "{m}");
        assert_eq!(m["windows"], 2, "{m}");
    }
    assert_eq!(json["live"]["lost_task_records"], 0);
    assert!(!json["verdict"].as_str().unwrap().is_empty());
    // The service first: a group with processes cannot be removed.
    drop(service);
    drop(group);
}

#[test]
fn ebpf_windows_count_what_the_supervisor_reports_and_leave_it_as_it_was() {
    counts_match_the_supervisor("ebpf", Named::Pid);
}

#[test]
fn ptrace_windows_count_what_the_supervisor_reports_and_leave_it_as_it_was() {
    counts_match_the_supervisor("ptrace", Named::Pid);
}

/// `--comm`: the workers by name; the supervisor, their parent, is
/// watched (and attached to) but not counted.
#[test]
fn workers_named_by_comm_are_counted_in_both_modes() {
    counts_match_the_supervisor("ebpf", Named::Comm);
    counts_match_the_supervisor("ptrace", Named::Comm);
}

/// `--cgroup`: the processes of a cgroup v2 group.
#[test]
fn a_cgroup_is_counted_in_both_modes() {
    counts_match_the_supervisor("ebpf", Named::Cgroup);
    counts_match_the_supervisor("ptrace", Named::Cgroup);
}

/// The fork/exec/exit tracepoint links of a process, and any other BPF
/// link it holds (by its type).
fn bpf_links(pid: u32) -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut tracepoints, mut others) = (BTreeSet::new(), BTreeSet::new());
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) else {
        return (tracepoints, others);
    };
    for entry in dir.flatten() {
        let Ok(info) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        let field = |name: &str| {
            info.lines()
                .find_map(|l| l.strip_prefix(&format!("{name}:")))
                .map(|v| v.trim().to_owned())
        };
        match (field("link_type"), field("tp_name")) {
            (Some(t), Some(tp)) if t == "perf" => {
                tracepoints.insert(tp);
            }
            (Some(t), _) => {
                others.insert(t);
            }
            _ => {}
        }
    }
    (tracepoints, others)
}

/// The recorder a compare started, once it runs.
fn recorder_of(compare: u32) -> Option<u32> {
    let children =
        std::fs::read_to_string(format!("/proc/{compare}/task/{compare}/children")).ok()?;
    children.split_whitespace().next()?.parse().ok()
}

/// Through a whole compare (untraced and traced windows), the compare
/// itself holds the three task tracepoint links and nothing else: no
/// raw_syscalls program runs for the counting.
#[test]
fn only_the_fork_exec_exit_programs_count_in_every_window() {
    let service = Service::start(50);
    let mut child = Command::new(tracer())
        .args(["compare", "-p", &service.pid().to_string()])
        .args([
            "--modes",
            "none,ebpf",
            "--window",
            "1s",
            "--windows",
            "1",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let expected: BTreeSet<String> = [
        "sched_process_exec",
        "sched_process_exit",
        "sched_process_fork",
    ]
    .map(String::from)
    .into();
    let mut samples = 0;
    let mut traced_samples = 0;
    while child.try_wait().unwrap().is_none() {
        let (tracepoints, others) = bpf_links(child.id());
        // From the first link the compare makes to its exit.
        assert!(others.is_empty(), "the compare holds {others:?}");
        assert!(tracepoints.is_subset(&expected), "{tracepoints:?}");
        if tracepoints == expected {
            samples += 1;
            traced_samples += usize::from(recorder_of(child.id()).is_some());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(child.wait().unwrap().success());
    assert!(samples > 20, "{samples} samples");
    assert!(
        traced_samples > 5,
        "{traced_samples} samples in the traced window"
    );
}

/// A compare killed with SIGKILL in a traced window: its recorder
/// detaches, and the service runs on as it was, in both modes.
#[test]
fn a_killed_compare_leaves_the_service_running() {
    for mode in ["ebpf", "ptrace"] {
        let service = Service::start(20);
        let before = service.settled_state();
        let mut child = Command::new(tracer())
            .args(["compare", "-p", &service.pid().to_string()])
            .args(["--modes", mode, "--window", "30s", "--windows", "1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait for the recorder to hold the service: a tracer (ptrace),
        // BPF links of its own (eBPF).
        let deadline = Instant::now() + Duration::from_secs(30);
        let recorder = loop {
            assert!(
                Instant::now() < deadline,
                "{mode}: the recorder never attached"
            );
            if let Some(rec) = recorder_of(child.id()) {
                let holding = match mode {
                    // The tracing thread is one of the recorder's.
                    "ptrace" => service.state().tracer != "0",
                    // Its syscall programs' links.
                    _ => bpf_links(rec).1.contains("raw_tracepoint"),
                };
                if holding {
                    break rec;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        child.kill().unwrap();
        child.wait().unwrap();
        // The recorder follows it (SIGTERM on its parent's death: a clean
        // detach).
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::path::Path::new(&format!("/proc/{recorder}")).exists()
            && !std::fs::read_to_string(format!("/proc/{recorder}/stat"))
                .is_ok_and(|s| s.contains(") Z "))
        {
            assert!(Instant::now() < deadline, "{mode}: the recorder lives on");
            std::thread::sleep(Duration::from_millis(20));
        }
        let seen = service.runs().len();
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            service.runs().len() > seen,
            "{mode}: the service stopped running"
        );
        assert_eq!(
            service.settled_state(),
            before,
            "{mode}: the service changed"
        );
    }
}

#[test]
fn a_target_that_exits_mid_compare_is_reported_with_what_was_gathered() {
    // Long enough to outlive loading the programs on a busy machine.
    let mut sleeper = Command::new("sleep").arg("8").spawn().unwrap();
    let out = compare(&[
        "-p",
        &sleeper.id().to_string(),
        "--modes",
        "none,ptrace",
        "--window",
        "1s",
        "--windows",
        "10",
        "--json",
    ]);
    sleeper.wait().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    let said = format!(
        "process {} exited (exit status 0) during window ",
        sleeper.id()
    );
    let window: usize = err
        .split_once(&said)
        .and_then(|(_, rest)| rest.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        err.contains(" of 20: these are the windows gathered so far"),
        "{err}"
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    // The window it exited in is among them, unless it exited while the
    // window's recorder was attaching.
    let gathered = json["live"]["windows"].as_array().unwrap().len();
    assert!(gathered == window || gathered + 1 == window, "{json}");
    assert!(
        json["live"]["ended_early"]
            .as_str()
            .unwrap()
            .contains("exited")
    );
}

#[test]
fn bad_input_is_refused_clearly() {
    let me = std::process::id().to_string();
    let cases: [(&[&str], &str); 8] = [
        (
            &["-p", &me, "--fail-on", "output=KeyError"],
            "cannot see the service's output in untraced windows",
        ),
        (&["-p", &me, "--window", "50ms"], "shorter than 100ms"),
        (&["-p", &me, "--window", "soon"], "is not a duration"),
        (&["-p", &me, "--windows", "0"], "--windows"),
        (&["-p", "0"], "-p"),
        (
            &["-p", &me, "--modes", "none,delay:read=1ms"],
            "delays are for launched runs",
        ),
        (&["-p", &me, "--comm", "x"], "cannot be used with"),
        (
            &["--comm", "a-name-longer-than-15"],
            "is not a process name",
        ),
    ];
    for (args, message) in cases {
        let out = compare(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(err.contains(message), "{args:?}: {err}");
    }
    // A process that does not exist.
    let out = compare(&["-p", "4194303", "--window", "1s"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such process: 4194303"));
}

/// `CLOCK_REALTIME` minus `CLOCK_MONOTONIC`, in ns: puts the windows'
/// times on the clock the lab service stamps its log lines with.
fn realtime_offset_ns() -> i128 {
    let read = |clock| {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes the timespec it is given.
        unsafe { libc::clock_gettime(clock, &mut ts) };
        ts.tv_sec as i128 * 1_000_000_000 + ts.tv_nsec as i128
    };
    let mono = read(libc::CLOCK_MONOTONIC);
    read(libc::CLOCK_REALTIME) - mono
}

/// `--fail-on log=FILE:REGEX`: failures are the service's log lines, per
/// hour of each mode's windows; each window's count is what the service
/// logged while that window's mode was in force.
#[test]
fn log_lines_are_counted_per_hour_of_each_mode() {
    let log = scratch("live-service.log");
    let _ = std::fs::remove_file(&log);
    let mut service = Command::new(sibling("logging_service"))
        .arg("--log")
        .arg(&log)
        .args(["--duration", "60", "--widen-us", "100"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !log.exists() {
        assert!(Instant::now() < deadline, "the service wrote no log");
        std::thread::sleep(Duration::from_millis(10));
    }
    let criterion = format!("log={}:FAILURE lost update", log.display());
    let out = compare(&[
        "-p",
        &service.id().to_string(),
        "--modes",
        "none,ptrace",
        "--window",
        "1s",
        "--windows",
        "2",
        "--fail-on",
        &criterion,
        "--json",
    ]);
    let offset = realtime_offset_ns();
    let _ = service.kill();
    let _ = service.wait();
    assert_eq!(out.status.code(), Some(0));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    // The service's own stamps (realtime seconds) of its failure lines.
    let stamps: Vec<i128> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .filter(|l| l.contains("FAILURE lost update"))
        .map(|l| {
            let secs: f64 = l.split(' ').next().unwrap().parse().unwrap();
            (secs * 1e9) as i128 - offset
        })
        .collect();
    // A line is read a little after it is written: 100 ms either side of
    // a boundary may fall on either side.
    const SLACK: i128 = 100_000_000;
    let mut total = 0;
    for w in json["live"]["windows"].as_array().unwrap() {
        let start = w["start_ns"].as_u64().unwrap() as i128;
        let end = w["end_ns"].as_u64().unwrap() as i128;
        let within = |lo: i128, hi: i128| stamps.iter().filter(|&&t| lo <= t && t <= hi).count();
        let n = w["failures"].as_u64().unwrap() as usize;
        assert!(
            within(start + SLACK, end - SLACK) <= n && n <= within(start - SLACK, end + SLACK),
            "window {w}: {} certain, {} possible lines",
            within(start + SLACK, end - SLACK),
            within(start - SLACK, end + SLACK)
        );
        assert_eq!(w["runs"], 0, "{w}");
        total += n;
    }
    assert!(total > 0, "no failure logged at all: {json}");
    for m in json["modes"].as_array().unwrap() {
        assert_eq!(m["unit"], "time", "{m}");
        let failures = m["failures"].as_f64().unwrap();
        let hours = m["exposure_s"].as_f64().unwrap() / 3600.0;
        let rate = m["rate_per_hour"].as_f64().unwrap();
        assert!(
            (rate - failures / hours).abs() < 1e-6 * rate.max(1.0),
            "{m}"
        );
        assert_eq!(m["failure_rate"], m["rate_per_hour"], "{m}");
        assert!(m["ci95"][0].as_f64().unwrap() <= rate, "{m}");
        assert!(rate <= m["ci95"][1].as_f64().unwrap(), "{m}");
        if m["mode"] == "ptrace" {
            // Two windows each: Mann-Whitney's exact p, and the rate ratio.
            assert!(m["p_value"].as_f64().is_some(), "{m}");
            assert!(m["rate_ratio"]["ratio"].as_f64().is_some(), "{m}");
        }
    }
}

#[test]
fn a_missing_log_or_mixed_units_are_refused() {
    let me = std::process::id().to_string();
    let out = compare(&["-p", &me, "--fail-on", "log=/nonexistent/x.log:FAIL"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("log file /nonexistent/x.log does not exist"),
        "{err}"
    );
    let out = compare(&[
        "-p",
        &me,
        "--fail-on",
        "exit",
        "--fail-on",
        "log=/tmp/x:FAIL",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("give one log criterion alone"), "{err}");
}
