//! Contact verification over HTTP (API.md "Customer lifecycle"): sign-up
//! SMS codes and verified changes of phone or e-mail.
//!
//! | route | who |
//! |---|---|
//! | `POST /v1/verifications` | merchant keys (their sign-up app) and admin operators |
//! | `POST /v1/verifications/{id}/confirm` | the merchant that started it, admin operators |
//! | `GET /v1/verifications/{id}` | the merchant that started it, operators |
//! | `POST /v1/customers/{id}/contact` | the customer's merchant, admin operators |
//!
//! Analysts pass the role layer (they read verifications) but the engine
//! refuses their writes (403); payment-channel keys are refused (403).
//!
//! `POST /v1/verifications` draws a 6-digit code, journals
//! `StartVerification` with the code's keyed hash (`sms.code_secret`) and
//! the identity keys of the phone (or e-mail) and of the end user's IP
//! network (`ip` in the body: the address the sign-up app saw; else the
//! caller's own address), and only once that is durable hands the message
//! to the gateway. A send that fails answers `502 sms_unavailable`: the
//! verification stays journaled (it counts against the hourly limits, so a
//! failing gateway cannot be used to flood) but its code was never
//! delivered and exists nowhere else (only its keyed hash is kept), so it
//! cannot be confirmed except by a guess, which the attempt limit bounds;
//! the client starts a new one under a new `Idempotency-Key`. A retry with
//! the same key answers the first verification again (`201`, marked as a
//! replay) and sends nothing: after a `502` that verification's code was
//! never delivered, so the same key must not be reused to ask again.

use crate::dto::customer_id;
use crate::error::{ApiError, ErrorBody};
use crate::http::{ApiBody, ApiPath, AppState, Caller, IdemKey, JsonBody, read, reply, submit};
use crate::http_gift_cards::PeerAddr;
use crate::sms::Message;
use atobarai_core::ids;
use atobarai_engine::{Command, ContactKind, Idem, Outcome, VerificationView, prefix};
use atobarai_identity::{Kind, normalize};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

// ----- wire types ------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerificationBody {
    /// The phone number to verify (a Japanese number as typed): the code
    /// goes by SMS. Exactly one of `phone` and `email`.
    #[schema(max_length = 64)]
    pub phone: Option<String>,
    /// The e-mail address to verify (contact changes): the code goes by
    /// e-mail.
    #[schema(max_length = 254)]
    pub email: Option<String>,
    /// The end user's IP address as the sign-up app saw it (default: the
    /// caller's address). Limits count per network (/24, IPv6 /64).
    #[schema(max_length = 64)]
    pub ip: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct VerificationStarted {
    /// `ver_…`.
    pub id: String,
    /// `phone` or `email`.
    pub channel: &'static str,
    pub expires_at: String,
}
impl ApiBody for VerificationStarted {}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmBody {
    /// The 6-digit code received.
    #[schema(max_length = 16)]
    pub code: String,
}

#[derive(Serialize, ToSchema)]
pub struct ConfirmResult {
    /// The code was right.
    pub verified: bool,
    /// Wrong codes still allowed.
    pub attempts_left: u32,
}
impl ApiBody for ConfirmResult {}

#[derive(Serialize, ToSchema)]
pub struct VerificationJson {
    pub id: String,
    /// `phone` or `email`.
    pub channel: &'static str,
    pub created_at: String,
    pub expires_at: String,
    pub attempts_left: u32,
    pub verified_at: Option<String>,
    /// The customer whose sign-up or contact change used it.
    pub used_by: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactChangeBody {
    /// A confirmed, unused verification (`ver_…`) of the new phone or e-mail.
    pub verification: String,
}

#[derive(Serialize, ToSchema)]
pub struct ContactChanged {
    pub customer: String,
    /// `phone` or `email`.
    pub changed: &'static str,
    pub changed_at: String,
}
impl ApiBody for ContactChanged {}

// ----- helpers ---------------------------------------------------------------

fn verification_id(field: &'static str, id: &str) -> Result<u64, ApiError> {
    ids::decode(prefix::VERIFICATION, id).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "verification_not_found",
            "verification not found",
        )
        .field(field)
    })
}

/// The engine's refusals with the statuses the contract gives them.
fn verification_error(e: ApiError) -> ApiError {
    match e.code {
        "verification_rate_limited" => ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            ..e
        },
        "verification_expired" => ApiError {
            status: StatusCode::GONE,
            ..e
        },
        _ => e,
    }
}

