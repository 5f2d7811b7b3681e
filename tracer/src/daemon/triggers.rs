//! Why the daemon dumps a ring, and how often it may.
//!
//! A [`Reason`] names a trigger (a bad exit, a signal, a pattern in written
//! data, an anomaly, a manual `ctl dump`); its text goes into the dump's
//! file name. A [`Bucket`] per watch limits how many dumps a misbehaving
//! program can cause, so that a crash loop cannot fill the disk or keep
//! the dump writer busy.

use super::dump::sanitize;

/// The patterns every daemon looks for unless told not to: Go and Rust
/// panics, Python tracebacks, the race detectors' reports.
pub const DEFAULT_PATTERNS: &[&str] = &[
    "panic:",
    "panicked at",
    "Traceback",
    "KeyError",
    "DATA RACE",
    "AddressSanitizer",
];

/// Why a dump is made; its text goes into the dump's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    Exit(i32),
    /// Killed by a signal; its number when the process sent it itself.
    Signal(Option<i32>),
    Pattern(String),
    Anomaly(String),
    Manual,
    Shutdown,
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Exit(code) => write!(f, "exit-{code}"),
            Reason::Signal(Some(sig)) => match nix::sys::signal::Signal::try_from(*sig) {
                Ok(sig) => write!(f, "signal-{}", sig.as_str()),
                Err(_) => write!(f, "signal-{sig}"),
            },
            Reason::Signal(None) => write!(f, "signal"),
            Reason::Pattern(name) => write!(f, "pattern-{name}"),
            Reason::Anomaly(kind) => write!(f, "anomaly-{}", sanitize(kind)),
            Reason::Manual => write!(f, "manual"),
            Reason::Shutdown => write!(f, "shutdown"),
        }
    }
}

/// A token bucket: at most `burst` dumps at once, then one per
/// `refill_ns`.
#[derive(Debug)]
pub struct Bucket {
    tokens: f64,
    last_ns: u64,
    burst: u32,
    refill_ns: u64,
}

impl Bucket {
    /// A full bucket.
    pub fn new(burst: u32, refill_ns: u64, now: u64) -> Self {
        Self {
            tokens: f64::from(burst),
            last_ns: now,
            burst,
            refill_ns,
        }
    }

    /// Takes a token if there is one.
    pub fn take(&mut self, now: u64) -> bool {
        let refill = now.saturating_sub(self.last_ns) as f64 / self.refill_ns.max(1) as f64;
        self.tokens = (self.tokens + refill).min(f64::from(self.burst));
        self.last_ns = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_name_files_safely() {
        assert_eq!(Reason::Exit(3).to_string(), "exit-3");
        assert_eq!(
            Reason::Signal(Some(libc::SIGABRT)).to_string(),
            "signal-SIGABRT"
        );
        assert_eq!(Reason::Signal(Some(99)).to_string(), "signal-99");
        assert_eq!(
            Reason::Anomaly("slow write/../x".into()).to_string(),
            "anomaly-slow_write____x"
        );
    }

    #[test]
    fn bucket_allows_a_burst_then_one_per_refill() {
        let mut b = Bucket::new(2, 100, 0);
        assert!(b.take(0));
        assert!(b.take(0));
        assert!(!b.take(50));
        assert!(b.take(150), "one refilled");
        assert!(!b.take(150));
        // Never more than the burst, however long the pause.
        assert!(b.take(10_000) && b.take(10_000));
        assert!(!b.take(10_000));
    }
}
