//! Comparing per-window failure rates without assuming the failures
//! Poisson: the Mann–Whitney U test (Wilcoxon rank-sum).
//!
//! A service watched in alternating windows gives one failure rate per
//! window and mode. The Poisson rate ratio (see `rate`) pools the windows
//! and assumes a constant rate; real services drift and fail in bursts, so
//! that its interval is too narrow and its p-value too small. Ranking the
//! per-window rates and asking whether one mode's windows rank higher
//! assumes only that windows are exchangeable under the null hypothesis,
//! which the shuffled order of modes in `compare -p` makes true.
//!
//! Per-window rates of a rare failure are mostly 0, so ties are the rule,
//! not the exception. The exact p-value here is therefore the exact
//! permutation distribution of the rank sum *with the observed ties*
//! (midranks), computed by counting subsets rather than enumerating them;
//! it is the classic exact test when there are no ties, and with ties it
//! is what SciPy's `permutation_test` gives on the rank sum. Above
//! [`EXACT_MAX`] windows in all it switches to the normal approximation
//! with tie and continuity corrections (SciPy's `mannwhitneyu` asymptotic
//! method, R's `wilcox.test(exact = FALSE)`), which is good there.

use statrs::function::erf::erfc;

/// The largest number of observations (both samples together) for which
/// the exact distribution is computed: its cost grows as the cube of it
/// (about 50 million steps at 100, a few tens of milliseconds).
pub const EXACT_MAX: usize = 100;

/// How a p-value was computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// The exact permutation distribution, ties included.
    Exact,
    /// The normal approximation with tie and continuity corrections.
    Normal,
}

/// The result of a Mann–Whitney U test of sample `a` against sample `b`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MannWhitney {
    /// U of `a`: the number of pairs `(x in a, y in b)` with `x > y`, ties
    /// counting one half (SciPy's `statistic`, R's `W`).
    pub u: f64,
    /// `u / (n_a n_b)`: the probability that a window of `a` has a higher
    /// rate than one of `b`, ties counting one half. 0.5 is no difference.
    pub superiority: f64,
    /// The two-sided p-value: twice the smaller tail, at most 1.
    pub p_value: f64,
    pub method: Method,
}

/// The Mann–Whitney U test of `a` against `b`, exact up to [`EXACT_MAX`]
/// observations and normal beyond. `None` when a sample is empty or holds
/// a NaN.
pub fn mann_whitney(a: &[f64], b: &[f64]) -> Option<MannWhitney> {
    let method = if a.len() + b.len() <= EXACT_MAX {
        Method::Exact
    } else {
        Method::Normal
    };
    mann_whitney_with(a, b, method)
}

/// [`mann_whitney`] with the method chosen by the caller. The exact method
/// on large samples is slow (see [`EXACT_MAX`]) but correct.
pub fn mann_whitney_with(a: &[f64], b: &[f64], method: Method) -> Option<MannWhitney> {
    if a.is_empty() || b.is_empty() || a.iter().chain(b).any(|x| x.is_nan()) {
        return None;
    }
    let ranks = Ranks::new(a, b);
    let (n_a, n_b) = (a.len() as f64, b.len() as f64);
    // U = R_a - n_a (n_a + 1) / 2, in halves to stay in integers.
    let u = (ranks.sum_a_doubled as f64 - n_a * (n_a + 1.0)) / 2.0;
    let p_value = match method {
        Method::Exact => exact_p(&ranks),
        Method::Normal => normal_p(&ranks, u, n_a, n_b),
    };
    Some(MannWhitney {
        u,
        superiority: u / (n_a * n_b),
        p_value,
        method,
    })
}

/// The pooled observations' midranks, doubled so that they are integers.
struct Ranks {
    /// Doubled midrank of every observation, `a`'s first.
    doubled: Vec<u64>,
    /// How many of them belong to `a`.
    n_a: usize,
    /// The sum of `a`'s doubled midranks: the observed statistic.
    sum_a_doubled: u64,
    /// `Σ (t³ - t)` over the groups of `t` tied observations.
    tie_term: f64,
}

impl Ranks {
    fn new(a: &[f64], b: &[f64]) -> Self {
        let values: Vec<f64> = a.iter().chain(b).copied().collect();
        let mut order: Vec<usize> = (0..values.len()).collect();
        order.sort_by(|&i, &j| values[i].total_cmp(&values[j]));
        let mut doubled = vec![0; values.len()];
        let mut tie_term = 0.0;
        let mut start = 0;
        while start < order.len() {
            let mut end = start;
            // `==` rather than `total_cmp`, so that -0.0 ties with 0.0.
            while end + 1 < order.len() && values[order[end + 1]] == values[order[start]] {
                end += 1;
            }
            // Positions start..=end hold ranks start+1..=end+1; their
            // midrank doubled is (start + 1) + (end + 1).
            for &i in &order[start..=end] {
                doubled[i] = (start + end + 2) as u64;
            }
            let t = (end - start + 1) as f64;
            tie_term += t * t * t - t;
            start = end + 1;
        }
        let sum_a_doubled = doubled[..a.len()].iter().sum();
        Self {
            doubled,
            n_a: a.len(),
            sum_a_doubled,
            tie_term,
        }
    }
}

