//! What `/proc` says about a process the user asked to attach to.

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
}

/// Checks that `pid` names a live process the caller may signal (the same
/// permission rule as ptrace's, minus the Yama scope).
pub fn check(pid: i32) -> Result<(), ProcError> {
    if pid <= 0 {
        return Err(ProcError::Invalid(pid));
    }
    match kill(Pid::from_raw(pid), None) {
        Ok(()) => Ok(()),
        Err(Errno::EPERM) => Err(ProcError::NotPermitted(pid)),
        Err(_) => Err(ProcError::NoSuchProcess(pid)),
    }
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
        check(me).unwrap();
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
}
