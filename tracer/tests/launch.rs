//! End-to-end tests of how `tracer record` launches a command, in both
//! modes: the command must start as it would untraced (signals, mask, fds,
//! process group, ...), Ctrl-C and output errors must not change its fate
//! or tracer's exit status, and its `execve` must cost what it costs under
//! strace (the command is forked by a small launcher, not by the grown
//! tracer).
//!
//! These tests need root (CI runs as root); they never skip.

mod common;

use common::*;

use std::{
    io::{BufRead, BufReader},
    os::unix::process::{CommandExt, ExitStatusExt},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use nix::{
    sys::signal::{Signal, killpg},
    unistd::Pid,
};

/// `tracer record --mode MODE -o /dev/null --`: the command's output is
/// all that reaches stdout.
fn record(mode: &str) -> Command {
    let mut cmd = Command::new(tracer());
    cmd.args(["record", "--mode", mode, "-o", "/dev/null", "--"]);
    cmd
}

/// Prints what a process inherits, about the shell running it (`$$`):
/// environment but `_`, rlimits, umask, cwd, open fds, process group and
/// session, and stdin. (The signal state is read by a program launched
/// directly: a shell changes its own.)
const PROBE: &str = r#"
env | grep -v '^_=' | sort
ulimit -a
umask
pwd
find /proc/$$/fd/ -mindepth 1 -printf 'fd %f -> %l\n'
echo "pgrp session: $(cut -d' ' -f5,6 /proc/$$/stat)"
if [ -e /proc/$$/fd/0 ]; then grep -v '^ino' /proc/$$/fdinfo/0; else echo stdin closed; fi
"#;

/// Runs PROBE untraced and traced from one shell (bash: dash clears its
/// signal mask) that ignores INT, QUIT, HUP and TERM and has SIGUSR2
/// blocked (`close_stdin`: with stdin closed),
/// and returns both reports.
fn probe(mode: &str, close_stdin: bool) -> (String, String) {
    let script = format!(
        r#"trap '' INT QUIT HUP TERM
{}
echo =====
grep ^Sig /proc/self/status
sh -c "$PROBE"
echo =====
"$TRACER" record --mode {mode} -o /dev/null -- grep ^Sig /proc/self/status
"$TRACER" record --mode {mode} -o /dev/null -- sh -c "$PROBE"
# Not the last command: bash would exec it, lowering SHLVL.
exit $?
"#,
        if close_stdin { "exec 0<&-" } else { "" }
    );
    let mut shell = Command::new("bash");
    shell
        .args(["-c", &script])
        .env("PROBE", PROBE)
        .env("TRACER", tracer())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .process_group(0);
    // SAFETY: only sigprocmask, async-signal-safe, between fork and exec.
    unsafe {
        shell.pre_exec(|| {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGUSR2);
            libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            Ok(())
        });
    }
    let out = shell.output().unwrap();
    // SigQ's first number counts the signals queued for the whole user
    // (every root process here): keep its limit only.
    let text: String = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| match l.strip_prefix("SigQ:\t") {
            Some(q) => format!(
                "SigQ: limit {}\n",
                q.split_once('/').map_or(q, |(_, limit)| limit)
            ),
            None => format!("{l}\n"),
        })
        .collect();
    let parts: Vec<&str> = text.split("=====\n").collect();
    assert_eq!(parts.len(), 3, "{text}");
    (parts[1].to_owned(), parts[2].to_owned())
}

/// The traced command inherits exactly what the untraced one does.
fn inherits_what_an_untraced_command_does(mode: &str) {
    for close_stdin in [false, true] {
        let (untraced, traced) = probe(mode, close_stdin);
        // The probe saw what it should: the ignores and the mask.
        let ignored = untraced
            .lines()
            .find_map(|l| l.strip_prefix("SigIgn:\t"))
            .map(|hex| u64::from_str_radix(hex, 16).unwrap());
        assert_eq!(ignored.map(|i| i & 0x4007), Some(0x4007), "{untraced}");
        assert!(untraced.contains("SigBlk:\t0000000000000800"), "{untraced}");
        let stdin_closed = untraced.lines().any(|l| l == "stdin closed");
        assert_eq!(stdin_closed, close_stdin, "{untraced}");
        assert_eq!(
            traced, untraced,
            "traced (left) and untraced (right) differ, stdin closed: {close_stdin}"
        );
    }
}

