//! Noticing a new wpa_supplicant for an interface: its control socket created anew.
//!
//! A supplicant that is killed sends nothing (no `CTRL-EVENT-TERMINATING`), and one that starts
//! again does not know the monitors of its predecessor: the only sign is the socket file. A new
//! daemon binds `ctrl_dir/iface` afresh (after unlinking a stale one), so inotify reports it
//! created. The directory itself can go and come back too (a supplicant that exits cleanly
//! removes it when empty), so its parent is watched for it.

use std::{
    ffi::OsStr,
    io,
    path::{Path, PathBuf},
    time::Duration,
};

use futures::StreamExt as _;
use inotify::{EventMask, EventStream, Inotify, WatchDescriptor, WatchMask, Watches};

use super::{WpaCtrl, WpaError};

/// Waits for `ctrl_dir/iface` to be created.
pub struct SocketWatch {
    events: EventStream<[u8; 1024]>,
    watches: Watches,
    ctrl_dir: PathBuf,
    iface: String,
    /// The watch on `ctrl_dir`, while it exists.
    dir_watch: Option<WatchDescriptor>,
}

/// Creation or a rename into place: either makes a new file appear under its name.
const APPEARS: WatchMask = WatchMask::CREATE.union(WatchMask::MOVED_TO);

impl SocketWatch {
    pub fn new(ctrl_dir: &Path, iface: &str) -> io::Result<SocketWatch> {
        let inotify = Inotify::init()?;
        let events = inotify.into_event_stream([0u8; 1024])?;
        let mut watches = events.watches();
        if let Some(parent) = ctrl_dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            watches.add(parent, APPEARS | WatchMask::ONLYDIR)?;
        }
        let mut watch = SocketWatch {
            events,
            watches,
            ctrl_dir: ctrl_dir.to_owned(),
            iface: iface.to_owned(),
            dir_watch: None,
        };
        watch.watch_dir();
        Ok(watch)
    }

    /// Watches the control directory if it exists (it may not, between two supplicants).
    fn watch_dir(&mut self) {
        self.dir_watch = self.watches.add(&self.ctrl_dir, APPEARS | WatchMask::ONLYDIR).ok();
    }

    /// Resolves when the interface's control socket is created anew. Cancel-safe.
    pub async fn created(&mut self) -> io::Result<()> {
        while let Some(event) = self.events.next().await {
            let event = event?;
            let name = event.name.as_deref();
            if Some(&event.wd) == self.dir_watch.as_ref() {
                if event.mask.contains(EventMask::IGNORED) {
                    // The directory went; its parent's watch reports it back.
                    self.dir_watch = None;
                } else if name == Some(OsStr::new(&self.iface)) {
                    return Ok(());
                }
            } else if name == self.ctrl_dir.file_name() {
                // The directory came back, maybe with the socket already in it.
                self.watch_dir();
                if self.ctrl_dir.join(&self.iface).exists() {
                    return Ok(());
                }
            }
        }
        Err(io::Error::other("the inotify stream ended"))
    }
}

/// Attempts at reaching a supplicant whose control socket exists: one that has just bound it
/// answers once its initialisation reaches the event loop.
const PING_ATTEMPTS: u32 = 3;

/// How long to wait before connecting again to a socket that refused. `bind(2)` creates the
/// socket's file, and inotify reports it, a moment before the kernel attaches the socket to
/// it; a `connect` in between is refused as if the file were a leftover. Under qemu's TCG the
/// moment is long enough to hit (1 in 20 station-removed runs did).
pub const BIND_SETTLE: Duration = Duration::from_millis(20);

/// How long a wait for a new socket lasts before it looks again without being told. inotify
/// reports a socket created after the watch; one bound before it, by a supplicant that then
/// answered too late for [`PING_ATTEMPTS`] (or any event the watch missed), raises nothing
/// more, and the wait would never end. Looking again costs one `connect` while no supplicant
/// answers.
const RECHECK: Duration = Duration::from_secs(2);

/// Waits until a wpa_supplicant answers `PING` for `iface` (one started again with its
/// interface, by udev, systemd or a `-M` match).
pub async fn wait_until_answering(ctrl_dir: &Path, iface: &str) -> io::Result<()> {
    wait_with(ctrl_dir, iface, super::ctrl::DEFAULT_TIMEOUT, RECHECK).await
}

