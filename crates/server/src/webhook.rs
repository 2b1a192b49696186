//! Webhook delivery: signs the engine's outbox events and POSTs them to each
//! subscribed endpoint, in order, retrying with backoff.
//!
//! Signature: every request carries
//! `Atobarai-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` where the MAC
//! is over the bytes `"<t>." + body` with the endpoint's secret. A receiver
//! recomputes it, compares in constant time and refuses a `t` more than
//! five minutes away from its own clock ([`verify`]), so a captured request
//! cannot be replayed later. `t` is the time of each attempt (a retry is
//! signed afresh).
//!
//! Delivery is at-least-once and ordered per endpoint: the head event is
//! retried after each wait of `webhooks.retry_backoff_ms` (default about
//! three days in all) and then given up (listed as failed on the endpoint);
//! later events wait behind it. After each batch the dispatcher journals
//! [`Command::WebhooksDelivered`], so a restart resumes after the last
//! acknowledged event; events sent but not yet acknowledged are sent again
//! (receivers deduplicate by `Atobarai-Event-Id`). Retry timers are not
//! journaled: after a restart the head event is tried at once.

use crate::node::Node;
use atobarai_core::config::WebhookConfig;
use atobarai_core::ids;
use atobarai_engine::webhook::{Batch, Event, EventData};
use atobarai_engine::{Command, prefix};
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Header with the signature.
pub const SIGNATURE_HEADER: &str = "atobarai-signature";
/// How far a signature's timestamp may be from the receiver's clock.
pub const TOLERANCE_SECS: i64 = 300;
/// Events sent to one endpoint per round.
const BATCH_MAX: usize = 100;

/// The signature header value for `body` sent at `timestamp` (unix s).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac(secret, timestamp, body))
    )
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> [u8; 32] {
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m.finalize().into_bytes().into()
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("malformed signature header")]
    Malformed,
    #[error("timestamp outside the tolerance")]
    Stale,
    #[error("signature does not match")]
    Mismatch,
}

