//! The API's Unix socket: bound with its documented mode and group, and
//! removed on the way out only if it is still the socket this daemon bound.
//!
//! Paths are names other processes can change: a second daemon started on
//! the same path must not take the first one's socket away when it gives
//! up, and `--socket FILE` must never delete what is not a socket. So the
//! daemon removes a path only when it is a socket: a stale one (nobody
//! listens) before binding, its own at exit (a socket with the device,
//! inode and change time it had once bound: inode numbers are reused).

use std::{
    io::ErrorKind,
    os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt},
    path::{Path, PathBuf},
};

use anyhow::{Context as _, Result, bail};

use crate::stdio::note;

/// The group given access to the socket when it exists (and no
/// `--socket-group` says otherwise).
const DEFAULT_GROUP: &str = "tracer";

/// A socket this daemon bound; removed when dropped, if the path still
/// names it.
#[derive(Debug)]
pub struct Bound {
    path: PathBuf,
    /// Device, inode and change time (s, ns) of the socket bound.
    id: (u64, u64, i64, i64),
}

fn identity(meta: &std::fs::Metadata) -> Option<(u64, u64, i64, i64)> {
    meta.file_type()
        .is_socket()
        .then(|| (meta.dev(), meta.ino(), meta.ctime(), meta.ctime_nsec()))
}

impl Drop for Bound {
    fn drop(&mut self) {
        match std::fs::symlink_metadata(&self.path) {
            Ok(meta) if identity(&meta) == Some(self.id) => {
                if let Err(e) = std::fs::remove_file(&self.path) {
                    note!("tracer-daemon: cannot remove {}: {e}", self.path.display());
                }
            }
            // Replaced (another daemon's now) or gone: not ours to remove.
            _ => {}
        }
    }
}

/// Binds `path` (mode 0600, or 0660 for `group`) as a listening socket.
/// Refuses a path that exists and is not a socket, or a socket someone
/// listens on; replaces a stale socket.
pub fn bind(path: &Path, group: Option<&str>) -> Result<(std::os::unix::net::UnixListener, Bound)> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            // A socket left by a daemon that died is replaced; a live one
            // is not.
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                bail!("another daemon is listening on {}", path.display());
            }
            std::fs::remove_file(path)
                .with_context(|| format!("cannot remove stale socket {}", path.display()))?;
        }
        Ok(_) => bail!(
            "{} exists and is not a socket: refusing to replace it (choose another --socket)",
            path.display()
        ),
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot stat {}", path.display())),
    }
    let gid = match group {
        Some(name) => Some(
            nix::unistd::Group::from_name(name)?
                .with_context(|| format!("no group {name:?}"))?
                .gid,
        ),
        None => nix::unistd::Group::from_name(DEFAULT_GROUP)
            .ok()
            .flatten()
            .map(|g| g.gid),
    };
    // Created 0600 (no window where others could connect), then opened to
    // the group.
    // SAFETY: umask only changes this process's file creation mask.
    let old = unsafe { libc::umask(0o177) };
    let listener = std::os::unix::net::UnixListener::bind(path);
    // SAFETY: as above, restoring it.
    unsafe { libc::umask(old) };
    let listener = listener.with_context(|| format!("cannot listen on {}", path.display()))?;
    if let Some(gid) = gid {
        nix::unistd::fchownat(
            nix::fcntl::AT_FDCWD,
            path,
            None,
            Some(gid),
            nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .with_context(|| format!("cannot chown {}", path.display()))?;
        open_to_group(path)?;
    }
    // Taken last: chown and chmod change the change time.
    let meta = std::fs::symlink_metadata(path)
        .with_context(|| format!("cannot stat {}", path.display()))?;
    let bound = Bound {
        path: path.to_owned(),
        id: identity(&meta).with_context(|| format!("{} is not a socket", path.display()))?,
    };
    listener
        .set_nonblocking(true)
        .context("cannot make the socket non-blocking")?;
    Ok((listener, bound))
}

/// Opens the socket at `path` to its group (mode 0660), without following
/// a symlink: had someone replaced the socket by a link between bind and
/// here, root would otherwise make the file it points to group-writable.
fn open_to_group(path: &Path) -> Result<()> {
    nix::sys::stat::fchmodat(
        nix::fcntl::AT_FDCWD,
        path,
        nix::sys::stat::Mode::from_bits_truncate(0o660),
        nix::sys::stat::FchmodatFlags::NoFollowSymlink,
    )
    .with_context(|| format!("cannot open {} to its group (mode 0660)", path.display()))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    /// The mode change is never made through a symlink (the socket
    /// swapped for one): refused, and the target keeps its mode.
    #[test]
    fn the_group_mode_is_never_set_through_a_symlink() {
        let dir = scratch("chmod");
        let victim = dir.join("victim");
        std::fs::write(&victim, b"root's").unwrap();
        std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.join("link");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        assert!(open_to_group(&link).is_err());
        let mode = std::fs::metadata(&victim).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // A socket of our own is opened to its group.
        let path = dir.join("s");
        let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        open_to_group(&path).unwrap();
        let mode = std::fs::symlink_metadata(&path)
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o660);
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn scratch(name: &str) -> PathBuf {
        crate::files::test_dir(&format!("tracer-sock-{name}-")).keep()
    }

    #[test]
    fn only_the_socket_bound_is_removed() {
        let dir = scratch("own");
        let path = dir.join("s");
        let (listener, bound) = bind(&path, None).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert!(mode == 0o600 || mode == 0o660, "{mode:o}");
        // A second bind on a live socket is refused and leaves it alone.
        let err = bind(&path, None).unwrap_err();
        assert!(format!("{err:#}").contains("another daemon"), "{err:#}");
        assert!(path.exists());
        // Replaced by someone else's file: not removed at exit.
        drop(listener);
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, b"theirs").unwrap();
        drop(bound);
        assert_eq!(std::fs::read(&path).unwrap(), b"theirs");
        std::fs::remove_file(&path).unwrap();
        // Still ours at exit: removed.
        let (listener, bound) = bind(&path, None).unwrap();
        drop((listener, bound));
        assert!(!path.exists());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_path_that_is_not_a_socket_is_refused_and_kept() {
        let dir = scratch("file");
        let path = dir.join("f");
        std::fs::write(&path, b"precious").unwrap();
        let err = bind(&path, None).unwrap_err();
        assert!(format!("{err:#}").contains("is not a socket"), "{err:#}");
        assert_eq!(std::fs::read(&path).unwrap(), b"precious");
        // A symlink to a socket is not a socket either.
        let real = dir.join("real");
        let (_listener, _bound) = bind(&real, None).unwrap();
        let link = dir.join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(bind(&link, None).is_err());
        assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    }

    #[test]
    fn a_stale_socket_is_replaced() {
        let dir = scratch("stale");
        let path = dir.join("s");
        // Bound, then its listener closed without removing the path, as
        // when a daemon is killed.
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        drop(listener);
        let (_listener, _bound) = bind(&path, None).unwrap();
        assert!(std::os::unix::net::UnixStream::connect(&path).is_ok());
    }
}
