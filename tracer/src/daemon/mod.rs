//! `tracer daemon`: an always-on flight recorder.
//!
//! One process owns the eBPF programs (on a collector thread, see
//! [`collector`]), keeps a registry of watches and a bounded ring of recent
//! events per watched process ([`registry`], with [`ring`], [`triggers`],
//! [`ending`], [`streams`]; the machine reached through [`host`]), writes
//! rings to recording files when something goes wrong ([`dump`]), and
//! serves a local API on a Unix socket ([`api`], served here with tokio;
//! the socket in [`socket`], who may connect how often in [`clients`]).
//! `tracer ctl` is its client.

pub mod api;
mod clients;
mod collector;
mod dump;
mod ending;
pub(crate) mod host;
mod registry;
mod ring;
mod socket;
mod streams;
mod triggers;

use std::{
    io::ErrorKind,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, atomic::AtomicU64},
    time::Duration,
};

use anyhow::{Context as _, Result, bail};
use clap::Args;
use serde::Deserialize;
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::{UnixListener, UnixStream},
    sync::{mpsc, oneshot},
};

use self::{
    api::{ApiError, MAX_REQUEST_BYTES, Request},
    collector::Command,
    registry::{Registry, Settings},
    ring::Keep,
    triggers::DEFAULT_PATTERNS,
};
use crate::stdio::note;
use crate::{
    duration, ebpf::EbpfSource, request::patterns::Patterns, syscalls::filter::SyscallFilter,
};

pub const DEFAULT_SOCKET: &str = "/run/tracer/daemon.sock";
const DEFAULT_DUMP_DIR: &str = "/var/lib/tracer/dumps";

#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// Unix socket of the API.
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Directory for dumps (created 0700).
    #[arg(long, value_name = "DIR")]
    pub dump_dir: Option<PathBuf>,
    /// JSON file with any of the options below (command-line options win),
    /// and `"watch": [{"comm": NAME} | {"cgroup": PATH} | {"pid": N}]`.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Group that may connect to the socket (mode 0660). Default: `tracer`
    /// if that group exists, else root only (0600).
    #[arg(long, value_name = "GROUP")]
    pub socket_group: Option<String>,
    /// Keep this much recent history per process (e.g. 30s, 2m).
    #[arg(long, value_name = "DURATION")]
    pub keep: Option<String>,
    /// ...and at most this many bytes of it per process (e.g. 64MiB).
    #[arg(long, value_name = "BYTES")]
    pub keep_bytes: Option<String>,
    /// After-context: how long to go on recording after a trigger.
    #[arg(long, value_name = "DURATION")]
    pub after: Option<String>,
    /// Regex that triggers a dump when a process writes it. Repeatable;
    /// added to the defaults (panic:, panicked at, Traceback, KeyError,
    /// DATA RACE, AddressSanitizer).
    #[arg(long = "pattern", value_name = "REGEX")]
    pub patterns: Vec<String>,
    /// Do not use the default patterns.
    #[arg(long)]
    pub no_default_patterns: bool,
    /// Also find request IDs with REGEX (exactly one capture group), as
    /// `record --request-id`. Repeatable.
    #[arg(long = "request-id", value_name = "REGEX")]
    pub request_ids: Vec<String>,
    /// Do not use the built-in request ID patterns (X-Request-Id,
    /// traceparent, req= tokens).
    #[arg(long)]
    pub no_default_request_ids: bool,
    /// Rate limit per watch: at most this many dumps in a burst...
    #[arg(long, value_name = "N")]
    pub dump_burst: Option<u32>,
    /// ...then one per this long.
    #[arg(long, value_name = "DURATION")]
    pub dump_every: Option<String>,
    /// Keep at most this many dumps in the directory; the oldest go.
    #[arg(long, value_name = "N")]
    pub max_dumps: Option<usize>,
    /// Bytes of data captured per read/write (for patterns and request
    /// attribution; 0 turns capture off; at most 4096). Default 512.
    #[arg(long, value_name = "BYTES")]
    pub capture: Option<u32>,
    /// Size of the eBPF ring buffer (power of two).
    #[arg(long, value_name = "BYTES")]
    pub ring_size: Option<String>,
    /// At SIGTERM, dump every watched process's ring before exiting.
    #[arg(long)]
    pub flush_on_exit: bool,
    /// Keep captured data whole in rings and dumps. By default only the
    /// 32-byte prefix `record` shows is kept (after patterns and request
    /// attribution have seen all of it): data can hold passwords.
    #[arg(long)]
    pub keep_payload: bool,
    /// `-k` for watched processes: take the user stack of the syscalls in
    /// SET (an `-e` expression, e.g. `trace=openat,connect`, or `all`) and
    /// keep it, symbolized, in rings and dumps.
    #[arg(long, value_name = "SET")]
    pub stacks: Option<String>,
}

