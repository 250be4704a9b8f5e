//! Fieldbook's sync protocol (version 1): the wire types a device and the server exchange under
//! `/sync/v1/`, and the rules both ends apply to a case's automerge changes — which changes a
//! device may push (its own actors only), what a person's role lets those changes do to a case
//! (which cases, which fields, which status moves), and what to send a device that lacks
//! changes. The design and the reasons for it are in `docs/sync.md`.
//!
//! This crate is pure: bytes and values in, bytes and values out. It must not know HTTP, SQL,
//! Tauri or how either end stores anything; the server (`crates/server`) and the device
//! (`crates/store`, `crates/app`) call it inside their own transactions.

pub mod protocol;
pub mod rules;

pub use protocol::*;
pub use rules::{
    Applied, CaseMeta, Refusal, Rights, apply_push, changes_after, changes_since, heads_hex,
    parse_heads,
};
