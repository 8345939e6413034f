//! The activations the fused kernels evaluate, vectorized, and their derivatives from outputs.

use super::super::math;

/// An activation the fused kernels evaluate (and differentiate from its output).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GateFn {
    /// `tanh`.
    Tanh,
    /// Logistic sigmoid.
    Sigmoid,
    /// Keras 3 `hard_sigmoid`: `clip(x / 6 + 0.5, 0, 1)`.
    HardSigmoid,
    /// `max(x, 0)`.
    Relu,
    /// Identity.
    Linear,
}

/// `with_derivative!(gate_fn, D => expr)`: `expr` with the type `D` standing for `gate_fn`'s
/// [`Derivative`] (one monomorphized copy of `expr` per activation). Each [`GateFn`] variant's
/// derivative type has the variant's name.
macro_rules! with_derivative {
    ($act:expr, $d:ident => $body:expr) => {
        with_derivative!(@each $act, $d, $body, Tanh Sigmoid HardSigmoid Relu Linear)
    };
    (@each $act:expr, $d:ident, $body:expr, $($variant:ident)*) => {
        match $act {
            $(GateFn::$variant => {
                type $d = $crate::scan::kernel::gate::$variant;
                $body
            })*
        }
    };
}
pub(super) use with_derivative;

impl GateFn {
    /// Applies the activation in place: 512-bit vectors where the CPU has AVX-512F, 256-bit where
    /// it has AVX2, fused multiply-adds with either (the same results from both).
    pub(super) fn apply(self, values: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("fma") {
            // SAFETY: AVX-512F and FMA are present (checked just above).
            return unsafe { self.apply_avx512(values) };
        }
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: AVX2 and FMA are present (checked just above).
            return unsafe { self.apply_avx2_fma(values) };
        }
        self.apply_portable::<false>(values);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    fn apply_avx512(self, values: &mut [f32]) {
        self.apply_portable::<true>(values);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn apply_avx2_fma(self, values: &mut [f32]) {
        self.apply_portable::<true>(values);
    }

    #[inline(always)]
    fn apply_portable<const FUSED: bool>(self, values: &mut [f32]) {
        match self {
            GateFn::Tanh => math::map_in_place(values, math::tanh::<FUSED>),
            GateFn::Sigmoid => math::map_in_place(values, math::sigmoid::<FUSED>),
            GateFn::HardSigmoid => math::map_in_place(values, |x| (x / 6.0 + 0.5).clamp(0.0, 1.0)),
            // Not `x.max(0.0)`, which maps NaN to 0: NaN passes, as in Burn's relu.
            GateFn::Relu => math::map_in_place(values, |x| if x.is_nan() || x > 0.0 { x } else { 0.0 }),
            GateFn::Linear => {}
        }
    }

    /// `grad ⊙ f'(x)` written from the output `y = f(x)`, into `out`: in 512-bit vectors where the
    /// CPU has AVX-512F (element-wise, no fused multiply-add: the same results as without).
    pub(super) fn backprop(self, grad: &[f32], y: &[f32], out: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: AVX-512F is present (checked just above).
            return unsafe { self.backprop_avx512(grad, y, out) };
        }
        self.backprop_portable(grad, y, out);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    fn backprop_avx512(self, grad: &[f32], y: &[f32], out: &mut [f32]) {
        self.backprop_portable(grad, y, out);
    }

    #[inline(always)]
    fn backprop_portable(self, grad: &[f32], y: &[f32], out: &mut [f32]) {
        let zip = grad.iter().zip(y).zip(out.iter_mut());
        with_derivative!(self, D => zip.for_each(|((g, y), o)| *o = D::backprop(*g, *y)))
    }
}

/// One activation's derivative from its output, one element at a time: the arithmetic of
/// [`GateFn::backprop`] (which calls it), for loops that differentiate several gates in one pass
/// ([`with_derivative!`] picks the type for a [`GateFn`]).
pub(super) trait Derivative {
    /// `grad · f'(x)` from `y = f(x)`.
    fn backprop(grad: f32, y: f32) -> f32;
}

/// [`GateFn::Tanh`]'s derivative.
pub(super) struct Tanh;
/// [`GateFn::Sigmoid`]'s derivative.
pub(super) struct Sigmoid;
/// [`GateFn::HardSigmoid`]'s derivative.
pub(super) struct HardSigmoid;
/// [`GateFn::Relu`]'s derivative.
pub(super) struct Relu;
/// [`GateFn::Linear`]'s derivative.
pub(super) struct Linear;

impl Derivative for Tanh {
    #[inline(always)]
    fn backprop(g: f32, y: f32) -> f32 {
        g * (1.0 - y * y)
    }
}

impl Derivative for Sigmoid {
    #[inline(always)]
    fn backprop(g: f32, y: f32) -> f32 {
        g * (y * (1.0 - y))
    }
}

impl Derivative for HardSigmoid {
    #[inline(always)]
    fn backprop(g: f32, y: f32) -> f32 {
        if y > 0.0 && y < 1.0 { g / 6.0 } else { 0.0 }
    }
}

impl Derivative for Relu {
    #[inline(always)]
    fn backprop(g: f32, y: f32) -> f32 {
        if y.is_nan() || y > 0.0 { g } else { 0.0 }
    }
}

impl Derivative for Linear {
    #[inline(always)]
    fn backprop(g: f32, _y: f32) -> f32 {
        g
    }
}

#[cfg(test)]
mod tests {
    use super::GateFn;

    /// The AVX-512 copy of `backprop` gives the portable loop's bits for every activation, on
    /// lengths around a vector's (and NaN, ±0, values at the hard sigmoid's corners).
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx512_backprop_gives_the_portable_bits() {
        if !std::is_x86_feature_detected!("avx512f") {
            eprintln!("no AVX-512F on this CPU: the portable loop is the only one");
            return;
        }
        let specials = [f32::NAN, -0.0, 0.0, 1.0, -1.0, 0.5, 1e-30, -3.0, 3.0];
        let all = [
            GateFn::Tanh,
            GateFn::Sigmoid,
            GateFn::HardSigmoid,
            GateFn::Relu,
            GateFn::Linear,
        ];
        for len in [0, 1, 15, 16, 17, 33, 100] {
            let grad: Vec<f32> = (0..len).map(|i| (i as f32 * 0.731).sin() * 3.0).collect();
            let y: Vec<f32> = (0..len)
                .map(|i| {
                    if i % 4 == 0 {
                        specials[i / 4 % specials.len()]
                    } else {
                        (i as f32 * 0.377).cos()
                    }
                })
                .collect();
            for gate in all {
                let (mut fast, mut portable) = (vec![0.0; len], vec![0.0; len]);
                // SAFETY: AVX-512F is present (checked above).
                unsafe { gate.backprop_avx512(&grad, &y, &mut fast) };
                gate.backprop_portable(&grad, &y, &mut portable);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&fast), bits(&portable), "{gate:?}, {len} values");
            }
        }
    }
}
