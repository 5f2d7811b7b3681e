//! strace parity (#16): the share of strace's lines that tracer reproduces
//! exactly, in each mode, on a corpus of real, deterministic commands.
//!
//! Users read tracer's text the way they read strace's, so strace's output
//! on this machine is the golden reference. Each command of the corpus runs
//! under `strace -f -o FILE`, under strace a second time (what two runs of
//! the reference agree on is the ceiling any tracer can reach), and under
//! `tracer record -f -o FILE` in each mode. Every output is normalised (see
//! [`normalise`]) and the figure is the multiset intersection of tracer's
//! lines with strace's, over strace's line count: order between tasks is
//! the scheduler's, not the tracer's, so lines are matched as a multiset.
//!
//! The test prints the figure per mode and per command, and fails when a
//! mode falls below [`FLOOR`]: the figure measured when the floor was last
//! raised, minus a margin for the run-to-run noise. Raise the floor when a
//! decoder lands.

mod common;

use common::*;

use std::{
    collections::{HashMap, HashSet},
    path::Path,
    process::{Command, Stdio},
};

use regex::Regex;

/// Lowest acceptable parity per mode, in percent of strace's lines.
/// Measured 2026-11-30: ptrace 81.2%, eBPF 81.0% before #16's decoders
/// (identical over repeated runs to ±0.1%); 82.3%, 82.1% with fcntl's
/// flag returns and end-of-file reads. With the structures behind
/// pointers and three more commands in the corpus: ptrace 99.3%, eBPF
/// 99.2% (75.1% before the kernel captured them). With `sh-signals` in
/// the corpus and strace's `---`/`+++` lines: ptrace 99.7%, eBPF 99.5%;
/// eBPF 99.7% once paths not yet paged in at enter are read at exit (its
/// 4 `statfs(` gaps gone). With the `python3-io` and `sleep` commands
/// (polls, fd sets, timespecs, socket options, statfs, terminal ioctls)
/// and `sysinfo`'s and `statfs`'s changing counts normalised: ptrace
/// 99.8%, eBPF 99.8% of 4008 lines (99.7%, 99.7% of 3327 before).
/// The floor is two points below.
const FLOOR: &[(&str, f64)] = &[("ptrace", 97.0), ("ebpf", 97.0)];

/// Lowest agreement of strace with itself: below it the normalisation, not
/// tracer, is what broke (measured 99.8%).
const REFERENCE_FLOOR: f64 = 98.0;

/// The corpus: a name and a shell-free command line (`{dir}` is a fixed
/// tree the test creates, `{out}` a file path that is removed first).
const CORPUS: &[(&str, &[&str])] = &[
    ("ls", &["/usr/bin/ls", "{dir}"]),
    ("ls-la", &["/usr/bin/ls", "-la", "{dir}"]),
    ("cat", &["/usr/bin/cat", "{dir}/a.txt", "{dir}/sub/b.txt"]),
    (
        "sh-pipeline",
        &["/bin/sh", "-c", "cat {dir}/a.txt | wc -c; exit 3"],
    ),
    ("find", &["/usr/bin/find", "{dir}"]),
    // Signals: a handled one (its delivery and rt_sigreturn), a child
    // killed by one, the SIGCHLDs the shell handles.
    (
        "sh-signals",
        &[
            "/bin/sh",
            "-c",
            "trap 'echo caught' USR1; kill -USR1 $$; sh -c 'kill -TERM $$'; exit 0",
        ],
    ),
    ("tar", &["/usr/bin/tar", "-cf", "{out}", "-C", "{dir}", "."]),
    (
        "python3",
        &[
            "/usr/bin/python3",
            "-S",
            "-c",
            "import os; print(sorted(os.listdir('{dir}')))",
        ],
    ),
    (
        "python3-json",
        &[
            "/usr/bin/python3",
            "-c",
            "import json, pathlib; print(json.dumps(sorted(p.name for p in pathlib.Path('{dir}').iterdir())))",
        ],
    ),
    ("readlink", &["/usr/bin/readlink", "-f", "{dir}/link"]),
    // The structures of I/O multiplexing, sockets, file systems and
    // terminals (#16): pollfd arrays with their revents, fd sets and the
    // time left, socket options, statfs, termios and winsize on a fresh
    // pty, FIONREAD on a pipe; each call's answer fixed by what it asks
    // (a pipe with data, zero timeouts, a fresh socket).
    ("python3-io", &["/usr/bin/python3", "-S", "-c", PYTHON_IO]),
    ("sleep", &["/usr/bin/sleep", "0.001"]),
    (
        "env-sh",
        &[
            "/usr/bin/env",
            "-i",
            "A=1",
            "/bin/sh",
            "-c",
            "ulimit -n; cd {dir}/sub && pwd && echo *; exec cat {dir}/a.txt",
        ],
    ),
];

