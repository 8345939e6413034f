//! Branch-free `exp`, `sigmoid` and `tanh` on `f32` slices that the compiler vectorizes.
//!
//! Burn's CPU backends evaluate `tanh` with scalar libm calls, a third of a small RNN's training
//! time. These versions use only `+ - * /`, comparisons and bit casts, so a loop over a slice
//! compiles to SIMD. Accuracy is checked in the tests against `std` or the `f64` value (≤ 2 ulp
//! for `exp` and `tanh`, ≤ 3 for `sigmoid`).

/// `a·b + c`: one fused multiply-add where the caller is compiled for FMA (`FUSED`), else a
/// product and a sum (a software `mul_add` would be a slow library call).
#[inline(always)]
fn mul_add<const FUSED: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FUSED { a.mul_add(b, c) } else { a * b + c }
}

/// `x = n·ln 2 + r` with `|r| <= ln 2 / 2`: returns `r` and `2^n`, for `x` in `[-87, 88]`.
#[inline(always)]
fn reduce<const FUSED: bool>(x: f32) -> (f32, f32) {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split so that n * LN2_HI is exact for |n| <= 127.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding 1.5·2^23 rounds to an integer and leaves it in the low mantissa bits.
    const SHIFT: f32 = 12_582_912.0;
    let shifted = mul_add::<FUSED>(x, LOG2E, SHIFT);
    let n = shifted - SHIFT;
    let r = mul_add::<FUSED>(-n, LN2_LO, mul_add::<FUSED>(-n, LN2_HI, x));
    let exponent = (shifted.to_bits() as i32 - SHIFT.to_bits() as i32 + 127) << 23;
    (r, f32::from_bits(exponent as u32))
}

/// `e^x` for `x` clamped to `[-87, 88]` (the normal `f32` range), infinity past `ln(f32::MAX)`;
/// NaN stays NaN (`f32::clamp` keeps it).
#[inline(always)]
pub(crate) fn exp<const FUSED: bool>(x: f32) -> f32 {
    let (r, scale) = reduce::<FUSED>(x.clamp(-87.0, 88.0));
    // Taylor to r^7: truncation error < 6e-9 on |r| <= 0.347.
    let e = horner::<FUSED, 8>(r, &const { taylor(0) }) * scale;
    // Past ln(f32::MAX) the true value overflows: infinity, as `f32::exp` gives, so that
    // `sigmoid(-inf)` is exactly 0 on both paths (0·inf is NaN there too, not a tiny number).
    if x > 88.722_84 { f32::INFINITY } else { e }
}

/// `1 / k!` for `k = 0..=8`.
const INVERSE_FACTORIALS: [f32; 9] = [
    1.0,
    1.0,
    0.5,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5040.0,
    1.0 / 40320.0,
];

/// The Taylor coefficients of `e^x` from the `first` power on: `1/first!, 1/(first+1)!, …`.
const fn taylor<const N: usize>(first: usize) -> [f32; N] {
    let mut c = [0.0; N];
    let mut i = 0;
    while i < N {
        c[i] = INVERSE_FACTORIALS[first + i];
        i += 1;
    }
    c
}

/// `c[0] + y·(c[1] + y·(c[2] + …))`, evaluated innermost first exactly as the nested expression
/// (written as a loop: rustfmt needs tens of seconds for the deeply nested form).
#[inline(always)]
fn horner<const FUSED: bool, const N: usize>(y: f32, c: &[f32; N]) -> f32 {
    let mut p = c[N - 1];
    for &k in c[..N - 1].iter().rev() {
        p = mul_add::<FUSED>(p, y, k);
    }
    p
}

/// The logistic function `1 / (1 + e^-x)`.
#[inline(always)]
pub(crate) fn sigmoid<const FUSED: bool>(x: f32) -> f32 {
    1.0 / (1.0 + exp::<FUSED>(-x))
}

/// `e^x - 1` for `x <= 0` (clamped to `-87`), accurate near 0 where `exp(x) - 1` cancels. NaN
/// stays NaN (`f32::max` would turn it into the bound).
#[inline(always)]
fn expm1_nonpositive<const FUSED: bool>(x: f32) -> f32 {
    let (r, scale) = reduce::<FUSED>(if x < -87.0 { -87.0 } else { x });
    // e^r - 1 = r + r²·(1/2 + r/6 + …), Taylor to r^8: relative truncation error < 1e-9.
    let p = mul_add::<FUSED>(r * r, horner::<FUSED, 7>(r, &const { taylor(2) }), r);
    // e^x - 1 = 2^n·(e^r - 1) + (2^n - 1); 2^n - 1 is exact for n >= -24, about -1 below.
    mul_add::<FUSED>(scale, p, scale - 1.0)
}