/// Check a received webhook (what a receiver does; also used by our tests).
/// `now` is the receiver's clock in unix seconds.
pub fn verify(
    secret: &str,
    header: &str,
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<(), VerifyError> {
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => sigs.push(hex::decode(v).map_err(|_| VerifyError::Malformed)?),
            _ => {}
        }
    }
    let t = t.ok_or(VerifyError::Malformed)?;
    if sigs.is_empty() {
        return Err(VerifyError::Malformed);
    }
    if (now - t).abs() > tolerance_secs {
        return Err(VerifyError::Stale);
    }
    let expected = mac(secret, t, body);
    use subtle::ConstantTimeEq;
    if sigs
        .iter()
        .any(|s| s.len() == 32 && bool::from(s.as_slice().ct_eq(&expected)))
    {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

/// The public id of event `seq`.
pub fn event_id(seq: u64) -> String {
    ids::encode(prefix::EVENT, seq)
}

/// The JSON body of one event.
pub fn payload(e: &Event) -> Vec<u8> {
    let data = match &e.data {
        EventData::Invoice {
            number,
            product,
            month,
            issued_on,
            due_on,
            amount,
        } => json!({
            "invoice": number,
            "product": product.as_str(),
            "month": month.map(|m| m.to_string()),
            "issued_on": issued_on.to_string(),
            "due_on": due_on.to_string(),
            "amount": amount.get(),
        }),
        EventData::Payment {
            payment,
            amount,
            applied,
            reference,
        } => json!({
            "payment_id": ids::encode(prefix::PAYMENT, u64::from(*payment)),
            "amount": amount.get(),
            "applied": applied.get(),
            "reference": reference,
        }),
        EventData::Overdue {
            first_missed_due,
            principal,
        } => json!({
            "first_missed_due": first_missed_due.to_string(),
            "overdue_principal": principal.get(),
        }),
        EventData::Reversal {
            payment,
            amount,
            reason,
        } => json!({
            "payment_id": ids::encode(prefix::PAYMENT, u64::from(*payment)),
            "amount": amount.get(),
            "reason": reason,
        }),
        EventData::CreditNote {
            number,
            invoice,
            amount,
            amount_after,
        } => json!({
            "credit_note": number,
            "invoice": invoice,
            "amount": amount.get(),
            "purchases_after": amount_after.get(),
        }),
    };
    serde_json::to_vec(&json!({
        "id": event_id(e.seq),
        "type": e.kind.as_str(),
        "created_at": e.at.to_rfc3339_jst(),
        "customer": ids::encode(prefix::CUSTOMER, u64::from(e.customer)),
        "data": data,
    }))
    .expect("JSON values serialize")
}

/// Retry state of one endpoint's head event.
#[derive(Default)]
struct Backoff {
    /// Failed attempts of the head event so far.
    failures: usize,
    head: u64,
    not_before: Option<Instant>,
}

/// The delivery loop; returns when `stop` fires.
pub async fn run(
    node: Arc<Node>,
    cfg: WebhookConfig,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_millis(cfg.timeout_ms.max(1)))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("atobarai-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhooks: no HTTP client; deliveries stopped");
            return;
        }
    };
    let mut backoff: HashMap<u32, Backoff> = HashMap::new();
    loop {
        let batches = match node.read(|e| e.webhook_batches(BATCH_MAX)).await {
            Ok(b) => b,
            Err(_) => return,
        };
        let mut progressed = false;
        let mut rounds = tokio::task::JoinSet::new();
        for batch in batches {
            let state = backoff.remove(&batch.endpoint).unwrap_or_default();
            if state.not_before.is_some_and(|t| Instant::now() < t) {
                backoff.insert(batch.endpoint, state);
                continue;
            }
            let (client, cfg) = (client.clone(), cfg.clone());
            rounds.spawn(async move { deliver_batch(&client, &cfg, batch, state).await });
        }
        while let Some(done) = rounds.join_next().await {
            let Ok((endpoint, state, ack)) = done else {
                continue;
            };
            if let Some((through, failed)) = ack {
                progressed = true;
                let command = Command::WebhooksDelivered {
                    endpoint: u64::from(endpoint),
                    through,
                    failed,
                };
                match node.submit(None, command).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => tracing::warn!(error = %e, "webhooks: acknowledgement refused"),
                    Err(_) => return,
                }
            }
            backoff.insert(endpoint, state);
        }
        let wait = if progressed {
            Duration::from_millis(10)
        } else {
            Duration::from_millis(200)
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Send one endpoint's batch in order. Returns the new retry state and, if
/// anything is done, `(through, given_up)` to acknowledge.
async fn deliver_batch(
    client: &reqwest::Client,
    cfg: &WebhookConfig,
    batch: Batch,
    mut state: Backoff,
) -> (u32, Backoff, Option<(u64, Vec<u64>)>) {
    let mut done_through = None;
    let mut failed = Vec::new();
    for e in &batch.events {
        if state.head != e.seq {
            state = Backoff {
                head: e.seq,
                ..Backoff::default()
            };
        }
        let body = payload(e);
        match post(client, &batch, e, body).await {
            Ok(()) => {
                done_through = Some(e.seq);
                state = Backoff::default();
            }
            Err(why) => {
                state.failures += 1;
                if state.failures > cfg.retry_backoff_ms.len() {
                    tracing::warn!(endpoint = batch.endpoint, event = e.seq, %why,
                        "webhooks: giving up after every retry");
                    failed.push(e.seq);
                    done_through = Some(e.seq);
                    state = Backoff::default();
                    continue;
                }
                let wait = cfg.retry_backoff_ms[state.failures - 1];
                tracing::debug!(endpoint = batch.endpoint, event = e.seq, %why, wait_ms = wait,
                    "webhooks: delivery failed; will retry");
                state.not_before = Some(Instant::now() + Duration::from_millis(wait));
                return (batch.endpoint, state, done_through.map(|t| (t, failed)));
            }
        }
    }
    // Everything in the batch is done; events of kinds the endpoint does
    // not take are passed over too.
    let through = batch.scanned_through;
    (batch.endpoint, state, Some((through, failed)))
}

async fn post(
    client: &reqwest::Client,
    batch: &Batch,
    e: &Event,
    body: Vec<u8>,
) -> Result<(), String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let signature = sign(&batch.secret, now, &body);
    let response = client
        .post(&batch.url)
        .header("content-type", "application/json")
        .header("atobarai-event-id", event_id(e.seq))
        .header("atobarai-event-type", e.kind.as_str())
        .header(SIGNATURE_HEADER, signature)
        .body(body)
        .send()
        .await
        .map_err(|err| err.to_string())?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("HTTP {}", response.status()))
    }
}

