//! `tracer compare` end to end on a lab program that races by itself.

mod common;

use common::*;

use std::process::Command;

use serde_json::Value;

#[test]
fn compare_reports_consistent_counts_and_a_verdict() {
    let runs = 40;
    let out = Command::new(sibling("tracer"))
        .args([
            "compare",
            "--runs",
            &runs.to_string(),
            "--modes",
            "none,ebpf,ptrace",
            "--json",
        ])
        .arg("--timeout")
        .arg("20")
        .arg("--")
        .arg(sibling("pooled_buffer_server"))
        .output()
        .unwrap();
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{:?}", out.status);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["runs_per_mode"], runs);
    assert_eq!(json["interrupted"], false);
    let modes = json["modes"].as_array().unwrap();
    let names: Vec<_> = modes.iter().map(|m| m["mode"].as_str().unwrap()).collect();
    assert_eq!(names, ["none", "ebpf", "ptrace"]);
    for m in modes {
        assert_eq!(m["runs"], runs, "{m}");
        let failures = m["failures"].as_u64().unwrap();
        assert!(failures <= runs, "{m}");
        let by_kind: u64 = m["failures_by_kind"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(by_kind, failures, "failures by kind add up: {m}");
        let rate = m["failure_rate"].as_f64().unwrap();
        assert!((rate - failures as f64 / runs as f64).abs() < 1e-9, "{m}");
        let (lo, hi) = (
            m["ci95"][0].as_f64().unwrap(),
            m["ci95"][1].as_f64().unwrap(),
        );
        assert!(lo <= rate && rate <= hi, "rate inside its interval: {m}");
        assert!(m["median_wall_s"].as_f64().unwrap() > 0.0, "{m}");
        if m["mode"] == "none" {
            assert!(m["p_value"].is_null(), "{m}");
            assert_eq!(m["slowdown"], 1.0);
        } else {
            let p = m["p_value"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&p), "{m}");
            assert_eq!(m["significant"], p < 0.05, "{m}");
            assert!(m["observer_ns_per_syscall"].as_f64().unwrap() > 0.0, "{m}");
        }
    }
    // ptrace stretches the window in which the pooled buffer is reused:
    // the program fails nearly always under it, a quarter of the time
    // untraced; 40 runs each tell that apart.
    let ptrace = &modes[2];
    assert_eq!(ptrace["significant"], true, "{ptrace}");
    assert!(ptrace["failure_rate"].as_f64() > modes[0]["failure_rate"].as_f64());
    let verdict = json["verdict"].as_str().unwrap();
    assert!(verdict.contains("ptrace"), "{verdict}");
}

