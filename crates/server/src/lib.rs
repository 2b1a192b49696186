//! `atobarai-server` is the shell around the engine: it owns I/O. It runs
//! the single engine thread and the journal writer ([`node`]), turns HTTP
//! requests into validated commands ([`http`]), authenticates callers,
//! enforces idempotency keys, and exports metrics.
//!
//! Architecture invariants:
//! - Nothing here decides credit: every decision is the engine's.
//! - Bad input is refused before a command is built; nothing refused is
//!   journaled.
//! - A response leaves only after the commands before it are durable.

pub mod auth;
pub mod documents;
pub mod dto;
pub mod error;
pub mod http;
pub mod http_billing;
pub mod http_console;
pub mod http_gift_cards;
pub mod http_lifecycle;
pub mod http_models;
pub mod http_privacy;
pub mod http_risk;
pub mod http_verifications;
pub mod identity;
pub mod metrics;
pub mod node;
pub mod openapi;
pub mod privacy;
pub mod render;
pub mod roles;
pub mod routes;
pub mod serve;
pub mod sms;
pub mod webhook;

pub use http::AppState;
pub use identity::IdentitySecret;
pub use node::{ClockMode, ClusterOptions, Node, NodeOptions, RoleView, StoreSpec, Unavailable};
pub use routes::router;
pub use serve::{ServeOptions, serve};
