//! Putting back a neighbour entry the carrier loss flushed, on a veth pair: the packets queued
//! behind the re-created INCOMPLETE entry must leave the moment the entry is put back. Nobody
//! answers ARP on the peer, so without the put-back they would never leave.
//!
//! With the neighbour task (what the agent runs), nothing leaves at the port opening itself:
//! the task asks the gateway first, and the packets leave when it answers.

use std::{
    net::{IpAddr, SocketAddrV6, UdpSocket},
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    time::{Duration, Instant},
};

use anyhow::{ensure, Context as _, Result};
use integration_test::{in_netns, ip, sysctl, veth_pair};
use roam_common::MacAddr;
use roam_user::{
    carrier::LinkWatcher,
    neighbours::{
        self, arp, ArpProber, Confirmation, NdProber, NeighbourFollower, PathNews, PortOpened,
        Probers, PutBackPlan,
    },
    netif,
};
use tokio::sync::{mpsc, watch};

const STATION: &str = "roamsta0";
const PEER: &str = "roamap0";
const GATEWAY: &str = "10.79.0.2";
const GATEWAY_MAC: &str = "02:00:00:00:ff:01";
const PORT: u16 = 9999;
const WAIT: Duration = Duration::from_secs(5);

/// A packet socket on the peer: sees every IPv4 packet the station puts on the wire.
fn capture(iface: &str) -> Result<OwnedFd> {
    packet_socket(iface, libc::ETH_P_IP as u16)
}

