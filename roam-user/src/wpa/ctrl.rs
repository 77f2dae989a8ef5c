//! Request/response client: send a command, wait for its reply.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::{timeout_at, Instant};

use super::command;
use super::error::{Result, WpaError};
use super::reply::{parse_bss, parse_status, Bss, Status};
use super::socket::CtrlSocket;
use roam_common::MacAddr;

/// How long [`WpaCtrl::request`] waits unless told otherwise. wpa_supplicant
/// answers from its event loop, so a healthy daemon replies in
/// milliseconds; seconds mean it is stuck.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// A control connection to one interface's wpa_supplicant, like
/// `wpa_cli -i IFACE`. Not attached: events are not delivered here (use
/// [`WpaEvents`](super::WpaEvents)).
///
/// Survives a supplicant restart: a request that finds the old socket gone
/// connects to the new one and is sent again.
#[derive(Debug)]
pub struct WpaCtrl {
    // One datagram socket carries every request, and replies carry no
    // request id: two overlapping requests could each take the other's
    // reply. Requests are therefore serialised by this lock.
    socket: Mutex<CtrlSocket>,
    ctrl_dir: PathBuf,
    iface: String,
    server: PathBuf,
    timeout: Duration,
}

/// Unsolicited messages start with `<level>`; replies never do. This is the
/// test `wpa_ctrl_request()` uses.
pub(super) fn is_unsolicited(msg: &str) -> bool {
    msg.starts_with('<')
}

impl WpaCtrl {
    /// Connects to `ctrl_dir/iface` (e.g. `/run/wpa_supplicant/wlan0`).
    ///
    /// Fails with [`WpaError::SocketMissing`] when wpa_supplicant is not
    /// running for `iface`, [`WpaError::PermissionDenied`], or
    /// [`WpaError::StaleSocket`] when the socket file outlived its daemon.
    pub async fn open(ctrl_dir: &Path, iface: &str) -> Result<Self> {
        let socket = CtrlSocket::connect(ctrl_dir, iface)?;
        Ok(WpaCtrl {
            server: socket.server_path().to_owned(),
            socket: Mutex::new(socket),
            ctrl_dir: ctrl_dir.to_owned(),
            iface: iface.to_owned(),
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// Sets the reply deadline of every later request.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The wpa_supplicant socket this client talks to.
    pub fn server_path(&self) -> &Path {
        &self.server
    }

    /// Our own bound socket (removed when `self` is dropped, or replaced on a reconnection).
    pub async fn local_path(&self) -> PathBuf {
        self.socket.lock().await.local_path().to_owned()
    }

    /// Sends `cmd` and returns wpa_supplicant's reply verbatim (usually
    /// newline-terminated). Replies such as `FAIL\n` are returned, not
    /// turned into errors: what counts as failure depends on the command.
    ///
    /// The whole request, from waiting for the socket to the reply, ends
    /// within the timeout: a supplicant that hangs stops reading, its queue
    /// fills, and a send would otherwise wait for ever, holding the socket.
    pub async fn request(&self, cmd: &str) -> Result<String> {
        let deadline = Instant::now() + self.timeout;
        let timed_out = || WpaError::Timeout { cmd: cmd.to_owned(), after: self.timeout };
        let mut socket = timeout_at(deadline, self.socket.lock()).await.map_err(|_| timed_out())?;
        let stale = socket.discard_pending();
        if stale > 0 {
            tracing::debug!(stale, "discarded late wpa_supplicant replies");
        }
        match timeout_at(deadline, socket.send(cmd)).await.map_err(|_| timed_out())? {
            Err(WpaError::StaleSocket { .. }) => {
                // wpa_supplicant was restarted: its socket is a new one under the same name.
                *socket = CtrlSocket::connect(&self.ctrl_dir, &self.iface)?;
                tracing::info!("reconnected to a restarted wpa_supplicant for {}", self.iface);
                timeout_at(deadline, socket.send(cmd)).await.map_err(|_| timed_out())??;
            }
            sent => sent?,
        }
        loop {
            let msg = timeout_at(deadline, socket.recv()).await.map_err(|_| timed_out())??;
            if is_unsolicited(&msg) {
                tracing::trace!(%msg, "skipping event on request socket");
                continue;
            }
            return Ok(msg);
        }
    }

    /// `PING`, expecting `PONG`: proves wpa_supplicant is alive and
    /// answering on this interface.
    pub async fn ping(&self) -> Result<()> {
        self.request_expecting(command::PING, "PONG").await
    }

    /// `STATUS`, parsed.
    pub async fn status(&self) -> Result<Status> {
        parse_status(&self.request(command::STATUS).await?)
    }

    /// `BSS <bssid>`, parsed; `None` if the BSS is not in the scan table.
    pub async fn bss(&self, bssid: MacAddr) -> Result<Option<Bss>> {
        parse_bss(&self.request(&command::bss(bssid)).await?)
    }

    /// Sends `cmd` and requires the one-line reply `expected` (`OK`,
    /// `PONG`), e.g. for `ROAM` or `SCAN`.
    pub async fn request_expecting(&self, cmd: &str, expected: &str) -> Result<()> {
        let reply = self.request(cmd).await?;
        if reply.trim_end() == expected {
            Ok(())
        } else {
            Err(WpaError::UnexpectedReply { cmd: cmd.to_owned(), reply })
        }
    }
}
