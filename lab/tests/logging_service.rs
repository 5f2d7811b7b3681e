//! The logging service is the subject of `compare -p --fail-on
//! log=FILE:REGEX`, whose tests check a follower's count against the
//! service's own: so its log must hold exactly one matching line per
//! failure it counts, its count file must agree, and it must survive log
//! rotation and stop cleanly when asked.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const SERVICE: &str = env!("CARGO_BIN_EXE_logging_service");
const MARKER: &str = "FAILURE lost update";

/// A fresh private directory (mkdtemp: a random name, mode 0700) for one
/// test, kept for the service's files.
fn scratch(name: &str) -> PathBuf {
    tempfile::Builder::new()
        .prefix(&format!("lab-logging-service-test-{name}-"))
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .tempdir()
        .unwrap()
        .keep()
}

fn run(args: &[&str]) -> Output {
    Command::new(SERVICE).args(args).output().unwrap()
}

fn count_lines(path: &Path, needle: &str) -> usize {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(needle))
        .count()
}

/// `failures=N requests=M` as (N, M).
fn parse_tally(text: &str) -> (usize, usize) {
    let line = text.lines().last().unwrap_or_default();
    let field = |key: &str| -> usize {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(key))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {key} in {text:?}"))
    };
    (field("failures="), field("requests="))
}

#[test]
fn its_log_holds_one_line_per_failure_it_counts() {
    let dir = scratch("counts");
    let (log, count) = (dir.join("service.log"), dir.join("count"));
    let out = run(&[
        "--log",
        log.to_str().unwrap(),
        "--count-file",
        count.to_str().unwrap(),
        "--requests",
        "200",
        "--widen-us",
        "300",
    ]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let (failures, requests) = parse_tally(&stdout);
    assert_eq!(requests, 200);
    // With a 300 µs window most requests fail; none failing would mean
    // the race is gone and the counts below prove nothing.
    assert!(failures > 0, "{stdout}");
    assert_eq!(count_lines(&log, MARKER), failures);
    assert_eq!(
        parse_tally(&std::fs::read_to_string(&count).unwrap()),
        (failures, 200)
    );
    // INFO lines do not carry the marker.
    assert_eq!(count_lines(&log, " INFO served "), 2);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.lines().all(|l| l.contains(" logging_service[")),
        "{text}"
    );
}

#[test]
fn the_fixed_variant_never_fails() {
    let dir = scratch("fixed");
    let log = dir.join("service.log");
    let out = run(&[
        "--log",
        log.to_str().unwrap(),
        "--requests",
        "100",
        "--widen-us",
        "300",
        "--fixed",
    ]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        parse_tally(&String::from_utf8(out.stdout).unwrap()),
        (0, 100)
    );
    assert_eq!(count_lines(&log, MARKER), 0);
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn it_reopens_a_rotated_log_and_stops_on_the_stop_file() {
    let dir = scratch("rotation");
    let (log, count, stop) = (dir.join("service.log"), dir.join("count"), dir.join("stop"));
    let rotated = dir.join("service.log.1");
    let child = Command::new(SERVICE)
        .args(["--log", log.to_str().unwrap()])
        .args(["--count-file", count.to_str().unwrap()])
        .args(["--stop-file", stop.to_str().unwrap()])
        .args(["--widen-us", "300"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("a failure", || count_lines(&log, MARKER) > 0);
    std::fs::rename(&log, &rotated).unwrap();
    wait_for("a failure in the new log", || count_lines(&log, MARKER) > 0);
    std::fs::write(&stop, "").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let (failures, _) = parse_tally(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(
        count_lines(&rotated, MARKER) + count_lines(&log, MARKER),
        failures
    );
    assert_eq!(
        parse_tally(&std::fs::read_to_string(&count).unwrap()).0,
        failures
    );
}

#[test]
fn bad_flags_exit_2() {
    for args in [&[][..], &["--log"], &["--log", "x", "--requests", "many"]] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: "));
    }
}
