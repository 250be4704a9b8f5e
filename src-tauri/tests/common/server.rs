//! A real Fieldbook server for the shell's tests: `fieldbook-server`'s own router over its
//! embedded store in a temporary directory, served on 127.0.0.1:0 from a thread of this test
//! process (the server crate is a dev-dependency; its binary is not built for this package).
//! Seeded like the server's tests: team North, officers `olive` and `owen`, leader `lena`.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use fieldbook_core::Role;
use fieldbook_server::accounts::Accounts;
use fieldbook_server::http::{self, AppState};
use fieldbook_server::store::{self, Location};

pub const PASSWORD: &str = "correct horse battery";

pub struct TestServer {
    pub url: String,
    pub addr: SocketAddr,
    pub accounts: Accounts,
    data: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: Option<tempfile::TempDir>,
}

impl TestServer {
    /// A seeded server in a fresh temporary directory on a free loopback port.
    pub fn start() -> TestServer {
        Self::start_with(|a| a)
    }

    /// [`TestServer::start`] with its accounts changed by `setup` (a token lifetime, say).
    pub fn start_with(setup: impl FnOnce(Accounts) -> Accounts) -> TestServer {
        let dir = tempfile::Builder::new()
            .prefix("fieldbook-test-server-")
            .tempdir()
            .unwrap();
        let data = dir.path().join("data");
        let accounts =
            setup(Accounts::new(store::open(&Location::Data(data.clone())).unwrap()).unwrap());
        accounts.add_team("North").unwrap();
        for (name, role) in [
            ("olive", Role::Officer),
            ("owen", Role::Officer),
            ("lena", Role::TeamLeader),
        ] {
            accounts
                .add_user(name, role, Some("North"), PASSWORD)
                .unwrap();
        }
        let mut s = Self::serve(data, accounts, "127.0.0.1:0".parse().unwrap());
        s._dir = Some(dir);
        s
    }

    fn serve(data: PathBuf, accounts: Accounts, addr: SocketAddr) -> TestServer {
        let listener = std::net::TcpListener::bind(addr).unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        // Photo blobs in the data directory, as `serve --data DIR` keeps them.
        let blobs = fieldbook_server::blobs::Blobs::local(&data.join("blobs")).unwrap();
        let router = http::router(AppState {
            accounts: accounts.clone(),
            blobs: Some(blobs),
        });
        let thread = std::thread::Builder::new()
            .name(format!("fieldbook-server {addr}"))
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(http::serve(listener, router, None, async {
                    let _ = stopped.await;
                }))
                .unwrap();
            })
            .unwrap();
        TestServer {
            url: format!("http://{addr}"),
            addr,
            accounts,
            data,
            stop: Some(stop),
            thread: Some(thread),
            _dir: None,
        }
    }

    pub fn data(&self) -> &Path {
        &self.data
    }

    /// Stop serving (the port closes: devices find the server unreachable). Its data stays.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }

    /// Serve again on the same address, over the same data.
    pub fn restart(&mut self) {
        self.stop();
        let dir = self._dir.take();
        let mut again = Self::serve(self.data.clone(), self.accounts.clone(), self.addr);
        again._dir = dir;
        *self = again;
    }

    /// Revoke the device with this id, with `reason` (what the device is shown).
    pub fn revoke(&self, device_id: &str, reason: &str) {
        self.accounts.revoke(device_id, reason).unwrap();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
    }
}
