//! Failure rates in time, for failures counted as events in a stretch of
//! time rather than as outcomes of runs: a long-running service that logs a
//! line per failure, watched in windows with and without tracing.
//!
//! - [`poisson_mean_interval`] / [`rate_per_hour`]: an exact (Garwood)
//!   interval for a count of events in a known exposure time, from the
//!   chi-square (gamma) quantiles. Exact rather than `k ± 1.96 √k` because
//!   the interesting counts are small, down to 0, where the normal
//!   approximation gives a negative or empty interval.
//! - [`poisson_rate_ratio`]: the ratio of two such rates, with the exact
//!   conditional test: given `k = k_a + k_b` events in all, `k_a` is
//!   binomial with `p = t_a / (t_a + t_b)` when the rates are equal, so the
//!   test is an exact binomial test and the interval a Clopper–Pearson
//!   interval for `p` mapped back to a ratio (R's `poisson.test` with two
//!   samples).
//!
//! Both assume the events Poisson: independent, at a constant rate. A
//! service whose failures come in bursts or drift over the hours breaks
//! that, and the intervals are then too narrow; `rank` holds the
//! comparison of per-window rates that does not need it.
//!
//! Quantiles of the gamma and beta distributions come from `statrs`; the
//! binomial probabilities from `special`, as Fisher's test does. Invalid
//! input gives the least informative answer or `None`, never a panic or NaN.

use std::time::Duration;

use statrs::distribution::{Beta, ContinuousCDF, Gamma};

use super::special::ln_choose;

/// Seconds in an hour, the unit rates are reported in.
const HOUR_S: f64 = 3600.0;

/// Relative tolerance under which two binomial probabilities are taken as
/// equal by the two-sided test (R's `binom.test` uses the same), so that
/// tables equal in exact arithmetic are not lost to rounding.
const TIE_TOLERANCE: f64 = 1e-7;

/// The exact two-sided (Garwood) interval `(low, high)` at `confidence`
/// (e.g. 0.95) for the mean of a Poisson count, having observed `count`.
///
/// `low` is the `(1 - confidence) / 2` quantile of Gamma(`count`, 1) and
/// `high` the `(1 + confidence) / 2` quantile of Gamma(`count + 1`, 1):
/// chi-square quantiles halved, as in R's `poisson.test`. 0 events give a
/// low bound of exactly 0 (and a high bound of 3.689 at 95%). A
/// `confidence` outside `(0, 1)` gives `(0, ∞)`.
pub fn poisson_mean_interval(count: u64, confidence: f64) -> (f64, f64) {
    if !(confidence > 0.0 && confidence < 1.0) {
        return (0.0, f64::INFINITY);
    }
    let alpha = 1.0 - confidence;
    let k = count as f64;
    let low = if count == 0 {
        0.0
    } else {
        gamma_quantile(k, alpha / 2.0)
    };
    let high = gamma_quantile(k + 1.0, 1.0 - alpha / 2.0);
    (low, high)
}

/// A rate of events per hour, with its exact interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    /// Events counted.
    pub count: u64,
    /// The exposure, in hours.
    pub hours: f64,
    /// `count / hours`.
    pub per_hour: f64,
    /// The interval's bounds, in events per hour.
    pub low: f64,
    pub high: f64,
}

/// `count` events in `exposure`, as a rate per hour with the exact
/// (Garwood) interval at `confidence` (see [`poisson_mean_interval`]).
/// `None` for a zero exposure, which says nothing about a rate.
pub fn rate_per_hour(count: u64, exposure: Duration, confidence: f64) -> Option<Rate> {
    let hours = exposure.as_secs_f64() / HOUR_S;
    if hours <= 0.0 {
        return None;
    }
    let (low, high) = poisson_mean_interval(count, confidence);
    Some(Rate {
        count,
        hours,
        per_hour: count as f64 / hours,
        low: low / hours,
        high: high / hours,
    })
}

/// The ratio of two Poisson rates, `a` over `b`, and its exact test.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateRatio {
    /// `(k_a / t_a) / (k_b / t_b)`: 0 when `a` had no events, ∞ when `b`
    /// had none (and `a` some).
    pub ratio: f64,
    /// The Clopper–Pearson interval mapped to a ratio; `high` is ∞ when `b`
    /// had no events.
    pub low: f64,
    pub high: f64,
    /// Two-sided p-value of the exact conditional test of equal rates.
    pub p_value: f64,
}

