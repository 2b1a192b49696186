//! Personal data at rest (issue 12, item 4): registrations sealed before
//! they are journaled, operators reading a customer's personal data, and
//! erasure on request (crypto-shredding). The crypto is in
//! [`crate::privacy`]; the engine only stores ciphertext.
//!
//! | route | who |
//! |---|---|
//! | `GET /v1/admin/customers/{id}/personal-data` | operators (admin, analyst) |
//! | `POST /v1/admin/customers/{id}/erasure` | admin |

use crate::dto::customer_id;
use crate::error::{ApiError, ErrorBody};
use crate::http::{ApiBody, ApiPath, AppState, Caller, IdemKey, Reply, expect_customer, read};
use crate::privacy::{Privacy, PrivacyError};
use crate::roles::{RequireAdmin, RequireOperator};
use atobarai_engine::{Applied, Command, Idem, PersonalData, Principal};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use serde::Serialize;
use std::sync::Arc;

/// The privacy routes, each behind its role layer. Merged into the API's
/// router by [`crate::routes::router`].
pub fn router(app: &AppState) -> Router<AppState> {
    let read = Router::new()
        .route(
            "/v1/admin/customers/{id}/personal-data",
            get(get_personal_data),
        )
        .route_layer(middleware::from_extractor_with_state::<
            RequireOperator,
            AppState,
        >(app.clone()));
    let erase = Router::new()
        .route(
            "/v1/admin/customers/{id}/erasure",
            post(erase_personal_data),
        )
        .route_layer(middleware::from_extractor_with_state::<
            RequireAdmin,
            AppState,
        >(app.clone()));
    read.merge(erase)
}

fn vault_error(e: &PrivacyError) -> ApiError {
    tracing::error!(error = %e, "key vault");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "vault_unavailable",
        "the key vault could not be reached; retry with the same Idempotency-Key",
    )
}

pub(crate) async fn blocking<R: Send + 'static>(
    f: impl FnOnce() -> R + Send + 'static,
) -> Result<R, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(&format!("blocking task: {e}")))
}

/// Register with the personal fields sealed (the shell's path when
/// sealing is configured): a new data key in the vault first, then the
/// sealed command; a refused command or a replayed key leaves no key behind.
pub(crate) async fn register_sealed(
    app: &AppState,
    privacy: &Arc<Privacy>,
    principal: Principal,
    key: String,
    clear: Command,
) -> Result<Reply<crate::render::Customer>, ApiError> {
    // The engine's day (its clock never goes back, so the day it stamps
    // the registration with is no earlier) and the age rule in force: the
    // birth date the engine sees is coarsened against them.
    // The consent age is a verdict on the birth date too: a date coarsened
    // across it could ask an adult for a parent's consent, so the coarse
    // date must pass the higher of the two (or the exact date is sent).
    let (today, age_min) = read(app, |e| {
        let c = e.config();
        (
            e.now().jst_date(),
            c.credit.age_years_min.max(c.lifecycle.consent_below_years),
        )
    })
    .await?;
    let (p, secret) = (privacy.clone(), app.identity.clone());
    let sealed = blocking(move || p.seal_registration(clear, &secret, today, age_min))
        .await?
        .map_err(|e| match e {
            PrivacyError::Vault(_) => vault_error(&e),
            other => ApiError::internal(&other.to_string()),
        })?;
    let idem = Idem {
        principal,
        key,
        request_hash: sealed.request_hash,
    };
    let subject = sealed.subject;
    let submitted = app.node.submit(Some(idem), sealed.command).await;
    let refused = matches!(submitted, Ok(Err(_)));
    let answer = match submitted {
        Err(u) => Err(ApiError::from(u)),
        Ok(Err(e)) => Err(e.into()),
        Ok(Ok(applied)) => Ok(applied),
    };
    // Shred the key just made only when the command surely seals nothing
    // in the journal: the engine refused it, or answered a retry from the
    // first request. When the outcome is unknown (the node could not
    // answer), the record may be durable: keep the key (at worst unused).
    let unused = match &answer {
        Ok(Applied { changed, .. }) => !changed,
        Err(_) => refused,
    };
    if unused {
        let p = privacy.clone();
        if let Ok(Err(e)) = blocking(move || p.shred(&subject)).await {
            tracing::warn!(error = %e, "an unused data key stays in the vault");
        }
    }
    expect_customer(answer?, StatusCode::CREATED)
}

/// A customer's personal data, as an operator reads it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PersonalDataJson {
    /// The customer's public id.
    pub customer: String,
    /// The merchant's own id for the customer.
    pub external_id: String,
    /// `sealed` (encrypted at rest), `clear` (registered before sealing)
    /// or `erased` (erased on request, or its data key shredded).
    pub state: &'static str,
    /// The key-encryption key wrapping the customer's data key (sealed only).
    pub key_id: Option<String>,
    /// When the erasure was journaled (erased only; `null` when the key
    /// was shredded but the erasure is not journaled yet).
    pub erased_at: Option<String>,
    /// The personal fields (`null` once erased).
    pub profile: Option<ProfileJson>,
}

