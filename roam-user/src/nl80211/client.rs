//! [`Nl80211`]: roam's connection to the kernel's nl80211 family.
//!
//! One netlink socket (wl-nl80211's connection, driven by a tokio task)
//! carries every request; events get sockets of their own
//! ([`super::subscription`]). The operations live next to their topic
//! (`iface.rs`, `scan.rs`, `connect.rs`, `monitor.rs`); this file holds the
//! client and the request plumbing they share.

use std::sync::Arc;

use wl_nl80211::packet_core::{NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};
use wl_nl80211::{Nl80211Handle, Nl80211Message};

use super::error::{Nl80211Error, Op, Result};
use super::family::{self, Family};
use super::task::AbortOnDrop;
use super::transport::{self, Replies, REQUEST_TIMEOUT};

/// A client of the kernel's nl80211. Cheap to clone: clones share the
/// socket. Needs a tokio runtime (it spawns the socket's task).
#[derive(Debug, Clone)]
pub struct Nl80211 {
    handle: Nl80211Handle,
    family: Arc<Family>,
    _connection: Arc<AbortOnDrop>,
}

impl Nl80211 {
    /// Opens the socket and resolves the nl80211 family. Fails with
    /// [`Nl80211Error::FamilyNotFound`] on kernels without cfg80211.
    pub async fn new() -> Result<Self> {
        let (connection, handle, _unsolicited) = wl_nl80211::new_connection()
            .map_err(|e| Nl80211Error::io("opening a generic netlink socket", e))?;
        let connection = AbortOnDrop::spawn(connection);
        let family = family::resolve(&handle).await?;
        tracing::debug!(family_id = family.id, groups = ?family.groups, "nl80211 family resolved");
        Ok(Nl80211 { handle, family: Arc::new(family), _connection: Arc::new(connection) })
    }

    pub(crate) fn family(&self) -> &Family {
        &self.family
    }

    /// A request answered by an ACK and at most one message (doit commands).
    pub(crate) async fn request(
        &self,
        message: Nl80211Message,
        op: Op,
        iface: &str,
    ) -> Result<Replies<Nl80211Message>> {
        self.send(message, NLM_F_REQUEST | NLM_F_ACK, op, iface).await
    }

    /// A dump request (GET_SCAN): all entries, retried when the kernel says
    /// the table changed under the dump (NLM_F_DUMP_INTR), which happens
    /// when scan results arrive while we read.
    pub(crate) async fn dump(
        &self,
        message: Nl80211Message,
        op: Op,
        iface: &str,
    ) -> Result<Replies<Nl80211Message>> {
        const ATTEMPTS: usize = 3;
        let mut attempt = 1;
        loop {
            let replies = self.send(message.clone(), NLM_F_REQUEST | NLM_F_DUMP, op, iface).await?;
            if !replies.interrupted || attempt == ATTEMPTS {
                if replies.interrupted {
                    tracing::warn!(
                        "{} on {iface}: table kept changing during the dump; using the last one",
                        op.label()
                    );
                }
                if replies.undecodable > 0 {
                    tracing::warn!(
                        "{} on {iface}: skipped {} undecodable entries (first: {})",
                        op.label(),
                        replies.undecodable,
                        replies.first_decode_error.as_deref().unwrap_or("?")
                    );
                }
                return Ok(replies);
            }
            attempt += 1;
        }
    }

    async fn send(
        &self,
        message: Nl80211Message,
        flags: u16,
        op: Op,
        iface: &str,
    ) -> Result<Replies<Nl80211Message>> {
        let request = transport::nl80211_request(self.family.id, message, flags);
        transport::send(&self.handle, request, REQUEST_TIMEOUT)
            .await
            .map_err(|failure| failure.into_error(op, iface))
    }
}

/// How messages name an interface we only know by index: its current name
/// when it has one.
pub(crate) fn iface_label(ifindex: u32) -> String {
    interface_name(ifindex).unwrap_or_else(|| format!("ifindex {ifindex}"))
}

/// The name of interface `ifindex`, `None` if there is no such interface.
pub(crate) fn interface_name(ifindex: u32) -> Option<String> {
    // An empty name is treated as "none": some libcs report success with an
    // empty buffer for an unknown index.
    let name = nix::net::if_::if_indextoname(ifindex).ok()?;
    let name = name.to_string_lossy().into_owned();
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This build host has no Wi-Fi stack: the client must say so in words,
    /// not panic. (On a machine with cfg80211 the client simply works.)
    #[tokio::test]
    async fn without_cfg80211_new_says_so() {
        if std::path::Path::new("/sys/class/ieee80211").exists() {
            eprintln!("cfg80211 is present here; nothing to check");
            return;
        }
        match Nl80211::new().await {
            Ok(_) => panic!("nl80211 resolved on a host without /sys/class/ieee80211"),
            Err(err @ Nl80211Error::FamilyNotFound) => {
                assert!(err
                    .to_string()
                    .starts_with("nl80211 family not found: is cfg80211 loaded?"));
            }
            // Sandboxes may forbid netlink sockets outright; that must be a
            // readable error as well.
            Err(err @ (Nl80211Error::Io { .. } | Nl80211Error::PermissionDenied { .. })) => {
                eprintln!("netlink unavailable here: {err}");
            }
            Err(other) => panic!("unexpected error: {other}"),
        }
    }

    #[test]
    fn missing_ifindex_is_labelled_by_number() {
        assert_eq!(iface_label(u32::MAX), format!("ifindex {}", u32::MAX));
        assert_eq!(iface_label(1), "lo");
    }
}
