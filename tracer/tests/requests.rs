//! Request attribution end to end: the real tracer, in both modes, on the
//! lab's pooled-buffer HTTP server (`pooled_buffer_server --serve N`),
//! driven over loopback by 50 concurrent clients in this process, each with
//! its own `X-Request-Id`.
//!
//! - Every ID sent shows on at least one read and one write of the server,
//!   and no event carries an ID that was not sent.
//! - The correct server (`--fixed`) gives no anomaly.
//! - The buggy server sometimes sends one request's response to another
//!   client; the clients see exactly which, and tracer must flag exactly
//!   those: one `request_bleed` per wrong response, with both IDs.
//!
//! Needs root, like the other end-to-end tests; never skips.

mod common;

use common::*;

use std::{
    collections::{BTreeSet, HashSet},
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    process::{Command, Stdio},
    sync::{Arc, Barrier},
    thread,
    time::Duration,
};

use serde_json::Value;

const CLIENTS: usize = 50;
const READS: [&str; 5] = ["read", "recvfrom", "readv", "recvmsg", "pread64"];
const WRITES: [&str; 5] = ["write", "sendto", "writev", "sendmsg", "pwrite64"];

/// One traced run of the server with 50 concurrent requests.
struct Run {
    /// What tracer wrote to `-o`, and where (kept, for a failure's
    /// post-mortem).
    output: String,
    path: std::path::PathBuf,
    /// The IDs the clients sent.
    sent: Vec<String>,
    /// (sent, echoed) for every response that carried another ID.
    wrong: Vec<(String, String)>,
}

/// Runs `tracer record <tracer_args> -o FILE -- pooled_buffer_server
/// --serve 50 [--fixed]` and sends it 50 requests at once.
fn run(tracer_args: &[&str], fixed: bool, name: &str) -> Run {
    let out = scratch(name);
    let mut cmd = Command::new(sibling("tracer"));
    cmd.arg("record")
        .args(tracer_args)
        .arg("-o")
        .arg(&out)
        .arg("--")
        .arg(sibling("pooled_buffer_server"))
        .args(["--serve", &CLIENTS.to_string()]);
    if fixed {
        cmd.arg("--fixed");
    }
    let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let port: u16 = line
        .trim()
        .strip_prefix("port=")
        .unwrap_or_else(|| panic!("server did not start: {line:?}"))
        .parse()
        .unwrap();

    // IDs no other run could produce.
    let tag = format!("{:x}-{}", std::process::id(), name.replace('.', "-"));
    let sent: Vec<String> = (0..CLIENTS).map(|n| format!("rq-{tag}-{n}")).collect();
    let start = Arc::new(Barrier::new(CLIENTS));
    let clients: Vec<_> = sent
        .iter()
        .map(|id| {
            let (id, start) = (id.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                let mut conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
                conn.set_read_timeout(Some(Duration::from_secs(30)))
                    .unwrap();
                write!(
                    conn,
                    "GET / HTTP/1.1\r\nHost: test\r\nX-Request-Id: {id}\r\n\r\n"
                )
                .unwrap();
                let mut response = String::new();
                conn.read_to_string(&mut response).unwrap();
                let echoed = response
                    .lines()
                    .find_map(|l| l.strip_prefix("X-Request-Id: "))
                    .unwrap_or_else(|| panic!("no ID in {response:?}"))
                    .to_string();
                (id, echoed)
            })
        })
        .collect();
    let wrong = clients
        .into_iter()
        .map(|c| c.join().unwrap())
        .filter(|(id, echoed)| id != echoed)
        .collect();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let status = child.wait().unwrap();
    let output = std::fs::read_to_string(&out).unwrap();
    assert!(status.success(), "tracer: {status}\n{rest}\n{output}");
    assert_eq!(rest.trim(), format!("served={CLIENTS}"));
    Run {
        output,
        path: out,
        sent,
        wrong,
    }
}

