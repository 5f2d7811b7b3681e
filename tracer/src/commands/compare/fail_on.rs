//! What makes a run a failure (`--fail-on`), for launched and live
//! compares alike: a non-zero exit, death by a signal, output that matches
//! a pattern; and the kinds of failure the results are broken down by.

use anyhow::{Context as _, Result, bail};
use regex::bytes::Regex;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Exit,
    Signal,
    Output,
    Timeout,
    /// A matching line in a log (`log=FILE:REGEX`, live compares).
    Log,
}

/// What decides that a run failed.
#[derive(Clone)]
pub struct FailOn {
    pub exit: bool,
    pub signal: bool,
    pub output: Vec<Regex>,
}

impl FailOn {
    pub fn parse(conditions: &[String]) -> Result<Self> {
        if conditions.is_empty() {
            return Ok(Self {
                exit: true,
                signal: true,
                output: vec![],
            });
        }
        let mut fail = Self {
            exit: false,
            signal: false,
            output: vec![],
        };
        for c in conditions {
            match c.as_str() {
                "exit" => fail.exit = true,
                "signal" => fail.signal = true,
                other => match other.strip_prefix("output=") {
                    Some(re) => fail.output.push(
                        Regex::new(re)
                            .with_context(|| format!("invalid --fail-on regex {re:?}"))?,
                    ),
                    None => {
                        bail!("invalid --fail-on '{other}': expected exit, signal or output=REGEX")
                    }
                },
            }
        }
        Ok(fail)
    }
}

impl FailOn {
    /// The failure a process that ended with wait status `status` counts
    /// as (`code << 8` for an exit with `code`, the signal number for a
    /// kill, as `wait(2)` encodes it), by the exit and signal rules.
    pub fn judge_status(&self, status: i32) -> Option<Kind> {
        let signal = status & 0x7f;
        let code = (status >> 8) & 0xff;
        if signal != 0 {
            self.signal.then_some(Kind::Signal)
        } else if code != 0 {
            self.exit.then_some(Kind::Exit)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_on_parsing() {
        let f = FailOn::parse(&[]).unwrap();
        assert!(f.exit && f.signal && f.output.is_empty());
        let f = FailOn::parse(&["output=KeyError".into()]).unwrap();
        assert!(!f.exit && !f.signal && f.output.len() == 1);
        assert!(FailOn::parse(&["exitt".into()]).is_err());
        assert!(FailOn::parse(&["output=(".into()]).is_err());
    }

    #[test]
    fn wait_statuses_are_judged_by_the_rules() {
        let both = FailOn::parse(&[]).unwrap();
        assert_eq!(both.judge_status(0), None);
        assert_eq!(both.judge_status(1 << 8), Some(Kind::Exit));
        assert_eq!(both.judge_status(255 << 8), Some(Kind::Exit));
        assert_eq!(both.judge_status(libc::SIGTERM), Some(Kind::Signal));
        // Killed by SIGSEGV with a core dump.
        assert_eq!(both.judge_status(libc::SIGSEGV | 0x80), Some(Kind::Signal));
        let exit_only = FailOn::parse(&["exit".into()]).unwrap();
        assert_eq!(exit_only.judge_status(libc::SIGKILL), None);
        assert_eq!(exit_only.judge_status(3 << 8), Some(Kind::Exit));
        let signal_only = FailOn::parse(&["signal".into()]).unwrap();
        assert_eq!(signal_only.judge_status(3 << 8), None);
    }
}
