//! What `/proc` says about a process the user asked to attach to, and
//! why it cannot be traced when it cannot: checked before anything is
//! loaded, in both modes, so that tracer never says "attached" to a
//! process that will never make a syscall.

use std::{fs, io};

use nix::{errno::Errno, sys::signal::kill, unistd::Pid};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ProcError {
    #[error("no such process: {0}")]
    NoSuchProcess(i32),
    #[error("not permitted to trace process {0} (it belongs to another user; run as root)")]
    NotPermitted(i32),
    #[error("invalid process id {0}")]
    Invalid(i32),
    #[error("cannot read /proc/{0}/task: {1}")]
    Read(i32, io::Error),
    #[error(
        "process {0} is tracer itself: recording it would record tracer reading its own trace, without end"
    )]
    Ourselves(i32),
    #[error(
        "process {pid} has exited (a zombie that its parent, PID {parent}, has not reaped yet): it makes no more syscalls"
    )]
    Zombie { pid: i32, parent: i32 },
    #[error("process {pid} is a kernel thread ({comm}): it makes no syscalls to trace")]
    KernelThread { pid: i32, comm: String },
}

/// `PF_KTHREAD` in the flags of `/proc/PID/stat` (include/linux/sched.h).
const PF_KTHREAD: u64 = 0x0020_0000;

/// Checks that `pid` names a process that can be traced: live (a thread
/// of it at least: a process whose main thread has exited while others
/// run is fine), one the caller may signal (the same permission rule as
/// ptrace's, minus the Yama scope), not a kernel thread, and not tracer
/// itself.
pub fn check(pid: i32) -> Result<(), ProcError> {
    if pid <= 0 {
        return Err(ProcError::Invalid(pid));
    }
    match kill(Pid::from_raw(pid), None) {
        Ok(()) => {}
        Err(Errno::EPERM) => return Err(ProcError::NotPermitted(pid)),
        Err(_) => return Err(ProcError::NoSuchProcess(pid)),
    }
    let tgid = tgid(pid)?;
    if tgid as u32 == std::process::id() {
        return Err(ProcError::Ourselves(pid));
    }
    let stat = fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|_| ProcError::NoSuchProcess(pid))?;
    // The fields after `comm`, which may itself hold spaces and parens.
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .map(|(_, rest)| rest.split(' ').collect())
        .unwrap_or_default();
    let flags: u64 = fields.get(6).and_then(|f| f.parse().ok()).unwrap_or(0);
    if flags & PF_KTHREAD != 0 {
        return Err(ProcError::KernelThread {
            pid,
            comm: comm(pid as u32).unwrap_or_default(),
        });
    }
    if threads(tgid)?.iter().all(|&tid| zombie(tid)) {
        let parent = fields.get(1).and_then(|f| f.parse().ok()).unwrap_or(0);
        return Err(ProcError::Zombie { pid, parent });
    }
    Ok(())
}

/// Whether task `tid` has exited and waits to be reaped (state `Z`, or
/// `X` on its way out). A gone task counts as one.
pub fn zombie(tid: u32) -> bool {
    match status_field(tid, "State") {
        Some(state) => state.starts_with(['Z', 'X']),
        None => true,
    }
}

/// The process that ptrace-traces task `tid` (strace, gdb, …), if any.
pub fn tracer_of(tid: u32) -> Option<u32> {
    status_field(tid, "TracerPid")?
        .parse()
        .ok()
        .filter(|&pid| pid != 0)
}

/// A field of `/proc/TID/status`, trimmed.
fn status_field(tid: u32, name: &str) -> Option<String> {
    let status = fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    status.lines().find_map(|l| {
        l.strip_prefix(name)?
            .strip_prefix(':')
            .map(|v| v.trim().to_owned())
    })
}

/// The tgid of `pid` (a `-p` may name a thread, as with strace).
pub fn tgid(pid: i32) -> Result<i32, ProcError> {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|_| ProcError::NoSuchProcess(pid))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or(ProcError::NoSuchProcess(pid))
}

/// Whether task `tid` runs under a seccomp filter (`Seccomp: 2`).
pub fn seccomp_filtered(tid: u32) -> bool {
    fs::read_to_string(format!("/proc/{tid}/status")).is_ok_and(|status| {
        status
            .lines()
            .any(|l| l.strip_prefix("Seccomp:").is_some_and(|v| v.trim() == "2"))
    })
}

/// The thread ids of process `tgid`, at the time of the call.
pub fn threads(tgid: i32) -> Result<Vec<u32>, ProcError> {
    let dir = fs::read_dir(format!("/proc/{tgid}/task")).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => ProcError::NoSuchProcess(tgid),
        io::ErrorKind::PermissionDenied => ProcError::NotPermitted(tgid),
        _ => ProcError::Read(tgid, e),
    })?;
    let mut tids: Vec<u32> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    tids.sort_unstable();
    Ok(tids)
}

/// The `comm` of a task, if it still exists.
pub fn comm(tid: u32) -> Option<String> {
    let text = fs::read_to_string(format!("/proc/{tid}/comm")).ok()?;
    Some(text.trim_end_matches('\n').to_owned())
}

/// Whether task `tid` still exists (zombies included).
pub fn alive(tid: u32) -> bool {
    fs::metadata(format!("/proc/{tid}")).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process() {
        let me = std::process::id() as i32;
        assert!(matches!(check(me), Err(ProcError::Ourselves(_))));
        assert!(!zombie(me as u32));
        assert_eq!(tracer_of(me as u32), None);
        assert_eq!(tgid(me).unwrap(), me);
        assert!(threads(me).unwrap().contains(&(me as u32)));
        assert!(comm(me as u32).is_some());
        assert!(alive(me as u32));
    }

    #[test]
    fn missing_and_invalid() {
        // pid_max is at most 2^22, so this pid cannot exist.
        let missing = 1 << 23;
        assert!(matches!(check(missing), Err(ProcError::NoSuchProcess(_))));
        assert!(matches!(threads(missing), Err(ProcError::NoSuchProcess(_))));
        assert!(matches!(check(0), Err(ProcError::Invalid(0))));
        assert!(matches!(check(-5), Err(ProcError::Invalid(-5))));
        assert!(!alive(missing as u32));
    }

    #[test]
    fn kernel_threads_and_zombies_are_refused() {
        let err = check(2).unwrap_err();
        assert!(
            matches!(err, ProcError::KernelThread { pid: 2, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("kthreadd"), "{err}");

        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !zombie(pid) {
            assert!(std::time::Instant::now() < deadline);
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let err = check(pid as i32).unwrap_err();
        let me = std::process::id() as i32;
        assert!(
            matches!(err, ProcError::Zombie { parent, .. } if parent == me),
            "{err}"
        );
        child.wait().unwrap();

        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        check(child.id() as i32).unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
