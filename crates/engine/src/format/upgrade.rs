//! Written upgrades from older record versions to the current commands.
//!
//! One function per step: `legacy_to_v1` today; a future version N+1 that
//! changes a command's body adds `vN_to_vN1_<command>` taking the old
//! body's fields and choosing, explicitly, what the new field is for
//! records written before it existed. Decoding version N always ends in
//! the current `Command`, through every step after N in turn.

use super::legacy::{LegacyCommand, LegacyEnvelope};
use crate::command::{Command, Envelope};

/// Legacy → version 1: same commands, same fields; only the encoding
/// changed (explicit tags and bodies instead of the derived enum).
pub(crate) fn legacy_to_v1(legacy: LegacyEnvelope) -> Envelope {
    let command = match legacy.command {
        LegacyCommand::AddMerchant {
            name,
            key_id,
            secret_sha256,
        } => Command::AddMerchant {
            name,
            key_id,
            secret_sha256,
        },
        LegacyCommand::AddOperator {
            name,
            role,
            key_id,
            secret_sha256,
        } => Command::AddOperator {
            name,
            role,
            key_id,
            secret_sha256,
        },
        LegacyCommand::RegisterCustomer {
            merchant,
            profile,
            payment_method,
            identity,
        } => Command::RegisterCustomer {
            merchant,
            profile,
            payment_method,
            identity,
        },
        LegacyCommand::Authorize {
            merchant,
            input,
            session,
        } => Command::Authorize {
            merchant,
            input: input.into_v2(),
            session,
        },
        LegacyCommand::Capture {
            principal,
            order,
            amount,
        } => Command::Capture {
            principal,
            order,
            amount,
        },
        LegacyCommand::Cancel { principal, order } => Command::Cancel { principal, order },
        LegacyCommand::Refund {
            principal,
            order,
            amount,
        } => Command::Refund {
            principal,
            order,
            amount,
        },
        LegacyCommand::RecordPayment { principal, input } => {
            Command::RecordPayment { principal, input }
        }
        LegacyCommand::SetPaymentMethod {
            principal,
            customer,
            payment_method,
        } => Command::SetPaymentMethod {
            principal,
            customer,
            payment_method,
        },
        LegacyCommand::AdvanceClock { to } => Command::AdvanceClock { to },
        LegacyCommand::AddSuspension { input } => Command::AddSuspension { input },
        LegacyCommand::LiftSuspension { suspension } => Command::LiftSuspension { suspension },
        LegacyCommand::ResolveReview { order, verdict } => {
            Command::ResolveReview { order, verdict }
        }
        LegacyCommand::RedeemPoints {
            principal,
            customer,
            points,
        } => Command::RedeemPoints {
            principal,
            customer,
            points,
        },
        LegacyCommand::ReversePayment {
            principal,
            payment,
            reason,
        } => Command::ReversePayment {
            principal,
            payment,
            reason,
        },
        LegacyCommand::SetMembership {
            principal,
            customer,
            paid,
        } => Command::SetMembership {
            principal,
            customer,
            paid,
        },
        LegacyCommand::AgreePaymentPlan {
            principal,
            customer,
            instalments,
        } => Command::AgreePaymentPlan {
            principal,
            customer,
            instalments,
        },
        LegacyCommand::AddWebhookEndpoint {
            url,
            key_nonce,
            events,
        } => Command::AddWebhookEndpoint {
            url,
            key_nonce,
            events,
        },
        LegacyCommand::RemoveWebhookEndpoint { endpoint } => {
            Command::RemoveWebhookEndpoint { endpoint }
        }
        LegacyCommand::WebhooksDelivered {
            endpoint,
            through,
            failed,
        } => Command::WebhooksDelivered {
            endpoint,
            through,
            failed,
        },
        LegacyCommand::SetRules { rules } => Command::SetRules {
            rules: Box::new(legacy_rules(*rules)),
        },
    };
    Envelope {
        at: legacy.at,
        idem: legacy.idem,
        command,
    }
}

/// Rules journaled before versioning, as the current type, with the values
/// that make history replay as it ran: no limit on overpayments and
/// merchants recording payments (both allowed then), and no hub keys (every
/// shared key linked then). The node journals the configured rules at the
/// next start-up, since they differ.
fn legacy_rules(old: super::legacy::LegacyRules) -> atobarai_core::config::Rules {
    let b = old.billing;
    atobarai_core::config::Rules {
        credit: old.credit,
        billing: atobarai_core::config::BillingConfig {
            per_order_due_days: b.per_order_due_days,
            convenience_store_due_day: b.convenience_store_due_day,
            paper_bill_due_day: b.paper_bill_due_day,
            bank_debit_day: b.bank_debit_day,
            convenience_store_fee_yen: b.convenience_store_fee_yen,
            paper_bill_fee_yen: b.paper_bill_fee_yen,
            bank_debit_fee_yen: b.bank_debit_fee_yen,
            late_fee_yen: b.late_fee_yen,
            late_fee_days: b.late_fee_days,
            delay_damages_bp_per_year: b.delay_damages_bp_per_year,
            points_bp: b.points_bp,
            points_paid_tier_bp: b.points_paid_tier_bp,
            paid_tier_fee_yen: b.paid_tier_fee_yen,
            points_expiry_months: b.points_expiry_months,
            overpayment_tolerance_yen: atobarai_core::Yen::AMOUNT_MAX,
            merchants_record_payments: true,
        },
        limits: old.limits,
        dunning: old.dunning,
        hub_threshold: atobarai_core::config::HubThresholds {
            phone: u32::MAX,
            email: u32::MAX,
            device: u32::MAX,
        },
    }
}

/// [`AuthorizeInput`](crate::AuthorizeInput) as record format version 1
/// (and the legacy format) wrote it, before the stated tax rates. Frozen:
/// never edit a field.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct AuthorizeInputV1 {
    pub merchant_order_id: String,
    pub customer: u64,
    pub product: atobarai_core::Product,
    pub channel: atobarai_core::Channel,
    pub items: Vec<crate::command::LineItem>,
    pub shipping_address: String,
    pub device_id: String,
    pub ip: String,
}

impl AuthorizeInputV1 {
    /// 1 → 2: an authorization of version 1 stated no tax rate (every line
    /// takes its category's default).
    pub(crate) fn into_v2(self) -> crate::AuthorizeInput {
        crate::AuthorizeInput {
            merchant_order_id: self.merchant_order_id,
            customer: self.customer,
            product: self.product,
            channel: self.channel,
            items: self.items,
            shipping_address: self.shipping_address,
            device_id: self.device_id,
            ip: self.ip,
            tax_rates: Vec::new(),
        }
    }
}
