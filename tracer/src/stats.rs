//! The statistics behind `tracer compare` and `tracer overhead`: failure
//! rates with confidence intervals, a significance test between two modes,
//! and robust summaries of timings. Pure functions, no I/O.

/// z for a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// Wilson score interval for `failures` out of `runs`: unlike the normal
/// approximation it stays inside [0, 1] and behaves at 0 and n failures,
/// which is where flaky-bug rates live. `runs == 0` knows nothing: (0, 1).
pub fn wilson_interval(failures: u64, runs: u64, z: f64) -> (f64, f64) {
    if runs == 0 {
        return (0.0, 1.0);
    }
    let n = runs as f64;
    let p = failures.min(runs) as f64 / n;
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    // The bounds are exactly 0 and 1 at the ends; rounding would leave
    // 1e-18 there.
    let lo = if failures == 0 { 0.0 } else { (centre - half).max(0.0) };
    let hi = if failures >= runs { 1.0 } else { (centre + half).min(1.0) };
    (lo, hi)
}

/// The rule of three: with no failure in `runs` runs, the true rate is
/// below `3 / runs` with 95% confidence.
pub fn rule_of_three(runs: u64) -> f64 {
    if runs == 0 { 1.0 } else { (3.0 / runs as f64).min(1.0) }
}

/// ln(n!) by summing logs: exact enough and fast for the run counts a
/// comparison uses (thousands).
fn ln_factorial(n: u64) -> f64 {
    (2..=n).map(|k| (k as f64).ln()).sum()
}

/// Two-sided Fisher exact test p-value for the 2×2 table [[a, b], [c, d]]
/// (failures/passes of one mode, failures/passes of the other), as R's
/// `fisher.test` and scipy compute it: the sum of the probabilities of all
/// tables with the same margins that are no more likely than the observed
/// one (with a 1e-7 relative tolerance for ties).
pub fn fisher_exact_two_sided(a: u64, b: u64, c: u64, d: u64) -> f64 {
    let row1 = a + b;
    let row2 = c + d;
    let col1 = a + c;
    let n = row1 + row2;
    if n == 0 {
        return 1.0;
    }
    let fixed = ln_factorial(row1) + ln_factorial(row2) + ln_factorial(col1)
        + ln_factorial(n - col1)
        - ln_factorial(n);
    let log_p = |x: u64| {
        fixed
            - ln_factorial(x)
            - ln_factorial(row1 - x)
            - ln_factorial(col1 - x)
            - ln_factorial(row2 + x - col1)
    };
    let lo = col1.saturating_sub(row2);
    let hi = row1.min(col1);
    let observed = log_p(a);
    let mut p = 0.0;
    for x in lo..=hi {
        let lp = log_p(x);
        if lp <= observed + 1e-7_f64.ln_1p() {
            p += lp.exp();
        }
    }
    p.min(1.0)
}

/// Runs per mode needed to tell failure rates `p1` and `p2` apart with a
/// two-sided test at level `alpha` and the given `power`, by the normal
/// approximation for two proportions. `None` when the rates are equal (no
/// number of runs tells them apart) or out of range.
pub fn runs_needed(p1: f64, p2: f64, alpha: f64, power: f64) -> Option<u64> {
    let valid = |p: f64| (0.0..=1.0).contains(&p);
    if !valid(p1) || !valid(p2) || (p1 - p2).abs() < 1e-12 {
        return None;
    }
    let za = normal_quantile(1.0 - alpha / 2.0)?;
    let zb = normal_quantile(power)?;
    let pbar = (p1 + p2) / 2.0;
    let num = za * (2.0 * pbar * (1.0 - pbar)).sqrt()
        + zb * (p1 * (1.0 - p1) + p2 * (1.0 - p2)).sqrt();
    Some((num * num / ((p1 - p2) * (p1 - p2))).ceil() as u64)
}

/// Inverse of the standard normal CDF (Acklam's rational approximation,
/// relative error below 1.2e-9).
fn normal_quantile(p: f64) -> Option<f64> {
    if !(0.0 < p && p < 1.0) {
        return None;
    }
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    const LOW: f64 = 0.02425;
    Some(if p < LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - LOW {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    })
}

