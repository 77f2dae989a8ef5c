//! The agent's side of the control socket.

use std::{
    fs::{self, Permissions},
    future::Future,
    io,
    os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt},
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use anyhow::{bail, Context as _, Result};
use roam_proto::{EventLine, Request, Status};
use tokio::{
    io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader},
    net::{unix::OwnedWriteHalf, UnixListener, UnixStream},
    sync::{broadcast, watch},
    task::JoinSet,
    time::timeout,
};
use tracing::{debug, info, warn};

use super::{
    path::ensure_socket_dir,
    protocol::{error_reply, lagged_event, subscribed_event, write_json_line},
};
use crate::metrics::{refresh_snapshot, RefreshSender};

/// A request is one short line; anything longer is not a roam client.
const MAX_REQUEST_LEN: u64 = 4096;
/// How long a connection may stay silent before sending its request, so idle connections do
/// not pile up.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause after a failed accept(): errors such as EMFILE persist, and retrying at once would spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The bound control socket of one agent. Its socket file goes away with it.
pub struct ControlServer {
    listener: UnixListener,
    socket_file: SocketFile,
    iface: String,
}

impl ControlServer {
    /// Binds the control socket of the agent serving `iface` at `path`, mode 0600, creating
    /// its directory (0700) if missing. A socket left behind by a crashed agent is replaced;
    /// one a live agent answers on is an error.
    pub async fn bind(path: &Path, iface: &str) -> Result<Self> {
        ensure_socket_dir(path)?;
        let listener = match UnixListener::bind(path) {
            Ok(listener) => listener,
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                remove_stale_socket(path, iface).await?;
                UnixListener::bind(path)
                    .with_context(|| format!("binding the control socket {}", path.display()))?
            }
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("binding the control socket {}", path.display()))
            }
        };
        let socket_file = SocketFile::of(path)?;
        fs::set_permissions(path, Permissions::from_mode(0o600))
            .with_context(|| format!("making {} root-only", path.display()))?;
        debug!(path = %path.display(), "control socket bound");
        Ok(ControlServer { listener, socket_file, iface: iface.to_owned() })
    }

    pub fn path(&self) -> &Path {
        &self.socket_file.path
    }

    /// Serves until `shutdown` resolves; each connection in its own task. With `refresh`, a
    /// status request first asks the agent to publish a fresh snapshot (bounded wait), so the
    /// agent publishes on demand rather than after every event.
    ///
    /// On shutdown it stops accepting, removes the socket file, and closes the connections
    /// still open (event streams end there) before returning.
    pub async fn serve(
        self,
        status: watch::Receiver<Status>,
        events: broadcast::Sender<EventLine>,
        refresh: Option<RefreshSender>,
        shutdown: impl Future<Output = ()>,
    ) -> Result<()> {
        let ControlServer { listener, socket_file, iface } = self;
        let iface: Arc<str> = iface.into();
        let mut connections = JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) if !peer_may_connect(&stream) => {
                        warn!("control socket: refused a client of another user");
                    }
                    Ok((stream, _)) => {
                        let connection = serve_connection(
                            stream,
                            status.clone(),
                            events.clone(),
                            refresh.clone(),
                            iface.clone(),
                        );
                        connections.spawn(connection);
                    }
                    Err(e) => {
                        warn!("control socket: accept failed: {e}");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                    }
                },
                Some(finished) = connections.join_next(), if !connections.is_empty() => {
                    log_connection_end(finished);
                }
            }
        }
        // New clients now find no socket ("no agent running") instead of a dead one.
        drop(listener);
        drop(socket_file);
        connections.shutdown().await;
        debug!("control socket closed");
        Ok(())
    }
}

/// Whether the process at the other end may use the socket: root, or the agent's own user.
/// The socket's mode (0600, in a 0700 directory) already keeps others out; this holds even if
/// its directory is not roam's own.
fn peer_may_connect(stream: &UnixStream) -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let own = unsafe { libc::geteuid() };
    stream.peer_cred().is_ok_and(|peer| uid_may_connect(peer.uid(), own))
}

pub(super) fn uid_may_connect(peer: u32, own: u32) -> bool {
    peer == 0 || peer == own
}

