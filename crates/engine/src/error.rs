//! Errors of commands and queries. A command that returns an error changed
//! nothing. Each error carries a stable code and, where one field is at fault,
//! its name in the API's spelling.

use std::fmt;

/// The class of an error (decides the HTTP status).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input is well-formed but not acceptable (HTTP 422).
    Invalid,
    /// The thing does not exist or belongs to someone else (HTTP 404).
    NotFound,
    /// The request conflicts with current state (HTTP 409).
    Conflict,
    /// The caller may not do this (HTTP 403).
    Forbidden,
}

/// Why a command or query was refused; nothing changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandError {
    /// The class (HTTP status).
    pub kind: ErrorKind,
    /// Stable machine-readable code (`payment_exceeds_balance`, …).
    pub code: &'static str,
    /// The request field at fault, in the API's spelling.
    pub field: Option<&'static str>,
    /// A human-readable explanation.
    pub message: String,
}

impl CommandError {
    /// An error of `kind` with `code` and `message`, no field.
    pub fn new(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> Self {
        CommandError {
            kind,
            code,
            field: None,
            message: message.into(),
        }
    }

    /// Name the request field at fault.
    pub fn field(mut self, field: &'static str) -> Self {
        self.field = Some(field);
        self
    }

    /// 404: `what` does not exist or is not the caller's.
    pub fn not_found(code: &'static str, field: &'static str, what: &str) -> Self {
        CommandError::new(ErrorKind::NotFound, code, format!("{what} not found")).field(field)
    }

    /// 422: the value of `field` is not acceptable.
    pub fn invalid(code: &'static str, field: &'static str, message: impl Into<String>) -> Self {
        CommandError::new(ErrorKind::Invalid, code, message).field(field)
    }

    /// 409: the request conflicts with current state.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        CommandError::new(ErrorKind::Conflict, code, message)
    }

    /// 403: the caller may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        CommandError::new(ErrorKind::Forbidden, "forbidden", message)
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for CommandError {}
