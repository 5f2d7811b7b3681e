//! Lengths of time a user types: one parser for every option and config
//! key that takes one (`compare --timeout`/`--window`, delays, `amplify
//! --delay`, `report --since`/`--until`, the daemon's `--keep`, `--after`,
//! `--dump-every`), so that `200us`, `1.5ms`, `30s`, `2m` or `1h` mean the
//! same everywhere and a bad value is refused with the same clear words.
//!
//! The grammar is `humantime`'s (a well-kept crate, exact integer
//! arithmetic, no float rounding): a number, fractions allowed, and a
//! unit, `ns`, `us`/`µs`, `ms`, `s`, `m`, `h` (and longer spellings such as
//! `sec`, `min`, `hours`, `d`), or several such terms (`1h 30m`). What
//! tracer adds is its own errors (typed, naming the value) and a [`Rule`]
//! per option: its bounds, and what a bare number means.
//!
//! Bare numbers: the tools a tracer user knows disagree on them (GNU
//! `timeout 5` and `sleep 5` mean seconds; `perf --timeout` means
//! milliseconds; strace's `delay_enter=` means microseconds), so a rule
//! says which it takes. Options that are wall-clock spans (a timeout, a
//! window, history kept, an offset into a recording) take a bare number as
//! seconds, like `timeout(1)`, and as they always have. Delays, a few
//! microseconds to milliseconds, refuse one other than `0`: a guess would
//! be wrong by a factor of a thousand for somebody.

use std::time::Duration;

use thiserror::Error;

/// No length of time tracer takes is longer than this, a year (365.25
/// days, as `1y` reads): every one fits a `u64` of nanoseconds added to a
/// clock reading, and none makes sense beyond it.
pub const MAX: Duration = Duration::from_secs(31_557_600);

/// What the error messages suggest.
const EXAMPLES: &str = "200us, 1.5ms, 30s, 2m or 1h";

/// Why a length of time was refused. Each message names the value.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DurationError {
    #[error("an empty duration: expected a number with a unit, e.g. {EXAMPLES}")]
    Empty,
    #[error("'{0}' is negative: a duration is a length of time, e.g. {EXAMPLES}")]
    Negative(String),
    #[error("'{0}' has no unit: write e.g. {0}us, {0}ms or {0}s")]
    NoUnit(String),
    #[error("'{text}' has an unknown unit '{unit}': expected ns, us (µs), ms, s, m or h")]
    UnknownUnit { text: String, unit: String },
    #[error("'{0}' is not a duration: expected a number with a unit, e.g. {EXAMPLES}")]
    Syntax(String),
    #[error("'{0}' is not a whole number of nanoseconds")]
    Finer(String),
    #[error("'{0}' is too long: at most a year")]
    Overflow(String),
    #[error("'{text}': {what} must be greater than 0")]
    Zero { text: String, what: &'static str },
    #[error("'{text}' is shorter than {min}: {why}")]
    TooShort {
        text: String,
        min: String,
        why: &'static str,
    },
    #[error("'{text}' is longer than {max}, the most {what} can be")]
    TooLong {
        text: String,
        max: String,
        what: &'static str,
    },
}

/// What a bare number (no unit) means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bare {
    /// Seconds, as `timeout 5` and `sleep 5` read it.
    Seconds,
    /// Refused, except `0` (zero in any unit).
    Refused,
}

/// How one option reads its value: what a bare number means, and the
/// bounds (`min` zero allows zero).
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    /// The option's value, for messages: "a timeout", "a window".
    pub what: &'static str,
    pub bare: Bare,
    pub min: Duration,
    /// Why a shorter value is refused (when `min` is not zero).
    pub min_why: &'static str,
    pub max: Duration,
}

impl Rule {
    /// Parses `text` and checks it against the rule's bounds.
    pub fn parse(&self, text: &str) -> Result<Duration, DurationError> {
        let d = parse(text, self.bare)?;
        let owned = || text.trim().to_owned();
        if d.is_zero() && !self.min.is_zero() {
            return Err(DurationError::Zero {
                text: owned(),
                what: self.what,
            });
        }
        if d < self.min {
            return Err(DurationError::TooShort {
                text: owned(),
                min: format(self.min),
                why: self.min_why,
            });
        }
        if d > self.max {
            return Err(DurationError::TooLong {
                text: owned(),
                max: humantime::format_duration(self.max).to_string(),
                what: self.what,
            });
        }
        Ok(d)
    }
}

