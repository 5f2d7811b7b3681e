//! Checks of option values that clap's built-in parsers do not do, shared
//! by the subcommands: a bad value is a usage error (a clear message,
//! exit status 2, as clap's own), never a panic or a silently odd run.

use std::time::Duration;

/// A length of time in seconds (fractions allowed): finite, positive, and
/// at most a year, so that it always fits a `Duration` and means a wait.
pub fn parse_seconds(text: &str) -> Result<Duration, String> {
    const MAX_S: f64 = 365.0 * 24.0 * 3600.0;
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text} is not a number of seconds"))?;
    if !(secs > 0.0 && secs <= MAX_S) {
        return Err(format!(
            "{text}: expected seconds greater than 0 and at most {MAX_S} (a year)"
        ));
    }
    // At least a millisecond: the unit the runs are watched in.
    Ok(Duration::from_secs_f64(secs.max(0.001)))
}

/// The length of a `compare` window: `500ms`, `30s`, `2m`, `1h` (a bare
/// number is seconds), from 100 ms (attaching and detaching a recorder
/// take about that long, so a shorter window would be mostly transition)
/// to a day.
pub fn parse_window(text: &str) -> Result<Duration, String> {
    const MIN: Duration = Duration::from_millis(100);
    const MAX: Duration = Duration::from_secs(24 * 3600);
    let ns = crate::daemon::parse_duration(text).map_err(|e| {
        format!("{text} is not a duration ({e:#}): expected e.g. 500ms, 30s, 2m, 1h")
    })?;
    let window = Duration::from_nanos(ns);
    if window < MIN {
        return Err(format!(
            "{text} is shorter than 100ms: attaching and detaching a recorder take about that long"
        ));
    }
    if window > MAX {
        return Err(format!("{text} is longer than a day"));
    }
    Ok(window)
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
    fn seconds() {
        assert_eq!(parse_seconds("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_seconds("0.0001"), Ok(Duration::from_millis(1)));
        for bad in [
            "0", "-1", "nan", "NaN", "inf", "-inf", "1e30", "", "x", "1e-400",
        ] {
            let err = parse_seconds(bad).unwrap_err();
            assert!(err.contains(bad), "{bad}: {err}");
        }
    }

    #[test]
    fn windows() {
        assert_eq!(parse_window("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_window("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_window("1.5"), Ok(Duration::from_millis(1500)));
        let short = parse_window("50ms").unwrap_err();
        assert!(short.contains("shorter than 100ms"), "{short}");
        for bad in ["", "x", "-1s", "10parsecs", "1e3s", "25h"] {
            let err = parse_window(bad).unwrap_err();
            assert!(err.contains(bad), "{bad}: {err}");
        }
    }
}
