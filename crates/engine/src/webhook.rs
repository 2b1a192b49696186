//! Webhook outbox: events the engine emits for subscribed endpoints, and the
//! delivery cursor of each endpoint.
//!
//! The engine only records events (deterministically, in state, so they
//! survive restarts and snapshots) and what the dispatcher reported as
//! delivered. Signing, HTTP, retries and backoff live in the shell
//! (`atobarai-server`'s `webhook` module), which journals
//! [`crate::Command::WebhooksDelivered`] after each delivery; so delivery is
//! at-least-once: after a crash the last unacknowledged events are sent
//! again, and receivers deduplicate by event id.
//!
//! An event is recorded only when at least one active endpoint subscribes
//! to its kind, and is dropped once every active endpoint's cursor has
//! passed it. At most [`EVENTS_KEPT_MAX`] are kept (the oldest beyond are
//! dropped and counted) so an endpoint that is down for weeks cannot grow
//! memory without bound.

use crate::checked::{Bounded, id32};
use crate::engine::Engine;
use crate::error::CommandError;
use atobarai_billing::schedule::YearMonth;
use atobarai_core::{At, JstDate, Product, Yen};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Most events kept for delivery. An event in the outbox is a compact
/// reference (about 48 bytes; the invoice, payment or credit note it names
/// is read from state when the dispatcher asks), so a month close of a few
/// million statements fits.
pub const EVENTS_KEPT_MAX: usize = 4_000_000;
/// Most endpoints (active and removed).
pub const ENDPOINTS_MAX: usize = 100;
/// Most given-up event numbers remembered per endpoint.
pub const FAILED_KEPT: usize = 1_000;

/// What an event is about (endpoints subscribe by kind).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EventKind {
    /// A per-order invoice (at capture) or a monthly statement (on the 1st).
    InvoiceIssued,
    /// A payment was recorded.
    PaymentReceived,
    /// A customer's first missed due date (sent once per overdue spell).
    CustomerOverdue,
    /// A payment was returned by its channel.
    PaymentReversed,
    /// A refund issued a credit note against an invoice or statement.
    CreditNoteIssued,
    /// A dunning step is due (reminder, phone call, suspension, plan offer):
    /// for the systems that send the e-mail/SMS or open the call task.
    DunningStep,
    /// The share of liquid-goods orders from devices new to their account
    /// jumped above its baseline (a phishing wave, [`crate::risk::wave`]).
    RiskAlert,
    /// A customer's limit moved with their behaviour score.
    LimitChanged,
    /// A scorecard's day closed with its scores' population stability
    /// index above 0.25 ([`crate::risk::drift`]).
    ModelDrift,
    /// A gift card was revoked (before or after redemption).
    GiftCardRevoked,
    /// A revoked gift card was reinstated on appeal.
    GiftCardReinstated,
    /// A wallet was debited by a revocation (possibly below zero).
    WalletDebited,
    /// A customer froze their account (a charge they did not recognise).
    CustomerFrozen,
}

impl EventKind {
    /// Every kind, in declaration order.
    pub const ALL: [EventKind; 13] = [
        EventKind::InvoiceIssued,
        EventKind::PaymentReceived,
        EventKind::CustomerOverdue,
        EventKind::PaymentReversed,
        EventKind::CreditNoteIssued,
        EventKind::DunningStep,
        EventKind::RiskAlert,
        EventKind::LimitChanged,
        EventKind::ModelDrift,
        EventKind::GiftCardRevoked,
        EventKind::GiftCardReinstated,
        EventKind::WalletDebited,
        EventKind::CustomerFrozen,
    ];

