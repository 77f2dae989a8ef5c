//! The datagram socket pair under both [`WpaCtrl`](super::WpaCtrl) and
//! [`WpaEvents`](super::WpaEvents): a uniquely named local socket connected to
//! wpa_supplicant's per-interface control socket.
//!
//! wpa_supplicant replies with `sendto()` to the address the request came
//! from, so the client must bind its own socket to a filesystem path (an
//! unbound or abstract client gets no reply). This is what `wpa_ctrl_open()`
//! does with `/tmp/wpa_ctrl_<pid>-<n>`.

use std::fs::DirBuilder;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::net::UnixDatagram as StdUnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use tokio::net::UnixDatagram;

use super::error::{Result, WpaError};

/// Largest reply we accept. wpa_supplicant 2.10 builds replies in a 4 KiB
/// buffer (`BSS RANGE=` can approach it); 8 KiB leaves headroom. A longer
/// datagram would be silently truncated by the kernel.
pub(super) const MAX_REPLY: usize = 8192;

/// `sizeof(sockaddr_un.sun_path)` on Linux, including the trailing NUL.
const SUN_PATH_LEN: usize = 108;

/// Where our client sockets go: a private directory first, so other local
/// users cannot inject fake replies or events; `/tmp` when we may not create
/// it (e.g. running unprivileged with file capabilities).
const LOCAL_DIRS: [&str; 2] = ["/run/roam", "/tmp"];

/// Distinguishes the sockets of one process (one per `WpaCtrl`/`WpaEvents`).
static NEXT_LOCAL_ID: AtomicU32 = AtomicU32::new(0);

/// A bound local socket path, unlinked on drop so that sockets do not pile
/// up in `/run/roam` or `/tmp`.
#[derive(Debug)]
struct LocalPath(PathBuf);

impl Drop for LocalPath {
    fn drop(&mut self) {
        if let Err(err) = std::fs::remove_file(&self.0) {
            if err.kind() != io::ErrorKind::NotFound {
                tracing::debug!(path = %self.0.display(), %err, "could not remove wpa_ctrl client socket");
            }
        }
    }
}

#[derive(Debug)]
pub(super) struct CtrlSocket {
    socket: UnixDatagram,
    /// A second descriptor for the same socket, used for the non-blocking
    /// calls ([`Self::discard_pending`], [`Self::try_send`]). Tokio's own
    /// `try_recv`/`try_send` do not even try the syscall until its reactor
    /// has seen the socket ready, so they would miss a datagram that arrived
    /// since the last poll, or fail in `Drop`.
    immediate: StdUnixDatagram,
    server: PathBuf,
    // Declared after the sockets so the path is unlinked after they close.
    local: LocalPath,
}

/// Refuses names that would escape `ctrl_dir` or cannot be interfaces
/// (`IFNAMSIZ` is 16 including the NUL).
pub(super) fn validate_iface(iface: &str) -> Result<()> {
    let valid = !iface.is_empty()
        && iface.len() < 16
        && iface != "."
        && iface != ".."
        && !iface.contains(['/', '\0'])
        && !iface.chars().any(char::is_whitespace);
    if valid {
        Ok(())
    } else {
        Err(WpaError::InvalidInterface { iface: iface.to_owned() })
    }
}

fn check_path_len(path: &Path) -> Result<()> {
    if path.as_os_str().len() >= SUN_PATH_LEN {
        return Err(WpaError::PathTooLong { path: path.to_owned() });
    }
    Ok(())
}

impl CtrlSocket {
    /// Binds a fresh local socket and connects it to `ctrl_dir/iface`.
    pub(super) fn connect(ctrl_dir: &Path, iface: &str) -> Result<Self> {
        validate_iface(iface)?;
        let server = ctrl_dir.join(iface);
        check_path_len(&server)?;
        let (socket, local) = bind_local()?;
        socket.connect(&server).map_err(|err| connect_error(err, &server, iface))?;
        let setup_error = |err| WpaError::io(format!("setting up {}", local.0.display()), err);
        socket.set_nonblocking(true).map_err(setup_error)?;
        let immediate = socket.try_clone().map_err(setup_error)?;
        let socket = UnixDatagram::from_std(socket).map_err(setup_error)?;
        Ok(CtrlSocket { socket, immediate, server, local })
    }

    pub(super) fn server_path(&self) -> &Path {
        &self.server
    }

    pub(super) fn local_path(&self) -> &Path {
        &self.local.0
    }

    pub(super) async fn send(&self, cmd: &str) -> Result<()> {
        self.socket.send(cmd.as_bytes()).await.map_err(|err| self.send_error(err, cmd))?;
        Ok(())
    }