/// The config file: the same options, and watches to start with.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    socket: Option<PathBuf>,
    dump_dir: Option<PathBuf>,
    socket_group: Option<String>,
    keep: Option<String>,
    keep_bytes: Option<String>,
    after: Option<String>,
    #[serde(default)]
    patterns: Vec<String>,
    #[serde(default)]
    no_default_patterns: bool,
    #[serde(default)]
    request_ids: Vec<String>,
    #[serde(default)]
    no_default_request_ids: bool,
    dump_burst: Option<u32>,
    dump_every: Option<String>,
    max_dumps: Option<usize>,
    capture: Option<u32>,
    ring_size: Option<String>,
    #[serde(default)]
    flush_on_exit: bool,
    #[serde(default)]
    keep_payload: bool,
    stacks: Option<String>,
    #[serde(default)]
    watch: Vec<ConfigWatch>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigWatch {
    pid: Option<u32>,
    comm: Option<String>,
    cgroup: Option<String>,
}

/// Everything resolved: flags over config over defaults.
struct Resolved {
    socket: PathBuf,
    dump_dir: PathBuf,
    socket_group: Option<String>,
    settings: Settings,
    max_dumps: usize,
    capture: u32,
    ring_size: u32,
    flush_on_exit: bool,
    watches: Vec<api::WatchTarget>,
    /// `--stacks`: the syscalls whose user stacks are taken.
    stacks: Option<SyscallFilter>,
}

