//! Asking the IPv6 router to advertise again when a transition took the station's default
//! route ([`super::routes`]): a router solicitation once the new AP opens the port, repeated a
//! few times until the route is back.
//!
//! roam installs no route itself. The router's advertisement answers the solicitation, and
//! whatever handles advertisements on the host (systemd-networkd, NetworkManager, the kernel)
//! installs the route as it always does, so nothing of roam's fights the connection manager,
//! and a host whose router is gone or has moved learns that too. A solicitation after a link
//! change is what RFC 4861 (6.3.7) and RFC 6059 ask of a host; networkd skips it when it was
//! told to ignore the carrier loss. The route coming back is the confirmation; without it
//! after the last solicitation, the host is where it was without roam.

use std::{net::SocketAddrV6, time::Duration};

use anyhow::{Context as _, Result};
use roam_common::MacAddr;
use socket2::{SockAddr, Socket};
use tokio::{
    sync::{mpsc, watch},
    time::Instant,
};
use tracing::{debug, info, warn};

use super::{nd, routes::RouteFollower, PathNews, PortOpened, PutBackPlan};
use crate::netif::monotonic_ns;

const ROUTER_SOLICITATION: u8 = 133;
/// ICMPv6 header, reserved word, and one link-layer address option.
pub const SOLICITATION_LEN: usize = 16;
/// ff02::2, every router of the link.
const ALL_ROUTERS: std::net::Ipv6Addr = std::net::Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);

/// How long a port opening waits for the neighbour task's word on the path through the new AP
/// (it asks for at most 500 ms): a solicitation sent before the path works is lost, and a
/// router may then answer the next one only 3 s later (RFC 4861, MIN_DELAY_BETWEEN_RAS).
const PATH_WAIT: Duration = Duration::from_millis(600);
/// When the solicitations go out, from the moment the path is known to work (or the wait for
/// it ended): RFC 4861's three at most, the last RTR_SOLICITATION_INTERVAL (4 s) after the
/// first. The second follows soon because systemd-networkd 257 needs two advertisements after
/// the flush: the kernel deletes nexthops with the carrier without telling anyone, so at the
/// first networkd finds its nexthop gone and forgets it, and only at the second does it install
/// the nexthop and the route again. A router that answers by multicast may answer the second
/// only 3 s after the first (MIN_DELAY_BETWEEN_RAS); one that answers by unicast, at once.
const SEND_AT: [Duration; 3] = [Duration::ZERO, Duration::from_millis(100), Duration::from_secs(4)];
/// How long the route is waited for after the first solicitation: 4 s after the last.
const GIVE_UP_AFTER: Duration = Duration::from_secs(8);

/// A router solicitation from a station at `mac`. The checksum is left zero: the kernel
/// computes it for ICMPv6 raw sockets.
pub fn solicitation(mac: MacAddr) -> [u8; SOLICITATION_LEN] {
    let mut p = [0u8; SOLICITATION_LEN];
    p[0] = ROUTER_SOLICITATION;
    p[8] = nd::OPTION_SOURCE_LINK_ADDRESS;
    p[9] = 1; // in units of 8 bytes
    p[10..16].copy_from_slice(&mac.0);
    p
}

/// The station's ICMPv6 socket for router solicitations: it sends, and lets nothing in.
pub struct RouterSolicitor {
    socket: Socket,
    ifindex: u32,
    iface: String,
    mac: MacAddr,
}

impl RouterSolicitor {
    pub fn new(ifindex: u32, iface: &str, mac: MacAddr) -> Result<Self> {
        let socket = nd::link_socket(iface, None)?;
        Ok(RouterSolicitor { socket, ifindex, iface: iface.to_owned(), mac })
    }

