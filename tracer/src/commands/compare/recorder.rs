//! A traced window's recorder: `tracer record --mode ebpf|ptrace -p PIDS
//! --json -o SUMMARY`, attached at the window's start and stopped (SIGINT:
//! it detaches, the targets go on) at its end. The same command a user
//! would type, so a window watches the service exactly as `record -p`
//! does, following every process it starts.
//!
//! A recorder dies with the compare (`PR_SET_PDEATHSIG`, SIGTERM: a clean
//! detach); if it is killed outright, the kernel detaches ptrace tracees
//! (seized without `PTRACE_O_EXITKILL`) and removes eBPF programs with
//! their last fd, so the service runs on either way.

use std::{
    io::{BufRead, BufReader},
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc::{self, Receiver},
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result, bail};

use crate::commands::run_mode::Recorder as Kind;

/// How long a recorder may take to attach (loading eBPF takes ~0.5 s on an
/// idle machine; far more under load).
const ATTACH_TIMEOUT: Duration = Duration::from_secs(30);

/// A recorder that is attached (or attaching).
pub struct Running {
    child: Child,
    lines: Receiver<String>,
    /// The stderr lines that were not "attached" ones: its errors.
    said: Vec<String>,
    summary: PathBuf,
    /// The tgids it was asked to attach to, and how many said so.
    asked: usize,
    attached: usize,
}

/// What a recorder reported when it stopped.
#[derive(Debug, Default)]
pub struct Stopped {
    /// Its cost per syscall (`observer.per_syscall_ns` of its summary).
    pub observer_ns_per_syscall: Option<f64>,
    pub syscalls: u64,
    pub lost_events: u64,
}

/// Why a recorder did not attach.
pub enum AttachError {
    /// One of the processes was gone before it got to it: try again
    /// without it.
    Gone(Vec<u32>),
    Failed(anyhow::Error),
}

impl Running {
    /// Starts a recorder of `kind` on `pids`, its summary at `summary`.
    pub fn start(me: &Path, kind: Kind, pids: &[u32], summary: &Path) -> Result<Self> {
        let list = pids
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let mut cmd = Command::new(me);
        cmd.args(["record", "--mode"])
            .arg(match kind {
                Kind::Ebpf => "ebpf",
                Kind::Ptrace => "ptrace",
            })
            .args(["--json", "-o"])
            .arg(summary)
            .arg("-p")
            .arg(list)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        // SAFETY: prctl(2) only, between fork and exec: async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = cmd.spawn().context("cannot start the recorder")?;
        let stderr = child.stderr.take().context("the recorder's stderr")?;
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Self {
            child,
            lines,
            said: Vec::new(),
            summary: summary.to_owned(),
            asked: pids.len(),
            attached: 0,
        })
    }

    /// Whether it has attached to every process: `Ok(true)` once it has,
    /// `Ok(false)` while it is still at it, an error if it failed.
    pub fn poll_attached(&mut self, started: Instant) -> Result<bool, AttachError> {
        while let Ok(line) = self.lines.try_recv() {
            if line.starts_with("tracer: Process ") && line.ends_with(" attached") {
                self.attached += 1;
            } else {
                self.said.push(line);
            }
        }
        if self.attached >= self.asked {
            return Ok(true);
        }
        if let Ok(Some(status)) = self.child.try_wait() {
            // Its last lines may still be in the pipe.
            thread::sleep(Duration::from_millis(20));
            while let Ok(line) = self.lines.try_recv() {
                self.said.push(line);
            }
            let text = self.said.join("\n");
            let gone: Vec<u32> = self.said.iter().filter_map(|l| gone_pid(l)).collect();
            if !gone.is_empty() {
                return Err(AttachError::Gone(gone));
            }
            return Err(AttachError::Failed(anyhow::anyhow!(
                "the recorder failed to attach ({status}): {}",
                text.trim()
            )));
        }
        if started.elapsed() > ATTACH_TIMEOUT {
            let _ = self.child.kill();
            let _ = self.child.wait();
            return Err(AttachError::Failed(anyhow::anyhow!(
                "the recorder did not attach within {} s",
                ATTACH_TIMEOUT.as_secs()
            )));
        }
        Ok(false)
    }

    /// Stops it (SIGINT: it detaches and writes its summary) and reads
    /// what it measured.
    pub fn stop(mut self) -> Result<Stopped> {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
        let status = self.child.wait().context("cannot wait for the recorder")?;
        while let Ok(line) = self.lines.try_recv() {
            self.said.push(line);
        }
        let json = std::fs::read(&self.summary)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
        let _ = std::fs::remove_file(&self.summary);
        let Some(json) = json else {
            bail!(
                "the recorder failed ({status}): {}",
                self.said
                    .iter()
                    .filter(|l| !l.ends_with(" detached"))
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            );
        };
        Ok(Stopped {
            observer_ns_per_syscall: json["observer"]["per_syscall_ns"].as_f64(),
            syscalls: json["syscalls"]
                .as_object()
                .map_or(0, |s| s.values().filter_map(|v| v["calls"].as_u64()).sum()),
            lost_events: json["lost_events"].as_u64().unwrap_or(0),
        })
    }
}

/// The process an error line of `record -p` says is gone, if it says so.
fn gone_pid(line: &str) -> Option<u32> {
    let number = |s: &str| {
        s.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .ok()
    };
    if let Some((_, rest)) = line.split_once("no such process: ") {
        return number(rest);
    }
    if line.contains("has exited") {
        let (_, rest) = line.split_once("process ")?;
        return number(rest);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gone_processes_are_read_from_record_errors() {
        assert_eq!(gone_pid("tracer: error: no such process: 4242"), Some(4242));
        assert_eq!(
            gone_pid(
                "Error: process 77 has exited (a zombie that its parent, PID 1, has not reaped yet): it makes no more syscalls"
            ),
            Some(77)
        );
        assert_eq!(gone_pid("tracer: Process 12 attached"), None);
    }
}
