//! What the device API's tests share: a device set up in a directory, on a clock that moves a
//! second per reading.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use fieldbook_app::{self as app, Ctx, InitArgs};
use fieldbook_core::Timestamp;

/// Jo Inspector's device (an officer, device 12), set up and unlocked in `dir`.
pub fn device(dir: &Path) -> Ctx {
    let t = Arc::new(AtomicI64::new(1_790_000_000_000));
    let ctx = Ctx::with_clock(
        dir,
        Box::new(move || Timestamp(t.fetch_add(1000, Ordering::SeqCst))),
    );
    app::init_device(
        &ctx,
        InitArgs {
            passphrase: "a long passphrase".into(),
            person_name: "Jo Inspector".into(),
            role: "officer".into(),
            device_number: 12,
        },
    )
    .unwrap();
    ctx
}
