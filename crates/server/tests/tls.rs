//! The API over TLS with a certificate the node was given.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_https_with_the_configured_certificate() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();

    let mut config = shield_server::NodeConfig::default();
    config.server.listen = "127.0.0.1:0".to_owned();
    config.server.data_dir = dir.path().join("data");
    config.server.tls_cert = Some(cert_path);
    config.server.tls_key = Some(key_path.clone());
    let node = shield_server::start(
        config.clone(),
        Some("tls-admin-token-0123456789".to_owned()),
    )
    .await
    .unwrap();
    assert!(node.url().starts_with("https://"));
    let port = node.http_addr.port();

    let root = reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap();
    let client = reqwest::Client::builder()
        .tls_certs_only([root])
        .build()
        .unwrap();
    let r = client
        .get(format!("https://localhost:{port}/api/v1/stats"))
        .bearer_auth("tls-admin-token-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // A client that does not trust the certificate cannot talk to the node.
    let untrusting = reqwest::Client::builder().build().unwrap();
    assert!(
        untrusting
            .get(format!("https://localhost:{port}/healthz"))
            .send()
            .await
            .is_err()
    );
    // Plain HTTP on the TLS port gets no API answer.
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await;
    assert!(plain.map(|r| !r.status().is_success()).unwrap_or(true));
    node.stop().await;

    // A key that does not fit the certificate is refused at start, naming the problem.
    let other = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    std::fs::write(&key_path, other.signing_key.serialize_pem()).unwrap();
    let err = shield_server::start(config, None)
        .await
        .err()
        .expect("mismatched key must fail");
    assert!(err.to_string().contains("tls"), "{err}");
}
