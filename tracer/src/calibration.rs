//! The slow-path share of the observer cost, calibrated on this machine.
//!
//! While any program is attached to the `raw_syscalls` tracepoints, every
//! syscall of every task takes the kernel's slow syscall path, which the
//! programs' own run time (`run_time_ns`) does not include. `tracer
//! overhead` measures it as the floor (programs that only check the tgid)
//! over untraced, per syscall, and keeps the number here; `record`'s
//! observer cost adds it, saying which part is which.
//!
//! The file is root's (tracer runs as root): its directory is made 0700
//! and checked to be a root-owned directory, not a symlink; the file is
//! written to a fresh name with O_EXCL|O_NOFOLLOW, then renamed into place.

use std::{
    fs::{self, OpenOptions},
    io::Write as _,
    os::unix::fs::{DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _},
    path::{Path, PathBuf},
};

use anyhow::{Context as _, Result, bail};

/// Where the calibration lives.
const DIR: &str = "/var/lib/tracer";
const FILE: &str = "slow-path-ns";

fn dir() -> PathBuf {
    PathBuf::from(DIR)
}

/// Checks that `dir` is a directory owned by us, not a symlink, and not
/// writable by others.
fn check_dir(dir: &Path) -> Result<()> {
    let meta =
        fs::symlink_metadata(dir).with_context(|| format!("cannot stat {}", dir.display()))?;
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if !meta.is_dir() || meta.uid() != me || meta.mode() & 0o022 != 0 {
        bail!(
            "{} is not a directory of uid {me} that only it can write",
            dir.display()
        );
    }
    Ok(())
}

/// Saves the slow path's cost per syscall.
pub fn save(ns_per_syscall: u64) -> Result<PathBuf> {
    let dir = dir();
    match fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e).with_context(|| format!("cannot create {}", dir.display())),
    }
    check_dir(&dir)?;
    let target = dir.join(FILE);
    let fresh = dir.join(format!(".{FILE}.{}", std::process::id()));
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&fresh)
        .with_context(|| format!("cannot create {}", fresh.display()))?;
    let written = writeln!(file, "{ns_per_syscall}").and_then(|()| file.sync_all());
    if let Err(e) = written.and_then(|()| fs::rename(&fresh, &target)) {
        let _ = fs::remove_file(&fresh);
        return Err(e).with_context(|| format!("cannot write {}", target.display()));
    }
    Ok(target)
}

/// The saved slow-path cost per syscall, if `tracer overhead` has run here
/// (and the file is sound).
pub fn load() -> Option<u64> {
    let dir = dir();
    check_dir(&dir).ok()?;
    let text = {
        use std::io::Read as _;
        let mut file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(dir.join(FILE))
            .ok()?;
        let mut text = String::new();
        file.read_to_string(&mut text).ok()?;
        text
    };
    text.trim().parse().ok()
}