    /// The API spelling (`invoice.issued`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::InvoiceIssued => "invoice.issued",
            EventKind::PaymentReceived => "payment.received",
            EventKind::CustomerOverdue => "customer.overdue",
            EventKind::PaymentReversed => "payment.reversed",
            EventKind::CreditNoteIssued => "credit_note.issued",
            EventKind::DunningStep => "dunning.step",
            EventKind::RiskAlert => "risk.alert",
            EventKind::LimitChanged => "limit.changed",
            EventKind::ModelDrift => "model.drift",
            EventKind::GiftCardRevoked => "gift_card.revoked",
            EventKind::GiftCardReinstated => "gift_card.reinstated",
            EventKind::WalletDebited => "wallet.debited",
            EventKind::CustomerFrozen => "customer.frozen",
        }
    }

    /// The kind with this API spelling.
    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// An event's payload, resolved from state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventData {
    /// An invoice or statement was issued.
    Invoice {
        /// Its number.
        number: String,
        /// Per-order invoice or monthly statement.
        product: Product,
        /// The statement's month (monthly only).
        month: Option<YearMonth>,
        /// Issued on.
        issued_on: JstDate,
        /// Due on.
        due_on: JstDate,
        /// Purchases + payment fee + membership fee.
        amount: Yen,
    },
    /// A payment was recorded.
    Payment {
        /// Dense payment index.
        payment: u32,
        /// The amount received.
        amount: Yen,
        /// Part of it that settled what was owed.
        applied: Yen,
        /// The channel's reference.
        reference: String,
    },
    /// The customer became overdue.
    Overdue {
        /// The first due date missed.
        first_missed_due: JstDate,
        /// Principal overdue at that moment.
        principal: Yen,
    },
    /// A payment was returned.
    Reversal {
        /// Dense payment index.
        payment: u32,
        /// The amount returned.
        amount: Yen,
        /// Why, as the channel reported it.
        reason: String,
    },
    /// A credit note was issued.
    CreditNote {
        /// Its number.
        number: String,
        /// The invoice or statement it corrects.
        invoice: String,
        /// The amount taken back.
        amount: Yen,
        /// What is owed on the invoice after it.
        amount_after: Yen,
    },
    /// A dunning step is due.
    Dunning(atobarai_billing::dunning::DunningEvent),
    /// A phishing-wave alert (the customer is the one whose order crossed
    /// the threshold).
    RiskAlert(crate::risk::wave::WaveAlert),
    /// The limit moved.
    LimitChanged {
        /// The limit before.
        from: Yen,
        /// The limit after.
        to: Yen,
        /// The score event that crossed the step.
        reason: crate::score::ScoreEvent,
    },
    /// A model's day drifted (the customer is the one whose order opened
    /// the next day).
    ModelDrift {
        /// The model's version.
        model: u32,
        /// Scored and recorded only.
        shadow: bool,
        /// The JST day that drifted.
        day: JstDate,
        /// Decisions scored that day.
        scored: u64,
        /// Its population stability index, millionths.
        psi_micro: u64,
    },
    /// A gift card bought by the customer changed state (revoked,
    /// reinstated).
    GiftCard {
        /// Index of the card.
        card: u32,
        /// Index of the order that bought it.
        order: u32,
        /// Face value.
        amount: Yen,
        /// Its state now.
        state: crate::engine::GiftCardState,
        /// The last revocation's reason.
        reason: Option<crate::command::RevocationReason>,
    },
    /// A wallet was debited (the customer is the card's buyer).
    WalletDebited {
        /// The wallet's id.
        wallet: String,
        /// Index of the card taken back.
        card: u32,
        /// The amount taken (positive).
        amount: Yen,
        /// The wallet's balance after (may be negative).
        balance_after: Yen,
        /// Why.
        reason: Option<crate::command::RevocationReason>,
    },
    /// The customer froze their account.
    CustomerFrozen {
        /// When the freeze in force began (`None`: lifted since).
        frozen_at: Option<At>,
        /// The customer's reason.
        reason: Option<String>,
    },
}

/// An event as the dispatcher receives it (resolved from state).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// From 1, dense over recorded events.
    pub seq: u64,
    /// When it happened.
    pub at: At,
    /// What it is about.
    pub kind: EventKind,
    /// Dense index of the customer.
    pub customer: u32,
    /// Its payload.
    pub data: EventData,
}