    /// Multicasts a solicitation to every router of the link, from the station's link-local
    /// address (the kernel picks it; while that address is still tentative the send fails and
    /// the next one is tried at its time).
    fn send(&self) -> Result<()> {
        let to = SocketAddrV6::new(ALL_ROUTERS, 0, 0, self.ifindex);
        self.socket
            .send_to(&solicitation(self.mac), &SockAddr::from(to))
            .with_context(|| format!("sending a router solicitation on {}", self.iface))?;
        Ok(())
    }
}

/// How asking for the route after one port opening ended.
#[derive(Debug)]
pub struct RouterReport {
    pub opened: PortOpened,
    /// Solicitations sent (those the kernel refused are not counted).
    pub solicitations: u32,
    /// CLOCK_MONOTONIC ns when a default route was back; `None` if none came back in time.
    pub restored_ns: Option<u64>,
}

/// The solicitations of one port opening. Pure: the task brings the clock.
#[derive(Clone, Debug)]
struct Soliciting {
    opened: PortOpened,
    /// When the path was known to work, or the wait for that ended: the solicitations are
    /// timed from here.
    path_known: Option<Instant>,
    path_wait_ends: Instant,
    /// Solicitations due so far (sent or refused).
    due: usize,
    sent: u32,
}

/// What the clock asks of a [`Soliciting`].
#[derive(Debug, PartialEq, Eq)]
enum Step {
    Send,
    GiveUp,
}

impl Soliciting {
    fn new(opened: PortOpened, now: Instant) -> Self {
        Soliciting { opened, path_known: None, path_wait_ends: now + PATH_WAIT, due: 0, sent: 0 }
    }

    /// The neighbour task's word on this opening's path (confirmed or not, it is all there
    /// will be): the solicitations start.
    fn path_news(&mut self, news: PathNews, now: Instant) {
        if news.port_at_ns == self.opened.at_ns && self.path_known.is_none() {
            self.path_known = Some(now);
        }
    }

    fn next_wakeup(&self) -> Instant {
        match self.path_known {
            None => self.path_wait_ends,
            Some(known) => known + SEND_AT.get(self.due).copied().unwrap_or(GIVE_UP_AFTER),
        }
    }

    /// What is due at `now` (called at [`Self::next_wakeup`]).
    fn step(&mut self, now: Instant) -> Option<Step> {
        if now < self.next_wakeup() {
            return None;
        }
        // No word on the path: solicit all the same.
        self.path_known.get_or_insert(now);
        if self.due < SEND_AT.len() {
            self.due += 1;
            return Some(Step::Send);
        }
        Some(Step::GiveUp)
    }

    fn report(&self, restored_ns: Option<u64>) -> RouterReport {
        RouterReport { opened: self.opened, solicitations: self.sent, restored_ns }
    }
}

