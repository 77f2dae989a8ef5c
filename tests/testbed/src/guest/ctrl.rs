//! Client of the wpa_supplicant/hostapd control interface: a unix datagram socket per daemon
//! interface, request/response, plus `ATTACH` for unsolicited events (`<level>EVENT ...`).

use std::{
    fs,
    os::unix::net::UnixDatagram,
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicU32, Ordering},
        mpsc, Arc,
    },
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _, Result};

use super::paths;

/// Replies and events never exceed this (the daemons' own limit).
const MAX_MESSAGE: usize = 8192;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// One connection to a daemon's control socket.
pub struct Ctrl {
    socket: UnixDatagram,
    local: PathBuf,
    server: PathBuf,
}

impl Ctrl {
    pub fn connect(server: &Path) -> Result<Ctrl> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = Path::new(paths::RUN_DIR).join("ctrl-clients");
        fs::create_dir_all(&dir)?;
        let local =
            dir.join(format!("{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)));
        let _ = fs::remove_file(&local);
        let socket = UnixDatagram::bind(&local)
            .with_context(|| format!("cannot bind {}", local.display()))?;
        socket
            .connect(server)
            .with_context(|| format!("cannot connect to control socket {}", server.display()))?;
        Ok(Ctrl { socket, local, server: server.to_owned() })
    }

    /// Sends a command and returns the reply.
    pub fn request(&self, command: &str) -> Result<String> {
        self.socket
            .send(command.as_bytes())
            .with_context(|| format!("sending `{command}` to {}", self.server.display()))?;
        let deadline = Instant::now() + REQUEST_TIMEOUT;
        loop {
            let reply = self.receive_until(deadline)?.with_context(|| {
                format!("no reply to `{command}` from {}", self.server.display())
            })?;
            // An attached socket also receives events; a reply never starts with '<'.
            if !reply.starts_with('<') {
                return Ok(reply);
            }
        }
    }

    /// Sends a command that answers `OK`.
    pub fn command(&self, command: &str) -> Result<()> {
        let reply = self.request(command)?;
        if reply.trim() != "OK" {
            bail!("`{command}` to {} answered `{}`", self.server.display(), reply.trim());
        }
        Ok(())
    }

    /// `STATUS` as key/value pairs.
    pub fn status(&self) -> Result<Vec<(String, String)>> {
        Ok(self
            .request("STATUS")?
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect())
    }

    /// One `STATUS` field.
    pub fn status_field(&self, key: &str) -> Result<Option<String>> {
        Ok(self.status()?.into_iter().find(|(k, _)| k == key).map(|(_, v)| v))
    }

    fn receive_until(&self, deadline: Instant) -> Result<Option<String>> {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Ok(None);
        }
        self.socket.set_read_timeout(Some(remaining))?;
        let mut buf = vec![0u8; MAX_MESSAGE];
        match self.socket.recv(&mut buf) {
            Ok(n) => Ok(Some(String::from_utf8_lossy(&buf[..n]).into_owned())),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e).context("reading the control socket"),
        }
    }
}

impl Drop for Ctrl {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.local);
    }
}

/// An attached connection: receives the daemon's events.
///
/// A thread reads them as they come, whether anyone waits or not. An attached socket nobody
/// reads fills the daemon's send buffer, and wpa_supplicant then throttles the event messages
/// of every monitor ("Had to throttle event message"): roam's would starve for the testbed's.
pub struct Events {
    ctrl: Arc<Ctrl>,
    received: mpsc::Receiver<String>,
}

/// How often the reader looks whether its `Events` is gone.
const READER_POLL: Duration = Duration::from_millis(200);

impl Events {
    pub fn attach(server: &Path) -> Result<Events> {
        let ctrl = Arc::new(Ctrl::connect(server)?);
        ctrl.command("ATTACH")?;
        let (sender, received) = mpsc::channel();
        let reader = ctrl.clone();
        std::thread::Builder::new()
            .name("ctrl events".into())
            .spawn(move || loop {
                match reader.receive_until(Instant::now() + READER_POLL) {
                    Ok(Some(message)) => {
                        if sender.send(message).is_err() {
                            return;
                        }
                    }
                    // Nothing came, and nobody holds the Events any more.
                    Ok(None) if Arc::strong_count(&reader) == 1 => return,
                    Ok(None) => {}
                    Err(_) => return,
                }
            })
            .context("cannot start the event reader")?;
        Ok(Events { ctrl, received })
    }

    /// Discards the events received so far, so a later wait sees only new ones.
    pub fn drain(&self) -> Result<()> {
        while self.received.try_recv().is_ok() {}
        Ok(())
    }

    /// Waits for the first event (level prefix removed) for which `wanted` holds.
    pub fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = match self.received.recv_timeout(left) {
                Ok(message) => message,
                Err(mpsc::RecvTimeoutError::Timeout) => bail!(
                    "timed out after {timeout:?} waiting for {what} on {}",
                    self.ctrl.server.display()
                ),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    bail!("the event reader of {} stopped", self.ctrl.server.display())
                }
            };
            let event = strip_level(&message);
            if wanted(event) {
                return Ok(event.to_owned());
            }
        }
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        let _ = self.ctrl.socket.send(b"DETACH");
    }
}

/// `<3>CTRL-EVENT-CONNECTED ...` -> `CTRL-EVENT-CONNECTED ...`
fn strip_level(message: &str) -> &str {
    match message.strip_prefix('<').and_then(|m| m.split_once('>')) {
        Some((_, rest)) => rest,
        None => message,
    }
}

/// Waits until a control socket exists (the daemon has initialised its interface).
pub fn wait_for_socket(
    path: &Path,
    timeout: Duration,
    mut alive: impl FnMut() -> Result<()>,
) -> Result<()> {
    let deadline = Instant::now() + timeout;
    while !path.exists() {
        alive()?;
        if Instant::now() > deadline {
            bail!("{} did not appear within {timeout:?}", path.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}