/// `yes | head -1`: `yes` dies of SIGPIPE quietly, as it does untraced.
fn sigpipe_is_default(mode: &str) {
    let out = record(mode)
        .args(["sh", "-c", "yes | head -1"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "y\n");
    assert!(!err.contains("Broken pipe"), "{err}");
}

/// Ctrl-C on a terminal reaches the whole foreground group: the command
/// handles it (here: exits 7 half a second later), and tracer goes on
/// recording and exits with the command's status.
fn ctrl_c_is_the_commands_to_handle(mode: &str) {
    let mut traced = record(mode)
        .args([
            "sh",
            "-c",
            "trap 'sleep 0.5; exit 7' INT; echo ready; sleep 3 & wait",
        ])
        .stdout(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(traced.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    let start = Instant::now();
    killpg(Pid::from_raw(traced.id() as i32), Signal::SIGINT).unwrap();
    let status = traced.wait().unwrap();
    let took = start.elapsed();
    assert_eq!(status.code(), Some(7), "{status:?}");
    // It waited for the trap, not for the background sleep.
    assert!(took >= Duration::from_millis(450), "{took:?}");
    assert!(took < Duration::from_millis(2500), "{took:?}");
}

/// Started with SIGHUP ignored (`nohup`), tracer and the command both
/// survive a SIGHUP to the group, and tracer exits with the command's
/// status.
fn nohup_survives_sighup(mode: &str) {
    let mut traced = Command::new("sh")
        .args([
            "-c",
            r#"trap '' HUP; exec "$TRACER" record --mode $1 -o /dev/null -- sh -c 'echo ready; sleep 0.5; exit 3'"#,
            "sh",
            mode,
        ])
        .env("TRACER", tracer())
        .stdout(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(traced.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    killpg(Pid::from_raw(traced.id() as i32), Signal::SIGHUP).unwrap();
    assert_eq!(traced.wait().unwrap().code(), Some(3));
}

/// A Ctrl-C at any moment of a launch ends the run as it would end the
/// command untraced: the command never completes, tracer dies of SIGINT
/// (never "runs until the command ends and exits 0").
fn early_ctrl_c_stops_the_launch(mode: &str) {
    // Fixed moments, and moments around the time the command starts on
    // this machine now (eBPF takes a while to load).
    let start = Instant::now();
    let out = record(mode).args(["echo", "started"]).output().unwrap();
    assert!(out.status.success());
    let started = start.elapsed().as_millis() as u64;
    let around = [50, 80, 90, 100, 110].map(|percent| started * percent / 100);
    for delay_ms in [0, 10, 30, 60, 100, 150, 250, 400]
        .into_iter()
        .chain(around)
    {
        let marker = scratch(&format!("early-int-{mode}-{delay_ms}"));
        let _ = std::fs::remove_file(&marker);
        // The sleep outlasts every delay here: with `sleep 2`, a launch
        // that got faster after `started` was measured under load (6.7 s)
        // ended before a delay of 90% of it, and the SIGINT met a finished
        // tracer (exit 0). It is not always cut short: a SIGINT that
        // reaches sh (dash) after it set its handler and before it forked
        // `sleep` is acted on when `sleep` ends (dash waits for its
        // foreground child, then dies of the SIGINT; seen under ptrace,
        // whose stops widen that window).
        let sleep_s = (started * 2 / 1000).max(10);
        let script = format!("sleep {sleep_s}; touch {}", marker.display());
        let mut traced = record(mode)
            .args(["sh", "-c", &script])
            .process_group(0)
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        killpg(Pid::from_raw(traced.id() as i32), Signal::SIGINT).unwrap();
        let status = traced.wait().unwrap();
        assert_eq!(
            status.signal(),
            Some(libc::SIGINT),
            "SIGINT after {delay_ms} ms: {status:?}"
        );
        assert!(
            !marker.exists(),
            "SIGINT after {delay_ms} ms: the command ran"
        );
    }
}

/// A command that dumps core: tracer dies of the same signal and says
/// "(core dumped)" when the untraced command's shell would.
fn core_dump_is_reported(mode: &str) {
    let dir = scratch(&format!("core-{mode}"));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |command: String| {
        Command::new("sh")
            .args(["-c", &format!("ulimit -c unlimited; exec {command}")])
            .current_dir(&dir)
            .output()
            .unwrap()
    };
    let untraced = run("sh -c 'kill -SEGV $$'".into());
    assert_eq!(untraced.status.signal(), Some(libc::SIGSEGV));
    let traced = run(format!(
        "{} record --mode {mode} -o /dev/null -- sh -c 'kill -SEGV $$'",
        tracer().display()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let err = String::from_utf8_lossy(&traced.stderr);
    assert_eq!(traced.status.signal(), Some(libc::SIGSEGV), "{err}");
    assert_eq!(
        err.contains("killed by SIGSEGV (core dumped)"),
        untraced.status.core_dumped(),
        "{err}"
    );
}

/// A small tmpfs, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(name: &str, size: &str) -> Self {
        let dir = scratch(name);
        std::fs::create_dir_all(&dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .status()
            .unwrap()
            .success();
        assert!(ok, "cannot mount a tmpfs on {}", dir.display());
        Self(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// The output fills its disk mid-run: tracer stops recording, says so,
/// waits for the command and exits with its status.
fn disk_full_keeps_the_commands_fate(mode: &str) {
    let disk = Tmpfs::mount(&format!("full-{mode}"), "64k");
    let out_file = disk.path().join("trace.txt");
    let marker = scratch(&format!("full-done-{mode}"));
    let _ = std::fs::remove_file(&marker);
    // Some 40,000 syscalls (MBs of text), then a pause, then the status.
    let script = format!(
        "dd if=/dev/zero of=/dev/null bs=1 count=20000 2>/dev/null; sleep 0.5; touch {}; exit 5",
        marker.display()
    );
    let out = Command::new(tracer())
        .args(["record", "--mode", mode, "-o"])
        .arg(&out_file)
        .args(["--", "sh", "-c", &script])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(marker.exists(), "tracer did not wait for the command");
    assert!(err.contains("No space left on device"), "{err}");
    assert!(err.contains("recording is incomplete"), "{err}");
}

/// The `<N.NNNNNN>` duration of the first execve line in `text`, in µs.
fn execve_us(text: &str) -> f64 {
    let line = text
        .lines()
        .find(|l| l.starts_with("execve("))
        .unwrap_or_else(|| panic!("no execve line in {text}"));
    let secs = line.rsplit_once('<').unwrap().1.trim_end_matches('>');
    secs.parse::<f64>().unwrap() * 1e6
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The launched command's `execve` (tearing down what it inherited)
/// costs what it costs under strace, within 2x: medians of interleaved
/// runs, measured again when the machine's noise got in the way.
fn execve_costs_what_it_does_under_strace(mode: &str) {
    const RUNS: usize = 15;
    let file = scratch(&format!("execve-{mode}.txt"));
    let mut measured = Vec::new();
    for _attempt in 0..3 {
        let (mut traced, mut strace) = (Vec::new(), Vec::new());
        for _ in 0..RUNS {
            let _ = std::fs::remove_file(&file);
            let ok = Command::new(tracer())
                .args(["record", "--mode", mode, "-T", "-e", "trace=execve", "-o"])
                .arg(&file)
                .args(["--", "/bin/true"])
                .status()
                .unwrap()
                .success();
            assert!(ok);
            traced.push(execve_us(&std::fs::read_to_string(&file).unwrap()));
            let _ = std::fs::remove_file(&file);
            let ok = Command::new("strace")
                .args(["-T", "-e", "trace=execve", "-o"])
                .arg(&file)
                .arg("/bin/true")
                .status()
                .unwrap()
                .success();
            assert!(ok);
            strace.push(execve_us(&std::fs::read_to_string(&file).unwrap()));
        }
        let (traced, strace) = (median(traced), median(strace));
        eprintln!("{mode}: execve median {traced:.0} µs traced, {strace:.0} µs under strace");
        if traced <= 2.0 * strace {
            return;
        }
        measured.push((traced, strace));
    }
    panic!("execve under tracer over 2x strace's, (traced, strace) µs: {measured:?}");
}

macro_rules! mode_tests {
    ($module:ident, $mode:literal) => {
        mod $module {
            #[test]
            fn inherits_what_an_untraced_command_does() {
                super::inherits_what_an_untraced_command_does($mode);
            }
            #[test]
            fn sigpipe_is_default() {
                super::sigpipe_is_default($mode);
            }
            #[test]
            fn ctrl_c_is_the_commands_to_handle() {
                super::ctrl_c_is_the_commands_to_handle($mode);
            }
            #[test]
            fn nohup_survives_sighup() {
                super::nohup_survives_sighup($mode);
            }
            #[test]
            fn early_ctrl_c_stops_the_launch() {
                super::early_ctrl_c_stops_the_launch($mode);
            }
            #[test]
            fn core_dump_is_reported() {
                super::core_dump_is_reported($mode);
            }
            #[test]
            fn disk_full_keeps_the_commands_fate() {
                super::disk_full_keeps_the_commands_fate($mode);
            }
            #[test]
            fn execve_costs_what_it_does_under_strace() {
                super::execve_costs_what_it_does_under_strace($mode);
            }
        }
    };
}

mode_tests!(ebpf, "ebpf");
mode_tests!(ptrace, "ptrace");