fn view_json(v: &VerificationView) -> VerificationJson {
    VerificationJson {
        id: ids::encode(prefix::VERIFICATION, v.verification),
        channel: v.channel.as_str(),
        created_at: v.created_at.to_rfc3339_jst(),
        expires_at: v.expires_at.to_rfc3339_jst(),
        attempts_left: v.attempts_left,
        verified_at: v.verified_at.map(|t| t.to_rfc3339_jst()),
        used_by: v.used_by.map(|c| ids::encode(prefix::CUSTOMER, c)),
    }
}

/// The target: its kind, normalized form (where the message goes) and key.
fn target(
    app: &AppState,
    body: &VerificationBody,
) -> Result<(ContactKind, String, atobarai_engine::KeyHash), ApiError> {
    let (kind, n) = match (&body.phone, &body.email) {
        (Some(p), None) => {
            let n = normalize(Kind::Phone, p);
            if !crate::identity::phone_is_acceptable(&n) {
                return Err(ApiError::invalid(
                    "invalid_phone",
                    "phone",
                    "phone must be a Japanese phone number that can be dialled",
                ));
            }
            (ContactKind::Phone, n)
        }
        (None, Some(e)) => {
            let n = normalize(Kind::Email, e);
            if !n.is_valid() {
                return Err(ApiError::invalid(
                    "invalid_email",
                    "email",
                    "email is not a valid address",
                ));
            }
            (ContactKind::Email, n)
        }
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "invalid_target",
                "email",
                "give either phone or email, not both",
            ));
        }
        (None, None) => {
            return Err(ApiError::invalid(
                "missing_field",
                "phone",
                "phone is required (or email)",
            ));
        }
    };
    let field = kind.as_str();
    let key = app.identity.contact_key(kind, &n).ok_or_else(|| {
        ApiError::invalid("invalid_target", field, format!("this {field} has no key"))
    })?;
    let to = n.canonical.unwrap_or_default();
    Ok((kind, to, key))
}

// ----- handlers ---------------------------------------------------------------

/// Send a verification code to a phone (SMS) or e-mail address.
#[utoipa::path(post, path = "/v1/verifications", request_body = VerificationBody,
    params(("Idempotency-Key" = String, Header, description = "unique per request")),
    responses((status = 201, body = VerificationStarted),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 409, description = "idempotency_key_reused", body = ErrorBody),
        (status = 422, description = "invalid_phone, invalid_email, invalid_ip", body = ErrorBody),
        (status = 429, description = "verification_rate_limited (field phone, email or ip)", body = ErrorBody),
        (status = 502, description = "sms_unavailable: the gateway refused or did not answer", body = ErrorBody)))]
pub async fn start(
    State(app): State<AppState>,
    caller: Caller,
    peer: Option<axum::Extension<PeerAddr>>,
    IdemKey(key): IdemKey,
    JsonBody(body): JsonBody<VerificationBody>,
) -> Result<Response, ApiError> {
    let (channel, to, target) = target(&app, &body)?;
    let ip = match &body.ip {
        Some(ip) => Some(
            ip.trim()
                .parse::<std::net::IpAddr>()
                .map_err(|_| ApiError::invalid("invalid_ip", "ip", "ip is not an IP address"))?,
        ),
        None => peer.map(|axum::Extension(PeerAddr(a))| a.ip()),
    };
    let ip = ip.and_then(|ip| app.identity.session_keys("", &ip.to_string()).ip);
    let shell = app.node.verifications.clone();
    let code = shell.draw_code();
    let principal = caller.0;
    let command = |code: [u8; 32]| Command::StartVerification {
        principal,
        channel,
        target,
        code,
        ip,
    };
    // The fingerprint must not cover the random code, or a retry would look
    // like a different request.
    let idem = Idem {
        principal,
        key,
        request_hash: command([0; 32]).fingerprint(),
    };
    let applied = match app
        .node
        .submit(Some(idem), command(shell.hash(&code)))
        .await
    {
        Err(u) => return Err(u.into()),
        Ok(Err(e)) => return Err(verification_error(e.into())),
        Ok(Ok(a)) => a,
    };
    let fresh = applied.changed;
    let r = reply(applied, StatusCode::CREATED, |o| match o {
        Outcome::Verification(v) => Some(VerificationStarted {
            id: ids::encode(prefix::VERIFICATION, v.verification),
            channel: v.channel.as_str(),
            expires_at: v.expires_at.to_rfc3339_jst(),
        }),
        _ => None,
    })?;
    if fresh {
        // Durable: now the code may leave.
        let ttl = app
            .node
            .read(|e| e.config().lifecycle.verification_ttl_secs)
            .await
            .unwrap_or(600);
        let message = Message {
            to,
            text: shell.text(&code, ttl),
            code,
        };
        let gateway = match channel {
            ContactKind::Phone => shell.sms(),
            ContactKind::Email => shell.mail(),
        };
        if let Err(e) = gateway.send(&message).await {
            tracing::warn!(error = %e, driver = gateway.driver(), "a verification code could not be sent");
            return Err(ApiError::new(
                StatusCode::BAD_GATEWAY,
                "sms_unavailable",
                "the code could not be sent; start a new verification later",
            )
            .field(channel.as_str()));
        }
    }
    let mut response = r.into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Confirm a verification's code. A wrong code answers `verified: false`
/// and spends one attempt.
#[utoipa::path(post, path = "/v1/verifications/{id}/confirm", request_body = ConfirmBody,
    params(("id" = String, Path, description = "ver_…"),
        ("Idempotency-Key" = String, Header, description = "unique per request")),
    responses((status = 200, body = ConfirmResult),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, description = "verification_not_found", body = ErrorBody),
        (status = 409, description = "verification_used, verification_attempts_exhausted, idempotency_key_reused", body = ErrorBody),
        (status = 410, description = "verification_expired", body = ErrorBody),
        (status = 422, description = "invalid_code (not 6 digits)", body = ErrorBody)))]