/// What the outbox keeps of an event: small values inline, documents by
/// their index (invoices, credit notes and payments are append-only, so
/// the reference stays valid).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stored {
    /// The customer's invoice at this index.
    Invoice(u32),
    /// The payment at this index.
    Payment(u32),
    /// The reversed payment at this index.
    Reversal(u32),
    /// The customer's credit note at this index.
    CreditNote(u32),
    /// The customer became overdue (first missed due date, principal then).
    Overdue {
        /// The first due date missed.
        first_missed_due: JstDate,
        /// Principal overdue at that moment.
        principal: Yen,
    },
    /// A dunning step is due.
    Dunning(atobarai_billing::dunning::DunningEvent),
    /// A phishing-wave alert (its time is the event's; the hour's share is
    /// `new_device / orders`).
    RiskAlert {
        /// Liquid orders in the hour so far.
        orders: u32,
        /// Of them from new devices.
        new_device: u32,
        /// The baseline share, basis points.
        baseline_bp: u32,
    },
    /// The limit moved with the behaviour score.
    LimitChanged {
        /// The limit before.
        from: Yen,
        /// The limit after.
        to: Yen,
        /// The score event that crossed the step.
        reason: crate::score::ScoreEvent,
    },
    /// A model's day drifted (the customer is the one whose order opened
    /// the next day).
    ModelDrift {
        /// The model's version.
        model: u32,
        /// Scored and recorded only.
        shadow: bool,
        /// The JST day that drifted.
        day: JstDate,
        /// Decisions scored that day (saturating: the outbox keeps events
        /// small).
        scored: u32,
        /// Its population stability index, millionths (saturating).
        psi_micro: u32,
    },
    /// A gift card changed state (revoked, reinstated).
    GiftCard(u32),
    /// A wallet's entry (a debit by a revocation).
    WalletEntry {
        /// Index of the wallet.
        wallet: u32,
        /// Index of the entry in the wallet.
        entry: u32,
    },
    /// The customer froze their account (details resolved from state).
    CustomerFrozen,
}

/// An event in the outbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEvent {
    /// From 1, dense over recorded events.
    pub seq: u64,
    /// When it happened.
    pub at: At,
    /// What it is about.
    pub kind: EventKind,
    /// Dense index of the customer.
    pub customer: u32,
    /// Its payload, by reference where large.
    pub data: Stored,
}

/// A webhook endpoint and its delivery cursor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// Where events are POSTed.
    pub url: String,
    /// Input to the endpoint's signing secret, which the shell derives
    /// from its `webhooks.signing_key` (so the secret itself is never in
    /// the journal or a snapshot).
    pub key_nonce: [u8; 16],
    /// The kinds it subscribes to.
    pub events: Vec<EventKind>,
    /// When it was added.
    pub created_at: At,
    /// When it was removed.
    pub removed_at: Option<At>,
    /// Every event with `seq <= delivered_through` is done (delivered or
    /// given up).
    pub delivered_through: u64,
    /// Events delivered successfully.
    pub delivered: u64,
    /// Events given up after every retry (most recent [`FAILED_KEPT`]).
    pub failed: VecDeque<u64>,
    /// Events ever given up.
    pub failed_total: u64,
}

impl Endpoint {
    fn active(&self) -> bool {
        self.removed_at.is_none()
    }

    /// Does this active endpoint subscribe to `kind`?
    pub fn wants(&self, kind: EventKind) -> bool {
        self.active() && self.events.contains(&kind)
    }
}

/// Endpoints and the events waiting for them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookState {
    /// Every endpoint, removed ones included (dense index).
    pub endpoints: Vec<Endpoint>,
    /// Events some active endpoint still waits for, oldest first.
    pub events: VecDeque<StoredEvent>,
    /// The last sequence number given to an event.
    pub last_seq: u64,
    /// Events dropped because [`EVENTS_KEPT_MAX`] was reached.
    pub dropped: u64,
}

impl WebhookState {
    /// Drop events every active endpoint is done with.
    fn prune(&mut self) {
        let floor = self
            .endpoints
            .iter()
            .filter(|e| e.active())
            .map(|e| e.delivered_through)
            .min()
            .unwrap_or(u64::MAX);
        while self.events.front().is_some_and(|e| e.seq <= floor) {
            self.events.pop_front();
        }
    }
}

