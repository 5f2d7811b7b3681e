//! `tracer record -w` and `tracer report` end to end: real recordings of
//! the helper workload (`examples/syscall_workload.rs`), read back as the
//! live run showed them, filtered, cut short, damaged and fuzzed.
//!
//! These tests need root, like tests/record.rs; they never skip.

mod common;

use common::*;

use std::{
    io::{BufRead, BufReader, Write},
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

fn report(file: &Path, args: &[&str]) -> Output {
    let mut all = vec!["report", file.to_str().unwrap()];
    all.extend_from_slice(args);
    run(&all)
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Records the standard workload: the live text output, the recording,
/// and what the workload printed.
fn record_standard(mode: &str, name: &str, extra: &[&str]) -> (String, PathBuf, Output) {
    let text = scratch(&format!("{name}.txt"));
    let rec = scratch(&format!("{name}.rec"));
    let wl = workload();
    let mut args = vec![
        "record",
        "--mode",
        mode,
        "-o",
        text.to_str().unwrap(),
        "-w",
        rec.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", wl.to_str().unwrap(), "standard"]);
    let out = run(&args);
    assert!(out.status.success(), "tracer failed: {:?}", out.status);
    (std::fs::read_to_string(&text).unwrap(), rec, out)
}

/// Lines naming syscall `name` (after an optional `[pid N] ` prefix).
fn count(text: &str, name: &str) -> usize {
    text.lines()
        .filter(|l| {
            let call = match l.strip_prefix("[pid ") {
                Some(rest) => rest.split_once("] ").unwrap().1,
                None => l,
            };
            // After a `-t`/`-tt`/`-ttt` time, if any.
            let call = match call.split_once(' ') {
                Some((time, rest)) if time.starts_with(|c: char| c.is_ascii_digit()) => rest,
                _ => call,
            };
            call.starts_with(&format!("{name}("))
        })
        .count()
}

fn report_reproduces_the_live_run(mode: &str) {
    let (live, rec, _) = record_standard(mode, &format!("same-{mode}"), &["-T", "-tt"]);
    let mode_bits = std::fs::metadata(&rec).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode_bits, 0o600, "recording mode {mode_bits:o}");

    let out = report(&rec, &["-T", "-tt"]);
    assert!(out.status.success(), "{:?}", out.status);
    assert_eq!(stdout(&out), live, "report differs from the live run");
    assert!(count(&live, "getppid") == 1000, "{live}");
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));

    // The summary too: same numbers as a live --json of the same run
    // (read back from the recording of a --json run).
    let json_file = scratch(&format!("same-{mode}.json"));
    let rec2 = scratch(&format!("same-{mode}-json.rec"));
    let wl = workload();
    let out = run(&[
        "record",
        "--mode",
        mode,
        "--json",
        "-o",
        json_file.to_str().unwrap(),
        "-w",
        rec2.to_str().unwrap(),
        "--",
        wl.to_str().unwrap(),
        "standard",
    ]);
    assert!(out.status.success());
    let live: Value = serde_json::from_slice(&std::fs::read(&json_file).unwrap()).unwrap();
    let out = report(&rec2, &["--json"]);
    assert!(out.status.success());
    let replayed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(replayed, live);
    assert_eq!(replayed["syscalls"]["getppid"]["calls"], 1000);

    let out = report(&rec2, &["-c"]);
    assert!(out.status.success());
    let table = stdout(&out);
    assert!(
        table.contains(" getppid\n") && table.contains("observer cost:"),
        "{table}"
    );
}

#[test]
fn report_reproduces_the_live_run_ebpf() {
    report_reproduces_the_live_run("ebpf");
}

#[test]
fn report_reproduces_the_live_run_ptrace() {
    report_reproduces_the_live_run("ptrace");
}