/// Compares the rate of `count_a` events in `exposure_a` with that of
/// `count_b` in `exposure_b`: R's `poisson.test(c(count_a, count_b),
/// c(exposure_a, exposure_b))`.
///
/// `None` when an exposure is zero, or when there is no event at all
/// (no ratio can be estimated; the test would say p = 1). A `confidence`
/// outside `(0, 1)` gives the interval `(0, ∞)`.
pub fn poisson_rate_ratio(
    count_a: u64,
    exposure_a: Duration,
    count_b: u64,
    exposure_b: Duration,
    confidence: f64,
) -> Option<RateRatio> {
    let (t_a, t_b) = (exposure_a.as_secs_f64(), exposure_b.as_secs_f64());
    let total = count_a.checked_add(count_b)?;
    if t_a <= 0.0 || t_b <= 0.0 || total == 0 {
        return None;
    }
    let p_null = t_a / (t_a + t_b);
    let p_value = binomial_test_two_sided(count_a, total, p_null);
    // p / (1 - p) is the ratio of counts; times t_b / t_a, of rates.
    let to_ratio = |p: f64| {
        if p >= 1.0 {
            f64::INFINITY
        } else {
            p / (1.0 - p) * t_b / t_a
        }
    };
    let (p_low, p_high) = clopper_pearson(count_a, total, confidence);
    let ratio = if count_b == 0 {
        f64::INFINITY
    } else {
        (count_a as f64 / t_a) / (count_b as f64 / t_b)
    };
    Some(RateRatio {
        ratio,
        low: to_ratio(p_low),
        high: to_ratio(p_high),
        p_value,
    })
}

/// Two-sided p-value of the exact binomial test of `successes` in
/// `trials` against a success probability `p`: the sum of the
/// probabilities of every outcome no more likely than the observed one
/// (R's `binom.test`, SciPy's `binomtest`). `successes > trials` is
/// treated as `successes == trials`; a `p` outside `[0, 1]` (or NaN) gives
/// 1, no evidence.
pub fn binomial_test_two_sided(successes: u64, trials: u64, p: f64) -> f64 {
    if !(0.0..=1.0).contains(&p) {
        return 1.0;
    }
    let k = successes.min(trials);
    // At p = 0 or 1 only one outcome is possible.
    if p == 0.0 || p == 1.0 {
        let certain = if p == 0.0 { 0 } else { trials };
        return if k == certain { 1.0 } else { 0.0 };
    }
    let n = trials as u128;
    let (ln_p, ln_q) = (p.ln(), (1.0 - p).ln());
    let ln_pmf = |i: u128| ln_choose(n, i) + i as f64 * ln_p + (n - i) as f64 * ln_q;
    let threshold = ln_pmf(k as u128) + TIE_TOLERANCE.ln_1p();
    let total: f64 = (0..=n)
        .map(ln_pmf)
        .filter(|&lp| lp <= threshold)
        .map(f64::exp)
        .sum();
    total.min(1.0)
}

/// The exact (Clopper–Pearson) interval `(low, high)` at `confidence` for a
/// binomial proportion, having seen `successes` in `trials`: beta
/// quantiles. 0 successes give a low bound of exactly 0 and `trials`
/// successes a high bound of exactly 1; no trials, or a `confidence`
/// outside `(0, 1)`, give `(0, 1)`.
pub fn clopper_pearson(successes: u64, trials: u64, confidence: f64) -> (f64, f64) {
    if trials == 0 || !(confidence > 0.0 && confidence < 1.0) {
        return (0.0, 1.0);
    }
    let alpha = 1.0 - confidence;
    let (k, n) = (successes.min(trials) as f64, trials as f64);
    let low = if k == 0.0 {
        0.0
    } else {
        beta_quantile(k, n - k + 1.0, alpha / 2.0)
    };
    let high = if k == n {
        1.0
    } else {
        beta_quantile(k + 1.0, n - k, 1.0 - alpha / 2.0)
    };
    (low, high)
}

/// The `p` quantile of Gamma(`shape`, rate 1), for `shape > 0` and `p` in
/// `(0, 1)` (the callers guarantee both).
fn gamma_quantile(shape: f64, p: f64) -> f64 {
    match Gamma::new(shape, 1.0) {
        Ok(gamma) => gamma.inverse_cdf(p),
        Err(_) => f64::INFINITY,
    }
}

