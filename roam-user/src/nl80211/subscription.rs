//! [`MlmeEvents`]: a stream of one interface's nl80211 events.
//!
//! Each subscription is its own netlink socket joined to nl80211 multicast
//! groups. A socket of its own, not the request socket, so that events can
//! never be mistaken for replies, and so that it can be opened *before* a
//! request whose outcome it must catch (a scan's end, a connect's result).

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::{Stream, StreamExt};
use netlink_sys::{AsyncSocket, SocketAddr};
use wl_nl80211::packet_core::NetlinkPayload;

use super::client::Nl80211;
use super::error::{Nl80211Error, Op, Result};
use super::events::{decode_event, MlmeEvent};
use super::family::{GROUP_MLME, GROUP_SCAN};
use super::task::AbortOnDrop;

/// Receive buffer asked for the event socket. Scan and MLME events are
/// rare and small; this is headroom for a burst while the agent is busy.
/// (The kernel caps it at net.core.rmem_max; overflow shows up as
/// [`MlmeEvent::EventsLost`].)
const EVENT_RCVBUF: usize = 1 << 20;

/// The events of one interface, in kernel order. Ends only if the socket
/// fails. Dropping it closes the socket.
pub struct MlmeEvents {
    events: Pin<Box<dyn Stream<Item = MlmeEvent> + Send>>,
    _connection: Option<AbortOnDrop>,
}

impl MlmeEvents {
    /// Wraps any stream of events: what a fake [`super::Wireless`] hands to
    /// the agent under test.
    pub fn from_stream(events: impl Stream<Item = MlmeEvent> + Send + 'static) -> Self {
        MlmeEvents { events: Box::pin(events), _connection: None }
    }

    /// Wraps a tokio channel's receiver (the other usual test source).
    pub fn from_receiver(mut receiver: tokio::sync::mpsc::Receiver<MlmeEvent>) -> Self {
        Self::from_stream(futures::stream::poll_fn(move |cx| receiver.poll_recv(cx)))
    }

    /// The next event, `None` once the socket is gone.
    pub async fn next_event(&mut self) -> Option<MlmeEvent> {
        self.events.next().await
    }
}

impl Stream for MlmeEvents {
    type Item = MlmeEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<MlmeEvent>> {
        self.events.as_mut().poll_next(cx)
    }
}

impl fmt::Debug for MlmeEvents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MlmeEvents").field("live_socket", &self._connection.is_some()).finish()
    }
}

/// Which groups a subscription joins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Groups {
    /// "scan" only: enough to wait for a scan.
    Scan,
    /// "scan" and "mlme": everything [`MlmeEvent`] describes.
    ScanAndMlme,
    /// "mlme" only: enough to wait for a frame's TX status.
    Mlme,
}

impl Nl80211 {
    /// Subscribes to the scan and MLME events of interface `ifindex`.
    /// Events that happen before this call returns are not seen, so
    /// subscribe before acting. Needs a tokio runtime.
    pub fn mlme_events(&self, ifindex: u32) -> Result<MlmeEvents> {
        self.subscribe(Groups::ScanAndMlme, ifindex)
    }

    pub(crate) fn subscribe(&self, groups: Groups, ifindex: u32) -> Result<MlmeEvents> {
        let names: &[&str] = match groups {
            Groups::Scan => &[GROUP_SCAN],
            Groups::ScanAndMlme => &[GROUP_SCAN, GROUP_MLME],
            Groups::Mlme => &[GROUP_MLME],
        };
        let family = self.family();
        let ids = names.iter().map(|name| family.group(name)).collect::<Result<Vec<u32>>>()?;

        let (mut connection, _handle, messages) = wl_nl80211::new_connection()
            .map_err(|e| Nl80211Error::io("opening an nl80211 event socket", e))?;
        let socket = connection.socket_mut().socket_mut();
        // Bound before joining: the kernel delivers multicast only to
        // sockets with a port id, and netlink-proto binds lazily.
        socket
            .bind(&SocketAddr::new(0, 0))
            .map_err(|e| Nl80211Error::io("binding the nl80211 event socket", e))?;
        if let Err(e) = socket.set_rx_buf_sz(EVENT_RCVBUF) {
            tracing::debug!("could not enlarge the nl80211 event socket buffer: {e}");
        }
        for id in ids {
            // Group ids of nl80211 are above 31, so NETLINK_ADD_MEMBERSHIP
            // rather than the bind() bitmask.
            socket.add_membership(id).map_err(|e| match e.raw_os_error() {
                Some(errno) => super::error::from_errno(
                    Op::JoinGroup,
                    "nl80211",
                    nix::errno::Errno::from_raw(errno),
                ),
                None => Nl80211Error::io("joining an nl80211 multicast group", e),
            })?;
        }
        let connection = AbortOnDrop::spawn(connection);

        let family_id = family.id;
        let events = messages.filter_map(move |(message, _source)| {
            let event = match message.payload {
                NetlinkPayload::InnerMessage(raw) if raw.family_id == family_id => {
                    decode_event(raw.header.cmd, &raw.payload)
                        .filter(|(index, _)| *index == ifindex)
                        .map(|(_, event)| event)
                }
                NetlinkPayload::Overrun(_) => Some(MlmeEvent::EventsLost),
                _ => None,
            };
            futures::future::ready(event)
        });
        Ok(MlmeEvents { events: Box::pin(events), _connection: Some(connection) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fakes_can_feed_events_through_a_channel() {
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let mut events = MlmeEvents::from_receiver(rx);
        tx.send(MlmeEvent::ScanStarted).await.unwrap();
        tx.send(MlmeEvent::Disconnect { reason: Some(3), by_ap: false }).await.unwrap();
        drop(tx);
        assert_eq!(events.next_event().await, Some(MlmeEvent::ScanStarted));
        assert_eq!(
            events.next().await,
            Some(MlmeEvent::Disconnect { reason: Some(3), by_ap: false })
        );
        assert_eq!(events.next_event().await, None);
    }
}