/// The personal fields of a registration.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ProfileJson {
    pub name: String,
    pub name_kana: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    pub phone: String,
    pub email: String,
    pub postal_code: String,
    pub address: String,
}

impl ApiBody for PersonalDataJson {}

async fn personal_data(
    app: &AppState,
    principal: Principal,
    id: String,
) -> Result<PersonalDataJson, ApiError> {
    let customer = id.clone();
    let data = read(app, move |e| e.personal_data(principal, &id)).await??;
    let rendered = match data {
        PersonalData::Clear(p) => PersonalDataJson {
            customer,
            external_id: p.external_id,
            state: "clear",
            key_id: None,
            erased_at: None,
            profile: Some(ProfileJson {
                name: p.name,
                name_kana: p.name_kana,
                birth_date: p.birth_date.to_string(),
                phone: p.phone,
                email: p.email,
                postal_code: p.postal_code,
                address: p.address,
            }),
        },
        PersonalData::Erased { external_id, at } => PersonalDataJson {
            customer,
            external_id,
            state: "erased",
            key_id: None,
            erased_at: Some(at.to_rfc3339_jst()),
            profile: None,
        },
        PersonalData::Sealed {
            external_id, pii, ..
        } => {
            let Some(privacy) = app.identity.privacy().cloned() else {
                return Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "sealing_not_configured",
                    "this server has no keyring to open sealed personal data",
                ));
            };
            match blocking(move || privacy.open(&pii)).await? {
                Ok((f, kek)) => PersonalDataJson {
                    customer,
                    external_id,
                    state: "sealed",
                    key_id: Some(kek),
                    erased_at: None,
                    profile: Some(ProfileJson {
                        name: f.name,
                        name_kana: f.name_kana,
                        birth_date: f.birth_date,
                        phone: f.phone,
                        email: f.email,
                        postal_code: f.postal_code,
                        address: f.address,
                    }),
                },
                Err(PrivacyError::Shredded) => PersonalDataJson {
                    customer,
                    external_id,
                    state: "erased",
                    key_id: None,
                    erased_at: None,
                    profile: None,
                },
                Err(e @ (PrivacyError::UnknownKek(_) | PrivacyError::Corrupt(_))) => {
                    tracing::error!(error = %e, "sealed personal data does not open");
                    return Err(ApiError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "personal_data_unreadable",
                        "the customer's data key does not open with this keyring",
                    ));
                }
                Err(e) => return Err(vault_error(&e)),
            }
        }
    };
    Ok(rendered)
}

/// A customer's personal data (decrypted for the operator).
#[utoipa::path(get, path = "/v1/admin/customers/{id}/personal-data",
    responses((status = 200, body = PersonalDataJson), (status = "4XX", body = ErrorBody)))]
pub async fn get_personal_data(
    axum::extract::State(app): axum::extract::State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<PersonalDataJson>, ApiError> {
    personal_data(&app, caller.0, id).await.map(Json)
}

/// Erase a customer's personal data on request: its data key is shredded
/// (the sealed record in the journal can never be read again), then the
/// erasure is journaled (the engine drops the ciphertext or clear profile
/// from its state). Orders, payments, the ledger and identity links stay.
/// Answers the customer account, as `GET /v1/customers/{id}`.
#[utoipa::path(post, path = "/v1/admin/customers/{id}/erasure", request_body = crate::dto::EmptyBody,
    responses((status = 200, body = crate::render::Customer), (status = "4XX", body = ErrorBody)))]
pub async fn erase_personal_data(
    axum::extract::State(app): axum::extract::State<AppState>,
    caller: Caller,
    IdemKey(key): IdemKey,
    ApiPath(id): ApiPath<String>,
    crate::http::JsonBody(_): crate::http::JsonBody<crate::dto::EmptyBody>,
) -> Result<impl IntoResponse, ApiError> {
    let principal = caller.0;
    let customer = customer_id("id", &id)?;
    let data = read(&app, move |e| e.personal_data(principal, &id)).await??;
    if let PersonalData::Sealed { pii, .. } = data {
        // Shred first: once the key is gone nothing can bring the data
        // back, whatever happens to the command after.
        let Some(privacy) = app.identity.privacy().cloned() else {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "sealing_not_configured",
                "this server has no key vault to shred the customer's data key in",
            ));
        };
        blocking(move || privacy.shred(&pii.subject))
            .await?
            .map_err(|e| vault_error(&e))?;
    }
    let command = Command::EraseCustomerPii {
        principal,
        customer,
    };
    let applied = crate::http::submit(&app, principal, key, command).await?;
    expect_customer(applied, StatusCode::OK)
}