/// An endpoint as operators see it (never the secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointView {
    /// Dense endpoint index (public id `whe_…`).
    pub endpoint: u32,
    /// Where events are POSTed.
    pub url: String,
    /// The kinds it subscribes to.
    pub events: Vec<EventKind>,
    /// When it was added.
    pub created_at: At,
    /// When it was removed.
    pub removed_at: Option<At>,
    /// Every event up to this sequence number is done.
    pub delivered_through: u64,
    /// Events delivered successfully.
    pub delivered: u64,
    /// Events waiting for this endpoint.
    pub pending: u64,
    /// Events given up after every retry (the most recent kept).
    pub failed: Vec<u64>,
    /// Events ever given up.
    pub failed_total: u64,
}

/// What the dispatcher sends next to one endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    /// Dense endpoint index.
    pub endpoint: u32,
    /// Where to POST.
    pub url: String,
    /// Input to the endpoint's signing secret (derived in the shell).
    pub key_nonce: [u8; 16],
    /// The endpoint's cursor: every event up to here is done.
    pub after: u64,
    /// Events of the kinds it subscribes to, oldest first.
    pub events: Vec<Event>,
    /// The last sequence number looked at (to acknowledge even when no
    /// event in the range was of a subscribed kind).
    pub scanned_through: u64,
}

impl Engine {
    /// Record an event if any active endpoint wants its kind.
    pub(crate) fn emit(&mut self, at: At, kind: EventKind, customer: u32, data: Stored) {
        let w = &mut self.state.webhooks;
        if !w.endpoints.iter().any(|e| e.wants(kind)) {
            return;
        }
        w.last_seq = w.last_seq.saturating_add(1);
        w.events.push_back(StoredEvent {
            seq: w.last_seq,
            at,
            kind,
            customer,
            data,
        });
        if w.events.len() > EVENTS_KEPT_MAX {
            w.events.pop_front();
            w.dropped = w.dropped.saturating_add(1);
        }
    }

    pub(crate) fn add_webhook_endpoint(
        &mut self,
        at: At,
        url: &str,
        key_nonce: [u8; 16],
        events: &[EventKind],
    ) -> Result<crate::view::Outcome, CommandError> {
        let w = &self.state.webhooks;
        if w.endpoints.len() >= ENDPOINTS_MAX {
            return Err(CommandError::invalid(
                "too_many_endpoints",
                "url",
                format!("at most {ENDPOINTS_MAX} webhook endpoints"),
            ));
        }
        if events.is_empty() {
            return Err(CommandError::invalid(
                "no_events",
                "events",
                "subscribe to at least one event",
            ));
        }
        if w.endpoints.iter().any(|e| e.key_nonce == key_nonce) {
            return Err(CommandError::conflict(
                "key_nonce_reused",
                "every endpoint needs its own signing key nonce",
            ));
        }
        let mut kinds = events.to_vec();
        kinds.sort();
        kinds.dedup();
        let w = &mut self.state.webhooks;
        w.endpoints.push(Endpoint {
            url: url.to_owned(),
            key_nonce,
            events: kinds,
            created_at: at,
            removed_at: None,
            // Only events from now on.
            delivered_through: w.last_seq,
            delivered: 0,
            failed: VecDeque::new(),
            failed_total: 0,
        });
        let i = id32(w.endpoints.len().saturating_sub(1));
        Ok(crate::view::Outcome::Webhook(self.endpoint_view(i)))
    }

    fn endpoint_index(&self, endpoint: u64) -> Result<u32, CommandError> {
        u32::try_from(endpoint)
            .ok()
            .filter(|&i| (i as usize) < self.state.webhooks.endpoints.len())
            .ok_or_else(|| CommandError::not_found("endpoint_not_found", "id", "webhook endpoint"))
    }

