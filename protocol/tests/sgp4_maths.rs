//! The patched `sgp4` (vendor/sgp4) replaces `x % 2π` with an exact fast remainder; it must
//! give the same bits as the `%` operator for every input, or views would change.

use proptest::prelude::*;

const TWO_PI: f64 = 2.0 * std::f64::consts::PI;

fn same(x: f64) -> Result<(), TestCaseError> {
    let fast = sgp4::rem_two_pi(x);
    let exact = x % TWO_PI;
    prop_assert!(
        fast.to_bits() == exact.to_bits() || (fast.is_nan() && exact.is_nan()),
        "rem_two_pi({x:e}) = {fast:e}, % gives {exact:e}"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn equals_the_remainder_operator_on_any_double(bits in any::<u64>()) {
        same(f64::from_bits(bits))?;
    }

    #[test]
    fn equals_the_remainder_operator_where_sgp4_takes_it(x in -1.0e9f64..1.0e9) {
        same(x)?;
    }

    #[test]
    fn equals_the_remainder_operator_next_to_multiples_of_two_pi(k in 1u32..70_000_000, ulps in -4i64..=4) {
        let m = f64::from(k) * TWO_PI;
        let x = f64::from_bits((m.to_bits() as i64 + ulps) as u64);
        same(x)?;
        same(-x)?;
    }
}

#[test]
fn equals_the_remainder_operator_at_the_edges() {
    for x in [
        0.0,
        -0.0,
        TWO_PI,
        -TWO_PI,
        f64::from_bits(TWO_PI.to_bits() - 1),
        f64::from_bits(TWO_PI.to_bits() + 1),
        67_108_864.0 * TWO_PI,
        f64::from_bits((67_108_864.0 * TWO_PI).to_bits() - 1),
        f64::MAX,
        f64::MIN_POSITIVE,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        1e300,
        -1e-300,
    ] {
        same(x).unwrap();
    }
}
