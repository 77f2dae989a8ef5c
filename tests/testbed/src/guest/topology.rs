//! The topology: N access points on hwsim radios, bridged to the echo responder; one station on
//! its own radio in its own network namespace, so its traffic really crosses the virtual air.
//!
//! ```text
//!   [sta netns: sta0 10.0.0.2] ~~air~~ ap0 ─┐
//!                                 ~~air~~ ap1 ─┴─ br0 10.0.0.1 (echo responder)
//! ```

use std::{
    io::BufRead as _,
    net::SocketAddr,
    path::Path,
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _, Result};
use roam_proto::MacAddr;
use roam_testbed::{
    scenario::{ChannelPlan, NetworkChoice, Security},
    stack::Stack,
};

use super::{
    ap::{AccessPoint, Controller},
    attacker::Attacker,
    dhcp::DhcpServer,
    hwsim,
    laps::Laps,
    leftovers,
    medium::{self, Medium},
    paths,
    probe::{Echo, Probe},
    process,
    station::{self, Station},
    system,
};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);
const STEADY_TIMEOUT: Duration = Duration::from_secs(20);
/// Probes younger than this may still have their echo on the way.
pub const IN_FLIGHT: Duration = Duration::from_millis(50);

/// What a topology is built from; consecutive cases with the same key share one topology.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopologyKey {
    pub stack: Stack,
    pub channels: Vec<u8>,
    pub security: Security,
    pub beacon_interval_tu: u16,
    /// A third party's radio besides the APs' and the station's (spoofed frames).
    pub third_radio: bool,
    /// The last AP serves another network, on a LAN of its own (see `Scenario::other_network`).
    pub other_network: bool,
    /// IPv6 on the bridge and the station, and a second probe over it (`Plan::ipv6_probe`).
    pub ipv6: bool,
}

pub struct Topology {
    pub key: TopologyKey,
    pub aps: Vec<AccessPoint>,
    /// The APs' one hostapd, where the network's security has them share it.
    controller: Option<Controller>,
    pub station_mac: String,
    pub station_phy: String,
    /// The third party's radio, when the key asks for one.
    pub attacker: Option<Attacker>,
    /// Steps going on in the background (a forger beaconing while the trigger goes on): each
    /// says what it did, or why it failed.
    background: Vec<std::thread::JoinHandle<Result<String>>>,
    /// Every radio's hwsim address (the medium's names for them).
    radios: Vec<MacAddr>,
    /// The testbed's own medium, while a scenario shapes the air.
    medium: Option<Medium>,
    station: Option<Box<dyn Station>>,
    probe: Option<Probe>,
    echo: Option<Echo>,
    /// DHCP and router advertisements behind the APs, while a stack that uses them runs.
    dhcp: Option<DhcpServer>,
    /// The IPv6 probe and its echo responder, where the key asks for IPv6.
    probe6: Option<Probe>,
    echo6: Option<Echo>,
    /// The other network's gateway's echo responder (same address, its own namespace).
    other_echo: Option<Echo>,
}

impl Topology {
    pub fn build(key: &TopologyKey, probe_interval: Duration, laps: &mut Laps) -> Result<Topology> {
        remove_leftovers()?;
        create_bridge(key.ipv6)?;
        set_regulatory_domain(&key.channels)?;
        let aps = key.channels.len();
        let radios = hwsim::load(aps + 1 + usize::from(key.third_radio))?;
        let (ap_radios, others) = radios.split_at(aps);
        let station_radio = &others[0];
        let mut topology = Topology {
            key: key.clone(),
            aps: Vec::new(),
            controller: None,
            station_mac: station_radio.mac.clone(),
            station_phy: station_radio.phy.clone(),
            station: None,
            probe: None,
            echo: None,
            probe6: None,
            echo6: None,
            dhcp: None,
            other_echo: None,
            attacker: others.get(1).map(Attacker::new).transpose()?,
            background: Vec::new(),
            radios: radios
                .iter()
                .map(|radio| medium::radio_address(&radio.mac))
                .collect::<Result<_>>()?,
            medium: None,
        };
        if key.other_network {
            create_other_network()?;
            topology.other_echo = Some(Echo::start_in(
                Some(Path::new(paths::OTHER_GATEWAY_NETNS_PATH)),
                echo_address(),
            )?);
        }
        for (index, (radio, &channel)) in ap_radios.iter().zip(&key.channels).enumerate() {
            let network = match key.other_network && index + 1 == aps {
                true => NetworkChoice::Other,
                false => NetworkChoice::Main,
            };
            topology.aps.push(AccessPoint::new(
                index,
                radio,
                channel,
                key.security,
                key.beacon_interval_tu,
                network,
            )?);
        }
        if roam_testbed::security::aps_share_one_hostapd(key.security) {
            topology.controller = Some(Controller::start(&mut topology.aps)?);
        } else {
            topology.aps.iter_mut().try_for_each(AccessPoint::start)?;
        }
        move_to_station_netns(&station_radio.phy, &station_radio.iface, key.ipv6)?;
        topology.echo = Some(Echo::start(echo_address())?);
        if key.ipv6 {
            topology.echo6 = Some(Echo::start(echo_address6())?);
        }
        laps.lap("build");
        topology.start_station(probe_interval, laps)?;
        Ok(topology)
    }