/// Removes the socket file at `path` if nobody listens on it any more (its agent crashed).
async fn remove_stale_socket(path: &Path, iface: &str) -> Result<()> {
    let metadata = fs::symlink_metadata(path)
        .with_context(|| format!("inspecting the existing {}", path.display()))?;
    if !metadata.file_type().is_socket() {
        bail!("{} exists and is not a socket: refusing to replace it", path.display());
    }
    match UnixStream::connect(path).await {
        Ok(_) => {
            bail!("another roam agent is already running for {iface} (socket {})", path.display())
        }
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            fs::remove_file(path)
                .with_context(|| format!("removing the stale socket {}", path.display()))?;
            info!(path = %path.display(), "removed a stale control socket");
            Ok(())
        }
        Err(e) => Err(e).with_context(|| format!("checking whether {} is in use", path.display())),
    }
}

/// The socket file this server created, removed on drop — only if it still is that file
/// (same inode), so a server whose path was taken over does not delete another agent's socket.
struct SocketFile {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl SocketFile {
    fn of(path: &Path) -> Result<Self> {
        let metadata = fs::symlink_metadata(path)
            .with_context(|| format!("inspecting the new socket {}", path.display()))?;
        Ok(SocketFile { path: path.to_owned(), dev: metadata.dev(), ino: metadata.ino() })
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        let ours = fs::symlink_metadata(&self.path)
            .is_ok_and(|m| m.dev() == self.dev && m.ino() == self.ino);
        if ours {
            if let Err(e) = fs::remove_file(&self.path) {
                warn!("removing the control socket {}: {e}", self.path.display());
            }
        }
    }
}

fn log_connection_end(finished: Result<Result<()>, tokio::task::JoinError>) {
    match finished {
        Ok(Ok(())) => {}
        // Clients hanging up mid-answer is ordinary: not worth more than debug.
        Ok(Err(e)) => debug!("control connection: {e:#}"),
        Err(e) => warn!("control connection task: {e}"),
    }
}

async fn serve_connection(
    stream: UnixStream,
    status: watch::Receiver<Status>,
    events: broadcast::Sender<EventLine>,
    refresh: Option<RefreshSender>,
    iface: Arc<str>,
) -> Result<()> {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    // A connection closed without a request is a probe (e.g. another agent's liveness check).
    let Some(line) = read_request_line(&mut read).await? else {
        return Ok(());
    };
    match Request::parse(&line) {
        Ok(Request::Status) => {
            if let Some(refresh) = &refresh {
                refresh_snapshot(refresh).await;
            }
            let snapshot = status.borrow().clone();
            write_json_line(&mut write, &snapshot).await.context("sending the status")?;
        }
        Ok(Request::Events) => stream_events(read, write, events.subscribe(), &iface).await?,
        Err(message) => {
            write_json_line(&mut write, &error_reply(&message)).await.context("sending an error")?
        }
    }
    Ok(())
}

/// The request line, or `None` if the client closed without sending one.
async fn read_request_line(read: &mut (impl AsyncBufRead + Unpin)) -> Result<Option<String>> {
    let mut line = String::new();
    let len = timeout(REQUEST_TIMEOUT, read.take(MAX_REQUEST_LEN).read_line(&mut line))
        .await
        .context("the client sent no request in time")?
        .context("reading the request")?;
    Ok((len > 0).then_some(line))
}

/// Sends the subscription acknowledgement, then every event, until the client hangs up or the
/// agent drops its event sender.
async fn stream_events(
    mut read: impl AsyncRead + Unpin,
    mut write: OwnedWriteHalf,
    mut events: broadcast::Receiver<EventLine>,
    iface: &str,
) -> Result<()> {
    // Subscribed before this line goes out: a client that has read it misses nothing after.
    write_json_line(&mut write, &subscribed_event(iface)).await.context("acknowledging")?;
    let mut ignored = [0u8; 256];
    loop {
        let line = tokio::select! {
            received = events.recv() => match received {
                Ok(event) => event,
                Err(broadcast::error::RecvError::Lagged(missed)) => lagged_event(missed),
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            },
            // Clients send nothing after their request, so reading notices a hang-up at once
            // instead of at the next event's failed write.
            read_len = read.read(&mut ignored) => match read_len.context("reading the client")? {
                0 => return Ok(()),
                _ => continue,
            },
        };
        write_json_line(&mut write, &line).await.context("sending an event")?;
    }
}
