//! How tracer creates files and directories.
//!
//! tracer runs as root and is pointed at shared places like `/tmp`, so a
//! file it makes must never be one somebody else prepared: a symlink
//! planted at the name would redirect root's write to any file on the
//! machine, and a file another user created (and holds open) would hand
//! them what tracer writes. Two kinds of path, two rules:
//!
//! - names tracer makes up itself (compare's kept outputs and per-run
//!   summaries) live in a directory made with `mkdtemp(3)` (random name,
//!   mode 0700, created exclusively) and every file in it is created with
//!   `O_CREAT|O_EXCL|O_NOFOLLOW`: [`private_dir`], [`create_new`];
//! - a path the user chose (`-o`, `-w`, `--export`, `ctl dump -w`) may name
//!   an existing file, as strace's `-o` does, so it is opened without
//!   following a symlink and reused only when it is already ours:
//!   [`create_private`].
//!
//! Both create files mode 0600; a reused file only ever loses
//! permissions (the group's and others').

use std::{
    fs::{File, OpenOptions, Permissions},
    io,
    os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum FileError {
    #[error("{0} is a symbolic link: tracer never writes through one (give the path it points to)")]
    Symlink(PathBuf),
    #[error(
        "{path} belongs to uid {owner}, not to us (uid {us}): it is not reused, as its owner may be reading it; remove it or choose another path"
    )]
    NotOurs { path: PathBuf, owner: u32, us: u32 },
    #[error(
        "{path} has {links} hard links: writing it would change another name's file too; remove it or choose another path"
    )]
    HardLinked { path: PathBuf, links: u64 },
    #[error("cannot create {0}: {1}")]
    Create(PathBuf, io::Error),
    #[error("cannot make {0} private (mode 0600): {1}")]
    Narrow(PathBuf, io::Error),
}

/// Creates a fresh private directory `$TMPDIR/PREFIXXXXXXX` (mode 0700, a
/// random name, created exclusively, as `mkdtemp(3)` does).
pub fn private_dir(prefix: &str) -> Result<PathBuf, FileError> {
    let template = std::env::temp_dir().join(format!("{prefix}XXXXXX"));
    nix::unistd::mkdtemp(&template)
        .map_err(|errno| FileError::Create(template, io::Error::from(errno)))
}

/// A private directory for a unit test: a random name, created
/// exclusively, mode 0700 (tempfile's default would be 0777 less the
/// umask); removed when dropped.
#[cfg(test)]
pub fn test_dir(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(prefix)
        .permissions(Permissions::from_mode(0o700))
        .tempdir()
        .unwrap()
}

/// Creates `path`, which must not exist yet (not even as a dangling
/// symlink): `O_CREAT|O_EXCL|O_NOFOLLOW`, mode 0600.
pub fn create_new(path: &Path) -> Result<File, FileError> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| FileError::Create(path.to_owned(), e))
}

/// Opens a path the user named for writing, creating it mode 0600.
///
/// An existing file is truncated and reused, as strace's `-o` does, only
/// when that is safe: never through a symlink (refused); a regular file
/// or FIFO only when it belongs to our effective uid (another user's file
/// may be held open by them) and, for a regular file, has no other hard
/// link (which could be a file elsewhere); a regular file then loses any
/// permission for group and others (0644 becomes 0600). A character device (`/dev/null`, a terminal) is
/// written as it is: nobody can plant one without privilege.
pub fn create_private(path: &Path) -> Result<File, FileError> {
    let opened = OpenOptions::new()
        .write(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path);
    let file = match opened {
        Ok(file) => file,
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) && placed_by_root(path) => {
            // `/dev/stdout`, `/dev/stderr`: a link only root could have
            // made (the kernel's protected_symlinks rule) is followed when
            // it leads to a terminal, a pipe or a socket; never to a plain
            // file, whose reuse has the rules below. Opening without
            // `O_CREAT` or `O_TRUNC` changes nothing before that check.
            let file = OpenOptions::new()
                .append(true)
                .custom_flags(libc::O_CLOEXEC)
                .open(path)
                .map_err(|e| FileError::Create(path.to_owned(), e))?;
            let kind = file
                .metadata()
                .map_err(|e| FileError::Create(path.to_owned(), e))?
                .file_type();
            if kind.is_file() || kind.is_dir() {
                return Err(FileError::Symlink(path.to_owned()));
            }
            return Ok(file);
        }
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(FileError::Symlink(path.to_owned()));
        }
        Err(e) => return Err(FileError::Create(path.to_owned(), e)),
    };
    // Every check is on the open file, so nothing can be swapped in
    // between the check and the write.
    let meta = file
        .metadata()
        .map_err(|e| FileError::Create(path.to_owned(), e))?;
    let kind = meta.file_type();
    if std::os::unix::fs::FileTypeExt::is_char_device(&kind) {
        return Ok(file);
    }
    let us = nix::unistd::geteuid().as_raw();
    if meta.uid() != us {
        return Err(FileError::NotOurs {
            path: path.to_owned(),
            owner: meta.uid(),
            us,
        });
    }
    if kind.is_file() {
        if meta.nlink() > 1 {
            return Err(FileError::HardLinked {
                path: path.to_owned(),
                links: meta.nlink(),
            });
        }
        file.set_len(0)
            .map_err(|e| FileError::Create(path.to_owned(), e))?;
        if meta.mode() & 0o077 != 0 {
            // Only ever narrower: the group's and others' bits go, the
            // owner's stay as they were.
            file.set_permissions(Permissions::from_mode(meta.mode() & 0o700))
                .map_err(|e| FileError::Narrow(path.to_owned(), e))?;
        }
    }
    Ok(file)
}

