//! Closing the ARP/ND stall of a roam: the neighbour entries the carrier loss flushed are put
//! back, with the addresses they had, the moment the new AP opens the port.
//!
//! Since Linux 5.18 (arp) / 5.19 (ndisc) the kernel flushes an interface's neighbour entries
//! when its carrier goes off (`arp_evict_nocarrier`), and every roam drops the carrier. What
//! the station sends next creates an INCOMPLETE entry: the packets wait in its queue while the
//! ARP request goes out into the carrier-less device and is dropped, and the retry comes a
//! second later (`retrans_time`), well after the new connection is up. Stock Linux therefore
//! loses nothing but waits ~1 s after every roam.
//!
//! roam keeps the kernel's behaviour and shortens the wait: it follows the entries through
//! rtnetlink ([`book`]); when mac80211 opens the station's port to the new AP it asks the
//! flushed neighbours again (IPv4 by ARP, [`arp`]; IPv6 by neighbour solicitation, [`nd`]:
//! the AP may authorise the station a little later, and what it receives before is lost),
//! and at each answer re-adds what it confirms as `NUD_PROBE` (`RTM_NEWNEIGH`, create without
//! replace): the neighbour's entry with the address that answered (after a move to another
//! network the same IP may be another host), and the IPv6 entries that had that same address
//! (the router's link-local address). On the INCOMPLETE entry holding the queue this releases
//! every packet queued behind it at once. What does not answer within 500 ms
//! (`task::CONFIRM_LIMIT`) is left to the kernel, as without roam: an entry is never put back
//! unconfirmed. The packets sent while the carrier was off are delivered instead of dropped,
//! which changing `arp_evict_nocarrier` would not give, and no sysctl is touched.
//!
//! The same carrier loss can take the station's IPv6 default route (systemd-networkd 256 and
//! later install it through a nexthop, which the kernel deletes with the carrier): [`routes`]
//! follows it, and [`router`] asks the router to advertise again at the port opening, so the
//! host's own router discovery puts it back.

pub mod arp;
mod book;
pub mod nd;
pub mod router;
pub mod routes;
mod task;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use anyhow::{bail, Context as _, Result};
use netlink_packet_core::{NetlinkMessage, NLM_F_ACK, NLM_F_CREATE, NLM_F_REQUEST};
use netlink_packet_route::{
    neighbour::{NeighbourAddress, NeighbourAttribute, NeighbourMessage, NeighbourState},
    route::RouteType,
    AddressFamily, RouteNetlinkMessage,
};
use netlink_sys::Socket;
use nix::errno::Errno;
use roam_common::MacAddr;
use tracing::{debug, warn};

pub use self::{
    arp::{ArpExchange, ArpProber},
    book::{Neighbour, NeighbourBook, NeighbourChange},
    nd::{NdExchange, NdProber},
    task::{spawn, Probers},
};
use crate::{
    netif::monotonic_ns,
    netlink_answer::{answer, Answer},
    rtnl::{self, serialize, Subscription},
};

/// mac80211 opened the station's port to `bssid` (CLOCK_MONOTONIC `at_ns`).
#[derive(Clone, Copy, Debug)]
pub struct PortOpened {
    pub bssid: MacAddr,
    pub at_ns: u64,
}

/// What made the entries go back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Confirmation {
    /// This neighbour answered an ARP request sent after the port opened (the first of them to
    /// answer): the path works.
    ArpReply(Ipv4Addr),
    /// This neighbour answered a neighbour solicitation sent after the port opened (the first
    /// of them to answer).
    NeighbourAdvertisement(Ipv6Addr),
    /// Nothing to ask (no flushed entry, or no address to ask from): nothing went back.
    Settled,
    /// Nobody answered within 500 ms: nothing went back.
    NoAnswer,
}

/// What a port opening put back.
#[derive(Debug)]
pub struct Restored {
    pub opened: PortOpened,
    /// CLOCK_MONOTONIC ns when the kernel had them back.
    pub done_ns: u64,
    pub confirmation: Confirmation,
    /// The entries roam re-added, with the addresses that answered; one the kernel resolved
    /// from the ARP reply itself is not among them.
    pub result: Result<Vec<Neighbour>>,
}

