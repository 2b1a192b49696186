//! Public identifiers: `cus_…`, `ord_…`, `pay_…`, `sus_…`, `mer_…`, `opr_…`.
//!
//! Inside the engine every entity is a dense index into a vector. Outside, an
//! index is shown as a prefix and 13 Crockford base32 characters of a fixed
//! bijective scramble of the index, so identifiers do not reveal volumes by
//! counting. The scramble is not a secret and not an access control:
//! authorization is checked on every request regardless.

const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const MUL: u64 = 0x9E37_79B9_7F4A_7C15; // odd, so invertible modulo 2^64
const XOR: u64 = 0x5DEE_CE66_D1CE_4E5B;
const ENCODED_LEN: usize = 13; // 13 × 5 bits ≥ 64 bits

fn mul_inverse(a: u64) -> u64 {
    // Newton's iteration for the inverse of an odd number modulo 2^64.
    let mut x = a;
    for _ in 0..6 {
        x = x.wrapping_mul(2u64.wrapping_sub(a.wrapping_mul(x)));
    }
    x
}

/// Encode index `idx` with `prefix`, e.g. `ord_3k9x…`.
pub fn encode(prefix: &str, idx: u64) -> String {
    let mut v = idx.wrapping_mul(MUL) ^ XOR;
    let mut buf = [0u8; ENCODED_LEN];
    for slot in buf.iter_mut().rev() {
        *slot = ALPHABET[(v & 31) as usize];
        v >>= 5;
    }
    let mut s = String::with_capacity(prefix.len() + 1 + ENCODED_LEN);
    s.push_str(prefix);
    s.push('_');
    // The alphabet is ASCII.
    s.extend(buf.iter().map(|&b| b as char));
    s
}

/// Decode an identifier made by [`encode`] with the same prefix.
pub fn decode(prefix: &str, id: &str) -> Option<u64> {
    let rest = id.strip_prefix(prefix)?.strip_prefix('_')?;
    if rest.len() != ENCODED_LEN {
        return None;
    }
    let mut v: u64 = 0;
    for (i, b) in rest.bytes().enumerate() {
        let digit = ALPHABET.iter().position(|&a| a == b)? as u64;
        // The first character carries only the top 4 bits (13*5 = 65).
        if i == 0 && digit > 15 {
            return None;
        }
        v = (v << 5) | digit;
    }
    Some((v ^ XOR).wrapping_mul(mul_inverse(MUL)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn looks_like_an_id() {
        let id = encode("ord", 0);
        assert!(id.starts_with("ord_"));
        assert_eq!(id.len(), 4 + ENCODED_LEN);
        assert_ne!(encode("ord", 1)[4..8], encode("ord", 2)[4..8]);
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(decode("ord", "ord_"), None);
        assert_eq!(decode("ord", "cus_0000000000000"), None);
        assert_eq!(decode("ord", "ord_000000000000u"), None);
        assert_eq!(decode("ord", "ord_zzzzzzzzzzzzz"), None);
        assert_eq!(decode("ord", "ord_ぁ"), None);
    }

    proptest! {
        #[test]
        fn round_trips(idx in any::<u64>()) {
            prop_assert_eq!(decode("cus", &encode("cus", idx)), Some(idx));
        }

        #[test]
        fn decode_never_panics(s in ".{0,40}") {
            let _ = decode("ord", &s);
        }
    }
}
