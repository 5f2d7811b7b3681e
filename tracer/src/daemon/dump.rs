//! Writing rings to recording files, named by when and why (names made
//! safe by [`sanitize`]), and keeping the dump directory bounded. Stacks
//! (`--stacks`) are symbolized as they are written.
//!
//! Dumps hold what processes read and wrote, and the daemon runs as root:
//! the directory must be the daemon's own ([`prepare_dir`] refuses one that
//! another user owns or could replace), and every file is created
//! exclusively, never through a symlink, mode 0600 ([`create_exclusive`]).

use std::{
    fs::{self, File},
    io::{BufWriter, ErrorKind},
    os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use anyhow::{Context as _, Result, bail};

use super::{api::DumpInfo, triggers::Reason};
use crate::{
    clock::clock_ns,
    event::Event,
    pipeline::{RunInfo, Sink, Tasks},
    recording::{Header, Item, Writer},
    stacks::symbolize::Symbolizer,
    stdio::note,
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
    let (file, file_name) = create_exclusive(dir, &name(job))?;
    let path = dir.join(&file_name);
    let command = vec![job.comm.clone()];
    let mut header = Header::now("ebpf", command, vec![job.pid], job.keep_payload);
    let first = job.items.first().map_or(job.trigger_ns, Item::ts);
    let last = job.items.last().map_or(job.trigger_ns, Item::ts);
    header.start_ns = first;
    let mut writer = Writer::new(BufWriter::with_capacity(1 << 16, file), &header)
        .with_context(|| format!("cannot write {}", path.display()))?;
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
        lost_tasks: 0,
        lost_captures: 0,
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

/// Creates a new file in `dir` named `name`, or `STEM.2.trec`, `STEM.3.trec`
/// ... when that exists: exclusively (`O_EXCL`), never through a symlink
/// (`O_NOFOLLOW`), mode 0600. Returns it with the name it got.
pub fn create_exclusive(dir: &Path, name: &str) -> Result<(File, String)> {
    let stem = name.trim_end_matches(&format!(".{EXTENSION}"));
    let mut file_name = name.to_owned();
    for n in 2..1000 {
        let path = dir.join(&file_name);
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
        {
            Ok(file) => return Ok((file, file_name)),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                file_name = format!("{stem}.{n}.{EXTENSION}");
            }
            Err(e) => return Err(e).with_context(|| format!("cannot create {}", path.display())),
        }
    }
    bail!(
        "cannot create {name} in {}: too many dumps of that name",
        dir.display()
    )
}

/// Makes `dir` ready for dumps: created 0700 when missing; refused when it
/// is not a directory of this daemon's user, or when a directory above it
/// could be changed by another user (who could then swap it); narrowed to
/// 0700 (saying so) when it was open to others.
pub fn prepare_dir(dir: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let meta =
        fs::symlink_metadata(dir).with_context(|| format!("cannot stat {}", dir.display()))?;
    if !meta.is_dir() {
        bail!("--dump-dir {} is not a directory", dir.display());
    }
    // SAFETY: geteuid cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        bail!(
            "--dump-dir {} belongs to uid {}, not to this daemon (uid {me}): its owner could read \
             and replace the dumps. Refusing it: choose another directory, or chown it to uid {me}",
            dir.display(),
            meta.uid()
        );
    }
    let full =
        fs::canonicalize(dir).with_context(|| format!("cannot resolve {}", dir.display()))?;
    for above in full.ancestors().skip(1) {
        let m = fs::metadata(above).with_context(|| format!("cannot stat {}", above.display()))?;
        let others_write = m.mode() & 0o022 != 0 && m.mode() & 0o1000 == 0;
        if (m.uid() != 0 && m.uid() != me) || others_write {
            bail!(
                "--dump-dir {}: {} can be changed by others (owner uid {}, mode {:o}), who could \
                 swap the dump directory. Refusing it: choose a directory under one only root can change",
                dir.display(),
                above.display(),
                m.uid(),
                m.mode() & 0o7777
            );
        }
    }
    if meta.mode() & 0o077 != 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot make {} private", dir.display()))?;
        note!(
            "tracer-daemon: {} was mode {:o}; made it 0700 (dumps are private)",
            dir.display(),
            meta.mode() & 0o777
        );
    }
    Ok(())
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
            Ok(()) => note!("tracer-daemon: removed old dump {name} (--max-dumps {keep})"),
            Err(e) => note!("tracer-daemon: cannot remove old dump {name}: {e}"),
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
    // `--stacks`: names are found when the dump is written, while the
    // files are surely there, and kept in it with the raw frames.
    let mut symbolizer = Symbolizer::default();
    for mut job in jobs {
        for item in &mut job.items {
            if let Item::Event(Event::Syscall(ev)) = item
                && let Some(stack) = &mut ev.stack
            {
                symbolizer.symbolize(stack);
            }
        }
        prune(&dir, max_dumps.saturating_sub(1), &index);
        let result = write(&dir, &job);
        match &result {
            Ok(info) => {
                note!(
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
            Err(e) => note!("tracer-daemon: dump of pid {} failed: {e:#}", job.pid),
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

    fn scratch(name: &str) -> PathBuf {
        // Made private (mkdtemp), then opened to reading as the checks
        // below expect of a dump directory's parent.
        let dir = crate::files::test_dir(&format!("tracer-dump-{name}-")).keep();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        dir
    }

    const NOBODY: u32 = 65534;

    #[test]
    fn a_dump_dir_of_another_user_is_refused_untouched() {
        let top = scratch("theirs");
        let dir = top.join("dumps");
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        std::os::unix::fs::chown(&dir, Some(NOBODY), Some(NOBODY)).unwrap();
        let err = format!("{:#}", prepare_dir(&dir).unwrap_err());
        assert!(err.contains("belongs to uid 65534"), "{err}");
        let meta = fs::metadata(&dir).unwrap();
        assert_eq!((meta.uid(), meta.mode() & 0o777), (NOBODY, 0o777));
        // Nor one inside a directory another user could change.
        let theirs = top.join("nobodys");
        fs::create_dir(&theirs).unwrap();
        std::os::unix::fs::chown(&theirs, Some(NOBODY), Some(NOBODY)).unwrap();
        let err = format!("{:#}", prepare_dir(&theirs.join("dumps")).unwrap_err());
        assert!(err.contains("can be changed by others"), "{err}");
        // Nor a symlink to a directory of ours.
        let ours = top.join("ours");
        fs::create_dir(&ours).unwrap();
        std::os::unix::fs::symlink(&ours, top.join("link")).unwrap();
        assert!(prepare_dir(&top.join("link")).is_err());
        // Our own, open to others: narrowed to 0700.
        fs::set_permissions(&ours, fs::Permissions::from_mode(0o755)).unwrap();
        prepare_dir(&ours).unwrap();
        assert_eq!(fs::metadata(&ours).unwrap().mode() & 0o777, 0o700);
        // Missing: created 0700.
        prepare_dir(&top.join("new")).unwrap();
        assert_eq!(fs::metadata(top.join("new")).unwrap().mode() & 0o777, 0o700);
        fs::remove_dir_all(top).unwrap();
    }

    #[test]
    fn dump_files_are_created_exclusively_never_through_symlinks() {
        let dir = scratch("excl");
        let victim = dir.join("victim");
        fs::write(&victim, b"root's").unwrap();
        std::os::unix::fs::symlink(&victim, dir.join("a-1-exit-1.trec")).unwrap();
        fs::write(dir.join("a-1-exit-1.2.trec"), b"earlier").unwrap();
        let (_, name) = create_exclusive(&dir, "a-1-exit-1.trec").unwrap();
        assert_eq!(name, "a-1-exit-1.3.trec");
        let meta = fs::symlink_metadata(dir.join(&name)).unwrap();
        assert!(meta.is_file());
        assert_eq!(meta.mode() & 0o777, 0o600);
        assert_eq!(fs::read(&victim).unwrap(), b"root's");
        assert_eq!(fs::read(dir.join("a-1-exit-1.2.trec")).unwrap(), b"earlier");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn sanitized_names_stay_in_the_directory() {
        assert_eq!(sanitize("../../etc/passwd"), "______etc_passwd");
        assert_eq!(sanitize(""), "_");
        assert_eq!(sanitize("panicked at"), "panicked_at");
        assert_eq!(sanitize(&"x".repeat(100)).len(), 40);
    }
}