/// Two-sided exact p-value: the distribution of the sum of `n_a` doubled
/// midranks drawn without replacement from all of them, by counting the
/// subsets of each size with each sum (a knapsack over the observations).
fn exact_p(ranks: &Ranks) -> f64 {
    let n_a = ranks.n_a;
    let max_sum: u64 = {
        let mut sorted = ranks.doubled.clone();
        sorted.sort_unstable();
        sorted.iter().rev().take(n_a).sum()
    };
    let width = max_sum as usize + 1;
    // ways[j * width + s]: subsets of size j with doubled rank sum s, as
    // f64 (C(100, 50) ≈ 1e29 is far inside its range, and only ratios of
    // these counts matter).
    let mut ways = vec![0.0f64; (n_a + 1) * width];
    ways[0] = 1.0;
    for (seen, &r) in ranks.doubled.iter().enumerate() {
        let r = r as usize;
        // Downwards in j so that each observation is used at most once.
        for j in (1..=n_a.min(seen + 1)).rev() {
            let (below, this) = ways.split_at_mut(j * width);
            let below = &below[(j - 1) * width..];
            for s in r..width {
                this[s] += below[s - r];
            }
        }
    }
    let dist = &ways[n_a * width..];
    let total: f64 = dist.iter().sum();
    let observed = ranks.sum_a_doubled as usize;
    let lower: f64 = dist[..=observed].iter().sum();
    let upper: f64 = dist[observed..].iter().sum();
    (2.0 * lower.min(upper) / total).min(1.0)
}

