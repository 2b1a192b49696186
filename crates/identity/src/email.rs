//! E-mail addresses. The match key follows validator.js `normalizeEmail`
//! (provider rules for Gmail, iCloud, Outlook, Yahoo and Yandex), with its
//! options as [`EmailOptions`]; the canonical form only lower-cases and trims,
//! so that normalizing it again changes nothing.

use serde::{Deserialize, Serialize};

use crate::Flag;
use crate::text::nfkc;

/// RFC 5321's limit on a path.
pub const EMAIL_CHARS_MAX: usize = 254;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Email {
    pub canonical: String,
    /// The provider-normalized form that accounts are matched on.
    pub key: String,
    pub domain: String,
}

/// validator.js's options, same names, same defaults (all `true`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EmailOptions {
    pub all_lowercase: bool,
    pub gmail_lowercase: bool,
    pub gmail_remove_dots: bool,
    pub gmail_remove_subaddress: bool,
    pub gmail_convert_googlemaildotcom: bool,
    pub outlookdotcom_lowercase: bool,
    pub outlookdotcom_remove_subaddress: bool,
    pub yahoo_lowercase: bool,
    pub yahoo_remove_subaddress: bool,
    pub yandex_lowercase: bool,
    pub yandex_convert_yandexru: bool,
    pub icloud_lowercase: bool,
    pub icloud_remove_subaddress: bool,
}

impl Default for EmailOptions {
    fn default() -> Self {
        EmailOptions {
            all_lowercase: true,
            gmail_lowercase: true,
            gmail_remove_dots: true,
            gmail_remove_subaddress: true,
            gmail_convert_googlemaildotcom: true,
            outlookdotcom_lowercase: true,
            outlookdotcom_remove_subaddress: true,
            yahoo_lowercase: true,
            yahoo_remove_subaddress: true,
            yandex_lowercase: true,
            yandex_convert_yandexru: true,
            icloud_lowercase: true,
            icloud_remove_subaddress: true,
        }
    }
}

const ICLOUD: &[&str] = &["icloud.com", "me.com"];
const OUTLOOK: &[&str] = &[
    "hotmail.at",
    "hotmail.be",
    "hotmail.ca",
    "hotmail.cl",
    "hotmail.co.il",
    "hotmail.co.nz",
    "hotmail.co.th",
    "hotmail.co.uk",
    "hotmail.com",
    "hotmail.com.ar",
    "hotmail.com.au",
    "hotmail.com.br",
    "hotmail.com.gr",
    "hotmail.com.mx",
    "hotmail.com.pe",
    "hotmail.com.tr",
    "hotmail.com.vn",
    "hotmail.cz",
    "hotmail.de",
    "hotmail.dk",
    "hotmail.es",
    "hotmail.fr",
    "hotmail.hu",
    "hotmail.id",
    "hotmail.ie",
    "hotmail.in",
    "hotmail.it",
    "hotmail.jp",
    "hotmail.kr",
    "hotmail.lv",
    "hotmail.my",
    "hotmail.ph",
    "hotmail.pt",
    "hotmail.sa",
    "hotmail.sg",
    "hotmail.sk",
    "live.be",
    "live.co.uk",
    "live.com",
    "live.com.ar",
    "live.com.mx",
    "live.de",
    "live.es",
    "live.eu",
    "live.fr",
    "live.it",
    "live.nl",
    "msn.com",
    "outlook.at",
    "outlook.be",
    "outlook.cl",
    "outlook.co.il",
    "outlook.co.nz",
    "outlook.co.th",
    "outlook.com",
    "outlook.com.ar",
    "outlook.com.au",
    "outlook.com.br",
    "outlook.com.gr",
    "outlook.com.pe",
    "outlook.com.tr",
    "outlook.com.vn",
    "outlook.cz",
    "outlook.de",
    "outlook.dk",
    "outlook.es",
    "outlook.fr",
    "outlook.hu",
    "outlook.id",
    "outlook.ie",
    "outlook.in",
    "outlook.it",
    "outlook.jp",
    "outlook.kr",
    "outlook.lv",
    "outlook.my",
    "outlook.ph",
    "outlook.pt",
    "outlook.sa",
    "outlook.sg",
    "outlook.sk",
    "passport.com",
];
const YAHOO: &[&str] = &[
    "rocketmail.com",
    "yahoo.ca",
    "yahoo.co.uk",
    "yahoo.com",
    "yahoo.de",
    "yahoo.fr",
    "yahoo.in",
    "yahoo.it",
    "ymail.com",
];
const YANDEX: &[&str] = &[
    "yandex.ru",
    "yandex.ua",
    "yandex.kz",
    "yandex.com",
    "yandex.by",
    "ya.ru",
];