#[test]
fn report_filters_by_thread_syscall_request_and_time() {
    let (live, rec, out) = record_standard("ebpf", "filters", &["-ttt"]);
    let thread_tid: u32 = printed(&out.stdout, "thread_tid");
    let child_pid: u32 = printed(&out.stdout, "child_pid");

    let out = report(&rec, &["--thread", &thread_tid.to_string()]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert_eq!(count(&text, "getuid"), 50, "{text}");
    assert_eq!(count(&text, "getppid"), 0, "{text}");
    assert!(
        text.lines()
            .all(|l| l.starts_with(&format!("[pid {thread_tid:>5}]"))),
        "{text}"
    );

    let tids = format!("{thread_tid},{child_pid}");
    let out = report(&rec, &["--thread", &tids, "-e", "trace=getuid,getgid"]);
    let text = stdout(&out);
    assert_eq!(
        text.lines().filter(|l| is_syscall_line(l)).count(),
        75,
        "{text}"
    );
    assert_eq!((count(&text, "getuid"), count(&text, "getgid")), (50, 25));

    // The request filter: nothing in this recording was attributed.
    let out = report(&rec, &["--request", "no-such-request"]);
    assert!(out.status.success());
    assert_eq!(stdout(&out), "");

    // A time window splits the run: before T plus from T on is all of it,
    // and every line shown in a window has a time inside it.
    let stamp = |l: &str| -> f64 {
        let l = l.split_once("] ").map_or(l, |(_, rest)| rest);
        l.split(' ').next().unwrap().parse().unwrap()
    };
    let all: Vec<&str> = live.lines().collect();
    let (first, last) = (stamp(all[0]), stamp(all[all.len() - 1]));
    assert!(last > first);
    // The recording starts a little before its first event.
    let json: Value = serde_json::from_slice(&report(&rec, &["--json"]).stdout).unwrap();
    let span = json["duration_ns"].as_u64().unwrap() as f64 / 1e9;
    let mid = format!("{:.6}", span / 2.0);
    let before = stdout(&report(&rec, &["-ttt", "--until", &mid]));
    let after = stdout(&report(&rec, &["-ttt", "--since", &mid]));
    assert_eq!(
        before.lines().count() + after.lines().count(),
        all.len(),
        "--until {mid} and --since {mid} do not add up"
    );
    // Lines come in the order syscalls ended, stamped with the time they
    // began, so a window is not a contiguous run of the live text: each
    // side keeps the live order, together they are the live lines, and
    // every line before the split began before every line after it.
    let mut joined: Vec<&str> = before.lines().chain(after.lines()).collect();
    let mut whole = all.clone();
    joined.sort_unstable();
    whole.sort_unstable();
    assert_eq!(joined, whole, "a split is not the whole");
    let in_live_order = |side: &str| {
        let mut rest = all.iter();
        side.lines().all(|line| rest.any(|l| *l == line))
    };
    assert!(in_live_order(&before), "--until reordered lines");
    assert!(in_live_order(&after), "--since reordered lines");
    let latest_before = before.lines().map(stamp).reduce(f64::max);
    let earliest_after = after.lines().map(stamp).reduce(f64::min);
    if let (Some(prev), Some(split)) = (latest_before, earliest_after) {
        assert!(prev <= split, "{prev} > {split}");
    }
    let none = stdout(&report(&rec, &["--since", "0", "--until", "0.000000001"]));
    assert_eq!(none, "");
    let out = report(&rec, &["--since", "2", "--until", "1"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--until must be later than --since"));
}

/// A recording cut short mid-record (tracer killed while writing, disk
/// full) is shown up to its last whole record, with a clear word on
/// stderr, and exit status 0.
#[test]
fn truncated_recording_shows_its_prefix() {
    let (live, rec, _) = record_standard("ebpf", "truncated", &[]);
    let bytes = std::fs::read(&rec).unwrap();
    let cut = scratch("cut.rec");
    let mut last_lines = usize::MAX;
    for len in [
        bytes.len() - 1,
        bytes.len() * 2 / 3 + 1,
        bytes.len() / 3 + 3,
    ] {
        std::fs::write(&cut, &bytes[..len]).unwrap();
        let out = report(&cut, &[]);
        assert!(out.status.success(), "{len}: {:?}", out.status);
        let err = stderr(&out);
        assert!(err.contains("cut short"), "{len}: {err}");
        assert!(err.contains("are shown"), "{len}: {err}");
        let text = stdout(&out);
        assert!(live.starts_with(&text), "{len}: not a prefix:\n{text}");
        assert!(text.lines().count() <= last_lines);
        last_lines = text.lines().count();
    }
    // Inside the header: nothing to show, and it says why.
    std::fs::write(&cut, &bytes[..20]).unwrap();
    let out = report(&cut, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cut short inside its header"),
        "{}",
        stderr(&out)
    );
}

/// A damaged byte stops the report at the record it is in, with the byte
/// offset and the reason, and a failure status; what came before is shown.
#[test]
fn corrupted_recording_is_refused_where_it_breaks() {
    let (live, rec, _) = record_standard("ebpf", "corrupt", &[]);
    let mut bytes = std::fs::read(&rec).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x20;
    let bad = scratch("corrupt-copy.rec");
    std::fs::write(&bad, &bytes).unwrap();
    let out = report(&bad, &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("corrupt record at byte"), "{err}");
    assert!(
        err.contains("checksum mismatch") || err.contains("record length"),
        "{err}"
    );
    let text = stdout(&out);
    assert!(live.starts_with(&text) && text.len() < live.len(), "{text}");
    assert!(!text.is_empty());

    // Not a recording at all.
    let out = report(Path::new("/etc/passwd"), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not a tracer recording"),
        "{}",
        stderr(&out)
    );
    let out = report(Path::new("/nonexistent/x.rec"), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("cannot read /nonexistent/x.rec"));
}

/// The real reader in the real binary against a real recording damaged
/// two thousand ways (the unit tests fuzz the reader itself tens of
/// thousands of times): never a panic, always a clear word.
#[test]
fn fuzzed_recordings_never_panic_the_reporter() {
    let (_, rec, _) = record_standard("ebpf", "fuzz", &[]);
    let original = std::fs::read(&rec).unwrap();
    let mut rng = fastrand::Rng::with_seed(0xf00d);
    let bad = scratch("fuzz-copy.rec");
    for round in 0..2000 {
        let mut bytes = original.clone();
        for _ in 0..rng.usize(1..4) {
            let at = rng.usize(..bytes.len());
            match rng.u8(..4) {
                0 => bytes[at] ^= 1 << rng.u8(..8),
                1 => bytes[at] = rng.u8(..),
                2 => bytes.truncate(at),
                _ => {
                    let end = (at + rng.usize(1..64)).min(bytes.len());
                    bytes.drain(at..end);
                }
            }
            if bytes.is_empty() {
                break;
            }
        }
        std::fs::write(&bad, &bytes).unwrap();
        let out = Command::new(tracer())
            .args(["report", "-c"])
            .arg(&bad)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !err.contains("panicked") && out.status.code().is_some_and(|c| c <= 1),
            "round {round}: {:?}\n{err}",
            out.status
        );
        if !out.status.success() || !err.is_empty() {
            assert!(err.starts_with("tracer: "), "round {round}: {err}");
        }
    }
}

/// A tracer killed with SIGKILL leaves a recording that reads up to its
/// last flush (at most about a second of events is lost).
#[test]
fn recording_of_a_killed_tracer_is_readable() {
    let mut server = Command::new(workload())
        .arg("serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = server.stdin.take().unwrap();
    let mut answers = BufReader::new(server.stdout.take().unwrap());
    let mut ask = |n: u32| {
        writeln!(stdin, "{n}").unwrap();
        let mut line = String::new();
        answers.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), format!("done {n}"));
    };
    let rec = scratch("killed.rec");
    let mut tracer = Command::new(tracer())
        .args(["record", "--mode", "ebpf", "-o", "/dev/null", "-w"])
        .arg(&rec)
        .args(["-p", &server.id().to_string()])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut tracer_err = BufReader::new(tracer.stderr.take().unwrap());
    let mut line = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !line.contains("attached") {
        line.clear();
        assert!(Instant::now() < deadline, "tracer never attached");
        assert_ne!(tracer_err.read_line(&mut line).unwrap(), 0, "tracer exited");
    }
    ask(1000);
    // Past the writer's flush interval, the next events flush the first.
    std::thread::sleep(Duration::from_millis(1200));
    ask(10);
    std::thread::sleep(Duration::from_millis(300));
    tracer.kill().unwrap();
    tracer.wait().unwrap();
    drop(stdin);
    assert!(server.wait().unwrap().success());

    let out = report(&rec, &[]);
    assert!(out.status.success(), "{:?}", out.status);
    assert!(stderr(&out).contains("cut short"), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        count(&text, "getppid") >= 1000,
        "{}",
        count(&text, "getppid")
    );
}

/// `compare --trace-failures DIR` keeps the recordings of the failing eBPF
/// runs and of the first passing one, deletes the others, and says where
/// they are.
#[test]
fn compare_keeps_recordings_of_failing_runs() {
    let dir = scratch("trace-failures");
    let counter = scratch("trace-failures-counter");
    let _ = std::fs::remove_file(&counter);
    // Passes twice, then fails: runs are sequential (--jobs 1).
    let script = format!(
        "n=$(cat {c} 2>/dev/null || echo 0); echo $((n+1)) > {c}; [ $n -lt 2 ]",
        c = counter.display()
    );
    let out = Command::new(tracer())
        .args([
            "compare",
            "--runs",
            "5",
            "--modes",
            "ebpf",
            "--json",
            "--trace-failures",
        ])
        .arg(&dir)
        .args(["--", "sh", "-c", &script])
        .output()
        .unwrap();
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{:?}", out.status);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ebpf = &json["modes"][0];
    assert_eq!(ebpf["failures"], 3, "{ebpf}");
    let failures: Vec<PathBuf> = ebpf["failure_recordings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| PathBuf::from(p.as_str().unwrap()))
        .collect();
    assert_eq!(failures.len(), 3, "{ebpf}");
    let pass = PathBuf::from(ebpf["pass_recording"].as_str().unwrap());
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "ebpf-failure-0.rec",
            "ebpf-failure-1.rec",
            "ebpf-failure-2.rec",
            "ebpf-pass.rec"
        ]
    );
    for (file, status) in failures.iter().map(|f| (f, 1)).chain([(&pass, 0)]) {
        let out = report(file, &[]);
        assert!(out.status.success(), "{}", file.display());
        let text = stdout(&out);
        assert!(
            text.contains(&format!("exit_group({status})")),
            "{}: {text}",
            file.display()
        );
    }

    // The table says where they are.
    let out = Command::new(tracer())
        .args([
            "compare",
            "--runs",
            "2",
            "--modes",
            "ebpf",
            "--trace-failures",
        ])
        .arg(&dir)
        .args(["--", "sh", "-c", "exit 3"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let table = String::from_utf8_lossy(&out.stdout);
    let expected = format!(
        "ebpf failing run recordings: 2 in {} (open one: tracer report {})",
        dir.display(),
        dir.join("ebpf-failure-0.rec").display()
    );
    assert!(table.contains(&expected), "{table}");
}

/// Request IDs and anomalies survive the round trip: a server whose
/// requests carry `X-Request-Id: req-N` (lab/pooled_buffer_server) reads
/// back with the same lines, the same per-request summary, and `--request`
/// picks exactly one request's syscalls.
#[test]
fn requests_and_anomalies_survive_the_recording() {
    let server = tracer().parent().unwrap().join("pooled_buffer_server");
    assert!(server.exists(), "{} missing", server.display());
    let text = scratch("requests.txt");
    let rec = scratch("requests.rec");
    let out = Command::new(tracer())
        .args(["record", "--mode", "ebpf", "-o"])
        .arg(&text)
        .arg("-w")
        .arg(&rec)
        .arg("--")
        .arg(&server)
        .output()
        .unwrap();
    assert!(out.status.code().is_some(), "{:?}", out.status);
    let live = std::fs::read_to_string(&text).unwrap();
    assert_eq!(stdout(&report(&rec, &[])), live);

    let json_file = scratch("requests.json");
    let rec = scratch("requests-json.rec");
    let out = Command::new(tracer())
        .args(["record", "--mode", "ebpf", "--by-request", "--json", "-o"])
        .arg(&json_file)
        .arg("-w")
        .arg(&rec)
        .arg("--")
        .arg(&server)
        .output()
        .unwrap();
    assert!(out.status.code().is_some(), "{:?}", out.status);
    let live: Value = serde_json::from_slice(&std::fs::read(&json_file).unwrap()).unwrap();
    let replayed: Value =
        serde_json::from_slice(&report(&rec, &["--by-request", "--json"]).stdout).unwrap();
    assert_eq!(replayed, live);
    let requests = live["requests"].as_object().unwrap();
    assert_eq!(requests.len(), 50, "{}", live["requests"]);

    let one: Value =
        serde_json::from_slice(&report(&rec, &["--json", "--request", "req-7"]).stdout).unwrap();
    let events = one["events"].as_u64().unwrap();
    assert!(events > 0);
    assert_eq!(
        events,
        requests["req-7"]["events"].as_u64().unwrap(),
        "{one}"
    );
}

/// A disk that fills up mid-run: tracer stops recording with the reason,
/// exits with the command's status (#11), and the recording reads up to
/// the last record that fit.
#[test]
fn recording_on_a_full_disk_keeps_what_fit() {
    let mount = scratch("tiny-fs");
    std::fs::create_dir_all(&mount).unwrap();
    let status = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=16k", "tmpfs"])
        .arg(&mount)
        .status()
        .unwrap();
    assert!(status.success(), "cannot mount a tmpfs (root needed)");
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(mount.clone());
    let rec = mount.join("full.rec");
    let wl = workload();
    let out = run(&[
        "record",
        "--mode",
        "ebpf",
        "-o",
        "/dev/null",
        "-w",
        rec.to_str().unwrap(),
        "--",
        wl.to_str().unwrap(),
        "standard",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("No space left on device"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("recording is incomplete"),
        "{}",
        stderr(&out)
    );
    let out = report(&rec, &["-c"]);
    assert!(out.status.success(), "{:?}", out.status);
    assert!(stderr(&out).contains("cut short"), "{}", stderr(&out));
    assert!(stdout(&out).contains(" execve\n"), "{}", stdout(&out));
}

/// Events lost while recording are reported by `report` as loudly as by
/// the live run: the banner in its output, and on stderr.
#[test]
fn report_says_how_many_events_were_lost() {
    let text = scratch("lost.txt");
    let rec = scratch("lost.rec");
    // A 4 KiB ring cannot keep up with dd making a syscall per byte.
    let out = run(&[
        "record",
        "--mode",
        "ebpf",
        "--ring-size",
        "4096",
        "-o",
        text.to_str().unwrap(),
        "-w",
        rec.to_str().unwrap(),
        "--",
        "dd",
        "if=/dev/zero",
        "of=/dev/null",
        "bs=1",
        "count=20000",
    ]);
    assert!(out.status.success());
    let live = std::fs::read_to_string(&text).unwrap();
    let banner = live
        .lines()
        .find(|l| l.starts_with("tracer: LOST "))
        .expect("a 4 KiB ring lost nothing")
        .to_owned();
    let out = report(&rec, &[]);
    assert!(out.status.success());
    assert_eq!(stdout(&out), live);
    assert_eq!(stderr(&out).trim(), banner);
    let out = report(&rec, &["-c"]);
    assert!(stdout(&out).contains(&banner), "{}", stdout(&out));
    let json: Value = serde_json::from_slice(&report(&rec, &["--json"]).stdout).unwrap();
    let lost: u64 = banner.split(' ').nth(2).unwrap().parse().unwrap();
    assert_eq!(json["lost_events"], lost);
}
