//! Whether the station interface exists: it goes when its radio does (a USB adapter unplugged,
//! the driver unloaded, an hwsim radio deleted) and comes back under the same name. The agent
//! detaches when it goes and attaches again when it is back, instead of exiting.

use anyhow::Result;
use netlink_packet_route::{link::LinkAttribute, RouteNetlinkMessage};

use crate::rtnl::{self, Subscription};

/// Link notifications about one interface name.
pub struct Presence {
    links: Subscription,
    iface: String,
}

/// What one rtnetlink datagram says about the interface.
#[derive(Debug, PartialEq, Eq)]
enum News {
    /// Interface `ifindex` was deleted.
    Removed,
    /// An interface of our name exists, with this index.
    Present(u32),
    Nothing,
}

impl Presence {
    /// Subscribes before anything is read, so no change falls between a check and the wait.
    pub fn new(iface: &str) -> Result<Self> {
        Ok(Presence { links: Subscription::new(&[rtnl::GROUP_LINK])?, iface: iface.to_owned() })
    }

    /// Resolves when interface `ifindex` is deleted. Cancel-safe.
    pub async fn removed(&mut self, ifindex: u32) -> Result<()> {
        loop {
            let gone = match self.links.recv().await? {
                // A different index under our name: ours went in the same datagram.
                Some(buf) => match news(&buf, ifindex, &self.iface) {
                    News::Removed => true,
                    News::Present(other) => other != ifindex,
                    News::Nothing => false,
                },
                // Notifications were lost: look.
                None => current_ifindex(&self.iface) != Some(ifindex),
            };
            if gone {
                return Ok(());
            }
        }
    }

    /// Resolves with the index of the interface of our name, once it exists. Cancel-safe.
    pub async fn back(&mut self) -> Result<u32> {
        if let Some(ifindex) = current_ifindex(&self.iface) {
            return Ok(ifindex);
        }
        loop {
            let present = match self.links.recv().await? {
                Some(buf) => match news(&buf, 0, &self.iface) {
                    News::Present(ifindex) => Some(ifindex),
                    _ => None,
                },
                None => current_ifindex(&self.iface),
            };
            if let Some(ifindex) = present {
                return Ok(ifindex);
            }
        }
    }
}

/// The index of interface `iface` in this namespace, if it exists.
fn current_ifindex(iface: &str) -> Option<u32> {
    let text = std::fs::read_to_string(format!("/sys/class/net/{iface}/ifindex")).ok()?;
    text.trim().parse().ok()
}

/// What a datagram of link notifications says about interface `ifindex` / name `iface` (the
/// last message about it wins). Pure.
fn news(buf: &[u8], ifindex: u32, iface: &str) -> News {
    let named = |attributes: &[LinkAttribute]| {
        attributes.iter().any(|a| matches!(a, LinkAttribute::IfName(name) if name == iface))
    };
    let mut found = News::Nothing;
    for message in rtnl::messages(buf) {
        match message {
            RouteNetlinkMessage::DelLink(link) if link.header.index == ifindex => {
                found = News::Removed
            }
            RouteNetlinkMessage::NewLink(link) if named(&link.attributes) => {
                found = News::Present(link.header.index)
            }
            // Renamed away from our name: gone for us.
            RouteNetlinkMessage::NewLink(link) if link.header.index == ifindex => {
                found = News::Removed
            }
            _ => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use netlink_packet_core::{NetlinkHeader, NetlinkMessage, NetlinkPayload};
    use netlink_packet_route::link::LinkMessage;

    use super::*;

    fn datagram(messages: Vec<RouteNetlinkMessage>) -> Vec<u8> {
        let mut buf = Vec::new();
        for inner in messages {
            let mut message =
                NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::InnerMessage(inner));
            message.finalize();
            let mut bytes = vec![0; message.buffer_len()];
            message.serialize(&mut bytes);
            bytes.resize(bytes.len().next_multiple_of(4), 0);
            buf.extend(bytes);
        }
        buf
    }

    fn link(index: u32, name: &str) -> LinkMessage {
        let mut link = LinkMessage::default();
        link.header.index = index;
        link.attributes.push(LinkAttribute::IfName(name.into()));
        link
    }

    #[test]
    fn deleting_our_interface_is_removal() {
        let buf = datagram(vec![RouteNetlinkMessage::DelLink(link(7, "wlan0"))]);
        assert_eq!(news(&buf, 7, "wlan0"), News::Removed);
        assert_eq!(news(&buf, 8, "other"), News::Nothing, "another interface's deletion");
    }

    #[test]
    fn a_new_interface_of_our_name_is_presence_with_its_index() {
        let buf = datagram(vec![
            RouteNetlinkMessage::NewLink(link(3, "eth0")),
            RouteNetlinkMessage::NewLink(link(12, "wlan0")),
        ]);
        assert_eq!(news(&buf, 0, "wlan0"), News::Present(12));
    }

    #[test]
    fn renaming_our_interface_away_is_removal() {
        let buf = datagram(vec![RouteNetlinkMessage::NewLink(link(7, "wlan1"))]);
        assert_eq!(news(&buf, 7, "wlan0"), News::Removed);
    }

    #[test]
    fn a_carrier_change_of_our_interface_is_no_news() {
        // Notifications repeat the name: our own interface, still there.
        let buf = datagram(vec![RouteNetlinkMessage::NewLink(link(7, "wlan0"))]);
        assert_eq!(news(&buf, 7, "wlan0"), News::Present(7));
    }
}
