//! Typed configuration. Every default below is a figure from `DOMAIN.md`
//! (the provider's published terms); a provider overrides them in
//! `atobarai.toml` or with `ATOBARAI__SECTION__KEY` environment variables.
//! Figures are data, never constants in business logic.

use crate::money::Yen;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub credit: CreditConfig,
    pub billing: BillingConfig,
    pub limits: LimitsConfig,
    pub identity: IdentityConfig,
    pub dunning: DunningConfig,
    pub webhooks: WebhookConfig,
}

/// The part of [`Config`] that decides outcomes (credit, billing, input
/// limits, dunning): journaled whenever it changes, so replaying history
/// uses the rules in effect when each command ran. Secrets (identity key,
/// webhook signing key) and delivery settings are not in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rules {
    pub credit: CreditConfig,
    pub billing: BillingConfig,
    pub limits: LimitsConfig,
    pub dunning: DunningConfig,
}

impl Config {
    pub fn rules(&self) -> Rules {
        Rules {
            credit: self.credit.clone(),
            billing: self.billing.clone(),
            limits: self.limits.clone(),
            dunning: self.dunning.clone(),
        }
    }

    pub fn set_rules(&mut self, rules: Rules) {
        self.credit = rules.credit;
        self.billing = rules.billing;
        self.limits = rules.limits;
        self.dunning = rules.dunning;
    }
}

/// Dunning: days after the first missed due date at which each step runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DunningConfig {
    /// E-mail and SMS reminder with a re-issued payment number.
    pub reminder_days: i32,
    /// A phone-call task for collections.
    pub phone_call_days: i32,
    /// New purchases suspended.
    pub suspension_days: i32,
    /// A payment plan offered.
    pub payment_plan_offer_days: i32,
}

impl Default for DunningConfig {
    fn default() -> Self {
        DunningConfig {
            reminder_days: 1,
            phone_call_days: 7,
            suspension_days: 14,
            payment_plan_offer_days: 30,
        }
    }
}

/// Webhook delivery (the shell's dispatcher; the engine only keeps the
/// outbox).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    /// The key every endpoint's signing secret is derived from (with the
    /// endpoint's nonce), so no secret is stored in the journal. The default
    /// is a published development value: production MUST set its own
    /// (`ATOBARAI__WEBHOOKS__SIGNING_KEY`); changing it changes every
    /// endpoint's secret.
    pub signing_key: String,
    /// Waits before each retry of a failed delivery, in milliseconds; after
    /// the last the event is given up (listed as failed on the endpoint).
    /// The default retries for about three days.
    pub retry_backoff_ms: Vec<u64>,
    /// A delivery that takes longer fails.
    pub timeout_ms: u64,
    /// Requests in flight per endpoint. 1 delivers strictly in order; more
    /// start them in order but they may arrive out of order.
    pub concurrency: usize,
    /// Accept `http://` endpoint URLs (tests, a local relay). Production
    /// endpoints are `https://`.
    pub allow_http: bool,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        const S: u64 = 1_000;
        WebhookConfig {
            signing_key: WEBHOOK_SIGNING_KEY_DEV.to_string(),
            retry_backoff_ms: vec![
                10 * S,
                60 * S,
                5 * 60 * S,
                30 * 60 * S,
                2 * 3_600 * S,
                6 * 3_600 * S,
                12 * 3_600 * S,
                24 * 3_600 * S,
                24 * 3_600 * S,
            ],
            timeout_ms: 10_000,
            concurrency: 8,
            allow_http: false,
        }
    }
}

/// The development webhook signing key (public).
pub const WEBHOOK_SIGNING_KEY_DEV: &str = "atobarai-development-webhook-signing-key";

impl WebhookConfig {
    /// True while the published development key is in use.
    pub fn is_development_key(&self) -> bool {
        self.signing_key == WEBHOOK_SIGNING_KEY_DEV
    }
}

impl std::fmt::Debug for WebhookConfig {
    /// Never prints the signing key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("signing_key", &"<redacted>")
            .field("retry_backoff_ms", &self.retry_backoff_ms)
            .field("timeout_ms", &self.timeout_ms)
            .field("concurrency", &self.concurrency)
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

/// Identity keys: phone, e-mail, address, name, device and IP are stored
/// only as keyed hashes (HMAC-SHA256) of their normalized forms. The secret
/// stays in the shell (server, CLI); the engine and the journal see hashes.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdentityConfig {
    /// The HMAC secret. The default is a published development value:
    /// production MUST set its own (`ATOBARAI__IDENTITY__KEY_SECRET`, at least
    /// 32 random bytes), and never change it afterwards: hashes made with
    /// another secret never match, so every link would be lost.
    pub key_secret: String,
}

/// The development secret (public: anyone can recompute keys made with it).
pub const IDENTITY_KEY_SECRET_DEV: &str = "atobarai-development-identity-key-secret";

impl Default for IdentityConfig {
    fn default() -> Self {
        IdentityConfig {
            key_secret: IDENTITY_KEY_SECRET_DEV.to_string(),
        }
    }
}

impl IdentityConfig {
    /// True while the published development secret is in use.
    pub fn is_development_secret(&self) -> bool {
        self.key_secret == IDENTITY_KEY_SECRET_DEV
    }
}

