//! What one accepted connection does under the fault that was in force when it was accepted.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::sync::watch;

use super::{BAD_GATEWAY, Fault, GARBAGE, Shared, Stalls};

/// How long a one-off answer waits for the client to close before the proxy closes first.
const GARBAGE_DRAIN: Duration = Duration::from_secs(5);

/// How long the bytes before an injected reset get to leave the send queue, which a reset discards.
const RESET_SETTLE: Duration = Duration::from_millis(20);

/// Serves `client` under `fault` until it ends or `stop` changes (a cut, or the proxy dropped); a stall freezes it
/// where it is, sockets open, until then.
pub(super) async fn serve(
    client: TcpStream,
    fault: Fault,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<()>,
    mut stalls: Stalls,
) {
    // Errors are what injected faults provoke, so they only end the connection. Ending drops the sockets, which
    // closes both sides.
    let behaving = behave(client, fault, &shared);
    tokio::pin!(behaving);
    tokio::select! {
        _ = stop.changed() => return,
        _ = &mut behaving => return,
        _ = stalls.changed() => {}
    }
    // Stalled: the sockets live on inside the unfinished future, which is never polled again.
    let _ = stop.changed().await;
}

/// Does what `fault` says with `client`.
async fn behave(client: TcpStream, fault: Fault, shared: &Shared) -> io::Result<()> {
    match fault {
        Fault::Pass | Fault::Delay(_) => forward(client, shared, None).await,
        Fault::ResetMidResponse(limit) => forward(client, shared, Some(limit)).await,
        Fault::Blackhole => blackhole(client).await,
        Fault::Garbage => answer_once(client, GARBAGE).await,
        Fault::BadGateway => answer_once(client, BAD_GATEWAY).await,
        // The listener closes before Refuse is in force, so this only covers a connection accepted in between; a
        // reset is the nearest thing to a refusal once the handshake is done.
        Fault::Refuse => client.set_zero_linger(),
    }
}

/// Forwards both ways, resetting the client after `reset_after` bytes of answer when it is set.
async fn forward(mut client: TcpStream, shared: &Shared, reset_after: Option<usize>) -> io::Result<()> {
    let mut upstream = TcpStream::connect(shared.upstream()).await?;
    // Small answers must reach the client at once: a delay is measured per chunk, and a reset discards what the
    // kernel still holds back.
    client.set_nodelay(true)?;
    upstream.set_nodelay(true)?;
    // Borrowed halves, unlike owned ones, do not shut the write side down on drop, which would send a FIN ahead of
    // an injected reset.
    let (mut client_read, mut client_write) = client.split();
    let (mut upstream_read, mut upstream_write) = upstream.split();
    let requests = async {
        tokio::io::copy(&mut client_read, &mut upstream_write).await?;
        upstream_write.shutdown().await
    };
    let answers = answer(&mut upstream_read, &mut client_write, shared, reset_after);
    tokio::try_join!(requests, answers)?;
    Ok(())
}

/// Copies the upstream's answer to the client chunk by chunk, applying the current delay and the reset budget.
async fn answer(
    upstream: &mut ReadHalf<'_>,
    client: &mut WriteHalf<'_>,
    shared: &Shared,
    mut reset_after: Option<usize>,
) -> io::Result<()> {
    let mut buf = vec![0; 16 * 1024];
    loop {
        let read = upstream.read(&mut buf).await?;
        if read == 0 {
            return client.shutdown().await;
        }
        if let Fault::Delay(delay) = shared.fault() {
            tokio::time::sleep(delay).await;
        }
        match &mut reset_after {
            Some(left) if read >= *left => {
                client.write_all(&buf[..*left]).await?;
                tokio::time::sleep(RESET_SETTLE).await;
                // With a zero linger, closing the socket (when the caller drops it) sends RST instead of FIN.
                client.as_ref().set_zero_linger()?;
                return Err(io::Error::other("injected reset"));
            }
            Some(left) => {
                *left -= read;
                client.write_all(&buf[..read]).await?;
            }
            None => client.write_all(&buf[..read]).await?,
        }
    }
}

/// Reads and discards what the client sends, then holds the connection open until cut.
async fn blackhole(mut client: TcpStream) -> io::Result<()> {
    let mut buf = vec![0; 16 * 1024];
    while client.read(&mut buf).await? != 0 {}
    // Returning would close the socket, and a client that only shut its write side down would see that.
    std::future::pending().await
}

/// Answers the client's first bytes with `answer` and closes.
async fn answer_once(mut client: TcpStream, answer: &[u8]) -> io::Result<()> {
    let mut buf = vec![0; 16 * 1024];
    if client.read(&mut buf).await? == 0 {
        // The client left without asking anything, so there is nobody to answer.
        return Ok(());
    }
    client.write_all(answer).await?;
    client.shutdown().await?;
    // Closing with unread input would send RST instead of FIN, and the client could lose the garbage to it.
    let drain = async {
        while client.read(&mut buf).await? != 0 {}
        io::Result::Ok(())
    };
    tokio::time::timeout(GARBAGE_DRAIN, drain).await.unwrap_or(Ok(()))
}