/// Median (mean of the two middle values for an even count); `None` when
/// empty. Sorts `values`.
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    })
}

/// Percentile `p` in [0, 100] by linear interpolation between closest
/// ranks (numpy's default); `None` when empty. Sorts `values`.
pub fn percentile(values: &mut [f64], p: f64) -> Option<f64> {
    if values.is_empty() || !(0.0..=100.0).contains(&p) {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let rank = p / 100.0 * (values.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    Some(values[lo] + (values[hi] - values[lo]) * (rank - lo as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn wilson_known_values() {
        let (lo, hi) = wilson_interval(6, 300, Z95);
        assert!(close(lo, 0.0092, 0.0001) && close(hi, 0.0429, 0.0001), "{lo} {hi}");
        let (lo, hi) = wilson_interval(0, 100, Z95);
        assert_eq!(lo, 0.0);
        assert!(close(hi, 0.0370, 0.0001), "{hi}");
        let (lo, hi) = wilson_interval(10, 10, Z95);
        assert!(close(lo, 0.7225, 0.0001) && hi == 1.0, "{lo} {hi}");
        assert_eq!(wilson_interval(0, 0, Z95), (0.0, 1.0));
    }

    #[test]
    fn rule_of_three_bounds() {
        assert_eq!(rule_of_three(300), 0.01);
        assert_eq!(rule_of_three(0), 1.0);
        assert_eq!(rule_of_three(2), 1.0);
    }

    #[test]
    fn fisher_known_values() {
        assert!(close(fisher_exact_two_sided(6, 294, 0, 300), 0.0305, 0.0001));
        // The lady tasting tea.
        assert!(close(fisher_exact_two_sided(3, 1, 1, 3), 0.4857, 0.0001));
        // scipy.stats.fisher_exact([[8, 2], [1, 5]]) -> 0.0349650...
        assert!(close(fisher_exact_two_sided(8, 2, 1, 5), 0.034965, 0.00001));
        // Identical rows: nothing to see.
        assert!(close(fisher_exact_two_sided(5, 95, 5, 95), 1.0, 1e-9));
        assert_eq!(fisher_exact_two_sided(0, 0, 0, 0), 1.0);
        assert!(close(fisher_exact_two_sided(0, 10, 0, 10), 1.0, 1e-9));
    }

    #[test]
    fn runs_needed_grows_as_rates_converge() {
        let far = runs_needed(0.04, 0.0, 0.05, 0.8).unwrap();
        let near = runs_needed(0.04, 0.03, 0.05, 0.8).unwrap();
        assert!(far < near, "{far} {near}");
        // Textbook: 50% vs 40% at alpha 0.05, power 0.8 needs ~388 per arm.
        let n = runs_needed(0.5, 0.4, 0.05, 0.8).unwrap();
        assert!((380..=395).contains(&n), "{n}");
        assert_eq!(runs_needed(0.1, 0.1, 0.05, 0.8), None);
        assert_eq!(runs_needed(1.5, 0.1, 0.05, 0.8), None);
    }

    #[test]
    fn normal_quantiles() {
        assert!(close(normal_quantile(0.975).unwrap(), Z95, 1e-8));
        assert!(close(normal_quantile(0.5).unwrap(), 0.0, 1e-12));
        assert!(close(normal_quantile(0.01).unwrap(), -2.326_347_874, 1e-7));
        assert_eq!(normal_quantile(1.0), None);
    }

    #[test]
    fn medians_and_percentiles() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&mut []), None);
        let mut v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&mut v, 0.0), Some(1.0));
        assert_eq!(percentile(&mut v, 100.0), Some(10.0));
        assert!(close(percentile(&mut v, 90.0).unwrap(), 9.1, 1e-9));
        assert_eq!(percentile(&mut [], 50.0), None);
        assert_eq!(percentile(&mut v, 101.0), None);
    }
}