impl std::fmt::Debug for IdentityConfig {
    /// Never prints the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityConfig")
            .field("key_secret", &"<redacted>")
            .finish()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CreditConfig {
    /// The one shared limit at sign-up (both products together).
    pub signup_limit_yen: Yen,
    /// The shared limit once bank debit is registered as payment method.
    pub bank_debit_limit_yen: Yen,
    /// Most a customer may owe on the per-order invoice product.
    pub per_order_outstanding_cap_yen: Yen,
    /// Most a customer may owe for in-store (code payment) purchases.
    pub in_store_cap_yen: Yen,
    /// In-store cap for a customer without enough paid online history
    /// (0: code payment is not offered to them yet).
    pub in_store_new_customer_cap_yen: Yen,
    /// Fully paid online orders needed before the full in-store cap applies.
    pub in_store_paid_online_orders_min: u32,
    /// Minimum age at registration.
    pub age_years_min: i32,
}

impl Default for CreditConfig {
    fn default() -> Self {
        CreditConfig {
            signup_limit_yen: Yen::new(50_000),
            bank_debit_limit_yen: Yen::new(100_000),
            per_order_outstanding_cap_yen: Yen::new(55_000),
            in_store_cap_yen: Yen::new(15_000),
            in_store_new_customer_cap_yen: Yen::new(0),
            in_store_paid_online_orders_min: 3,
            age_years_min: 18,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BillingConfig {
    /// Per-order invoice: due this many days after it is issued (at capture).
    pub per_order_due_days: i32,
    /// Monthly statement due day of the month after close, per method.
    pub convenience_store_due_day: i8,
    pub paper_bill_due_day: i8,
    pub bank_debit_day: i8,
    /// Payment fee per statement, per method.
    pub convenience_store_fee_yen: Yen,
    pub paper_bill_fee_yen: Yen,
    pub bank_debit_fee_yen: Yen,
    /// Late fee added on each of `late_fee_days` from the month after the
    /// first missed due date.
    pub late_fee_yen: Yen,
    pub late_fee_days: Vec<i8>,
    /// Delay damages, in basis points per year (1460 = 14.6 %).
    pub delay_damages_bp_per_year: i64,
    /// Points: basis points of the paid amount (50 = 0.5 % = 1 pt per ¥200).
    pub points_bp: i64,
    pub points_paid_tier_bp: i64,
    pub paid_tier_fee_yen: Yen,
    pub points_expiry_months: i8,
}

impl Default for BillingConfig {
    fn default() -> Self {
        BillingConfig {
            per_order_due_days: 14,
            convenience_store_due_day: 10,
            paper_bill_due_day: 20,
            bank_debit_day: 27,
            convenience_store_fee_yen: Yen::new(209),
            paper_bill_fee_yen: Yen::new(209),
            bank_debit_fee_yen: Yen::new(0),
            late_fee_yen: Yen::new(100),
            late_fee_days: vec![10, 25],
            delay_damages_bp_per_year: 1460,
            points_bp: 50,
            points_paid_tier_bp: 150,
            paid_tier_fee_yen: Yen::new(300),
            points_expiry_months: 6,
        }
    }
}

/// Limits on everything a caller can send (TigerBeetle style: a bound on
/// every input). Units are last in every name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    pub line_items_max: usize,
    pub line_quantity_max: i64,
    pub id_chars_max: usize,
    pub text_chars_max: usize,
    pub request_body_bytes_max: usize,
    /// How long an idempotency key is remembered.
    pub idempotency_retention_hours: i64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            line_items_max: 100,
            line_quantity_max: 10_000,
            id_chars_max: 64,
            text_chars_max: 200,
            request_body_bytes_max: 64 * 1024,
            idempotency_retention_hours: 24,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_published_terms() {
        let c = Config::default();
        assert_eq!(c.credit.signup_limit_yen, Yen::new(50_000));
        assert_eq!(c.credit.bank_debit_limit_yen, Yen::new(100_000));
        assert_eq!(c.credit.per_order_outstanding_cap_yen, Yen::new(55_000));
        assert_eq!(c.credit.in_store_cap_yen, Yen::new(15_000));
        assert_eq!(c.billing.per_order_due_days, 14);
        assert_eq!(
            (
                c.billing.convenience_store_due_day,
                c.billing.paper_bill_due_day,
                c.billing.bank_debit_day
            ),
            (10, 20, 27)
        );
        assert_eq!(c.billing.convenience_store_fee_yen, Yen::new(209));
        assert_eq!(c.billing.late_fee_days, vec![10, 25]);
    }

    #[test]
    fn partial_override_keeps_other_defaults() {
        let c: Config = serde_json::from_str(r#"{"credit": {"signup_limit_yen": 30000}}"#).unwrap();
        assert_eq!(c.credit.signup_limit_yen, Yen::new(30_000));
        assert_eq!(c.credit.bank_debit_limit_yen, Yen::new(100_000));
        assert!(serde_json::from_str::<Config>(r#"{"credit": {"typo": 1}}"#).is_err());
    }

    #[test]
    fn identity_secret_defaults_to_the_development_value_and_never_prints() {
        let c = Config::default();
        assert!(c.identity.is_development_secret());
        let c: Config =
            serde_json::from_str(r#"{"identity": {"key_secret": "s3cr3t-of-production"}}"#)
                .unwrap();
        assert!(!c.identity.is_development_secret());
        assert!(!format!("{c:?}").contains("s3cr3t"));
        assert!(serde_json::from_str::<Config>(r#"{"identity": {"secret": "x"}}"#).is_err());
    }
}
