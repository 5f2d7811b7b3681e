//! `-k`: the user stacks of syscalls, on real programs built with frame
//! pointers (`lab/stacks/`: C, Rust, Go), in both modes: the known call
//! chain is named in order, in the live text output, in a recording read
//! back after the binary is gone, and in the JSONL and Chrome exports.
//! The programs exit as soon as they made their calls: in eBPF mode,
//! nothing stops them, so they are usually gone before tracer reads their
//! stacks (`tracer::ebpf`'s own tests make sure of it).

mod common;

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use common::{is_syscall_line, run, scratch};

/// The modes, each as its `--mode` arguments.
const MODES: [&str; 2] = ["ptrace", "ebpf"];

/// `lab/stacks/NAME` built with frame pointers into the scratch directory,
/// as `NAME-TEST` (tests run in parallel; one deletes its binary).
fn build(name: &str, test: &str) -> PathBuf {
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/../lab/stacks/");
    let exe = scratch(&format!("{}-{test}", name.replace('.', "-")));
    let mut cmd = if name.ends_with(".go") {
        // `go build` wants a cache; the scratch directory holds it.
        let mut cmd = Command::new("go");
        cmd.arg("build")
            .env("GOCACHE", scratch("gocache"))
            .env("GOPATH", scratch("gopath"));
        cmd
    } else if name.ends_with(".c") {
        let mut cmd = Command::new("gcc");
        cmd.args(["-O2", "-fno-omit-frame-pointer"]);
        cmd
    } else {
        let mut cmd = Command::new("rustc");
        cmd.args(["-O", "-C", "force-frame-pointers=yes", "--edition", "2024"]);
        cmd
    };
    let status = cmd
        .arg("-o")
        .arg(&exe)
        .arg(format!("{src}{name}"))
        .status()
        .unwrap();
    assert!(status.success(), "cannot build {name}");
    exe
}

