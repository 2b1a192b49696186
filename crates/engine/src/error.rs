//! Errors of commands and queries. A command that returns an error changed
//! nothing. Each error carries a stable code and, where one field is at fault,
//! its name in the API's spelling.

use std::fmt;

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

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandError {
    pub kind: ErrorKind,
    pub code: &'static str,
    pub field: Option<&'static str>,
    pub message: String,
}

impl CommandError {
    pub fn new(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> Self {
        CommandError {
            kind,
            code,
            field: None,
            message: message.into(),
        }
    }

    pub fn field(mut self, field: &'static str) -> Self {
        self.field = Some(field);
        self
    }

    pub fn not_found(code: &'static str, field: &'static str, what: &str) -> Self {
        CommandError::new(ErrorKind::NotFound, code, format!("{what} not found")).field(field)
    }

    pub fn invalid(code: &'static str, field: &'static str, message: impl Into<String>) -> Self {
        CommandError::new(ErrorKind::Invalid, code, message).field(field)
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        CommandError::new(ErrorKind::Conflict, code, message)
    }

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
