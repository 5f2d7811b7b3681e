//! Delay injection: make chosen syscalls of a command take longer, and
//! nothing else, to find out which syscall's timing a failure depends on.
//!
//! A delay is `SET=DURATION`: `read=200us`, `openat+read=1ms`,
//! `%file=50us`. The set is read by the `-e trace=` parser
//! ([`SyscallFilter`]) with `+` for `,`, so names, numbers and classes mean
//! what they mean everywhere else in tracer.
//!
//! The mechanism ([`notify`]): the launched child installs a seccomp filter
//! before `execve` that returns `SECCOMP_RET_USER_NOTIF` for the chosen
//! syscalls only, and hands the listener to tracer, whose supervisor thread
//! holds each notified syscall for the delay and then lets it run
//! (`SECCOMP_USER_NOTIF_FLAG_CONTINUE`). No ptrace stop, no other syscall
//! touched; every thread and child inherits the filter. Kernels without
//! user notification (before 5.5, or with it forced off for testing by
//! `TRACER_INJECT=ptrace`) get [`fallback`]: ptrace with a `RET_TRACE`
//! filter, which stops the task only at the chosen syscalls.

pub mod fallback;
pub mod notify;

use std::{fmt, str::FromStr, time::Duration};

use thiserror::Error;

use crate::{
    duration::{self, Bare, DurationError, Rule},
    syscalls::{self, filter::SyscallFilter},
};

/// Why a delay was rejected.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum DelayError {
    #[error("invalid delay '{0}': expected SET=DURATION, e.g. read=200us or openat+read=1ms")]
    Syntax(String),
    #[error("invalid delay '{spec}': {reason}")]
    Set { spec: String, reason: String },
    #[error("invalid delay '{spec}': the set selects no syscall")]
    Empty { spec: String },
    #[error("invalid duration in delay '{spec}': {source}")]
    Duration { spec: String, source: DurationError },
}

/// How a delay's duration reads: a unit is needed (`200us`, `1.5ms`), as
/// the tools disagree on a bare number (strace's `delay_enter=` takes
/// microseconds, perf milliseconds); zero is a delay that only stops and
/// resumes, the mechanism's own cost.
pub const DELAY: Rule = Rule {
    what: "a delay",
    bare: Bare::Refused,
    min: Duration::ZERO,
    min_why: "",
    max: crate::duration::MAX,
};

/// Delay the syscalls of `set` by `duration` at their entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delay {
    /// The set as written (with `+` between names).
    pub set_text: String,
    pub set: SyscallFilter,
    pub duration: Duration,
}

impl FromStr for Delay {
    type Err = DelayError;

    fn from_str(spec: &str) -> Result<Self, DelayError> {
        let (set_text, duration) = spec
            .rsplit_once('=')
            .filter(|(set, _)| !set.is_empty() && !set.contains('='))
            .ok_or_else(|| DelayError::Syntax(spec.to_owned()))?;
        let duration = DELAY
            .parse(duration)
            .map_err(|source| DelayError::Duration {
                spec: spec.to_owned(),
                source,
            })?;
        // `,` would split the mode list of `compare --modes`: the set uses
        // `+`, and the `-e` parser does the rest.
        // `/REGEX` is not offered: the set names files of `compare`.
        if set_text.contains([',', '/']) {
            return Err(DelayError::Syntax(spec.to_owned()));
        }
        let set: SyscallFilter =
            set_text
                .replace('+', ",")
                .parse()
                .map_err(|e: syscalls::filter::FilterError| DelayError::Set {
                    spec: spec.to_owned(),
                    reason: e.to_string(),
                })?;
        if set == SyscallFilter::none() {
            return Err(DelayError::Empty {
                spec: spec.to_owned(),
            });
        }
        Ok(Delay {
            set_text: set_text.to_owned(),
            set,
            duration,
        })
    }
}

impl fmt::Display for Delay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.set_text, duration::format(self.duration))
    }
}

/// How delays are applied on this machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mechanism {
    /// seccomp user notification: only the delayed syscalls are touched.
    Notify,
    /// ptrace stops at the delayed syscalls (a `RET_TRACE` filter).
    Ptrace,
}

impl Mechanism {
    /// User notification when the kernel has it, unless `TRACER_INJECT` is
    /// `ptrace` (how the fallback is tested on kernels that have it).
    pub fn choose() -> Self {
        if std::env::var_os("TRACER_INJECT").is_some_and(|v| v == "ptrace") {
            return Self::Ptrace;
        }
        if notify::supported() {
            Self::Notify
        } else {
            Self::Ptrace
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(DELAY.parse("200us"), Ok(Duration::from_micros(200)));
        assert_eq!(DELAY.parse("1.5ms"), Ok(Duration::from_micros(1500)));
        assert_eq!(DELAY.parse("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(DELAY.parse("500ns"), Ok(Duration::from_nanos(500)));
        assert_eq!(DELAY.parse("0"), Ok(Duration::ZERO));
        for bad in ["", "200", "ms", "1.2.3ms", "-1ms", "1e3us", "0.5ns"] {
            assert!(DELAY.parse(bad).is_err(), "{bad}");
        }
        let d: Delay = "read=1.5ms".parse().unwrap();
        assert_eq!(d.to_string(), "read=1500us");
    }

    #[test]
    fn delay_specs() {
        let d: Delay = "openat+read=1ms".parse().unwrap();
        let read = syscalls::by_name("read").unwrap();
        let openat = syscalls::by_name("openat").unwrap();
        let write = syscalls::by_name("write").unwrap();
        assert!(d.set.matches(read) && d.set.matches(openat) && !d.set.matches(write));
        assert_eq!(d.duration, Duration::from_millis(1));
        assert_eq!(d.to_string(), "openat+read=1ms");

        let d: Delay = "%file=50us".parse().unwrap();
        assert!(d.set.matches(openat) && !d.set.matches(read));

        assert!(matches!(
            "nosuchcall=1ms".parse::<Delay>(),
            Err(DelayError::Set { .. })
        ));
        assert!(matches!(
            "read=soon".parse::<Delay>(),
            Err(DelayError::Duration { .. })
        ));
        for bad in [
            "read",
            "=1ms",
            "read,write=1ms",
            "trace=read=1ms",
            "/rea=1ms",
        ] {
            assert!(
                matches!(bad.parse::<Delay>(), Err(DelayError::Syntax(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            "none=1ms".parse::<Delay>(),
            Err(DelayError::Empty { .. })
        ));
    }
}
