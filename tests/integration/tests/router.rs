//! Asking the router again for the IPv6 default route a carrier loss took, on a veth pair: the
//! route is installed through a nexthop (as systemd-networkd 256 and later do), the carrier loss
//! deletes both, and the router task solicits once the port opens and the path is known. The
//! test plays the router and the host's router discovery: it reads the solicitation on the peer
//! and installs the route again, which is what the task waits for.

use std::{
    net::Ipv6Addr,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{ensure, Context as _, Result};
use integration_test::{in_netns, ip, sysctl, veth_pair};
use roam_common::MacAddr;
use roam_user::{
    carrier::LinkWatcher,
    neighbours::{
        router::{self, RouterReport, RouterSolicitor},
        routes::RouteFollower,
        PathNews, PortOpened, PutBackPlan,
    },
    netif,
};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::sync::{mpsc, watch};

const STATION: &str = "roamsta1";
const PEER: &str = "roamrt1";
const STATION_V6: &str = "fe80::1";
const ROUTER_V6: &str = "fe80::2";
const WAIT: Duration = Duration::from_secs(5);

/// Fixed link-local addresses without duplicate address detection: usable at once.
fn link_local(dev: &str, addr: &str) -> Result<()> {
    ip(&["-6", "addr", "add", &format!("{addr}/64"), "dev", dev, "nodad"])
}

/// `default via ROUTER_V6 proto ra` through nexthop `id`, as networkd 257 installs it.
fn advertised_route(id: u32) -> Result<()> {
    let id = id.to_string();
    ip(&["-6", "nexthop", "add", "id", &id, "via", ROUTER_V6, "dev", STATION])?;
    ip(&["-6", "route", "add", "default", "nhid", &id, "proto", "ra", "metric", "1024"])
}

fn default_route() -> Result<String> {
    let out = std::process::Command::new("ip").args(["-6", "route", "show", "default"]).output()?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The router task on the station, as the agent runs it.
struct Task {
    opened: mpsc::UnboundedSender<PortOpened>,
    plan: watch::Sender<Option<PutBackPlan>>,
    path: watch::Sender<Option<PathNews>>,
    reports: mpsc::UnboundedReceiver<RouterReport>,
}

fn spawn_task(station: u32, mac: MacAddr) -> Result<Task> {
    let follower = RouteFollower::new(station)?;
    let solicitor = RouterSolicitor::new(station, STATION, mac)?;
    let (opened, opened_rx) = mpsc::unbounded_channel();
    let (plan, plan_rx) = watch::channel(None);
    let (path, path_rx) = watch::channel(None);
    let (reports_tx, reports) = mpsc::unbounded_channel();
    router::spawn(follower, solicitor, opened_rx, plan_rx, path_rx, reports_tx);
    Ok(Task { opened, plan, path, reports })
}

impl Task {
    /// A roam during a transition: the carrier goes and comes back ([`roam`]), and the port
    /// opens; returns the opening's time.
    fn roam_to_port_opening(&self, station: u32) -> Result<u64> {
        self.plan.send_replace(Some(PutBackPlan { since_ns: netif::monotonic_ns() }));
        roam(station)?;
        let at_ns = netif::monotonic_ns();
        self.opened.send(PortOpened { bssid: MacAddr([2, 0, 0, 0, 1, 0]), at_ns })?;
        Ok(at_ns)
    }
}

/// The router's side: an ICMPv6 socket on the peer that reads router solicitations.
fn router_socket() -> Result<Socket> {
    let socket = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))?;
    socket.bind_device(Some(PEER.as_bytes()))?;
    let all_routers: Ipv6Addr = "ff02::2".parse()?;
    socket.join_multicast_v6(&all_routers, netif::ifindex(PEER)?)?;
    Ok(socket)
}

/// The next router solicitation heard within `wait`: its source and the link-layer address it
/// carries.
fn next_solicitation(socket: &Socket, wait: Duration) -> Result<(Ipv6Addr, [u8; 6])> {
    let deadline = Instant::now() + wait;
    let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 256];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        ensure!(!left.is_zero(), "no router solicitation within {wait:?}");
        socket.set_read_timeout(Some(left))?;
        let (len, from) = socket.recv_from(&mut buf).context("no router solicitation")?;
        // SAFETY: recv_from initialised the first len bytes.
        let packet: &[u8] = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast(), len) };
        if packet.len() < 16 || packet[0] != 133 {
            continue;
        }
        ensure!(packet[8..10] == [1, 1], "a source link-layer address option: {packet:?}");
        let source = *from.as_socket_ipv6().context("an IPv6 sender")?.ip();
        return Ok((source, packet[10..16].try_into()?));
    }
}

