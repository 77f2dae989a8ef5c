//! Where an agent's control socket lives, and the directory that guards it.

use std::{
    fs::DirBuilder,
    os::unix::fs::DirBuilderExt,
    path::{Path, PathBuf},
};

use anyhow::{Context as _, Result};

/// Directory of the agents' control sockets: under /run, so a reboot clears stale sockets.
pub const SOCKET_DIR: &str = "/run/roam";

/// The control socket of the agent serving `iface`: `/run/roam/<iface>.sock`.
pub fn default_socket_path(iface: &str) -> PathBuf {
    Path::new(SOCKET_DIR).join(format!("{iface}.sock"))
}

/// The interface a socket path belongs to, for messages: `/run/roam/wlan0.sock` -> `wlan0`.
pub(crate) fn iface_of(path: &Path) -> String {
    match path.file_stem() {
        Some(stem) => stem.to_string_lossy().into_owned(),
        None => path.display().to_string(),
    }
}

/// Creates the directory of the socket at `path`, mode 0700, if it is missing.
///
/// The directory closes the window between bind() and chmod() of the socket, during which the
/// socket has the umask's mode. An existing directory is left as the administrator made it.
pub(crate) fn ensure_socket_dir(path: &Path) -> Result<()> {
    let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) else {
        return Ok(());
    };
    if dir.exists() {
        return Ok(());
    }
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating the control socket directory {}", dir.display()))
}
