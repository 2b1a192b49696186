//! Billing routes beyond API.md's core: payment reversals, the paid tier,
//! payment plans, credit notes and webhook endpoints.

use crate::dto::customer_id;
use crate::error::{ApiError, ErrorBody};
use crate::http::{
    ApiBody, ApiPath, AppState, Caller, IdemKey, JsonBody, Reply, read, reply, submit,
};
use crate::render::{CreditNoteJson, Customer, Payment};
use crate::webhook::EndpointJson;
use atobarai_core::ids;
use atobarai_engine::billing::{PlanStatus, PlanView};
use atobarai_engine::webhook::EventKind;
use atobarai_engine::{Applied, Command, Idem, Outcome, prefix};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

const REASON_CHARS_MAX: usize = 200;
const URL_CHARS_MAX: usize = 2_048;

fn unexpected(other: &Applied) -> ApiError {
    ApiError::internal(&format!("unexpected outcome {other:?}"))
}

// ----- payment reversal -----------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReversePaymentBody {
    /// Why the channel returned the payment (e.g. `bank_debit_failed`).
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub reason: String,
}

/// A payment returned by its channel (failed bank debit, charge-back):
/// what it paid is owed again, points it earned are taken back.
#[utoipa::path(post, path = "/v1/payments/{id}/reversal", request_body = ReversePaymentBody,
    responses((status = 200, body = Payment), (status = "4XX", body = ErrorBody)))]
pub async fn reverse_payment(
    State(app): State<AppState>,
    caller: Caller,
    IdemKey(key): IdemKey,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<ReversePaymentBody>,
) -> Result<impl IntoResponse, ApiError> {
    let payment = ids::decode(prefix::PAYMENT, &id).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "payment_not_found",
            "payment not found",
        )
        .field("id")
    })?;
    let reason = crate::dto::text("reason", &body.reason, REASON_CHARS_MAX, true)?;
    let command = Command::ReversePayment {
        principal: caller.0,
        payment,
        reason,
    };
    crate::http::expect_payment(submit(&app, caller.0, key, command).await?)
}

// ----- paid tier ------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MembershipBody {
    /// `paid` (¥300 a month, points at 1.5 %) or `standard`.
    #[schema(pattern = "^(paid|standard)$")]
    pub tier: String,
}

/// Take the paid tier (from today; this month is billed in full on its
/// statement) or go back to standard (at the end of this month). Operator
/// keys only (the provider's app): merchants cannot enrol customers.
#[utoipa::path(post, path = "/v1/customers/{id}/membership", request_body = MembershipBody,
    responses((status = 200, body = Customer), (status = "4XX", body = ErrorBody)))]
pub async fn set_membership(
    State(app): State<AppState>,
    caller: Caller,
    IdemKey(key): IdemKey,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<MembershipBody>,
) -> Result<impl IntoResponse, ApiError> {
    let customer = customer_id("id", &id)?;
    let paid = match body.tier.as_str() {
        "paid" => true,
        "standard" => false,
        _ => {
            return Err(ApiError::invalid(
                "unknown_tier",
                "tier",
                "tier must be paid or standard",
            ));
        }
    };
    let command = Command::SetMembership {
        principal: caller.0,
        customer,
        paid,
    };
    crate::http::expect_customer(submit(&app, caller.0, key, command).await?, StatusCode::OK)
}