/// Parses a length of time, at most [`MAX`]: `500ns`, `200us`, `1.5ms`,
/// `30s`, `2m`, `1h`, `1h 30m`; a bare number as `bare` says.
pub fn parse(text: &str, bare: Bare) -> Result<Duration, DurationError> {
    let text = text.trim();
    let owned = || text.to_owned();
    if text.is_empty() {
        return Err(DurationError::Empty);
    }
    if text.starts_with('-') {
        return Err(DurationError::Negative(owned()));
    }
    let is_bare = text.chars().all(|c| c.is_ascii_digit() || c == '.');
    let spelled = if is_bare {
        match bare {
            Bare::Seconds => format!("{text}s"),
            Bare::Refused if text.chars().all(|c| c == '0' || c == '.') && text != "." => {
                return Ok(Duration::ZERO);
            }
            Bare::Refused => return Err(DurationError::NoUnit(owned())),
        }
    } else {
        // The Greek mu (U+03BC) for the micro sign (U+00B5): they look
        // alike, and keyboards give either.
        text.replace('\u{3bc}', "\u{b5}")
    };
    let d = humantime::parse_duration(&spelled).map_err(|e| match e {
        humantime::DurationError::Empty => DurationError::Empty,
        humantime::DurationError::UnknownUnit { unit, .. } if unit.is_empty() => {
            DurationError::NoUnit(owned())
        }
        humantime::DurationError::UnknownUnit { unit, .. } => DurationError::UnknownUnit {
            text: owned(),
            unit,
        },
        // Either past u64 arithmetic or below a nanosecond: tell which.
        humantime::DurationError::NumberOverflow if only_too_fine(&spelled) => {
            DurationError::Finer(owned())
        }
        humantime::DurationError::NumberOverflow => DurationError::Overflow(owned()),
        humantime::DurationError::InvalidCharacter(_)
        | humantime::DurationError::NumberExpected(_) => DurationError::Syntax(owned()),
    })?;
    if d > MAX {
        return Err(DurationError::Overflow(owned()));
    }
    Ok(d)
}

/// Whether `text`, whose parse overflowed, would parse without its
/// fractional digits: then it failed for a fraction finer than a
/// nanosecond (`0.5ns`), not for its size.
fn only_too_fine(text: &str) -> bool {
    let mut whole = String::with_capacity(text.len());
    let mut in_fraction = false;
    for c in text.chars() {
        match c {
            '.' => in_fraction = true,
            '0'..='9' if in_fraction => {}
            _ => {
                in_fraction = false;
                whole.push(c);
            }
        }
    }
    humantime::parse_duration(&whole).is_ok()
}

