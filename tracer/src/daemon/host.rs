//! What the daemon's registry asks of the machine, as two interfaces: the
//! in-kernel filter ([`Kernel`]: which processes, names and cgroups the
//! eBPF programs record) and `/proc` and the cgroup tree ([`Host`]: who
//! owns a process, where it runs). The registry reaches the machine only
//! through them, so that its logic is tested with synthetic events and
//! answers; [`ProcFs`] is the real `Host`, the collector's `Ebpf` the real
//! `Kernel`.

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
    /// Cgroup `path` (under the cgroup v2 mount, or relative to it as in
    /// `/proc/PID/cgroup`) as `/proc/PID/cgroup` names it, and the id the
    /// kernel gives it; or why it is not a cgroup.
    fn resolve_cgroup(&self, path: &str) -> Result<Cgroup, String>;
}

/// A cgroup v2 directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cgroup {
    /// Relative to the cgroup v2 root, as in `/proc/PID/cgroup`.
    pub path: String,
    /// As `bpf_get_current_cgroup_id` returns it.
    pub id: u64,
}

/// Where the cgroup v2 hierarchy is mounted, from `/proc/self/mountinfo`
/// text: `/sys/fs/cgroup` on a pure v2 layout, `/sys/fs/cgroup/unified`
/// on a hybrid one (where `/sys/fs/cgroup` is a tmpfs of v1 hierarchies).
/// A mount of the whole tree (root `/`) is preferred to a bind mount of a
/// subtree.
pub fn cgroup2_mount(mountinfo: &str) -> Option<String> {
    let mounts = mountinfo.lines().filter_map(|line| {
        // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE ...
        let (left, right) = line.split_once(" - ")?;
        if right.split(' ').next()? != "cgroup2" {
            return None;
        }
        let mut fields = left.split(' ');
        let root = fields.nth(3)?;
        let point = fields.next()?;
        Some((root == "/", unescape(point)))
    });
    let mut best = None;
    for (whole, point) in mounts {
        if whole {
            return Some(point);
        }
        best.get_or_insert(point);
    }
    best
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|d| {
            std::str::from_utf8(d)
                .ok()
                .and_then(|d| u8::from_str_radix(d, 8).ok())
        });
        match (bytes[i], octal) {
            (b'\\', Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `path` relative to `mount` when it lies under it, else as given (then
/// it is already relative, as in `/proc/PID/cgroup`). Both start with `/`.
pub fn under_mount(mount: &str, path: &str) -> String {
    let mount = mount.trim_end_matches('/');
    match path.strip_prefix(mount) {
        Some("") => "/".to_owned(),
        Some(rest) if rest.starts_with('/') => rest.to_owned(),
        _ => path.to_owned(),
    }
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

    fn resolve_cgroup(&self, path: &str) -> Result<Cgroup, String> {
        use std::os::unix::fs::MetadataExt;
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")
            .map_err(|e| format!("cannot read /proc/self/mountinfo: {e}"))?;
        let mount = cgroup2_mount(&mountinfo)
            .ok_or("no cgroup v2 hierarchy is mounted (none in /proc/self/mountinfo)")?;
        let path = under_mount(&mount, path);
        let dir = format!("{}{path}", mount.trim_end_matches('/'));
        let meta = std::fs::metadata(&dir).map_err(|e| format!("cannot watch {dir}: {e}"))?;
        if !meta.is_dir() {
            return Err(format!("{dir} is not a cgroup"));
        }
        // A cgroup v2 id is the inode number of its directory.
        Ok(Cgroup {
            path,
            id: meta.ino(),
        })
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

    /// `/proc/self/mountinfo` of a hybrid layout (this test machine's):
    /// v1 hierarchies under a tmpfs at /sys/fs/cgroup, v2 beside them.
    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const PURE: &str = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
27 22 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate
";

    #[test]
    fn the_cgroup2_mount_is_found_on_every_layout() {
        assert_eq!(
            cgroup2_mount(HYBRID).as_deref(),
            Some("/sys/fs/cgroup/unified")
        );
        assert_eq!(cgroup2_mount(PURE).as_deref(), Some("/sys/fs/cgroup"));
        assert_eq!(
            cgroup2_mount("31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"),
            None
        );
        assert_eq!(cgroup2_mount(""), None);
        // A bind mount of a subtree yields to a mount of the whole tree;
        // escapes in the mount point are undone.
        let both = "50 1 0:38 /sub /mnt/sub rw - cgroup2 cgroup2 rw\n\
                    51 1 0:38 / /mnt/my\\040cg rw - cgroup2 cgroup2 rw\n";
        assert_eq!(cgroup2_mount(both).as_deref(), Some("/mnt/my cg"));
        assert_eq!(
            cgroup2_mount("50 1 0:38 /sub /mnt/sub rw - cgroup2 cgroup2 rw").as_deref(),
            Some("/mnt/sub")
        );
    }

    #[test]
    fn paths_under_the_mount_are_made_relative() {
        let m = "/sys/fs/cgroup/unified";
        assert_eq!(under_mount(m, "/sys/fs/cgroup/unified/a/b"), "/a/b");
        assert_eq!(under_mount(m, "/sys/fs/cgroup/unified"), "/");
        assert_eq!(under_mount(m, "/a/b"), "/a/b");
        // Not a prefix at a component boundary.
        assert_eq!(
            under_mount(m, "/sys/fs/cgroup/unifiedx"),
            "/sys/fs/cgroup/unifiedx"
        );
        assert_eq!(under_mount("/sys/fs/cgroup", "/sys/fs/cgroup/a"), "/a");
    }

    #[test]
    fn cgroup_ids_are_the_v2_directories_inodes() {
        use std::os::unix::fs::MetadataExt;
        let host = ProcFs;
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let mount = cgroup2_mount(&mountinfo).expect("this machine mounts cgroup v2");
        // The v2 root is the directory of the cgroup2 mount, not whatever
        // is at /sys/fs/cgroup (a tmpfs on a hybrid layout).
        let ino = std::fs::metadata(&mount).unwrap().ino();
        let root = Cgroup {
            path: "/".into(),
            id: ino,
        };
        assert_eq!(host.resolve_cgroup("/"), Ok(root.clone()));
        assert_eq!(host.resolve_cgroup(&mount), Ok(root));
        // This process's own cgroup, as /proc names it, resolves to itself.
        let mine = host.cgroup(std::process::id()).unwrap();
        let resolved = host.resolve_cgroup(&mine).unwrap();
        assert_eq!(resolved.path, mine);
        let err = host.resolve_cgroup("/no-such-cgroup-here").unwrap_err();
        assert!(
            err.contains(&format!("{mount}/no-such-cgroup-here")),
            "{err}"
        );
    }
}
