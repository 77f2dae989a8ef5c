//! The client side, for `roam status` and `roam events`.

use std::{io, path::Path, time::Duration};

use anyhow::{anyhow, bail, Context as _, Result};
use serde_json::Value;
use tokio::{
    io::{AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufReader},
    net::UnixStream,
    time::timeout,
};

use roam_proto::{Request, Status};

use super::{path::iface_of, protocol::reply_error};

/// How long `roam status` waits for the agent: it answers from memory, so a wait this long
/// means it is stuck, and the user should hear so rather than see a hung command.
const STATUS_TIMEOUT: Duration = Duration::from_secs(5);

/// Asks the agent listening at `path` for its status.
pub async fn fetch_status(path: &Path) -> Result<Status> {
    let exchange = async {
        let mut reply = send_request(path, Request::Status).await?;
        let mut line = String::new();
        if reply.read_line(&mut line).await.context("reading the status")? == 0 {
            bail!("the roam agent at {} closed the connection without answering", path.display());
        }
        parse_status_reply(&line)
    };
    timeout(STATUS_TIMEOUT, exchange).await.map_err(|_| {
        anyhow!("the roam agent at {} did not answer within {STATUS_TIMEOUT:?}", path.display())
    })?
}

/// Copies the agent's event stream to `out`, one JSON object per line, flushing each line,
/// until the agent closes the stream (or `out` is closed, e.g. `roam events | head`).
///
/// The first line is the server's `{"event":"subscribed",...}`: from then on no event is missed.
pub async fn stream_events(path: &Path, mut out: impl AsyncWrite + Unpin) -> Result<()> {
    let mut reply = send_request(path, Request::Events).await?;
    let mut line = String::new();
    let mut first = true;
    loop {
        line.clear();
        if reply.read_line(&mut line).await.context("reading events")? == 0 {
            return Ok(());
        }
        if std::mem::take(&mut first) {
            if let Ok(value) = serde_json::from_str::<Value>(&line) {
                if let Some(message) = reply_error(&value) {
                    bail!("the roam agent refused to stream events: {message}");
                }
            }
        }
        if !line.ends_with('\n') {
            line.push('\n');
        }
        match write_line(&mut out, &line).await {
            // The reader went away: that ends the stream, it is not a failure.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
            result => result.context("writing events")?,
        }
    }
}

async fn write_line(out: &mut (impl AsyncWrite + Unpin), line: &str) -> io::Result<()> {
    out.write_all(line.as_bytes()).await?;
    out.flush().await
}

/// Connects and sends `request`; returns the connection, buffered for reading the reply.
///
/// The connection stays whole: the server takes a client that shuts down its sending side as
/// gone, and ends its event stream.
async fn send_request(path: &Path, request: Request) -> Result<BufReader<UnixStream>> {
    let mut stream = UnixStream::connect(path).await.map_err(|e| connect_error(path, e))?;
    stream.write_all(request.to_line().as_bytes()).await.context("sending the request")?;
    Ok(BufReader::new(stream))
}

fn parse_status_reply(line: &str) -> Result<Status> {
    let value: Value = serde_json::from_str(line).context("the roam agent's answer is not JSON")?;
    if let Some(message) = reply_error(&value) {
        bail!("the roam agent refused the request: {message}");
    }
    serde_json::from_value(value).context("the roam agent's status has an unexpected shape")
}

/// Turns a failed connect() into what the user should do about it.
pub(crate) fn connect_error(path: &Path, error: io::Error) -> anyhow::Error {
    let iface = iface_of(path);
    let start_one = format!("start one with `sudo roam run --iface {iface}`");
    match error.kind() {
        io::ErrorKind::NotFound => anyhow!(
            "no roam agent is running for {iface} (no socket at {}): {start_one}",
            path.display()
        ),
        // The file outlived its agent (a crash); the next agent replaces it.
        io::ErrorKind::ConnectionRefused => anyhow!(
            "no roam agent is running for {iface} (stale socket at {}): {start_one}",
            path.display()
        ),
        io::ErrorKind::PermissionDenied => anyhow!(
            "permission denied on {}: the control socket is root-only, use sudo",
            path.display()
        ),
        _ => anyhow::Error::new(error)
            .context(format!("connecting to the roam agent at {}", path.display())),
    }
}
