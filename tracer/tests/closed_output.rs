//! A closed output (`tracer … | head -1`) never makes tracer panic or
//! misbehave (#11, #15; the policy is in `src/stdio.rs`): a command that
//! prints a result ends quietly by SIGPIPE; `record` with a launched
//! command stops recording, lets it run on untraced and exits with its
//! status; a traced target, launched or attached, is never left stopped or
//! killed; the daemon keeps serving when its log pipe closes. Real
//! processes, both modes where a target is traced.

mod common;

use std::{
    io::{BufRead, BufReader},
    os::{fd::OwnedFd, unix::process::ExitStatusExt},
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Output, Stdio},
    thread,
    time::{Duration, Instant},
};

use common::{scratch, tracer};

/// The write end of a pipe whose read end is already closed: every write
/// to it fails with EPIPE, whenever tracer makes it (a race-free `| head
/// -0`).
fn closed_pipe() -> Stdio {
    let (read, write): (OwnedFd, OwnedFd) = nix::unistd::pipe().unwrap();
    drop(read);
    Stdio::from(write)
}

/// Runs tracer with `args`, stdout on a closed pipe, stderr captured.
fn stdout_closed(args: &[&str]) -> Output {
    let out = Command::new(tracer())
        .args(args)
        .stdin(Stdio::null())
        .stdout(closed_pipe())
        .output()
        .unwrap();
    eprintln!(
        "tracer {args:?}: {:?}, stderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The quiet end a closed output asks for: killed by SIGPIPE (the shell's
/// 141), no panic, no error message.
fn assert_quiet_sigpipe(what: &str, out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGPIPE),
        "{what}: {:?}\n{stderr}",
        out.status
    );
    for noise in ["panicked", "Broken pipe", "Error", "cannot write"] {
        assert!(!stderr.contains(noise), "{what}: {noise:?} in\n{stderr}");
    }
}

/// `State` and `TracerPid` of `pid`, if it is alive.
fn proc_state(pid: u32) -> Option<(char, u32)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
            .unwrap_or("")
            .to_string()
    };
    let state = field("State:").chars().next()?;
    Some((state, field("TracerPid:").parse().ok()?))
}

/// Neither stopped (`T`, or `t` in a ptrace stop) nor traced.
fn running_untraced(pid: u32) -> bool {
    matches!(proc_state(pid), Some((state, 0)) if !matches!(state, 'T' | 't' | 'Z' | 'X'))
}

fn wait_until(secs: u64, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Waits for `child` at most `secs` (killing it after, so a hang fails).
fn wait_for(child: &mut Child, secs: u64) -> ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("tracer did not end within {secs} s");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// A child killed when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A process that makes syscalls (and forks `sleep`) every 20 ms until
/// killed: a trace fills tracer's 64 KiB output buffer within seconds.
fn busy_target() -> Killed {
    Killed(
        Command::new("sh")
            .args([
                "-c",
                "while :; do read x < /proc/self/stat; sleep 0.02; done",
            ])
            .spawn()
            .unwrap(),
    )
}

/// Where the launched command's trace goes.
#[derive(Clone, Copy, PartialEq)]
enum Stream {
    /// `-o /dev/stdout`, stdout a pipe.
    Stdout,
    /// The default, stderr a pipe (`2>&1 | head`).
    Stderr,
}

/// `record -- CMD` whose output closes while CMD runs: CMD goes on
/// untraced (not stopped, not traced, not killed), finishes, and tracer
/// exits with its status; said once on stderr when stderr is still open.
fn record_launched(mode: &str, stream: Stream) {
    let dir = scratch(&format!("launched-{mode}-{}", stream as u8));
    std::fs::create_dir_all(&dir).unwrap();
    let (pid_file, done_file) = (dir.join("pid"), dir.join("done"));
    let script = format!(
        "echo $$ > {}; dd if=/dev/zero of=/dev/null bs=1 count=20000 2>/dev/null; sleep 2; echo ok > {}; exit 7",
        pid_file.display(),
        done_file.display()
    );
    let mut cmd = Command::new(tracer());
    cmd.args(["record", "--mode", mode]);
    if stream == Stream::Stdout {
        cmd.args(["-o", "/dev/stdout"]);
    }
    cmd.args(["--", "sh", "-c", &script]).stdin(Stdio::null());
    match stream {
        Stream::Stdout => cmd.stdout(Stdio::piped()).stderr(Stdio::piped()),
        Stream::Stderr => cmd.stdout(Stdio::null()).stderr(Stdio::piped()),
    };
    let mut child = cmd.spawn().unwrap();
    let trace: Box<dyn std::io::Read> = match stream {
        Stream::Stdout => Box::new(child.stdout.take().unwrap()),
        Stream::Stderr => Box::new(child.stderr.take().unwrap()),
    };
    let mut first = String::new();
    BufReader::new(trace).read_line(&mut first).unwrap();
    assert!(first.contains("execve"), "first line: {first:?}");
    // The reader has gone away (its end of the pipe is closed).
    let mut pid = 0;
    assert!(wait_until(10, || {
        let text = std::fs::read_to_string(&pid_file).unwrap_or_default();
        pid = text.trim().parse().unwrap_or(0);
        pid != 0
    }));
    assert!(
        wait_until(10, || running_untraced(pid) || done_file.exists()),
        "{pid}: {:?}",
        proc_state(pid)
    );
    assert!(
        !done_file.exists(),
        "the command ended before it could be seen running untraced"
    );
    let status = wait_for(&mut child, 30);
    let stderr = match stream {
        Stream::Stdout => {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut text).unwrap();
            text
        }
        Stream::Stderr => String::new(),
    };
    eprintln!("{status:?}, stderr:\n{stderr}");
    assert_eq!(status.code(), Some(7), "the command's status");
    assert!(done_file.exists(), "the command did not run to its end");
    assert!(!stderr.contains("panicked"), "{stderr}");
    if stream == Stream::Stdout {
        // Once, clearly, with no error dressing.
        assert_eq!(
            stderr
                .matches("the output was closed; recording stopped")
                .count(),
            1,
            "{stderr}"
        );
        assert!(
            !stderr.contains("os error") && !stderr.contains("incomplete"),
            "{stderr}"
        );
    }
}

