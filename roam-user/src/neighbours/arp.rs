//! Asking before releasing: ARP requests for the flushed IPv4 neighbours once the station's port
//! opens, so their entries go back only when the path through the new AP works both ways.
//!
//! The station cannot see when the AP authorises it. On a protected network the AP does so when
//! it processes the handshake's 4th message, which the station sends just before opening its own
//! port; on an open one, when the association response is acknowledged. Either may come after
//! the station's port opens (in the VM under TCG up to ~15 ms later), and packets released
//! before it are dropped by the AP, lost without a trace on the station. A reply to a request
//! sent after the port opened is proof the AP forwards; the kernel also takes that reply into
//! the INCOMPLETE entry holding the queue, which releases it by itself.

use std::{
    io,
    net::Ipv4Addr,
    os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd},
};

use anyhow::{Context as _, Result};
use roam_common::MacAddr;
use tokio::io::unix::AsyncFd;

use crate::netif;

const ETH_P_ARP: u16 = 0x0806;
const ETH_P_IP: u16 = 0x0800;
const ARPHRD_ETHER: u16 = 1;
const ARPOP_REQUEST: u16 = 1;
const ARPOP_REPLY: u16 = 2;
/// An Ethernet/IPv4 ARP packet, without the link-layer header (the kernel adds it).
pub const ARP_LEN: usize = 28;

/// An IPv4 ARP request from `sender` (`sha`, `spa`) for `target`.
pub fn request(sha: MacAddr, spa: Ipv4Addr, target: Ipv4Addr) -> [u8; ARP_LEN] {
    let mut p = [0u8; ARP_LEN];
    p[0..2].copy_from_slice(&ARPHRD_ETHER.to_be_bytes());
    p[2..4].copy_from_slice(&ETH_P_IP.to_be_bytes());
    p[4] = 6;
    p[5] = 4;
    p[6..8].copy_from_slice(&ARPOP_REQUEST.to_be_bytes());
    p[8..14].copy_from_slice(&sha);
    p[14..18].copy_from_slice(&spa.octets());
    // Target hardware address: unknown, zero.
    p[24..28].copy_from_slice(&target.octets());
    p
}

/// The sender of an Ethernet/IPv4 ARP reply; `None` for anything else.
pub fn reply_sender(packet: &[u8]) -> Option<(Ipv4Addr, MacAddr)> {
    let field = |at: usize| u16::from_be_bytes([packet[at], packet[at + 1]]);
    if packet.len() < ARP_LEN
        || field(0) != ARPHRD_ETHER
        || field(2) != ETH_P_IP
        || packet[4] != 6
        || packet[5] != 4
        || field(6) != ARPOP_REPLY
    {
        return None;
    }
    let sha: MacAddr = packet[8..14].try_into().ok()?;
    let spa = Ipv4Addr::new(packet[14], packet[15], packet[16], packet[17]);
    Some((spa, sha))
}

/// The address the station speaks from towards `target`: one of its own in the same subnet,
/// else its first (`(address, prefix length)` pairs).
pub fn source_for(own: &[(Ipv4Addr, u8)], target: Ipv4Addr) -> Option<Ipv4Addr> {
    let same_subnet = |&&(addr, prefix): &&(Ipv4Addr, u8)| {
        let mask = u32::MAX.checked_shl(32 - u32::from(prefix.min(32))).unwrap_or(0);
        u32::from(addr) & mask == u32::from(target) & mask
    };
    own.iter().find(same_subnet).or(own.first()).map(|&(addr, _)| addr)
}

/// What the station asks with: its interface and addresses. The socket itself exists only
/// while a port opening is being confirmed ([`ArpProber::open`]): bound to ARP, it would
/// otherwise take a copy of every ARP frame on the network and wake the agent for it.
pub struct ArpProber {
    ifindex: u32,
    iface: String,
    mac: MacAddr,
}

impl ArpProber {
    /// Checks once that the socket can be opened (CAP_NET_RAW), so a missing privilege shows
    /// at start rather than at the first roam.
    pub fn new(ifindex: u32, iface: &str, mac: MacAddr) -> Result<Self> {
        let prober = Self { ifindex, iface: iface.to_owned(), mac };
        drop(prober.open()?);
        Ok(prober)
    }

