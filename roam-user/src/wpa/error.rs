//! Errors of the wpa_supplicant control interface client.
//!
//! An enum rather than `anyhow`, because callers act on the kind:
//! `roam check` tells "wpa_supplicant is not running" (a warning) apart from
//! "wpa_supplicant is running but will not talk to us" (a blocker).

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub type Result<T, E = WpaError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum WpaError {
    /// The interface name cannot name a control socket (empty, too long, or
    /// containing `/`), so it is refused before it is joined to a path.
    #[error("invalid interface name {iface:?}")]
    InvalidInterface { iface: String },
    /// A socket path does not fit in `sockaddr_un.sun_path` (108 bytes).
    #[error(
        "socket path {} is longer than a unix socket address allows (107 bytes)",
        path.display()
    )]
    PathTooLong { path: PathBuf },
    /// Nothing at the control socket path: wpa_supplicant is not running for
    /// this interface, or uses another `ctrl_interface` directory.
    #[error(
        "no wpa_supplicant control socket at {}: is wpa_supplicant running for {iface} \
         with ctrl_interface={}?",
        path.display(),
        directory(path)
    )]
    SocketMissing { path: PathBuf, iface: String },
    /// The socket exists but we may not write to it.
    #[error(
        "permission denied on wpa_supplicant control socket {}: run as root or as a \
         member of the ctrl_interface GROUP",
        path.display()
    )]
    PermissionDenied { path: PathBuf },
    /// The socket file exists but nobody listens: wpa_supplicant exited
    /// without removing it.
    #[error(
        "connection refused by {}: stale socket, wpa_supplicant is not running \
         (restart it, or remove the leftover file)",
        path.display()
    )]
    StaleSocket { path: PathBuf },
    /// Any other I/O failure; `context` says what we were doing.
    #[error("{context}: {source}")]
    Io { context: String, source: io::Error },
    /// No reply within the deadline.
    #[error("wpa_supplicant did not answer {cmd:?} within {} ms (timeout)", after.as_millis())]
    Timeout { cmd: String, after: Duration },
    /// wpa_supplicant answered, but not what the command calls for
    /// (`FAIL`, `UNKNOWN COMMAND`, ...).
    #[error("unexpected reply to {cmd:?} from wpa_supplicant: {:?}", shorten(reply))]
    UnexpectedReply { cmd: String, reply: String },
    /// A reply that should be `key=value` lines could not be parsed.
    #[error("malformed {what} reply from wpa_supplicant: {detail}")]
    MalformedReply { what: &'static str, detail: String },
    /// A command builder was given an argument wpa_supplicant would reject.
    #[error("invalid wpa_supplicant command: {0}")]
    InvalidArgument(String),
}

/// The directory of a socket path, for the message that names it.
fn directory(path: &Path) -> String {
    path.parent().map_or_else(String::new, |dir| dir.display().to_string())
}

impl WpaError {
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        WpaError::Io { context: context.into(), source }
    }
}

/// Replies are shown trimmed and shortened: a multi-kilobyte `BSS` dump in an
/// error message helps nobody.
fn shorten(reply: &str) -> String {
    const MAX: usize = 80;
    let trimmed = reply.trim_end();
    match trimmed.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &trimmed[..cut]),
        None => trimmed.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_socket_names_path_and_likely_cause() {
        let err = WpaError::SocketMissing {
            path: PathBuf::from("/run/wpa_supplicant/wlan0"),
            iface: "wlan0".into(),
        };
        assert_eq!(
            err.to_string(),
            "no wpa_supplicant control socket at /run/wpa_supplicant/wlan0: is wpa_supplicant \
             running for wlan0 with ctrl_interface=/run/wpa_supplicant?"
        );
    }

    #[test]
    fn long_replies_are_shortened_in_messages() {
        let err = WpaError::UnexpectedReply { cmd: "STATUS".into(), reply: "x".repeat(500) };
        let text = err.to_string();
        assert!(text.len() < 200, "{text}");
        assert!(text.contains("..."));
    }
}
