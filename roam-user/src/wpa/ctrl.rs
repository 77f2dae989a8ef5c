//! Request/response client: send a command, wait for its reply.

use std::path::Path;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::{timeout_at, Instant};

use super::command;
use super::error::{Result, WpaError};
use super::mac::MacAddr;
use super::reply::{parse_bss, parse_status, Bss, Status};
use super::socket::CtrlSocket;

/// How long [`WpaCtrl::request`] waits unless told otherwise. wpa_supplicant
/// answers from its event loop, so a healthy daemon replies in
/// milliseconds; seconds mean it is stuck.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// A control connection to one interface's wpa_supplicant, like
/// `wpa_cli -i IFACE`. Not attached: events are not delivered here (use
/// [`WpaEvents`](super::WpaEvents)).
#[derive(Debug)]
pub struct WpaCtrl {
    socket: CtrlSocket,
    timeout: Duration,
    // One datagram socket carries every request, and replies carry no
    // request id: two overlapping requests could each take the other's
    // reply. Requests are therefore serialised.
    exchange: Mutex<()>,
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
        Ok(WpaCtrl {
            socket: CtrlSocket::connect(ctrl_dir, iface)?,
            timeout: DEFAULT_TIMEOUT,
            exchange: Mutex::new(()),
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
        self.socket.server_path()
    }

    /// Our own bound socket (removed when `self` is dropped).
    pub fn local_path(&self) -> &Path {
        self.socket.local_path()
    }

    /// Sends `cmd` and returns wpa_supplicant's reply verbatim (usually
    /// newline-terminated). Replies such as `FAIL\n` are returned, not
    /// turned into errors: what counts as failure depends on the command.
    pub async fn request(&self, cmd: &str) -> Result<String> {
        let _exclusive = self.exchange.lock().await;
        let stale = self.socket.discard_pending();
        if stale > 0 {
            tracing::debug!(stale, "discarded late wpa_supplicant replies");
        }
        self.socket.send(cmd).await?;
        let deadline = Instant::now() + self.timeout;
        loop {
            let msg = timeout_at(deadline, self.socket.recv())
                .await
                .map_err(|_| WpaError::Timeout { cmd: cmd.to_owned(), after: self.timeout })??;
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
        self.expect(command::PING, "PONG").await
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
    pub async fn expect(&self, cmd: &str, expected: &str) -> Result<()> {
        let reply = self.request(cmd).await?;
        if reply.trim_end() == expected {
            Ok(())
        } else {
            Err(WpaError::UnexpectedReply { cmd: cmd.to_owned(), reply })
        }
    }
}
