//! Stable hashing shared by balancing and sharding: FNV-1a 64 followed by the SplitMix64
//! finaliser. Unlike `std`'s `DefaultHasher`, the output is fixed forever, so a key routes
//! to the same shard or upstream across processes, machines and Rust versions.

/// The SplitMix64 finaliser: a bijective mix of 64 bits (every input bit affects every
/// output bit).
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a 64 of `bytes`, mixed with [`splitmix64`] so that similar inputs spread well.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    splitmix64(h)
}

/// [`stable_hash`] of two byte strings as a pair (a separator keeps `("ab","c")` and
/// `("a","bc")` apart). Used for rendezvous hashing of `(key, upstream)`.
pub fn stable_hash_pair(a: &[u8], b: &[u8]) -> u64 {
    let mut buf = Vec::with_capacity(a.len() + b.len() + 9);
    buf.extend_from_slice(&(a.len() as u64).to_le_bytes());
    buf.extend_from_slice(a);
    buf.push(0xFF);
    buf.extend_from_slice(b);
    stable_hash(&buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_values_never_change() {
        // Pinned outputs: a change here would re-route every key of every deployed system.
        assert_eq!(stable_hash(b""), splitmix64(0xCBF2_9CE4_8422_2325));
        assert_eq!(stable_hash(b"a"), splitmix64(0xAF63_DC4C_8601_EC8C));
        assert_eq!(splitmix64(0), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn pairs_are_not_concatenations() {
        assert_ne!(stable_hash_pair(b"ab", b"c"), stable_hash_pair(b"a", b"bc"));
        assert_eq!(stable_hash_pair(b"k", b"u1"), stable_hash_pair(b"k", b"u1"));
    }
}