    /// Sends without waiting; for `Drop`, where we cannot await. A full
    /// socket buffer just means the message is lost, which is acceptable
    /// for a best-effort `DETACH`.
    pub(super) fn try_send(&self, cmd: &str) -> io::Result<()> {
        self.immediate.send(cmd.as_bytes()).map(drop)
    }

    /// Receives the next datagram, reply or event alike.
    pub(super) async fn recv(&self) -> Result<String> {
        let mut buf = vec![0u8; MAX_REPLY];
        let len = self.socket.recv(&mut buf).await.map_err(|err| {
            WpaError::io(format!("receiving from wpa_supplicant at {}", self.server.display()), err)
        })?;
        // wpa_supplicant escapes SSIDs to printable ASCII, so lossy
        // decoding only matters for a misbehaving peer.
        Ok(String::from_utf8_lossy(&buf[..len]).into_owned())
    }

    /// Drops datagrams already queued, returning how many. A reply that
    /// arrives after its request timed out would otherwise be taken as the
    /// reply to the next request.
    pub(super) fn discard_pending(&self) -> usize {
        let mut buf = vec![0u8; MAX_REPLY];
        let mut discarded = 0;
        while self.immediate.recv(&mut buf).is_ok() {
            discarded += 1;
        }
        discarded
    }

    fn send_error(&self, err: io::Error, cmd: &str) -> WpaError {
        match err.kind() {
            // The server went away after we connected.
            io::ErrorKind::ConnectionRefused | io::ErrorKind::NotFound => {
                WpaError::StaleSocket { path: self.server.clone() }
            }
            _ => WpaError::io(format!("sending {cmd:?} to {}", self.server.display()), err),
        }
    }
}

fn connect_error(err: io::Error, server: &Path, iface: &str) -> WpaError {
    match err.kind() {
        io::ErrorKind::NotFound => {
            WpaError::SocketMissing { path: server.to_owned(), iface: iface.to_owned() }
        }
        io::ErrorKind::PermissionDenied => WpaError::PermissionDenied { path: server.to_owned() },
        io::ErrorKind::ConnectionRefused => WpaError::StaleSocket { path: server.to_owned() },
        _ => WpaError::io(format!("connecting to {}", server.display()), err),
    }
}

fn bind_local() -> Result<(StdUnixDatagram, LocalPath)> {
    let mut last_error = None;
    for dir in LOCAL_DIRS.iter().map(Path::new) {
        match bind_in(dir) {
            Ok(bound) => return Ok(bound),
            Err(err) => {
                tracing::debug!(dir = %dir.display(), %err, "cannot bind wpa_ctrl client socket here");
                last_error = Some(err);
            }
        }
    }
    Err(last_error.expect("LOCAL_DIRS is not empty"))
}

fn bind_in(dir: &Path) -> Result<(StdUnixDatagram, LocalPath)> {
    // 0700: only we (and root, which wpa_supplicant runs as) reach our
    // sockets. An existing directory is used as it is.
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|err| WpaError::io(format!("creating {}", dir.display()), err))?;
    let id = NEXT_LOCAL_ID.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!("wpa_ctrl_{}_{id}", std::process::id()));
    check_path_len(&path)?;
    let bind = || StdUnixDatagram::bind(&path);
    let socket = match bind() {
        Ok(socket) => socket,
        // Left behind by an earlier process with our pid that was killed
        // before it could unlink; wpa_ctrl.c handles it the same way.
        Err(err) if err.kind() == io::ErrorKind::AddrInUse => {
            let _ = std::fs::remove_file(&path);
            bind().map_err(|err| WpaError::io(format!("binding {}", path.display()), err))?
        }
        Err(err) => return Err(WpaError::io(format!("binding {}", path.display()), err)),
    };
    Ok((socket, LocalPath(path)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_that_escape_the_directory_are_refused() {
        for bad in ["", ".", "..", "../wlan0", "wlan0/x", "wlan 0", "a-very-long-ifname"] {
            assert!(
                matches!(validate_iface(bad), Err(WpaError::InvalidInterface { .. })),
                "{bad:?}"
            );
        }
        for good in ["wlan0", "wlp2s0", "wlx00c0ca123456"] {
            assert!(validate_iface(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn overlong_socket_paths_are_refused_before_the_syscall() {
        let long = Path::new("/tmp").join("d".repeat(120));
        assert!(matches!(check_path_len(&long), Err(WpaError::PathTooLong { .. })));
        assert!(check_path_len(Path::new("/run/wpa_supplicant/wlan0")).is_ok());
    }
}
