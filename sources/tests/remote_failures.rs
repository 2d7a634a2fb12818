//! A remote that refuses, stalls or answers garbage gets its own SPEC §5 code, and no message names where it
//! lives: these go through real sockets, not through the classification alone.

use std::time::Duration;

use runtime_api::{ErrorCode, RuntimeId, RuntimeSource};
use sources::remote_http::{RemoteHttpSource, RemoteOptions, RemoteTimeouts};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn source(addr: std::net::SocketAddr) -> RemoteHttpSource {
    let timeouts = RemoteTimeouts::inside(Duration::from_millis(500), Duration::from_millis(500));
    RemoteHttpSource::new(RemoteOptions {
        runtime_id: RuntimeId::parse("dev").unwrap(),
        display_name: "Dev".into(),
        endpoint: format!("http://{addr}").parse().unwrap(),
        token_ref: None,
        ca_file: None,
        timeouts,
    })
    .unwrap()
}

/// A server that answers every connection with `reply` (or nothing, holding it open, when `None`).
async fn server(reply: Option<&'static [u8]>) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                match reply {
                    Some(reply) => {
                        let _ = socket.write_all(reply).await;
                    }
                    None => std::future::pending::<()>().await,
                }
            });
        }
    });
    addr
}

async fn failure(addr: std::net::SocketAddr) -> runtime_api::ApiError {
    let error = source(addr).summary().await.expect_err("the call fails");
    let shown = format!("{error} {:?}", error);
    for hidden in [addr.to_string(), addr.port().to_string(), "127.0.0.1".to_owned(), "http://".to_owned()] {
        assert!(!shown.contains(&hidden), "{hidden} in {shown}");
    }
    error
}

#[tokio::test]
async fn a_refused_connection_is_runtime_unavailable_naming_no_address() {
    // A privileged port nothing serves; releasing a bound port instead would race with other tests.
    let addr = "127.0.0.1:1".parse().unwrap();
    assert_eq!(failure(addr).await.code, ErrorCode::RuntimeUnavailable);
}

#[tokio::test]
async fn a_silent_remote_is_runtime_timeout_naming_no_address() {
    let addr = server(None).await;
    assert_eq!(failure(addr).await.code, ErrorCode::RuntimeTimeout);
}

#[tokio::test]
async fn garbage_is_runtime_protocol_error_naming_no_address() {
    let addr = server(Some(b"SSH-2.0-OpenSSH_9.6\r\n")).await;
    assert_eq!(failure(addr).await.code, ErrorCode::RuntimeProtocolError);
    let addr = server(Some(b"HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\nhello world")).await;
    assert_eq!(failure(addr).await.code, ErrorCode::RuntimeProtocolError);
}