/// validator.js `normalizeEmail`: `None` where it returns `false` (an empty
/// local part after the provider's rules).
pub fn normalize_email_with(email: &str, o: &EmailOptions) -> Option<String> {
    let (user, domain) = match email.rfind('@') {
        Some(i) => (&email[..i], &email[i + 1..]),
        // split('@') with no '@': the whole string is the "domain", user empty.
        None => ("", email),
    };
    let domain = domain.to_lowercase();
    let mut user = user.to_string();
    let lower = |u: &str| u.to_lowercase();
    if domain == "gmail.com" || domain == "googlemail.com" {
        if o.gmail_remove_subaddress {
            user = user.split('+').next().unwrap_or("").to_string();
        }
        if o.gmail_remove_dots {
            user = remove_single_dots(&user);
        }
        if user.is_empty() {
            return None;
        }
        if o.all_lowercase || o.gmail_lowercase {
            user = lower(&user);
        }
        let domain = if o.gmail_convert_googlemaildotcom {
            "gmail.com".to_string()
        } else {
            domain
        };
        return Some(format!("{user}@{domain}"));
    }
    if ICLOUD.contains(&domain.as_str()) {
        if o.icloud_remove_subaddress {
            user = user.split('+').next().unwrap_or("").to_string();
        }
        if user.is_empty() {
            return None;
        }
        if o.all_lowercase || o.icloud_lowercase {
            user = lower(&user);
        }
    } else if OUTLOOK.contains(&domain.as_str()) {
        if o.outlookdotcom_remove_subaddress {
            user = user.split('+').next().unwrap_or("").to_string();
        }
        if user.is_empty() {
            return None;
        }
        if o.all_lowercase || o.outlookdotcom_lowercase {
            user = lower(&user);
        }
    } else if YAHOO.contains(&domain.as_str()) {
        if o.yahoo_remove_subaddress {
            let parts: Vec<&str> = user.split('-').collect();
            user = if parts.len() > 1 {
                parts[..parts.len() - 1].join("-")
            } else {
                parts[0].to_string()
            };
        }
        if user.is_empty() {
            return None;
        }
        if o.all_lowercase || o.yahoo_lowercase {
            user = lower(&user);
        }
    } else if YANDEX.contains(&domain.as_str()) {
        if o.all_lowercase || o.yandex_lowercase {
            user = lower(&user);
        }
        let domain = if o.yandex_convert_yandexru {
            "yandex.ru".to_string()
        } else {
            domain
        };
        return Some(format!("{user}@{domain}"));
    } else if o.all_lowercase {
        user = lower(&user);
    }
    Some(format!("{user}@{domain}"))
}

/// `/\.+/g` replaced by "" for a single dot, kept for a run of two or more.
fn remove_single_dots(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '.' {
            let mut j = i;
            while j < chars.len() && chars[j] == '.' {
                j += 1;
            }
            if j - i > 1 {
                out.extend(&chars[i..j]);
            }
            i = j;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// A syntax check in the spirit of validator.js `isEmail` defaults: one
/// `@`, a local part of at most 64 octets (quoted strings allowed), a
/// domain of dot-separated labels with a TLD of at least two letters.
pub fn is_valid_syntax(email: &str) -> bool {
    let Some(at) = email.rfind('@') else {
        return false;
    };
    let (local, domain) = (&email[..at], &email[at + 1..]);
    if local.is_empty() || local.len() > 64 || domain.is_empty() || domain.len() > 253 {
        return false;
    }
    let local_ok = if local.starts_with('"') && local.ends_with('"') && local.len() >= 2 {
        !local[1..local.len() - 1].contains(['\\', '\n', '\r'])
    } else {
        !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c))
    };
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && labels.last().is_some_and(|t| {
            t.chars().count() >= 2 && t.chars().all(char::is_alphabetic) || t.starts_with("xn--")
        });
    local_ok && domain_ok
}

/// The entry point for [`crate::normalize`]: NFKC (full-width ＠ and letters),
/// trimmed, lower-cased; the key by validator.js's defaults.
pub fn normalize_email(input: &str) -> Result<(Email, Vec<Flag>), Vec<Flag>> {
    if input.chars().count() > EMAIL_CHARS_MAX {
        return Err(vec![Flag::TooLong]);
    }
    let cleaned = nfkc(input.trim()).trim().to_string();
    if cleaned.is_empty() {
        return Err(vec![Flag::Empty]);
    }
    if !is_valid_syntax(&cleaned) {
        return Err(vec![Flag::InvalidSyntax]);
    }
    let canonical = cleaned.to_lowercase();
    let Some(key) = normalize_email_with(&canonical, &EmailOptions::default()) else {
        return Err(vec![Flag::InvalidSyntax]);
    };
    let domain = key.rsplit('@').next().unwrap_or("").to_string();
    let mut flags = Vec::new();
    if key != canonical {
        flags.push(Flag::ProviderRulesApplied);
    }
    if cleaned != input {
        flags.push(Flag::Converted);
    }
    Ok((
        Email {
            canonical,
            key,
            domain,
        },
        flags,
    ))
}
