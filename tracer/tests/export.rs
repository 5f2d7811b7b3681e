//! End-to-end tests of the exports: the real binary records a real process
//! (`examples/syscall_workload.rs`) with `--export` in every format, and
//! replays the recording with `tracer export`; `perfetto_check.py` decodes
//! the Perfetto trace with perfetto's own schema (`perfetto_trace_pb2`
//! from the `perfetto` package, installed by `cargo xtask setup`) and the
//! Chrome JSON with `json`, checks the formats' rules and prints what it
//! found, which these tests compare with what the run did.
//!
//! Request flows are checked on a real server with real request IDs (the
//! lab's pooled-buffer server), and at scale, with anomalies, on `tracer
//! export --synthetic`, a generated trace of servers handing requests
//! across threads.

mod common;

use common::*;

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use serde_json::Value;

/// Runs the checker on `path` as `kind`; its summary.
fn check(kind: &str, path: &Path) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/perfetto_check.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(kind)
        .arg(path)
        .output()
        .expect("python3 (cargo xtask setup installs the perfetto package)");
    assert!(
        out.status.success(),
        "{kind} check of {} failed:\n{}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn count(summary: &Value, path: &[&str]) -> u64 {
    let mut v = summary;
    for key in path {
        v = &v[key];
    }
    v.as_u64().unwrap_or(0)
}

const FORMATS: [&str; 4] = ["perfetto", "chrome", "jsonl", "csv"];