    /// Whether this topology serves `key` once its station runs `key`'s stack.
    pub fn differs_only_in_stack(&self, key: &TopologyKey) -> bool {
        TopologyKey { stack: key.stack, ..self.key.clone() } == *key
    }

    /// Replaces the station's software with `stack`'s, keeping the APs, the radios, the
    /// namespace and the station's address: the benchmark alternates stacks run by run, and a
    /// whole topology per run would cost seconds each. The new stack starts disconnected, as
    /// on a fresh topology.
    pub fn switch_stack(
        &mut self,
        stack: Stack,
        probe_interval: Duration,
        laps: &mut Laps,
    ) -> Result<()> {
        self.probe = None;
        self.probe6 = None;
        self.station = None;
        laps.lap("stop");
        // Only a stack with the agent can leave roam's things behind (the benchmark switches
        // stacks hundreds of times, and a check costs half a second under TCG).
        if self.key.stack.runs_roam() {
            leftovers::check(&format!("the {} stack stopped", self.key.stack));
            laps.lap("leftovers");
        }
        // A stack that exits may leave the link up (iwd does); "not connected" is fine too.
        let _ = process::run_timeout(
            paths::IP,
            &["netns", "exec", paths::STA_NETNS, paths::IW, "dev", paths::STA_IFACE, "disconnect"],
            Duration::from_secs(10),
        );
        self.key.stack = stack;
        self.start_station(probe_interval, laps)
    }

    /// Starts the key's stack on the station, waits for its connection, and starts the probe.
    fn start_station(&mut self, probe_interval: Duration, laps: &mut Laps) -> Result<()> {
        let freqs = self.freqs_mhz();
        let known =
            station::Known { security: self.key.security, other_network: self.key.other_network };
        match (self.key.stack.uses_dhcp(), &mut self.dhcp) {
            (true, None) => self.dhcp = Some(DhcpServer::start(&self.station_mac)?),
            (true, Some(server)) => server.check_running()?,
            (false, Some(_)) => self.dhcp = None,
            (false, None) => {}
        }
        self.station = Some(station::start(self.key.stack, known, &freqs)?);
        laps.lap("start");
        self.station()
            .wait_connected(CONNECT_TIMEOUT)
            .context("the station did not connect to the topology")?;
        laps.lap("join");
        let station_netns = Some(Path::new(paths::STA_NETNS_PATH));
        self.probe = Some(Probe::start(station_netns, echo_address(), probe_interval)?);
        if self.key.ipv6 {
            self.probe6 = Some(Probe::start(station_netns, echo_address6(), probe_interval)?);
        }
        self.wait_steady_traffic()?;
        laps.lap("probe");
        self.station().check_alive()
    }

    /// Deletes the station interface, as an unplugged adapter does; its supplicant stops first,
    /// as its device-bound service would.
    pub fn remove_station(&mut self) -> Result<()> {
        self.station().stop_supplicant()?;
        process::run(
            paths::IP,
            &["netns", "exec", paths::STA_NETNS, paths::IW, "dev", paths::STA_IFACE, "del"],
        )?;
        Ok(())
    }

    /// Creates the station interface again on its radio, with the same name, address and
    /// settings, and starts its supplicant.
    pub fn add_station(&mut self) -> Result<()> {
        let (phy, mac) = (self.station_phy.clone(), self.station_mac.clone());
        // With the address it had, as a re-plugged adapter has (mac80211 would otherwise give
        // it the radio's second address while the first is still taken).
        let add = [paths::IW, "phy", &phy, "interface", "add", paths::STA_IFACE, "type", "managed"];
        let mut args = vec!["netns", "exec", paths::STA_NETNS];
        args.extend(add);
        args.extend(["addr", &mac]);
        process::run(paths::IP, &args)?;
        configure_station_iface(self.key.ipv6)?;
        self.station().start_supplicant()
    }