/// Runs `follower` on a task of its own: at a port opening during a transition (`plan`) whose
/// carrier loss took the advertised default route, it solicits the routers through
/// `solicitor` once the neighbour task says the path works (`path`), until a default route is
/// back or [`GIVE_UP_AFTER`]; reports go to `reports`. The task ends when the agent drops its
/// ends of the channels.
pub fn spawn(
    mut follower: RouteFollower,
    solicitor: RouterSolicitor,
    mut opened: mpsc::UnboundedReceiver<PortOpened>,
    plan: watch::Receiver<Option<PutBackPlan>>,
    mut path: watch::Receiver<Option<PathNews>>,
    reports: mpsc::UnboundedSender<RouterReport>,
) {
    tokio::spawn(async move {
        let mut pending: Option<Soliciting> = None;
        let mut path_told = true;
        loop {
            let report = tokio::select! {
                followed = follower.next() => {
                    if let Err(err) = followed {
                        warn!("IPv6 route table: {err:#}; a default route a roam takes is not asked for again");
                        return;
                    }
                    match &pending {
                        Some(p) if follower.book().has_default_route() => {
                            p.report(Some(monotonic_ns()))
                        }
                        _ => continue,
                    }
                }
                port = opened.recv() => {
                    let Some(port) = port else { return };
                    let Some(p) = *plan.borrow() else { continue };
                    if let Err(err) = follower.catch_up() {
                        warn!("IPv6 route table: {err:#}");
                    }
                    if follower.book().lost_since(p.since_ns) {
                        info!("the roam took the IPv6 default route: asking the router to advertise again");
                        pending = Some(Soliciting::new(port, Instant::now()));
                    }
                    continue;
                }
                news = path.changed(), if pending.is_some() && path_told => {
                    if news.is_err() {
                        // No neighbour task: each wait for its word runs to its end.
                        path_told = false;
                    } else if let (Some(news), Some(p)) = (*path.borrow_and_update(), pending.as_mut()) {
                        debug!(confirmed = news.confirmed, "word on the path through the new AP");
                        p.path_news(news, Instant::now());
                    }
                    continue;
                }
                _ = tokio::time::sleep_until(pending.as_ref().map_or_else(far_future, Soliciting::next_wakeup)), if pending.is_some() => {
                    let p = pending.as_mut().expect("a wakeup comes from a pending opening");
                    match p.step(Instant::now()) {
                        None => continue,
                        Some(Step::Send) => {
                            match solicitor.send() {
                                Ok(()) => p.sent += 1,
                                Err(err) => debug!("{err:#}"),
                            }
                            continue;
                        }
                        Some(Step::GiveUp) => p.report(None),
                    }
                }
            };
            pending = None;
            if reports.send(report).is_err() {
                return;
            }
        }
    });
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATION: MacAddr = MacAddr([0x02, 0, 0, 0, 0x02, 0]);

    #[test]
    fn a_solicitation_carries_the_stations_link_layer_address() {
        let p = solicitation(STATION);
        assert_eq!(p[0], 133);
        assert_eq!(&p[1..8], &[0; 7], "code, checksum (the kernel's) and reserved");
        assert_eq!(&p[8..10], &[1, 1], "source link-layer address option, 8 bytes");
        assert_eq!(&p[10..16], &STATION.0);
    }

    const OPENED: PortOpened = PortOpened { bssid: MacAddr([2, 0, 0, 0, 1, 0]), at_ns: 7 };

    /// The times of the solicitations and of the end, from `start`.
    fn run(mut s: Soliciting, start: Instant) -> (Vec<Duration>, Duration) {
        let mut sends = Vec::new();
        let mut now = s.next_wakeup();
        loop {
            match s.step(now) {
                Some(Step::Send) => sends.push(now - start),
                Some(Step::GiveUp) => return (sends, now - start),
                None => panic!("woken before anything was due"),
            }
            now = s.next_wakeup();
        }
    }

    #[test]
    fn solicitations_start_once_the_path_works() {
        let start = Instant::now();
        let mut s = Soliciting::new(OPENED, start);
        assert_eq!(s.clone().step(start), None, "nothing before the path is known");
        let confirmed = start + Duration::from_millis(24);
        s.path_news(PathNews { port_at_ns: 99, confirmed: true }, confirmed);
        assert_eq!(s.next_wakeup(), start + PATH_WAIT, "another opening's news");
        s.path_news(PathNews { port_at_ns: OPENED.at_ns, confirmed: true }, confirmed);
        let (sends, end) = run(s, start);
        let expected: Vec<Duration> =
            SEND_AT.iter().map(|at| *at + Duration::from_millis(24)).collect();
        assert_eq!(sends, expected);
        assert_eq!(end, GIVE_UP_AFTER + Duration::from_millis(24));
    }

    #[test]
    fn without_word_on_the_path_the_solicitations_start_when_the_wait_ends() {
        let start = Instant::now();
        let (sends, end) = run(Soliciting::new(OPENED, start), start);
        assert_eq!(sends[0], PATH_WAIT);
        assert_eq!(sends.len(), SEND_AT.len());
        assert_eq!(end, PATH_WAIT + GIVE_UP_AFTER);
    }
}