/// `record -p PID` whose output closes: the target is detached (not
/// stopped, not traced, still running) and tracer ends by SIGPIPE.
fn record_attached(mode: &str) {
    let target = busy_target();
    let pid = target.0.id();
    let pid_text = pid.to_string();
    let mut child = Command::new(tracer())
        .args([
            "record",
            "--mode",
            mode,
            "-o",
            "/dev/stdout",
            "-p",
            &pid_text,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(!first.is_empty());
    let status = wait_for(&mut child, 60);
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    eprintln!("{status:?}, stderr:\n{stderr}");
    assert_eq!(status.signal(), Some(libc::SIGPIPE), "{status:?}");
    assert!(!stderr.contains("panicked") && !stderr.contains("os error"));
    assert!(stderr.contains("the output was closed; recording stopped"));
    assert!(stderr.contains(&format!("Process {pid} detached")));
    // Left as it was: running, untraced, not stopped.
    thread::sleep(Duration::from_millis(200));
    assert!(running_untraced(pid), "{pid}: {:?}", proc_state(pid));
}

/// `compare -p PID` whose output is closed when the result is printed:
/// quiet SIGPIPE, and the service goes on as it was.
fn compare_live(mode: &str) {
    let target = busy_target();
    let pid = target.0.id().to_string();
    for json in [false, true] {
        let mut args = vec![
            "compare",
            "-p",
            &pid,
            "--modes",
            mode,
            "--window",
            "200ms",
            "--windows",
            "1",
        ];
        if json {
            args.push("--json");
        }
        let out = stdout_closed(&args);
        assert_quiet_sigpipe(&format!("{args:?}"), &out);
        assert!(
            running_untraced(target.0.id()),
            "{:?}",
            proc_state(target.0.id())
        );
    }
}

macro_rules! mode_tests {
    ($module:ident, $mode:literal) => {
        mod $module {
            #[test]
            fn record_launched_trace_on_stdout() {
                super::record_launched($mode, super::Stream::Stdout);
            }
            #[test]
            fn record_launched_trace_on_stderr() {
                super::record_launched($mode, super::Stream::Stderr);
            }
            #[test]
            fn record_attached() {
                super::record_attached($mode);
            }
            #[test]
            fn compare_live() {
                super::compare_live(concat!("none,", $mode));
            }
        }
    };
}

mode_tests!(ebpf, "ebpf");
mode_tests!(ptrace, "ptrace");

/// A recording of the workload, made once per test that needs one.
fn recording(name: &str) -> PathBuf {
    let path = scratch(name);
    let _ = std::fs::remove_file(&path);
    let out = Command::new(tracer())
        .args(["record", "-o", "/dev/null", "-w"])
        .arg(&path)
        .arg("--")
        .arg(common::workload())
        .arg("standard")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    path
}

/// `record -c`/`--json` with a command that has ended when the summary
/// meets the closed output: the command's status, nothing said.
#[test]
fn record_summary_exits_with_the_commands_status() {
    for view in ["-c", "--json"] {
        let out = stdout_closed(&[
            "record",
            view,
            "-o",
            "/dev/stdout",
            "--",
            "sh",
            "-c",
            "exit 7",
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(7), "{view}: {stderr}");
        assert!(stderr.is_empty(), "{view}: {stderr}");
    }
}

#[test]
fn report_and_export_end_quietly() {
    let rec = recording("report.rec");
    let rec = rec.to_str().unwrap();
    for args in [
        vec!["report", rec],
        vec!["report", "-c", rec],
        vec!["report", "--json", rec],
        vec!["export", "--format", "jsonl", rec],
        vec!["export", "--format", "csv", rec],
        vec!["export", "--format", "chrome", rec],
        vec!["export", "--format", "perfetto", rec],
        vec!["export", "--format", "jsonl", "-o", "/dev/stdout", rec],
    ] {
        let out = stdout_closed(&args);
        let what = format!("{args:?}");
        assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "{what}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
            "{what}: {stderr}"
        );
    }
}

/// `compare -- CMD`: every run is made (the command ran to its end each
/// time), then the result meets the closed output.
#[test]
fn compare_launched_ends_quietly() {
    let log = scratch("compare-runs");
    let _ = std::fs::remove_file(&log);
    let script = format!("echo run >> {}", log.display());
    for json in [false, true] {
        let mut args = vec!["compare", "--runs", "1", "--modes", "none,ebpf,ptrace"];
        if json {
            args.push("--json");
        }
        args.extend(["--", "sh", "-c", &script]);
        let out = stdout_closed(&args);
        assert_quiet_sigpipe(&format!("{args:?}"), &out);
    }
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 6);
}

#[test]
fn overhead_amplify_and_helpers_end_quietly() {
    for args in [
        vec![
            "overhead",
            "--syscalls",
            "1000",
            "--rounds",
            "1",
            "--modes",
            "ebpf",
        ],
        vec![
            "amplify",
            "--runs",
            "1",
            "--candidates",
            "1",
            "--no-sweep",
            "--",
            "true",
        ],
        vec![
            "amplify",
            "--runs",
            "1",
            "--candidates",
            "1",
            "--no-sweep",
            "--json",
            "--",
            "true",
        ],
        vec!["syscall-loop", "10"],
        vec!["syscall-times", "10"],
    ] {
        let out = stdout_closed(&args);
        assert_quiet_sigpipe(&format!("{args:?}"), &out);
    }
}

/// `tracer delay` prints only on stderr: closed, the command's status.
#[test]
fn delay_with_stderr_closed_exits_with_the_commands_status() {
    let status = Command::new(tracer())
        .args(["delay", "--verbose", "read=1us", "--", "sh", "-c", "exit 7"])
        .stdin(Stdio::null())
        .stderr(closed_pipe())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(7), "{status:?}");
}