    pub(crate) fn remove_webhook_endpoint(
        &mut self,
        at: At,
        endpoint: u64,
    ) -> Result<crate::view::Outcome, CommandError> {
        let i = self.endpoint_index(endpoint)?;
        let w = &mut self.state.webhooks;
        let e = &mut w.endpoints[i as usize];
        if e.removed_at.is_none() {
            e.removed_at = Some(at);
        }
        w.prune();
        Ok(crate::view::Outcome::Webhook(self.endpoint_view(i)))
    }

    pub(crate) fn webhooks_delivered(
        &mut self,
        endpoint: u64,
        through: u64,
        failed: &[u64],
    ) -> Result<crate::view::Outcome, CommandError> {
        let i = self.endpoint_index(endpoint)?;
        let w = &mut self.state.webhooks;
        if through > w.last_seq {
            return Err(CommandError::invalid(
                "event_not_found",
                "through",
                "no such event yet",
            ));
        }
        let e = &mut w.endpoints[i as usize];
        if through > e.delivered_through {
            let newly_failed = failed
                .iter()
                .filter(|&&f| f > e.delivered_through && f <= through)
                .count() as u64;
            let wanted = w
                .events
                .iter()
                .filter(|ev| ev.seq > e.delivered_through && ev.seq <= through)
                .filter(|ev| e.events.contains(&ev.kind))
                .count() as u64;
            e.delivered = e
                .delivered
                .saturating_add(wanted.saturating_sub(newly_failed));
            for &f in failed {
                if f > e.delivered_through && f <= through {
                    e.failed.push_back(f);
                    e.failed_total = e.failed_total.saturating_add(1);
                }
            }
            while e.failed.len() > FAILED_KEPT {
                e.failed.pop_front();
            }
            e.delivered_through = through;
        }
        w.prune();
        Ok(crate::view::Outcome::Webhook(self.endpoint_view(i)))
    }

    fn endpoint_view(&self, i: u32) -> EndpointView {
        let w = &self.state.webhooks;
        let e = &w.endpoints[i as usize];
        let pending = if e.active() {
            w.events
                .iter()
                .filter(|ev| ev.seq > e.delivered_through && e.events.contains(&ev.kind))
                .count() as u64
        } else {
            0
        };
        EndpointView {
            endpoint: i,
            url: e.url.clone(),
            events: e.events.clone(),
            created_at: e.created_at,
            removed_at: e.removed_at,
            delivered_through: e.delivered_through,
            delivered: e.delivered,
            pending,
            failed: e.failed.iter().copied().collect(),
            failed_total: e.failed_total,
        }
    }

