//! Checks of option values that clap's built-in parsers do not do, shared
//! by the subcommands: a bad value is a usage error (a clear message,
//! exit status 2, as clap's own), never a panic or a silently odd run.

use std::time::Duration;

use crate::duration::{self, Bare, DurationError, Rule};

/// `compare --timeout` (and `amplify`'s): how long a run may take before
/// it counts as hung.
const TIMEOUT: Rule = Rule {
    what: "a timeout",
    bare: Bare::Seconds,
    min: Duration::from_millis(1),
    min_why: "runs are watched in milliseconds",
    max: duration::MAX,
};

/// `compare --window`: from 100 ms (attaching and detaching a recorder
/// take about that long, so a shorter window would be mostly transition)
/// to a day.
const WINDOW: Rule = Rule {
    what: "a window",
    bare: Bare::Seconds,
    min: Duration::from_millis(100),
    min_why: "attaching and detaching a recorder take about that long",
    max: Duration::from_secs(24 * 3600),
};

/// `report --since`/`--until`: a time after the recording began.
const OFFSET: Rule = Rule {
    what: "an offset",
    bare: Bare::Seconds,
    min: Duration::ZERO,
    min_why: "",
    max: duration::MAX,
};

/// `amplify --delay`: a delay that makes a candidate differ from the
/// baseline, so more than zero.
const AMPLIFY_DELAY: Rule = Rule {
    what: "amplify's delay",
    min: Duration::from_nanos(1),
    ..crate::inject::DELAY
};

/// `compare --timeout`: `60`, `1.5`, `500ms`, `2m`; 1 ms to a year.
pub fn parse_timeout(text: &str) -> Result<Duration, DurationError> {
    TIMEOUT.parse(text)
}

/// The length of a `compare` window: `500ms`, `30s`, `2m`, `1h`, a bare
/// number as seconds; 100 ms to a day.
pub fn parse_window(text: &str) -> Result<Duration, DurationError> {
    WINDOW.parse(text)
}

/// `report --since`/`--until`: `1.5`, `200ms`, `2m` after the recording
/// began, in nanoseconds.
pub fn parse_offset_ns(text: &str) -> Result<u64, DurationError> {
    // At most a year: fits.
    OFFSET.parse(text).map(|d| d.as_nanos() as u64)
}

/// `amplify --delay`: `200us`, `1ms` (a unit is needed), more than 0.
pub fn parse_amplify_delay(text: &str) -> Result<Duration, DurationError> {
    AMPLIFY_DELAY.parse(text)
}

/// Fails like clap does on a bad option (exit status 2), for checks that
/// involve several values or options together.
pub fn usage_error(message: impl std::fmt::Display) -> ! {
    clap::Error::raw(
        clap::error::ErrorKind::ValueValidation,
        format!("{message}\n"),
    )
    .exit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts() {
        assert_eq!(parse_timeout("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_timeout("60"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_timeout("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_timeout("2m"), Ok(Duration::from_secs(120)));
        for bad in [
            "0", "-1", "nan", "NaN", "inf", "-inf", "1e30", "", "x", "1e-400", "0.0001", "2y",
        ] {
            let err = parse_timeout(bad).unwrap_err().to_string();
            assert!(err.contains(bad), "{bad}: {err}");
        }
        let zero = parse_timeout("0").unwrap_err().to_string();
        assert!(zero.contains("a timeout must be greater than 0"), "{zero}");
    }

    #[test]
    fn windows() {
        assert_eq!(parse_window("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_window("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_window("1.5"), Ok(Duration::from_millis(1500)));
        let short = parse_window("50ms").unwrap_err().to_string();
        assert!(short.contains("shorter than 100ms"), "{short}");
        for bad in ["", "x", "-1s", "10parsecs", "1e3s", "25h"] {
            let err = parse_window(bad).unwrap_err().to_string();
            assert!(err.contains(bad), "{bad}: {err}");
        }
    }

    #[test]
    fn offsets_and_amplify_delays() {
        assert_eq!(parse_offset_ns("1.5"), Ok(1_500_000_000));
        assert_eq!(parse_offset_ns("0"), Ok(0));
        assert_eq!(parse_offset_ns("0.000000001"), Ok(1));
        assert_eq!(parse_offset_ns("2m"), Ok(120_000_000_000));
        for bad in ["-1", "soon", "inf", "nan"] {
            assert!(parse_offset_ns(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_amplify_delay("200us"), Ok(Duration::from_micros(200)));
        for bad in ["0", "0us", "200", "-1us"] {
            assert!(parse_amplify_delay(bad).is_err(), "{bad}");
        }
    }
}
