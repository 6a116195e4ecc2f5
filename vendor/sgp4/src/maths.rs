//! Orbital Commons patch: the floating-point functions this crate calls, each one the pure-Rust
//! `libm` function, called explicitly.
//!
//! Upstream resolves `x.sin()` and friends through `num_traits::Float`, which calls the
//! platform's maths library as soon as any crate in the build enables `num-traits/std` (libp2p
//! does). Then SGP4 results differ in the last bits between glibc, musl and macOS, and so would
//! the views every node computes. Here every call goes to `libm`, whatever the features.

pub(crate) trait Float: Sized {
    fn libm_sin(self) -> Self;
    fn libm_cos(self) -> Self;
    fn libm_sin_cos(self) -> (Self, Self);
    fn libm_sqrt(self) -> Self;
    fn libm_atan2(self, other: Self) -> Self;
    fn libm_powi(self, n: i32) -> Self;
    /// x²ᐟ³ as ∛(x²): cheaper than `pow` (Orbital Commons patch, as the next two).
    fn libm_pow_two_thirds(self) -> Self;
    /// x³ᐟ² as x·√x.
    fn libm_pow_three_halves(self) -> Self;
    /// x⁷ᐟ² as x³·√x.
    fn libm_pow_seven_halves(self) -> Self;
    fn libm_abs(self) -> Self;
    fn libm_floor(self) -> Self;
    fn libm_round(self) -> Self;
    fn libm_fract(self) -> Self;
}

impl Float for f64 {
    #[inline]
    fn libm_sin(self) -> f64 {
        libm::sin(self)
    }
    #[inline]
    fn libm_cos(self) -> f64 {
        libm::cos(self)
    }
    /// `(sin x, cos x)` from one argument reduction: the same bits as the two calls.
    #[inline]
    fn libm_sin_cos(self) -> (f64, f64) {
        libm::sincos(self)
    }
    #[inline]
    fn libm_sqrt(self) -> f64 {
        libm::sqrt(self)
    }
    #[inline]
    fn libm_atan2(self, other: f64) -> f64 {
        libm::atan2(self, other)
    }
    /// Exponentiation by squaring in plain IEEE operations (LLVM's `powi` intrinsic may be
    /// lowered differently by different compilers and optimisation levels).
    #[inline]
    fn libm_powi(self, n: i32) -> f64 {
        let mut base = if n < 0 { 1.0 / self } else { self };
        let mut exp = n.unsigned_abs();
        let mut acc = 1.0;
        while exp > 0 {
            if exp & 1 == 1 {
                acc *= base;
            }
            exp >>= 1;
            if exp > 0 {
                base *= base;
            }
        }
        acc
    }
    #[inline]
    fn libm_pow_two_thirds(self) -> f64 {
        libm::cbrt(self * self)
    }
    #[inline]
    fn libm_pow_three_halves(self) -> f64 {
        self * libm::sqrt(self)
    }
    #[inline]
    fn libm_pow_seven_halves(self) -> f64 {
        self * self * self * libm::sqrt(self)
    }
    #[inline]
    fn libm_abs(self) -> f64 {
        libm::fabs(self)
    }
    #[inline]
    fn libm_floor(self) -> f64 {
        libm::floor(self)
    }
    #[inline]
    fn libm_round(self) -> f64 {
        libm::round(self)
    }
    #[inline]
    fn libm_fract(self) -> f64 {
        self - libm::trunc(self)
    }
}

pub(crate) trait Euclid {
    fn rem_euclid(&self, v: &Self) -> Self;
}

impl Euclid for f64 {
    /// As `f64::rem_euclid`: IEEE remainder, made non-negative.
    #[inline]
    fn rem_euclid(&self, v: &f64) -> f64 {
        let r = self % v;
        if r < 0.0 {
            r + libm::fabs(*v)
        } else {
            r
        }
    }
}

/// `x % 2π` (the C `fmod`), exactly: the same bits as the `%` operator, which lowers to a
/// bit-by-bit software `fmod` that cost 4 % of a propagation.
///
/// The remainder of two doubles is always representable, so it can be computed exactly:
/// with n = trunc(x / 2π) below 2²⁶ and 2π split into a 26-bit high part and a low part
/// (Veltkamp), n·hi and n·lo are exact products, x - n·hi is exact (Sterbenz: it lies within a
/// factor two of x), and the last subtraction yields the representable true result exactly.
/// x / 2π may round n one too high or low; the sign of the result shows it, and that n is
/// corrected before the result is formed. Outside 2π ≤ |x| < 2²⁶·2π, and for NaN or
/// infinities, it is the `%` operator.
#[inline]
pub fn rem_two_pi(x: f64) -> f64 {
    const TWO_PI: f64 = 2.0 * core::f64::consts::PI;
    // Veltkamp split of 2π: HI has at most 26 significant bits, HI + LO = 2π exactly.
    const SPLIT: f64 = TWO_PI * 134_217_729.0; // 2²⁷ + 1
    const HI: f64 = SPLIT - (SPLIT - TWO_PI);
    const LO: f64 = TWO_PI - HI;
    const LIMIT: f64 = 67_108_864.0 * TWO_PI; // 2²⁶ · 2π
    let a = libm::fabs(x);
    if !(a >= TWO_PI && a < LIMIT) {
        return x % TWO_PI;
    }
    let rem = |n: f64| (a - n * HI) - n * LO;
    let mut n = libm::trunc(a / TWO_PI);
    let mut r = rem(n);
    if r < 0.0 {
        n -= 1.0;
        r = rem(n);
    } else if r >= TWO_PI {
        n += 1.0;
        r = rem(n);
    }
    if x < 0.0 {
        -r
    } else {
        r
    }
}
