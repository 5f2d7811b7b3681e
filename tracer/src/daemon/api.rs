//! The daemon's local API: JSON lines over a Unix socket.
//!
//! A client sends one request per line (a JSON object, at most
//! [`MAX_REQUEST_BYTES`]), and gets one JSON object per line back:
//! `{"ok":true,...}` or `{"ok":false,"error":"..."}`. Two requests switch
//! the connection to raw bytes after their first answer line:
//!
//! - `dump`: `{"ok":true,"name":N,"bytes":LEN}` then exactly LEN bytes of
//!   recording, then the connection is closed;
//! - `stream`: `{"ok":true,"watch":ID}` then text lines, as `tracer record`
//!   prints them, until the client closes or the watch ends.
//!
//! Who asks is never taken from the request: the server reads the peer's
//! uid with `SO_PEERCRED`.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Longest request line accepted, newline included.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// Longest process name the kernel keeps (`TASK_COMM_LEN` - 1).
pub const MAX_COMM: usize = 15;

/// One request, as sent by a client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Watch one process (`pid`), every process that execs with a name
    /// (`comm`), or every process that execs in a cgroup v2 directory
    /// (`cgroup`: a path under the cgroup v2 mount, or relative to it as in
    /// `/proc/PID/cgroup`). Exactly one of the three.
    Watch {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pid: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comm: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cgroup: Option<String>,
    },
    /// Stop a watch; its processes are no longer recorded.
    Unwatch { watch: u64 },
    /// The caller's watches, their processes, and the dumps it may read.
    List {},
    /// With `watch`: dump that watch's rings now (a manual trigger). With
    /// `name`: an existing dump. Either way the recording's bytes follow.
    Dump {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        watch: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// Live events of a watch, as text lines.
    Stream { watch: u64 },
    /// Event rates, lost events, memory, observer cost per process.
    Stats {},
}

/// What a watch is on, once a request has been checked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WatchTarget {
    Pid(u32),
    Comm(String),
    /// A cgroup v2 path, starting with `/`. Once the registry has resolved
    /// it (`Host::resolve_cgroup`), relative to the cgroup v2 mount, as in
    /// `/proc/PID/cgroup`; as a request gives it, possibly under the mount.
    Cgroup(String),
}

impl std::fmt::Display for WatchTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WatchTarget::Pid(pid) => write!(f, "pid {pid}"),
            WatchTarget::Comm(comm) => write!(f, "comm {comm}"),
            WatchTarget::Cgroup(path) => write!(f, "cgroup {path}"),
        }
    }
}

/// Why a request was refused before reaching the daemon's state.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ApiError {
    #[error("request larger than {MAX_REQUEST_BYTES} bytes")]
    TooLarge,
    #[error("request is not UTF-8")]
    NotUtf8,
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("watch needs exactly one of pid, comm, cgroup")]
    WatchNeedsOne,
    #[error("{0:?} is not a process name (1 to {MAX_COMM} bytes, no '/' or NUL)")]
    BadComm(String),
    #[error("{0:?} is not a cgroup path (a path in the cgroup v2 tree without '..')")]
    BadCgroup(String),
    #[error("pid must be positive")]
    BadPid,
    #[error("dump needs exactly one of watch, name")]
    DumpTarget,
    #[error("{0:?} is not a dump name")]
    BadDumpName(String),
}

/// Parses one request line (the newline may be there or not). Never panics,
/// whatever the bytes.
pub fn parse_request(line: &[u8]) -> Result<Request, ApiError> {
    if line.len() > MAX_REQUEST_BYTES {
        return Err(ApiError::TooLarge);
    }
    let text = std::str::from_utf8(line).map_err(|_| ApiError::NotUtf8)?;
    let request: Request = serde_json::from_str(text.trim_end_matches(['\n', '\r']))
        .map_err(|e| ApiError::Malformed(e.to_string()))?;
    match &request {
        Request::Watch { pid, comm, cgroup } => {
            target(*pid, comm.as_deref(), cgroup.as_deref())?;
        }
        Request::Dump { watch, name } => match (watch, name) {
            (Some(_), None) => {}
            (None, Some(name)) => check_dump_name(name)?,
            _ => return Err(ApiError::DumpTarget),
        },
        Request::Unwatch { .. } | Request::List {} | Request::Stream { .. } | Request::Stats {} => {
        }
    }
    Ok(request)
}

/// The checked target of a `watch` request.
pub fn target(
    pid: Option<u32>,
    comm: Option<&str>,
    cgroup: Option<&str>,
) -> Result<WatchTarget, ApiError> {
    match (pid, comm, cgroup) {
        (Some(0), None, None) => Err(ApiError::BadPid),
        (Some(pid), None, None) => Ok(WatchTarget::Pid(pid)),
        (None, Some(comm), None) => {
            let ok = !comm.is_empty() && comm.len() <= MAX_COMM && !comm.contains(['/', '\0']);
            if ok {
                Ok(WatchTarget::Comm(comm.to_owned()))
            } else {
                Err(ApiError::BadComm(comm.to_owned()))
            }
        }
        (None, None, Some(path)) => cgroup_path(path).map(WatchTarget::Cgroup),
        _ => Err(ApiError::WatchNeedsOne),
    }
}

