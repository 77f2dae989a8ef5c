//! DHCP and IPv6 router advertisements behind the APs, for the stacks that configure the
//! station's addresses themselves (NetworkManager): dnsmasq on the bridge, as a home router or
//! an office network's server is. The station's MAC always gets 10.0.0.2, the address every
//! other stack sets by hand, so the probe and the echo responder need not know which stack
//! runs; IPv6 comes by SLAAC from the bridge's unique local prefix.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::{bail, Result};
use roam_testbed::report::Addressing;

use super::{
    logs::LogMark,
    paths,
    process::{self, Daemon},
    system,
};

/// The station's lease, the same address the static stacks use.
const STATION_ADDRESS: &str = "10.0.0.2";
const RANGE: &str = "10.0.0.100,10.0.0.200,12h";
/// The bridge's /64 (paths::BRIDGE_ADDRESS6), announced for SLAAC.
const PREFIX6: &str = "fd00:726f:616d::,ra-only";

pub struct DhcpServer {
    daemon: Daemon,
    log: PathBuf,
}

/// dnsmasq binds its sockets and reads its configuration within milliseconds.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// Waits for dnsmasq's "started" line (logged once its sockets are bound), or its exit.
fn wait_until_serving(daemon: &mut Daemon, mark: &LogMark) -> Result<()> {
    let deadline = Instant::now() + START_TIMEOUT;
    // dnsmasq tells nobody it is ready but its log: read it as it grows.
    while !mark.text_since().contains("started, version") {
        daemon.check_running()?;
        if Instant::now() >= deadline {
            bail!("dnsmasq did not say it started within {START_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

impl DhcpServer {
    pub fn start(station_mac: &str) -> Result<Self> {
        enable_bridge_ipv6()?;
        let leases = Path::new(paths::RUN_DIR).join("dnsmasq.leases");
        let log = Path::new(paths::LOG_DIR).join("dnsmasq.log");
        let mut cmd = std::process::Command::new(paths::DNSMASQ);
        cmd.args(["--keep-in-foreground", "--log-facility=-", "--log-dhcp"])
            // The guest has only root in its password database (dnsmasq drops to nobody).
            .args(["--user=root", "--group=root", "--port=0", "--bind-interfaces"])
            .arg(format!("--interface={}", paths::BRIDGE))
            .arg(format!("--dhcp-range={RANGE}"))
            .arg(format!("--dhcp-host={station_mac},{STATION_ADDRESS}"))
            .arg(format!("--dhcp-range={PREFIX6}"))
            .arg("--enable-ra")
            .arg(format!("--dhcp-leasefile={}", leases.display()))
            // Its default, /var/run, is not in the guest.
            .arg(format!("--pid-file={}", Path::new(paths::RUN_DIR).join("dnsmasq.pid").display()));
        let mark = LogMark::now(&log);
        let mut daemon = Daemon::spawn("dnsmasq", cmd, &log)?;
        wait_until_serving(&mut daemon, &mark)?;
        Ok(DhcpServer { daemon, log })
    }

    /// Fails if dnsmasq has exited (with the end of its log).
    pub fn check_running(&mut self) -> Result<()> {
        self.daemon.check_running()
    }

    /// dnsmasq's log (`--log-dhcp`: a line per DHCP message).
    pub fn log_path(&self) -> &Path {
        &self.log
    }
}

/// The station's addressing at the end of a run, with `log`, the server's log over the run.
pub fn addressing(log: &str, station_mac: &str) -> Result<Addressing> {
    let ipv4 = process::run(
        paths::IP,
        &["-n", paths::STA_NETNS, "-4", "-o", "address", "show", "dev", paths::STA_IFACE],
    )?;
    let route6 =
        process::run(paths::IP, &["-n", paths::STA_NETNS, "-6", "route", "show", "default"])?;
    Ok(Addressing {
        dhcp_discovers: messages_from(log, "DHCPDISCOVER", station_mac),
        dhcp_requests: messages_from(log, "DHCPREQUEST", station_mac),
        ipv4_kept: ipv4.contains(&format!("inet {STATION_ADDRESS}/")),
        ipv6_default_route: route6.contains(" via "),
    })
}

/// dnsmasq's lines for one kind of message from `mac`: `DHCPDISCOVER(br0) 02:00:00:00:02:00`,
/// `DHCPREQUEST(br0) 10.0.0.2 02:00:00:00:02:00`.
fn messages_from(log: &str, kind: &str, mac: &str) -> u32 {
    let tag = format!("{kind}(");
    let count = log
        .lines()
        .filter(|line| {
            let mut words = line.split_whitespace().skip_while(|w| !w.starts_with(&tag));
            words.next().is_some() && words.any(|w| w.eq_ignore_ascii_case(mac))
        })
        .count();
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// The bridge's IPv6 address, where the stack needs router advertisements (once per bridge).
fn enable_bridge_ipv6() -> Result<()> {
    system::write_knob(format!("/proc/sys/net/ipv6/conf/{}/disable_ipv6", paths::BRIDGE), "0")?;
    // A router's neighbour advertisements carry the router flag, and the kernel sets it only
    // where the interface forwards: without it the bridge advertised itself as the default
    // router and then, in its next NA, as no router, and systemd-networkd 257 rightly dropped
    // the default route (RFC 4861 7.2.5).
    system::write_knob(format!("/proc/sys/net/ipv6/conf/{}/forwarding", paths::BRIDGE), "1")?;
    let has = process::run(paths::IP, &["-6", "address", "show", "dev", paths::BRIDGE])?;
    let address = paths::BRIDGE_ADDRESS6.split('/').next().unwrap_or_default();
    if !has.contains(address) {
        process::ip(&[
            "-6",
            "address",
            "add",
            paths::BRIDGE_ADDRESS6,
            "dev",
            paths::BRIDGE,
            "nodad",
        ])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovers_and_requests_are_counted_per_station() {
        let log = "dnsmasq-dhcp[201]: 3185 available DHCP range: 10.0.0.100 -- 10.0.0.200\n\
                   dnsmasq-dhcp[201]: 3185 DHCPDISCOVER(br0) 02:00:00:00:02:00\n\
                   dnsmasq-dhcp[201]: 3185 DHCPOFFER(br0) 10.0.0.2 02:00:00:00:02:00\n\
                   dnsmasq-dhcp[201]: 3186 DHCPREQUEST(br0) 10.0.0.2 02:00:00:00:02:00\n\
                   dnsmasq-dhcp[201]: 3187 DHCPDISCOVER(br0) 02:00:00:00:09:00\n";
        assert_eq!(messages_from(log, "DHCPDISCOVER", "02:00:00:00:02:00"), 1);
        assert_eq!(messages_from(log, "DHCPREQUEST", "02:00:00:00:02:00"), 1);
        assert_eq!(messages_from(log, "DHCPOFFER", "02:00:00:00:02:00"), 1);
        assert_eq!(messages_from(log, "DHCPACK", "02:00:00:00:02:00"), 0);
        assert_eq!(messages_from("", "DHCPDISCOVER", "02:00:00:00:02:00"), 0);
    }
}