/// Records the standard workload in `mode`, exporting every format live
/// and writing a recording, in files named after `tag`; returns the paths
/// by format, the recording, the text trace and tracer's output.
fn record_standard(
    mode: &str,
    tag: &str,
) -> (HashMap<&'static str, PathBuf>, PathBuf, String, Output) {
    let files: HashMap<&str, PathBuf> = FORMATS
        .iter()
        .map(|&f| (f, scratch(&format!("live-{tag}.{f}"))))
        .collect();
    let recording = scratch(&format!("{tag}.rec"));
    let text = scratch(&format!("{tag}.txt"));
    let mut args: Vec<String> = vec!["record".into(), "--mode".into(), mode.into()];
    for f in FORMATS {
        args.push("--export".into());
        args.push(format!("{f}:{}", files[f].display()));
    }
    args.extend([
        "-w".into(),
        recording.display().to_string(),
        "-o".into(),
        text.display().to_string(),
        "--".into(),
        workload().display().to_string(),
        "standard".into(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&args);
    assert!(out.status.success(), "tracer failed: {:?}", out.status);
    let text = std::fs::read_to_string(&text).unwrap();
    (files, recording, text, out)
}

fn live_exports(mode: &str) {
    let (files, _, text, out) = record_standard(mode, mode);
    let syscalls = text.lines().filter(|l| is_syscall_line(l)).count() as u64;
    let (pid, thread, child): (String, String, String) = (
        printed(&out.stdout, "pid"),
        printed(&out.stdout, "thread_tid"),
        printed(&out.stdout, "child_pid"),
    );

    let perfetto = check("perfetto", &files["perfetto"]);
    assert_eq!(count(&perfetto, &["slices"]), syscalls, "{perfetto}");
    assert_eq!(count(&perfetto, &["by_thread", &pid, "getppid"]), 1000);
    assert_eq!(count(&perfetto, &["by_thread", &thread, "getuid"]), 50);
    assert_eq!(count(&perfetto, &["by_thread", &child, "getgid"]), 25);
    // The workload's own, and the loader's search of LD_LIBRARY_PATH.
    assert!(count(&perfetto, &["errnos", "openat ENOENT"]) >= 1);
    // Both processes end in exit_group, the thread in exit: instants.
    assert!(count(&perfetto, &["instants"]) >= 3, "{perfetto}");
    for tid in [&pid, &thread, &child] {
        assert_eq!(
            perfetto["thread_names"][tid], "syscall_workloa",
            "{perfetto}"
        );
    }
    for tgid in [&pid, &child] {
        assert_eq!(perfetto["process_names"][tgid], "syscall_workloa");
    }
    assert!(count(&perfetto, &["counter_samples"]) >= 4);

    let chrome = check("chrome", &files["chrome"]);
    assert_eq!(count(&chrome, &["slices"]), syscalls);
    assert_eq!(chrome["by_name"], perfetto["by_name"]);
    assert_eq!(chrome["thread_names"], perfetto["thread_names"]);
    assert_eq!(chrome["process_names"], perfetto["process_names"]);

    // strace's lines about tasks, in order, as the text shows them: the
    // exports carry them as rows of their own (#16).
    let task_lines: Vec<(u64, String)> = text
        .lines()
        .filter_map(|l| {
            let (tid, rest) = l.strip_prefix("[pid ")?.split_once("] ")?;
            (rest.starts_with("--- ") || rest.starts_with("+++ "))
                .then(|| (tid.trim().parse().unwrap(), rest.to_owned()))
        })
        .collect();
    // Three exits: the process, its thread, its child (with 3).
    let exits = task_lines
        .iter()
        .filter(|(_, l)| l.starts_with("+++ exited with "))
        .count();
    assert_eq!(exits, 3, "{task_lines:?}");
    assert!(
        task_lines.iter().any(|(_, l)| l == "+++ exited with 3 +++"),
        "{task_lines:?}"
    );
    for f in ["jsonl", "csv"] {
        let rows = check(f, &files[f]);
        assert_eq!(count(&rows, &["rows"]), syscalls, "{f}");
        assert_eq!(rows["by_name"], perfetto["by_name"], "{f}");
        let tasks: Vec<(u64, String)> = rows["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["tid"].as_u64().unwrap(),
                    t["line"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(tasks, task_lines, "{f}");
    }
    let first: Value = serde_json::from_str(
        std::fs::read_to_string(&files["jsonl"])
            .unwrap()
            .lines()
            .find(|l| l.contains("tracer-test-missing"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(first["ret"], -2);
    assert_eq!(first["errno"], "ENOENT");
    assert_eq!(first["tgid"].to_string(), pid);
    assert!(
        first["args"]
            .as_str()
            .unwrap()
            .contains("O_RDONLY|O_NOCTTY|O_NOFOLLOW"),
        "{first}"
    );
}

/// `tracer export` of the recording writes what the live export wrote; a
/// recording cut short (tracer killed) exports what it holds.
fn replayed_exports(mode: &str) {
    let (files, recording, _, _) = record_standard(mode, &format!("{mode}-replay"));
    for f in FORMATS {
        let out_path = scratch(&format!("replayed-{mode}.{f}"));
        let out = run(&[
            "export",
            recording.to_str().unwrap(),
            "--format",
            f,
            "-o",
            out_path.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "export {f} failed");
        if f == "perfetto" {
            // The clock snapshot is taken at export time; all else is equal.
            assert_eq!(check(f, &out_path), check(f, &files[f]));
        } else {
            assert!(
                std::fs::read(&out_path).unwrap() == std::fs::read(&files[f]).unwrap(),
                "replayed {f} differs from the live export"
            );
        }
    }
    let bytes = std::fs::read(&recording).unwrap();
    let cut = scratch(&format!("{mode}-cut.rec"));
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let out_path = scratch(&format!("cut-{mode}.jsonl"));
    let out = run(&[
        "export",
        cut.to_str().unwrap(),
        "--format",
        "jsonl",
        "-o",
        out_path.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cut short"));
    let rows = check("jsonl", &out_path);
    let all = check("jsonl", &files["jsonl"]);
    assert!(count(&rows, &["rows"]) > 0);
    assert!(count(&rows, &["rows"]) < count(&all, &["rows"]));
}

macro_rules! in_mode {
    ($name:ident, $mode:literal) => {
        mod $name {
            #[test]
            fn live_exports() {
                super::live_exports($mode);
            }
            #[test]
            fn replayed_exports() {
                super::replayed_exports($mode);
            }
        }
    };
}

in_mode!(ebpf, "ebpf");
in_mode!(ptrace, "ptrace");

fn synthetic(events: u64, format: &str, name: &str) -> (PathBuf, String) {
    let path = scratch(name);
    let out = run(&[
        "export",
        "--synthetic",
        &events.to_string(),
        "--format",
        format,
        "-o",
        path.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    (path, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn requests_flow_across_threads() {
    let events = 30_000;
    let (jsonl, _) = synthetic(events, "jsonl", "synth.jsonl");
    let text = std::fs::read_to_string(&jsonl).unwrap();
    let mut requests = std::collections::HashSet::new();
    let mut tids_of: HashMap<String, std::collections::HashSet<u64>> = HashMap::new();
    for line in text.lines() {
        let row: Value = serde_json::from_str(line).unwrap();
        if let Some(r) = row["request_id"].as_str() {
            requests.insert(r.to_owned());
            tids_of
                .entry(r.to_owned())
                .or_default()
                .insert(row["tid"].as_u64().unwrap());
        }
    }
    // Syscall rows, and a row per generated task's end.
    let syscalls = text
        .lines()
        .filter(|l| l.contains(r#""type":"syscall""#))
        .count();
    assert_eq!(syscalls as u64, events);
    // Each request is read by an acceptor and served by a worker.
    assert!(tids_of.values().all(|t| t.len() == 2));
    let requests = requests.len() as u64;
    assert!(requests > 1000);

    let (perfetto, _) = synthetic(events, "perfetto", "synth.perfetto");
    let p = check("perfetto", &perfetto);
    assert_eq!(count(&p, &["slices"]), events);
    assert_eq!(count(&p, &["requests"]), requests, "{p}");
    assert_eq!(count(&p, &["entries"]), 2 * requests);
    assert_eq!(count(&p, &["flow_steps"]), requests);
    assert_eq!(count(&p, &["cross_thread_flows"]), requests);
    assert!(count(&p, &["errnos", "openat ENOENT"]) > 0);

    let (chrome, _) = synthetic(events, "chrome", "synth.chrome");
    let c = check("chrome", &chrome);
    assert_eq!(count(&c, &["slices"]), events);
    assert_eq!(count(&c, &["flows"]), requests, "{c}");
    assert_eq!(count(&c, &["request_spans"]), count(&p, &["request_spans"]));
    assert_eq!(c["by_name"], p["by_name"]);
    // Every 50th request of the generator leaks the previous one's ID.
    let leaky_writes = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|row| row["syscall"] == "write")
        .filter_map(|row| {
            row["request_id"]
                .as_str()?
                .strip_prefix("req-")?
                .parse()
                .ok()
        })
        .filter(|k: &u64| k % 50 == 49)
        .count() as u64;
    assert!(leaky_writes > 0);
    assert_eq!(
        count(&p, &["anomalies", "request_bleed"]),
        leaky_writes,
        "{p}"
    );
    assert_eq!(c["anomalies"], p["anomalies"]);
}

/// A real server with real requests: the lab's pooled-buffer server (the
/// fixed one) answers 50 requests from its own client threads, each with an
/// `X-Request-Id`. Each request enters two threads (the client that sends
/// it, the worker that serves it), so it is one flow step across threads.
#[test]
fn requests_of_a_real_server() {
    let server = tracer().parent().unwrap().join("pooled_buffer_server");
    assert!(
        server.exists(),
        "{} missing: `cargo test` builds the lab's binaries",
        server.display()
    );
    let (perfetto, chrome) = (scratch("server.perfetto"), scratch("server.chrome"));
    let out = run(&[
        "record",
        "--mode",
        "ebpf",
        "-o",
        "/dev/null",
        "--export",
        &format!("perfetto:{}", perfetto.display()),
        "--export",
        &format!("chrome:{}", chrome.display()),
        "--",
        server.to_str().unwrap(),
        "--fixed",
    ]);
    assert!(out.status.success());
    let p = check("perfetto", &perfetto);
    assert_eq!(count(&p, &["requests"]), 50, "{p}");
    assert_eq!(count(&p, &["entries"]), 100);
    assert_eq!(count(&p, &["cross_thread_flows"]), 50);
    let c = check("chrome", &chrome);
    assert_eq!(count(&c, &["flows"]), 50, "{c}");
    assert_eq!(count(&c, &["request_spans"]), count(&p, &["request_spans"]));
    assert_eq!(c["by_name"], p["by_name"]);
}

#[test]
fn empty_traces_are_still_valid() {
    for f in FORMATS {
        let (path, _) = synthetic(0, f, &format!("empty.{f}"));
        let summary = check(f, &path);
        let n = summary.get("slices").or(summary.get("rows")).unwrap();
        assert_eq!(n.as_u64(), Some(0), "{f}: {summary}");
    }
}

/// Peak memory as `tracer export` reports it, MiB.
fn peak_mib(stderr: &str) -> f64 {
    let tail = stderr
        .split("peak memory ")
        .nth(1)
        .unwrap_or_else(|| panic!("no peak memory in {stderr:?}"));
    tail.split(" MiB").next().unwrap().parse().unwrap()
}

#[test]
fn memory_stays_flat() {
    for f in ["perfetto", "chrome"] {
        let (_, small) = synthetic(20_000, f, &format!("flat-small.{f}"));
        let (_, large) = synthetic(400_000, f, &format!("flat-large.{f}"));
        let (small, large) = (peak_mib(&small), peak_mib(&large));
        assert!(
            large < small + 4.0,
            "{f}: {large} MiB for 20x the events of {small} MiB"
        );
    }
}

#[test]
fn bad_input_is_an_error() {
    let missing = scratch("no-such.rec");
    let out = run(&["export", missing.to_str().unwrap(), "--format", "csv"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such.rec"));

    let garbage = scratch("garbage.rec");
    std::fs::write(&garbage, b"this is not a recording\n\x00\x01\x02").unwrap();
    let out = run(&[
        "export",
        garbage.to_str().unwrap(),
        "--format",
        "perfetto",
        "-o",
        "/dev/null",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));

    let out = run(&["record", "--export", "svg:x.svg", "--", "true"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown export format"));

    let out = run(&[
        "export",
        "--synthetic",
        "10",
        "--format",
        "csv",
        "-o",
        "/nonexistent/dir/x.csv",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot create"));
}