/// What the neighbour task learnt of the path through the new AP after a port opening: the
/// router task waits for it before it solicits, as what is sent before the path works is lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathNews {
    /// The port opening's CLOCK_MONOTONIC ns.
    pub port_at_ns: u64,
    /// A neighbour answered through the new AP; `false`: nobody was asked, or nobody answered.
    pub confirmed: bool,
}

/// What the agent tells the neighbour task about the transition in progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PutBackPlan {
    /// Flushes at or after this (CLOCK_MONOTONIC ns) belong to the transition.
    pub since_ns: u64,
}

/// Follows the neighbour entries of one interface and puts flushed ones back.
pub struct NeighbourFollower {
    changes: Subscription,
    requests: Socket,
    ifindex: u32,
    book: NeighbourBook,
    seq: u32,
}

impl NeighbourFollower {
    /// Subscribes first, then reads the table, so no change falls in between.
    pub fn new(ifindex: u32) -> Result<Self> {
        let changes = Subscription::new(&[rtnl::GROUP_NEIGH])?;
        let requests = rtnl::request_socket()?;
        let mut follower =
            Self { changes, requests, ifindex, book: NeighbourBook::default(), seq: 1 };
        follower.read_table()?;
        Ok(follower)
    }

    /// Takes the next notification into the book. Cancel-safe.
    pub async fn next(&mut self) -> Result<()> {
        match self.changes.recv().await? {
            Some(buf) => self.observe(&buf),
            // Notifications were lost: what is in the table now is what the book can know.
            None => self.read_table()?,
        }
        Ok(())
    }

    fn observe(&mut self, datagram: &[u8]) {
        let now = monotonic_ns();
        for msg in rtnl::messages(datagram) {
            if let Some(change) = decode(&msg, self.ifindex) {
                self.book.observe(change, now);
            }
        }
    }

    /// The neighbours the transition since `since_ns` flushed, once the notifications still
    /// queued are in.
    fn flushed_since(&mut self, since_ns: u64) -> Vec<IpAddr> {
        if let Err(err) = self.catch_up() {
            warn!("neighbour table: {err:#}");
        }
        self.book.flushed_since(since_ns)
    }

    /// Takes notifications still queued (the agent was busy) into the book.
    fn catch_up(&mut self) -> Result<()> {
        loop {
            match self.changes.try_recv() {
                Ok(Some(buf)) => self.observe(&buf),
                Ok(None) => return Ok(()),
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => self.read_table()?,
                Err(e) => return Err(e).context("reading rtnetlink"),
            }
        }
    }

