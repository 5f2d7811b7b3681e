//! Failure proportions, for failures counted in runs: is a failure rate
//! under tracing really different from the untraced one, or is it noise?
//!
//! Runs of a flaky program are Bernoulli trials, so the tools are the ones
//! for binomial proportions:
//!
//! - [`wilson_interval`]: a confidence interval for one mode's failure rate.
//!   Wilson rather than the textbook Wald interval because failure rates of
//!   flaky programs are small and Wald collapses to `[0, 0]` at 0 failures.
//! - [`fisher_exact_two_sided`]: does a mode's failure rate differ from the
//!   untraced one? Exact rather than chi-squared because the interesting case
//!   ("0 failures under strace") has tiny expected counts.
//! - [`runs_needed`]: when the test cannot tell, how many runs would.
//!
//! No input makes these functions panic or return NaN: invalid input gives
//! the least informative answer (or `None`), documented per function.

use super::special::{ln_choose, normal_quantile};

/// The two-sided 95% normal quantile, `z` for [`wilson_interval`].
pub const Z95: f64 = 1.959_963_984_540_054;

/// Wilson score interval `(low, high)` for a failure rate of
/// `failures / runs`, with normal quantile `z` (use [`Z95`] for 95%).
///
/// Both bounds lie in `[0, 1]`; 0 failures give a low bound of exactly 0 and
/// `failures == runs` a high bound of exactly 1. No runs carry no
/// information, so `runs == 0` gives `(0, 1)`, as does a `z` that is negative
/// or not finite. `failures > runs` is impossible and is treated as
/// `failures == runs`.
pub fn wilson_interval(failures: u64, runs: u64, z: f64) -> (f64, f64) {
    if runs == 0 || !z.is_finite() || z < 0.0 {
        return (0.0, 1.0);
    }
    let failures = failures.min(runs);
    let n = runs as f64;
    let p = failures as f64 / n;
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denom;
    let half = z / denom * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    // At the edges the formula gives exactly 0 or 1 in exact arithmetic;
    // pin them so rounding cannot print "-0.00%" or "100.00001%".
    let low = if failures == 0 {
        0.0
    } else {
        (center - half).clamp(0.0, 1.0)
    };
    let high = if failures == runs {
        1.0
    } else {
        (center + half).clamp(0.0, 1.0)
    };
    (low, high)
}

/// The "rule of three": after `runs` runs without a single failure, the
/// failure rate is below `3 / runs` with about 95% confidence (one-sided:
/// `-ln(0.05) ≈ 3`).
///
/// This is the one-line answer to "it never failed under strace, so what?".
/// It is a little below Wilson's 95% high bound for 0 failures (about
/// `3.84 / runs`), which is two-sided and so one-sided 97.5%. `runs == 0`
/// gives 1.
pub fn rule_of_three(runs: u64) -> f64 {
    if runs == 0 {
        return 1.0;
    }
    (3.0 / runs as f64).min(1.0)
}

/// Two-sided p-value of Fisher's exact test for the 2x2 table
/// `[[a, b], [c, d]]`, e.g. failures/passes of a traced mode in the first
/// row and of the untraced runs in the second.
///
/// "Two-sided" is defined as in R's `fisher.test` and SciPy's
/// `fisher_exact`: the sum of the probabilities of all tables with the same
/// margins that are no more likely than the observed one, where "no more
/// likely" allows a relative tolerance of 1e-7 so that tables equal in exact
/// arithmetic are not lost to rounding. Degenerate tables (an empty row or
/// column, where every table with those margins is the observed one) give
/// 1. The cost is linear in the smaller of the first row and column sums.
pub fn fisher_exact_two_sided(a: u64, b: u64, c: u64, d: u64) -> f64 {
    // u128 so that no four u64 counts can overflow the margins.
    let (a, b, c, d) = (a as u128, b as u128, c as u128, d as u128);
    let row1 = a + b;
    let row2 = c + d;
    let col1 = a + c;
    let n = row1 + row2;
    // The table is hypergeometric in its top-left cell `x`, which ranges
    // over every value that keeps all four cells non-negative.
    let lo = col1.saturating_sub(row2);
    let hi = row1.min(col1);
    if lo == hi {
        return 1.0;
    }
    let log_denom = ln_choose(n, col1);
    let log_p = |x: u128| ln_choose(row1, x) + ln_choose(row2, col1 - x) - log_denom;
    let threshold = log_p(a) + 1e-7_f64.ln_1p();
    let total: f64 = (lo..=hi)
        .map(log_p)
        .filter(|&lp| lp <= threshold)
        .map(f64::exp)
        .sum();
    total.min(1.0)
}