fn packet_socket(iface: &str, protocol: u16) -> Result<OwnedFd> {
    // SAFETY: plain socket(2), checked and owned right away.
    let fd = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            protocol.to_be() as i32,
        )
    };
    ensure!(fd >= 0, "AF_PACKET socket: {}", std::io::Error::last_os_error());
    // SAFETY: fresh descriptor owned by nothing else.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: sockaddr_ll is plain data.
    let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    addr.sll_family = libc::AF_PACKET as u16;
    addr.sll_protocol = protocol.to_be();
    addr.sll_ifindex = netif::ifindex(iface)? as i32;
    // SAFETY: addr is a valid sockaddr_ll of the size given.
    let rc = unsafe {
        libc::bind(
            socket.as_raw_fd(),
            &addr as *const libc::sockaddr_ll as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    ensure!(rc == 0, "binding the capture: {}", std::io::Error::last_os_error());
    Ok(socket)
}

/// Counts UDP datagrams to GATEWAY:PORT on the capture until `want` are seen or nothing more
/// arrives within `wait` (awaited with poll, not slept).
fn datagrams_seen(socket: &OwnedFd, want: usize, wait: Duration) -> Result<usize> {
    packets_seen(socket, want, wait, |packet| {
        let ihl = usize::from(packet[0] & 0x0f) * 4;
        packet.len() >= ihl + 4
            && packet[9] == libc::IPPROTO_UDP as u8
            && u16::from_be_bytes([packet[ihl + 2], packet[ihl + 3]]) == PORT
    })
}

/// The same for UDP datagrams to PORT in IPv6 packets (no extension headers).
fn udp6_seen(socket: &OwnedFd, want: usize, wait: Duration) -> Result<usize> {
    packets_seen(socket, want, wait, |packet| {
        packet.len() >= 44
            && packet[6] == libc::IPPROTO_UDP as u8
            && u16::from_be_bytes([packet[42], packet[43]]) == PORT
    })
}

/// Counts the packets on the capture that `wanted` picks until `want` are seen or nothing more
/// arrives within `wait`.
fn packets_seen(
    socket: &OwnedFd,
    want: usize,
    wait: Duration,
    wanted: impl Fn(&[u8]) -> bool,
) -> Result<usize> {
    let mut n = 0;
    let mut buf = [0u8; 2048];
    let deadline = Instant::now() + wait;
    while n < want {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut pfd = libc::pollfd { fd: socket.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd.
        if unsafe { libc::poll(&mut pfd, 1, left.as_millis() as i32) } <= 0 {
            break;
        }
        // SAFETY: buf is valid for its length.
        let len = unsafe { libc::recv(socket.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        ensure!(len > 0, "reading the capture: {}", std::io::Error::last_os_error());
        if wanted(&buf[..len as usize]) {
            n += 1;
        }
    }
    Ok(n)
}

/// A valid IPv6 entry on the station, as one the kernel resolved.
fn reachable_v6(addr: &str, mac: &str) -> Result<()> {
    ip(&["-6", "neigh", "replace", addr, "lladdr", mac, "dev", STATION, "nud", "reachable"])
}

fn neighbour_state(addr: &str) -> Result<String> {
    let out =
        std::process::Command::new("ip").args(["neigh", "show", addr, "dev", STATION]).output()?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The roam as the neighbour table sees it: the gateway's entry is valid, the carrier goes off
/// (the kernel flushes the entry), five datagrams wait behind the re-created INCOMPLETE entry
/// whose ARP request went nowhere, the carrier comes back. Returns the capture on the peer.
fn roam_with_five_datagrams_queued() -> Result<OwnedFd> {
    let station = netif::ifindex(STATION)?;
    ip(&["neigh", "replace", GATEWAY, "lladdr", GATEWAY_MAC, "dev", STATION, "nud", "reachable"])?;
    let socket = UdpSocket::bind("10.79.0.1:0")?;
    let mut links = LinkWatcher::new()?;
    ip(&["link", "set", PEER, "down"])?;
    links.wait_carrier(station, false, WAIT)?;
    // The flush happens before the link notification goes out.
    let state = neighbour_state(GATEWAY)?;
    ensure!(!state.contains(GATEWAY_MAC), "arp_evict_nocarrier flushed the entry: {state}");
    for i in 0..5u32 {
        socket.send_to(&i.to_be_bytes(), (GATEWAY, PORT))?;
    }
    ip(&["link", "set", PEER, "up"])?;
    links.wait_carrier(station, true, WAIT)?;
    // Opened on the peer once it is up (a packet socket on a downed device errors).
    capture(PEER)
}

#[test]
fn a_flushed_entry_put_back_releases_the_packets_queued_behind_it() -> Result<()> {
    in_netns(|| {
        veth_pair(STATION, "10.79.0.1/24", PEER)?;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(async {
            let mut follower = NeighbourFollower::new(netif::ifindex(STATION)?)?;
            let transition_start = netif::monotonic_ns();
            let capture = roam_with_five_datagrams_queued()?;

            // Everything the follower was told up to now (the valid entry, its deletion).
            while tokio::time::timeout(Duration::from_millis(200), follower.next()).await.is_ok() {}
            let early = datagrams_seen(&capture, 1, Duration::from_millis(100))?;
            assert_eq!(early, 0, "no one answers ARP: nothing has left yet");

            let gateway = GATEWAY.parse()?;
            let answered = GATEWAY_MAC.parse()?;
            let put_back = follower.put_back_confirmed(transition_start, gateway, answered)?;
            assert_eq!(put_back.len(), 1, "the gateway's entry, flushed in this transition");
            assert_eq!(put_back[0].ip, GATEWAY.parse::<IpAddr>()?);
            assert_eq!(put_back[0].lladdr, [2, 0, 0, 0, 0xff, 1]);
            let state = neighbour_state(GATEWAY)?;
            ensure!(state.contains(GATEWAY_MAC), "the entry has its old address back: {state}");

            let released = datagrams_seen(&capture, 5, WAIT)?;
            assert_eq!(released, 5, "the five queued datagrams left when the entry came back");
            let again = follower.put_back_confirmed(transition_start, gateway, answered)?;
            assert!(again.is_empty(), "once per transition");
            Ok(())
        })
    })
}

/// The gateway, starting to answer: replies to the next ARP request for GATEWAY heard on the
/// peer (within `wait`) from `mac`. Returns once it has answered.
fn answer_one_arp_request(iface: &str, mac: MacAddr, wait: Duration) -> Result<()> {
    let socket = packet_socket(iface, 0x0806)?;
    let gateway: std::net::Ipv4Addr = GATEWAY.parse()?;
    let deadline = Instant::now() + wait;
    let mut buf = [0u8; 64];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut pfd = libc::pollfd { fd: socket.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd.
        ensure!(unsafe { libc::poll(&mut pfd, 1, left.as_millis() as i32) } > 0, "no ARP request");
        // SAFETY: buf is valid for its length.
        let len = unsafe { libc::recv(socket.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        ensure!(len >= arp::ARP_LEN as isize, "reading ARP: {}", std::io::Error::last_os_error());
        let packet = &buf[..len as usize];
        let is_request_for_gateway = packet[6..8] == [0, 1] && packet[24..28] == gateway.octets();
        if !is_request_for_gateway {
            continue;
        }
        let asker_mac: [u8; 6] = packet[8..14].try_into()?;
        let asker_ip = std::net::Ipv4Addr::new(packet[14], packet[15], packet[16], packet[17]);
        let mut reply = arp::request(mac, gateway, asker_ip);
        reply[6..8].copy_from_slice(&2u16.to_be_bytes());
        reply[18..24].copy_from_slice(&asker_mac);
        // SAFETY: sockaddr_ll is plain data.
        let mut to: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        to.sll_family = libc::AF_PACKET as u16;
        to.sll_protocol = 0x0806u16.to_be();
        to.sll_ifindex = netif::ifindex(iface)? as i32;
        to.sll_halen = 6;
        to.sll_addr[..6].copy_from_slice(&asker_mac);
        // SAFETY: reply and to are valid for the sizes given.
        let sent = unsafe {
            libc::sendto(
                socket.as_raw_fd(),
                reply.as_ptr().cast(),
                reply.len(),
                0,
                &to as *const libc::sockaddr_ll as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        ensure!(sent == reply.len() as isize, "ARP reply: {}", std::io::Error::last_os_error());
        return Ok(());
    }
}

/// The neighbour task on the station, as the agent runs it: the port-opening and plan senders,
/// and its reports.
struct Task {
    opened: mpsc::UnboundedSender<PortOpened>,
    plan: watch::Sender<Option<PutBackPlan>>,
    restored: mpsc::UnboundedReceiver<neighbours::Restored>,
    /// The task's word on the path through the new AP (for the router task).
    path: watch::Receiver<Option<PathNews>>,
}

fn spawn_task(station: u32) -> Result<Task> {
    let follower = NeighbourFollower::new(station)?;
    let prober = ArpProber::new(station, STATION, MacAddr([2, 0, 0, 0, 0, 1]))?;
    let (opened, opened_rx) = mpsc::unbounded_channel();
    let (plan, plan_rx) = watch::channel(None);
    let (restored_tx, restored) = mpsc::unbounded_channel();
    let (path_tx, path) = watch::channel(None);
    let probers = Probers { arp: Some(prober), nd: None };
    neighbours::spawn(follower, probers, opened_rx, plan_rx, restored_tx, path_tx);
    Ok(Task { opened, plan, restored, path })
}

impl Task {
    /// The port opens now; returns its time.
    fn port_opened(&self) -> Result<u64> {
        let at_ns = netif::monotonic_ns();
        let port = PortOpened { bssid: MacAddr([2, 0, 0, 0, 1, 0]), at_ns };
        self.opened.send(port)?;
        Ok(at_ns)
    }

    /// The gateway answers from `mac`; the task's report of it.
    async fn gateway_answers(&mut self, mac: &str) -> Result<neighbours::Restored> {
        let mac = mac.parse()?;
        tokio::task::spawn_blocking(move || answer_one_arp_request(PEER, mac, WAIT)).await??;
        tokio::time::timeout(WAIT, self.restored.recv())
            .await
            .context("no report after the answer")?
            .context("the task ended")
    }
}

#[test]
fn the_neighbour_task_releases_the_queue_when_the_gateway_answers_through_the_new_path(
) -> Result<()> {
    in_netns(|| {
        veth_pair(STATION, "10.79.0.1/24", PEER)?;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(async {
            let mut task = spawn_task(netif::ifindex(STATION)?)?;
            task.plan.send_replace(Some(PutBackPlan { since_ns: netif::monotonic_ns() }));
            let capture = roam_with_five_datagrams_queued()?;

            // The port opens; the gateway does not answer yet (the AP has not authorised us).
            let opened_ns = task.port_opened()?;
            let early =
                tokio::time::timeout(Duration::from_millis(150), task.restored.recv()).await;
            ensure!(early.is_err(), "nothing goes back before an answer: {early:?}");
            assert_eq!(datagrams_seen(&capture, 1, Duration::from_millis(50))?, 0);
            assert_eq!(*task.path.borrow(), None, "no word on the path before an answer");

            // The path works: the gateway answers one of the task's requests.
            let restored = task.gateway_answers(GATEWAY_MAC).await?;
            assert_eq!(restored.confirmation, Confirmation::ArpReply(GATEWAY.parse()?));
            let news = PathNews { port_at_ns: opened_ns, confirmed: true };
            assert_eq!(*task.path.borrow(), Some(news), "the answer proved the path");
            restored.result?;
            let released = datagrams_seen(&capture, 5, WAIT)?;
            assert_eq!(released, 5, "the five queued datagrams left when the gateway answered");
            let state = neighbour_state(GATEWAY)?;
            ensure!(state.contains(GATEWAY_MAC), "the entry is resolved: {state}");
            Ok(())
        })
    })
}

/// After a move to another network whose gateway has the same IP and another MAC: the gateway's
/// entry goes back with the address that answered, and the old router's IPv6 entry (the old
/// MAC) is not put back unconfirmed.
#[test]
fn only_what_answered_goes_back_with_the_address_that_answered() -> Result<()> {
    const OLD_ROUTER_V6: &str = "fe80::99";
    const NEW_GATEWAY_MAC: &str = "02:00:00:00:ee:02";
    in_netns(|| {
        veth_pair(STATION, "10.79.0.1/24", PEER)?;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(async {
            let station = netif::ifindex(STATION)?;
            // A new namespace may start with IPv6 off on its interfaces.
            let ipv6 = format!("/proc/sys/net/ipv6/conf/{STATION}/disable_ipv6");
            std::fs::write(&ipv6, "0").with_context(|| format!("enabling IPv6 ({ipv6})"))?;
            reachable_v6(OLD_ROUTER_V6, GATEWAY_MAC)?;
            let mut task = spawn_task(station)?;
            task.plan.send_replace(Some(PutBackPlan { since_ns: netif::monotonic_ns() }));
            let capture = roam_with_five_datagrams_queued()?;
            ensure!(neighbour_state(OLD_ROUTER_V6)?.is_empty(), "the carrier loss flushed it");

            task.port_opened()?;
            let restored = task.gateway_answers(NEW_GATEWAY_MAC).await?;
            assert_eq!(restored.confirmation, Confirmation::ArpReply(GATEWAY.parse()?));
            restored.result?;
            assert_eq!(datagrams_seen(&capture, 5, WAIT)?, 5, "the queue left");
            let state = neighbour_state(GATEWAY)?;
            ensure!(state.contains(NEW_GATEWAY_MAC), "the new gateway's address: {state}");
            let old_router = neighbour_state(OLD_ROUTER_V6)?;
            ensure!(old_router.is_empty(), "the old router went back unconfirmed: {old_router}");
            Ok(())
        })
    })
}

/// IPv6: the router's entry (a link-local address nobody on the peer owns, so only the test
/// answers for it), flushed by the carrier loss with datagrams queued behind it, goes back
/// when the router answers the task's neighbour solicitation through the new path, with the
/// address that answered; not before.
#[test]
fn an_ipv6_neighbour_goes_back_when_it_answers_a_solicitation() -> Result<()> {
    const STATION_V6: &str = "fe80::1";
    const PEER_V6: &str = "fe80::2";
    const ROUTER_V6: &str = "fe80::99";
    const NEW_ROUTER_MAC: &str = "02:00:00:00:ee:06";
    in_netns(|| {
        veth_pair(STATION, "10.79.0.1/24", PEER)?;
        // Fixed addresses without duplicate address detection: usable at once.
        for (dev, addr) in [(STATION, STATION_V6), (PEER, PEER_V6)] {
            sysctl(&format!("net.ipv6.conf.{dev}.addr_gen_mode"), "1")?;
            sysctl(&format!("net.ipv6.conf.{dev}.disable_ipv6"), "0")?;
            ip(&["-6", "addr", "add", &format!("{addr}/64"), "dev", dev, "nodad"])?;
        }
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(async {
            let station = netif::ifindex(STATION)?;
            let station_mac = netif_mac(STATION)?;
            let follower = NeighbourFollower::new(station)?;
            let probers =
                Probers { arp: None, nd: Some(NdProber::new(station, STATION, station_mac)?) };
            let (opened, opened_rx) = mpsc::unbounded_channel();
            let (plan, plan_rx) = watch::channel(None);
            let (restored_tx, mut restored) = mpsc::unbounded_channel();
            let path = watch::channel(None).0;
            neighbours::spawn(follower, probers, opened_rx, plan_rx, restored_tx, path);
            plan.send_replace(Some(PutBackPlan { since_ns: netif::monotonic_ns() }));

            // The roam: a valid entry, the carrier goes, three datagrams queue, it comes back.
            reachable_v6(ROUTER_V6, GATEWAY_MAC)?;
            let router = SocketAddrV6::new(ROUTER_V6.parse()?, PORT, 0, station);
            let socket = UdpSocket::bind(SocketAddrV6::new(STATION_V6.parse()?, 0, 0, station))?;
            let mut links = LinkWatcher::new()?;
            ip(&["link", "set", PEER, "down"])?;
            links.wait_carrier(station, false, WAIT)?;
            ensure!(neighbour_state(ROUTER_V6)?.is_empty(), "the carrier loss flushed it");
            for i in 0..3u32 {
                socket.send_to(&i.to_be_bytes(), router)?;
            }
            ip(&["link", "set", PEER, "up"])?;
            // The peer's link-local address went with its down (the station's carrier loss).
            ip(&["-6", "addr", "add", &format!("{PEER_V6}/64"), "dev", PEER, "nodad"])?;
            links.wait_carrier(station, true, WAIT)?;
            let capture = packet_socket(PEER, libc::ETH_P_IPV6 as u16)?;

            let port =
                PortOpened { bssid: MacAddr([2, 0, 0, 0, 1, 0]), at_ns: netif::monotonic_ns() };
            opened.send(port)?;
            let early = tokio::time::timeout(Duration::from_millis(150), restored.recv()).await;
            ensure!(early.is_err(), "nothing goes back before an answer: {early:?}");

            let mac: MacAddr = NEW_ROUTER_MAC.parse()?;
            tokio::task::spawn_blocking(move || {
                answer_one_solicitation(PEER, ROUTER_V6, mac, WAIT)
            })
            .await??;
            let report = tokio::time::timeout(WAIT, restored.recv())
                .await
                .context("no report after the answer")?
                .context("the task ended")?;
            assert_eq!(
                report.confirmation,
                Confirmation::NeighbourAdvertisement(ROUTER_V6.parse()?)
            );
            report.result?;
            assert_eq!(udp6_seen(&capture, 3, WAIT)?, 3, "the queued datagrams left");
            let state = neighbour_state(ROUTER_V6)?;
            ensure!(state.contains(NEW_ROUTER_MAC), "the address that answered: {state}");
            Ok(())
        })
    })
}

fn netif_mac(iface: &str) -> Result<MacAddr> {
    let text = std::fs::read_to_string(format!("/sys/class/net/{iface}/address"))?;
    Ok(text.trim().parse()?)
}

/// The router, starting to answer: the next neighbour solicitation for `target` heard on the
/// peer (within `wait`) gets an advertisement from `mac`, sent to the station from the peer's
/// own link-local address.
fn answer_one_solicitation(iface: &str, target: &str, mac: MacAddr, wait: Duration) -> Result<()> {
    use socket2::{Domain, Protocol, SockAddr, Socket, Type};
    let target: std::net::Ipv6Addr = target.parse()?;
    let socket = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))?;
    socket.bind_device(Some(iface.as_bytes()))?;
    socket.set_unicast_hops_v6(255)?;
    socket.set_read_timeout(Some(wait))?;
    let ifindex = netif::ifindex(iface)?;
    // Solicitations go to the target's solicited-node group, which only its owner has joined.
    socket.join_multicast_v6(&neighbours::nd::solicited_node(target), ifindex)?;
    let deadline = Instant::now() + wait;
    let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 256];
    loop {
        ensure!(Instant::now() < deadline, "no solicitation for {target}");
        let (len, from) = socket.recv_from(&mut buf)?;
        // SAFETY: recv_from initialised the first len bytes.
        let packet: &[u8] = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast(), len) };
        let is_solicitation_for_target =
            packet.len() >= 24 && packet[0] == 135 && packet[8..24] == target.octets();
        if !is_solicitation_for_target {
            continue;
        }
        let asker = from.as_socket_ipv6().context("an IPv6 sender")?;
        let mut advert = vec![136, 0, 0, 0, 0xe0, 0, 0, 0];
        advert.extend(target.octets());
        advert.extend([2, 1]);
        advert.extend(mac.0);
        let to = SocketAddrV6::new(*asker.ip(), 0, 0, ifindex);
        socket
            .send_to(&advert, &SockAddr::from(to))
            .with_context(|| format!("answering {to} from {iface}"))?;
        return Ok(());
    }
}
