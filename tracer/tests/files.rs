//! tracer runs as root: no file it writes may be one somebody else
//! prepared. Each test plants what an attacker would (a symlink to a file
//! they want overwritten, a file of their own they hold open, a hard
//! link) and checks that tracer neither follows nor reuses it.

mod common;

use common::*;

use std::{
    fs,
    os::unix::fs::{MetadataExt, PermissionsExt, symlink},
    path::{Path, PathBuf},
    process::Command,
};

use serde_json::Value;

/// A file the attacker wants overwritten, and its content.
fn victim(name: &str) -> PathBuf {
    let path = scratch(name);
    fs::write(&path, "precious").unwrap();
    path
}

fn intact(victim: &Path) {
    assert_eq!(fs::read_to_string(victim).unwrap(), "precious");
}

/// `-o`, `-w` and `--export` name a path the user chose: a symlink there
/// is refused (never followed), another user's file is not reused, a hard
/// link is not written through; our own earlier file is reused, 0600.
#[test]
fn user_chosen_outputs_are_never_written_through_a_plant() {
    let target = victim("output-victim");
    for (i, option) in ["-o", "-w", "--export"].iter().enumerate() {
        let link = scratch(&format!("output-link-{i}"));
        let _ = fs::remove_file(&link);
        symlink(&target, &link).unwrap();
        let value = match *option {
            "--export" => format!("csv:{}", link.display()),
            _ => link.display().to_string(),
        };
        let out = run(&["record", option, &value, "--", "true"]);
        assert_eq!(out.status.code(), Some(1), "{option}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("is a symbolic link"), "{option}: {err}");
        intact(&target);
    }

    let theirs = scratch("output-theirs");
    fs::write(&theirs, "").unwrap();
    fs::set_permissions(&theirs, fs::Permissions::from_mode(0o666)).unwrap();
    nix::unistd::chown(&theirs, Some(65534.into()), None).unwrap();
    let out = run(&["record", "-o", theirs.to_str().unwrap(), "--", "true"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("belongs to uid 65534"));
    assert_eq!(fs::metadata(&theirs).unwrap().len(), 0, "nothing leaked");

    let hard = scratch("output-hard");
    let _ = fs::remove_file(&hard);
    fs::hard_link(&target, &hard).unwrap();
    let out = run(&["record", "-o", hard.to_str().unwrap(), "--", "true"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("hard links"));
    intact(&target);

    let ours = scratch("output-ours");
    fs::write(&ours, "an older, longer trace").unwrap();
    fs::set_permissions(&ours, fs::Permissions::from_mode(0o644)).unwrap();
    let out = run(&["record", "-o", ours.to_str().unwrap(), "--", "true"]);
    assert!(out.status.success());
    let text = fs::read_to_string(&ours).unwrap();
    assert!(text.contains("execve("), "{text}");
    assert!(!text.contains("older"), "{text}");
    assert_eq!(fs::metadata(&ours).unwrap().mode() & 0o777, 0o600);
}

/// Planted for the PIDs a compare is about to get, as the attack on the
/// old predictable names did: `/tmp/tracer-compare-PID/` with symlinks
/// named like kept outputs, and `/tmp/tracer-compare-PID-MODE-N.json`
/// symlinks named like the recorders' summaries.
struct Planted(Vec<PathBuf>);

impl Planted {
    fn for_next_pids(target: &Path, count: u32) -> Self {
        let last: u32 = fs::read_to_string("/proc/sys/kernel/ns_last_pid")
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let mut planted = Vec::new();
        for pid in last + 1..last + 1 + count {
            let dir = PathBuf::from(format!("/tmp/tracer-compare-{pid}"));
            if fs::create_dir(&dir).is_ok() {
                for name in ["none-failure-0", "ebpf-failure-0"] {
                    for ext in ["stdout", "stderr"] {
                        symlink(target, dir.join(format!("{name}.{ext}"))).unwrap();
                    }
                }
                planted.push(dir);
            }
            let json = PathBuf::from(format!("/tmp/tracer-compare-{pid}-ebpf-0.json"));
            if symlink(target, &json).is_ok() {
                planted.push(json);
            }
        }
        Self(planted)
    }
}

impl Drop for Planted {
    fn drop(&mut self) {
        for path in &self.0 {
            let _ = fs::remove_dir_all(path).or_else(|_| fs::remove_file(path));
        }
    }
}

/// compare keeps failing runs' output, and has its recorders write their
/// summaries, in a fresh 0700 directory of its own: nothing planted at
/// the old predictable names is followed or reused.
#[test]
fn compare_writes_only_into_its_private_directory() {
    let target = victim("compare-victim");
    let planted = Planted::for_next_pids(&target, 300);
    let child = Command::new(tracer())
        .args([
            "compare",
            "--runs",
            "2",
            "--modes",
            "none,ebpf",
            "--json",
            "--",
        ])
        .args(["sh", "-c", "echo secret-output; exit 3"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    drop(planted);
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{:?}", out.status);
    intact(&target);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut dirs = Vec::new();
    for mode in json["modes"].as_array().unwrap() {
        assert_eq!(mode["failures"], 2, "{mode}");
        let kept = mode["kept_outputs"].as_array().unwrap();
        assert_eq!(kept.len(), 2, "{mode}");
        for base in kept {
            let base = PathBuf::from(base.as_str().unwrap());
            let stdout = base.with_extension("stdout");
            assert_eq!(fs::read_to_string(&stdout).unwrap(), "secret-output\n");
            let meta = fs::symlink_metadata(&stdout).unwrap();
            assert!(meta.is_file());
            assert_eq!(meta.mode() & 0o777, 0o600);
            dirs.push(base.parent().unwrap().to_owned());
        }
    }
    dirs.dedup();
    assert_eq!(dirs.len(), 1, "one directory per compare: {dirs:?}");
    let dir = &dirs[0];
    assert_ne!(dir, &PathBuf::from(format!("/tmp/tracer-compare-{pid}")));
    let meta = fs::symlink_metadata(dir).unwrap();
    assert!(meta.is_dir());
    assert_eq!(meta.mode() & 0o777, 0o700);
    assert_eq!(meta.uid(), nix::unistd::geteuid().as_raw());
    // Only the kept outputs: the summaries were removed once read.
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "ebpf-failure-0.stderr",
            "ebpf-failure-0.stdout",
            "ebpf-failure-1.stderr",
            "ebpf-failure-1.stdout",
            "none-failure-0.stderr",
            "none-failure-0.stdout",
            "none-failure-1.stderr",
            "none-failure-1.stdout"
        ]
    );
    fs::remove_dir_all(dir).unwrap();
}

/// A passing compare leaves nothing behind in the temporary directory.
#[test]
fn compare_without_failures_leaves_nothing() {
    let tmp = scratch("tmpdir-of-a-passing-compare");
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir(&tmp).unwrap();
    let out = Command::new(tracer())
        .env("TMPDIR", &tmp)
        .args([
            "compare",
            "--runs",
            "2",
            "--modes",
            "none,ebpf",
            "--",
            "true",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let left: Vec<_> = fs::read_dir(&tmp).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

/// `--trace-failures DIR`: the recorders create their recordings there
/// without following a planted symlink, and a directory others may write
/// to, or that another user owns, is refused.
#[test]
fn trace_failures_dir_is_ours_and_never_written_through_a_plant() {
    let target = victim("recording-victim");
    let dir = scratch("planted-recordings");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
    symlink(&target, dir.join("ebpf-run-0.rec")).unwrap();
    let out = Command::new(tracer())
        .args([
            "compare",
            "--runs",
            "1",
            "--modes",
            "ebpf",
            "--trace-failures",
        ])
        .arg(&dir)
        .args(["--", "true"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("is a symbolic link"), "{err}");
    intact(&target);

    let open = scratch("open-recordings");
    let _ = fs::create_dir(&open);
    fs::set_permissions(&open, fs::Permissions::from_mode(0o777)).unwrap();
    let out = Command::new(tracer())
        .args([
            "compare",
            "--runs",
            "1",
            "--modes",
            "ebpf",
            "--trace-failures",
        ])
        .arg(&open)
        .args(["--", "true"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("other users may write to it"), "{err}");

    let theirs = scratch("their-recordings");
    let _ = fs::create_dir(&theirs);
    fs::set_permissions(&theirs, fs::Permissions::from_mode(0o700)).unwrap();
    nix::unistd::chown(&theirs, Some(65534.into()), None).unwrap();
    let out = Command::new(tracer())
        .args([
            "compare",
            "--runs",
            "1",
            "--modes",
            "ebpf",
            "--trace-failures",
        ])
        .arg(&theirs)
        .args(["--", "true"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("belongs to uid 65534"), "{err}");
}

/// The tests' own scratch space (`common::scratch`) is private as well:
/// at a name known in advance (`/tmp/tracer-test-PID`) another user could
/// plant symlinks for the root-run tests to write through. It is a fresh
/// directory with a random name, mode 0700, ours; and it is gone once the
/// test process has exited.
#[test]
fn test_scratch_is_a_private_directory_removed_at_exit() {
    let dir = scratch_dir();
    let meta = fs::symlink_metadata(dir).unwrap();
    assert!(meta.is_dir());
    assert_eq!(meta.mode() & 0o777, 0o700);
    assert_eq!(meta.uid(), nix::unistd::geteuid().as_raw());
    let predictable = std::env::temp_dir().join(format!("tracer-test-{}", std::process::id()));
    assert_ne!(dir, predictable);
    assert_eq!(scratch("a").parent(), Some(dir));

    // This test binary again, running only the probe below: it makes its
    // scratch directory, says where, and exits.
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "scratch_probe", "--nocapture"])
        .env("TRACER_SCRATCH_PROBE", "1")
        .env_remove("TRACER_KEEP_SCRATCH")
        .output()
        .unwrap();
    assert!(out.status.success());
    let said = String::from_utf8_lossy(&out.stdout);
    let theirs = said
        .lines()
        .find_map(|l| l.strip_prefix("scratch="))
        .unwrap_or_else(|| panic!("the probe did not say: {said}"));
    assert_ne!(Path::new(theirs), dir);
    assert!(
        !Path::new(theirs).exists(),
        "{theirs} left behind by the probe"
    );
}

/// Run by the test above only: makes a scratch file, prints its directory.
#[test]
fn scratch_probe() {
    if std::env::var_os("TRACER_SCRATCH_PROBE").is_none() {
        return;
    }
    fs::write(scratch("probe"), "x").unwrap();
    println!("scratch={}", scratch_dir().display());
}