    /// The DHCP server behind the APs, while a stack that uses it runs.
    pub fn dhcp(&self) -> Option<&DhcpServer> {
        self.dhcp.as_ref()
    }

    pub fn station(&mut self) -> &mut dyn Station {
        self.station.as_deref_mut().expect("station runs while the topology exists")
    }

    pub fn probe(&self) -> &Probe {
        self.probe.as_ref().expect("probe runs while the topology exists")
    }

    /// The IPv6 probe, where the key asks for one.
    pub fn probe6(&self) -> Option<&Probe> {
        self.probe6.as_ref()
    }

    /// Every probe running (the IPv4 one first).
    pub fn probes(&self) -> impl Iterator<Item = &Probe> {
        self.probe.iter().chain(&self.probe6)
    }

    pub fn freqs_mhz(&self) -> Vec<u32> {
        let mut freqs: Vec<u32> = self.aps.iter().map(AccessPoint::freq_mhz).collect();
        freqs.dedup();
        freqs
    }

    pub fn ap_by_bssid(&self, bssid: &str) -> Option<usize> {
        self.aps.iter().position(|ap| ap.bssid.eq_ignore_ascii_case(bssid))
    }

    /// Every AP up and beaconing, the station's software alive.
    pub fn make_whole(&mut self) -> Result<()> {
        self.join_background()?;
        if let Some(controller) = &mut self.controller {
            controller.check_running().context("the APs' shared hostapd")?;
        }
        for ap in &mut self.aps {
            ap.make_whole().with_context(|| format!("could not restore {}", ap.iface))?;
        }
        self.station().check_alive()
    }

    /// Runs `job` beside the steps that follow; [`Topology::make_whole`] waits for it.
    pub fn in_background(&mut self, job: impl FnOnce() -> Result<String> + Send + 'static) {
        self.background.push(std::thread::spawn(job));
    }

    /// Waits for every background step; the first that failed fails the run.
    fn join_background(&mut self) -> Result<()> {
        for job in self.background.drain(..) {
            let done = job.join().map_err(|_| anyhow::anyhow!("a background step panicked"))?;
            done.context("a background step failed")?;
        }
        Ok(())
    }

    /// Runs the testbed's medium (or hwsim's own, when `on` is false) from now on. Its rules
    /// start empty: a perfect air, as hwsim's own.
    pub fn use_medium(&mut self, on: bool) -> Result<()> {
        match (on, self.medium.is_some()) {
            (true, false) => {
                let medium =
                    Medium::start(self.radios.clone()).context("starting the testbed's medium")?;
                // What hwsim's own medium did by `group`, the testbed's does by its rules.
                let isolated: Vec<MacAddr> = self
                    .aps
                    .iter()
                    .filter(|ap| hwsim::group(&ap.phy).is_ok_and(|group| group == 0))
                    .map(|ap| self.radio_of_ap(ap))
                    .collect::<Result<_>>()?;
                medium.update(|rules| rules.isolated.extend(isolated));
                self.medium = Some(medium);
            }
            (false, true) => self.medium = None,
            _ => {}
        }
        Ok(())
    }

    /// The running medium, for a step that shapes the air.
    pub fn medium(&self) -> Result<&Medium> {
        self.medium.as_ref().context("this step needs the testbed's medium, which is not running")
    }

    /// The medium's names for AP `index` and the station.
    pub fn link_to_station(&self, index: usize) -> Result<(MacAddr, MacAddr)> {
        Ok((self.radio_of_ap(&self.aps[index])?, medium::radio_address(&self.station_mac)?))
    }

    fn radio_of_ap(&self, ap: &AccessPoint) -> Result<MacAddr> {
        medium::radio_address(&ap.bssid)
    }

    /// Mirrors `silence` into the medium, when it runs (hwsim's `group` is its own medium's).
    pub fn isolate_in_medium(&self, index: usize, isolated: bool) -> Result<()> {
        if let Some(medium) = &self.medium {
            let radio = self.radio_of_ap(&self.aps[index])?;
            medium.update(|rules| {
                if isolated {
                    rules.isolated.insert(radio);
                } else {
                    rules.isolated.remove(&radio);
                }
            });
        }
        Ok(())
    }

