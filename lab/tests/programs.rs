//! The lab programs are test subjects for `tracer compare`, so the tests
//! check what compare relies on: the fixed variants never fail (a failure
//! there means the lab, not the race, is broken), the exit codes keep
//! races apart from errors, and the buggy variants fail with a clear
//! message.

use std::path::Path;
use std::process::{Command, Output};

const PROGRAMS: [&str; 6] = [
    env!("CARGO_BIN_EXE_collector_race"),
    env!("CARGO_BIN_EXE_init_race"),
    env!("CARGO_BIN_EXE_lost_update"),
    env!("CARGO_BIN_EXE_pooled_buffer_server"),
    env!("CARGO_BIN_EXE_early_use"),
    // Rarely fails untraced (by design: a delayed `read` makes it fail;
    // tracer's amplify tests check that).
    env!("CARGO_BIN_EXE_torn_config"),
];

fn python_script(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("python")
        .join(name)
        .display()
        .to_string()
}

fn run(program: &str, args: &[&str]) -> Output {
    let output = if program.ends_with(".py") {
        Command::new("python3").arg(program).args(args).output()
    } else {
        Command::new(program).args(args).output()
    };
    output.unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

fn has_python3() -> bool {
    Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn describe(program: &str, output: &Output) -> String {
    format!(
        "{program}: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn fixed_variants_never_fail() {
    for program in PROGRAMS {
        for _ in 0..20 {
            let output = run(program, &["--fixed"]);
            assert!(output.status.success(), "{}", describe(program, &output));
        }
    }
}

#[test]
fn fixed_python_variants_never_fail() {
    if !has_python3() {
        eprintln!("skipped: no python3");
        return;
    }
    let script = python_script("cache_refill.py");
    for _ in 0..5 {
        let output = run(&script, &["--fixed"]);
        assert!(output.status.success(), "{}", describe(&script, &output));
    }
}

#[test]
fn bad_arguments_are_errors_not_races() {
    let mut programs = PROGRAMS.map(String::from).to_vec();
    if has_python3() {
        programs.push(python_script("cache_refill.py"));
    }
    for program in &programs {
        let output = run(program, &["--no-such-flag"]);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{}",
            describe(program, &output)
        );
        assert!(String::from_utf8_lossy(&output.stderr).starts_with("error: "));
        let output = run(program, &["--help"]);
        assert!(output.status.success(), "{}", describe(program, &output));
    }
}

/// Runs the buggy variant until it fails (at most 300 times) and checks
/// the message. Every program fails in at least ~9% of runs here, so 300
/// runs without a failure has odds below 1e-12: a program that stops
/// racing is a broken lab, and this test says so. It stops at the first
/// failure, usually within a few runs.
#[test]
fn buggy_variants_fail_with_a_clear_message() {
    let mut subjects: Vec<(String, &str)> = vec![
        (PROGRAMS[0].into(), "FAIL: lost "),
        (PROGRAMS[1].into(), "FAIL: heartbeat thread read the config"),
        (PROGRAMS[2].into(), "FAIL: lost "),
        (PROGRAMS[3].into(), "FAIL: response for req-"),
        (
            PROGRAMS[4].into(),
            "FAIL: request thread took from the pool",
        ),
    ];
    if has_python3() {
        subjects.push((python_script("cache_refill.py"), "KeyError: 'user:"));
    }
    for (program, expected) in &subjects {
        let failure = (0..300)
            .map(|_| run(program, &[]))
            .find(|o| !o.status.success());
        let Some(output) = failure else {
            panic!("{program} never failed in 300 runs");
        };
        assert_eq!(
            output.status.code(),
            Some(1),
            "{}",
            describe(program, &output)
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{program}: {stderr}");
        assert!(stderr.lines().any(|l| l.starts_with("FAIL: ")), "{stderr}");
    }
}