/// `a/b/` or `/a/b` → `/a/b`. Rejects `..`, NUL and empty components, so
/// that a path can only name a directory inside the cgroup tree. Where the
/// cgroup v2 tree is mounted is the host's business (`/sys/fs/cgroup`, or
/// `/sys/fs/cgroup/unified` on a hybrid layout): the registry strips it.
fn cgroup_path(path: &str) -> Result<String, ApiError> {
    let bad = || ApiError::BadCgroup(path.to_owned());
    let rel = path.trim_matches('/');
    if path.contains('\0') || path.len() > 4096 {
        return Err(bad());
    }
    if rel.is_empty() {
        return Ok("/".to_owned());
    }
    if rel
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err(bad());
    }
    Ok(format!("/{rel}"))
}

/// Dump names are file names the daemon made: no path separators, no
/// leading dot.
pub fn check_dump_name(name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.+".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ApiError::BadDumpName(name.to_owned()))
    }
}

/// One line of an error answer.
pub fn error_line(message: &str) -> Vec<u8> {
    let mut line = serde_json::to_vec(&serde_json::json!({ "ok": false, "error": message }))
        .unwrap_or_else(|_| br#"{"ok":false,"error":"error"}"#.to_vec());
    line.push(b'\n');
    line
}

/// A watch as `list` shows it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WatchInfo {
    pub id: u64,
    pub target: WatchTarget,
    /// uid of the client that made it (0 for the config file's).
    pub owner: u32,
    pub processes: Vec<ProcessInfo>,
    pub dumps: u64,
    /// Triggers that did not dump because of the rate limit.
    pub suppressed: u64,
    pub streams: usize,
}

/// A watched process, in `list` and `stats`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProcessInfo {
    pub pid: u32,
    pub comm: String,
    pub uid: u32,
    /// Syscalls recorded since it was picked up.
    pub syscalls: u64,
    /// Events in its ring now, and their approximate memory.
    pub ring_events: usize,
    pub ring_bytes: usize,
    /// Events dropped from the ring's old end by `--keep`/`--keep-bytes`.
    pub evicted: u64,
    /// Seconds since it was picked up.
    pub watched_s: f64,
    /// Estimated time the eBPF programs took from it, and that as a share
    /// of the time it has been watched.
    pub observer_ns: Option<u64>,
    pub observer_share: Option<f64>,
}

