//! Asking before releasing, for IPv6: neighbour solicitations for the flushed IPv6 neighbours
//! once the station's port opens, as [`super::arp`] asks the IPv4 ones. A neighbour
//! advertisement that answers one proves the path through the new AP works both ways, and
//! gives the address the neighbour has there (after a move to another network, the same IPv6
//! address may be another host's).
//!
//! The solicitation goes to the target's solicited-node multicast group, from the address the
//! kernel picks for that link-scope destination (the station's link-local one), with the
//! station's link-layer address as an option, so the neighbour answers at once; an answer to a
//! multicast solicitation must carry the target's link-layer address (RFC 4861, 7.2.4).

use std::{
    io,
    mem::MaybeUninit,
    net::{Ipv6Addr, SocketAddrV6},
};

use anyhow::{Context as _, Result};
use roam_common::MacAddr;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;

const NEIGHBOR_SOLICITATION: u8 = 135;
const NEIGHBOR_ADVERTISEMENT: u8 = 136;
pub(super) const OPTION_SOURCE_LINK_ADDRESS: u8 = 1;
const OPTION_TARGET_LINK_ADDRESS: u8 = 2;
/// Neighbour discovery is only valid from the link itself: sent and received with the largest
/// hop limit (RFC 4861, 7.1).
const ND_HOP_LIMIT: u32 = 255;
/// ICMPv6 header, reserved word, target, and one link-layer address option.
pub const SOLICITATION_LEN: usize = 32;
/// `ICMP6_FILTER` of <netinet/icmp6.h> (absent from the libc crate).
const ICMP6_FILTER: libc::c_int = 1;

/// A neighbour solicitation for `target` from a station at `mac`. The checksum is left zero:
/// the kernel computes it for ICMPv6 raw sockets.
pub fn solicitation(target: Ipv6Addr, mac: MacAddr) -> [u8; SOLICITATION_LEN] {
    let mut p = [0u8; SOLICITATION_LEN];
    p[0] = NEIGHBOR_SOLICITATION;
    p[8..24].copy_from_slice(&target.octets());
    p[24] = OPTION_SOURCE_LINK_ADDRESS;
    p[25] = 1; // in units of 8 bytes
    p[26..32].copy_from_slice(&mac.0);
    p
}

/// The target and link-layer address of a neighbour advertisement (ICMPv6 message, without
/// the IPv6 header, as a raw socket reads it); `None` for anything else, or an advertisement
/// without the address.
pub fn advertisement(packet: &[u8]) -> Option<(Ipv6Addr, MacAddr)> {
    if packet.len() < 24 || packet[0] != NEIGHBOR_ADVERTISEMENT || packet[1] != 0 {
        return None;
    }
    let target = Ipv6Addr::from(<[u8; 16]>::try_from(&packet[8..24]).ok()?);
    let mut options = &packet[24..];
    while options.len() >= 8 {
        let len = usize::from(options[1]) * 8;
        if len == 0 || len > options.len() {
            return None; // malformed: RFC 4861 says to drop the packet
        }
        if options[0] == OPTION_TARGET_LINK_ADDRESS && len >= 8 {
            let mac = MacAddr(options[2..8].try_into().ok()?);
            return Some((target, mac));
        }
        options = &options[len..];
    }
    None
}

/// ff02::1:ffXX:XXXX, the group a neighbour with address `target` listens on.
pub fn solicited_node(target: Ipv6Addr) -> Ipv6Addr {
    let o = target.octets();
    Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(o[13]),
        u16::from_be_bytes([o[14], o[15]]),
    )
}

/// The station's ICMPv6 socket for neighbour discovery, bound to its interface and letting
/// through neighbour advertisements only (the kernel filters before queueing). Between roams it
/// hears only the rare answers to the kernel's own reachability checks, which nobody reads
/// (they are dropped when a port opening starts the asking, [`NdProber::open`]), as the ARP
/// socket does.
pub struct NdProber {
    socket: AsyncFd<Socket>,
    ifindex: u32,
    iface: String,
    mac: MacAddr,
}

impl NdProber {
    pub fn new(ifindex: u32, iface: &str, mac: MacAddr) -> Result<Self> {
        let socket = link_socket(iface, Some(NEIGHBOR_ADVERTISEMENT))?;
        // SAFETY: the AsyncFd owns the socket, so its descriptor stays open while registered.
        let socket = unsafe { AsyncFd::register(socket) }
            .map_err(|e| e.into_parts().1)
            .context("registering the ICMPv6 socket")?;
        Ok(Self { socket, ifindex, iface: iface.to_owned(), mac })
    }

    /// Starts asking: what the socket heard before proves nothing about the new path.
    pub fn open(&self) -> NdExchange<'_> {
        let mut buf = [MaybeUninit::<u8>::uninit(); 128];
        while self.socket.get_ref().recv(&mut buf).is_ok() {}
        NdExchange { prober: self }
    }
}

/// A non-blocking ICMPv6 socket for neighbour discovery on `iface`: bound to it, sending with
/// the hop limit discovery requires, not hearing itself, and letting in only messages of type
/// `passed` (none without), as the kernel filters before queueing.
pub(super) fn link_socket(iface: &str, passed: Option<u8>) -> Result<Socket> {
    let socket = Socket::new(Domain::IPV6, Type::RAW.nonblocking(), Some(Protocol::ICMPV6))
        .context("opening an ICMPv6 socket (needs CAP_NET_RAW)")?;
    pass_only(&socket, passed).context("filtering the ICMPv6 socket")?;
    socket.set_multicast_hops_v6(ND_HOP_LIMIT)?;
    socket.set_unicast_hops_v6(ND_HOP_LIMIT)?;
    socket.set_multicast_loop_v6(false)?;
    socket
        .bind_device(Some(iface.as_bytes()))
        .with_context(|| format!("binding the ICMPv6 socket to {iface}"))?;
    Ok(socket)
}

