//! Billing rules (in progress).