/// A dump file, in `list`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DumpInfo {
    pub name: String,
    pub watch: u64,
    pub pid: u32,
    /// uid of the process dumped.
    pub uid: u32,
    pub reason: String,
    pub bytes: u64,
    pub events: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ListReply {
    pub watches: Vec<WatchInfo>,
    pub dumps: Vec<DumpInfo>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StatsReply {
    /// Events drained from the kernel per second, over the last second.
    pub events_per_s: f64,
    pub events_total: u64,
    /// Events the kernel could not deliver (ring buffer full), since start.
    pub lost_events: u64,
    /// Memory held by all rings (approximate), and the daemon's RSS.
    pub ring_bytes: usize,
    pub rss_bytes: Option<u64>,
    pub watches: usize,
    pub dumps_written: u64,
    pub dumps_suppressed: u64,
    /// Processes that exec'd under a comm or cgroup watch but were gone
    /// before their owner could be checked: missed by non-root watches.
    #[serde(default)]
    pub missed_unowned: u64,
    /// Average run time of one eBPF program run, from the sampling windows.
    pub ns_per_program_run: Option<f64>,
    pub processes: Vec<ProcessInfo>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_request() {
        let ok = |s: &str| parse_request(s.as_bytes()).unwrap();
        assert_eq!(
            ok(r#"{"cmd":"watch","pid":42}"#),
            Request::Watch {
                pid: Some(42),
                comm: None,
                cgroup: None
            }
        );
        assert_eq!(
            ok("{\"cmd\":\"unwatch\",\"watch\":3}\n"),
            Request::Unwatch { watch: 3 }
        );
        assert_eq!(ok(r#"{"cmd":"list"}"#), Request::List {});
        assert_eq!(ok(r#"{"cmd":"stats"}"#), Request::Stats {});
        assert_eq!(
            ok(r#"{"cmd":"stream","watch":1}"#),
            Request::Stream { watch: 1 }
        );
        assert_eq!(
            ok(r#"{"cmd":"dump","name":"20260101T000000Z-x-1-exit-1.trec"}"#),
            Request::Dump {
                watch: None,
                name: Some("20260101T000000Z-x-1-exit-1.trec".into())
            }
        );
    }

    #[test]
    fn rejects_bad_requests() {
        let err = |s: &str| parse_request(s.as_bytes()).unwrap_err();
        assert!(matches!(err(""), ApiError::Malformed(_)));
        assert!(matches!(err("{}"), ApiError::Malformed(_)));
        assert!(matches!(err(r#"{"cmd":"rm -rf"}"#), ApiError::Malformed(_)));
        assert!(matches!(
            err(r#"{"cmd":"list","uid":0}"#),
            ApiError::Malformed(_)
        ));
        assert_eq!(err(r#"{"cmd":"watch"}"#), ApiError::WatchNeedsOne);
        assert_eq!(
            err(r#"{"cmd":"watch","pid":1,"comm":"x"}"#),
            ApiError::WatchNeedsOne
        );
        assert_eq!(err(r#"{"cmd":"watch","pid":0}"#), ApiError::BadPid);
        assert!(matches!(
            err(r#"{"cmd":"watch","pid":-1}"#),
            ApiError::Malformed(_)
        ));
        assert!(matches!(
            err(r#"{"cmd":"watch","comm":"a/b"}"#),
            ApiError::BadComm(_)
        ));
        assert!(matches!(
            err(r#"{"cmd":"watch","comm":"sixteen-bytes-xx"}"#),
            ApiError::BadComm(_)
        ));
        assert!(matches!(
            err(r#"{"cmd":"watch","cgroup":"/sys/fs/cgroup/../etc"}"#),
            ApiError::BadCgroup(_)
        ));
        assert!(matches!(
            err(r#"{"cmd":"dump","name":"../../etc/shadow"}"#),
            ApiError::BadDumpName(_)
        ));
        assert_eq!(err(r#"{"cmd":"dump"}"#), ApiError::DumpTarget);
        assert_eq!(
            err("\u{ff}").to_string(),
            "malformed request: expected value at line 1 column 1"
        );
        assert_eq!(parse_request(&[0xff, 0xfe]).unwrap_err(), ApiError::NotUtf8);
        let big = vec![b' '; MAX_REQUEST_BYTES + 1];
        assert_eq!(parse_request(&big).unwrap_err(), ApiError::TooLarge);
    }

    #[test]
    fn cgroup_paths_are_normalised() {
        let t = |s: &str| target(None, None, Some(s));
        assert_eq!(
            t("/sys/fs/cgroup/a/b"),
            Ok(WatchTarget::Cgroup("/sys/fs/cgroup/a/b".into()))
        );
        assert_eq!(t("a/b/"), Ok(WatchTarget::Cgroup("/a/b".into())));
        assert_eq!(t("/"), Ok(WatchTarget::Cgroup("/".into())));
        assert!(t("/a//b").is_err());
        assert!(t("/a/./b").is_err());
    }

    /// Fuzzing by mutation: valid requests with bytes flipped, inserted,
    /// deleted and spliced, plus random bytes. The parser must answer every
    /// one with a request or an error, never a panic; and whatever it
    /// accepts must pass its own checks again after a round trip.
    #[test]
    fn fuzz_parser_never_panics() {
        let seeds: &[&[u8]] = &[
            br#"{"cmd":"watch","pid":42}"#,
            br#"{"cmd":"watch","comm":"nginx"}"#,
            br#"{"cmd":"watch","cgroup":"/sys/fs/cgroup/system.slice/x.service"}"#,
            br#"{"cmd":"unwatch","watch":18446744073709551615}"#,
            br#"{"cmd":"dump","watch":1}"#,
            br#"{"cmd":"dump","name":"a-b.trec"}"#,
            br#"{"cmd":"stream","watch":2}"#,
            br#"{"cmd":"list"}"#,
            br#"{"cmd":"stats"}"#,
            br#"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["#,
            br#"{"cmd":"watch","pid":1e400}"#,
            br#""\ud800""#,
        ];
        let mut rng = fastrand::Rng::with_seed(0x7ace);
        let interesting: &[u8] = b"{}[]\":,\\0-1e.\n\0\xff\xc3nulltruefalse";
        let mut accepted = 0;
        for round in 0..200_000 {
            let mut input = seeds[rng.usize(..seeds.len())].to_vec();
            for _ in 0..rng.usize(1..6) {
                let at = rng.usize(..=input.len());
                match rng.u8(..5) {
                    0 if !input.is_empty() => {
                        let i = rng.usize(..input.len());
                        input[i] = rng.u8(..);
                    }
                    1 => input.insert(at, interesting[rng.usize(..interesting.len())]),
                    2 if at < input.len() => {
                        input.remove(at);
                    }
                    3 => {
                        let other = seeds[rng.usize(..seeds.len())];
                        let from = rng.usize(..other.len());
                        input.splice(at..at, other[from..].iter().copied());
                    }
                    _ => input.truncate(at),
                }
            }
            if round % 1000 == 0 {
                input = (0..rng.usize(..300)).map(|_| rng.u8(..)).collect();
            }
            if let Ok(request) = parse_request(&input) {
                accepted += 1;
                let again = serde_json::to_vec(&request).unwrap();
                assert_eq!(parse_request(&again), Ok(request));
            }
        }
        // The mutations must leave some inputs valid, or this tests nothing
        // beyond the JSON parser's error paths.
        assert!(accepted > 1000, "only {accepted} inputs accepted");
    }
}
