//! Every command that takes a length of time refuses a bad one the same
//! way: a message that names the value and says what is wrong, a non-zero
//! exit, never a panic. One parser (`tracer/src/duration.rs`) reads them
//! all; this checks that each command really goes through it.

mod common;

use std::process::Command;

use common::{scratch, tracer};

#[test]
fn a_bad_duration_is_refused_clearly_by_every_command() {
    let me = std::process::id().to_string();
    let config = scratch("daemon-config.json");
    std::fs::write(&config, r#"{"dump_every": "1 parsec"}"#).unwrap();
    let socket = scratch("daemon.sock");
    let dumps = scratch("dumps");
    let daemon = |flag: &str, value: &str| -> Vec<String> {
        [
            "daemon",
            "--socket",
            socket.to_str().unwrap(),
            "--dump-dir",
            dumps.to_str().unwrap(),
            flag,
            value,
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            words(&["compare", "--timeout", "soon", "--", "true"]),
            "'soon' is not a duration",
        ),
        (
            words(&["compare", "--timeout=-1s", "--", "true"]),
            "'-1s' is negative",
        ),
        (
            words(&["compare", "-p", &me, "--window", "10parsecs"]),
            "unknown unit 'parsecs'",
        ),
        (
            words(&["compare", "-p", &me, "--window", "0"]),
            "a window must be greater than 0",
        ),
        (
            words(&["compare", "--modes", "none,delay:read=200", "--", "true"]),
            "'200' has no unit",
        ),
        (
            words(&["amplify", "--delay", "0us", "--", "true"]),
            "amplify's delay must be greater than 0",
        ),
        (
            words(&["amplify", "--timeout", "366d", "--", "true"]),
            "'366d' is too long",
        ),
        (
            words(&["delay", "read=0.5ns", "--", "true"]),
            "'0.5ns' is not a whole number of nanoseconds",
        ),
        (
            words(&["report", "--since", "99999999999999999999s", "x.rec"]),
            "is too long",
        ),
        (
            words(&["report", "--until", "", "x.rec"]),
            "an empty duration",
        ),
        (daemon("--keep", "0"), "--keep must be greater than 0"),
        (
            daemon("--after", "2 fortnights"),
            "unknown unit 'fortnights'",
        ),
        (
            daemon("--config", config.to_str().unwrap()),
            "unknown unit 'parsec'",
        ),
    ];
    for (args, says) in &cases {
        let out = Command::new(tracer()).args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded: {err}");
        let code = out.status.code();
        // clap's usage errors exit 2; the daemon reads its config (and
        // its flags with it) after parsing, an error of its own: 1.
        let expected = if args[0] == "daemon" { 1 } else { 2 };
        assert_eq!(code, Some(expected), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: wanted {says:?} in {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    // The daemon gave up before it made anything.
    assert!(!socket.exists() && !dumps.exists());
}

fn words(args: &[&str]) -> Vec<String> {
    args.iter().map(|&a| a.to_owned()).collect()
}
