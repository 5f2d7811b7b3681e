//! `tracer delay`: the chosen syscalls are delayed, concurrently, in every
//! thread and child; nothing else about the command changes (fds, exit
//! status, death by signal); the ptrace fallback does the same.

mod common;

use common::*;

use std::{
    os::unix::process::ExitStatusExt,
    process::{Command, Output},
};

use serde_json::Value;

fn delay(env_ptrace: bool, args: &[&str]) -> Output {
    let mut cmd = Command::new(tracer());
    cmd.arg("delay").args(args);
    if env_ptrace {
        cmd.env("TRACER_INJECT", "ptrace");
    }
    let out = cmd.output().unwrap();
    eprintln!(
        "stderr of tracer delay {args:?}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The JSON `tracer syscall-times` printed.
fn times(out: &Output) -> Value {
    assert!(out.status.success(), "{:?}", out.status);
    serde_json::from_slice(&out.stdout).unwrap()
}

fn ms(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap() / 1e6
}

fn delays_the_chosen_syscall_only(ptrace: bool) {
    let me = tracer();
    let me = me.to_str().unwrap();
    let delayed = times(&delay(
        ptrace,
        &["getppid=2ms", "--", me, "syscall-times", "20"],
    ));
    assert!(ms(&delayed, "p50_ns") >= 2.0, "{delayed}");
    assert!(ms(&delayed, "p50_ns") < 20.0, "{delayed}");
    // Another syscall delayed: getppid untouched.
    let other = times(&delay(
        ptrace,
        &["getpid=2ms", "--", me, "syscall-times", "20"],
    ));
    assert!(ms(&other, "p50_ns") < 0.5, "{other}");
}

#[test]
fn delays_the_chosen_syscall_only_notify() {
    delays_the_chosen_syscall_only(false);
}

#[test]
fn delays_the_chosen_syscall_only_ptrace_fallback() {
    delays_the_chosen_syscall_only(true);
    let out = delay(true, &["getppid=0", "--", "true"]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("delaying with ptrace"), "{err}");
}

/// Four threads delayed 50 ms each, five times: 250 ms when held at once,
/// a second if one delay waited for another.
fn threads_are_delayed_concurrently(ptrace: bool) {
    let me = tracer();
    let out = times(&delay(
        ptrace,
        &[
            "getppid=50ms",
            "--",
            me.to_str().unwrap(),
            "syscall-times",
            "5",
            "--threads",
            "4",
        ],
    ));
    let wall = ms(&out, "wall_ns");
    assert!((250.0..700.0).contains(&wall), "{out}");
    assert!(ms(&out, "p50_ns") >= 50.0, "{out}");
}

#[test]
fn threads_are_delayed_concurrently_notify() {
    threads_are_delayed_concurrently(false);
}

#[test]
fn threads_are_delayed_concurrently_ptrace_fallback() {
    threads_are_delayed_concurrently(true);
}

#[test]
fn children_inherit_the_delay() {
    let me = tracer();
    let script = format!("{} syscall-times 10", me.display());
    for ptrace in [false, true] {
        let out = times(&delay(ptrace, &["getppid=2ms", "--", "sh", "-c", &script]));
        assert!(ms(&out, "p50_ns") >= 2.0, "{out}");
    }
}

#[test]
fn the_command_sees_the_same_fds_and_ends_the_same_way() {
    // The fds the command starts with (ls's own directory fd aside).
    let fds = "ls /proc/$$/fd";
    let untraced = Command::new("sh").args(["-c", fds]).output().unwrap();
    for ptrace in [false, true] {
        // sendmsg, close and execve delayed too: handing the listener over
        // must not wait for itself.
        let out = delay(
            ptrace,
            &["read+sendmsg+close+execve=1ms", "--", "sh", "-c", fds],
        );
        assert!(out.status.success());
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&untraced.stdout)
        );
        let out = delay(ptrace, &["read=1ms", "--", "sh", "-c", "exit 7"]);
        assert_eq!(out.status.code(), Some(7));
        let out = delay(ptrace, &["read=1ms", "--", "sh", "-c", "kill -TERM $$"]);
        assert_eq!(out.status.signal(), Some(libc::SIGTERM));
        // #16: a real-time signal, handled then fatal, which nix cannot
        // read (tracer delay failed with EINVAL).
        let rt = libc::SIGRTMIN() + 2;
        let program = "import os, signal\n\
            signal.signal(signal.SIGRTMIN + 2, lambda *a: print('handled', flush=True))\n\
            os.kill(os.getpid(), signal.SIGRTMIN + 2)\n\
            signal.signal(signal.SIGRTMIN + 2, signal.SIG_DFL)\n\
            os.kill(os.getpid(), signal.SIGRTMIN + 2)\n";
        let out = delay(ptrace, &["read=1ms", "--", "python3", "-c", program]);
        assert_eq!(out.status.signal(), Some(rt), "ptrace: {ptrace}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "handled\n");
    }
}

#[test]
fn bad_delays_are_usage_errors() {
    for bad in [
        "nosuchcall=1ms",
        "read=soon",
        "read",
        "read=200",
        "none=1ms",
    ] {
        let out = delay(false, &[bad, "--", "true"]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("invalid"),
            "{bad}"
        );
    }
    let out = delay(false, &["read=1ms", "--", "no-such-command-xyz"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_sigterm_to_tracer_reaches_the_command() {
    for ptrace in [false, true] {
        let mut cmd = Command::new(tracer());
        cmd.args(["delay", "read=1ms", "--", "sleep", "30"]);
        if ptrace {
            cmd.env("TRACER_INJECT", "ptrace");
        }
        let child = cmd.stderr(std::process::Stdio::null()).spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(500));
        let start = std::time::Instant::now();
        // SAFETY: kill(2) of our own child.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.signal(), Some(libc::SIGTERM), "ptrace={ptrace}");
        assert!(start.elapsed().as_secs() < 10, "ptrace={ptrace}");
    }
}
