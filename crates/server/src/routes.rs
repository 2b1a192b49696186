//! The router: one router per area of the API, each declaring who may call
//! it with a role layer ([`crate::roles`]), merged into one. Errors the
//! framework produces itself (unknown path, method not allowed, a body or
//! path it refuses) leave in the API's one error shape.

use crate::error::ApiError;
use crate::http::{self, AppState, read};
use crate::http_billing as billing;
use crate::http_console as console;
use crate::http_gift_cards as gift_cards;
use crate::http_models as models;
use crate::http_risk as risk;
use crate::roles::{
    RequireAccountAccess, RequireAdmin, RequireMerchant, RequireOperator, RequirePaymentChannel,
};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router, middleware};

/// `route_layer` admitting only the callers `R` admits.
macro_rules! only {
    ($router:expr, $role:ty, $app:expr) => {
        $router.route_layer(middleware::from_extractor_with_state::<$role, AppState>(
            $app.clone(),
        ))
    };
}

/// Customers: merchants register them; merchants and operators read and
/// change them (the engine shows a merchant only its own).
fn customers(app: &AppState) -> Router<AppState> {
    let register = only!(
        Router::new().route("/v1/customers", post(http::create_customer)),
        RequireMerchant,
        app
    );
    let accounts = only!(
        Router::new()
            .route("/v1/customers/{id}", get(http::get_customer))
            .route("/v1/customers/{id}/balance", get(http::get_balance))
            .route(
                "/v1/customers/{id}/points/redeem",
                post(http::redeem_points)
            )
            .route(
                "/v1/customers/{id}/payment-method",
                post(http::set_payment_method),
            ),
        RequireAccountAccess,
        app
    );
    let identity = only!(
        Router::new().route("/v1/customers/{id}/identity", get(http::get_identity)),
        RequireOperator,
        app
    );
    register.merge(accounts).merge(identity)
}

/// Orders: merchants authorize; merchants and operators read, capture,
/// cancel and refund (the engine checks ownership and write access).
fn orders(app: &AppState) -> Router<AppState> {
    let authorize = only!(
        Router::new().route("/v1/authorizations", post(http::create_authorization)),
        RequireMerchant,
        app
    );
    let lifecycle = only!(
        Router::new()
            .route("/v1/orders/{id}", get(http::get_order))
            .route("/v1/orders/{id}/capture", post(http::capture_order))
            .route("/v1/orders/{id}/cancel", post(http::cancel_order))
            .route("/v1/orders/{id}/refunds", post(http::refund_order)),
        RequireAccountAccess,
        app
    );
    authorize.merge(lifecycle)
}

/// Payments: reported and reversed by payment channels (or an admin).
fn payments(app: &AppState) -> Router<AppState> {
    only!(
        Router::new()
            .route("/v1/payments", post(http::create_payment))
            .route("/v1/payments/{id}/reversal", post(billing::reverse_payment)),
        RequirePaymentChannel,
        app
    )
}

/// Billing and collections: invoices, credit notes and payment plans are
/// read by merchants and operators; plans and the paid tier are the
/// provider's (operators).
fn billing(app: &AppState) -> Router<AppState> {
    let reads = only!(
        Router::new()
            .route("/v1/customers/{id}/invoices", get(http::list_invoices))
            .route("/v1/invoices/{number}", get(http::get_invoice))
            .route(
                "/v1/customers/{id}/credit-notes",
                get(billing::list_credit_notes),
            )
            .route(
                "/v1/customers/{id}/payment-plan",
                get(billing::get_payment_plan),
            ),
        RequireAccountAccess,
        app
    );
    let provider = only!(
        Router::new()
            .route(
                "/v1/customers/{id}/payment-plan",
                post(billing::agree_payment_plan),
            )
            .route(
                "/v1/customers/{id}/membership",
                post(billing::set_membership),
            ),
        RequireOperator,
        app
    );
    reads.merge(provider)
}

/// Operators: the clock, suspensions, reviews and merchants. Analysts read;
/// admins change.
fn admin(app: &AppState) -> Router<AppState> {
    let reads = only!(
        Router::new()
            .route("/v1/admin/clock", get(http::get_clock))
            .route("/v1/admin/journal", get(journal_state))
            .route("/v1/admin/suspensions", get(http::list_suspensions)),
        RequireOperator,
        app
    );
    let changes = only!(
        Router::new()
            .route("/v1/admin/clock", post(http::set_clock))
            .route("/v1/admin/suspensions", post(http::create_suspension))
            .route("/v1/admin/suspensions/{id}", delete(http::lift_suspension))
            .route("/v1/admin/orders/{id}/review", post(http::review_order))
            .route("/v1/admin/merchants", post(http::create_merchant)),
        RequireAdmin,
        app
    );
    reads.merge(changes)
}