// ----- payment plans --------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentPlanBody {
    /// Number of monthly instalments (2–24).
    #[serde(deserialize_with = "crate::dto::whole::u32")]
    #[schema(minimum = 2, maximum = 24)]
    pub instalments: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InstalmentJson {
    pub number: u32,
    pub due_on: String,
    pub amount: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentPlanJson {
    pub customer: String,
    pub agreed_on: String,
    /// Everything owed when agreed (principal, fees, late fees, damages).
    pub debt: i64,
    /// Paid since.
    pub paid: i64,
    /// `active` (late fees and damages paused) | `completed` | `broken`
    /// (an instalment was missed; they run again).
    pub status: &'static str,
    pub status_on: String,
    pub instalments: Vec<InstalmentJson>,
}

impl ApiBody for PaymentPlanJson {}

impl From<&PlanView> for PaymentPlanJson {
    fn from(p: &PlanView) -> PaymentPlanJson {
        PaymentPlanJson {
            customer: ids::encode(prefix::CUSTOMER, u64::from(p.customer)),
            agreed_on: p.agreed_on.to_string(),
            debt: p.debt.get(),
            paid: p.paid.get(),
            status: match p.status {
                PlanStatus::Active => "active",
                PlanStatus::Completed => "completed",
                PlanStatus::Broken => "broken",
            },
            status_on: p.status_on.to_string(),
            instalments: p
                .instalments
                .iter()
                .map(|i| InstalmentJson {
                    number: i.number,
                    due_on: i.due_on.to_string(),
                    amount: i.amount.get(),
                })
                .collect(),
        }
    }
}

/// Agree a payment plan (operator key): what the customer owes today in
/// monthly instalments from next month. While instalments are paid on time,
/// late fees, delay damages and dunning pause.
#[utoipa::path(post, path = "/v1/customers/{id}/payment-plan", request_body = PaymentPlanBody,
    responses((status = 201, body = PaymentPlanJson), (status = "4XX", body = ErrorBody)))]
pub async fn agree_payment_plan(
    State(app): State<AppState>,
    caller: Caller,
    IdemKey(key): IdemKey,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<PaymentPlanBody>,
) -> Result<impl IntoResponse, ApiError> {
    let customer = customer_id("id", &id)?;
    let command = Command::AgreePaymentPlan {
        principal: caller.0,
        customer,
        instalments: body.instalments,
    };
    reply(
        submit(&app, caller.0, key, command).await?,
        StatusCode::CREATED,
        |o| match o {
            Outcome::Plan(v) => Some(PaymentPlanJson::from(v)),
            _ => None,
        },
    )
}

#[utoipa::path(get, path = "/v1/customers/{id}/payment-plan",
    responses((status = 200, body = PaymentPlanJson), (status = 404, body = ErrorBody)))]
pub async fn get_payment_plan(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<PaymentPlanJson>, ApiError> {
    let p = caller.0;
    read(&app, move |e| e.payment_plan(p, &id))
        .await??
        .map(|v| Json(PaymentPlanJson::from(&v)))
        .ok_or_else(|| {
            ApiError::new(StatusCode::NOT_FOUND, "no_payment_plan", "no payment plan").field("id")
        })
}

// ----- credit notes ---------------------------------------------------------

/// Credit notes: refunds of amounts already invoiced, oldest first.
#[utoipa::path(get, path = "/v1/customers/{id}/credit-notes",
    responses((status = 200, body = [CreditNoteJson]), (status = 404, body = ErrorBody)))]
pub async fn list_credit_notes(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Vec<CreditNoteJson>>, ApiError> {
    let p = caller.0;
    let notes = read(&app, move |e| e.credit_notes(p, &id)).await??;
    Ok(Json(notes.iter().map(CreditNoteJson::from).collect()))
}

// ----- webhook endpoints ----------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookBody {
    /// `https://…` (`http://` only when `webhooks.allow_http` is set).
    #[schema(max_length = 2048, pattern = "^https?://")]
    pub url: String,
    /// Any of `invoice.issued`, `payment.received`, `customer.overdue`,
    /// `payment.reversed`, `credit_note.issued`.
    #[schema(min_items = 1)]
    pub events: Vec<String>,
}

fn check_url(url: &str, allow_http: bool, allow_private: bool) -> Result<String, ApiError> {
    let bad = |why: &str| ApiError::invalid("invalid_url", "url", why);
    if url.chars().count() > URL_CHARS_MAX {
        return Err(bad("the URL is too long"));
    }
    let parsed = reqwest::Url::parse(url).map_err(|_| bad("not a URL"))?;
    match parsed.scheme() {
        "https" => {}
        "http" if allow_http => {}
        _ => return Err(bad("the URL must be https://")),
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad("the URL has no host"));
    }
    if !allow_private && crate::webhook::private_ip_literal(url) {
        return Err(bad(
            "the URL points to a private, loopback or link-local address",
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad(
            "credentials in the URL are not accepted; verify the signature instead",
        ));
    }
    Ok(parsed.to_string())
}

