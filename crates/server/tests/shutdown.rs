//! Graceful shutdown in process: a request in flight when shutdown starts still gets its
//! answer, and `serve` then returns.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use tokio::sync::{Notify, oneshot};

#[tokio::test]
async fn an_in_flight_request_finishes_after_shutdown_starts() {
    let started = std::sync::Arc::new(Notify::new());
    let (release_tx, release_rx) = oneshot::channel::<()>();
    let release_rx = std::sync::Arc::new(tokio::sync::Mutex::new(Some(release_rx)));
    let router = {
        let started = started.clone();
        Router::new().route(
            "/slow",
            get(move || {
                let started = started.clone();
                let release = release_rx.clone();
                async move {
                    started.notify_one();
                    if let Some(rx) = release.lock().await.take() {
                        let _ = rx.await;
                    }
                    "finished"
                }
            }),
        )
    };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let server = tokio::spawn(fieldbook_server::http::serve(
        listener,
        router,
        None,
        async {
            let _ = stop_rx.await;
        },
    ));

    let request = tokio::spawn(async move {
        reqwest::get(format!("http://{addr}/slow"))
            .await
            .expect("send")
            .text()
            .await
            .expect("body")
    });
    started.notified().await;
    stop_tx.send(()).expect("stop");
    // Shutdown has begun; the server must not return while the request is open.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !server.is_finished(),
        "serve returned with a request in flight"
    );
    release_tx.send(()).expect("release");
    assert_eq!(request.await.expect("request task"), "finished");
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("serve returns once the request is done")
        .expect("task")
        .expect("serve");
    // And it no longer accepts connections.
    assert!(reqwest::get(format!("http://{addr}/slow")).await.is_err());
}