/// Blocks every ICMPv6 type but `passed` (a set bit blocks its type).
fn pass_only(socket: &Socket, passed: Option<u8>) -> io::Result<()> {
    let mut filter = [u32::MAX; 8];
    if let Some(kind) = passed.map(usize::from) {
        filter[kind >> 5] &= !(1u32 << (kind & 31));
    }
    // SAFETY: the option value is the 32-byte struct icmp6_filter the kernel expects, valid
    // for the length given; the descriptor is the socket's own.
    let rc = unsafe {
        libc::setsockopt(
            std::os::fd::AsRawFd::as_raw_fd(socket),
            libc::IPPROTO_ICMPV6,
            ICMP6_FILTER,
            filter.as_ptr().cast(),
            std::mem::size_of_val(&filter) as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The socket while a port opening is being confirmed: what it hears came after the opening.
pub struct NdExchange<'a> {
    prober: &'a NdProber,
}

impl NdExchange<'_> {
    /// Multicasts a solicitation for `target` to its solicited-node group.
    pub fn send_solicitation(&self, target: Ipv6Addr) -> Result<()> {
        let p = self.prober;
        let packet = solicitation(target, p.mac);
        let to = SocketAddrV6::new(solicited_node(target), 0, 0, p.ifindex);
        p.socket.get_ref().send_to(&packet, &SockAddr::from(to)).with_context(|| {
            format!("sending a neighbour solicitation for {target} on {}", p.iface)
        })?;
        Ok(())
    }

    /// The next neighbour advertisement heard on the interface. Cancel-safe.
    pub async fn next_advertisement(&self) -> Result<(Ipv6Addr, MacAddr)> {
        let socket = &self.prober.socket;
        let mut buf = [MaybeUninit::<u8>::uninit(); 128];
        loop {
            let mut ready = socket.readable().await.context("waiting on the ICMPv6 socket")?;
            let n = match socket.get_ref().recv(&mut buf) {
                Ok(n) => n,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    ready.clear_ready();
                    continue;
                }
                Err(err) => return Err(err).context("reading the ICMPv6 socket"),
            };
            // SAFETY: recv initialised the first n bytes.
            let packet: &[u8] = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast(), n) };
            if let Some(answer) = advertisement(packet) {
                return Ok(answer);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATION: MacAddr = MacAddr([0x02, 0, 0, 0, 0x02, 0]);
    const ROUTER: MacAddr = MacAddr([0x02, 0, 0, 0, 0xff, 0x01]);

    fn router() -> Ipv6Addr {
        "fe80::ff:fe00:ff01".parse().unwrap()
    }

    /// An advertisement for `target` from `mac`, as a router sends it (router, solicited,
    /// override flags).
    fn advertised(target: Ipv6Addr, mac: MacAddr) -> Vec<u8> {
        let mut p = vec![NEIGHBOR_ADVERTISEMENT, 0, 0, 0, 0xe0, 0, 0, 0];
        p.extend(target.octets());
        p.extend([OPTION_TARGET_LINK_ADDRESS, 1]);
        p.extend(mac.0);
        p
    }

    #[test]
    fn a_solicitation_is_the_message_the_kernel_would_send() {
        let p = solicitation(router(), STATION);
        assert_eq!(&p[..8], &[135, 0, 0, 0, 0, 0, 0, 0], "type, code, checksum, reserved");
        assert_eq!(&p[8..24], &router().octets());
        assert_eq!(&p[24..], &[1, 1, 2, 0, 0, 0, 2, 0], "source link-layer address option");
    }

    #[test]
    fn the_solicited_node_group_takes_the_last_three_bytes() {
        assert_eq!(solicited_node(router()), "ff02::1:ff00:ff01".parse::<Ipv6Addr>().unwrap());
        let global: Ipv6Addr = "2001:db8::12:3456".parse().unwrap();
        assert_eq!(solicited_node(global), "ff02::1:ff12:3456".parse::<Ipv6Addr>().unwrap());
    }

    #[test]
    fn advertisements_give_their_target_and_address_and_nothing_else_does() {
        assert_eq!(advertisement(&advertised(router(), ROUTER)), Some((router(), ROUTER)));
        // Another option first (a nonce, RFC 3971), then the address.
        let mut with_nonce = advertised(router(), ROUTER);
        with_nonce.splice(24..24, [14, 1, 1, 2, 3, 4, 5, 6]);
        assert_eq!(advertisement(&with_nonce), Some((router(), ROUTER)));
        let without_address = advertised(router(), ROUTER)[..24].to_vec();
        assert_eq!(advertisement(&without_address), None, "no target link-layer address");
        let mut solicitation = advertised(router(), ROUTER);
        solicitation[0] = NEIGHBOR_SOLICITATION;
        assert_eq!(advertisement(&solicitation), None, "a solicitation");
        let mut zero_length = advertised(router(), ROUTER);
        zero_length[25] = 0;
        assert_eq!(advertisement(&zero_length), None, "a zero-length option");
        assert_eq!(advertisement(&advertised(router(), ROUTER)[..20]), None, "truncated");
    }
}