async fn wait_with(
    ctrl_dir: &Path,
    iface: &str,
    ping: Duration,
    recheck: Duration,
) -> io::Result<()> {
    let mut restarts = SocketWatch::new(ctrl_dir, iface)?;
    loop {
        for _ in 0..PING_ATTEMPTS {
            match WpaCtrl::open(ctrl_dir, iface).await {
                Ok(ctrl) => match ctrl.with_timeout(ping).ping().await {
                    Ok(()) => return Ok(()),
                    // There, not answering yet.
                    Err(err) => tracing::debug!("wpa_supplicant for {iface}: {err}"),
                },
                // Being bound, or a leftover that only a new socket replaces.
                Err(err @ WpaError::StaleSocket { .. }) => {
                    tracing::debug!("wpa_supplicant for {iface}: {err}");
                    tokio::time::sleep(BIND_SETTLE).await;
                }
                // Not there: wait for it.
                Err(err) => {
                    tracing::debug!("wpa_supplicant for {iface}: {err}");
                    break;
                }
            }
        }
        // A new socket, or time to look again.
        match tokio::time::timeout(recheck, restarts.created()).await {
            Ok(created) => created?,
            Err(_) => tracing::debug!("no new socket for {iface} in {recheck:?}; looking again"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{os::unix::net::UnixDatagram, time::Duration};

    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("roam-watch-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Long enough for any inotify delivery, short enough to fail a broken watch quickly.
    const DELIVERY: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn a_socket_bound_anew_is_noticed_and_other_names_are_not() {
        let root = temp_dir("bind");
        let ctrl_dir = root.join("wpa_supplicant");
        std::fs::create_dir(&ctrl_dir).unwrap();
        let mut watch = SocketWatch::new(&ctrl_dir, "wlan0").unwrap();
        let _other = UnixDatagram::bind(ctrl_dir.join("wlan1")).unwrap();
        let _ours = UnixDatagram::bind(ctrl_dir.join("wlan0")).unwrap();
        tokio::time::timeout(DELIVERY, watch.created()).await.unwrap().unwrap();
        // Only wlan0 counted: nothing more is pending.
        assert!(tokio::time::timeout(Duration::from_millis(100), watch.created()).await.is_err());
        std::fs::remove_dir_all(&root).unwrap();
    }

    /// A fake supplicant on `server`: ignores the first `ignored` requests, then answers
    /// every `PING` with `PONG`.
    async fn answer_pings(server: &tokio::net::UnixDatagram, ignored: u32) {
        let mut buf = [0u8; 64];
        for _ in 0..ignored {
            server.recv_from(&mut buf).await.unwrap();
        }
        loop {
            let (len, peer) = server.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..len], b"PING");
            server.send_to(b"PONG\n", peer.as_pathname().unwrap()).await.unwrap();
        }
    }

    /// A supplicant that bound its socket before the wait began and answers only after the
    /// wait's pings gave up raises no inotify event: the wait must find it anyway.
    #[tokio::test]
    async fn a_supplicant_answering_late_on_a_socket_bound_before_the_wait_is_found() {
        let root = temp_dir("late");
        let ctrl_dir = root.join("wpa_supplicant");
        std::fs::create_dir(&ctrl_dir).unwrap();
        let server = tokio::net::UnixDatagram::bind(ctrl_dir.join("wlan0")).unwrap();
        let ping = Duration::from_millis(50);
        let wait = wait_with(&ctrl_dir, "wlan0", ping, Duration::from_millis(200));
        // Busy starting: the first PING_ATTEMPTS pings go unanswered.
        tokio::select! {
            waited = tokio::time::timeout(DELIVERY, wait) => waited.expect("the wait found no supplicant").unwrap(),
            () = answer_pings(&server, PING_ATTEMPTS) => unreachable!(),
        }
        std::fs::remove_dir_all(&root).unwrap();
    }

    /// A file left by a killed supplicant refuses connections: the wait goes on past it
    /// and ends at the socket of the next supplicant.
    #[tokio::test]
    async fn a_leftover_socket_is_waited_past_until_a_new_supplicant_answers() {
        let root = temp_dir("leftover");
        let ctrl_dir = root.join("wpa_supplicant");
        std::fs::create_dir(&ctrl_dir).unwrap();
        drop(UnixDatagram::bind(ctrl_dir.join("wlan0")).unwrap());
        let wait =
            wait_with(&ctrl_dir, "wlan0", Duration::from_millis(50), Duration::from_secs(3600));
        tokio::pin!(wait);
        let early = tokio::time::timeout(Duration::from_millis(200), &mut wait).await;
        assert!(early.is_err(), "the wait ended at a leftover socket: {early:?}");
        std::fs::remove_file(ctrl_dir.join("wlan0")).unwrap();
        let server = tokio::net::UnixDatagram::bind(ctrl_dir.join("wlan0")).unwrap();
        tokio::select! {
            waited = tokio::time::timeout(DELIVERY, wait) => waited.expect("the new supplicant was not found").unwrap(),
            () = answer_pings(&server, 0) => unreachable!(),
        }
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[tokio::test]
    async fn a_directory_removed_and_made_again_is_followed() {
        let root = temp_dir("dir");
        let ctrl_dir = root.join("wpa_supplicant");
        std::fs::create_dir(&ctrl_dir).unwrap();
        let mut watch = SocketWatch::new(&ctrl_dir, "wlan0").unwrap();
        std::fs::remove_dir(&ctrl_dir).unwrap();
        std::fs::create_dir(&ctrl_dir).unwrap();
        let _ours = UnixDatagram::bind(ctrl_dir.join("wlan0")).unwrap();
        tokio::time::timeout(DELIVERY, watch.created()).await.unwrap().unwrap();
        std::fs::remove_dir_all(&root).unwrap();
    }
}
