//! Tests of the log follower against real files, written by this thread,
//! by other threads and by other processes, rotated both ways.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::*;
use crate::files::private_dir;

fn scratch() -> PathBuf {
    private_dir("tracer-logwatch-test-").unwrap()
}

fn fail_regex() -> Regex {
    Regex::new(r"\bFAIL\b").unwrap()
}

/// The log's writer, as a service opens it: appending.
fn appender(path: &Path) -> File {
    OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .unwrap()
}

/// Waits until the follower thread has read `n` matches by itself.
fn wait_seen(watch: &LogWatch, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while watch.seen() < n {
        assert!(
            Instant::now() < deadline,
            "the follower saw {} of {n}",
            watch.seen()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn counts_matching_lines_appended_after_open() {
    let dir = scratch();
    let log = dir.join("app.log");
    // Before the watch: a whole matching line and the start of another.
    std::fs::write(&log, "FAIL old\nFAIL begun before").unwrap();
    let watch = LogWatch::open(&log, fail_regex()).unwrap();
    let mut w = appender(&log);
    // The rest of the line begun before the watch is not a line of ours.
    w.write_all(b" the watch, FAIL\nok\nFAIL one\nFAILURE is not FAIL-ish? FAIL\nnothing\n")
        .unwrap();
    assert_eq!(watch.take_all().unwrap().len(), 2);
    assert!(watch.take_all().unwrap().is_empty());
    w.write_all(b"FAIL three\n").unwrap();
    assert_eq!(watch.take_all().unwrap().len(), 1);
}

#[test]
fn a_partial_line_waits_for_its_newline() {
    let dir = scratch();
    let log = dir.join("app.log");
    File::create(&log).unwrap();
    let watch = LogWatch::open(&log, fail_regex()).unwrap();
    let mut w = appender(&log);
    w.write_all(b"FA").unwrap();
    assert!(watch.take_all().unwrap().is_empty());
    w.write_all(b"IL in ").unwrap();
    assert!(watch.take_all().unwrap().is_empty());
    w.write_all(b"three writes\nFAIL").unwrap();
    assert_eq!(watch.take_all().unwrap().len(), 1);
    w.write_all(b"\n").unwrap();
    assert_eq!(watch.take_all().unwrap().len(), 1);
}

#[test]
fn the_thread_stamps_lines_and_take_until_splits_by_time() {
    let dir = scratch();
    let log = dir.join("app.log");
    File::create(&log).unwrap();
    let watch = LogWatch::open(&log, fail_regex()).unwrap();
    let mut w = appender(&log);
    let before = Instant::now();
    w.write_all(b"FAIL 1\nFAIL 2\nok\nFAIL 3\n").unwrap();
    // Read by the thread alone, without a take_* call.
    wait_seen(&watch, 3);
    let cut = Instant::now();
    w.write_all(b"FAIL 4\nFAIL 5\n").unwrap();
    wait_seen(&watch, 5);
    let first = watch.take_matches_until(cut).unwrap();
    assert_eq!(first.len(), 3);
    assert!(first.iter().all(|&t| before <= t && t <= cut));
    assert!(first.is_sorted());
    let second = watch.take_matches_until(Instant::now()).unwrap();
    assert_eq!(second.len(), 2);
    assert!(second.iter().all(|&t| t > cut));
}

#[test]
fn a_writer_thread_is_counted_exactly() {
    let dir = scratch();
    let log = dir.join("app.log");
    File::create(&log).unwrap();
    let watch = LogWatch::open(&log, fail_regex()).unwrap();
    const LINES: usize = 3000;
    let writer = {
        let log = log.clone();
        std::thread::spawn(move || {
            let mut w = appender(&log);
            for i in 0..LINES {
                let line = if i % 3 == 0 {
                    format!("FAIL request {i}\n")
                } else {
                    format!("ok request {i}\n")
                };
                // Some lines in two writes, to cut them across reads.
                let (a, b) = line.as_bytes().split_at(line.len() / 2);
                w.write_all(a).unwrap();
                if i % 7 == 0 {
                    std::thread::yield_now();
                }
                w.write_all(b).unwrap();
            }
        })
    };
    // Take while it writes: windows cut mid-stream lose nothing.
    let mut total = 0;
    while !writer.is_finished() {
        total += watch.take_all().unwrap().len();
        std::thread::sleep(Duration::from_millis(1));
    }
    writer.join().unwrap();
    total += watch.take_all().unwrap().len();
    assert_eq!(total, LINES / 3);
}

#[test]
fn a_writer_process_is_counted_exactly() {
    let dir = scratch();
    let log = dir.join("app.log");
    File::create(&log).unwrap();
    let watch = LogWatch::open(&log, fail_regex()).unwrap();
    let status = Command::new("/bin/sh")
        .args([
            "-c",
            r#"i=0; while [ $i -lt 200 ]; do echo "FAIL $i" >> "$1"; echo "ok $i" >> "$1"; i=$((i+1)); done"#,
            "sh",
        ])
        .arg(&log)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(watch.take_all().unwrap().len(), 200);
}

#[test]
fn copytruncate_is_read_from_the_start_again() {
    let dir = scratch();
    let log = dir.join("app.log");
    std::fs::write(&log, "ok, a long line written before the watch began\n").unwrap();
    let watch = LogWatch::open(&log, fail_regex()).unwrap();
    let mut w = appender(&log);
    w.write_all(b"FAIL one, a line long enough to be past the next ones\nFAIL two\n")
        .unwrap();
    assert_eq!(watch.take_all().unwrap().len(), 2);
    // logrotate's copytruncate: copy, then truncate in place; the service
    // keeps its O_APPEND descriptor and writes at the new end.
    std::fs::copy(&log, dir.join("app.log.1")).unwrap();
    File::options()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    w.write_all(b"FAIL three\nok\n").unwrap();
    assert_eq!(watch.take_all().unwrap().len(), 1);
    // Truncated while the thread watches, with nothing taken between.
    File::options()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    w.write_all(b"FAIL four\n").unwrap();
    wait_seen(&watch, 1);
    w.write_all(b"FAIL five\n").unwrap();
    assert_eq!(watch.take_all().unwrap().len(), 2);
}

#[test]
fn rename_and_create_follows_both_files() {
    let dir = scratch();
    let log = dir.join("app.log");
    let mut old = appender(&log);
    let watch = LogWatch::open(&log, fail_regex()).unwrap();
    old.write_all(b"FAIL 1\nFAIL 2\n").unwrap();
    assert_eq!(watch.take_all().unwrap().len(), 2);
    // logrotate's default: rename, create anew; the service writes to the
    // old file until it reopens its log.
    std::fs::rename(&log, dir.join("app.log.1")).unwrap();
    old.write_all(b"FAIL 3 (old file, after the rename)\n")
        .unwrap();
    let mut new = appender(&log);
    new.write_all(b"FAIL 4 (new file)\n").unwrap();
    assert_eq!(watch.take_all().unwrap().len(), 2);
    // Late lines in the old file still count, and so does its
    // unterminated last line once it is rotated out for good.
    old.write_all(b"FAIL 5 (old file, late)\nFAIL 6 unterminated")
        .unwrap();
    new.write_all(b"FAIL 7\n").unwrap();
    assert_eq!(watch.take_all().unwrap().len(), 2);
    std::fs::rename(&log, dir.join("app.log.2")).unwrap();
    let mut newest = appender(&log);
    newest.write_all(b"FAIL 8\n").unwrap();
    new.write_all(b"FAIL 9\n").unwrap();
    assert_eq!(watch.take_all().unwrap().len(), 3);
}

#[test]
fn rotation_without_a_take_is_found_by_the_thread() {
    let dir = scratch();
    let log = dir.join("app.log");
    let mut old = appender(&log);
    let watch = LogWatch::open(&log, fail_regex()).unwrap();
    std::fs::rename(&log, dir.join("app.log.1")).unwrap();
    old.write_all(b"FAIL in the old file\n").unwrap();
    wait_seen(&watch, 1);
    let mut new = appender(&log);
    new.write_all(b"FAIL in the new file\n").unwrap();
    wait_seen(&watch, 2);
    assert_eq!(watch.take_all().unwrap().len(), 2);
}

#[test]
fn overlong_lines_are_matched_on_their_start_and_counted_once() {
    let dir = scratch();
    let log = dir.join("app.log");
    File::create(&log).unwrap();
    let watch = LogWatch::open(&log, fail_regex()).unwrap();
    let mut w = appender(&log);
    let mut line = b"FAIL at the start".to_vec();
    line.resize(3 * MAX_LINE, b'x');
    line.push(b'\n');
    w.write_all(&line).unwrap();
    // The marker past MAX_LINE bytes is not seen.
    let mut late = vec![b'y'; MAX_LINE + 10];
    late.extend_from_slice(b" FAIL\n");
    w.write_all(&late).unwrap();
    w.write_all(b"FAIL after\n").unwrap();
    assert_eq!(watch.take_all().unwrap().len(), 2);
    // Not UTF-8 is fine.
    w.write_all(b"\xff\xfe FAIL \xc3\n").unwrap();
    assert_eq!(watch.take_all().unwrap().len(), 1);
}

#[test]
fn bad_paths_are_clear_errors() {
    let dir = scratch();
    let missing = dir.join("no-such.log");
    let err = LogWatch::open(&missing, fail_regex()).err().unwrap();
    assert!(
        matches!(&err, LogWatchError::Missing(p) if *p == missing),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("log file {} does not exist", missing.display())
    );
    let err = LogWatch::open(&dir, fail_regex()).err().unwrap();
    assert!(matches!(err, LogWatchError::NotAFile(_)), "{err:?}");
    // A FIFO is refused without blocking in open().
    let fifo = dir.join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    let err = LogWatch::open(&fifo, fail_regex()).err().unwrap();
    assert!(matches!(err, LogWatchError::NotAFile(_)), "{err:?}");
}

#[test]
fn drop_stops_the_thread_at_once() {
    let dir = scratch();
    let log = dir.join("app.log");
    File::create(&log).unwrap();
    // A tick of a day: only the stop pipe can end the thread in time.
    let watch = LogWatch::open_with_tick(&log, fail_regex(), Duration::from_secs(86_400)).unwrap();
    let (done, dropped) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        drop(watch);
        let _ = done.send(());
    });
    // Generous for a loaded machine; the thread's own timeout is a day.
    dropped
        .recv_timeout(Duration::from_secs(30))
        .expect("dropping the watch did not stop its thread");
}

/// The lab's logging service (`lab/src/bin/logging_service.rs`), which
/// cargo builds next to this test binary's directory.
fn lab_service() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("logging_service");
    assert!(
        path.exists(),
        "{} missing: build with `cargo test --release` at the workspace root (it builds the lab)",
        path.display()
    );
    path
}