/// The `python3-io` command of the corpus.
const PYTHON_IO: &str = "\
import os, select, socket, fcntl, termios, struct
r, w = os.pipe()
os.write(w, b'abc')
p = select.poll(); p.register(r, select.POLLIN); p.register(w, select.POLLOUT | select.POLLPRI)
p.poll(0)
q = select.poll(); q.register(w, select.POLLIN); q.poll(1)
select.select([r], [w], [], 0)
select.select([], [], [], 0.001)
fcntl.ioctl(r, termios.FIONREAD, b'0000')
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 5))
s.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE)
s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
s.getsockopt(socket.SOL_SOCKET, socket.SO_LINGER, 8)
os.statvfs('/proc')
os.fstatvfs(r)
m, t = os.openpty()
termios.tcgetattr(t)
fcntl.ioctl(t, termios.TIOCSWINSZ, struct.pack('HHHH', 24, 80, 0, 0))
fcntl.ioctl(t, termios.TIOCGWINSZ, b'01234567')
";

/// Lines dropped from every output because their text is not a function of
/// the command: getrandom returns fresh random bytes on every run.
const NONDETERMINISTIC: &[&str] = &["getrandom("];

/// Builds the fixed tree the corpus reads.
fn make_tree(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir.join("sub/deeper")).unwrap();
    std::fs::write(dir.join("a.txt"), "hello parity\n").unwrap();
    std::fs::write(dir.join("sub/b.txt"), "x".repeat(5000)).unwrap();
    std::fs::write(dir.join("sub/deeper/c"), "").unwrap();
    std::os::unix::fs::symlink("a.txt", dir.join("link")).unwrap();
}

/// Which tracer produced an output.
#[derive(Clone, Copy)]
enum Source<'a> {
    Strace,
    Tracer(&'a str),
}

/// Runs `argv` under `source`, writing its trace to `trace`; returns the
/// trace's text.
fn trace(source: Source, argv: &[String], trace: &Path, out: &Path) -> String {
    let _ = std::fs::remove_file(trace);
    let _ = std::fs::remove_file(out);
    let mut cmd = match source {
        Source::Strace => {
            let mut c = Command::new("strace");
            c.arg("-f").arg("-o").arg(trace);
            c
        }
        Source::Tracer(mode) => {
            let mut c = Command::new(tracer());
            c.args(["record", "--mode", mode, "-f", "-o"]).arg(trace);
            c
        }
    };
    let status = cmd
        .arg("--")
        .args(argv)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONHASHSEED", "0")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap_or_else(|e| panic!("running {argv:?}: {e}"));
    assert!(
        status.status.code().is_some(),
        "{argv:?} was killed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    std::fs::read_to_string(trace).unwrap_or_else(|e| {
        panic!(
            "no trace from {argv:?} at {}: {e}; stderr: {}",
            trace.display(),
            String::from_utf8_lossy(&status.stderr)
        )
    })
}

/// The patterns [`normalise`] uses, compiled once.
struct Normaliser {
    strace_pid: Regex,
    tracer_pid: Regex,
    unfinished: Regex,
    resumed: Regex,
    padding: Regex,
    pointer: Regex,
    hex: Regex,
    child: Regex,
    sysinfo: Regex,
    statfs: Regex,
}

impl Normaliser {
    fn new() -> Self {
        Self {
            strace_pid: Regex::new(r"^(\d+) +").unwrap(),
            tracer_pid: Regex::new(r"^\[pid +(\d+)\] ").unwrap(),
            unfinished: Regex::new(r" <unfinished \.\.\.>$").unwrap(),
            resumed: Regex::new(r"^<\.\.\. [a-z0-9_]+ resumed>").unwrap(),
            padding: Regex::new(r"\) +(= .*)$").unwrap(),
            pointer: Regex::new(r"0x[0-9a-f]{8,}|0x[0-9a-f]+( /\* \d+ entr)").unwrap(),
            hex: Regex::new(r"0x[0-9a-f]+").unwrap(),
            child: Regex::new(
                r"^(?:clone3?|fork|vfork|set_tid_address|getpid|gettid)\(.* = (\d+)$",
            )
            .unwrap(),
            sysinfo: Regex::new(
                r"(uptime|freeram|sharedram|bufferram|freeswap|procs)=\d+|loads=\[\d+, \d+, \d+\]",
            )
            .unwrap(),
            statfs: Regex::new(r"(f_bfree|f_bavail|f_ffree)=\d+").unwrap(),
        }
    }