fn resolve(args: DaemonArgs) -> Result<Resolved> {
    let config: Config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            serde_json::from_str(&text)
                .with_context(|| format!("{} is not a valid config", path.display()))?
        }
        None => Config::default(),
    };
    let duration =
        |flag: Option<String>, conf: Option<String>, default: &str, what: &'static str| {
            let text = flag.or(conf).unwrap_or_else(|| default.to_owned());
            // `--keep 0` would keep nothing; `--after 0` dumps at once and
            // `--dump-every 0` does not limit the rate, both meaningful.
            let rule = duration_rule(what, what != "--keep");
            let d = rule
                .parse(&text)
                .with_context(|| format!("invalid {what}"))?;
            // At most a year: fits.
            Ok::<u64, anyhow::Error>(d.as_nanos() as u64)
        };
    let size = |flag: Option<String>, conf: Option<String>, default: &str, what: &str| {
        let text = flag.or(conf).unwrap_or_else(|| default.to_owned());
        parse_size::Config::new()
            .with_binary()
            .parse_size(&text)
            .with_context(|| format!("invalid {what} {text:?}"))
    };
    let mut patterns: Vec<(String, String)> = Vec::new();
    if !(args.no_default_patterns || config.no_default_patterns) {
        for p in DEFAULT_PATTERNS {
            patterns.push((dump::sanitize(p), regex::escape(p)));
        }
    }
    for (i, p) in config.patterns.iter().chain(&args.patterns).enumerate() {
        regex::bytes::Regex::new(p).with_context(|| format!("invalid --pattern {p:?}"))?;
        patterns.push((format!("user{}", i + 1), p.clone()));
    }
    let mut request_ids = Vec::new();
    for p in config.request_ids.iter().chain(&args.request_ids) {
        request_ids.push(
            crate::request::patterns::parse(p)
                .with_context(|| format!("invalid --request-id {p:?}"))?,
        );
    }
    let request_ids = Patterns::new(
        request_ids,
        !(args.no_default_request_ids || config.no_default_request_ids),
    );
    let ring_size = size(args.ring_size, config.ring_size, "64MiB", "--ring-size")?;
    let ring_size = u32::try_from(ring_size)
        .ok()
        .filter(|r| *r >= 4096 && r.is_power_of_two())
        .context("--ring-size must be a power of two from 4 KiB to 2 GiB")?;
    let mut watches = Vec::new();
    for w in &config.watch {
        watches.push(api::target(w.pid, w.comm.as_deref(), w.cgroup.as_deref())?);
    }
    let stacks = match args.stacks.or(config.stacks) {
        Some(set) => Some(
            SyscallFilter::parse(&[set.as_str()])
                .with_context(|| format!("invalid --stacks {set:?}"))?,
        ),
        None => None,
    };
    let dump_dir = args
        .dump_dir
        .or(config.dump_dir)
        .unwrap_or_else(|| DEFAULT_DUMP_DIR.into());
    Ok(Resolved {
        socket: args
            .socket
            .or(config.socket)
            .unwrap_or_else(|| DEFAULT_SOCKET.into()),
        socket_group: args.socket_group.or(config.socket_group),
        settings: Settings {
            keep: Keep {
                ns: duration(args.keep, config.keep, "30s", "--keep")?,
                bytes: usize::try_from(size(
                    args.keep_bytes,
                    config.keep_bytes,
                    "64MiB",
                    "--keep-bytes",
                )?)?,
            },
            after_ns: duration(args.after, config.after, "2s", "--after")?,
            patterns,
            burst: args.dump_burst.or(config.dump_burst).unwrap_or(3).max(1),
            refill_ns: duration(args.dump_every, config.dump_every, "60s", "--dump-every")?,
            keep_payload: args.keep_payload || config.keep_payload,
            request_ids,
        },
        dump_dir,
        max_dumps: args.max_dumps.or(config.max_dumps).unwrap_or(100).max(1),
        capture: args.capture.or(config.capture).unwrap_or(512),
        ring_size,
        flush_on_exit: args.flush_on_exit || config.flush_on_exit,
        watches,
        stacks,
    })
}

/// How `--keep`, `--after` and `--dump-every` (and their config keys)
/// read: `500ms`, `30s`, `2m`, `1h`, a bare number as seconds.
fn duration_rule(flag: &'static str, zero_ok: bool) -> duration::Rule {
    duration::Rule {
        what: flag,
        bare: duration::Bare::Seconds,
        min: if zero_ok {
            Duration::ZERO
        } else {
            Duration::from_nanos(1)
        },
        min_why: "",
        max: duration::MAX,
    }
}

