//! `fieldbook-server`: the council's back-office server. It owns the server's side of the
//! product: accounts (teams, users with Argon2id password hashes, roles), device registration and
//! revocable bearer tokens (only their SHA-256 is stored), the HTTP API (axum, with or without
//! rustls TLS), and the server's storage behind the [`store::Store`] trait — an embedded SQLite
//! store by default, PostgreSQL later — including what sync needs: one automerge document per
//! case with a monotonic server sequence number, the heads each device is known to have, and the
//! batches already applied. It must not know Tauri, the UI or a device's storage: a device is
//! only what it sends over HTTP. Server nodes keep no per-connection state, so a second node over
//! the same database can serve the next request.

pub mod accounts;
pub mod attempts;
pub mod blobs;
pub mod cli;
pub mod http;
pub mod photos_api;
pub mod store;
pub mod sync_api;