    /// A socket that hears ARP on the interface from now on, and sends requests.
    pub fn open(&self) -> Result<ArpExchange<'_>> {
        // SAFETY: plain socket(2); the result is checked and owned right away.
        let fd = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_DGRAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                i32::from(ETH_P_ARP.to_be()),
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error())
                .context("opening an ARP packet socket (needs CAP_NET_RAW)");
        }
        // SAFETY: fd is a fresh, valid descriptor that nothing else owns.
        let socket = unsafe { OwnedFd::from_raw_fd(fd) };
        netif::bind_packet_socket(&socket, self.ifindex, ETH_P_ARP)
            .with_context(|| format!("binding the ARP socket to {}", self.iface))?;
        // SAFETY: the AsyncFd owns the socket, so its descriptor stays open while registered.
        let socket = unsafe { AsyncFd::register(socket) }
            .map_err(|e| e.into_parts().1)
            .context("registering the ARP socket")?;
        Ok(ArpExchange { prober: self, socket })
    }

    /// The station's IPv4 addresses with their prefix lengths, as configured now.
    pub fn own_addresses(&self) -> Result<Vec<(Ipv4Addr, u8)>> {
        let mut own = Vec::new();
        for ifa in nix::ifaddrs::getifaddrs().context("listing interface addresses")? {
            if ifa.interface_name != self.iface {
                continue;
            }
            let (Some(addr), Some(mask)) = (
                ifa.address.as_ref().and_then(|a| a.as_sockaddr_in()),
                ifa.netmask.as_ref().and_then(|m| m.as_sockaddr_in()),
            ) else {
                continue;
            };
            own.push((addr.ip(), u32::from(mask.ip()).count_ones() as u8));
        }
        Ok(own)
    }
}

/// An open ARP socket: what it hears was sent after it was opened.
pub struct ArpExchange<'a> {
    prober: &'a ArpProber,
    socket: AsyncFd<OwnedFd>,
}

impl ArpExchange<'_> {
    /// Broadcasts a request for `target` from `source`.
    pub fn send_request(&self, source: Ipv4Addr, target: Ipv4Addr) -> Result<()> {
        let p = self.prober;
        let packet = request(p.mac, source, target);
        let to = netif::link_address(p.ifindex, ETH_P_ARP, [0xff; 6]);
        // SAFETY: packet and to are valid for the sizes passed.
        let rc = unsafe {
            libc::sendto(
                self.socket.get_ref().as_raw_fd(),
                packet.as_ptr().cast(),
                packet.len(),
                0,
                &to as *const libc::sockaddr_ll as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error())
                .with_context(|| format!("sending an ARP request for {target} on {}", p.iface));
        }
        Ok(())
    }

    /// The next ARP reply heard on the interface. Cancel-safe.
    pub async fn next_reply(&self) -> Result<(Ipv4Addr, MacAddr)> {
        let mut buf = [0u8; 64];
        loop {
            let mut ready = self.socket.readable().await.context("waiting on the ARP socket")?;
            // SAFETY: buf is valid for writes of its length.
            let n = unsafe {
                libc::recv(self.socket.get_ref().as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0)
            };
            if n < 0 {
                let err = io::Error::last_os_error();
                if err.kind() == io::ErrorKind::WouldBlock {
                    ready.clear_ready();
                    continue;
                }
                return Err(err).context("reading the ARP socket");
            }
            if let Some(reply) = reply_sender(&buf[..n as usize]) {
                return Ok(reply);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATION: MacAddr = [0x02, 0, 0, 0, 0x02, 0];
    const GATEWAY: MacAddr = [0x02, 0, 0, 0, 0xff, 0x01];

    #[test]
    fn a_request_is_the_packet_the_kernel_would_send() {
        let p = request(STATION, Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(
            p,
            [
                0, 1, 8, 0, 6, 4, 0, 1, // Ethernet, IPv4, request
                2, 0, 0, 0, 2, 0, 10, 0, 0, 2, // sender
                0, 0, 0, 0, 0, 0, 10, 0, 0, 1, // target
            ]
        );
    }

    #[test]
    fn replies_give_their_sender_and_nothing_else_does() {
        let mut reply = request(GATEWAY, Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
        reply[7] = 2;
        assert_eq!(reply_sender(&reply), Some((Ipv4Addr::new(10, 0, 0, 1), GATEWAY)));
        // Ethernet padding after the packet is ignored.
        let mut padded = reply.to_vec();
        padded.extend([0; 18]);
        assert_eq!(reply_sender(&padded), Some((Ipv4Addr::new(10, 0, 0, 1), GATEWAY)));
        let req = request(GATEWAY, Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(reply_sender(&req), None, "a request");
        assert_eq!(reply_sender(&reply[..27]), None, "truncated");
        let mut ipv6ish = reply;
        ipv6ish[2..4].copy_from_slice(&0x86ddu16.to_be_bytes());
        assert_eq!(reply_sender(&ipv6ish), None, "not IPv4");
    }

    #[test]
    fn the_source_address_is_the_one_in_the_targets_subnet() {
        let own = [(Ipv4Addr::new(192, 168, 1, 5), 24), (Ipv4Addr::new(10, 0, 0, 2), 24)];
        assert_eq!(source_for(&own, Ipv4Addr::new(10, 0, 0, 1)), Some(Ipv4Addr::new(10, 0, 0, 2)));
        assert_eq!(
            source_for(&own, Ipv4Addr::new(172, 16, 0, 1)),
            Some(Ipv4Addr::new(192, 168, 1, 5)),
            "no subnet matches: the first address"
        );
        assert_eq!(
            source_for(&[(Ipv4Addr::new(10, 1, 2, 3), 0)], Ipv4Addr::new(8, 8, 8, 8)),
            Some(Ipv4Addr::new(10, 1, 2, 3))
        );
        assert_eq!(source_for(&[], Ipv4Addr::new(10, 0, 0, 1)), None);
    }
}
