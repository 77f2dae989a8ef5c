//! Errors of the wpa_supplicant control interface client.
//!
//! A hand-written enum rather than `anyhow`, because callers act on the kind:
//! `roam check` tells "wpa_supplicant is not running" (a warning) apart from
//! "wpa_supplicant is running but will not talk to us" (a blocker).

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

pub type Result<T, E = WpaError> = std::result::Result<T, E>;

#[derive(Debug)]
pub enum WpaError {
    /// The interface name cannot name a control socket (empty, too long, or
    /// containing `/`), so it is refused before it is joined to a path.
    InvalidInterface { iface: String },
    /// A socket path does not fit in `sockaddr_un.sun_path` (108 bytes).
    PathTooLong { path: PathBuf },
    /// Nothing at the control socket path: wpa_supplicant is not running for
    /// this interface, or uses another `ctrl_interface` directory.
    SocketMissing { path: PathBuf, iface: String },
    /// The socket exists but we may not write to it.
    PermissionDenied { path: PathBuf },
    /// The socket file exists but nobody listens: wpa_supplicant exited
    /// without removing it.
    StaleSocket { path: PathBuf },
    /// Any other I/O failure; `context` says what we were doing.
    Io { context: String, source: io::Error },
    /// No reply within the deadline.
    Timeout { cmd: String, after: Duration },
    /// wpa_supplicant answered, but not what the command calls for
    /// (`FAIL`, `UNKNOWN COMMAND`, ...).
    UnexpectedReply { cmd: String, reply: String },
    /// A reply that should be `key=value` lines could not be parsed.
    MalformedReply { what: &'static str, detail: String },
    /// A command builder was given an argument wpa_supplicant would reject.
    InvalidArgument(String),
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

impl fmt::Display for WpaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WpaError::InvalidInterface { iface } => {
                write!(f, "invalid interface name {iface:?}")
            }
            WpaError::PathTooLong { path } => write!(
                f,
                "socket path {} is longer than a unix socket address allows (107 bytes)",
                path.display()
            ),
            WpaError::SocketMissing { path, iface } => write!(
                f,
                "no wpa_supplicant control socket at {}: is wpa_supplicant running for {iface} \
                 with ctrl_interface={}?",
                path.display(),
                path.parent().map_or_else(String::new, |dir| dir.display().to_string())
            ),
            WpaError::PermissionDenied { path } => write!(
                f,
                "permission denied on wpa_supplicant control socket {}: run as root or as a \
                 member of the ctrl_interface GROUP",
                path.display()
            ),
            WpaError::StaleSocket { path } => write!(
                f,
                "connection refused by {}: stale socket, wpa_supplicant is not running \
                 (restart it, or remove the leftover file)",
                path.display()
            ),
            WpaError::Io { context, source } => write!(f, "{context}: {source}"),
            WpaError::Timeout { cmd, after } => write!(
                f,
                "wpa_supplicant did not answer {cmd:?} within {} ms (timeout)",
                after.as_millis()
            ),
            WpaError::UnexpectedReply { cmd, reply } => {
                write!(f, "unexpected reply to {cmd:?} from wpa_supplicant: {:?}", shorten(reply))
            }
            WpaError::MalformedReply { what, detail } => {
                write!(f, "malformed {what} reply from wpa_supplicant: {detail}")
            }
            WpaError::InvalidArgument(why) => write!(f, "invalid wpa_supplicant command: {why}"),
        }
    }
}

impl std::error::Error for WpaError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WpaError::Io { source, .. } => Some(source),
            _ => None,
        }
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