#[test]
fn compare_rejects_bad_input() {
    let run = |args: &[&str]| {
        let out = Command::new(sibling("tracer")).args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["compare", "--modes", "none,strace", "--", "true"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("unknown mode 'strace'"), "{err}");
    let (code, err) = run(&["compare", "--fail-on", "output=(", "--", "true"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("invalid --fail-on regex"), "{err}");
    let (code, err) = run(&["compare", "--", "no-such-command-xyz"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("command not found"), "{err}");
}

/// Every numeric option, and --modes, is checked before anything runs:
/// a clear message and exit status 2, never a panic (`1e30` and `inf`
/// used to abort converting to a Duration), and never a value that makes
/// the runs meaningless (`--timeout 0`/`-1`/`nan`, `--jobs 0`).
#[test]
fn numeric_options_are_validated_in_every_subcommand() {
    let cases: &[(&[&str], &str)] = &[
        (&["compare", "--timeout", "1e30", "--", "true"], "1e30"),
        (&["compare", "--timeout", "inf", "--", "true"], "inf"),
        (
            &["compare", "--timeout", "0", "--", "true"],
            "greater than 0",
        ),
        (&["compare", "--timeout=-1", "--", "true"], "is negative"),
        (&["compare", "--timeout", "nan", "--", "true"], "nan"),
        (&["compare", "--jobs", "0", "--", "true"], "--jobs"),
        (&["compare", "--runs", "0", "--", "true"], "--runs"),
        (
            &["compare", "--modes", "none,none", "--", "true"],
            "'none' twice",
        ),
        (&["compare", "--modes", "", "--", "true"], "--modes"),
        (&["record", "-s", "5000", "--", "true"], "--capture-bytes"),
        (
            &["record", "--ring-size", "3000", "--", "true"],
            "power of two",
        ),
        (&["record", "-p", "0"], "--attach"),
        (&["record", "--attach=-5"], "--attach"),
        (&["overhead", "--rounds", "0"], "--rounds"),
        (&["overhead", "--syscalls", "0"], "--syscalls"),
        (&["overhead", "--modes", "ebpf,ebpf"], "'ebpf' twice"),
        (&["report", "--since", "nan", "x.rec"], "nan"),
        (
            &["report", "--since", "2", "--until", "1", "x.rec"],
            "--until",
        ),
        (&["ctl", "watch", "0"], "0"),
    ];
    for (args, says) in cases {
        let out = Command::new(sibling("tracer"))
            .args(*args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?} should say {says:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

/// `--modes none` used to end with an empty `verdict:`; now the verdict
/// says what the runs showed.
#[test]
fn untraced_only_compare_has_a_verdict() {
    let out = Command::new(sibling("tracer"))
        .args(["compare", "--runs", "3", "--modes", "none", "--", "false"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("verdict: untraced only: 3/3 runs failed (100.0%"),
        "{table}"
    );
}

/// Every mode is timed over the same span: the command's own run, from
/// its start to its exit, as an untraced run is timed (spawn to exit). A
/// command that sleeps 0.3 s and leaves a child behind that lives on for
/// 1 s shows a slowdown of about 1 in every mode; the recorder's own
/// run time (which lasts until the last traced task is gone, and includes
/// tracer's set-up and teardown) used to be taken instead: 3.3x here.
#[test]
fn slowdown_compares_the_same_span_in_every_mode() {
    let out = Command::new(sibling("tracer"))
        .args(["compare", "--runs", "3", "--json", "--"])
        .args(["sh", "-c", "sleep 1 & exec sleep 0.3"])
        .output()
        .unwrap();
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{:?}", out.status);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    for m in json["modes"].as_array().unwrap() {
        let median = m["median_wall_s"].as_f64().unwrap();
        let slowdown = m["slowdown"].as_f64().unwrap();
        // The recorder's span would be over 1 s (the child lives 1 s):
        // bounds that tell the two apart with room for a loaded machine
        // (ptrace's stops cost milliseconds each when 2 cores are shared
        // with builds: 1.31x was seen).
        assert!((0.3..0.9).contains(&median), "{m}");
        assert!((0.8..2.0).contains(&slowdown), "{m}");
    }
}

#[test]
fn delay_modes_run_and_record_under_the_delay() {
    let dir = scratch("delay-recordings");
    let out = Command::new(tracer())
        .args([
            "compare",
            "--runs",
            "3",
            "--modes",
            "none,delay:read=1ms,ebpf+delay:openat+read=1ms,ptrace+delay:read=1ms",
            "--json",
            "--trace-failures",
        ])
        .arg(&dir)
        .args(["--", "sh", "-c", "exit 1"])
        .output()
        .unwrap();
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{:?}", out.status);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let modes = json["modes"].as_array().unwrap();
    for m in modes {
        assert_eq!(m["failures"], 3, "{m}");
    }
    let recorded = modes[2]["failure_recordings"].as_array().unwrap();
    assert_eq!(recorded.len(), 3, "{json}");
    // A full recording of the delayed run. (The delay is not inside the
    // recorded durations: seccomp runs before the sys_enter tracepoint.)
    let rec = recorded[0].as_str().unwrap();
    let report = run(&["report", "-c", "--json", rec]);
    let summary: Value = serde_json::from_slice(&report.stdout).unwrap();
    assert!(summary["syscalls"]["openat"]["calls"].as_u64().unwrap() > 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_delay_modes_are_usage_errors() {
    for (modes, timeout, says) in [
        (
            "none,delay:nosuch=1ms",
            "10",
            "invalid system call 'nosuch'",
        ),
        ("none,delay:read=1parsec", "10", "invalid duration"),
        ("none,delay:read=2s", "1", "not less than --timeout"),
        ("none,strace", "10", "unknown mode"),
    ] {
        let out = Command::new(tracer())
            .args([
                "compare",
                "--modes",
                modes,
                "--timeout",
                timeout,
                "--",
                "true",
            ])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{modes}: {err}");
        assert!(err.contains(says), "{modes}: {err}");
    }
}

/// #16: a command killed by a real-time signal fails by a signal in every
/// mode: the recorder dies of the command's signal (it used to exit 0,
/// and traced runs counted as successes).
#[test]
fn a_real_time_kill_is_a_signal_failure_in_every_mode() {
    let out = Command::new(sibling("tracer"))
        .args([
            "compare",
            "--runs",
            "2",
            "--modes",
            "none,ebpf,ptrace",
            "--json",
        ])
        .args(["--", "python3", "-c"])
        .arg("import os, signal; os.kill(os.getpid(), signal.SIGRTMIN + 2)")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    for m in json["modes"].as_array().unwrap() {
        assert_eq!(m["failures"], 2, "{m}");
        assert_eq!(m["failures_by_kind"]["signal"], 2, "{m}");
    }
}
