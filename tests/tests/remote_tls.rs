//! `https` and `wss` to a remote runtime whose certificate is trusted only through the configured extra CA
//! file — a certificate generated here.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use runtime_api::{ErrorCode, EventBody, InputRequest, RuntimeId, RuntimeSource, StreamFrame};
use runtime_core::{MemoryStore, ProfileSet, Runtime, RuntimeConfig};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use sources::remote_http::{RemoteHttpSource, RemoteOptions, RemoteTimeouts};

/// Serves a runtime over TLS with a fresh self-signed certificate for `localhost`; returns its port and the
/// certificate in PEM.
async fn serve_tls() -> (u16, String) {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(generated.signing_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![generated.cert.der().clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let config = RuntimeConfig::new(RuntimeId::parse("secure").unwrap(), "Secure");
    let profiles =
        ProfileSet::from_toml("[[profiles]]\nname = \"default\"\nexecutor = \"echo\"\nchunk_delay_ms = 0\n").unwrap();
    let runtime = Runtime::start(config, profiles, Arc::new(MemoryStore::new())).await.unwrap();
    let app = runtime_core::server::router(runtime, None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { return };
            let (acceptor, app) = (acceptor.clone(), app.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else { return };
                let service = TowerToHyperService::new(app);
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection_with_upgrades(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    (port, generated.cert.pem())
}

fn source(port: u16, ca_file: Option<std::path::PathBuf>) -> RemoteHttpSource {
    RemoteHttpSource::new(RemoteOptions {
        runtime_id: RuntimeId::parse("secure").unwrap(),
        display_name: "Secure".into(),
        endpoint: format!("https://localhost:{port}").parse().unwrap(),
        token_ref: None,
        ca_file,
        timeouts: RemoteTimeouts::default(),
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_and_wss_work_with_the_configured_ca_and_fail_without_it() {
    let (port, pem) = serve_tls().await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, pem).unwrap();

    let trusted = source(port, Some(ca));
    assert!(trusted.summary().await.unwrap().protocol.is_compatible());
    let worker = trusted.create(Default::default()).await.unwrap().summary.worker_id;
    let mut events = trusted.subscribe(Default::default()).await.unwrap();
    assert!(matches!(events.next().await, Some(StreamFrame::Snapshot(_))));
    trusted.input(&worker, InputRequest::user("over tls")).await.unwrap();
    let completed = async {
        while let Some(frame) = events.next().await {
            if let StreamFrame::Event { event } = frame
                && matches!(event.body, EventBody::TurnCompleted { .. })
            {
                return;
            }
        }
        panic!("the wss stream ended");
    };
    tokio::time::timeout(Duration::from_secs(10), completed).await.expect("events arrive over wss");

    let untrusted = source(port, None);
    let error = untrusted.summary().await.unwrap_err();
    assert_eq!(error.code, ErrorCode::RuntimeUnavailable);
    assert!(error.message.contains("TLS"), "{error}");
    assert!(!error.message.contains(&port.to_string()), "{error}");
}

#[test]
fn an_unusable_ca_file_is_refused_at_set_up() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, "not a certificate").unwrap();
    let error = RemoteHttpSource::new(RemoteOptions {
        runtime_id: RuntimeId::parse("x").unwrap(),
        display_name: "X".into(),
        endpoint: "https://localhost:1".parse().unwrap(),
        token_ref: None,
        ca_file: Some(ca),
        timeouts: RemoteTimeouts::default(),
    })
    .err()
    .expect("refused");
    assert!(error.to_string().contains("CA certificate"), "{error}");
}