/// Runs per mode needed to tell a failure rate `p_base` from `p_other` with a
/// two-sided test at level `alpha` and the given `power` (e.g. 0.05 and 0.8).
///
/// Uses the normal approximation for comparing two proportions (Fleiss,
/// without continuity correction; the same `n` as R's `power.prop.test`):
///
/// ```text
/// n = (z(1-alpha/2) * sqrt(2 p̄ q̄) + z(power) * sqrt(p1 q1 + p2 q2))² / (p1 - p2)²
/// ```
///
/// with `p̄ = (p1 + p2) / 2`, `q = 1 - p`, rounded up. It is optimistic for
/// rates near 0 (where Fisher's exact test, which `compare` reports, is
/// more conservative), so treat it as "about N runs", not a guarantee.
///
/// `None` when the rates are equal (no number of runs tells them apart),
/// when any argument is outside its range (rates in `[0, 1]`, `alpha` and
/// `power` in `(0, 1)`), or when the answer does not fit in a `u64`.
pub fn runs_needed(p_base: f64, p_other: f64, alpha: f64, power: f64) -> Option<u64> {
    let rate_ok = |p: f64| (0.0..=1.0).contains(&p);
    let open_ok = |p: f64| p > 0.0 && p < 1.0;
    if !rate_ok(p_base) || !rate_ok(p_other) || !open_ok(alpha) || !open_ok(power) {
        return None;
    }
    let diff = (p_base - p_other).abs();
    if diff == 0.0 {
        return None;
    }
    let z_alpha = normal_quantile(1.0 - alpha / 2.0)?;
    let z_beta = normal_quantile(power)?;
    let p_bar = (p_base + p_other) / 2.0;
    let pooled = (2.0 * p_bar * (1.0 - p_bar)).sqrt();
    let separate = (p_base * (1.0 - p_base) + p_other * (1.0 - p_other)).sqrt();
    let n = ((z_alpha * pooled + z_beta * separate) / diff).powi(2);
    // Guard the float-to-int cast: `as` saturates, which would silently
    // turn "astronomically many" into u64::MAX.
    let n = n.ceil().max(1.0);
    (n.is_finite() && n < u64::MAX as f64).then_some(n as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_close(got: f64, want: f64, tol: f64) {
        assert!((got - want).abs() <= tol, "got {got}, want {want} ± {tol}");
    }

    #[test]
    fn wilson_matches_known_intervals() {
        // 6 failures in 300 runs: [0.92%, 4.29%].
        let (low, high) = wilson_interval(6, 300, Z95);
        assert_close(low, 0.009_198, 1e-6);
        assert_close(high, 0.042_940, 1e-6);
        // A symmetric case worked by hand: 5/10 at 95% is 0.5 ± 0.2634.
        let (low, high) = wilson_interval(5, 10, Z95);
        assert_close(low, 0.236_593, 1e-6);
        assert_close(high, 0.763_407, 1e-6);
    }

    #[test]
    fn wilson_edges() {
        assert_eq!(wilson_interval(0, 0, Z95), (0.0, 1.0));
        // 0/300: low is exactly 0.
        let (low, high) = wilson_interval(0, 300, Z95);
        assert_eq!(low, 0.0);
        assert_close(high, 0.012_643, 1e-6);
        // Two-sided 95% Wilson is a one-sided 97.5% bound: z² / n, above
        // the one-sided 95% rule of three.
        assert!(high > rule_of_three(300) && high < 3.9 / 300.0);
        // All failures mirror no failures.
        let (low, high) = wilson_interval(300, 300, Z95);
        assert_close(low, 1.0 - 0.012_643, 1e-6);
        assert_eq!(high, 1.0);
        // Impossible counts are clamped, not NaN.
        assert_eq!(
            wilson_interval(400, 300, Z95),
            wilson_interval(300, 300, Z95)
        );
        // z = 0 is the point estimate.
        assert_eq!(wilson_interval(3, 12, 0.0), (0.25, 0.25));
        for z in [f64::NAN, f64::INFINITY, -1.0] {
            assert_eq!(wilson_interval(3, 12, z), (0.0, 1.0));
        }
    }

    #[test]
    fn rule_of_three_bounds() {
        assert_eq!(rule_of_three(0), 1.0);
        assert_eq!(rule_of_three(1), 1.0);
        assert_close(rule_of_three(300), 0.01, 1e-15);
    }

    #[test]
    fn fisher_matches_r_and_scipy() {
        // Exact values (rational arithmetic), as R's fisher.test and
        // scipy.stats.fisher_exact report them.
        assert_close(fisher_exact_two_sided(6, 294, 0, 300), 0.030_471, 1e-6);
        assert_close(fisher_exact_two_sided(5, 295, 1, 299), 0.216_398, 1e-6);
        // Fisher's lady tasting tea.
        assert_close(fisher_exact_two_sided(3, 1, 1, 3), 0.485_714, 1e-6);
        // SciPy's documentation examples.
        assert_close(fisher_exact_two_sided(1, 9, 11, 3), 0.002_759, 1e-6);
        assert_close(fisher_exact_two_sided(8, 2, 1, 5), 0.034_965, 1e-6);
        // Orientation does not matter: transposed and row-swapped tables.
        let p = fisher_exact_two_sided(1, 9, 11, 3);
        assert_close(fisher_exact_two_sided(1, 11, 9, 3), p, 1e-12);
        assert_close(fisher_exact_two_sided(11, 3, 1, 9), p, 1e-12);
    }

    #[test]
    fn fisher_counts_mirror_tables() {
        // Symmetric margins: the mirror image of the observed table is exactly
        // as likely, but its log-probability is summed in another order and
        // may round differently. The tolerance keeps it in, doubling the
        // one-sided tail (exact values from rational arithmetic).
        assert_close(fisher_exact_two_sided(40, 60, 60, 40), 0.007_059_515, 1e-9);
        assert_close(fisher_exact_two_sided(13, 7, 7, 13), 0.112_833_775, 1e-9);
        // The most likely table has p = 1.
        assert_close(fisher_exact_two_sided(2, 2, 2, 2), 1.0, 1e-12);
        assert_close(fisher_exact_two_sided(1, 2, 2, 1), 1.0, 1e-12);
        assert_close(fisher_exact_two_sided(5, 95, 5, 95), 1.0, 1e-9);
    }

    #[test]
    fn fisher_edges() {
        // No runs at all, or an empty row/column: nothing to test.
        assert_eq!(fisher_exact_two_sided(0, 0, 0, 0), 1.0);
        assert_eq!(fisher_exact_two_sided(0, 0, 5, 295), 1.0);
        assert_eq!(fisher_exact_two_sided(0, 300, 0, 300), 1.0);
        assert_eq!(fisher_exact_two_sided(300, 0, 300, 0), 1.0);
        // Total separation is highly significant: 2 / C(20, 10).
        assert_close(fisher_exact_two_sided(10, 0, 0, 10), 2.0 / 184_756.0, 1e-15);
        // Large counts use Stirling's series and stay in range.
        let p = fisher_exact_two_sided(60, 2940, 0, 3000);
        assert!(p > 0.0 && p < 1e-15, "{p}");
        let p = fisher_exact_two_sided(100_000, 100_000, 100_100, 99_900);
        assert!(p > 0.5 && p <= 1.0, "{p}");
        // Extreme inputs neither overflow nor loop long (the support is one
        // table wide).
        assert_eq!(fisher_exact_two_sided(u64::MAX, u64::MAX, 0, 0), 1.0);
    }

    #[test]
    fn runs_needed_matches_power_prop_test() {
        // R: power.prop.test(p1 = .50, p2 = .75, power = .90) gives n = 76.7.
        assert_eq!(runs_needed(0.5, 0.75, 0.05, 0.9), Some(77));
        // Symmetric in its two rates.
        assert_eq!(runs_needed(0.75, 0.5, 0.05, 0.9), Some(77));
        // 2% against 0% at 80% power: ((1.96 * 0.1407 + 0.8416 * 0.14) / 0.02)².
        assert_eq!(runs_needed(0.02, 0.0, 0.05, 0.8), Some(388));
        // Smaller differences need more runs.
        let near = runs_needed(0.02, 0.01, 0.05, 0.8).unwrap();
        assert!(near > 388, "{near}");
    }

    #[test]
    fn runs_needed_rejects_what_it_cannot_answer() {
        assert_eq!(runs_needed(0.1, 0.1, 0.05, 0.8), None);
        assert_eq!(runs_needed(-0.1, 0.1, 0.05, 0.8), None);
        assert_eq!(runs_needed(0.1, 1.1, 0.05, 0.8), None);
        assert_eq!(runs_needed(0.1, 0.2, 0.0, 0.8), None);
        assert_eq!(runs_needed(0.1, 0.2, 0.05, 1.0), None);
        assert_eq!(runs_needed(f64::NAN, 0.2, 0.05, 0.8), None);
        // A difference too small for any u64 count.
        assert_eq!(runs_needed(0.5, 0.5 + 1e-12, 0.05, 0.8), None);
        // Certain against never is told apart in a handful of runs.
        assert_eq!(runs_needed(0.0, 1.0, 0.05, 0.8), Some(2));
    }
}