/// The `p` quantile of Beta(`a`, `b`), for `a, b > 0` and `p` in `(0, 1)`
/// (the callers guarantee both).
fn beta_quantile(a: f64, b: f64, p: f64) -> f64 {
    match Beta::new(a, b) {
        Ok(beta) => beta.inverse_cdf(p),
        Err(_) => 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Relative closeness, for values spanning orders of magnitude.
    fn assert_rel(got: f64, want: f64, tol: f64) {
        assert!(
            (got - want).abs() <= tol * want.abs(),
            "got {got}, want {want} (relative ± {tol})"
        );
    }

    fn hours(h: f64) -> Duration {
        Duration::from_secs_f64(h * HOUR_S)
    }

    #[test]
    fn garwood_matches_chi_square_quantiles() {
        // SciPy 1.17: chi2.ppf(0.025, 2k) / 2 and chi2.ppf(0.975, 2k + 2) / 2.
        let known = [
            (1, 0.025_317_807_984_289_897, 5.571_643_390_938_898),
            (2, 0.242_209_278_543_965_07, 7.224_687_667_723_96),
            (10, 4.795_388_696_132_433_5, 18.390_356_042_017_78),
            (100, 81.363_991_250_923_15, 121.626_793_792_426_38),
            (1000, 938.973_018_407_695_2, 1_063.952_136_016_302),
        ];
        for (k, low, high) in known {
            let (l, h) = poisson_mean_interval(k, 0.95);
            assert_rel(l, low, 1e-9);
            assert_rel(h, high, 1e-9);
        }
        // 90%: chi2.ppf(0.05, 10) / 2, chi2.ppf(0.95, 12) / 2.
        let (l, h) = poisson_mean_interval(5, 0.90);
        assert_rel(l, 1.970_149_568_059_53, 1e-9);
        assert_rel(h, 10.513_034_908_741_535, 1e-9);
    }

    #[test]
    fn garwood_at_zero_events() {
        // The low bound is exactly 0; the high one is -ln(0.025) = 3.6889.
        let (l, h) = poisson_mean_interval(0, 0.95);
        assert_eq!(l, 0.0);
        assert_rel(h, -(0.025f64.ln()), 1e-9);
        for bad in [0.0, 1.0, -0.5, f64::NAN] {
            assert_eq!(poisson_mean_interval(3, bad), (0.0, f64::INFINITY));
        }
    }

    #[test]
    fn rate_per_hour_matches_r_poisson_test() {
        // R's ?poisson.test: Welsh nickel refiners, 137 deaths against
        // 24.19893 expected: rate 5.661407, 95% CI 4.753125 6.692709.
        let r = rate_per_hour(137, hours(24.19893), 0.95).unwrap();
        assert_rel(r.per_hour, 5.661_407, 1e-6);
        assert_rel(r.low, 4.753_125, 1e-6);
        assert_rel(r.high, 6.692_709, 1e-6);
        // Half an hour without a failure: below 7.38 per hour.
        let r = rate_per_hour(0, Duration::from_secs(1800), 0.95).unwrap();
        assert_eq!((r.count, r.per_hour, r.low), (0, 0.0, 0.0));
        assert_rel(r.hours, 0.5, 1e-12);
        assert_rel(r.high, 2.0 * 3.688_879_454_113_935_4, 1e-9);
        assert_eq!(rate_per_hour(3, Duration::ZERO, 0.95), None);
    }

    #[test]
    fn rate_ratio_matches_r_poisson_test() {
        // R's ?poisson.test: eba1977, 11 cases in 800 person-years against
        // 21 in 3011: rate ratio 1.971488, 95% CI 0.8584264 4.2772659,
        // p-value = 0.07967.
        let r = poisson_rate_ratio(11, hours(800.0), 21, hours(3011.0), 0.95).unwrap();
        assert_rel(r.ratio, 1.971_488, 1e-6);
        assert_rel(r.low, 0.858_426_4, 1e-6);
        assert_rel(r.high, 4.277_265_9, 1e-6);
        assert_rel(r.p_value, 0.079_67, 1e-4);
        // SciPy: binomtest(40, 60, 10 / 22.5) with its exact interval.
        let r = poisson_rate_ratio(40, hours(10.0), 20, hours(12.5), 0.95).unwrap();
        assert_rel(r.ratio, 2.5, 1e-12);
        assert_rel(r.low, 1.427_389_506_011_362_8, 1e-8);
        assert_rel(r.high, 4.513_836_383_289_519, 1e-8);
        assert_rel(r.p_value, 0.000_632_868_635_698_769_7, 1e-8);
        // 3 against 12 in equal times: binomtest(3, 15, 0.5), p = 0.03516.
        let r = poisson_rate_ratio(3, hours(2.0), 12, hours(2.0), 0.95).unwrap();
        assert_rel(r.ratio, 0.25, 1e-12);
        assert_rel(r.low, 0.045_272_863_605_472_044, 1e-8);
        assert_rel(r.high, 0.926_378_193_717_704_9, 1e-8);
        assert_rel(r.p_value, 0.035_156_25, 1e-12);
    }

    #[test]
    fn rate_ratio_edges() {
        // Equal counts in equal times: ratio 1, p = 1.
        let r = poisson_rate_ratio(7, hours(3.0), 7, hours(3.0), 0.95).unwrap();
        assert_rel(r.ratio, 1.0, 1e-12);
        assert_rel(r.p_value, 1.0, 1e-12);
        assert_rel(r.low, 0.299_309_681_810_58, 1e-8);
        assert_rel(r.high, 3.341_021_225_744_565_7, 1e-8);
        // No failure traced, 5 untraced: ratio 0, p = 2 / 2^5.
        let r = poisson_rate_ratio(0, hours(1.0), 5, hours(1.0), 0.95).unwrap();
        assert_eq!((r.ratio, r.low), (0.0, 0.0));
        assert_rel(r.high, 1.091_279_105_182_546, 1e-8);
        assert_rel(r.p_value, 0.0625, 1e-12);
        // The mirror image: infinite ratio and high bound.
        let r = poisson_rate_ratio(5, hours(1.0), 0, hours(1.0), 0.95).unwrap();
        assert_eq!((r.ratio, r.high), (f64::INFINITY, f64::INFINITY));
        assert_rel(r.low, 0.916_355_857_315_46, 1e-8);
        assert_rel(r.p_value, 0.0625, 1e-12);
        // One event in a quarter of the time: binomtest(1, 1, 0.2), p = 0.2.
        let r = poisson_rate_ratio(1, hours(0.5), 0, hours(2.0), 0.95).unwrap();
        assert_rel(r.p_value, 0.2, 1e-12);
        assert_rel(r.low, 0.102_564_102_564_102_66, 1e-8);
        // Nothing to compare.
        assert_eq!(poisson_rate_ratio(0, hours(1.0), 0, hours(1.0), 0.95), None);
        assert_eq!(
            poisson_rate_ratio(1, Duration::ZERO, 1, hours(1.0), 0.95),
            None
        );
        assert_eq!(
            poisson_rate_ratio(1, hours(1.0), 1, Duration::ZERO, 0.95),
            None
        );
        assert_eq!(
            poisson_rate_ratio(u64::MAX, hours(1.0), 1, hours(1.0), 0.95),
            None
        );
    }

    #[test]
    fn binomial_test_matches_scipy() {
        // SciPy 1.17 binomtest(...).pvalue.
        assert_rel(
            binomial_test_two_sided(3, 20, 0.3),
            0.220_418_267_380_709_13,
            1e-9,
        );
        assert_rel(binomial_test_two_sided(10, 20, 0.5), 1.0, 1e-12);
        assert_rel(binomial_test_two_sided(0, 10, 0.5), 0.001_953_125, 1e-12);
        assert_eq!(binomial_test_two_sided(0, 5, 0.0), 1.0);
        assert_eq!(binomial_test_two_sided(1, 5, 0.0), 0.0);
        assert_eq!(binomial_test_two_sided(5, 5, 1.0), 1.0);
        assert_eq!(binomial_test_two_sided(3, 5, f64::NAN), 1.0);
        assert_eq!(binomial_test_two_sided(0, 0, 0.3), 1.0);
    }

    #[test]
    fn clopper_pearson_matches_scipy() {
        // binomtest(3, 20).proportion_ci(method='exact').
        let (l, h) = clopper_pearson(3, 20, 0.95);
        assert_rel(l, 0.032_070_937_185_544_77, 1e-8);
        assert_rel(h, 0.378_926_826_545_295_64, 1e-8);
        assert_eq!(clopper_pearson(0, 20, 0.95).0, 0.0);
        assert_eq!(clopper_pearson(20, 20, 0.95).1, 1.0);
        assert_eq!(clopper_pearson(0, 0, 0.95), (0.0, 1.0));
        assert_eq!(clopper_pearson(3, 20, 1.0), (0.0, 1.0));
    }
}
