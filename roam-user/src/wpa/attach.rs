//! Event subscription: a second socket, `ATTACH`ed, that only receives.
//!
//! It is kept apart from [`WpaCtrl`](super::WpaCtrl) (as `wpa_cli` does)
//! so that a burst of events can never be mistaken for, or delay, a reply.

use std::collections::VecDeque;
use std::path::Path;

use tokio::time::{timeout_at, Instant};

use super::command;
use super::ctrl::{is_unsolicited, DEFAULT_TIMEOUT};
use super::error::{Result, WpaError};
use super::event::{parse_event, WpaEvent};
use super::socket::CtrlSocket;

#[derive(Debug)]
pub struct WpaEvents {
    socket: CtrlSocket,
    /// Events that arrived while we were still waiting for `OK` to
    /// `ATTACH`; handed out first so none is lost.
    early: VecDeque<WpaEvent>,
}

impl WpaEvents {
    /// Connects to `ctrl_dir/iface` and subscribes with `ATTACH`, waiting
    /// for `OK` (at most [`DEFAULT_TIMEOUT`]).
    pub async fn attach(ctrl_dir: &Path, iface: &str) -> Result<Self> {
        let socket = CtrlSocket::connect(ctrl_dir, iface)?;
        socket.send(command::ATTACH).await?;
        let mut early = VecDeque::new();
        let deadline = Instant::now() + DEFAULT_TIMEOUT;
        loop {
            let msg = timeout_at(deadline, socket.recv()).await.map_err(|_| {
                WpaError::Timeout { cmd: command::ATTACH.to_owned(), after: DEFAULT_TIMEOUT }
            })??;
            if is_unsolicited(&msg) {
                early.push_back(parse_event(&msg));
            } else if msg.trim_end() == "OK" {
                return Ok(WpaEvents { socket, early });
            } else {
                return Err(WpaError::UnexpectedReply {
                    cmd: command::ATTACH.to_owned(),
                    reply: msg,
                });
            }
        }
    }

    /// Waits for the next event. Cancel-safe: dropping the future loses no
    /// event (the datagram stays queued in the socket).
    ///
    /// After [`WpaEvent::Terminating`] nothing more arrives; a restarted
    /// wpa_supplicant needs a fresh `attach`.
    pub async fn next(&mut self) -> Result<WpaEvent> {
        if let Some(event) = self.early.pop_front() {
            return Ok(event);
        }
        loop {
            let msg = self.socket.recv().await?;
            if is_unsolicited(&msg) {
                return Ok(parse_event(&msg));
            }
            // Not an event: a late reply (we only ever send ATTACH/DETACH).
            tracing::debug!(%msg, "ignoring non-event message on event socket");
        }
    }

    pub fn local_path(&self) -> &Path {
        self.socket.local_path()
    }
}

impl Drop for WpaEvents {
    /// Best-effort `DETACH` so wpa_supplicant stops sending to a socket that
    /// is about to disappear (it would otherwise retry until it gives up on
    /// the monitor). The local socket file is removed by `CtrlSocket`.
    fn drop(&mut self) {
        if let Err(err) = self.socket.try_send(command::DETACH) {
            tracing::debug!(%err, "could not send DETACH to wpa_supplicant");
        }
    }
}