    /// The event as receivers see it, read from state.
    fn resolve(&self, ev: &StoredEvent) -> Option<Event> {
        let billing = || {
            self.state
                .customers
                .get(ev.customer as usize)?
                .billing
                .as_deref()
        };
        let data = match ev.data {
            Stored::Invoice(i) => {
                let inv = billing()?.invoices.get(i as usize)?;
                EventData::Invoice {
                    number: inv.number.clone(),
                    product: inv.product,
                    month: inv.month,
                    issued_on: inv.issued_on,
                    due_on: inv.due_on,
                    amount: Yen::checked_sum([inv.purchases, inv.fee, inv.membership_fee])
                        .bounded("invoice amount"),
                }
            }
            Stored::Payment(pi) => {
                let p = self.state.payments.get(pi as usize)?;
                EventData::Payment {
                    payment: pi,
                    amount: p.amount,
                    applied: p.applied,
                    reference: p.reference.clone(),
                }
            }
            Stored::Reversal(pi) => {
                let p = self.state.payments.get(pi as usize)?;
                EventData::Reversal {
                    payment: pi,
                    amount: p.amount,
                    reason: p.reversed.as_ref().map(|r| r.reason.clone())?,
                }
            }
            Stored::CreditNote(n) => {
                let note = billing()?.credit_notes.get(n as usize)?;
                EventData::CreditNote {
                    number: note.number.clone(),
                    invoice: note.invoice.clone(),
                    amount: note.amount,
                    amount_after: note.amount_after,
                }
            }
            Stored::Overdue {
                first_missed_due,
                principal,
            } => EventData::Overdue {
                first_missed_due,
                principal,
            },
            Stored::Dunning(step) => EventData::Dunning(step),
            Stored::RiskAlert {
                orders,
                new_device,
                baseline_bp,
            } => EventData::RiskAlert(crate::risk::wave::WaveAlert {
                at: ev.at,
                orders,
                new_device,
                share_bp: crate::risk::wave::share_bp(new_device, orders),
                baseline_bp,
            }),
            Stored::LimitChanged { from, to, reason } => {
                EventData::LimitChanged { from, to, reason }
            }
            Stored::ModelDrift {
                model,
                shadow,
                day,
                scored,
                psi_micro,
            } => EventData::ModelDrift {
                model,
                shadow,
                day,
                scored: u64::from(scored),
                psi_micro: u64::from(psi_micro),
            },
            Stored::GiftCard(i) => {
                let c = self.state.gift_cards.cards.get(i as usize)?;
                EventData::GiftCard {
                    card: i,
                    order: c.order,
                    amount: c.amount,
                    state: c.state,
                    reason: c.history.iter().rev().find_map(|e| e.reason),
                }
            }
            Stored::WalletEntry { wallet, entry } => {
                let w = self.state.gift_cards.wallets.get(wallet as usize)?;
                let e = w.entries.get(entry as usize)?;
                EventData::WalletDebited {
                    wallet: w.id.clone(),
                    card: e.card,
                    amount: e.amount.checked_neg().ok()?,
                    balance_after: e.balance_after,
                    reason: e.reason,
                }
            }
            Stored::CustomerFrozen => {
                let frozen = self
                    .state
                    .lifecycle
                    .customer(ev.customer)
                    .and_then(|l| l.frozen.as_ref());
                EventData::CustomerFrozen {
                    frozen_at: frozen.map(|f| f.at),
                    reason: frozen.map(|f| f.reason.clone()),
                }
            }
        };
        Some(Event {
            seq: ev.seq,
            at: ev.at,
            kind: ev.kind,
            customer: ev.customer,
            data,
        })
    }

    /// Every endpoint, active and removed.
    pub fn webhook_endpoints(&self) -> Vec<EndpointView> {
        (0..id32(self.state.webhooks.endpoints.len()))
            .map(|i| self.endpoint_view(i))
            .collect()
    }

    /// Events dropped for want of room (see [`EVENTS_KEPT_MAX`]).
    pub fn webhook_events_dropped(&self) -> u64 {
        self.state.webhooks.dropped
    }

    /// Events held in the outbox now.
    pub fn webhook_events_held(&self) -> usize {
        self.state.webhooks.events.len()
    }

    /// The next events (at most `max`) for every active endpoint that has
    /// any waiting.
    pub fn webhook_batches(&self, max: usize) -> Vec<Batch> {
        let w = &self.state.webhooks;
        let mut out = Vec::new();
        for (i, e) in w.endpoints.iter().enumerate() {
            if !e.active() || e.delivered_through >= w.last_seq {
                continue;
            }
            let start = w.events.partition_point(|ev| ev.seq <= e.delivered_through);
            let mut events = Vec::new();
            let mut scanned_through = e.delivered_through;
            for ev in w.events.range(start..) {
                if events.len() >= max {
                    break;
                }
                scanned_through = ev.seq;
                if e.events.contains(&ev.kind)
                    && let Some(rich) = self.resolve(ev)
                {
                    events.push(rich);
                }
            }
            if scanned_through == e.delivered_through {
                // Everything it was behind on was dropped.
                scanned_through = w.last_seq;
            }
            out.push(Batch {
                endpoint: id32(i),
                url: e.url.clone(),
                key_nonce: e.key_nonce,
                after: e.delivered_through,
                events,
                scanned_through,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The outbox's memory bound rests on this: 4M events ≈ 200 MB.
    #[test]
    fn a_stored_event_is_small() {
        assert!(
            std::mem::size_of::<StoredEvent>() <= 48,
            "{} bytes",
            std::mem::size_of::<StoredEvent>()
        );
    }
}
