//! `tracer daemon` and `tracer ctl` end to end: a real daemon with the real
//! eBPF programs, real lab processes, real clients (one of them running as
//! `nobody`). Needs root, like the other end-to-end tests; never skips.

mod common;

use common::*;

use std::{
    io::{BufRead, BufReader, Read, Write},
    os::unix::{fs::MetadataExt, net::UnixStream, process::CommandExt},
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    thread,
    time::{Duration, Instant},
};

use serde_json::Value;

const NOBODY: u32 = 65534;

/// A directory of this test's own, in the test process's private scratch
/// directory, which `nobody` may pass through (mode 0711, as this one):
/// the tests run `ctl` and programs as `nobody`, who must reach the
/// socket and the programs here, but can neither list nor add anything.
fn scratch(name: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = common::scratch(&format!("daemon-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    for path in [common::scratch_dir(), &dir] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o711)).unwrap();
    }
    dir
}

/// A daemon on its own socket and dump directory; SIGTERM'd on drop.
struct Daemon {
    child: Child,
    dir: PathBuf,
    socket: PathBuf,
    dumps: PathBuf,
}

impl Daemon {
    fn start(name: &str, extra: &[&str]) -> Daemon {
        let dir = scratch(name);
        let socket = dir.join("daemon.sock");
        let dumps = dir.join("dumps");
        let log = std::fs::File::create(dir.join("daemon.log")).unwrap();
        let child = Command::new(tracer())
            .arg("daemon")
            .arg("--socket")
            .arg(&socket)
            .arg("--dump-dir")
            .arg(&dumps)
            .args(extra)
            .stderr(log)
            .spawn()
            .unwrap();
        let mut daemon = Daemon {
            child,
            dir,
            socket,
            dumps,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while UnixStream::connect(&daemon.socket).is_err() {
            if let Ok(Some(status)) = daemon.child.try_wait() {
                panic!("daemon exited with {status}:\n{}", daemon.log());
            }
            assert!(Instant::now() < deadline, "daemon did not listen in time");
            thread::sleep(Duration::from_millis(50));
        }
        daemon
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("daemon.log")).unwrap_or_default()
    }

    /// `tracer ctl ARGS` as root.
    fn ctl(&self, args: &[&str]) -> Output {
        self.ctl_as(None, args)
    }

    /// `tracer ctl ARGS`, as `uid` (with that uid as its only group) when
    /// given.
    fn ctl_as(&self, uid: Option<u32>, args: &[&str]) -> Output {
        let mut cmd = Command::new(tracer());
        cmd.arg("ctl").arg("--socket").arg(&self.socket).args(args);
        if let Some(uid) = uid {
            as_user(&mut cmd, uid);
        }
        cmd.output().unwrap()
    }

    /// `ctl --json ARGS`, which must succeed.
    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.ctl(&all);
        assert!(
            out.status.success(),
            "ctl {args:?}: {}\ndaemon log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn dumps(&self) -> Vec<Value> {
        self.json(&["list"])["dumps"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM; the exit status.
    fn stop(&mut self) -> std::process::ExitStatus {
        signal(self.child.id(), libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "daemon ignored SIGTERM");
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.alive() {
            self.stop();
        }
    }
}

/// A child killed when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn signal(pid: u32, sig: i32) {
    // SAFETY: kill(2) on a child of ours.
    unsafe { libc::kill(pid as i32, sig) };
}

/// Runs the command as `uid`, group `uid`, no supplementary groups.
fn as_user(cmd: &mut Command, uid: u32) {
    // SAFETY: between fork and exec only async-signal-safe calls are made
    // (setgroups, setgid, setuid), and their errors are returned as is.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setgroups(0, std::ptr::null()) != 0
                || libc::setgid(uid) != 0
                || libc::setuid(uid) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Waits until `check` holds, up to `secs`.
fn eventually(secs: u64, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        thread::sleep(Duration::from_millis(100));
    }
    check()
}

/// The proof of issue #7: a comm watch picks up each run of a racy lab
/// program as it starts; the run that fails leaves a dump holding its last
/// syscalls (the write of its FAIL line among them); the runs that passed
/// leave none.
#[test]
fn failing_run_is_dumped_passing_runs_are_not() {
    let daemon = Daemon::start("fail", &["--after", "100ms"]);
    let out = daemon.ctl(&["watch", "--comm", "collector_race"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let watch = String::from_utf8_lossy(&out.stdout).trim().to_string();

    let program = sibling("collector_race");
    let mut passed = Vec::new();
    let mut failed = None;
    for _ in 0..400 {
        let child = Command::new(&program)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let child_pid = child.id();
        let out = child.wait_with_output().unwrap();
        match out.status.code() {
            Some(0) => passed.push(child_pid),
            Some(1) => {
                assert!(stderr(&out).starts_with("FAIL:"), "{}", stderr(&out));
                failed = Some((child_pid, stderr(&out)));
                break;
            }
            other => panic!("collector_race could not run ({other:?}): {}", stderr(&out)),
        }
    }
    let (failed_pid, message) = failed.expect("collector_race never failed in 400 runs");

    assert!(
        eventually(15, || !daemon.dumps().is_empty()),
        "no dump appeared; daemon log:\n{}",
        daemon.log()
    );
    // Give stragglers a chance to show up: there must be none.
    thread::sleep(Duration::from_millis(500));
    let dumps = daemon.dumps();
    assert_eq!(dumps.len(), 1, "{dumps:#?}\n{}", daemon.log());
    let dump = &dumps[0];
    assert_eq!(dump["reason"], "exit-1");
    assert_eq!(dump["watch"].to_string(), watch);
    let name = dump["name"].as_str().unwrap();
    assert!(
        name.contains("-collector_race-") && name.ends_with("-exit-1.trec"),
        "{name}"
    );
    let path = daemon.dumps.join(name);
    assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
    assert_eq!(
        std::fs::metadata(&daemon.dumps).unwrap().mode() & 0o777,
        0o700
    );

    // The dump is a recording `report` reads: the failing process's last
    // syscalls, the write of its error message and its exit among them.
    let report = Command::new(tracer())
        .arg("report")
        .arg(&path)
        .output()
        .unwrap();
    assert!(report.status.success(), "{}", stderr(&report));
    let text = String::from_utf8_lossy(&report.stdout);
    let pid = dump["pid"].as_u64().unwrap() as u32;
    assert_eq!(pid, failed_pid);
    assert!(name.contains(&format!("-{failed_pid}-")), "{name}");
    let tail: Vec<&str> = text.lines().rev().take(40).collect();
    let fail_word = message.split(' ').next().unwrap(); // "FAIL:"
    assert!(
        tail.iter()
            .any(|l| l.contains("write(2, ") && l.contains(fail_word)),
        "no write of the FAIL line near the end of the dump:\n{}",
        tail.join("\n")
    );
    assert!(
        tail.iter().any(|l| l.contains("exit_group(1)")),
        "no exit_group(1) near the end:\n{}",
        tail.join("\n")
    );
    for other in &passed {
        assert!(
            !dumps.iter().any(|d| d["pid"] == *other),
            "passing run {other} was dumped"
        );
    }

    // ctl dump NAME -w FILE fetches the same bytes.
    let copy = daemon.dir.join("copy.trec");
    let out = daemon.ctl(&["dump", name, "-w", copy.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read(&copy).unwrap(), std::fs::read(&path).unwrap());
}

/// A non-root client may watch its own processes only: not root's, not
/// someone else's watch, not dumps of root's processes. The uid comes from
/// SO_PEERCRED, so nothing in the request can claim otherwise.
#[test]
fn non_root_clients_are_confined_to_their_processes() {
    let daemon = Daemon::start("perm", &["--socket-group", "nogroup"]);
    let meta = std::fs::metadata(&daemon.socket).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o660);
    assert_eq!(meta.gid(), NOBODY);

    let roots = Killed(Command::new("sleep").arg("60").spawn().unwrap());
    let nobodys = {
        let mut cmd = Command::new("sleep");
        cmd.arg("60");
        as_user(&mut cmd, NOBODY);
        Killed(cmd.spawn().unwrap())
    };
    let root_pid = roots.0.id().to_string();
    let nobody_pid = nobodys.0.id().to_string();

    // Refused: root's process.
    let out = daemon.ctl_as(Some(NOBODY), &["watch", &root_pid]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("permission denied"),
        "{}",
        stderr(&out)
    );
    assert!(
        daemon.json(&["list"])["watches"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Allowed: its own (the check is not refusing everything).
    let out = daemon.ctl_as(Some(NOBODY), &["watch", &nobody_pid]);
    assert!(out.status.success(), "{}", stderr(&out));
    let own: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();

    // Root watches its process; nobody can neither see nor remove that.
    let root_watch = daemon.json(&["watch", &root_pid])["watch"]
        .as_u64()
        .unwrap();
    let out = daemon.ctl_as(Some(NOBODY), &["--json", "list"]);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let seen: Vec<u64> = list["watches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_u64().unwrap())
        .collect();
    assert_eq!(seen, [own]);
    let out = daemon.ctl_as(Some(NOBODY), &["unwatch", &root_watch.to_string()]);
    assert!(!out.status.success());
    let out = daemon.ctl_as(Some(NOBODY), &["stream", &root_watch.to_string()]);
    assert!(!out.status.success());

    // A dump of root's process is root's: nobody cannot fetch it.
    let file = daemon.dir.join("root.trec");
    let out = daemon.ctl(&[
        "dump",
        &root_watch.to_string(),
        "-w",
        file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let name = daemon.dumps()[0]["name"].as_str().unwrap().to_string();
    assert!(name.ends_with("-manual.trec"), "{name}");
    // Where nobody could write the file, were it given to them: not in a
    // shared /tmp, where anybody could have put one at that name first.
    let theirs = scratch("nobodys");
    std::fs::set_permissions(&theirs, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let stolen = theirs.join("stolen.trec");
    let out = daemon.ctl_as(
        Some(NOBODY),
        &["dump", &name, "-w", stolen.to_str().unwrap()],
    );
    assert!(!out.status.success());
    assert!(!stolen.exists());
    let out = daemon.ctl_as(
        Some(NOBODY),
        &["dump", &root_watch.to_string(), "-w", "/dev/null"],
    );
    assert!(!out.status.success());

    // Both watches are real: root sees them, with their owners.
    let list = daemon.json(&["list"]);
    let owners: Vec<(u64, u64)> = list["watches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["id"].as_u64().unwrap(), w["owner"].as_u64().unwrap()))
        .collect();
    assert_eq!(owners, [(own, u64::from(NOBODY)), (root_watch, 0)]);
}

/// Malformed, oversized, binary and abandoned requests get an error (or
/// just a closed connection), and the daemon goes on serving.
#[test]
fn daemon_survives_garbage_on_its_socket() {
    let mut daemon = Daemon::start("garbage", &[]);
    let answer = |payload: &[u8]| -> String {
        let mut s = UnixStream::connect(&daemon.socket).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let _ = s.write_all(payload);
        let _ = s.shutdown(std::net::Shutdown::Write);
        let mut line = String::new();
        let _ = BufReader::new(s).read_line(&mut line);
        line
    };
    for payload in [
        &b"hello\n"[..],
        b"{\"cmd\":\"watch\",\"pid\":\"1; rm -rf /\"}\n",
        b"{\"cmd\":\"watch\",\"pid\":99999999}\n",
        b"{\"cmd\":\"dump\",\"name\":\"../../../etc/shadow\"}\n",
        b"{\"cmd\":\"unwatch\",\"watch\":-1}\n",
        b"\xff\xfe\x00\x01\n",
        b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n",
        b"{\"cmd\":\"stats\"",
    ] {
        let line = answer(payload);
        let v: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("{payload:?} got {line:?} ({e})"));
        assert_eq!(v["ok"], false, "{payload:?} got {line}");
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()));
    }
    // 1 MiB without a newline: refused as too large.
    let big = vec![b'a'; 1 << 20];
    let line = answer(&big);
    assert!(line.contains("larger than"), "{line}");
    // Random bytes, and connections dropped halfway.
    let rng_seed = 0x5eed_u64;
    let mut x = rng_seed;
    for i in 0..200 {
        let len = (i * 37) % 3000;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let mut s = UnixStream::connect(&daemon.socket).unwrap();
        let _ = s.write_all(&bytes);
        if i % 2 == 0 {
            drop(s);
        } else {
            let _ = s.shutdown(std::net::Shutdown::Write);
            let _ = s.read(&mut [0u8; 64]);
        }
    }
    // Several requests on one connection still work after an error.
    let mut s = UnixStream::connect(&daemon.socket).unwrap();
    s.write_all(b"nonsense\n{\"cmd\":\"stats\"}\n").unwrap();
    let mut reader = BufReader::new(s);
    let (mut first, mut second) = (String::new(), String::new());
    reader.read_line(&mut first).unwrap();
    reader.read_line(&mut second).unwrap();
    assert!(first.contains("\"ok\":false"), "{first}");
    assert!(second.contains("\"ok\":true"), "{second}");

    assert!(daemon.alive(), "daemon died:\n{}", daemon.log());
    let stats = daemon.json(&["stats"]);
    assert!(stats["events_total"].is_u64());
    let status = daemon.stop();
    assert!(status.success(), "{status}\n{}", daemon.log());
}

/// `ctl stream` shows a watched process's syscalls as `record` prints
/// them, and ends when the process does; SIGTERM with --flush-on-exit
/// dumps the rings, detaches, removes the socket and exits 0.
#[test]
fn stream_and_clean_shutdown() {
    let mut daemon = Daemon::start("stream", &["--flush-on-exit"]);
    // A shell that waits for a line, echoes, waits again.
    let mut shell = Command::new("sh")
        .args(["-c", "read a; echo hello-stream; read b; exit 0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let watch = daemon.json(&["watch", &shell.id().to_string()])["watch"]
        .as_u64()
        .unwrap();
    let mut stream = Command::new(tracer())
        .arg("ctl")
        .arg("--socket")
        .arg(&daemon.socket)
        .args(["stream", &watch.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    thread::sleep(Duration::from_millis(500));
    let mut stdin = shell.stdin.take().unwrap();
    stdin.write_all(b"go\n").unwrap();
    // A second watched process, busy enough to have a ring to dump at
    // shutdown.
    let mut sleeper = Killed(
        Command::new("sh")
            .args([
                "-c",
                "while :; do read x < /proc/self/stat; sleep 0.05; done",
            ])
            .spawn()
            .unwrap(),
    );
    daemon.json(&["watch", &sleeper.0.id().to_string()]);
    // stats: per watched process, its syscalls and what watching cost it.
    let sleeper_pid = u64::from(sleeper.0.id());
    let mut seen = Value::Null;
    let measured = eventually(10, || {
        let stats = daemon.json(&["stats"]);
        seen = stats.clone();
        stats["processes"].as_array().is_some_and(|ps| {
            ps.iter().any(|p| {
                p["pid"] == sleeper_pid
                    && p["syscalls"].as_u64().unwrap_or(0) > 0
                    && p["observer_ns"].as_u64().is_some()
                    && p["observer_share"].as_f64().is_some_and(|s| s < 1.0)
            })
        })
    });
    assert!(measured, "{seen:#}");
    assert!(seen["events_per_s"].is_number() && seen["lost_events"].is_u64());
    drop(stdin); // the shell's second read sees EOF; it exits
    assert!(shell.wait().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = stream.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "stream did not end with the watch"
        );
        thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success());
    let mut text = String::new();
    stream
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert!(
        text.lines()
            .any(|l| l.contains("write(1, \"hello-stream\\n\", 13) = 13")),
        "{text}"
    );
    assert!(text.lines().any(|l| l.contains("exit_group(0)")), "{text}");

    let status = daemon.stop();
    assert!(status.success(), "{status}\n{}", daemon.log());
    assert!(!daemon.socket.exists(), "socket left behind");
    let log = daemon.log();
    assert!(log.contains("probes detached"), "{log}");
    let names: Vec<String> = std::fs::read_dir(&daemon.dumps)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        names
            .iter()
            .any(|n| n.contains(&format!("-{}-shutdown", sleeper.0.id()))),
        "{names:?}\n{log}"
    );
    // Still running: the daemon never stops what it watches.
    assert!(sleeper.0.try_wait().unwrap().is_none());
}

/// `tracer daemon ARGS`, which must give up within 30 s: its exit status
/// and what it said. A daemon that does not give up is killed, and the
/// test fails.
fn refused_daemon(args: &[&std::ffi::OsStr]) -> (std::process::ExitStatus, String) {
    let child = Command::new(tracer())
        .arg("daemon")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = Killed(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the daemon {args:?} did not give up"
        );
        thread::sleep(Duration::from_millis(50));
    };
    let mut said = String::new();
    child
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut said)
        .unwrap();
    (status, said)
}

/// Issue #11, item 9: a second daemon on the same socket gives up and
/// leaves the first one's socket in place (it used to unlink it on its way
/// out, leaving the first unreachable).
#[test]
fn a_second_daemon_leaves_the_first_ones_socket_alone() {
    let daemon = Daemon::start("second", &[]);
    let other_dumps = daemon.dir.join("other-dumps");
    let (status, said) = refused_daemon(&[
        "--socket".as_ref(),
        daemon.socket.as_os_str(),
        "--dump-dir".as_ref(),
        other_dumps.as_os_str(),
    ]);
    assert!(!status.success());
    assert!(said.contains("another daemon is listening"), "{said}");
    assert!(
        daemon.socket.exists(),
        "the first daemon's socket was removed"
    );
    daemon.json(&["list"]);
}

/// Issue #11, item 9: `--socket` naming a regular file is refused, and the
/// file is left as it was (it used to be deleted and replaced).
#[test]
fn a_socket_path_that_is_a_file_is_refused_and_kept() {
    let dir = scratch("notsock");
    let file = dir.join("precious");
    std::fs::write(&file, b"keep me").unwrap();
    let (status, said) = refused_daemon(&[
        "--socket".as_ref(),
        file.as_os_str(),
        "--dump-dir".as_ref(),
        dir.join("dumps").as_os_str(),
    ]);
    assert!(!status.success());
    assert!(said.contains("is not a socket"), "{said}");
    assert_eq!(std::fs::read(&file).unwrap(), b"keep me");
}

/// Issue #11, item 11: a `--dump-dir` owned by another user is refused,
/// and left as it was (it used to be chmod'ed to 0700 and used, still in
/// its owner's hands).
#[test]
fn a_dump_dir_of_another_user_is_refused() {
    let dir = scratch("theirdumps");
    let dumps = dir.join("dumps");
    std::fs::create_dir(&dumps).unwrap();
    std::fs::set_permissions(&dumps, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    std::os::unix::fs::chown(&dumps, Some(NOBODY), Some(NOBODY)).unwrap();
    let (status, said) = refused_daemon(&[
        "--socket".as_ref(),
        dir.join("daemon.sock").as_os_str(),
        "--dump-dir".as_ref(),
        dumps.as_os_str(),
    ]);
    assert!(!status.success());
    assert!(said.contains("belongs to uid 65534"), "{said}");
    let meta = std::fs::metadata(&dumps).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o777), (NOBODY, 0o777));
    assert!(!dir.join("daemon.sock").exists(), "socket left behind");
}

/// Runs `f` on a new thread whose credentials alone (not the test
/// process's) are `uid`/`gid` with no supplementary groups: raw syscalls,
/// which Linux applies to the calling thread only. The thread cannot go
/// back to root, and ends with `f`.
fn on_thread_as<T: Send + 'static>(
    uid: u32,
    gid: u32,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    thread::spawn(move || {
        // SAFETY: plain syscalls on this thread's own credentials.
        unsafe {
            assert_eq!(
                libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<u32>()),
                0
            );
            assert_eq!(libc::syscall(libc::SYS_setresgid, gid, gid, gid), 0);
            assert_eq!(libc::syscall(libc::SYS_setresuid, uid, uid, uid), 0);
        }
        f()
    })
    .join()
    .unwrap()
}

/// Issue #11, item 10: a hundred idle connections of one user used to lock
/// every client out, root included, for a minute. Now that user is bounded
/// and turned away with a reason, others and root get in, and idle
/// connections are dropped within seconds.
#[test]
fn idle_connections_of_one_user_lock_nobody_else_out() {
    let daemon = Daemon::start("flood", &["--socket-group", "nogroup"]);
    let socket = daemon.socket.clone();
    let (held, refused) = on_thread_as(NOBODY, NOBODY, move || {
        let mut held = Vec::new();
        let mut refused = Vec::new();
        for _ in 0..100 {
            let s = UnixStream::connect(&socket).unwrap();
            s.set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            let mut line = String::new();
            // A turned-away connection gets one error line and EOF; an
            // admitted one gets nothing yet.
            match BufReader::new(&s).read_line(&mut line) {
                Ok(n) if n > 0 => refused.push(line),
                _ => held.push(s),
            }
        }
        (held, refused)
    });
    // Root is served at once, and so is another user.
    let started = Instant::now();
    daemon.json(&["list"]);
    let socket = daemon.socket.clone();
    let answer = on_thread_as(NOBODY - 1, NOBODY, move || {
        let mut s = UnixStream::connect(&socket).unwrap();
        s.write_all(b"{\"cmd\":\"list\"}\n").unwrap();
        let mut line = String::new();
        BufReader::new(&s).read_line(&mut line).unwrap();
        line
    });
    assert!(answer.contains("\"ok\":true"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // The flooding user was turned away with the reason.
    assert!(
        !refused.is_empty() && refused[0].contains("too many connections of uid 65534"),
        "{} held, refused: {refused:?}",
        held.len()
    );
    // The idle ones are dropped soon.
    let mut first = &held[0];
    first
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let started = Instant::now();
    let n = first.read(&mut [0u8; 64]).unwrap_or(0);
    assert_eq!(n, 0, "an idle connection was sent something");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "idle connection kept {:?}",
        started.elapsed()
    );
}

/// A copy of `false` (fails at once) named `name` in `dir`, owned by
/// `owner`, with `mode` (0o4755: setuid to `owner`).
fn failing_program(dir: &Path, name: &str, owner: u32, mode: u32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::copy(which::which("false").unwrap(), &path).unwrap();
    std::os::unix::fs::chown(&path, Some(owner), Some(owner)).unwrap();
    // After chown, which clears the setuid bit.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

/// Runs `program` as `nobody` `n` times; their pids. Each fails at once.
fn run_as_nobody(program: &Path, n: usize) -> Vec<u32> {
    (0..n)
        .map(|_| {
            let mut cmd = Command::new(program);
            as_user(&mut cmd, NOBODY);
            let mut child = cmd.spawn().unwrap();
            let pid = child.id();
            assert_eq!(child.wait().unwrap().code(), Some(1));
            pid
        })
        .collect()
}

/// Issue #11 item 12: a `nobody` comm watch gets a dump of every one of
/// its processes that fails at once, gone before `/proc` could say whose
/// it was (the kernel's exec record says); a setuid-root program run by
/// `nobody` is not `nobody`'s, even though `nobody`'s watch is older than
/// root's on the same name.
#[test]
fn a_non_root_watch_sees_its_short_lived_processes_and_no_setuid_ones() {
    let daemon = Daemon::start(
        "owner",
        &["--socket-group", "nogroup", "--dump-burst", "100"],
    );
    std::fs::set_permissions(
        &daemon.dir,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let tag = std::process::id() % 100_000;
    let (plain, setuid) = (format!("own{tag}"), format!("suid{tag}"));
    let plain_path = failing_program(&daemon.dir, &plain, NOBODY, 0o755);
    let setuid_path = failing_program(&daemon.dir, &setuid, 0, 0o4755);

    let watch_as = |uid: Option<u32>, comm: &str| -> u64 {
        let out = daemon.ctl_as(uid, &["watch", "--comm", comm]);
        assert!(out.status.success(), "{}", stderr(&out));
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    let nobodys = watch_as(Some(NOBODY), &plain);
    let nobodys_setuid = watch_as(Some(NOBODY), &setuid);
    let roots_setuid = watch_as(None, &setuid);

    const RUNS: usize = 6;
    let plain_pids = run_as_nobody(&plain_path, RUNS);
    let setuid_pids = run_as_nobody(&setuid_path, RUNS);

    let dumps_of = |dumps: &[Value], watch: u64| -> Vec<u32> {
        let mut pids: Vec<u32> = dumps
            .iter()
            .filter(|d| d["watch"].as_u64() == Some(watch))
            .map(|d| d["pid"].as_u64().unwrap() as u32)
            .collect();
        pids.sort();
        pids
    };
    let complete = eventually(15, || {
        let dumps = daemon.dumps();
        dumps_of(&dumps, nobodys).len() == RUNS && dumps_of(&dumps, roots_setuid).len() == RUNS
    });
    let dumps = daemon.dumps();
    let stats = daemon.json(&["stats"]);
    assert!(
        complete,
        "missing dumps: {dumps:#?}\nstats: {stats}\ndaemon log:\n{}",
        daemon.log()
    );
    let mut sorted = plain_pids.clone();
    sorted.sort();
    assert_eq!(dumps_of(&dumps, nobodys), sorted);
    let mut sorted = setuid_pids.clone();
    sorted.sort();
    assert_eq!(dumps_of(&dumps, roots_setuid), sorted);
    assert!(dumps_of(&dumps, nobodys_setuid).is_empty(), "{dumps:#?}");
    assert_eq!(stats["missed_unowned"], 0, "{stats}");
}

/// The bug found beside issue #11 item 12: on a hybrid cgroup layout
/// (cgroup v2 at /sys/fs/cgroup/unified, v1 under a tmpfs at
/// /sys/fs/cgroup) a `--cgroup` watch named a directory of the wrong
/// tree. A process that runs in a fresh v2 group and fails is dumped; the
/// same program outside the group is not.
#[test]
fn a_cgroup_watch_picks_up_processes_of_its_v2_group() {
    let group = ChildCgroup(cgroup2_mount().join(format!("tracer-test-{}", std::process::id())));
    std::fs::create_dir(&group.0).unwrap();
    let daemon = Daemon::start("cgroup", &[]);
    let out = daemon.ctl(&["watch", "--cgroup", group.0.to_str().unwrap()]);
    assert!(out.status.success(), "{}\n{}", stderr(&out), daemon.log());
    let watch: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();

    // Long enough to be read from /proc: a watch's cgroup is matched there.
    let run = |inside: bool| {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "sleep 0.3; exit 3"]);
        if inside {
            let procs =
                std::ffi::CString::new(group.0.join("cgroup.procs").as_os_str().as_encoded_bytes())
                    .unwrap();
            // SAFETY: open, write and close are async-signal-safe; the
            // path was allocated before the fork.
            unsafe {
                cmd.pre_exec(move || {
                    let fd = libc::open(procs.as_ptr(), libc::O_WRONLY);
                    if fd < 0 || libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                        return Err(std::io::Error::last_os_error());
                    }
                    libc::close(fd);
                    Ok(())
                });
            }
        }
        let mut child = cmd.spawn().unwrap();
        let pid = child.id();
        assert_eq!(child.wait().unwrap().code(), Some(3));
        pid
    };
    let outside = run(false);
    let inside = run(true);

    assert!(
        eventually(15, || daemon
            .dumps()
            .iter()
            .any(|d| d["pid"].as_u64() == Some(u64::from(inside)))),
        "no dump of {inside} in its cgroup: {:#?}\n{}",
        daemon.dumps(),
        daemon.log()
    );
    let dumps = daemon.dumps();
    assert_eq!(dumps.len(), 1, "{dumps:#?}");
    assert_eq!(dumps[0]["watch"].as_u64(), Some(watch));
    assert_eq!(dumps[0]["reason"], "exit-3");
    assert!(
        !dumps
            .iter()
            .any(|d| d["pid"].as_u64() == Some(u64::from(outside)))
    );

    // The same group named as /proc/PID/cgroup names it is the same one.
    let name = format!("/tracer-test-{}", std::process::id());
    let out = daemon.ctl(&["watch", "--cgroup", &name]);
    assert!(out.status.success(), "{}", stderr(&out));
    drop(daemon);
}

/// #17: `--stacks` keeps the user stacks of the selected syscalls in the
/// rings, and dumps hold them named: `report -k` on a dump shows the call
/// chain of `lab/stacks/deep.c` after its binary is gone.
#[test]
fn dumps_keep_the_stacks_of_the_selected_syscalls() {
    let daemon = Daemon::start("stacks", &["--stacks", "trace=getppid", "--after", "100ms"]);
    let name = format!("dk{}", std::process::id() % 100_000);
    let exe = daemon.dir.join(&name);
    // deep.c's main as `deep_main`, under a main that fails: a failing run
    // is dumped.
    let mut gcc = Command::new("gcc")
        .args(["-O2", "-fno-omit-frame-pointer", "-Dmain=deep_main", "-o"])
        .arg(&exe)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../lab/stacks/deep.c"))
        .args(["-x", "c", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    gcc.stdin
        .take()
        .unwrap()
        .write_all(
            b"#undef main\nint deep_main(void);\nint main(void) { deep_main(); return 3; }\n",
        )
        .unwrap();
    assert!(gcc.wait().unwrap().success(), "cannot build deep.c");
    let out = daemon.ctl(&["watch", "--comm", &name]);
    assert!(out.status.success(), "{}", stderr(&out));
    let run = Command::new(&exe).stdout(Stdio::null()).status().unwrap();
    assert_eq!(run.code(), Some(3));
    assert!(
        eventually(15, || !daemon.dumps().is_empty()),
        "no dump; daemon log:\n{}",
        daemon.log()
    );
    std::fs::remove_file(&exe).unwrap();
    let dump = daemon
        .dumps
        .join(daemon.dumps()[0]["name"].as_str().unwrap());
    let report = Command::new(tracer())
        .args(["report", "-k"])
        .arg(&dump)
        .output()
        .unwrap();
    assert!(report.status.success(), "{}", stderr(&report));
    let text = String::from_utf8_lossy(&report.stdout);
    let frames: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("getppid("))
        .skip(1)
        .map_while(|l| l.strip_prefix(" > "))
        .collect();
    let chain = [
        "stack_inner+",
        "stack_middle+",
        "stack_outer+",
        "deep_main+",
    ];
    assert!(
        frames.len() >= 4
            && frames
                .iter()
                .zip(chain)
                .all(|(frame, name)| frame.starts_with(&format!("{}({name}", exe.display()))),
        "{text}"
    );
    // Only the selected syscalls have stacks.
    assert_eq!(
        text.lines().filter(|l| l.starts_with(" > ")).count(),
        frames.len(),
        "{text}"
    );
}
