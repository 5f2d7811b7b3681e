//! `tracer amplify` on the lab's two delay subjects: it must find that
//! delaying `read` makes torn_config fail (the window contains the read)
//! and that delaying `openat` hides early_use's failure (the fast side's
//! syscall). Small candidate lists (--syscalls) and --jobs 2 keep it
//! quick; 20 runs each leave the adjusted p-values orders of magnitude
//! below 0.05 at the rates measured (0% → 85%, 100% → 5%).

mod common;

use common::*;

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use serde_json::Value;

fn amplify(program: &str, syscalls: &str, extra: &[&str]) -> Value {
    let out = Command::new(tracer())
        .args(["amplify", "--runs", "20", "--jobs", "2", "--json"])
        .args(["--syscalls", syscalls])
        .args(extra)
        .arg("--")
        .arg(sibling(program))
        .output()
        .unwrap();
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{:?}", out.status);
    serde_json::from_slice(&out.stdout).unwrap()
}

fn candidate<'a>(json: &'a Value, syscall: &str) -> &'a Value {
    json["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["syscall"] == syscall)
        .unwrap_or_else(|| panic!("no candidate {syscall}: {json}"))
}

#[test]
fn delaying_the_read_in_the_window_makes_the_failure_common() {
    let json = amplify("torn_config", "read,openat,mmap,write", &["--no-sweep"]);
    let read = candidate(&json, "read");
    assert_eq!(read["direction"], "more", "{json}");
    assert_eq!(read["perturbation"], "delay:read=200us");
    assert_eq!(read["delay_ns"], 200_000);
    // Learned from the recorded run: the worker's read, on its own thread
    // (besides the loader's reads on the main thread).
    assert!(read["calls"].as_u64().unwrap() >= 1, "{read}");
    assert!(read["threads"].as_u64().unwrap() >= 1, "{read}");
    assert_eq!(json["learned"]["threads"], 3, "{json}");
    assert!(read["p_adjusted"].as_f64().unwrap() < 0.05, "{read}");
    // Ranked first, and the recipe reproduces it.
    assert_eq!(json["candidates"][0]["syscall"], "read", "{json}");
    let recipe = json["recipe"].as_str().unwrap();
    assert!(
        recipe.starts_with("tracer compare --runs 20 --modes none,delay:read=200us"),
        "{recipe}"
    );
    // eBPF recordings of failing runs under the delay.
    let recordings = json["failure_recordings"].as_array().unwrap();
    assert!(!recordings.is_empty(), "{json}");
    let report = run(&["report", "-c", "--json", recordings[0].as_str().unwrap()]);
    assert!(report.status.success());
    let verdict = json["verdict"].as_str().unwrap();
    assert!(
        verdict.contains("delaying read by 200us raises"),
        "{verdict}"
    );
    for r in recordings {
        let _ = std::fs::remove_file(r.as_str().unwrap());
    }
}

#[test]
fn delaying_the_fast_threads_syscall_hides_the_failure() {
    let json = amplify("early_use", "openat,mmap", &[]);
    let openat = candidate(&json, "openat");
    assert_eq!(openat["direction"], "fewer", "{json}");
    assert!(openat["p_adjusted"].as_f64().unwrap() < 0.05, "{openat}");
    assert!(json["baseline"]["failure_rate"].as_f64().unwrap() > 0.5);
    let verdict = json["verdict"].as_str().unwrap();
    assert!(verdict.contains("delaying openat hides it"), "{verdict}");
    // The sweep ran for it, at three delays.
    let sweep = json["sweep"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["syscall"] == "openat")
        .unwrap_or_else(|| panic!("no sweep: {json}"));
    assert_eq!(sweep["points"].as_array().unwrap().len(), 3, "{sweep}");
    assert!(
        sweep["smallest_significant_ns"].as_u64().is_some(),
        "{sweep}"
    );
}

#[test]
fn ctrl_c_prints_the_partial_table() {
    let child = Command::new(tracer())
        .args(["amplify", "--runs", "1000", "--syscalls", "read,openat"])
        .arg("--")
        .arg(sibling("early_use"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(6));
    // SAFETY: kill(2) of our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(130), "{stdout}");
    assert!(stdout.contains("delay:openat=200us"), "{stdout}");
    assert!(stdout.contains("(interrupted"), "{stdout}");
}

#[test]
fn bad_input_is_a_usage_error() {
    for args in [
        &["--delay", "2s", "--timeout", "1"][..],
        &["--delay", "soon"],
        &["--syscalls", "nosuchcall"],
        &["--runs", "0"],
    ] {
        let out = Command::new(tracer())
            .arg("amplify")
            .args(args)
            .args(["--", "true"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    }
}