/// The shortest exact spelling of `d` in one unit: `200us`, `1ms`,
/// `1500ns`, `60s` (parsed back to the same value).
pub fn format(d: Duration) -> String {
    let ns = d.as_nanos();
    for (unit, scale) in [("s", 1_000_000_000), ("ms", 1_000_000), ("us", 1_000)] {
        if ns >= scale && ns.is_multiple_of(scale) {
            return format!("{}{unit}", ns / scale);
        }
    }
    format!("{ns}ns")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPAN: Rule = Rule {
        what: "a span",
        bare: Bare::Seconds,
        min: Duration::ZERO,
        min_why: "",
        max: MAX,
    };

    #[test]
    fn units_a_strace_perf_or_timeout_user_types() {
        let ok = |t: &str| parse(t, Bare::Refused).unwrap();
        assert_eq!(ok("500ns"), Duration::from_nanos(500));
        assert_eq!(ok("200us"), Duration::from_micros(200));
        assert_eq!(ok("200\u{b5}s"), Duration::from_micros(200));
        assert_eq!(ok("200\u{3bc}s"), Duration::from_micros(200));
        assert_eq!(ok("1.5ms"), Duration::from_micros(1500));
        assert_eq!(ok("2s"), Duration::from_secs(2));
        assert_eq!(ok("0.25s"), Duration::from_millis(250));
        assert_eq!(ok("2m"), Duration::from_secs(120));
        assert_eq!(ok("1.5m"), Duration::from_secs(90));
        assert_eq!(ok("1h"), Duration::from_secs(3600));
        assert_eq!(ok("1h 30m"), Duration::from_secs(5400));
        assert_eq!(ok(" 30sec "), Duration::from_secs(30));
        assert_eq!(ok("0.000000001s"), Duration::from_nanos(1));
        assert_eq!(ok("0"), Duration::ZERO);
        assert_eq!(ok("0ms"), Duration::ZERO);
        assert_eq!(ok("1y"), MAX);
        assert_eq!(ok("365d"), Duration::from_secs(365 * 86400));
    }

    #[test]
    fn bare_numbers() {
        assert_eq!(parse("1.5", Bare::Seconds), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("60", Bare::Seconds), Ok(Duration::from_secs(60)));
        assert_eq!(parse("0", Bare::Seconds), Ok(Duration::ZERO));
        assert_eq!(parse("0.0", Bare::Refused), Ok(Duration::ZERO));
        assert_eq!(
            parse("200", Bare::Refused),
            Err(DurationError::NoUnit("200".into()))
        );
        let e = parse("200", Bare::Refused).unwrap_err().to_string();
        assert!(e.contains("200us"), "{e}");
    }

    #[test]
    fn nonsense_is_refused_with_its_reason() {
        use DurationError as E;
        let bad = |t: &str| parse(t, Bare::Seconds).unwrap_err();
        assert_eq!(bad(""), E::Empty);
        assert_eq!(bad("   "), E::Empty);
        assert_eq!(bad("-1s"), E::Negative("-1s".into()));
        assert_eq!(bad("-1"), E::Negative("-1".into()));
        assert_eq!(
            bad("10parsecs"),
            E::UnknownUnit {
                text: "10parsecs".into(),
                unit: "parsecs".into()
            }
        );
        assert!(matches!(bad("1e3s"), E::UnknownUnit { .. }));
        for t in [
            "soon", "nan", "inf", "s", ".", "1..5s", "1,5s", "+1s", "1s!",
        ] {
            assert!(
                matches!(bad(t), E::Syntax(_) | E::UnknownUnit { .. }),
                "{t}: {:?}",
                bad(t)
            );
        }
        assert_eq!(bad("366d"), E::Overflow("366d".into()));
        assert_eq!(
            bad("1e30"),
            E::UnknownUnit {
                text: "1e30".into(),
                unit: "e".into()
            }
        );
        for t in [
            "99999999999999999999s",
            "18446744073709551616",
            "99999999999999999999.5h",
        ] {
            assert_eq!(bad(t), E::Overflow(t.into()), "{t}");
        }
        assert_eq!(bad("0.5ns"), E::Finer("0.5ns".into()));
        assert_eq!(bad("1.0000000001s"), E::Finer("1.0000000001s".into()));
        // Every message names the value.
        for t in ["-1s", "soon", "10parsecs", "366d", "0.5ns", "200x"] {
            let message = bad(t).to_string();
            assert!(message.contains(t), "{t}: {message}");
        }
    }

    #[test]
    fn rules_bound_values() {
        let window = Rule {
            what: "a window",
            min: Duration::from_millis(100),
            min_why: "attaching takes about that long",
            max: Duration::from_secs(24 * 3600),
            ..SPAN
        };
        assert_eq!(window.parse("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(window.parse("24h"), Ok(Duration::from_secs(86400)));
        let e = window.parse("50ms").unwrap_err().to_string();
        assert!(e.contains("shorter than 100ms: attaching"), "{e}");
        let e = window.parse("25h").unwrap_err().to_string();
        assert!(
            e.contains("longer than 1day, the most a window can be"),
            "{e}"
        );
        let e = window.parse("0").unwrap_err();
        assert_eq!(
            e,
            DurationError::Zero {
                text: "0".into(),
                what: "a window"
            }
        );
        assert!(e.to_string().contains("greater than 0"), "{e}");
        assert_eq!(SPAN.parse("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn format_round_trips() {
        for (d, text) in [
            (Duration::from_micros(200), "200us"),
            (Duration::from_millis(1), "1ms"),
            (Duration::from_nanos(1500), "1500ns"),
            (Duration::from_secs(60), "60s"),
            (Duration::ZERO, "0ns"),
        ] {
            assert_eq!(format(d), text);
            assert_eq!(parse(text, Bare::Refused), Ok(d));
        }
    }
}