/// Runs the server under `--json --by-request` and checks what holds for
/// both servers; returns the run and its summary.
fn summary_run(mode: &str, fixed: bool) -> (Run, Value) {
    let name = format!("{mode}-{}.json", if fixed { "fixed" } else { "buggy" });
    let run = run(&["--mode", mode, "--json", "--by-request"], fixed, &name);
    let json: Value = serde_json::from_str(&run.output).unwrap();
    assert_eq!(json["mode"], mode);
    assert_eq!(json["lost_events"], 0, "a trace with holes proves nothing");
    let requests = json["requests"].as_object().expect("requests");
    let sent: HashSet<&str> = run.sent.iter().map(String::as_str).collect();
    for id in requests.keys() {
        assert!(
            sent.contains(id.as_str()),
            "an event carries {id}, never sent"
        );
    }
    for id in &run.sent {
        let request = &requests
            .get(id)
            .unwrap_or_else(|| panic!("no event attributed to {id}"));
        let calls = |names: &[&str]| -> u64 {
            names
                .iter()
                .filter_map(|n| request["syscalls"][n]["calls"].as_u64())
                .sum()
        };
        assert!(calls(&READS) >= 1, "{id}: no read: {request}");
        assert!(calls(&WRITES) >= 1, "{id}: no write: {request}");
        assert!(!request["threads"].as_array().unwrap().is_empty());
        assert!(request["first_ns"].as_u64() <= request["last_ns"].as_u64());
    }
    (run, json)
}

/// The anomalies must be exactly the wrong responses the clients saw.
fn check_bleeds(run: &Run, json: &Value) {
    let anomalies = json["anomalies"].as_array().expect("anomalies");
    let flagged: BTreeSet<(String, String)> = anomalies
        .iter()
        .map(|a| {
            assert_eq!(a["kind"], "request_bleed");
            let attributed = a["attributed"].as_str().unwrap().to_string();
            // The thread that wrote it is one that worked on its request,
            // at a time within that request.
            let request = &json["requests"][&attributed];
            let tid = a["tid"].as_u64().unwrap();
            assert!(
                request["threads"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|t| t.as_u64() == Some(tid)),
                "{a} vs {request}"
            );
            let ts = a["ts_ns"].as_u64().unwrap();
            assert!(
                request["first_ns"].as_u64().unwrap() <= ts,
                "{a} vs {request}"
            );
            assert!(
                ts <= request["last_ns"].as_u64().unwrap(),
                "{a} vs {request}"
            );
            assert!(a["fd"].as_i64().unwrap() > 2, "{a}");
            (attributed, a["found"].as_str().unwrap().to_string())
        })
        .collect();
    assert_eq!(anomalies.len(), flagged.len(), "one anomaly per bleed");
    let seen: BTreeSet<(String, String)> = run.wrong.iter().cloned().collect();
    assert_eq!(flagged, seen, "flagged vs what the clients received");
}

fn correct_server(mode: &str) {
    let (run, json) = summary_run(mode, true);
    assert!(
        run.wrong.is_empty(),
        "the fixed server mixed up {:?}",
        run.wrong
    );
    assert_eq!(json["anomalies"], serde_json::json!([]));
}

/// The bug strikes in some runs only: run until it does (ptrace nearly
/// always), checking every run.
fn buggy_server(mode: &str, must_strike: bool) {
    for attempt in 0..5 {
        let (run, json) = summary_run(mode, false);
        check_bleeds(&run, &json);
        eprintln!("{mode} attempt {attempt}: {} bleeds", run.wrong.len());
        if !run.wrong.is_empty() {
            return;
        }
    }
    assert!(!must_strike, "the bug never struck under {mode} in 5 runs");
}

#[test]
fn correct_server_has_no_anomalies_ebpf() {
    correct_server("ebpf");
}

#[test]
fn correct_server_has_no_anomalies_ptrace() {
    correct_server("ptrace");
}