    /// Waits until the last probes were all answered, on every probe.
    pub fn wait_steady_traffic(&self) -> Result<()> {
        let since = system::monotonic_ns();
        for probe in self.probes() {
            // A slow probe (an idle station's pace) needs longer for its streak.
            let timeout = STEADY_TIMEOUT.max(probe.settled_duration() * 3);
            let deadline = Instant::now() + timeout;
            while probe.answered_streak(since, IN_FLIGHT) < probe.settled_streak() {
                if Instant::now() > deadline {
                    bail!("probe traffic did not flow steadily within {timeout:?}");
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(())
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        // Programs first (they hold interfaces), then the namespace, the bridge, the radios.
        self.probe = None;
        self.probe6 = None;
        self.station = None;
        leftovers::check(&format!("the {} stack stopped", self.key.stack));
        self.aps.clear();
        self.controller = None;
        self.echo = None;
        self.echo6 = None;
        self.other_echo = None;
        if let Err(err) = remove_leftovers() {
            system::progress(format!("warning: topology teardown: {err:#}"));
        }
    }
}

fn echo_address() -> SocketAddr {
    paths::ECHO_ADDRESS.parse().expect("valid address")
}

fn echo_address6() -> SocketAddr {
    paths::ECHO_ADDRESS6.parse().expect("valid address")
}

/// Removes what a previous topology may have left: namespace, bridge, radios.
fn remove_leftovers() -> Result<()> {
    if Path::new(paths::STA_NETNS_PATH).exists() {
        process::ip(&["netns", "delete", paths::STA_NETNS])?;
    }
    if Path::new(paths::OTHER_GATEWAY_NETNS_PATH).exists() {
        process::ip(&["netns", "delete", paths::OTHER_GATEWAY_NETNS])?;
    }
    for bridge in [paths::BRIDGE, paths::OTHER_BRIDGE] {
        if Path::new("/sys/class/net").join(bridge).exists() {
            process::ip(&["link", "delete", bridge])?;
        }
    }
    hwsim::unload()
}

/// The other network's LAN: a bridge for its AP, and its gateway in a namespace of its own
/// (the first gateway's address with another MAC), reached through a veth pair.
fn create_other_network() -> Result<()> {
    process::ip(&["link", "add", paths::OTHER_BRIDGE, "type", "bridge"])?;
    // This namespace owns the first gateway's address (on br0), and Linux answers ARP for any
    // of its addresses on any interface: the other LAN would learn the gateway at br1's MAC.
    // Answer only for addresses of the interface asked on (br1 has none).
    system::write_knob(format!("/proc/sys/net/ipv4/conf/{}/arp_ignore", paths::OTHER_BRIDGE), "1")?;
    process::ip(&["link", "set", paths::OTHER_BRIDGE, "up"])?;
    process::ip(&["netns", "add", paths::OTHER_GATEWAY_NETNS])?;
    process::ip(&[
        "link",
        "add",
        paths::OTHER_GATEWAY_PORT,
        "type",
        "veth",
        "peer",
        "name",
        paths::OTHER_GATEWAY_IFACE,
        "netns",
        paths::OTHER_GATEWAY_NETNS,
    ])?;
    process::ip(&["link", "set", paths::OTHER_GATEWAY_PORT, "master", paths::OTHER_BRIDGE])?;
    process::ip(&["link", "set", paths::OTHER_GATEWAY_PORT, "up"])?;
    let in_gateway = |args: &[&str]| {
        let mut full = vec!["-n", paths::OTHER_GATEWAY_NETNS];
        full.extend_from_slice(args);
        process::ip(&full)
    };
    in_gateway(&["link", "set", paths::OTHER_GATEWAY_IFACE, "address", paths::OTHER_GATEWAY_MAC])?;
    in_gateway(&["address", "add", paths::BRIDGE_ADDRESS, "dev", paths::OTHER_GATEWAY_IFACE])?;
    in_gateway(&["link", "set", paths::OTHER_GATEWAY_IFACE, "up"])?;
    in_gateway(&["link", "set", "lo", "up"])
}

fn create_bridge(ipv6: bool) -> Result<()> {
    process::ip(&["link", "add", paths::BRIDGE, "type", "bridge"])?;
    process::ip(&["link", "set", paths::BRIDGE, "address", paths::BRIDGE_MAC])?;
    process::ip(&["address", "add", paths::BRIDGE_ADDRESS, "dev", paths::BRIDGE])?;
    if ipv6 {
        let ipv6 = format!("/proc/sys/net/ipv6/conf/{}/disable_ipv6", paths::BRIDGE);
        system::write_knob(ipv6, "0")?;
        let address = ["-6", "address", "add", paths::BRIDGE_ADDRESS6, "dev", paths::BRIDGE];
        process::ip(&[&address[..], &["nodad"]].concat())?;
    }
    process::ip(&["link", "set", paths::BRIDGE, "up"])
}

fn move_to_station_netns(phy: &str, iface: &str, ipv6: bool) -> Result<()> {
    process::ip(&["netns", "add", paths::STA_NETNS])?;
    process::run(paths::IW, &["phy", phy, "set", "netns", "name", paths::STA_NETNS])?;
    let in_netns = |args: &[&str]| {
        let mut full = vec!["-n", paths::STA_NETNS];
        full.extend_from_slice(args);
        process::ip(&full)
    };
    in_netns(&["link", "set", iface, "name", paths::STA_IFACE])?;
    in_netns(&["link", "set", "lo", "up"])?;
    configure_station_iface(ipv6)
}

/// The station interface's settings, in the station namespace.
fn configure_station_iface(ipv6: bool) -> Result<()> {
    // The testbed's network is IPv4 unless the plan probes IPv6 too: IPv6 chatter at each
    // (re)connection (DAD, MLD, router solicitations) would only blur the per-packet comparison
    // of the probe and the drop window.
    let sysctl = |key: String, value: &str| -> Result<()> {
        let status =
            process::in_station_netns(paths::TESTBED).args(["sysctl", &key, value]).status()?;
        anyhow::ensure!(status.success(), "could not set {key} on the station");
        Ok(())
    };
    let conf = format!("net.ipv6.conf.{}", paths::STA_IFACE);
    let in_netns = |args: &[&str]| process::ip(&[&["-n", paths::STA_NETNS][..], args].concat());
    if ipv6 {
        // Its link-local address without the second of detection a roam must not wait for.
        sysctl(format!("{conf}.accept_dad"), "0")?;
        in_netns(&["-6", "address", "add", paths::STA_ADDRESS6, "dev", paths::STA_IFACE, "nodad"])?;
    } else {
        sysctl(format!("{conf}.disable_ipv6"), "1")?;
    }
    in_netns(&["address", "add", paths::STA_ADDRESS, "dev", paths::STA_IFACE])
}

/// `roam-testbed up`: builds a topology and keeps it until Enter is pressed.
pub fn hold(channels: &ChannelPlan, aps: usize, security: Security, stack: Stack) -> Result<()> {
    let key = TopologyKey {
        stack,
        channels: channels.resolve(aps)?,
        security,
        beacon_interval_tu: 100,
        third_radio: false,
        other_network: false,
        ipv6: false,
    };
    let mut topology = Topology::build(&key, Duration::from_millis(10), &mut Laps::start())?;
    for ap in &topology.aps {
        println!(
            "{}: {} channel {} ({}), hostapd ctrl /run/hostapd/{}",
            ap.iface, ap.bssid, ap.channel, ap.phy, ap.iface
        );
    }
    let bssid = topology.station().connected_bssid()?.unwrap_or_default();
    println!(
        "station {} ({}) in netns {} connected to {bssid}; {}",
        paths::STA_IFACE,
        topology.station_mac,
        paths::STA_NETNS,
        station::client_hint(stack)
    );
    println!("logs in {}; press Enter to tear down", paths::LOG_DIR);
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(())
}

/// The world domain cfg80211 starts in forbids an AP on 5 GHz (no initiating radiation there):
/// a topology with 5 GHz channels runs in a country whose rules allow 36-48 (the image carries
/// the regulatory database), one with 2.4 GHz channels alone in the world domain. cfg80211
/// applies a change asynchronously: it is waited for, or hostapd would meet the old rules.
fn set_regulatory_domain(channels: &[u8]) -> Result<()> {
    let wanted = if channels.iter().any(|&c| c > 14) { "DE" } else { "00" };
    let current = || -> Result<bool> {
        let out = process::run(paths::IW, &["reg", "get"])?;
        Ok(out.lines().any(|line| line.trim_start().starts_with(&format!("country {wanted}:"))))
    };
    if current()? {
        return Ok(());
    }
    process::run(paths::IW, &["reg", "set", wanted])?;
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    while !current()? {
        if std::time::Instant::now() > deadline {
            bail!("the regulatory domain did not become {wanted} within 3 s (iw reg set {wanted})");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}