    /// One output as comparable lines:
    /// - the pid prefix (`N ` from strace, `[pid N] ` from tracer) dropped;
    /// - strace's `<unfinished ...>` / `<... resumed>` halves joined into
    ///   one line per task;
    /// - strace's padding before ` = ` collapsed to one space;
    /// - pointers (hex of 8 digits or more, and every hex number of a
    ///   `brk` line, and `getdents64`'s buffer, which strace follows with
    ///   `/* N entries */`: a non-PIE program's heap is low) replaced by
    ///   `0xPTR`;
    /// - every pid of the run (prefixes, clone and getpid returns) replaced
    ///   by `PID` wherever it occurs as a whole number;
    /// - the fields that change from one call to the next (`sysinfo`'s
    ///   uptime, loads, free memory and process count, the free blocks
    ///   and inodes of `statfs`) replaced by `N`;
    /// - the [`NONDETERMINISTIC`] lines dropped.
    fn normalise(&self, text: &str) -> Vec<String> {
        let mut pending: HashMap<String, String> = HashMap::new();
        let mut joined = Vec::new();
        for line in text.lines() {
            let (pid, rest) = if let Some(c) = self.strace_pid.captures(line) {
                (c[1].to_string(), &line[c[0].len()..])
            } else if let Some(c) = self.tracer_pid.captures(line) {
                (c[1].to_string(), &line[c[0].len()..])
            } else {
                (String::new(), line)
            };
            if let Some(m) = self.unfinished.find(rest) {
                pending.insert(pid.clone(), rest[..m.start()].to_string());
                continue;
            }
            let full = match self.resumed.find(rest) {
                Some(m) => {
                    let head = pending.remove(&pid).unwrap_or_default();
                    format!("{head}{}", &rest[m.end()..])
                }
                None => rest.to_string(),
            };
            joined.push((pid, full));
        }
        let mut pids: HashSet<String> = joined
            .iter()
            .map(|(p, _)| p.clone())
            .filter(|p| !p.is_empty())
            .collect();
        for (_, l) in &joined {
            if let Some(c) = self.child.captures(l) {
                pids.insert(c[1].to_string());
            }
        }
        let pid_re = (!pids.is_empty()).then(|| {
            let alt: Vec<_> = pids.iter().map(|p| regex::escape(p)).collect();
            Regex::new(&format!(r"\b(?:{})\b", alt.join("|"))).unwrap()
        });
        joined
            .into_iter()
            .map(|(_, l)| l)
            .filter(|l| !NONDETERMINISTIC.iter().any(|n| l.starts_with(n)))
            .map(|l| {
                let l = self.padding.replace(&l, ") $1");
                let l = if l.starts_with("sysinfo(") {
                    std::borrow::Cow::Owned(
                        self.sysinfo
                            .replace_all(&l, |c: &regex::Captures<'_>| match c.get(1) {
                                Some(field) => format!("{}=N", field.as_str()),
                                None => "loads=[N]".to_string(),
                            })
                            .into_owned(),
                    )
                } else {
                    l
                };
                let l = if l.starts_with("statfs(") || l.starts_with("fstatfs(") {
                    std::borrow::Cow::Owned(self.statfs.replace_all(&l, "$1=N").into_owned())
                } else {
                    l
                };
                let l = if l.starts_with("brk(") {
                    self.hex.replace_all(&l, "0xPTR")
                } else {
                    self.pointer.replace_all(&l, "0xPTR$1")
                };
                match &pid_re {
                    Some(re) => re.replace_all(&l, "PID").into_owned(),
                    None => l.into_owned(),
                }
            })
            .collect()
    }
}

/// How many of `reference`'s lines `other` reproduces (multiset
/// intersection).
fn matched(reference: &[String], other: &[String]) -> usize {
    let mut counts: HashMap<&str, isize> = HashMap::new();
    for l in other {
        *counts.entry(l).or_default() += 1;
    }
    reference
        .iter()
        .filter(|l| {
            let c = counts.entry(l.as_str()).or_default();
            *c -= 1;
            *c >= 0
        })
        .count()
}

