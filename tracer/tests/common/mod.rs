//! Helpers the integration tests share: where the binaries under test
//! are, a private scratch directory, running tracer.
// Each test crate uses a different subset.
#![allow(dead_code)]

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
    str::FromStr,
    sync::{
        OnceLock,
        atomic::{AtomicU32, Ordering},
    },
};

/// The `tracer` binary cargo built for these tests.
pub fn tracer() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tracer"))
}

/// A binary built next to `tracer`: the lab's programs, or
/// `examples/NAME` (cargo builds both for `cargo test` of the workspace).
pub fn sibling(name: &str) -> PathBuf {
    let path = tracer().parent().unwrap().join(name);
    assert!(
        path.exists(),
        "{} missing: build with `cargo test --release` at the workspace root \
         (it builds the examples and the lab)",
        path.display()
    );
    path
}

/// The deterministic target of most tests (`examples/syscall_workload.rs`).
pub fn workload() -> PathBuf {
    sibling("examples/syscall_workload")
}

/// `name` in this test process's private scratch directory.
pub fn scratch(name: &str) -> PathBuf {
    scratch_dir().join(name)
}

static SCRATCH: OnceLock<PathBuf> = OnceLock::new();
/// The process that made [`SCRATCH`]: only it removes it (a forked child
/// that exits runs the same exit handlers).
static SCRATCH_OWNER: AtomicU32 = AtomicU32::new(0);

/// This test process's scratch directory, made on first use with mkdtemp
/// semantics (a random name, created exclusively, mode 0700): the tests
/// run as root, and at a name known in advance (`/tmp/tracer-test-PID`)
/// another local user could have planted symlinks for root to write
/// through. Removed when the process exits, unless `TRACER_KEEP_SCRATCH`
/// is set (to look at what a failing test left).
pub fn scratch_dir() -> &'static Path {
    SCRATCH.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("tracer-test-")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .tempdir()
            .unwrap()
            .keep();
        SCRATCH_OWNER.store(std::process::id(), Ordering::SeqCst);
        // SAFETY: registers a function without arguments, run by exit(3).
        unsafe { libc::atexit(remove_scratch) };
        dir
    })
}

extern "C" fn remove_scratch() {
    if std::process::id() != SCRATCH_OWNER.load(Ordering::SeqCst)
        || std::env::var_os("TRACER_KEEP_SCRATCH").is_some()
    {
        return;
    }
    if let Some(dir) = SCRATCH.get() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Runs tracer with `args`; its stderr goes to the test's output.
pub fn run(args: &[&str]) -> Output {
    let out = Command::new(tracer()).args(args).output().unwrap();
    eprintln!(
        "stderr of tracer {args:?}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The value of a `key=value` line the workload printed.
pub fn printed<T: FromStr>(stdout: &[u8], key: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    String::from_utf8_lossy(stdout)
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("workload did not print {key}"))
        .parse()
        .unwrap()
}

/// Whether a line of tracer's text output is a syscall's: not one of
/// tracer's own messages (`tracer: ...`), a stack frame (` > ...`), or a
/// line about a task (strace's `--- SIGCHLD {...} ---` and `+++ exited
/// with 0 +++`), after the `[pid N] ` prefix and a `-t` time, if any.
pub fn is_syscall_line(line: &str) -> bool {
    if line.starts_with("tracer:") || line.starts_with(" > ") {
        return false;
    }
    let rest = match line.strip_prefix("[pid ") {
        Some(rest) => rest.split_once("] ").map_or(rest, |(_, r)| r),
        None => line,
    };
    let rest = match rest.split_once(' ') {
        Some((time, r)) if time.starts_with(|c: char| c.is_ascii_digit()) => r,
        _ => rest,
    };
    !rest.starts_with("+++ ") && !rest.starts_with("--- ")
}

/// Where cgroup v2 is mounted here (`/sys/fs/cgroup/unified` on this
/// machine's hybrid layout), read as the daemon does not: by hand.
pub fn cgroup2_mount() -> PathBuf {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    mountinfo
        .lines()
        .find_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            right
                .starts_with("cgroup2 ")
                .then(|| PathBuf::from(left.split(' ').nth(4).unwrap()))
        })
        .expect("cgroup v2 is mounted")
}

/// A cgroup v2 child group of the root, removed on drop.
pub struct ChildCgroup(pub PathBuf);

impl Drop for ChildCgroup {
    fn drop(&mut self) {
        // Its processes have been waited for; rmdir may still see one
        // being torn down for a moment.
        for _ in 0..50 {
            if std::fs::remove_dir(&self.0).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        eprintln!("could not remove {}", self.0.display());
    }
}