/// The `failures=N` of the service's count file.
fn service_count(path: &Path) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    text.split_whitespace()
        .find_map(|w| w.strip_prefix("failures="))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("count file holds {text:?}"))
}

/// Whether `/proc/PID/stat` says the process is stopped.
fn is_stopped(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The state follows the parenthesised command name.
    stat.rsplit_once(") ")
        .is_some_and(|(_, rest)| rest.starts_with('T'))
}

#[test]
fn follows_the_lab_service_through_windows_and_a_rotation() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;

    let dir = scratch();
    let (log, count, stop) = (dir.join("service.log"), dir.join("count"), dir.join("stop"));
    File::create(&log).unwrap();
    let watch = LogWatch::open(&log, Regex::new("FAILURE lost update").unwrap()).unwrap();
    let child = Command::new(lab_service())
        .args(["--log".as_ref(), log.as_os_str()])
        .args(["--count-file".as_ref(), count.as_os_str()])
        .args(["--stop-file".as_ref(), stop.as_os_str()])
        .args(["--widen-us", "300"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = Pid::from_raw(child.id() as i32);
    let rotated = dir.join("service.log.1");
    let in_file = |p: &Path| {
        std::fs::read_to_string(p)
            .unwrap_or_default()
            .matches("FAILURE lost update")
            .count()
    };
    let mut followed = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    // At least 8 windows, and on until both the log and its rotated
    // predecessor hold failures (a loaded machine slows the service).
    let mut window = 0;
    while window < 8 || in_file(&log) == 0 {
        assert!(
            Instant::now() < deadline,
            "window {window}: too few failures"
        );
        std::thread::sleep(Duration::from_millis(150));
        // Freeze the service at the window's end, so that its count and
        // its log can be compared: it writes its count just before each
        // line, so it may be one ahead, never behind.
        kill(pid, Signal::SIGSTOP).unwrap();
        while !is_stopped(child.id()) {
            assert!(Instant::now() < deadline, "the service does not stop");
            std::thread::sleep(Duration::from_millis(1));
        }
        followed += watch.take_all().unwrap().len();
        let own = service_count(&count);
        assert!(
            own == followed || own == followed + 1,
            "window {window}: the service counted {own}, the follower {followed}"
        );
        if followed > 0 && !rotated.exists() {
            // Rotated mid-run; the service reopens its log at its next line.
            std::fs::rename(&log, &rotated).unwrap();
        }
        kill(pid, Signal::SIGCONT).unwrap();
        window += 1;
    }
    std::fs::write(&stop, "").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    followed += watch.take_all().unwrap().len();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout.trim_end(),
        std::fs::read_to_string(&count).unwrap().trim_end()
    );
    let own = service_count(&count);
    assert_eq!(followed, own, "{stdout}");
    assert!(own > 0, "{stdout}");
    // Both files got failures: the rotation was followed, not just
    // survived.
    assert!(in_file(&rotated) > 0 && in_file(&log) > 0);
}