/// Webhook endpoints: operators list them, admins subscribe and remove.
fn webhooks(app: &AppState) -> Router<AppState> {
    let reads = only!(
        Router::new().route("/v1/admin/webhooks", get(billing::list_webhooks)),
        RequireOperator,
        app
    );
    let changes = only!(
        Router::new()
            .route("/v1/admin/webhooks", post(billing::create_webhook))
            .route("/v1/admin/webhooks/{id}", delete(billing::delete_webhook)),
        RequireAdmin,
        app
    );
    reads.merge(changes)
}

/// Risk rule sets: operators read them, admins put one in force (with a
/// body limit of its own: a rules file may exceed the API's usual body).
fn risk_rules(app: &AppState) -> Router<AppState> {
    let reads = only!(
        Router::new()
            .route("/v1/admin/rules", get(risk::list_rules))
            .route("/v1/admin/rules/{version}", get(risk::get_rules)),
        RequireOperator,
        app
    );
    let changes = only!(
        Router::new().route(
            "/v1/admin/rules",
            put(risk::put_rules).layer(DefaultBodyLimit::max(risk::PUT_RULES_BODY_MAX)),
        ),
        RequireAdmin,
        app
    );
    reads.merge(changes)
}

/// Credit scorecards: operators list them, admins load one.
fn risk_models(app: &AppState) -> Router<AppState> {
    let reads = only!(
        Router::new()
            .route("/v1/admin/models", get(models::list_models))
            .route("/v1/admin/models/{version}/drift", get(models::model_drift)),
        RequireOperator,
        app
    );
    let changes = only!(
        Router::new().route(
            "/v1/admin/models",
            put(models::put_model).layer(DefaultBodyLimit::max(models::PUT_MODEL_BODY_MAX)),
        ),
        RequireAdmin,
        app
    );
    reads.merge(changes)
}

/// Console listings, paged by cursor: merchants and operators list a
/// customer's orders and look up by the merchant's own ids (the engine shows
/// a merchant only its own); the review queue is the operators'.
fn console(app: &AppState) -> Router<AppState> {
    let lists = only!(
        Router::new()
            .route("/v1/customers", get(console::find_customers))
            .route(
                "/v1/customers/{id}/orders",
                get(console::list_customer_orders),
            )
            .route("/v1/orders", get(console::find_orders)),
        RequireAccountAccess,
        app
    );
    let reviews = only!(
        Router::new().route("/v1/admin/reviews", get(console::list_reviews)),
        RequireOperator,
        app
    );
    lists.merge(reviews)
}

/// The customer lifecycle: a customer's own channel (its merchant's key)
/// or an admin issues payment codes and freezes; admins lift freezes and
/// settle held sign-ups; the eKYC vendor's callback authenticates itself
/// (an admin key held by the integration, or a signature).
fn lifecycle(app: &AppState) -> Router<AppState> {
    use crate::http_lifecycle as l;
    let accounts = only!(
        Router::new()
            .route("/v1/customers/{id}/lifecycle", get(l::get_lifecycle))
            .route(
                "/v1/customers/{id}/payment-codes",
                post(l::create_payment_code)
            )
            .route("/v1/customers/{id}/freeze", post(l::freeze)),
        RequireAccountAccess,
        app
    );
    let admin = only!(
        Router::new()
            .route("/v1/customers/{id}/freeze", delete(l::unfreeze))
            .route(
                "/v1/admin/customers/{id}/sign-up-review",
                post(l::resolve_signup_review),
            ),
        RequireAdmin,
        app
    );
    let vendor = Router::new().route("/v1/customers/{id}/ekyc", post(l::ekyc_callback));
    accounts.merge(admin).merge(vendor)
}

