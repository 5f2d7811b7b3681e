//! The modes `compare` runs a command in, and how each run is launched:
//! `none` (untraced), `ebpf`, `ptrace` (recorded), `delay:SET=DURATION`
//! (syscalls delayed, nothing recorded) and `ebpf+delay:…` /
//! `ptrace+delay:…` (recorded while delayed).

use std::{fmt, path::Path, process::Command, str::FromStr, time::Duration};

use thiserror::Error;

use crate::inject::{Delay, DelayError};

#[derive(Debug, Error)]
pub enum ModeError {
    #[error(
        "unknown mode '{0}' (expected none, ebpf, ptrace, delay:SET=DURATION or ebpf+delay:SET=DURATION)"
    )]
    Unknown(String),
    #[error("mode '{mode}': {source}")]
    Delay {
        mode: String,
        #[source]
        source: DelayError,
    },
}

/// How a recorded run is watched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorder {
    Ebpf,
    Ptrace,
}

impl Recorder {
    fn name(self) -> &'static str {
        match self {
            Self::Ebpf => "ebpf",
            Self::Ptrace => "ptrace",
        }
    }
}

/// One mode of `compare`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunMode {
    pub recorder: Option<Recorder>,
    pub delay: Option<Delay>,
}

impl RunMode {
    pub const UNTRACED: RunMode = RunMode {
        recorder: None,
        delay: None,
    };

    pub fn is_untraced(&self) -> bool {
        self == &Self::UNTRACED
    }

    /// Whether a run records (and so writes a summary with its own timing).
    pub fn records(&self) -> bool {
        self.recorder.is_some()
    }

    /// The longest delay a syscall of this mode is held for.
    pub fn delay_duration(&self) -> Duration {
        self.delay.as_ref().map_or(Duration::ZERO, |d| d.duration)
    }

    /// The command for one run: `program args` itself, or `tracer` wrapped
    /// around it. `summary` receives a recording run's JSON summary and
    /// `recording` its full recording.
    pub fn command(
        &self,
        tracer: &Path,
        command: &[String],
        summary: &Path,
        recording: Option<&Path>,
    ) -> Command {
        let mut cmd = match (self.recorder, &self.delay) {
            (None, None) => Command::new(&command[0]),
            (None, Some(delay)) => {
                let mut cmd = Command::new(tracer);
                cmd.args(["delay", "--print-command-ns"])
                    .arg(delay.to_string())
                    .arg("--");
                cmd.arg(&command[0]);
                cmd
            }
            (Some(recorder), delay) => {
                let mut cmd = Command::new(tracer);
                cmd.args([
                    "record",
                    "--mode",
                    recorder.name(),
                    "--print-command-ns",
                    "--json",
                    "-o",
                ])
                .arg(summary);
                if let Some(recording) = recording {
                    cmd.arg("-w").arg(recording);
                }
                if let Some(delay) = delay {
                    cmd.arg("--inject-delay").arg(delay.to_string());
                }
                cmd.arg("--").arg(&command[0]);
                cmd
            }
        };
        cmd.args(&command[1..]);
        cmd
    }
}

impl FromStr for RunMode {
    type Err = ModeError;

    fn from_str(text: &str) -> Result<Self, ModeError> {
        let (recorder, rest) = if let Some(rest) = text.strip_prefix("ebpf+") {
            (Some(Recorder::Ebpf), rest)
        } else if let Some(rest) = text.strip_prefix("ptrace+") {
            (Some(Recorder::Ptrace), rest)
        } else {
            (None, text)
        };
        let plain = |recorder| {
            Ok(RunMode {
                recorder,
                delay: None,
            })
        };
        match (recorder, rest) {
            (None, "none") => plain(None),
            (None, "ebpf") => plain(Some(Recorder::Ebpf)),
            (None, "ptrace") => plain(Some(Recorder::Ptrace)),
            (_, rest) => match rest.strip_prefix("delay:") {
                Some(spec) => Ok(RunMode {
                    recorder,
                    delay: Some(spec.parse().map_err(|source| ModeError::Delay {
                        mode: text.to_owned(),
                        source,
                    })?),
                }),
                None => Err(ModeError::Unknown(text.to_owned())),
            },
        }
    }
}

/// `--modes` items as clap reads them: checked, and kept as written.
pub fn parse_arg(text: &str) -> Result<String, ModeError> {
    text.parse::<RunMode>().map(|_| text.to_owned())
}

impl fmt::Display for RunMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.recorder, &self.delay) {
            (None, None) => f.write_str("none"),
            (Some(r), None) => f.write_str(r.name()),
            (None, Some(d)) => write!(f, "delay:{d}"),
            (Some(r), Some(d)) => write!(f, "{}+delay:{d}", r.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_every_kind() {
        for text in [
            "none",
            "ebpf",
            "ptrace",
            "delay:read=200us",
            "delay:openat+read=1ms",
            "ebpf+delay:read=200us",
            "ptrace+delay:%file=2ms",
        ] {
            let mode: RunMode = text.parse().unwrap();
            assert_eq!(mode.to_string(), text);
        }
        let m: RunMode = "ebpf+delay:openat+read=1ms".parse().unwrap();
        assert_eq!(m.recorder, Some(Recorder::Ebpf));
        assert_eq!(m.delay_duration(), Duration::from_millis(1));
        assert!("none".parse::<RunMode>().unwrap().is_untraced());
    }

    #[test]
    fn rejects_bad_modes() {
        for bad in ["strace", "ebpf+ebpf", "ebpf+none", "delay", "delay:"] {
            assert!(bad.parse::<RunMode>().is_err(), "{bad}");
        }
        let err = "delay:nosuch=1ms".parse::<RunMode>().unwrap_err();
        assert!(
            err.to_string().contains("invalid system call 'nosuch'"),
            "{err}"
        );
        let err = "delay:read=1parsec".parse::<RunMode>().unwrap_err();
        assert!(err.to_string().contains("invalid duration"), "{err}");
    }
}