/// Two-sided p-value from the normal approximation to U, with the
/// variance corrected for ties and a continuity correction of 1/2.
fn normal_p(ranks: &Ranks, u: f64, n_a: f64, n_b: f64) -> f64 {
    let n = n_a + n_b;
    let mean = n_a * n_b / 2.0;
    let tie = if n > 1.0 {
        ranks.tie_term / (n * (n - 1.0))
    } else {
        0.0
    };
    let variance = n_a * n_b / 12.0 * ((n + 1.0) - tie);
    if variance <= 0.0 {
        // Every observation tied: no evidence either way.
        return 1.0;
    }
    let deviation = ((u - mean).abs() - 0.5).max(0.0);
    let z = deviation / variance.sqrt();
    // 2 * P(Z > z) = erfc(z / √2).
    erfc(z / std::f64::consts::SQRT_2).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_close(got: f64, want: f64, tol: f64) {
        assert!((got - want).abs() <= tol, "got {got}, want {want} ± {tol}");
    }

    fn floats(xs: &[u32]) -> Vec<f64> {
        xs.iter().map(|&x| x as f64).collect()
    }

    #[test]
    fn exact_without_ties_matches_scipy() {
        // SciPy 1.17 mannwhitneyu(x, y, method='exact'); the first is the
        // example of its documentation.
        let r = mann_whitney(&floats(&[19, 22, 16, 29, 24]), &floats(&[20, 11, 17, 12])).unwrap();
        assert_eq!((r.u, r.method), (17.0, Method::Exact));
        assert_close(r.p_value, 0.111_111_111_111_111_1, 1e-12);
        let r = mann_whitney(&[1.1, 2.2, 3.3, 4.4, 5.5], &[6.1, 7.2, 8.3, 0.5, 9.9, 10.1]).unwrap();
        assert_eq!(r.u, 5.0);
        assert_close(r.p_value, 0.082_251_082_251_082_26, 1e-12);
        // Total separation of 4 and 4: 2 / C(8, 4).
        let r = mann_whitney(&floats(&[1, 2, 3, 4]), &floats(&[5, 6, 7, 8])).unwrap();
        assert_eq!((r.u, r.superiority), (0.0, 0.0));
        assert_close(r.p_value, 2.0 / 70.0, 1e-15);
        // Swapping the samples mirrors U and keeps p.
        let s = mann_whitney(&floats(&[5, 6, 7, 8]), &floats(&[1, 2, 3, 4])).unwrap();
        assert_eq!((s.u, s.superiority), (16.0, 1.0));
        assert_close(s.p_value, r.p_value, 1e-15);
    }

    #[test]
    fn exact_with_ties_matches_permutation_test() {
        // SciPy 1.17 permutation_test on the rank sum, every permutation
        // (n_resamples=inf, two-sided): per-window failure counts.
        let r = mann_whitney(&floats(&[0, 0, 2, 0, 4, 2]), &floats(&[0, 0, 0, 0, 2, 0])).unwrap();
        assert_eq!(r.u, 24.5);
        assert_close(r.p_value, 0.424_242_424_242_424_25, 1e-12);
        let r = mann_whitney(
            &floats(&[0, 2, 2, 4, 6, 2, 4, 2]),
            &floats(&[0, 0, 0, 2, 0, 0, 0, 2]),
        )
        .unwrap();
        assert_eq!(r.u, 55.0);
        assert_close(r.p_value, 0.017_715_617_715_617_717, 1e-12);
        // The normal approximation is far off on these (SciPy's asymptotic
        // p-value, to 1e-9 as below), which is why small samples get the exact test.
        let n = mann_whitney_with(
            &floats(&[0, 0, 2, 0, 4, 2]),
            &floats(&[0, 0, 0, 0, 2, 0]),
            Method::Normal,
        )
        .unwrap();
        assert_close(n.p_value, 0.248_213_078_989_923_73, 1e-9);
    }

    #[test]
    fn normal_matches_scipy_asymptotic() {
        // SciPy 1.17 mannwhitneyu(x, y, method='asymptotic') (continuity
        // and tie corrections on), to 1e-9: statrs' erfc is good to about
        // 1e-10 relative, plenty for a p-value. Small samples...
        let n = mann_whitney_with(
            &floats(&[19, 22, 16, 29, 24]),
            &floats(&[20, 11, 17, 12]),
            Method::Normal,
        )
        .unwrap();
        assert_close(n.p_value, 0.111_346_886_533_140_41, 1e-9);
        let n = mann_whitney_with(
            &floats(&[0, 2, 2, 4, 6, 2, 4, 2]),
            &floats(&[0, 0, 0, 2, 0, 0, 0, 2]),
            Method::Normal,
        )
        .unwrap();
        assert_close(n.p_value, 0.011_049_925_912_346_466, 1e-9);
        // ... and large ones, which `mann_whitney` sends here by itself:
        // numpy.random.default_rng(1).poisson(2, 70) and .poisson(3, 60).
        let x = floats(&[
            2, 2, 3, 2, 2, 0, 1, 2, 5, 2, 0, 4, 2, 3, 4, 3, 2, 4, 0, 3, 2, 2, 3, 5, 2, 0, 2, 2, 1,
            1, 0, 3, 4, 1, 2, 0, 3, 2, 4, 2, 1, 1, 7, 1, 1, 0, 2, 2, 2, 1, 2, 2, 4, 2, 4, 2, 3, 1,
            1, 2, 4, 1, 2, 0, 1, 4, 3, 0, 4, 0,
        ]);
        let y = floats(&[
            3, 3, 2, 0, 1, 8, 1, 2, 2, 3, 2, 1, 1, 4, 2, 3, 3, 2, 1, 1, 2, 5, 0, 2, 3, 1, 4, 3, 3,
            4, 1, 2, 1, 1, 1, 3, 3, 4, 3, 3, 3, 4, 1, 5, 4, 3, 7, 3, 1, 4, 3, 5, 3, 3, 1, 3, 4, 3,
            1, 6,
        ]);
        let r = mann_whitney(&x, &y).unwrap();
        assert_eq!((r.u, r.method), (1664.5, Method::Normal));
        assert_close(r.p_value, 0.037_891_014_447_338_18, 1e-9);
        // Without ties: 1..=60 against 31.5..=90.5.
        let x: Vec<f64> = (1..=60).map(f64::from).collect();
        let y: Vec<f64> = (1..=60).map(|i| f64::from(i) + 30.5).collect();
        let r = mann_whitney(&x, &y).unwrap();
        assert_eq!((r.u, r.method), (435.0, Method::Normal));
        assert!(
            (r.p_value / 7.964_332_670_470_499e-13 - 1.0).abs() < 1e-9,
            "{r:?}"
        );
    }

    #[test]
    fn edges() {
        // Every window the same rate: no evidence, whatever the method.
        for method in [Method::Exact, Method::Normal] {
            let r = mann_whitney_with(&[1.0, 1.0, 1.0], &[1.0, 1.0], method).unwrap();
            assert_eq!((r.u, r.superiority, r.p_value), (3.0, 0.5, 1.0));
        }
        // All windows without failures, the common case of a rare bug.
        let r = mann_whitney(&[0.0; 5], &[0.0; 5]).unwrap();
        assert_eq!(r.p_value, 1.0);
        // One window each: two equally likely orders, p = 1 (SciPy agrees).
        let r = mann_whitney(&[3.0], &[1.0]).unwrap();
        assert_eq!((r.u, r.p_value), (1.0, 1.0));
        // -0.0 ties with 0.0.
        let r = mann_whitney(&[-0.0], &[0.0]).unwrap();
        assert_eq!(r.u, 0.5);
        assert_eq!(mann_whitney(&[], &[1.0]), None);
        assert_eq!(mann_whitney(&[1.0], &[]), None);
        assert_eq!(mann_whitney(&[f64::NAN], &[1.0]), None);
        // The largest exact case stays cheap and agrees with the normal
        // approximation where the latter is good.
        let x: Vec<f64> = (0..50).map(|i| f64::from(i % 7)).collect();
        let y: Vec<f64> = (0..50).map(|i| f64::from(i % 5) + 0.5).collect();
        let exact = mann_whitney(&x, &y).unwrap();
        assert_eq!(exact.method, Method::Exact);
        let normal = mann_whitney_with(&x, &y, Method::Normal).unwrap();
        assert!(
            (exact.p_value - normal.p_value).abs() < 0.01,
            "{exact:?} {normal:?}"
        );
    }
}