/// Whether the symlink at `path` is root's, in a directory only root can
/// change: nobody else can have planted it or can swap it.
fn placed_by_root(path: &Path) -> bool {
    let root_only = |meta: std::fs::Metadata| meta.uid() == 0 && meta.mode() & 0o022 == 0;
    let link_is_roots = std::fs::symlink_metadata(path).is_ok_and(|m| m.uid() == 0);
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    link_is_roots && std::fs::metadata(parent).is_ok_and(root_only)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::{io::Write, os::unix::fs::symlink};

    fn scratch() -> PathBuf {
        private_dir("tracer-files-test-").unwrap()
    }

    #[test]
    fn private_dir_is_fresh_and_0700() {
        let a = scratch();
        let b = scratch();
        assert_ne!(a, b);
        for dir in [&a, &b] {
            let meta = std::fs::symlink_metadata(dir).unwrap();
            assert!(meta.is_dir());
            assert_eq!(meta.mode() & 0o777, 0o700);
            assert_eq!(meta.uid(), nix::unistd::geteuid().as_raw());
            let name = dir.file_name().unwrap().to_str().unwrap();
            assert!(name.starts_with("tracer-files-test-"), "{name}");
            std::fs::remove_dir(dir).unwrap();
        }
    }

    #[test]
    fn create_new_refuses_anything_already_there() {
        let dir = scratch();
        let victim = dir.join("victim");
        std::fs::write(&victim, "keep").unwrap();
        let link = dir.join("link");
        symlink(&victim, &link).unwrap();
        assert!(create_new(&link).is_err());
        let dangling = dir.join("dangling");
        symlink(dir.join("nowhere"), &dangling).unwrap();
        assert!(create_new(&dangling).is_err());
        assert!(!dir.join("nowhere").exists(), "followed a dangling link");
        assert!(create_new(&victim).is_err());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        let fresh = dir.join("fresh");
        create_new(&fresh).unwrap().write_all(b"x").unwrap();
        assert_eq!(std::fs::metadata(&fresh).unwrap().mode() & 0o777, 0o600);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn create_private_reuses_only_our_own_plain_file() {
        let dir = scratch();
        let victim = dir.join("victim");
        std::fs::write(&victim, "keep").unwrap();

        // A link in a directory where anybody may plant one (as /tmp).
        let open_dir = dir.join("open");
        std::fs::create_dir(&open_dir).unwrap();
        std::fs::set_permissions(&open_dir, Permissions::from_mode(0o1777)).unwrap();
        let link = open_dir.join("link");
        symlink(&victim, &link).unwrap();
        let err = create_private(&link).unwrap_err();
        assert!(matches!(err, FileError::Symlink(_)), "{err}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");

        let hard = dir.join("hard");
        std::fs::hard_link(&victim, &hard).unwrap();
        let err = create_private(&hard).unwrap_err();
        assert!(
            matches!(err, FileError::HardLinked { links: 2, .. }),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");

        let theirs = dir.join("theirs");
        std::fs::write(&theirs, "planted").unwrap();
        std::fs::set_permissions(&theirs, Permissions::from_mode(0o666)).unwrap();
        nix::unistd::chown(&theirs, Some(65534.into()), None).unwrap();
        let err = create_private(&theirs).unwrap_err();
        assert!(
            matches!(err, FileError::NotOurs { owner: 65534, .. }),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&theirs).unwrap(), "planted");

        // Our own earlier trace, made world-readable: truncated, narrowed.
        let ours = dir.join("ours");
        std::fs::write(&ours, "old trace").unwrap();
        std::fs::set_permissions(&ours, Permissions::from_mode(0o644)).unwrap();
        create_private(&ours).unwrap().write_all(b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&ours).unwrap(), "new");
        assert_eq!(std::fs::metadata(&ours).unwrap().mode() & 0o777, 0o600);
        // A narrower mode stays as it is.
        std::fs::set_permissions(&ours, Permissions::from_mode(0o400)).unwrap();
        drop(create_private(&ours));
        assert_eq!(std::fs::metadata(&ours).unwrap().mode() & 0o777, 0o400);

        // A root-owned link in a directory only root can change is
        // followed to a device or pipe (`/dev/stdout`), never to a plain
        // file; the same link in a directory others may write is not.
        let roots = dir.join("roots-link");
        symlink("/dev/null", &roots).unwrap();
        create_private(&roots).unwrap().write_all(b"x").unwrap();
        let roots_file = dir.join("roots-file-link");
        symlink(&ours, &roots_file).unwrap();
        let err = create_private(&roots_file).unwrap_err();
        assert!(matches!(err, FileError::Symlink(_)), "{err}");
        let planted = open_dir.join("null-link");
        symlink("/dev/null", &planted).unwrap();
        let err = create_private(&planted).unwrap_err();
        assert!(matches!(err, FileError::Symlink(_)), "{err}");

        // A device is written as it is.
        create_private(Path::new("/dev/null"))
            .unwrap()
            .write_all(b"x")
            .unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