/// Gift cards: the issuer (a merchant key) redeems codes into wallets and
/// files appeals; merchants and operators read wallets, cards and appeals
/// (the engine shows a merchant only its own); admins revoke and decide.
fn gift_cards(app: &AppState) -> Router<AppState> {
    let issuer = only!(
        Router::new()
            .route("/v1/gift-cards/redeem", post(gift_cards::redeem))
            .route("/v1/gift-cards/appeals", post(gift_cards::create_appeal))
            .route("/v1/wallets/{id}/purchases", post(gift_cards::spend)),
        RequireMerchant,
        app
    );
    let reads = only!(
        Router::new()
            .route("/v1/wallets/{id}", get(gift_cards::get_wallet))
            .route("/v1/gift-cards/{id}", get(gift_cards::get_gift_card))
            .route("/v1/gift-cards/appeals", get(gift_cards::list_appeals))
            .route("/v1/gift-cards/appeals/{id}", get(gift_cards::get_appeal))
            .route(
                "/v1/orders/{id}/gift-cards",
                get(gift_cards::list_order_gift_cards),
            ),
        RequireAccountAccess,
        app
    );
    let admin = only!(
        Router::new()
            .route(
                "/v1/admin/gift-cards/revocations",
                post(gift_cards::create_revocation),
            )
            .route(
                "/v1/admin/gift-cards/revocations/{preview}/confirm",
                post(gift_cards::confirm_revocation),
            )
            .route(
                "/v1/admin/gift-cards/appeals/{id}/decision",
                post(gift_cards::decide_appeal),
            ),
        RequireAdmin,
        app
    );
    issuer.merge(reads).merge(admin)
}

/// Unauthenticated: the OpenAPI document, health and metrics.
fn meta() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi_json))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
}

async fn healthz(State(app): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let (applied, now) = read(&app, |e| (e.applied(), e.now())).await?;
    let role = app.node.role();
    Ok(Json(serde_json::json!({
        "status": "ok",
        "journal_seq": applied,
        "now": now.to_rfc3339_jst(),
        "role": role.role,
        "epoch": role.epoch,
        "leader": role.leader,
        "lag_records": role.lag,
    })))
}

/// This node's view of the journal: how far its state has applied it, the
/// state's digest there (equal on every node that applied as far: the
/// engine is deterministic), and its part in a shared journal.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct JournalState {
    /// The last journal record the state includes.
    pub journal_seq: u64,
    /// SHA-256 of the state (hex), as `atobarai verify` prints it.
    pub digest: String,
    /// `leader`, `follower` or `recovering`.
    pub role: String,
    /// The epoch of the lead held or followed (0: an unshared journal).
    pub epoch: u64,
    /// The leader's address, when another node leads.
    pub leader: Option<String>,
    /// Journal records not yet applied by this node.
    pub lag_records: u64,
}

#[utoipa::path(get, path = "/v1/admin/journal", responses((status = 200, body = JournalState)))]
pub async fn journal_state(State(app): State<AppState>) -> Result<Json<JournalState>, ApiError> {
    let (journal_seq, digest) = read(&app, |e| (e.applied(), e.digest())).await?;
    let role = app.node.role();
    Ok(Json(JournalState {
        journal_seq,
        digest: hex::encode(digest),
        role: role.role.to_string(),
        epoch: role.epoch,
        leader: role.leader,
        lag_records: role.lag,
    }))
}

async fn metrics(State(app): State<AppState>) -> impl IntoResponse {
    // The risk rules' hit counts and the models' drift are the engine's:
    // read them (on the reader, like any read, in one trip) just before
    // rendering.
    if let Ok((hits, drift)) = read(&app, |e| {
        (crate::http_risk::hits_in_force(e), e.drift_now())
    })
    .await
    {
        app.node.metrics.set_risk_rule_hits(hits);
        app.node.metrics.set_model_drift(drift);
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.node.metrics.render(),
    )
}

async fn openapi_json() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi::document(),
    )
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "route_not_found", "no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take this method; see the Allow header",
    )
}

/// The last line of defence for the one error shape: an error response that
/// is not JSON (one the framework or a layer built) is rewritten as
/// `{"error": {"code", "message", "field"}}`, keeping its status and headers.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "route_not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid",
        StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        s if s.is_server_error() => "internal",
        _ => "client_error",
    };
    let message = status.canonical_reason().unwrap_or("error").to_string();
    let mut rebuilt = ApiError::new(status, code, message).into_response();
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in parts.headers.iter() {
        rebuilt.headers_mut().append(name.clone(), value.clone());
    }
    rebuilt
}

pub fn router(app: AppState) -> Router {
    let body_max = app.limits.request_body_bytes_max;
    Router::new()
        .merge(customers(&app))
        .merge(orders(&app))
        .merge(payments(&app))
        .merge(billing(&app))
        .merge(admin(&app))
        .merge(webhooks(&app))
        .merge(console(&app))
        .merge(risk_rules(&app))
        .merge(risk_models(&app))
        .merge(crate::http_privacy::router(&app))
        .merge(gift_cards(&app))
        .merge(crate::http_verifications::routes(&app))
        .merge(lifecycle(&app))
        .merge(meta())
        // After the role layers: a method the path does not take is a 405
        // whoever calls (the layers wrap only the methods a route takes).
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(body_max))
        .layer(middleware::map_response(json_errors))
        .with_state(app)
}