/// The daemon whose log pipe closes keeps serving, and ends normally; its
/// clients end quietly on a closed stdout.
#[test]
fn daemon_and_ctl() {
    let dir = scratch("daemon");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let socket = dir.join("sock");
    let mut daemon = Killed(
        Command::new(tracer())
            .arg("daemon")
            .arg("--socket")
            .arg(&socket)
            .arg("--dump-dir")
            .arg(dir.join("dumps"))
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut first = String::new();
    BufReader::new(daemon.0.stderr.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("listening"), "{first:?}");
    // The log's reader is gone from here on.
    let ctl = |args: &[&str], stdout: Stdio| {
        Command::new(tracer())
            .arg("ctl")
            .arg("--socket")
            .arg(&socket)
            .args(args)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::piped())
            .output()
            .unwrap()
    };
    let target = busy_target();
    let pid = target.0.id().to_string();
    // Logged ("watch 1: ..."), into the closed pipe.
    let watched = ctl(&["watch", &pid], Stdio::piped());
    assert!(watched.status.success(), "{watched:?}");
    let watch = String::from_utf8_lossy(&watched.stdout).trim().to_string();
    for args in [
        vec!["stats"],
        vec!["list"],
        vec!["--json", "stats"],
        vec!["watch", "--comm", "nothing-by-this"],
        vec!["stream", &watch],
    ] {
        let out = ctl(&args, closed_pipe());
        assert_quiet_sigpipe(&format!("ctl {args:?}"), &out);
    }
    let stats = ctl(&["stats"], Stdio::piped());
    assert!(stats.status.success(), "{stats:?}");
    assert!(daemon_alive(&mut daemon.0));
    // SAFETY: kill(2) of our own child.
    unsafe { libc::kill(daemon.0.id() as i32, libc::SIGTERM) };
    let status = wait_for(&mut daemon.0, 30);
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert!(running_untraced(target.0.id()));
    assert!(!Path::new(&socket).exists());
}

fn daemon_alive(daemon: &mut Child) -> bool {
    daemon.try_wait().unwrap().is_none()
}
