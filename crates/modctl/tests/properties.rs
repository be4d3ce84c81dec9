//! Property tests for the load parameters: exactly the documented ranges are
//! accepted, and the kernel argument string carries the values.

use modctl::{ModuleParams, ParamError};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        // 256 cases unless PROPTEST_CASES says otherwise.
        // No `proptest-regressions/` files in the crate: failures are reported, not stored.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// The limits as the ABI document and the README state them, written out: an
// oracle independent of limits.rs, which the code under test includes.
const MIN_NR: std::ops::RangeInclusive<u64> = 1..=4096;
const OBJECT_SIZE: std::ops::RangeInclusive<u64> = 8..=131_072;
const RESERVE_BYTES_MAX: u64 = 64 << 20;

/// Numbers around `lo..=hi` and its edges, plus anything at all.
fn around(lo: u64, hi: u64) -> impl Strategy<Value = u64> {
    prop_oneof![
        lo..=hi,
        lo.saturating_sub(3)..=lo.saturating_add(3),
        hi.saturating_sub(3)..=hi.saturating_add(3),
        Just(0),
        Just(u64::MAX),
        (0u32..64).prop_map(|b| 1u64 << b),
        Just(u64::from(u32::MAX) + 1 + lo),
        any::<u64>(),
    ]
}

fn min_nr() -> impl Strategy<Value = u64> {
    around(*MIN_NR.start(), *MIN_NR.end())
}

fn object_size() -> impl Strategy<Value = u64> {
    around(*OBJECT_SIZE.start(), *OBJECT_SIZE.end())
}

/// Pairs near the reserve limit: `object_size` close to `RESERVE_BYTES_MAX / min_nr`.
fn near_reserve_limit() -> impl Strategy<Value = (u64, u64)> {
    // Powers of two from 512 on divide the limit with an allowed size: exact hits.
    let n = prop_oneof![MIN_NR, (9u32..=12).prop_map(|k| 1u64 << k)];
    (n, -2i64..=2).prop_map(|(n, d)| {
        let size = (RESERVE_BYTES_MAX / n).saturating_add_signed(d);
        (n, size.clamp(*OBJECT_SIZE.start(), *OBJECT_SIZE.end()))
    })
}

/// Parses `min_nr=A object_size=B` back, strictly.
fn parse_args(args: &str) -> Option<(u32, u32)> {
    let (a, b) = args.split_once(' ')?;
    let a = a.strip_prefix("min_nr=")?;
    let b = b.strip_prefix("object_size=")?;
    let plain = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if !plain(a)
        || !plain(b)
        || a.len() > 1 && a.starts_with('0')
        || b.len() > 1 && b.starts_with('0')
    {
        return None;
    }
    Some((a.parse().ok()?, b.parse().ok()?))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn new_accepts_exactly_the_documented_values(
        (n, size) in prop_oneof![(min_nr(), object_size()), near_reserve_limit()],
    ) {
        let bytes = u128::from(n) * u128::from(size);
        let allowed = MIN_NR.contains(&n)
            && OBJECT_SIZE.contains(&size)
            && bytes <= u128::from(RESERVE_BYTES_MAX);
        match ModuleParams::new(n, size) {
            Ok(p) => {
                prop_assert!(allowed, "({}, {}) accepted", n, size);
                prop_assert_eq!((u64::from(p.min_nr), u64::from(p.object_size)), (n, size));
                prop_assert_eq!(p.validate(), Ok(()));
                let args = p.to_kernel_args();
                prop_assert_eq!(parse_args(&args), Some((p.min_nr, p.object_size)), "{}", args);
            }
            Err(e) => {
                prop_assert!(!allowed, "({}, {}) refused: {}", n, size, e);
                // The first broken rule is reported, with the values as given.
                match e {
                    ParamError::MinNr { value, .. } => {
                        prop_assert!(!MIN_NR.contains(&n));
                        prop_assert_eq!(value, n);
                    }
                    ParamError::ObjectSize { value, min, max } => {
                        prop_assert!(MIN_NR.contains(&n) && !OBJECT_SIZE.contains(&size));
                        prop_assert_eq!((value, min, max), (size, 8, 131_072));
                    }
                    ParamError::Reserve { min_nr, object_size, bytes: b, max } => {
                        prop_assert!(MIN_NR.contains(&n) && OBJECT_SIZE.contains(&size));
                        prop_assert_eq!((u64::from(min_nr), u64::from(object_size)), (n, size));
                        prop_assert_eq!(u128::from(b), bytes);
                        prop_assert_eq!(max, RESERVE_BYTES_MAX);
                    }
                }
            }
        }
    }

    #[test]
    fn validate_agrees_with_new(min_nr in any::<u32>(), object_size in any::<u32>()) {
        let p = ModuleParams { min_nr, object_size };
        prop_assert_eq!(
            p.validate(),
            ModuleParams::new(min_nr.into(), object_size.into()).map(drop)
        );
    }

    #[test]
    fn kernel_args_round_trip_any_params(min_nr in any::<u32>(), object_size in any::<u32>()) {
        let p = ModuleParams { min_nr, object_size };
        prop_assert_eq!(parse_args(&p.to_kernel_args()), Some((min_nr, object_size)));
    }
}

#[test]
fn default_params_are_valid() {
    assert_eq!(ModuleParams::default().validate(), Ok(()));
}
