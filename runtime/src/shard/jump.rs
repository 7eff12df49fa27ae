//! Jump consistent hash (Lamping & Veach, "A Fast, Minimal Memory, Consistent Hash
//! Algorithm", 2014): maps a 64-bit key to one of `n` buckets so that growing to `n + 1`
//! buckets moves only about `1/(n + 1)` of the keys, all of them to the new bucket.

/// The bucket in `0..buckets` of `key`. `buckets` of 0 is treated as 1.
pub fn jump_hash(mut key: u64, buckets: u32) -> u32 {
    let buckets = i64::from(buckets.max(1));
    let mut b: i64 = -1;
    let mut j: i64 = 0;
    while j < buckets {
        b = j;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        j = ((b + 1) as f64 * ((1u64 << 31) as f64 / ((key >> 33) + 1) as f64)) as i64;
    }
    b as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::splitmix64;
    use proptest::prelude::*;

    #[test]
    fn known_outputs_of_the_reference_implementation() {
        // The values the paper's C++ code gives (also pinned by ClickHouse and other ports).
        assert_eq!(jump_hash(1, 1), 0);
        assert_eq!(jump_hash(42, 57), 43);
        assert_eq!(jump_hash(256, 1024), 520);
        assert_eq!(jump_hash(3_735_883_980, 1), 0);
        assert_eq!(jump_hash(3_735_883_980, 666), 361);
        assert_eq!(jump_hash(16_045_690_984_833_335_023, 255), 237);
        assert_eq!(jump_hash(7, 0), 0);
    }

    #[test]
    fn spreads_keys_evenly() {
        let buckets = 10u32;
        let mut counts = vec![0u32; buckets as usize];
        for k in 0..100_000u64 {
            counts[jump_hash(splitmix64(k), buckets) as usize] += 1;
        }
        for c in counts {
            assert!((9_500..10_500).contains(&c), "{c}");
        }
    }

    #[test]
    fn growing_moves_about_one_in_n_plus_one_keys_to_the_new_bucket() {
        for n in [1u32, 2, 7, 16, 100] {
            let mut moved = 0;
            let total = 20_000u64;
            for k in 0..total {
                let key = splitmix64(k);
                let (old, new) = (jump_hash(key, n), jump_hash(key, n + 1));
                if old != new {
                    assert_eq!(new, n, "a key may only move to the new bucket");
                    moved += 1;
                }
            }
            let expected = total as f64 / f64::from(n + 1);
            let ratio = f64::from(moved) / expected;
            assert!(
                (0.9..1.1).contains(&ratio),
                "n={n}: moved {moved}, expected {expected}"
            );
        }
    }

    proptest! {
        #[test]
        fn always_in_range_and_monotone_in_buckets(key: u64, n in 1u32..5_000) {
            let b = jump_hash(key, n);
            prop_assert!(b < n);
            let grown = jump_hash(key, n + 1);
            prop_assert!(grown == b || grown == n);
        }
    }
}