#[test]
fn buggy_server_bleed_is_flagged_ebpf() {
    buggy_server("ebpf", false);
}

#[test]
fn buggy_server_bleed_is_flagged_ptrace() {
    buggy_server("ptrace", true);
}

/// The lab as it runs by itself (its own 10 client threads in the same
/// process, 5 requests each), where the bug strikes in a good share of runs
/// under eBPF too: whenever it does, the anomalies are exactly the wrong
/// responses it reports; when it does not, there are none. The clients'
/// own reads and writes (new requests on fresh connections) never count.
#[test]
fn self_driven_lab_ebpf() {
    let mut struck = 0;
    for attempt in 0..10 {
        let out = scratch(&format!("self-{attempt}.json"));
        let result = Command::new(sibling("tracer"))
            .args(["record", "--mode", "ebpf", "--json", "--by-request", "-o"])
            .arg(&out)
            .arg("--")
            .arg(sibling("pooled_buffer_server"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&result.stderr);
        let json: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        assert_eq!(json["lost_events"], 0);
        let requests = json["requests"].as_object().expect("requests");
        let sent: Vec<String> = (0..50).map(|n| format!("req-{n}")).collect();
        for id in requests.keys() {
            assert!(sent.contains(id), "an event carries {id}, never sent");
        }
        for id in &sent {
            let names = requests[id]["syscalls"].as_object().unwrap();
            assert!(READS.iter().any(|n| names.contains_key(*n)), "{id}");
            assert!(WRITES.iter().any(|n| names.contains_key(*n)), "{id}");
        }
        let anomalies = json["anomalies"].as_array().unwrap();
        match result.status.code() {
            Some(0) => assert!(anomalies.is_empty(), "{anomalies:?}"),
            Some(1) => {
                // FAIL: response for req-17 carried req-23's body (2 of 50 responses wrong)
                let fail = stderr
                    .lines()
                    .find_map(|l| l.strip_prefix("FAIL: response for "))
                    .unwrap_or_else(|| panic!("{stderr}"));
                let (sent, rest) = fail.split_once(" carried ").unwrap();
                let (got, rest) = rest.split_once("'s body (").unwrap();
                let wrong: usize = rest.split_once(" of ").unwrap().0.parse().unwrap();
                assert_eq!(anomalies.len(), wrong, "{anomalies:?} vs {stderr}");
                assert!(
                    anomalies
                        .iter()
                        .any(|a| a["attributed"] == sent && a["found"] == got),
                    "{anomalies:?} vs {stderr}"
                );
                struck += 1;
            }
            other => panic!("{other:?}: {stderr}"),
        }
    }
    eprintln!("the bug struck in {struck} of 10 runs under eBPF");
}

/// Text mode: request IDs on the lines, and the bleed as a loud line.
#[test]
fn text_lines_carry_requests_and_bleeds() {
    for attempt in 0..5 {
        let run = run(&["--mode", "ptrace"], false, &format!("text-{attempt}.txt"));
        for id in &run.sent {
            assert!(
                run.output.contains(&format!(" [req={id}]\n")),
                "no line for {id}"
            );
        }
        let loud: Vec<_> = run
            .output
            .lines()
            .filter(|l| l.starts_with("!!! "))
            .collect();
        assert_eq!(
            loud.len(),
            run.wrong.len(),
            "{loud:?} vs {:?} (trace: {})",
            run.wrong,
            run.path.display()
        );
        for (sent, got) in &run.wrong {
            let expected = format!(" serving {sent} wrote {got}'s ID to fd ");
            assert!(
                loud.iter()
                    .any(|l| l.starts_with("!!! request bleed: tid ") && l.contains(&expected)),
                "{loud:?}"
            );
        }
        if !run.wrong.is_empty() {
            return;
        }
    }
    panic!("the bug never struck under ptrace in 5 runs");
}