/// `tests/perfetto_check.py`'s summary of a Perfetto trace (decoded with
/// perfetto's own schema).
fn perfetto_summary(path: &Path) -> serde_json::Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/perfetto_check.py");
    let out = Command::new("python3")
        .args([script, "perfetto"])
        .arg(path)
        .output()
        .expect("python3 (cargo xtask setup installs the perfetto package)");
    assert!(
        out.status.success(),
        "perfetto check failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The function names of the ` > ` lines after the first line of `text`
/// that starts with `call`.
fn stack_of(text: &str, call: &str) -> Vec<String> {
    let mut lines = text.lines().skip_while(|l| !l.starts_with(call));
    assert!(lines.next().is_some(), "no {call} line in:\n{text}");
    lines
        .map_while(|l| l.strip_prefix(" > "))
        .map(|frame| {
            let inside = frame.split_once('(').map_or("", |(_, rest)| rest);
            let name = inside.rsplit_once(')').map_or(inside, |(name, _)| name);
            name.rsplit_once('+').map_or(name, |(n, _)| n).to_owned()
        })
        .collect()
}

/// Whether `names` holds `expected` one right after the other.
fn contains_run(names: &[String], expected: &[&str]) -> bool {
    names
        .windows(expected.len())
        .any(|w| w.iter().zip(expected).all(|(a, b)| a == b))
}

fn record_text(exe: &Path, exprs: &str, extra: &[&str]) -> String {
    let out_file = scratch(&format!(
        "{}-{exprs}-{}.txt",
        exe.file_name().unwrap().to_string_lossy(),
        extra.join("-")
    ));
    let mut args = vec![
        "record",
        "-k",
        "-e",
        exprs,
        "-o",
        out_file.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", exe.to_str().unwrap()]);
    let out = run(&args);
    assert!(out.status.success());
    std::fs::read_to_string(out_file).unwrap()
}

#[test]
fn c_call_chain_is_named_in_order() {
    let exe = build("deep.c", "text");
    for mode in MODES {
        c_call_chain_in(&exe, mode);
    }
}

fn c_call_chain_in(exe: &Path, mode: &str) {
    let text = record_text(exe, "trace=write,getppid", &["--mode", mode]);
    // The raw syscall in stack_inner: every frame of the program.
    let names = stack_of(&text, "getppid(");
    assert!(
        contains_run(
            &names,
            &["stack_inner", "stack_middle", "stack_outer", "main"]
        ),
        "{names:?}\n{text}"
    );
    // Through libc's write, which sets up no frame: its caller is the
    // one frame the walk cannot see.
    let names = stack_of(&text, "write(");
    assert!(names[0].contains("write"), "{mode}: {names:?}");
    assert!(
        contains_run(&names, &["stack_middle", "stack_outer", "main"]),
        "{names:?}\n{text}"
    );
    // Only the syscalls -e selects have stacks.
    assert_eq!(
        text.lines().filter(|l| is_syscall_line(l)).count(),
        2,
        "{mode}: {text}"
    );
}

#[test]
fn rust_call_chain_is_named_in_order_and_cut_stacks_say_so() {
    let exe = build("deep.rs", "text");
    for mode in MODES {
        rust_call_chain_in(&exe, mode);
    }
}

fn rust_call_chain_in(exe: &Path, mode: &str) {
    let text = record_text(exe, "trace=getppid,openat", &["--mode", mode]);
    let names = stack_of(&text, "getppid(");
    assert!(
        contains_run(
            &names,
            &[
                "deep::stack_inner",
                "deep::stack_middle",
                "deep::stack_outer"
            ]
        ),
        "{names:?}\n{text}"
    );
    assert!(names.iter().any(|n| n == "main"), "{mode}: {names:?}");
    // The open goes through std, built without frame pointers: the walk
    // stops there and says so instead of showing garbage.
    let open = text
        .split_once("openat(AT_FDCWD, \"/nonexistent/tracer-stack-test\"")
        .unwrap_or_else(|| panic!("no open in\n{text}"))
        .1;
    let frames: Vec<&str> = open
        .lines()
        .skip(1)
        .map_while(|l| l.strip_prefix(" > "))
        .collect();
    assert!(
        frames.last().unwrap().starts_with("... (truncated"),
        "{mode}: {frames:?}"
    );
    assert!(
        frames.iter().all(|f| !f.starts_with("?(")),
        "{mode}: {frames:?}"
    );
}

#[test]
fn go_call_chain_is_named_in_order() {
    let exe = build("deep.go", "text");
    for mode in MODES {
        go_call_chain_in(&exe, mode);
    }
}

fn go_call_chain_in(exe: &Path, mode: &str) {
    let text = record_text(exe, "trace=getppid", &["--mode", mode]);
    // Go runtime threads make the lines `[pid N] getppid(`.
    let line = text
        .lines()
        .find(|l| l.contains("getppid("))
        .unwrap_or_else(|| panic!("no getppid in\n{text}"));
    let names = stack_of(&text, line);
    // stackInner called the syscall package's stub, which sets up no
    // frame: stackInner is the frame the walk cannot see.
    assert!(names[0].starts_with("syscall."), "{mode}: {names:?}");
    assert!(
        contains_run(
            &names,
            &["main.stackMiddle", "main.stackOuter", "main.main"]
        ),
        "{names:?}\n{text}"
    );
}

#[test]
fn a_recording_is_symbolized_after_the_binary_is_deleted() {
    for mode in MODES {
        symbolized_after_deletion(mode);
    }
}

fn symbolized_after_deletion(mode: &str) {
    let exe = build("deep.c", &format!("deleted-{mode}"));
    let rec = scratch(&format!("deep-k-{mode}.rec"));
    let out = run(&[
        "record",
        "-k",
        "--mode",
        mode,
        "-e",
        "trace=getppid",
        "-o",
        "/dev/null",
        "-w",
        rec.to_str().unwrap(),
        "--",
        exe.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    std::fs::remove_file(&exe).unwrap();

    let report = run(&["report", "-k", rec.to_str().unwrap()]);
    assert!(report.status.success());
    let text = String::from_utf8(report.stdout).unwrap();
    let names = stack_of(&text, "getppid(");
    assert!(
        contains_run(
            &names,
            &["stack_inner", "stack_middle", "stack_outer", "main"]
        ),
        "{mode}: {names:?}\n{text}"
    );
    assert!(text.contains(&format!(" > {}(stack_inner+", exe.display())));

    // Without -k, the same recording reads as plain lines.
    let plain = run(&["report", rec.to_str().unwrap()]);
    let plain = String::from_utf8(plain.stdout).unwrap();
    assert!(
        plain.starts_with("getppid() = ") && !plain.contains(" > "),
        "{plain}"
    );

    // JSONL: the frames as an array of objects.
    let jsonl = run(&["export", "-k", "--format", "jsonl", rec.to_str().unwrap()]);
    assert!(jsonl.status.success());
    let row: serde_json::Value =
        serde_json::from_slice(jsonl.stdout.split(|&b| b == b'\n').next().unwrap()).unwrap();
    let functions: Vec<&str> = row["stack"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["function"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(
        functions[..4],
        ["stack_inner", "stack_middle", "stack_outer", "main"]
    );
    assert_eq!(row["stack"][0]["file"], exe.to_str().unwrap());

    // Perfetto: the slice's interned callstack, read back with perfetto's
    // own schema.
    let trace = scratch(&format!("deep-k-{mode}.perfetto"));
    let out = run(&[
        "export",
        "-k",
        "--format",
        "perfetto",
        rec.to_str().unwrap(),
        "-o",
        trace.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let summary = perfetto_summary(&trace);
    let stacks = summary["stacks"].as_array().unwrap();
    let getppid = stacks
        .iter()
        .find(|s| s["name"] == "getppid")
        .unwrap_or_else(|| panic!("no getppid callstack in {summary}"));
    let frames = getppid["frames"].as_array().unwrap();
    let functions: Vec<&str> = frames
        .iter()
        .map(|f| f["function"].as_str().unwrap())
        .collect();
    assert_eq!(
        functions[..4],
        ["stack_inner", "stack_middle", "stack_outer", "main"],
        "{mode}"
    );
    assert_eq!(frames[0]["file"], exe.to_str().unwrap());
    // The walk went through libc's start code: cut, and said so.
    assert!(functions.last().unwrap().starts_with("... (truncated"));

    // Chrome JSON: the frames, as text lines show them, in the args.
    let chrome = run(&["export", "-k", "--format", "chrome", rec.to_str().unwrap()]);
    let trace: serde_json::Value = serde_json::from_slice(&chrome.stdout).unwrap();
    let events = trace["traceEvents"].as_array().unwrap();
    let getppid = events.iter().find(|e| e["name"] == "getppid").unwrap();
    let frame = getppid["args"]["stack"][0].as_str().unwrap();
    assert!(
        frame.starts_with(&format!("{}(stack_inner+0x", exe.display())),
        "{frame}"
    );
}

#[test]
fn auto_mode_takes_stacks_with_ebpf() {
    let exe = build("deep.c", "auto");
    let rec = scratch("deep-k-auto.rec");
    let out = run(&[
        "record",
        "-k",
        "-e",
        "trace=getppid",
        "-o",
        "/dev/null",
        "-w",
        rec.to_str().unwrap(),
        "--",
        exe.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    // -k no longer makes auto fall back to ptrace.
    assert!(!String::from_utf8_lossy(&out.stderr).contains("ptrace"));
    let report = run(&["report", "-k", rec.to_str().unwrap()]);
    let text = String::from_utf8(report.stdout).unwrap();
    assert!(
        contains_run(
            &stack_of(&text, "getppid("),
            &["stack_inner", "stack_middle"]
        ),
        "{text}"
    );
}
