//! The one HTTP error type: `{"error": {"code", "message", "field"}}` with a
//! status derived from the kind of failure. Internal causes are logged, never
//! sent.

use atobarai_engine::{CommandError, ErrorKind};
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    /// Every problem found in a submitted file (`rules_invalid`), each
    /// with its position.
    pub details: Option<Vec<ErrorPosition>>,
    /// With `not_leader`: the address of the node that leads.
    pub leader: Option<String>,
}

/// One problem in a submitted file (a rules file): 1-based line and column
/// (columns count characters) and what is wrong.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ErrorPosition {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case code, e.g. `idempotency_key_reused`.
    pub code: String,
    pub message: String,
    /// The field at fault, e.g. `items[0].unit_price`, where one is.
    pub field: Option<String>,
    /// With `rules_invalid`: every problem found in the file, in file
    /// order, each with its line and column. Absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub details: Option<Vec<ErrorPosition>>,
    /// With `not_leader`: the base URL of the node that takes writes, when
    /// known. Absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub leader: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            details: None,
            leader: None,
        }
    }

    pub fn field(mut self, field: impl Into<String>) -> ApiError {
        self.field = Some(field.into());
        self
    }

    /// The problems found in a submitted file, each with its position.
    pub fn details(mut self, details: Vec<ErrorPosition>) -> ApiError {
        self.details = Some(details);
        self
    }

    /// 422: well-formed but unacceptable input in `field`.
    pub fn invalid(
        code: &'static str,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message).field(field)
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid `Authorization: Bearer KEY` header is required",
        )
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn unavailable() -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the engine is shutting down or overloaded; retry with the same Idempotency-Key",
        )
    }

    pub fn internal(cause: &str) -> ApiError {
        tracing::error!(error = cause, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; retry with the same Idempotency-Key",
        )
    }
}

impl From<CommandError> for ApiError {
    fn from(e: CommandError) -> ApiError {
        let status = match e.kind {
            ErrorKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        };
        ApiError {
            status,
            code: e.code,
            message: e.message,
            field: e.field.map(str::to_string),
            details: None,
            leader: None,
        }
    }
}

impl From<crate::node::Unavailable> for ApiError {
    fn from(u: crate::node::Unavailable) -> ApiError {
        use crate::node::Unavailable;
        match u {
            Unavailable::Stopped => ApiError::unavailable(),
            Unavailable::JournalDown => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "journal_unavailable",
                "the journal cannot be written just now and nothing was kept; \
                 retry with the same Idempotency-Key",
            ),
            Unavailable::NotLeader(leader) => {
                let message = match &leader {
                    Some(at) => {
                        format!("this node follows the journal; send writes to the leader at {at}")
                    }
                    None => "this node follows the journal and no leader is known yet; \
                             retry shortly"
                        .to_string(),
                };
                ApiError {
                    leader,
                    ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_leader", message)
                }
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
                field: self.field,
                details: self.details,
                leader: self.leader,
            },
        };
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            // Every 503 is temporary: say when to come back.
            return (
                self.status,
                [(axum::http::header::RETRY_AFTER, "1")],
                Json(body),
            )
                .into_response();
        }
        (self.status, Json(body)).into_response()
    }
}
