//! Writing rings to recording files, named by when and why (names made
//! safe by [`sanitize`]), and keeping the dump directory bounded.

use std::{
    fs,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use anyhow::{Context as _, Result};

use super::{api::DumpInfo, triggers::Reason};
use crate::{
    clock::clock_ns,
    pipeline::{RunInfo, Sink, Tasks},
    recording::{Header, Item, Writer},
};

/// A ring to be written to disk, by the dumper.
pub struct DumpJob {
    pub watch: u64,
    pub pid: u32,
    pub uid: u32,
    pub comm: String,
    pub reason: Reason,
    /// `CLOCK_MONOTONIC` ns of the trigger.
    pub trigger_ns: u64,
    pub items: Vec<Item>,
    /// The kernel's lost-event total at the time of the dump.
    pub lost: u64,
    /// Captured data was kept whole (`--keep-payload`).
    pub keep_payload: bool,
    /// Who waits for the file (a `ctl dump`), if anyone.
    pub reply: Option<tokio::sync::oneshot::Sender<Result<DumpInfo, String>>>,
}

/// Dumps end with this; only such files are ever deleted by the daemon.
pub const EXTENSION: &str = "trec";

/// The dumps this daemon wrote (or found at start), newest last, shared by
/// the dumper thread and the API.
pub type Index = Arc<Mutex<Vec<DumpInfo>>>;

/// `20261123T142008Z-app-1234-exit-1.trec`: UTC time of the trigger, the
/// process's name and pid, the reason.
pub fn name(job: &DumpJob) -> String {
    let real_ns = clock_ns(libc::CLOCK_REALTIME) as i128
        - (clock_ns(libc::CLOCK_MONOTONIC) as i128 - job.trigger_ns as i128);
    format!(
        "{}-{}-{}-{}.{EXTENSION}",
        utc_stamp((real_ns.max(0) / 1_000_000_000) as i64),
        sanitize(&job.comm),
        job.pid,
        job.reason
    )
}

/// Letters, digits, `-` and `_` only: safe in a file name.
pub fn sanitize(text: &str) -> String {
    let s: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    if s.is_empty() { "_".into() } else { s }
}

/// `YYYYMMDDTHHMMSSZ` of `secs` since the epoch.
pub fn utc_stamp(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Writes `job` into `dir` (mode 0600) and returns what `list` shows.
pub fn write(dir: &Path, job: &DumpJob) -> Result<DumpInfo> {
    let mut file_name = name(job);
    let mut n = 1;
    while dir.join(&file_name).exists() {
        n += 1;
        file_name = format!(
            "{}.{n}.{EXTENSION}",
            name(job).trim_end_matches(&format!(".{EXTENSION}"))
        );
    }
    let path = dir.join(&file_name);
    let command = vec![job.comm.clone()];
    let mut header = Header::now("ebpf", command, vec![job.pid], job.keep_payload);
    let first = job.items.first().map_or(job.trigger_ns, Item::ts);
    let last = job.items.last().map_or(job.trigger_ns, Item::ts);
    header.start_ns = first;
    let mut writer = Writer::create(&path, &header)?;
    let tasks = Tasks::default();
    let mut syscalls = 0;
    for item in &job.items {
        match item {
            Item::Event(crate::event::Event::Syscall(ev)) => {
                syscalls += 1;
                writer.syscall(ev, &tasks)
            }
            Item::Event(crate::event::Event::Task(task)) => writer.task(task, &tasks),
            Item::Anomaly(anomaly) => writer.anomaly(anomaly, &tasks),
        }
        .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let run = RunInfo {
        mode: "ebpf",
        lost_events: job.lost,
        syscalls,
        start_ns: first,
        end_ns: last.max(first),
        observer: None,
    };
    writer
        .finish(&run, &tasks)
        .with_context(|| format!("cannot write {}", path.display()))?;
    let bytes = fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    Ok(DumpInfo {
        name: file_name,
        watch: job.watch,
        pid: job.pid,
        uid: job.uid,
        reason: job.reason.to_string(),
        bytes,
        events: job.items.len(),
    })
}

/// Deletes the oldest dumps (by name, which starts with the time) until at
/// most `keep` remain. Only files ending in `.trec` are touched.
pub fn prune(dir: &Path, keep: usize, index: &Index) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(&format!(".{EXTENSION}")) && !n.starts_with('.'))
        .collect();
    if names.len() <= keep {
        return;
    }
    names.sort();
    let excess = names.len() - keep;
    for name in &names[..excess] {
        match fs::remove_file(dir.join(name)) {
            Ok(()) => eprintln!("tracer-daemon: removed old dump {name} (--max-dumps {keep})"),
            Err(e) => eprintln!("tracer-daemon: cannot remove old dump {name}: {e}"),
        }
    }
    if let Ok(mut index) = index.lock() {
        index.retain(|d| !names[..excess].contains(&d.name));
    }
}

/// The dumper thread: writes each job, records it in the index, answers a
/// waiting `ctl dump`.
pub fn run(
    dir: PathBuf,
    max_dumps: usize,
    index: Index,
    jobs: std::sync::mpsc::Receiver<DumpJob>,
    written: Arc<std::sync::atomic::AtomicU64>,
) {
    for mut job in jobs {
        prune(&dir, max_dumps.saturating_sub(1), &index);
        let result = write(&dir, &job);
        match &result {
            Ok(info) => {
                eprintln!(
                    "tracer-daemon: wrote {} ({} events, {} bytes)",
                    dir.join(&info.name).display(),
                    info.events,
                    info.bytes
                );
                written.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if let Ok(mut index) = index.lock() {
                    index.push(info.clone());
                }
            }
            Err(e) => eprintln!("tracer-daemon: dump of pid {} failed: {e:#}", job.pid),
        }
        if let Some(reply) = job.reply.take() {
            let _ = reply.send(result.map_err(|e| format!("{e:#}")));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_stamps() {
        assert_eq!(utc_stamp(0), "19700101T000000Z");
        assert_eq!(utc_stamp(951_782_400), "20000229T000000Z");
        assert_eq!(utc_stamp(1_795_443_608), "20261123T142008Z");
    }

    #[test]
    fn sanitized_names_stay_in_the_directory() {
        assert_eq!(sanitize("../../etc/passwd"), "______etc_passwd");
        assert_eq!(sanitize(""), "_");
        assert_eq!(sanitize("panicked at"), "panicked_at");
        assert_eq!(sanitize(&"x".repeat(100)).len(), 40);
    }
}
