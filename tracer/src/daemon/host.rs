//! What the daemon's registry asks of the machine, as two interfaces: the
//! in-kernel filter ([`Kernel`]: which processes, names and cgroups the
//! eBPF programs record) and `/proc` and the cgroup tree ([`Host`]: who
//! owns a process, where it runs). The registry reaches the machine only
//! through them, so that its logic is tested with synthetic events and
//! answers; [`ProcFs`] is the real `Host`, the collector's `Ebpf` the real
//! `Kernel`.

use super::CGROUP_ROOT;
use crate::procfs;

/// How the registry reaches the in-kernel filter.
pub trait Kernel {
    fn trace(&mut self, tgid: u32) -> anyhow::Result<()>;
    fn untrace(&mut self, tgid: u32);
    fn watch_comm(&mut self, comm: &str) -> anyhow::Result<()>;
    fn unwatch_comm(&mut self, comm: &str);
    fn watch_cgroup(&mut self, id: u64) -> anyhow::Result<()>;
    fn unwatch_cgroup(&mut self, id: u64);
}

/// What the registry asks of `/proc` and the cgroup tree (a trait so tests
/// can answer).
pub trait Host {
    /// Real, effective and saved uid of process `pid`.
    fn uids(&self, pid: u32) -> Option<[u32; 3]>;
    /// The cgroup v2 path of `pid`, as in `/proc/PID/cgroup`.
    fn cgroup(&self, pid: u32) -> Option<String>;
    fn comm(&self, pid: u32) -> Option<String>;
    /// The process (thread group) that task `pid` belongs to.
    fn tgid(&self, pid: u32) -> Option<u32>;
    /// Whether process `pid` still exists (a thread group of that id).
    fn alive(&self, pid: u32) -> bool;
    /// The id the kernel gives cgroup `path` (as in `/proc/PID/cgroup`),
    /// or why it is not a cgroup.
    fn cgroup_id(&self, path: &str) -> Result<u64, String>;
}

/// `/proc` and `/sys/fs/cgroup`, for real.
pub struct ProcFs;

impl Host for ProcFs {
    fn uids(&self, pid: u32) -> Option<[u32; 3]> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let line = status.lines().find_map(|l| l.strip_prefix("Uid:"))?;
        let mut uids = line.split_whitespace().map(|u| u.parse::<u32>().ok());
        Some([uids.next()??, uids.next()??, uids.next()??])
    }

    fn cgroup(&self, pid: u32) -> Option<String> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix("0::"))
            .map(str::to_owned)
    }

    fn comm(&self, pid: u32) -> Option<String> {
        procfs::comm(pid)
    }

    fn tgid(&self, pid: u32) -> Option<u32> {
        procfs::tgid(i32::try_from(pid).ok()?)
            .ok()
            .and_then(|t| u32::try_from(t).ok())
    }

    fn alive(&self, pid: u32) -> bool {
        self.tgid(pid) == Some(pid)
    }

    fn cgroup_id(&self, path: &str) -> Result<u64, String> {
        use std::os::unix::fs::MetadataExt;
        let dir = format!("{CGROUP_ROOT}{path}");
        let meta = std::fs::metadata(&dir).map_err(|e| format!("cannot watch {dir}: {e}"))?;
        if !meta.is_dir() {
            return Err(format!("{dir} is not a cgroup"));
        }
        // A cgroup v2 id is the inode number of its directory.
        Ok(meta.ino())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_answers_for_this_process() {
        let me = std::process::id();
        let host = ProcFs;
        // SAFETY: getuid/geteuid cannot fail.
        let (uid, euid) = unsafe { (libc::getuid(), libc::geteuid()) };
        let uids = host.uids(me).unwrap();
        assert_eq!((uids[0], uids[1]), (uid, euid));
        assert_eq!(host.tgid(me), Some(me));
        assert!(host.comm(me).is_some());
        assert_eq!(host.uids(u32::MAX), None);
        assert!(host.alive(me));
        // A reaped child is gone.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!host.alive(pid));
    }

    #[test]
    fn cgroup_ids_are_directory_inodes() {
        use std::os::unix::fs::MetadataExt;
        let host = ProcFs;
        // The root of the tree exists on every layout (v2 or hybrid).
        let ino = std::fs::metadata(CGROUP_ROOT).unwrap().ino();
        assert_eq!(host.cgroup_id("/"), Ok(ino));
        let err = host.cgroup_id("/no-such-cgroup-here").unwrap_err();
        assert!(err.contains("/sys/fs/cgroup/no-such-cgroup-here"), "{err}");
    }
}