/// `tanh(x) = -m / (2 + m)` with `m = e^{-2|x|} - 1`, the sign of `x` copied back: one
/// exponential and one division, no cancellation near 0.
#[inline(always)]
pub(crate) fn tanh<const FUSED: bool>(x: f32) -> f32 {
    let m = expm1_nonpositive::<FUSED>(-2.0 * x.abs());
    (-m / (2.0 + m)).copysign(x)
}

/// Applies `f` to every element (kept as a plain loop so it vectorizes after inlining).
#[inline(always)]
pub(crate) fn map_in_place(values: &mut [f32], f: impl Fn(f32) -> f32) {
    for v in values {
        *v = f(*v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in units in the last place, for finite values of the same sign region.
    fn ulps(a: f32, b: f32) -> u32 {
        let key = |v: f32| {
            let bits = v.to_bits() as i32;
            if bits < 0 { i32::MIN - bits } else { bits }
        };
        key(a).abs_diff(key(b))
    }

    fn grid() -> impl Iterator<Item = f32> {
        (-200_000..=200_000)
            .map(|i| i as f32 * 1e-4)
            .chain([0.0, -0.0, 1e-30, -1e-30, 1e-8, 80.0, -80.0])
    }

    /// Worst distance of `f` from `reference` over `points`.
    fn worst_ulps(points: impl Iterator<Item = f32>, f: fn(f32) -> f32, reference: impl Fn(f32) -> f32) -> u32 {
        points.map(|x| ulps(f(x), reference(x))).max().unwrap()
    }

    // Each check runs both forms: `FUSED = true` is what CPUs with FMA run (here through a
    // software `mul_add` where the test binary lacks FMA: same results, only slower).

    #[test]
    fn nan_stays_nan_and_infinities_saturate() {
        for (fused, e, t, s) in [
            (
                false,
                exp::<false> as fn(f32) -> f32,
                tanh::<false> as fn(f32) -> f32,
                sigmoid::<false> as fn(f32) -> f32,
            ),
            (true, exp::<true>, tanh::<true>, sigmoid::<true>),
        ] {
            assert!(
                e(f32::NAN).is_nan() && t(f32::NAN).is_nan() && s(f32::NAN).is_nan(),
                "fused {fused}"
            );
            assert!(t(-f32::NAN).is_nan(), "fused {fused}");
            assert_eq!((t(f32::INFINITY), t(f32::NEG_INFINITY)), (1.0, -1.0), "fused {fused}");
            assert_eq!(s(f32::INFINITY), 1.0, "fused {fused}");
            assert_eq!(s(f32::NEG_INFINITY), 0.0, "fused {fused}");
            assert_eq!(e(f32::INFINITY), f32::INFINITY, "fused {fused}");
        }
    }

    #[test]
    fn exp_is_within_two_ulp_of_std() {
        for (fused, f) in [(false, exp::<false> as fn(f32) -> f32), (true, exp::<true>)] {
            let worst = worst_ulps(grid().filter(|x| x.abs() < 80.0), f, f32::exp);
            assert!(worst <= 2, "exp (fused {fused}): worst {worst} ulp");
        }
    }

    #[test]
    fn tanh_is_within_two_ulp_of_the_f64_value() {
        for (fused, f) in [(false, tanh::<false> as fn(f32) -> f32), (true, tanh::<true>)] {
            assert_eq!(f(100.0), 1.0);
            assert_eq!(f(-100.0), -1.0);
            assert_eq!(f(0.0), 0.0);
            let points = grid()
                .chain(
                    (0..200_000)
                        .map(|i| f32::from_bits(0x0080_0000 + i * 5_000))
                        .filter(|x| *x < 20.0),
                )
                .flat_map(|x| [x, -x]);
            let worst = worst_ulps(points, f, |x| (x as f64).tanh() as f32);
            assert!(worst <= 2, "tanh (fused {fused}): worst {worst} ulp");
        }
    }

    #[test]
    fn sigmoid_is_within_three_ulp_of_the_f64_value() {
        for (fused, f) in [(false, sigmoid::<false> as fn(f32) -> f32), (true, sigmoid::<true>)] {
            assert!(f(-200.0) >= 0.0 && f(-200.0) < 1e-37);
            assert_eq!(f(200.0), 1.0);
            let reference = |x: f32| (1.0 / (1.0 + (-(x as f64)).exp())) as f32;
            let worst = worst_ulps(grid().filter(|x| *x > -80.0), f, reference);
            assert!(worst <= 3, "sigmoid (fused {fused}): worst {worst} ulp");
        }
    }
}