    /// Re-adds what `ip`'s answer from `mac` confirms of the entries flushed at or after
    /// `since_ns` (CLOCK_MONOTONIC), see [`NeighbourBook::take_confirmed`]; returns them.
    pub fn put_back_confirmed(
        &mut self,
        since_ns: u64,
        ip: IpAddr,
        mac: MacAddr,
    ) -> Result<Vec<Neighbour>> {
        self.catch_up()?;
        let confirmed = self.book.take_confirmed(ip, &mac.0, since_ns);
        for n in &confirmed {
            let seq = self.next_seq();
            let request = put_back_request(self.ifindex, n, seq);
            self.requests.send(&request, 0).context("sending RTM_NEWNEIGH")?;
            // The kernel handles the request within send(): its answer is already queued.
            let (reply, _) =
                self.requests.recv_from_full().context("reading the RTM_NEWNEIGH ack")?;
            check_ack(&reply).with_context(|| format!("putting back the entry of {}", n.ip))?;
            debug!(ip = %n.ip, "neighbour entry put back");
        }
        Ok(confirmed)
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// Dumps the table (both families) into the book.
    fn read_table(&mut self) -> Result<()> {
        let mut msg = NeighbourMessage::default();
        msg.header.family = AddressFamily::Unspec;
        let seq = self.next_seq();
        let now = monotonic_ns();
        let (ifindex, book) = (self.ifindex, &mut self.book);
        rtnl::dump(
            &mut self.requests,
            RouteNetlinkMessage::GetNeighbour(msg),
            seq,
            "neighbour table",
            |inner| {
                if let Some(change) = decode(&inner, ifindex) {
                    book.observe(change, now);
                }
            },
        )
    }
}

/// What a notification says about an entry of `ifindex`, if anything roam cares about:
/// unicast IPv4/IPv6 entries the kernel resolves (not NOARP or PERMANENT ones, which a
/// carrier loss does not flush).
pub fn decode(msg: &RouteNetlinkMessage, ifindex: u32) -> Option<NeighbourChange> {
    let (deleted, m) = match msg {
        RouteNetlinkMessage::NewNeighbour(m) => (false, m),
        RouteNetlinkMessage::DelNeighbour(m) => (true, m),
        _ => return None,
    };
    if m.header.ifindex != ifindex || m.header.kind != RouteType::Unicast {
        return None;
    }
    let ip = m.attributes.iter().find_map(|a| match a {
        NeighbourAttribute::Destination(NeighbourAddress::Inet(v4)) => Some(IpAddr::V4(*v4)),
        NeighbourAttribute::Destination(NeighbourAddress::Inet6(v6)) => Some(IpAddr::V6(*v6)),
        _ => None,
    })?;
    if deleted {
        return Some(NeighbourChange::Deleted { ip });
    }
    let lladdr = m.attributes.iter().find_map(|a| match a {
        NeighbourAttribute::LinkLayerAddress(l) if !l.is_empty() => Some(l.clone()),
        _ => None,
    });
    match (m.header.state, lladdr) {
        (
            NeighbourState::Reachable
            | NeighbourState::Stale
            | NeighbourState::Delay
            | NeighbourState::Probe,
            Some(lladdr),
        ) => Some(NeighbourChange::Valid { ip, lladdr }),
        (NeighbourState::Incomplete, _) => Some(NeighbourChange::Unresolved { ip, failed: false }),
        (NeighbourState::Failed, _) => Some(NeighbourChange::Unresolved { ip, failed: true }),
        _ => None,
    }
}

/// `ip neigh add <ip> lladdr <answered> nud probe dev <if>` without NLM_F_REPLACE: on an
/// INCOMPLETE entry it sets the address (and releases the queue); a valid entry (resolved
/// meanwhile) is left alone by the kernel. rtnetlink's `NeighbourAddRequest` cannot say this:
/// it sends NLM_F_EXCL (refused with EEXIST on the INCOMPLETE entry the flush left) or
/// NLM_F_REPLACE (overwrites what the kernel resolved meanwhile), so the message is its
/// netlink-packet-route type sent on roam's own request socket, answered within the send.
fn put_back_request(ifindex: u32, n: &Neighbour, seq: u32) -> Vec<u8> {
    let mut msg = NeighbourMessage::default();
    msg.header.family = match n.ip {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    };
    msg.header.ifindex = ifindex;
    msg.header.state = NeighbourState::Probe;
    msg.header.kind = RouteType::Unicast;
    msg.attributes.push(NeighbourAttribute::Destination(match n.ip {
        IpAddr::V4(v4) => NeighbourAddress::Inet(v4),
        IpAddr::V6(v6) => NeighbourAddress::Inet6(v6),
    }));
    msg.attributes.push(NeighbourAttribute::LinkLayerAddress(n.lladdr.clone()));
    serialize(RouteNetlinkMessage::NewNeighbour(msg), NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE, seq)
}

fn check_ack(reply: &[u8]) -> Result<()> {
    let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(reply)
        .context("decoding the kernel's answer")?;
    match answer(&msg.payload) {
        Answer::Done => Ok(()),
        Answer::Failed(Errno::EPERM) => {
            bail!("{} (re-adding neighbour entries needs CAP_NET_ADMIN)", Errno::EPERM)
        }
        Answer::Failed(errno) => Err(std::io::Error::from(errno).into()),
        Answer::Other => {
            warn!(payload = ?msg.payload, "unexpected answer to RTM_NEWNEIGH");
            Ok(())
        }
    }
}
