//! Device ids and IP addresses.

use std::net::IpAddr;

use serde::Serialize;

use crate::{Flag, KeyName, MatchKey};

/// Device ids longer than this are refused (a UUID is 36, an Android id 16).
pub const DEVICE_ID_BYTES_MAX: usize = 128;
/// And shorter ones carry too little to link on.
pub const DEVICE_ID_BYTES_MIN: usize = 4;

/// A device id as the app sends it, trimmed; it is opaque, so nothing else
/// is changed (case included).
pub fn normalize_device(input: &str) -> Result<String, Vec<Flag>> {
    let t = input.trim();
    if t.is_empty() {
        return Err(vec![Flag::Empty]);
    }
    if t.len() > DEVICE_ID_BYTES_MAX {
        return Err(vec![Flag::TooLong]);
    }
    if t.len() < DEVICE_ID_BYTES_MIN || t.chars().any(char::is_control) {
        return Err(vec![Flag::InvalidSyntax]);
    }
    Ok(t.to_string())
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Ip {
    pub canonical: String,
    pub v6: bool,
}

/// IPv4 keys at /32 and /24, IPv6 at /128 (as the exact key) and /64.
/// IPv4-mapped IPv6 addresses are treated as the IPv4 address.
pub fn normalize_ip(input: &str) -> Result<(Ip, Vec<MatchKey>), Vec<Flag>> {
    let t = input.trim();
    if t.is_empty() {
        return Err(vec![Flag::Empty]);
    }
    if t.len() > 64 {
        return Err(vec![Flag::TooLong]);
    }
    let t = t.trim_start_matches('[').trim_end_matches(']');
    let Ok(addr) = t.parse::<IpAddr>() else {
        return Err(vec![Flag::InvalidSyntax]);
    };
    let addr = match addr {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    };
    match addr {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            let canonical = v4.to_string();
            let keys = vec![
                MatchKey {
                    name: KeyName::Ip32,
                    value: canonical.clone(),
                },
                MatchKey {
                    name: KeyName::Ip24,
                    value: format!("{}.{}.{}.0/24", o[0], o[1], o[2]),
                },
            ];
            Ok((
                Ip {
                    canonical,
                    v6: false,
                },
                keys,
            ))
        }
        IpAddr::V6(v6) => {
            let canonical = v6.to_string();
            let s = v6.segments();
            let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
            let keys = vec![MatchKey {
                name: KeyName::Ip64,
                value: format!("{net}/64"),
            }];
            Ok((
                Ip {
                    canonical,
                    v6: true,
                },
                keys,
            ))
        }
    }
}