pub async fn confirm(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    IdemKey(key): IdemKey,
    JsonBody(body): JsonBody<ConfirmBody>,
) -> Result<Response, ApiError> {
    let verification = verification_id("id", &id)?;
    let code = body.code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::invalid(
            "invalid_code",
            "code",
            "code is the 6 digits received",
        ));
    }
    let command = Command::ConfirmVerification {
        principal: caller.0,
        verification,
        code: app.node.verifications.hash(code),
    };
    let applied = submit(&app, caller.0, key, command)
        .await
        .map_err(verification_error)?;
    Ok(reply(applied, StatusCode::OK, |o| match o {
        Outcome::VerificationChecked {
            verified,
            attempts_left,
            ..
        } => Some(ConfirmResult {
            verified: *verified,
            attempts_left: *attempts_left,
        }),
        _ => None,
    })?
    .into_response())
}

/// A verification's state.
#[utoipa::path(get, path = "/v1/verifications/{id}",
    params(("id" = String, Path, description = "ver_…")),
    responses((status = 200, body = VerificationJson),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, description = "verification_not_found", body = ErrorBody),
        (status = 410, description = "verification_expired (no longer kept)", body = ErrorBody)))]
pub async fn get(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::Json<VerificationJson>, ApiError> {
    let verification = verification_id("id", &id)?;
    let p = caller.0;
    let v = read(&app, move |e| e.verification(p, verification))
        .await?
        .map_err(|e| verification_error(e.into()))?;
    Ok(axum::Json(view_json(&v)))
}

/// Change a customer's phone or e-mail to a verified one.
#[utoipa::path(post, path = "/v1/customers/{id}/contact", request_body = ContactChangeBody,
    params(("id" = String, Path, description = "cus_…"),
        ("Idempotency-Key" = String, Header, description = "unique per request")),
    responses((status = 200, body = ContactChanged),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, description = "customer_not_found, verification_not_found", body = ErrorBody),
        (status = 409, description = "verification_used, verification_unconfirmed, phone_registered, idempotency_key_reused", body = ErrorBody),
        (status = 410, description = "verification_expired", body = ErrorBody)))]
pub async fn change_contact(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    IdemKey(key): IdemKey,
    JsonBody(body): JsonBody<ContactChangeBody>,
) -> Result<Response, ApiError> {
    let customer = customer_id("id", &id)?;
    let verification = verification_id("verification", &body.verification)?;
    let command = Command::ChangeContact {
        principal: caller.0,
        customer,
        verification,
    };
    let applied = submit(&app, caller.0, key, command)
        .await
        .map_err(verification_error)?;
    Ok(reply(applied, StatusCode::OK, |o| match o {
        Outcome::ContactChanged {
            customer,
            channel,
            at,
        } => Some(ContactChanged {
            customer: ids::encode(prefix::CUSTOMER, *customer),
            changed: channel.as_str(),
            changed_at: at.to_rfc3339_jst(),
        }),
        _ => None,
    })?
    .into_response())
}

/// The routes, with their role layers.
pub fn routes(app: &AppState) -> axum::Router<AppState> {
    use crate::roles::RequireAccountAccess;
    use axum::routing::{get as get_route, post};
    axum::Router::new()
        .route("/v1/verifications", post(start))
        .route("/v1/verifications/{id}", get_route(get))
        .route("/v1/verifications/{id}/confirm", post(confirm))
        .route("/v1/customers/{id}/contact", post(change_contact))
        .route_layer(axum::middleware::from_extractor_with_state::<
            RequireAccountAccess,
            AppState,
        >(app.clone()))
}
