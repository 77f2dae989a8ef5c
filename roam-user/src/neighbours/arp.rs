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
    io::{self, Read as _},
    net::Ipv4Addr,
};

use anyhow::{Context as _, Result};
use roam_common::MacAddr;
use socket2::{SockFilter, Socket, Type};
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
    p[8..14].copy_from_slice(&sha.0);
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

/// A classic BPF filter for a packet socket (SOCK_DGRAM: offsets from the ARP header) that
/// keeps Ethernet/IPv4 ARP replies whose target hardware address is `mac`.
pub fn replies_to(mac: MacAddr) -> [libc::sock_filter; 10] {
    const LD_H: u16 = (libc::BPF_LD | libc::BPF_H | libc::BPF_ABS) as u16;
    const LD_W: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    const RET: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
    let op = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
    let tha_high = u32::from_be_bytes([mac.0[0], mac.0[1], mac.0[2], mac.0[3]]);
    let tha_low = u32::from(u16::from_be_bytes([mac.0[4], mac.0[5]]));
    [
        op(LD_H, 0, 0, 2),                     // protocol type
        op(JEQ, 0, 6, u32::from(ETH_P_IP)),    //   IPv4, else drop
        op(LD_H, 0, 0, 6),                     // operation
        op(JEQ, 0, 4, u32::from(ARPOP_REPLY)), //   reply, else drop
        op(LD_W, 0, 0, 18),                    // target hardware address, first 4 bytes
        op(JEQ, 0, 2, tha_high),
        op(LD_H, 0, 0, 22),                 // ... last 2
        op(JEQ, 1, 0, tha_low),             //   the station's, else drop
        op(RET, 0, 0, 0),                   // drop
        op(RET, 0, 0, ARP_LEN as u32 + 36), // keep the packet (and padding room)
    ]
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

/// The station's ARP socket. A filter lets through only replies addressed to the station's
/// MAC: the socket does not take a copy of every ARP frame on the network, and between roams
/// it hears only the rare replies to the kernel's own requests, which nobody reads (they are
/// dropped when a port opening starts the asking, [`ArpProber::open`]).
pub struct ArpProber {
    socket: AsyncFd<Socket>,
    ifindex: u32,
    iface: String,
    mac: MacAddr,
}

impl ArpProber {
    pub fn new(ifindex: u32, iface: &str, mac: MacAddr) -> Result<Self> {
        // Protocol 0: the socket hears nothing until filtered and bound to the interface.
        let socket = netif::packet_socket(Type::DGRAM)
            .context("opening an ARP packet socket (needs CAP_NET_RAW)")?;
        let filter = replies_to(mac).map(|op| SockFilter::new(op.code, op.jt, op.jf, op.k));
        socket.attach_filter(&filter).context("filtering the ARP socket")?;
        netif::bind_packet_socket(&socket, ifindex, ETH_P_ARP)
            .with_context(|| format!("binding the ARP socket to {iface}"))?;
        // SAFETY: the AsyncFd owns the socket, so its descriptor stays open while registered.
        let socket = unsafe { AsyncFd::register(socket) }
            .map_err(|e| e.into_parts().1)
            .context("registering the ARP socket")?;
        Ok(Self { socket, ifindex, iface: iface.to_owned(), mac })
    }

    /// Starts asking: what the socket heard before proves nothing about the new path.
    pub fn open(&self) -> ArpExchange<'_> {
        let mut buf = [0u8; 64];
        while self.socket.get_ref().read(&mut buf).is_ok() {}
        ArpExchange { prober: self }
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

/// The socket while a port opening is being confirmed: what it hears came after the opening.
pub struct ArpExchange<'a> {
    prober: &'a ArpProber,
}

impl ArpExchange<'_> {
    /// Broadcasts a request for `target` from `source`.
    pub fn send_request(&self, source: Ipv4Addr, target: Ipv4Addr) -> Result<()> {
        let p = self.prober;
        let packet = request(p.mac, source, target);
        let to = netif::link_address(p.ifindex, ETH_P_ARP, MacAddr::BROADCAST);
        p.socket
            .get_ref()
            .send_to(&packet, &to)
            .with_context(|| format!("sending an ARP request for {target} on {}", p.iface))?;
        Ok(())
    }

    /// The next ARP reply heard on the interface. Cancel-safe.
    pub async fn next_reply(&self) -> Result<(Ipv4Addr, MacAddr)> {
        let socket = &self.prober.socket;
        let mut buf = [0u8; 64];
        loop {
            let mut ready = socket.readable().await.context("waiting on the ARP socket")?;
            let n = match socket.get_ref().read(&mut buf) {
                Ok(n) => n,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    ready.clear_ready();
                    continue;
                }
                Err(err) => return Err(err).context("reading the ARP socket"),
            };
            if let Some(reply) = reply_sender(&buf[..n]) {
                return Ok(reply);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATION: MacAddr = MacAddr([0x02, 0, 0, 0, 0x02, 0]);
    const GATEWAY: MacAddr = MacAddr([0x02, 0, 0, 0, 0xff, 0x01]);

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

    /// Runs the classic BPF program the way the kernel would, for the instructions it uses.
    fn run(filter: &[libc::sock_filter], packet: &[u8]) -> u32 {
        let (mut pc, mut acc) = (0usize, 0u32);
        loop {
            let i = filter[pc];
            let at = i.k as usize;
            match i.code as u32 {
                c if c == libc::BPF_LD | libc::BPF_H | libc::BPF_ABS => {
                    let Some(b) = packet.get(at..at + 2) else { return 0 };
                    acc = u32::from(u16::from_be_bytes([b[0], b[1]]));
                }
                c if c == libc::BPF_LD | libc::BPF_W | libc::BPF_ABS => {
                    let Some(b) = packet.get(at..at + 4) else { return 0 };
                    acc = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
                }
                c if c == libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K => {
                    pc += usize::from(if acc == i.k { i.jt } else { i.jf });
                }
                c if c == libc::BPF_RET | libc::BPF_K => return i.k,
                other => panic!("instruction {other:#x} not interpreted"),
            }
            pc += 1;
        }
    }

    #[test]
    fn the_filter_keeps_only_replies_to_the_station() {
        let filter = replies_to(STATION);
        let mut to_station =
            request(GATEWAY, Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
        to_station[7] = 2;
        to_station[18..24].copy_from_slice(&STATION.0);
        assert!(run(&filter, &to_station) as usize >= ARP_LEN, "a reply to the station");
        let mut to_other = to_station;
        to_other[23] ^= 1;
        assert_eq!(run(&filter, &to_other), 0, "a reply to another host");
        let mut request_to_station = to_station;
        request_to_station[7] = 1;
        assert_eq!(run(&filter, &request_to_station), 0, "a request");
        assert_eq!(run(&filter, &to_station[..20]), 0, "truncated");
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