/// Runs the daemon until SIGTERM or SIGINT.
pub fn run(args: DaemonArgs) -> Result<crate::exit::Exit> {
    let config = resolve(args)?;
    // First, so that a daemon that cannot serve gives up before it loads
    // anything; the socket is removed when `bound` is dropped, only if it
    // is still this daemon's.
    let (listener, bound) = socket::bind(&config.socket, config.socket_group.as_deref())?;
    // Dumps hold what processes read and wrote: root only.
    dump::prepare_dir(&config.dump_dir)?;
    // Its dumps are recordings and its streams lines: both show the
    // structures behind pointers.
    let mut source = EbpfSource::load(
        config.ring_size,
        config.capture,
        true,
        &SyscallFilter::all(),
    )
    .context("cannot load the eBPF programs")?;
    if let Some(stacks) = &config.stacks {
        source
            .stacks(stacks)
            .context("cannot take stacks (--stacks)")?;
    }
    // Checked here, built on the collector thread (it is not `Send`).
    Registry::new(config.settings.clone())?;

    let index: dump::Index = Arc::new(Mutex::new(Vec::new()));
    let written = Arc::new(AtomicU64::new(0));
    let (job_tx, job_rx) = std::sync::mpsc::channel();
    let dumper = {
        let (dir, index, written) = (
            config.dump_dir.clone(),
            Arc::clone(&index),
            Arc::clone(&written),
        );
        let max = config.max_dumps;
        std::thread::Builder::new()
            .name("dumper".into())
            .spawn(move || dump::run(dir, max, index, job_rx, written))?
    };
    let (cmd_tx, cmd_rx) = std::sync::mpsc::channel();
    let collector = {
        let (index, written) = (Arc::clone(&index), Arc::clone(&written));
        let settings = config.settings.clone();
        std::thread::Builder::new()
            .name("collector".into())
            .spawn(move || match Registry::new(settings) {
                Ok(recorder) => collector::run(source, recorder, cmd_rx, job_tx, index, written),
                Err(e) => note!("tracer-daemon: {e:#}"),
            })?
    };
    for target in &config.watches {
        let (reply, rx) = oneshot::channel();
        let _ = cmd_tx.send(Command::Watch {
            target: target.clone(),
            uid: 0,
            reply,
        });
        match rx.blocking_recv() {
            Ok(Ok(id)) => note!("tracer-daemon: config watch {id}: {target}"),
            Ok(Err(e)) => note!("tracer-daemon: config watch {target}: {e}"),
            Err(_) => bail!("the collector stopped"),
        }
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let served = runtime.block_on(serve(&config, listener, cmd_tx.clone(), Arc::clone(&index)));
    let _ = cmd_tx.send(Command::Shutdown {
        flush: config.flush_on_exit,
    });
    drop(cmd_tx);
    let _ = collector.join();
    let _ = dumper.join();
    drop(bound);
    note!("tracer-daemon: stopped");
    served.map(|()| crate::exit::Exit::Code(0))
}

/// A client that sends nothing for this long between requests is dropped
/// (`ctl` sends its request at once; a stream is not idle).
const IDLE: Duration = Duration::from_secs(5);

async fn serve(
    config: &Resolved,
    listener: std::os::unix::net::UnixListener,
    commands: std::sync::mpsc::Sender<Command>,
    index: dump::Index,
) -> Result<()> {
    let listener = UnixListener::from_std(listener).context("cannot serve the socket")?;
    note!(
        "tracer-daemon: listening on {}, dumps in {}",
        config.socket.display(),
        config.dump_dir.display()
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let admission = clients::Admission::new(clients::LIMITS);
    let dump_dir = Arc::new(config.dump_dir.clone());
    loop {
        tokio::select! {
            _ = term.recv() => { note!("tracer-daemon: SIGTERM, stopping"); break; }
            _ = int.recv() => { note!("tracer-daemon: SIGINT, stopping"); break; }
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        note!("tracer-daemon: accept: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                // Who is asking, from the kernel, not from the request.
                let uid = match stream.peer_cred() {
                    Ok(cred) => cred.uid(),
                    Err(e) => {
                        note!("tracer-daemon: SO_PEERCRED: {e}");
                        continue;
                    }
                };
                // Never wait here: that would hold up SIGTERM and others.
                let slot = match admission.admit(uid) {
                    Ok(slot) => slot,
                    Err(refusal) => {
                        tokio::spawn(async move {
                            let mut stream = stream;
                            let busy = api::error_line(&refusal.to_string());
                            let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(&busy)).await;
                        });
                        continue;
                    }
                };
                let (commands, index, dump_dir) =
                    (commands.clone(), Arc::clone(&index), Arc::clone(&dump_dir));
                tokio::spawn(async move {
                    if let Err(e) = client(stream, uid, commands, index, &dump_dir).await {
                        note!("tracer-daemon: client: {e:#}");
                    }
                    drop(slot);
                });
            }
        }
    }
    Ok(())
}

/// Serves one connection: requests until EOF, or one dump or stream.
async fn client(
    stream: UnixStream,
    uid: u32,
    commands: std::sync::mpsc::Sender<Command>,
    index: dump::Index,
    dump_dir: &Path,
) -> Result<()> {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let mut line = Vec::with_capacity(256);
    loop {
        line.clear();
        let mut limited = (&mut read).take(MAX_REQUEST_BYTES as u64 + 1);
        let n = match tokio::time::timeout(IDLE, limited.read_until(b'\n', &mut line)).await {
            Ok(Ok(n)) => n,
            Ok(Err(e)) if e.kind() == ErrorKind::InvalidData => 0,
            Ok(Err(e)) => return Err(e.into()),
            Err(_) => return Ok(()),
        };
        if n == 0 {
            return Ok(());
        }
        if line.len() > MAX_REQUEST_BYTES {
            write
                .write_all(&api::error_line(&ApiError::TooLarge.to_string()))
                .await?;
            // The rest of the line is not read: the connection ends here.
            return Ok(());
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let request = match api::parse_request(&line) {
            Ok(request) => request,
            Err(e) => {
                write.write_all(&api::error_line(&e.to_string())).await?;
                continue;
            }
        };
        match request {
            Request::Stream { watch } => {
                let (tx, mut rx) = mpsc::channel(STREAM_QUEUE);
                let result = ask(&commands, |reply| Command::Stream {
                    watch,
                    uid,
                    tx,
                    reply,
                })
                .await?;
                if let Err(e) = result {
                    write.write_all(&api::error_line(&e)).await?;
                    continue;
                }
                write
                    .write_all(&ok_line(serde_json::json!({ "watch": watch })))
                    .await?;
                // Until the watch ends or the client hangs up (noticed even
                // when no events flow).
                let mut scratch = [0u8; 256];
                loop {
                    tokio::select! {
                        chunk = rx.recv() => match chunk {
                            Some(chunk) => {
                                if write.write_all(&chunk).await.is_err() {
                                    break;
                                }
                            }
                            None => break,
                        },
                        n = read.read(&mut scratch) => {
                            if !matches!(n, Ok(n) if n > 0) {
                                break;
                            }
                        }
                    }
                }
                return Ok(());
            }
            Request::Dump { watch, name } => {
                let info = match (watch, name) {
                    (Some(watch), _) => {
                        ask(&commands, |reply| Command::Dump { watch, uid, reply }).await?
                    }
                    (None, Some(name)) => find_dump(&index, &name, uid),
                    (None, None) => Err(ApiError::DumpTarget.to_string()),
                };
                let info = match info {
                    Ok(info) => info,
                    Err(e) => {
                        write.write_all(&api::error_line(&e)).await?;
                        continue;
                    }
                };
                let path = dump_dir.join(&info.name);
                let bytes = match tokio::task::spawn_blocking(move || std::fs::read(path)).await? {
                    Ok(bytes) => bytes,
                    Err(e) => {
                        write
                            .write_all(&api::error_line(&format!("cannot read {}: {e}", info.name)))
                            .await?;
                        continue;
                    }
                };
                let head = serde_json::json!({
                    "name": info.name, "bytes": bytes.len(), "reason": info.reason, "pid": info.pid,
                });
                write.write_all(&ok_line(head)).await?;
                write.write_all(&bytes).await?;
                return Ok(());
            }
            Request::Watch { pid, comm, cgroup } => {
                let answer = match api::target(pid, comm.as_deref(), cgroup.as_deref()) {
                    Ok(target) => ask(&commands, |reply| Command::Watch { target, uid, reply })
                        .await?
                        .map(|id| serde_json::json!({ "watch": id })),
                    Err(e) => Err(e.to_string()),
                };
                write.write_all(&answer_line(answer)).await?;
            }
            Request::Unwatch { watch } => {
                let answer = ask(&commands, |reply| Command::Unwatch { watch, uid, reply })
                    .await?
                    .map(|()| serde_json::json!({ "watch": watch }));
                write.write_all(&answer_line(answer)).await?;
            }
            Request::List {} => {
                let list = ask(&commands, |reply| Command::List { uid, reply }).await?;
                write
                    .write_all(&answer_line(Ok(serde_json::to_value(list)?)))
                    .await?;
            }
            Request::Stats {} => {
                let stats = ask(&commands, |reply| Command::Stats { uid, reply }).await?;
                write
                    .write_all(&answer_line(Ok(serde_json::to_value(stats)?)))
                    .await?;
            }
        }
    }
}

/// Chunks of text a stream may have in flight to a slow client; beyond
/// that the collector drops lines for it rather than wait.
const STREAM_QUEUE: usize = 256;

/// Sends a command to the collector and waits for its answer.
async fn ask<T>(
    commands: &std::sync::mpsc::Sender<Command>,
    make: impl FnOnce(oneshot::Sender<T>) -> Command,
) -> Result<T> {
    let (reply, rx) = oneshot::channel();
    commands
        .send(make(reply))
        .map_err(|_| anyhow::anyhow!("the collector stopped"))?;
    rx.await
        .map_err(|_| anyhow::anyhow!("the collector stopped"))
}

fn find_dump(index: &dump::Index, name: &str, uid: u32) -> Result<api::DumpInfo, String> {
    api::check_dump_name(name).map_err(|e| e.to_string())?;
    let found = index
        .lock()
        .map_err(|_| "dump index unavailable".to_owned())?
        .iter()
        .find(|d| d.name == name)
        .cloned();
    match found {
        Some(d) if uid == 0 || d.uid == uid => Ok(d),
        // Root may fetch any file in the dump directory, e.g. from before
        // a restart; others only their processes' dumps of this run.
        None if uid == 0 => Ok(api::DumpInfo {
            name: name.to_owned(),
            watch: 0,
            pid: 0,
            uid: 0,
            reason: String::new(),
            bytes: 0,
            events: 0,
        }),
        _ => Err(format!("no dump {name}")),
    }
}

fn ok_line(mut value: serde_json::Value) -> Vec<u8> {
    if let Some(map) = value.as_object_mut() {
        map.insert("ok".into(), true.into());
    }
    let mut line = serde_json::to_vec(&value).unwrap_or_default();
    line.push(b'\n');
    line
}

fn answer_line(answer: Result<serde_json::Value, String>) -> Vec<u8> {
    match answer {
        Ok(value) => ok_line(value),
        Err(e) => api::error_line(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let ns = |t: &str| duration_rule("x", true).parse(t).unwrap().as_nanos();
        assert_eq!(ns("30s"), 30_000_000_000);
        assert_eq!(ns("500ms"), 500_000_000);
        assert_eq!(ns("2m"), 120_000_000_000);
        assert_eq!(ns("1.5"), 1_500_000_000);
        assert_eq!(ns("0"), 0);
        assert!(duration_rule("x", false).parse("0s").is_err());
        for bad in ["s", "5 parsecs", "1e30", "-1s", ""] {
            assert!(duration_rule("x", true).parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn request_id_patterns_are_checked_like_records() {
        use clap::Parser as _;
        let args = |extra: &[&str]| {
            let cli = crate::cli::Cli::try_parse_from(
                ["tracer", "daemon"].iter().chain(extra.iter()).copied(),
            )
            .unwrap();
            match cli.command {
                crate::cli::Command::Daemon(args) => args,
                _ => unreachable!("parsed as another command"),
            }
        };
        let patterns = |extra: &[&str]| match resolve(args(extra)) {
            Ok(resolved) => resolved.settings.request_ids,
            Err(e) => panic!("{e:#}"),
        };
        assert!(!patterns(&["--request-id", r"trace=(\w+)"]).is_empty());
        assert!(patterns(&["--no-default-request-ids"]).is_empty());
        assert!(
            !patterns(&["--no-default-request-ids", "--request-id", r"trace=(\w+)"]).is_empty()
        );
        let Err(err) = resolve(args(&["--request-id", "no-group"])) else {
            panic!("a pattern without a capture group was accepted");
        };
        assert!(
            format!("{err:#}").contains("invalid --request-id"),
            "{err:#}"
        );
    }
}