/// [`next_solicitation`], off the runtime's thread.
async fn solicitation_within(router: &Arc<Socket>, wait: Duration) -> Result<(Ipv6Addr, [u8; 6])> {
    let router = router.clone();
    tokio::task::spawn_blocking(move || next_solicitation(&router, wait)).await?
}

/// The roam as the routing table sees it: the carrier goes (the kernel deletes the nexthop and
/// the route), and comes back.
fn roam(station: u32) -> Result<()> {
    let mut links = LinkWatcher::new()?;
    ip(&["link", "set", PEER, "down"])?;
    links.wait_carrier(station, false, WAIT)?;
    ensure!(default_route()?.is_empty(), "the carrier loss took the route: {}", default_route()?);
    ip(&["link", "set", PEER, "up"])?;
    // The peer's address went with its down.
    link_local(PEER, ROUTER_V6)?;
    links.wait_carrier(station, true, WAIT)
}

fn setup() -> Result<(u32, MacAddr)> {
    veth_pair(STATION, "10.78.0.1/24", PEER)?;
    // Router discovery is the host's (networkd's), not the kernel's: its own solicitations
    // would answer for the task's.
    sysctl(&format!("net.ipv6.conf.{STATION}.accept_ra"), "0")?;
    for (dev, addr) in [(STATION, STATION_V6), (PEER, ROUTER_V6)] {
        sysctl(&format!("net.ipv6.conf.{dev}.addr_gen_mode"), "1")?;
        sysctl(&format!("net.ipv6.conf.{dev}.disable_ipv6"), "0")?;
        link_local(dev, addr)?;
    }
    let mac = std::fs::read_to_string(format!("/sys/class/net/{STATION}/address"))?;
    Ok((netif::ifindex(STATION)?, mac.trim().parse()?))
}

#[test]
fn a_default_route_the_carrier_loss_took_is_asked_for_once_the_path_works() -> Result<()> {
    in_netns(|| {
        let (station, mac) = setup()?;
        advertised_route(77)?;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(async {
            let mut task = spawn_task(station, mac)?;
            let router = Arc::new(router_socket()?);
            let at_ns = task.roam_to_port_opening(station)?;
            let early = solicitation_within(&router, Duration::from_millis(200)).await;
            ensure!(early.is_err(), "a solicitation before the path was known: {early:?}");

            task.path.send_replace(Some(PathNews { port_at_ns: at_ns, confirmed: true }));
            let (source, lladdr) = solicitation_within(&router, WAIT).await?;
            assert_eq!(source, STATION_V6.parse::<Ipv6Addr>()?, "from the link-local address");
            assert_eq!(lladdr, mac.0);
            // The host's router discovery, answered: it installs the route again.
            advertised_route(78)?;
            let report = tokio::time::timeout(WAIT, task.reports.recv())
                .await
                .context("no report once the route was back")?
                .context("the task ended")?;
            ensure!(report.restored_ns.is_some(), "the route is back: {report:?}");
            ensure!(report.solicitations >= 1, "{report:?}");
            assert_eq!(report.opened.at_ns, at_ns);
            Ok(())
        })
    })
}

#[test]
fn nothing_is_asked_while_the_route_survives_the_carrier_loss() -> Result<()> {
    in_netns(|| {
        let (station, mac) = setup()?;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(async {
            let mut task = spawn_task(station, mac)?;
            let router = Arc::new(router_socket()?);
            // No advertised route to lose.
            let at_ns = task.roam_to_port_opening(station)?;
            task.path.send_replace(Some(PathNews { port_at_ns: at_ns, confirmed: true }));
            let heard = solicitation_within(&router, Duration::from_millis(300)).await;
            ensure!(heard.is_err(), "a solicitation with no route lost: {heard:?}");
            let report = tokio::time::timeout(Duration::from_millis(100), task.reports.recv());
            ensure!(report.await.is_err(), "a report with nothing asked");
            Ok(())
        })
    })
}