/// The `limit` most frequent reference lines `other` lacks, shape only
/// (numbers and strings elided), to say what the next decoder should be.
fn top_gaps(reference: &[String], other: &[String], limit: usize) -> Vec<(usize, String)> {
    let mut counts: HashMap<&str, isize> = HashMap::new();
    for l in other {
        *counts.entry(l).or_default() += 1;
    }
    let name = Regex::new(r"^([a-z0-9_+-]+[ (]?)").unwrap();
    let mut gaps: HashMap<String, usize> = HashMap::new();
    for l in reference {
        let c = counts.entry(l.as_str()).or_default();
        *c -= 1;
        if *c < 0 {
            let key = name
                .captures(l)
                .map(|c| c[1].to_string())
                .unwrap_or_else(|| l.chars().take(12).collect());
            *gaps.entry(key).or_default() += 1;
        }
    }
    let mut v: Vec<_> = gaps.into_iter().map(|(k, n)| (n, k)).collect();
    v.sort_by(|a, b| b.cmp(a));
    v.truncate(limit);
    v
}

#[test]
fn parity_with_strace() {
    assert!(
        Command::new("strace").arg("-V").output().is_ok(),
        "strace is missing: run `cargo xtask setup`"
    );
    let dir = scratch("parity-tree");
    make_tree(&dir);
    let out = scratch("parity-out.tar");
    let norm = Normaliser::new();
    let modes = ["ptrace", "ebpf"];
    // Per mode: (matched, strace lines).
    let mut totals: HashMap<&str, (usize, usize)> = HashMap::new();
    let mut gaps: HashMap<&str, Vec<(usize, String)>> = HashMap::new();
    let mut noise = (0, 0);
    for (name, template) in CORPUS {
        let argv: Vec<String> = template
            .iter()
            .map(|a| {
                a.replace("{dir}", dir.to_str().unwrap())
                    .replace("{out}", out.to_str().unwrap())
            })
            .collect();
        let file = |what: &str| scratch(&format!("parity-{name}-{what}.txt"));
        let reference = norm.normalise(&trace(Source::Strace, &argv, &file("strace"), &out));
        let again = norm.normalise(&trace(Source::Strace, &argv, &file("strace2"), &out));
        assert!(
            reference.len() > 10,
            "{name}: strace saw only {} lines",
            reference.len()
        );
        let n = matched(&reference, &again);
        noise.0 += n;
        noise.1 += reference.len();
        let mut row = format!(
            "{name:>12}: {:>5} strace lines, strace again {:5.1}%",
            reference.len(),
            100.0 * n as f64 / reference.len() as f64
        );
        for mode in modes {
            let lines = norm.normalise(&trace(Source::Tracer(mode), &argv, &file(mode), &out));
            let n = matched(&reference, &lines);
            let t = totals.entry(mode).or_default();
            t.0 += n;
            t.1 += reference.len();
            row += &format!(
                ", {mode} {:5.1}%",
                100.0 * n as f64 / reference.len() as f64
            );
            gaps.entry(mode)
                .or_default()
                .extend(top_gaps(&reference, &lines, usize::MAX));
        }
        eprintln!("{row}");
    }
    let reference_figure = 100.0 * noise.0 as f64 / noise.1 as f64;
    eprintln!("parity: strace against itself {reference_figure:.1}%");
    assert!(
        reference_figure >= REFERENCE_FLOOR,
        "strace disagrees with itself ({reference_figure:.1}%): the normalisation missed a \
         nondeterministic field"
    );
    let mut failures = Vec::new();
    for mode in modes {
        let (n, total) = totals[mode];
        let figure = 100.0 * n as f64 / total as f64;
        let floor = FLOOR.iter().find(|(m, _)| *m == mode).unwrap().1;
        let mut by_call: HashMap<String, usize> = HashMap::new();
        for (count, key) in &gaps[mode] {
            *by_call.entry(key.clone()).or_default() += count;
        }
        let mut by_call: Vec<_> = by_call.into_iter().map(|(k, n)| (n, k)).collect();
        by_call.sort_by(|a, b| b.cmp(a));
        by_call.truncate(10);
        eprintln!(
            "parity: {mode} {figure:.1}% of {total} strace lines (floor {floor}%); \
             most frequent gaps: {by_call:?}"
        );
        if figure < floor {
            failures.push(format!("{mode}: {figure:.1}% < floor {floor}%"));
        }
    }
    assert!(failures.is_empty(), "parity fell: {failures:?}");
}
