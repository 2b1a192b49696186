//! Who may call what, declared once per group of routes: each `Require…`
//! extractor is a route layer (`middleware::from_extractor_with_state`) in
//! [`crate::routes`]. The layer authenticates the bearer key (401), checks
//! the key's role (403) and keeps the principal in the request's extensions
//! for the handler ([`crate::http::Caller`]); handlers check no role
//! themselves. The engine still checks ownership (a merchant sees only its
//! own customers and orders) and write access (analysts read only).
//!
//! | extractor                | admits                                    |
//! |--------------------------|-------------------------------------------|
//! | [`RequireMerchant`]      | merchant keys                             |
//! | [`RequireAccountAccess`] | merchant keys and admin or analyst keys   |
//! | [`RequireOperator`]      | admin or analyst operator keys            |
//! | [`RequireAdmin`]         | admin operator keys                       |
//! | [`RequirePaymentChannel`]| payments-role or admin operator keys      |
//!
//! A payments-role key (a payment channel) passes only
//! [`RequirePaymentChannel`].

use crate::error::ApiError;
use crate::http::AppState;
use atobarai_engine::{Principal, Role};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

/// The principal a role layer authenticated, kept in the extensions.
#[derive(Clone, Copy)]
struct Authenticated(Principal);

/// The caller's principal: the one a layer already authenticated, or the
/// bearer key checked now (401 when absent or unknown).
pub(crate) fn authenticate(parts: &mut Parts, app: &AppState) -> Result<Principal, ApiError> {
    if let Some(Authenticated(p)) = parts.extensions.get::<Authenticated>() {
        return Ok(*p);
    }
    let mut values = parts.headers.get_all(header::AUTHORIZATION).iter();
    let presented = values
        .next()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(ApiError::unauthorized)?;
    if values.next().is_some() {
        return Err(ApiError::unauthorized());
    }
    let principal = app
        .node
        .keys
        .authenticate(presented.trim())
        .ok_or_else(ApiError::unauthorized)?;
    parts.extensions.insert(Authenticated(principal));
    Ok(principal)
}

macro_rules! require {
    ($(#[$doc:meta])* $name:ident, $admits:expr, $message:literal) => {
        $(#[$doc])*
        pub struct $name;

        impl FromRequestParts<AppState> for $name {
            type Rejection = ApiError;

            async fn from_request_parts(
                parts: &mut Parts,
                app: &AppState,
            ) -> Result<Self, ApiError> {
                let principal = authenticate(parts, app)?;
                let admits: fn(Principal) -> bool = $admits;
                if admits(principal) {
                    Ok($name)
                } else {
                    Err(ApiError::forbidden($message))
                }
            }
        }
    };
}

require!(
    /// Merchant keys only (registering customers, authorizing orders).
    RequireMerchant,
    |p| matches!(p, Principal::Merchant(_)),
    "this route needs a merchant key"
);

require!(
    /// Merchants (their own customers and orders) and operators other than
    /// payment channels.
    RequireAccountAccess,
    |p| matches!(
        p,
        Principal::Merchant(_) | Principal::Operator(_, Role::Admin | Role::Analyst)
    ),
    "this route needs a merchant or operator key"
);

require!(
    /// Admin or analyst operator keys.
    RequireOperator,
    |p| matches!(p, Principal::Operator(_, Role::Admin | Role::Analyst)),
    "this route needs an operator key"
);

require!(
    /// Admin operator keys.
    RequireAdmin,
    |p| matches!(p, Principal::Operator(_, Role::Admin)),
    "this route needs an operator key with the admin role"
);

require!(
    /// Payment channels (payments-role operator keys) and admins.
    RequirePaymentChannel,
    |p| matches!(p, Principal::Operator(_, Role::Payments | Role::Admin)),
    "this route needs a payment-channel key (operator role payments) or an admin key"
);
