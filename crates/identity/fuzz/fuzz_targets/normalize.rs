//! Every normalizer on arbitrary input: no panic, and a canonical form is a
//! fixed point with the same keys.
#![no_main]

use atobarai_identity::{Kind, normalize, postal_code_matches};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    for kind in Kind::ALL {
        let n = normalize(kind, s);
        if let Some(c) = &n.canonical {
            let again = normalize(kind, c);
            assert_eq!(again.canonical.as_ref(), Some(c), "{kind}: {s:?}");
            assert_eq!(again.keys, n.keys, "{kind}: {s:?}");
        }
    }
    // The first line as a postal code, the rest as an address.
    let (postal, address) = s.split_once('\n').unwrap_or((s, ""));
    let _ = postal_code_matches(postal, address);
});