/// An endpoint as operators see it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct EndpointJson {
    pub id: String,
    pub url: String,
    pub events: Vec<&'static str>,
    pub created_at: String,
    pub removed_at: Option<String>,
    /// Events delivered so far.
    pub delivered: u64,
    /// Events waiting.
    pub pending: u64,
    /// Ids of events given up after every retry (most recent).
    pub failed: Vec<String>,
    pub failed_total: u64,
    /// The signing secret: returned once, when the endpoint is created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl From<&atobarai_engine::webhook::EndpointView> for EndpointJson {
    fn from(v: &atobarai_engine::webhook::EndpointView) -> EndpointJson {
        EndpointJson {
            id: ids::encode(prefix::ENDPOINT, u64::from(v.endpoint)),
            url: v.url.clone(),
            events: v.events.iter().map(|k| k.as_str()).collect(),
            created_at: v.created_at.to_rfc3339_jst(),
            removed_at: v.removed_at.map(atobarai_core::At::to_rfc3339_jst),
            delivered: v.delivered,
            pending: v.pending,
            failed: v.failed.iter().map(|&s| event_id(s)).collect(),
            failed_total: v.failed_total,
            secret: None,
        }
    }
}

impl crate::http::ApiBody for EndpointJson {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_round_trip_and_refusals() {
        let secret = "whsec_0123456789abcdef0123456789abcdef";
        let body = br#"{"id":"evt_x"}"#;
        let h = sign(secret, 1_800_000_000, body);
        assert!(h.starts_with("t=1800000000,v1="));
        assert_eq!(
            verify(secret, &h, body, 1_800_000_100, TOLERANCE_SECS),
            Ok(())
        );
        assert_eq!(
            verify(secret, &h, b"{}", 1_800_000_000, TOLERANCE_SECS),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(
                "another-secret-another-secret-xx",
                &h,
                body,
                1_800_000_000,
                300
            ),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(secret, &h, body, 1_800_000_301, TOLERANCE_SECS),
            Err(VerifyError::Stale)
        );
        assert_eq!(
            verify(secret, "v1=00", body, 1_800_000_000, 300),
            Err(VerifyError::Malformed)
        );
        assert_eq!(
            verify(secret, "t=1800000000,v1=zz", body, 1_800_000_000, 300),
            Err(VerifyError::Malformed)
        );
        // A timestamp moved by an attacker breaks the MAC.
        let moved = h.replacen("t=1800000000", "t=1800000200", 1);
        assert_eq!(
            verify(secret, &moved, body, 1_800_000_200, TOLERANCE_SECS),
            Err(VerifyError::Mismatch)
        );
    }

    /// A fixed vector (computed with Python's `hmac` module), so receivers
    /// in other languages can check their code against ours.
    #[test]
    fn known_vector() {
        assert_eq!(
            sign("whsec_test", 1_800_000_000, br#"{"id":"evt_1"}"#),
            "t=1800000000,v1=45705be2a45ab5acdd1395cc695e9e7073125385ec24194921c401dff44176f8"
        );
    }
}
