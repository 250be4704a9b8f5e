//! TLS: the real binary with a self-signed certificate made at test time, a client that trusts
//! only that certificate, and refusals of plain HTTP and of untrusted clients.

mod common;

use common::{PASSWORD, Server, register_body, seed};
use reqwest::StatusCode;

#[tokio::test]
async fn serves_https_with_the_given_certificate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    seed(&data);
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .expect("certificate");
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).expect("write cert");
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).expect("write key");

    let server = Server::start(
        &data,
        &[
            "--tls-cert",
            cert_path.to_str().expect("path"),
            "--tls-key",
            key_path.to_str().expect("path"),
        ],
    );
    assert!(
        server.base.starts_with("https://127.0.0.1:"),
        "{}",
        server.base
    );

    let trusted = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).expect("pem")])
        .build()
        .expect("client");
    let res = trusted
        .get(server.url("/healthz"))
        .send()
        .await
        .expect("https");
    assert_eq!(res.status(), StatusCode::OK);
    // The whole API is there: register and whoami over TLS.
    let res = trusted
        .post(server.url("/auth/v1/register"))
        .json(&register_body(
            "olive",
            PASSWORD,
            "0191e5a0-0000-7000-8000-0000000000aa",
            3,
        ))
        .send()
        .await
        .expect("register");
    assert_eq!(res.status(), StatusCode::CREATED);
    let token = res.json::<serde_json::Value>().await.expect("json")["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let res = trusted
        .get(server.url("/auth/v1/whoami"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("whoami");
    assert_eq!(res.status(), StatusCode::OK);

    // A client that does not trust the certificate is refused by its own verifier...
    let other = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).expect("other");
    let untrusting = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(other.cert.pem().as_bytes()).expect("pem")])
        .build()
        .expect("client");
    assert!(untrusting.get(server.url("/healthz")).send().await.is_err());
    // ...and plain HTTP to the TLS port gets no answer.
    let plain = server.url("/healthz").replacen("https://", "http://", 1);
    let answer = reqwest::get(&plain).await;
    assert!(
        answer.as_ref().map_or(true, |r| !r.status().is_success()),
        "plain HTTP was served: {answer:?}"
    );
    // The server is still fine, and stops cleanly on SIGTERM.
    let res = trusted
        .get(server.url("/healthz"))
        .send()
        .await
        .expect("https");
    assert_eq!(res.status(), StatusCode::OK);
    let status = server.signal_and_wait("TERM");
    assert!(status.success(), "{status:?}");
}
