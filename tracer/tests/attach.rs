//! `record -p` on targets that cannot be traced, or not simply: tracer
//! itself, a zombie, a kernel thread, a process another tracer holds, a
//! process whose main thread has exited, the same process named twice.
//! Each is refused with the real reason, or traced, in both modes; never
//! "attached" followed by waiting forever.

mod common;

use common::*;

use std::{
    io::{BufRead, BufReader, Write},
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

const MODES: [&str; 2] = ["ebpf", "ptrace"];

/// Runs `command`, killing it if it has not finished in 10 s (which is
/// itself a failure: tracer waited for a target that will never act).
fn finishes(mut command: Command) -> Output {
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (done, waited) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        if waited.recv_timeout(Duration::from_secs(10)).is_err() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    });
    let out = child.wait_with_output().unwrap();
    let _ = done.send(());
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.code().is_some(), "tracer hung and was killed");
    out
}

fn refused(mode: &str, pid: &str, reason: &str) {
    let mut command = Command::new(tracer());
    command.args(["record", "--mode", mode, "-p", pid]);
    let out = finishes(command);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{mode} -p {pid}: {err}");
    assert!(err.contains(reason), "{mode} -p {pid}: {err}");
    assert!(!err.contains("attached"), "{mode} -p {pid}: {err}");
}

#[test]
fn tracer_itself_is_refused() {
    for mode in MODES {
        // The shell's pid becomes tracer's own.
        let mut command = Command::new("sh");
        command.args([
            "-c",
            &format!("exec {} record --mode {mode} -p $$", tracer().display()),
        ]);
        let out = finishes(command);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{mode}: {err}");
        assert!(err.contains("is tracer itself"), "{mode}: {err}");
    }
}

#[test]
fn kernel_threads_are_refused() {
    for mode in MODES {
        refused(mode, "2", "process 2 is a kernel thread (kthreadd)");
    }
}

#[test]
fn zombies_are_refused() {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .unwrap()
        .contains(") Z ")
    {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(5));
    }
    for mode in MODES {
        refused(
            mode,
            &pid.to_string(),
            &format!(
                "has exited (a zombie that its parent, PID {}",
                std::process::id()
            ),
        );
    }
    child.wait().unwrap();
}

/// Under ptrace a process has one tracer: the error names the other one
/// (it used to say "EPERM ... run as root" to root). eBPF traces it.
#[test]
fn a_process_traced_by_strace_names_its_tracer() {
    let mut target = Command::new("sleep").arg("30").spawn().unwrap();
    let mut strace = Command::new("strace")
        .args(["-o", "/dev/null", "-p", &target.id().to_string()])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let status = format!("/proc/{}/status", target.id());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&status)
        .unwrap()
        .contains(&format!("TracerPid:\t{}", strace.id()))
    {
        assert!(Instant::now() < deadline, "strace never attached");
        std::thread::sleep(Duration::from_millis(10));
    }
    refused(
        "ptrace",
        &target.id().to_string(),
        &format!("already traced by PID {} (strace)", strace.id()),
    );
    let _ = strace.kill();
    let _ = strace.wait();
    let _ = target.kill();
    let _ = target.wait();
}

/// `syscall_workload leader-exits`: its main thread has exited, another
/// serves requests. Both modes attach to the live thread and see its
/// syscalls (ptrace used to say "no such process").
#[test]
fn a_process_whose_main_thread_exited_is_traced_through_its_live_threads() {
    for mode in MODES {
        let mut target = Target::start();
        let out_file = scratch(&format!("leader-exited-{mode}.json"));
        let mut tracer = Command::new(tracer())
            .args(["record", "--mode", mode, "--json", "-o"])
            .arg(&out_file)
            .args(["-p", &target.pid.to_string()])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut err = BufReader::new(tracer.stderr.take().unwrap());
        let mut line = String::new();
        err.read_line(&mut line).unwrap();
        assert_eq!(
            line.trim(),
            format!("tracer: Process {} attached", target.pid)
        );
        std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
        target.ask(300);
        std::thread::sleep(Duration::from_millis(200));
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(tracer.id() as i32),
            nix::sys::signal::Signal::SIGINT,
        )
        .unwrap();
        tracer.wait().unwrap();
        target.ask(1);
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
        assert_eq!(json["syscalls"]["getppid"]["calls"], 300, "{mode}: {json}");
    }
}

/// The same process named twice, or by one of its threads and its pid, is
/// attached once.
#[test]
fn a_process_named_twice_is_attached_once() {
    for mode in MODES {
        let mut target = Target::start();
        let (pid, tid) = (target.pid.to_string(), target.thread.to_string());
        let mut tracer = Command::new(tracer())
            .args(["record", "--mode", mode, "-o", "/dev/null", "-p"])
            .arg(format!("{pid},{pid},{tid}"))
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(tracer.stderr.take().unwrap());
        let mut err = String::new();
        stderr.read_line(&mut err).unwrap();
        assert!(err.contains("attached"), "{mode}: {err}");
        target.ask(1);
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(tracer.id() as i32),
            nix::sys::signal::Signal::SIGINT,
        )
        .unwrap();
        std::io::Read::read_to_string(&mut stderr, &mut err).unwrap();
        tracer.wait().unwrap();
        assert_eq!(err.matches("attached").count(), 1, "{mode}: {err}");
        assert_eq!(err.matches("detached").count(), 1, "{mode}: {err}");
    }
}

/// `syscall_workload leader-exits`, fed requests through a pipe.
struct Target {
    child: Child,
    pid: u32,
    thread: u32,
    lines: BufReader<std::process::ChildStdout>,
}

impl Target {
    fn start() -> Self {
        let mut child = Command::new(workload())
            .arg("leader-exits")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap());
        let mut read = |key: &str| {
            let mut line = String::new();
            lines.read_line(&mut line).unwrap();
            line.trim()
                .strip_prefix(key)
                .unwrap_or_else(|| panic!("{line}"))
                .parse()
                .unwrap()
        };
        let pid = read("pid=");
        let thread = read("thread_tid=");
        // Wait for the main thread to be gone.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/stat"))
            .is_ok_and(|s| s.contains(") Z "))
        {
            assert!(Instant::now() < deadline, "main thread still running");
            std::thread::sleep(Duration::from_millis(5));
        }
        Self {
            child,
            pid,
            thread,
            lines,
        }
    }

    fn ask(&mut self, n: u32) {
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{n}").unwrap();
        stdin.flush().unwrap();
        let mut line = String::new();
        self.lines.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), format!("done {n}"));
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
