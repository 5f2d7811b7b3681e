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
    assert_eq!(code, Some(1));
    assert!(err.contains("unknown mode 'strace'"), "{err}");
    let (code, err) = run(&["compare", "--fail-on", "output=(", "--", "true"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("invalid --fail-on regex"), "{err}");
    let (code, err) = run(&["compare", "--", "no-such-command-xyz"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("command not found"), "{err}");
}
