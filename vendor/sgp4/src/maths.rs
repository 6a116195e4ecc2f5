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
    fn libm_sqrt(self) -> Self;
    fn libm_atan2(self, other: Self) -> Self;
    fn libm_powf(self, n: Self) -> Self;
    fn libm_powi(self, n: i32) -> Self;
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
    #[inline]
    fn libm_sqrt(self) -> f64 {
        libm::sqrt(self)
    }
    #[inline]
    fn libm_atan2(self, other: f64) -> f64 {
        libm::atan2(self, other)
    }
    #[inline]
    fn libm_powf(self, n: f64) -> f64 {
        libm::pow(self, n)
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
