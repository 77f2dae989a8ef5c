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
};

use futures::StreamExt as _;
use inotify::{EventMask, EventStream, Inotify, WatchDescriptor, WatchMask, Watches};

use super::WpaCtrl;

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

/// Waits until a wpa_supplicant answers `PING` for `iface` (one started again with its
/// interface, by udev, systemd or a `-M` match).
pub async fn wait_until_answering(ctrl_dir: &Path, iface: &str) -> io::Result<()> {
    let mut restarts = SocketWatch::new(ctrl_dir, iface)?;
    loop {
        for _ in 0..PING_ATTEMPTS {
            match WpaCtrl::open(ctrl_dir, iface).await {
                Ok(ctrl) if ctrl.ping().await.is_ok() => return Ok(()),
                // Not there, or a stale socket: wait for a new one.
                Err(_) => break,
                // There, not answering yet.
                Ok(_) => {}
            }
        }
        restarts.created().await?;
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
