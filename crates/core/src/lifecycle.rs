//! The customer lifecycle's rules (`[lifecycle]`): sign-up verification,
//! age and parental consent, identity verification (eKYC), one-time
//! in-store payment codes and re-registration screening.
//!
//! Together with the product catalog ([`crate::products`]) they are the
//! [`Terms`]: journaled whenever they change (`SetTerms`), so replaying
//! history uses the terms in effect when each command ran. Defaults are
//! the seeds' figures (`DOMAIN.md`).

use crate::money::Yen;
use crate::products::ProductCatalog;
use serde::{Deserialize, Serialize};

/// The lifecycle part of the terms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LifecycleConfig {
    /// Customers younger than this (in whole years on the day they sign
    /// up) and at least `credit.age_years_min` need a parental consent
    /// (who consented and when). 0 turns the rule off.
    pub consent_below_years: i32,
    /// In-store use (a payment code, or `channel: in_store`) needs an
    /// identity verified by eKYC.
    pub ekyc_required_for_in_store: bool,
    /// The in-store cap of an eKYC-verified customer with enough paid
    /// online history (`credit.in_store_paid_online_orders_min`).
    pub in_store_cap_yen: Yen,
    /// The in-store cap of an eKYC-verified customer without that history
    /// (the seeds' "¥2,000 for some new users").
    pub in_store_new_customer_cap_yen: Yen,
    /// How long a payment code may be used, seconds.
    pub payment_code_ttl_secs: i64,
    /// Payment codes one customer may hold unused at a time.
    pub payment_codes_open_max: u32,
    /// A sign-up sharing a phone, e-mail, device or address unit with an
    /// account that defaulted, owes an overdue balance or bought a revoked
    /// gift card is held for an operator's review.
    pub hold_reregistration_with_trouble: bool,
    /// SMS verification: how long a code may be confirmed, seconds.
    pub verification_ttl_secs: i64,
    /// SMS verification: wrong codes before the verification is spent.
    pub verification_attempts_max: u32,
    /// SMS verification: codes sent to one phone per hour.
    pub verification_sends_per_phone_hour: u32,
    /// SMS verification: codes requested from one IP network per hour.
    pub verification_sends_per_ip_hour: u32,
}

impl Default for LifecycleConfig {
    fn default() -> Self {
        LifecycleConfig {
            consent_below_years: 20,
            ekyc_required_for_in_store: true,
            in_store_cap_yen: Yen::new(15_000),
            in_store_new_customer_cap_yen: Yen::new(2_000),
            payment_code_ttl_secs: 300,
            payment_codes_open_max: 3,
            hold_reregistration_with_trouble: true,
            verification_ttl_secs: 600,
            verification_attempts_max: 5,
            verification_sends_per_phone_hour: 3,
            verification_sends_per_ip_hour: 20,
        }
    }
}

/// The eKYC vendor's callback (`[ekyc]`; the shell's, never journaled).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EkycConfig {
    /// The secret a vendor that signs its callbacks shares with us
    /// (HMAC-SHA256 over `timestamp.body`, header
    /// `Atobarai-Signature: t=<unix seconds>,v1=<hex>`). Unset: only an
    /// admin operator key held by the integration is accepted.
    pub callback_secret: Option<String>,
    /// A signed callback older (or newer) than this is refused, seconds.
    pub signature_tolerance_secs: u64,
}

impl Default for EkycConfig {
    fn default() -> Self {
        EkycConfig {
            callback_secret: None,
            signature_tolerance_secs: 300,
        }
    }
}

impl std::fmt::Debug for EkycConfig {
    /// Never prints the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EkycConfig")
            .field(
                "callback_secret",
                &self.callback_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("signature_tolerance_secs", &self.signature_tolerance_secs)
            .finish()
    }
}

/// The journaled terms: the lifecycle rules and the product catalog.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Terms {
    pub lifecycle: LifecycleConfig,
    pub products: ProductCatalog,
}

impl Terms {
    /// The terms of history journaled before the first `SetTerms`.
    pub fn legacy() -> Terms {
        Terms {
            lifecycle: LifecycleConfig::legacy(),
            products: ProductCatalog::default(),
        }
    }
}

impl LifecycleConfig {
    /// The rules in effect before the lifecycle existed, for history
    /// journaled before the first `SetTerms`: no consent rule, in-store
    /// use gated only by the credit rules' paid-history caps, no
    /// re-registration hold. Replaying an old journal under these gives
    /// the decisions it recorded.
    pub fn legacy() -> LifecycleConfig {
        LifecycleConfig {
            consent_below_years: 0,
            ekyc_required_for_in_store: false,
            hold_reregistration_with_trouble: false,
            ..LifecycleConfig::default()
        }
    }

    /// Every problem found, as `(field, message)`; `credit_limit` is the
    /// highest limit a customer can have.
    pub fn problems(&self, signup_limit: Yen) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut check = |ok: bool, field: &str, message: String| {
            if !ok {
                out.push((format!("lifecycle.{field}"), message));
            }
        };
        check(
            (0..=130).contains(&self.consent_below_years),
            "consent_below_years",
            "must be between 0 and 130".into(),
        );
        for (cap, field) in [
            (self.in_store_cap_yen, "in_store_cap_yen"),
            (
                self.in_store_new_customer_cap_yen,
                "in_store_new_customer_cap_yen",
            ),
        ] {
            // A limit that is itself out of range is reported on its own.
            check(
                !cap.is_negative() && (signup_limit.is_negative() || cap <= signup_limit),
                field,
                format!("must be between 0 and the credit limit ({signup_limit})"),
            );
        }
        check(
            (30..=3_600).contains(&self.payment_code_ttl_secs),
            "payment_code_ttl_secs",
            "must be between 30 and 3600 seconds".into(),
        );
        check(
            (1..=20).contains(&self.payment_codes_open_max),
            "payment_codes_open_max",
            "must be between 1 and 20".into(),
        );
        check(
            (60..=86_400).contains(&self.verification_ttl_secs),
            "verification_ttl_secs",
            "must be between 60 and 86400 seconds".into(),
        );
        check(
            (1..=20).contains(&self.verification_attempts_max),
            "verification_attempts_max",
            "must be between 1 and 20".into(),
        );
        check(
            (1..=100).contains(&self.verification_sends_per_phone_hour),
            "verification_sends_per_phone_hour",
            "must be between 1 and 100".into(),
        );
        check(
            (1..=100_000).contains(&self.verification_sends_per_ip_hour),
            "verification_sends_per_ip_hour",
            "must be between 1 and 100000".into(),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_seeds_figures_and_check() {
        let l = LifecycleConfig::default();
        assert_eq!(l.consent_below_years, 20);
        assert_eq!(l.in_store_cap_yen, Yen::new(15_000));
        assert_eq!(l.in_store_new_customer_cap_yen, Yen::new(2_000));
        assert_eq!(l.verification_ttl_secs, 600);
        assert_eq!(l.verification_attempts_max, 5);
        assert!(l.problems(Yen::new(50_000)).is_empty());
    }

    #[test]
    fn a_cap_above_the_credit_limit_is_named() {
        let l = LifecycleConfig {
            in_store_cap_yen: Yen::new(60_000),
            ..LifecycleConfig::default()
        };
        let p = l.problems(Yen::new(50_000));
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].0, "lifecycle.in_store_cap_yen");
    }
}
