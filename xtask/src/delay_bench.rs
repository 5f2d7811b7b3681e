//! `cargo xtask bench`'s delay-injection part: does `tracer delay` hold a
//! syscall for the time asked, and what does intercepting one cost?
//!
//! The target is `tracer syscall-times N`, which times each of its own
//! `getppid` calls (the vDSO clock, no syscall of its own), so what is
//! measured is the syscall as the program sees it, tracer's set-up and
//! tear-down excluded. Achieved delay = the p50 (p99) of the delayed calls
//! minus the untraced p50; the cost of interception is that difference at
//! a delay of 0.

use std::{path::Path, process::Command};

use anyhow::{Context as _, Result, bail};

/// The p50 and p99 (ns) `syscall-times` printed, over `count` calls, run
/// under `tracer delay getppid=DELAY` when a delay is given.
fn times(tracer: &Path, delay: Option<&str>, ptrace: bool, count: u64) -> Result<(f64, f64)> {
    let mut cmd = Command::new(tracer);
    if let Some(delay) = delay {
        cmd.args(["delay", &format!("getppid={delay}"), "--"])
            .arg(tracer);
    }
    cmd.args(["syscall-times", &count.to_string()]);
    if ptrace {
        cmd.env("TRACER_INJECT", "ptrace");
    }
    let out = cmd.output().context("cannot run tracer syscall-times")?;
    if !out.status.success() {
        bail!(
            "tracer syscall-times failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let p50 = json_f64(&text, "p50_ns").context("no p50_ns")?;
    let p99 = json_f64(&text, "p99_ns").context("no p99_ns")?;
    Ok((p50, p99))
}

/// The number after `"key":` in a flat JSON text.
fn json_f64(json: &str, key: &str) -> Option<f64> {
    let rest = json.split(&format!("\"{key}\":")).nth(1)?;
    let number: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
        .collect();
    number.parse().ok()
}

fn us(ns: f64) -> String {
    format!("{:.1} us", ns / 1e3)
}

/// The report section.
pub fn report(tracer: &Path) -> Result<String> {
    let (base, base99) = times(tracer, None, false, 20_000)?;
    let mut out = format!(
        "\ndelay injection: getppid, each call timed by the program (tracer syscall-times)\n\
         untraced: p50 {} p99 {}\n\
         {:<26} {:>7} {:>12} {:>12} {:>10}\n",
        us(base),
        us(base99),
        "delay",
        "calls",
        "achieved p50",
        "achieved p99",
        "p50 error"
    );
    let rows: [(&str, f64, bool, u64); 5] = [
        ("0", 0.0, false, 20_000),
        ("20us", 20e3, false, 5_000),
        ("200us", 200e3, false, 2_000),
        ("2ms", 2e6, false, 300),
        ("200us", 200e3, true, 2_000),
    ];
    for (delay, requested, ptrace, count) in rows {
        let (p50, p99) = times(tracer, Some(delay), ptrace, count)?;
        let (a50, a99) = (p50 - base, p99 - base);
        let label = match (delay, ptrace) {
            ("0", _) => "0 (cost of interception)".to_string(),
            (d, true) => format!("{d} (ptrace fallback)"),
            (d, false) => d.to_string(),
        };
        let error = match requested > 0.0 {
            true => format!("{:+.1}%", (a50 - requested) / requested * 100.0),
            false => "-".to_string(),
        };
        out.push_str(&format!(
            "{label:<26} {count:>7} {:>12} {:>12} {error:>10}\n",
            us(a50),
            us(a99)
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_floats_from_flat_json() {
        let j = r#"{"count":20,"mean_ns":316.74,"p50_ns":320.0,"p99_ns":3.5e4}"#;
        assert_eq!(json_f64(j, "p50_ns"), Some(320.0));
        assert_eq!(json_f64(j, "p99_ns"), Some(35000.0));
        assert_eq!(json_f64(j, "nope"), None);
    }
}