/// Subscribe an endpoint (admin key). The signing secret is in this
/// answer only; keep it to verify `Atobarai-Signature`.
#[utoipa::path(post, path = "/v1/admin/webhooks", request_body = CreateWebhookBody,
    responses((status = 201, body = EndpointJson), (status = "4XX", body = ErrorBody)))]
pub async fn create_webhook(
    State(app): State<AppState>,
    caller: Caller,
    IdemKey(key): IdemKey,
    JsonBody(body): JsonBody<CreateWebhookBody>,
) -> Result<impl IntoResponse, ApiError> {
    let url = check_url(
        &body.url,
        app.webhooks.allow_http,
        app.webhooks.allow_private_targets,
    )?;
    if body.events.is_empty() {
        return Err(ApiError::invalid(
            "no_events",
            "events",
            "subscribe to at least one event",
        ));
    }
    let mut events = Vec::with_capacity(body.events.len());
    for (i, name) in body.events.iter().enumerate() {
        let kind = EventKind::parse(name).ok_or_else(|| {
            ApiError::invalid("unknown_event", "events", format!("unknown event {name:?}"))
                .field(format!("events[{i}]"))
        })?;
        events.push(kind);
    }
    let key_nonce: [u8; 16] = rand::random();
    let secret = crate::webhook::endpoint_secret(&app.webhooks.signing_key, &key_nonce);
    // The fingerprint must not cover the random nonce, or a retry would
    // look like another request.
    let idem = Idem {
        principal: caller.0,
        key,
        request_hash: Command::AddWebhookEndpoint {
            url: url.clone(),
            key_nonce: [0; 16],
            events: events.clone(),
        }
        .fingerprint(),
    };
    let command = Command::AddWebhookEndpoint {
        url,
        key_nonce,
        events,
    };
    match app.node.submit(Some(idem), command).await {
        Err(u) => Err(u.into()),
        Ok(Err(e)) => Err(e.into()),
        Ok(Ok(Applied {
            outcome: Outcome::Webhook(v),
            changed,
        })) => {
            let mut body = EndpointJson::from(&v);
            body.secret = changed.then_some(secret);
            Ok(Reply {
                status: StatusCode::CREATED,
                replayed: !changed,
                body,
            })
        }
        Ok(Ok(other)) => Err(unexpected(&other)),
    }
}

/// Every endpoint with its delivery counts (operator key).
#[utoipa::path(get, path = "/v1/admin/webhooks", responses((status = 200, body = [EndpointJson])))]
pub async fn list_webhooks(
    State(app): State<AppState>,
) -> Result<Json<Vec<EndpointJson>>, ApiError> {
    let all = read(&app, |e| e.webhook_endpoints()).await?;
    Ok(Json(all.iter().map(EndpointJson::from).collect()))
}

/// Stop deliveries to an endpoint (admin key).
#[utoipa::path(delete, path = "/v1/admin/webhooks/{id}",
    responses((status = 200, body = EndpointJson), (status = "4XX", body = ErrorBody)))]
pub async fn delete_webhook(
    State(app): State<AppState>,
    caller: Caller,
    IdemKey(key): IdemKey,
    ApiPath(id): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    let endpoint = ids::decode(prefix::ENDPOINT, &id).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "endpoint_not_found",
            "endpoint not found",
        )
        .field("id")
    })?;
    let command = Command::RemoveWebhookEndpoint { endpoint };
    reply(
        submit(&app, caller.0, key, command).await?,
        StatusCode::OK,
        |o| match o {
            Outcome::Webhook(v) => Some(EndpointJson::from(v)),
            _ => None,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::check_url;

    #[test]
    fn endpoint_urls_must_be_public_https() {
        let refused = |url: &str| check_url(url, false, false).unwrap_err().field;
        for url in [
            "http://hooks.example.com/h",
            "https://10.0.0.5/h",
            "https://169.254.169.254/latest/meta-data",
            "https://localhost:8443/h",
            "https://user:pw@hooks.example.com/h",
            "ftp://hooks.example.com/h",
            "not a url",
        ] {
            assert_eq!(refused(url).as_deref(), Some("url"), "{url}");
        }
        assert!(check_url("https://hooks.example.com/atobarai", false, false).is_ok());
        assert!(check_url("http://127.0.0.1:9/h", true, true).is_ok());
    }
}
