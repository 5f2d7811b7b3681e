//! Special functions that are cheap to get exactly right by hand: `ln(n!)`
//! for the exact tests on counts (Fisher's, the conditional binomial), and
//! the normal quantile for power calculations. Quantiles of the gamma and
//! beta distributions, which are not, come from `statrs` (see `rate`).

/// `ln(n choose k)` for `k <= n`.
pub(crate) fn ln_choose(n: u128, k: u128) -> f64 {
    ln_factorial(n) - ln_factorial(k) - ln_factorial(n - k)
}

/// `ln(n!)` in constant time: exact products for small `n`, where
/// Stirling's series is least accurate, and the series (error below 1e-16
/// relative from 21 on) beyond, so that large run counts stay cheap.
pub(crate) fn ln_factorial(n: u128) -> f64 {
    if n <= 20 {
        // 20! < 2^62, and every partial product is exact in an f64 up to
        // 18! and within half an ulp after: good to ~1e-16.
        return (2..=n).map(|i| i as f64).product::<f64>().ln();
    }
    let x = n as f64;
    let inv = 1.0 / x;
    let inv2 = inv * inv;
    let series = inv * (1.0 / 12.0 - inv2 * (1.0 / 360.0 - inv2 * (1.0 / 1260.0 - inv2 / 1680.0)));
    x * x.ln() - x + 0.5 * (2.0 * std::f64::consts::PI * x).ln() + series
}

/// The standard normal quantile function (inverse CDF) for `p` in `(0, 1)`.
///
/// Wichura's algorithm AS 241 (PPND16), accurate to about 1e-16, which is
/// what R's `qnorm` uses; written out here so that two constants do not pull
/// in a statistics crate.
pub(crate) fn normal_quantile(p: f64) -> Option<f64> {
    if !(p > 0.0 && p < 1.0) {
        return None;
    }
    let poly = |coeffs: &[f64], x: f64| coeffs.iter().rev().fold(0.0, |acc, &c| acc * x + c);
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180_625 - q * q;
        return Some(q * poly(&AS241_A, r) / poly(&AS241_B, r));
    }
    let r = if q < 0.0 { p } else { 1.0 - p };
    let r = (-r.ln()).sqrt();
    let value = if r <= 5.0 {
        let r = r - 1.6;
        poly(&AS241_C, r) / poly(&AS241_D, r)
    } else {
        let r = r - 5.0;
        poly(&AS241_E, r) / poly(&AS241_F, r)
    };
    Some(if q < 0.0 { -value } else { value })
}

// AS 241 coefficients, lowest degree first.
const AS241_A: [f64; 8] = [
    3.387_132_872_796_366_5,
    1.331_416_678_917_843_8e2,
    1.971_590_950_306_551_3e3,
    1.373_169_376_550_946e4,
    4.592_195_393_154_987e4,
    6.726_577_092_700_87e4,
    3.343_057_558_358_813e4,
    2.509_080_928_730_122_7e3,
];
const AS241_B: [f64; 8] = [
    1.0,
    4.231_333_070_160_091e1,
    6.871_870_074_920_579e2,
    5.394_196_021_424_751e3,
    2.121_379_430_158_659_7e4,
    3.930_789_580_009_271e4,
    2.872_908_573_572_194_3e4,
    5.226_495_278_852_545e3,
];
const AS241_C: [f64; 8] = [
    1.423_437_110_749_683_5,
    4.630_337_846_156_546,
    5.769_497_221_460_691,
    3.647_848_324_763_204_5,
    1.270_458_252_452_368_4,
    2.417_807_251_774_506e-1,
    2.272_384_498_926_918_4e-2,
    7.745_450_142_783_414e-4,
];
const AS241_D: [f64; 8] = [
    1.0,
    2.053_191_626_637_759,
    1.676_384_830_183_803_8,
    6.897_673_349_851e-1,
    1.481_039_764_274_800_8e-1,
    1.519_866_656_361_645_7e-2,
    5.475_938_084_995_345e-4,
    1.050_750_071_644_416_9e-9,
];
const AS241_E: [f64; 8] = [
    6.657_904_643_501_103,
    5.463_784_911_164_114,
    1.784_826_539_917_291_3,
    2.965_605_718_285_048_7e-1,
    2.653_218_952_657_612_4e-2,
    1.242_660_947_388_078_4e-3,
    2.711_555_568_743_487_6e-5,
    2.010_334_399_292_288_1e-7,
];
const AS241_F: [f64; 8] = [
    1.0,
    5.998_322_065_558_88e-1,
    1.369_298_809_227_358e-1,
    1.487_536_129_085_061_5e-2,
    7.868_691_311_456_133e-4,
    1.846_318_317_510_054_8e-5,
    1.421_511_758_316_446e-7,
    2.044_263_103_389_939_3e-15,
];

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_close(got: f64, want: f64, tol: f64) {
        assert!((got - want).abs() <= tol, "got {got}, want {want} ± {tol}");
    }

    #[test]
    fn ln_factorial_is_continuous_at_the_switch() {
        // The switch from products to Stirling must not show as a jump:
        // ln(21!) - ln(20!) = ln(21).
        assert_close(ln_factorial(21) - ln_factorial(20), 21f64.ln(), 1e-13);
        assert_eq!(ln_factorial(0), 0.0);
        assert_eq!(ln_factorial(1), 0.0);
        // ln(100!) = 363.739375555563490...
        assert_close(ln_factorial(100), 363.739_375_555_563_5, 1e-10);
    }

    #[test]
    fn normal_quantile_known_values() {
        assert_close(
            normal_quantile(0.975).unwrap(),
            1.959_963_984_540_054,
            1e-15,
        );
        assert_close(
            normal_quantile(0.8).unwrap(),
            0.841_621_233_572_914_3,
            1e-15,
        );
        assert_eq!(normal_quantile(0.5), Some(0.0));
        assert_close(
            normal_quantile(0.025).unwrap(),
            -1.959_963_984_540_054,
            1e-15,
        );
        // qnorm(0.01) and, in the third branch, qnorm(1e-20).
        assert_close(
            normal_quantile(0.01).unwrap(),
            -2.326_347_874_040_841,
            1e-14,
        );
        assert_close(
            normal_quantile(1e-20).unwrap(),
            -9.262_340_089_798_408,
            1e-12,
        );
        for p in [0.0, 1.0, -0.1, f64::NAN] {
            assert_eq!(normal_quantile(p), None);
        }
    }
}
