//! Summaries of samples (median, percentiles) and the adjustment of many
//! p-values tested together: `amplify` tests many delays against one
//! baseline, and Holm's step-down adjustment keeps the chance of any false
//! "this delay matters" at 5% over all of them (uniformly more powerful
//! than Bonferroni, and valid without assuming the tests independent).

/// Holm-adjusted p-values, in the order given: the smallest p is
/// multiplied by m, the next by m-1, ..., each kept at least as large as
/// the one before it and at most 1 (R's `p.adjust(p, "holm")`). A NaN
/// p-value is treated as 1 (no evidence).
pub fn holm_adjust(p_values: &[f64]) -> Vec<f64> {
    let m = p_values.len();
    let clean = |p: f64| if p.is_nan() { 1.0 } else { p.clamp(0.0, 1.0) };
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| clean(p_values[a]).total_cmp(&clean(p_values[b])));
    let mut adjusted = vec![1.0; m];
    let mut running: f64 = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * clean(p_values[i])).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

/// The median of `samples` (sorting them in place), or `None` if there are
/// none or any is NaN. Same as `percentile(samples, 50.0)`: the mean of the
/// middle two for an even count.
pub fn median(samples: &mut [f64]) -> Option<f64> {
    percentile(samples, 50.0)
}

/// The `p`-th percentile (`p` in `[0, 100]`) of `samples`, sorting them in
/// place.
///
/// Linearly interpolates between the two nearest order statistics (R's
/// type 7, NumPy's default), so percentiles of few samples do not jump in
/// steps. `None` for no samples, a NaN sample (it has no place in the
/// order), or a `p` outside `[0, 100]`.
pub fn percentile(samples: &mut [f64], p: f64) -> Option<f64> {
    if samples.is_empty() || !(0.0..=100.0).contains(&p) || samples.iter().any(|s| s.is_nan()) {
        return None;
    }
    samples.sort_unstable_by(f64::total_cmp);
    let rank = p / 100.0 * (samples.len() - 1) as f64;
    // `rank` is in `[0, len - 1]`, so both indices are in bounds.
    let below = rank.floor() as usize;
    let above = rank.ceil() as usize;
    let (x0, x1) = (samples[below], samples[above]);
    if below == above {
        return Some(x0);
    }
    Some(x0 + (rank - below as f64) * (x1 - x0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holm_matches_r() {
        // R: p.adjust(c(0.01, 0.04, 0.03, 0.005), "holm")
        //    0.03 0.06 0.06 0.02
        let got = holm_adjust(&[0.01, 0.04, 0.03, 0.005]);
        for (g, want) in got.iter().zip([0.03, 0.06, 0.06, 0.02]) {
            assert!((g - want).abs() < 1e-12, "{got:?}");
        }
        // R: p.adjust(c(0.2, 0.001, 0.5, 0.012, 0.9), "holm")
        //    0.600 0.005 1.000 0.048 1.000
        let got = holm_adjust(&[0.2, 0.001, 0.5, 0.012, 0.9]);
        for (g, want) in got.iter().zip([0.6, 0.005, 1.0, 0.048, 1.0]) {
            assert!((g - want).abs() < 1e-12, "{got:?}");
        }
        assert_eq!(holm_adjust(&[0.04]), vec![0.04]);
        assert!(holm_adjust(&[]).is_empty());
        assert_eq!(holm_adjust(&[f64::NAN, 0.01]), vec![1.0, 0.02]);
    }

    #[test]
    fn median_and_percentiles() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [4.0]), Some(4.0));
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
        let mut xs = [10.0, 40.0, 20.0, 30.0, 50.0];
        assert_eq!(percentile(&mut xs, 0.0), Some(10.0));
        assert_eq!(percentile(&mut xs, 100.0), Some(50.0));
        // numpy.percentile([10,20,30,40,50], 90) == 46.0
        assert_eq!(percentile(&mut xs, 90.0), Some(46.0));
        assert_eq!(percentile(&mut xs, 25.0), Some(20.0));
        // Sorted in place, as documented.
        assert_eq!(xs, [10.0, 20.0, 30.0, 40.0, 50.0]);
    }

    #[test]
    fn percentile_rejects_bad_input() {
        assert_eq!(percentile(&mut [], 50.0), None);
        assert_eq!(percentile(&mut [1.0, 2.0], -1.0), None);
        assert_eq!(percentile(&mut [1.0, 2.0], 100.5), None);
        assert_eq!(percentile(&mut [1.0, 2.0], f64::NAN), None);
        assert_eq!(percentile(&mut [1.0, f64::NAN], 50.0), None);
        // Infinities are ordered values, not errors.
        assert_eq!(
            median(&mut [f64::NEG_INFINITY, 0.0, f64::INFINITY]),
            Some(0.0)
        );
    }
}
