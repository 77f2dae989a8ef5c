//! The station's addresses as a DHCP stack configures them: the probe can only start once the
//! lease (IPv4) and the router advertisement (IPv6) gave the station its addresses. Awaited as
//! rtnetlink announces them (`ip monitor address`), not polled.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _, Result};

use crate::guest::paths;

/// The prefix of the testbed's IPv6 network (dnsmasq's router advertisements on br0).
const IPV6_PREFIX: &str = "fd00:726f:616d:";

/// How often the wait looks whether the daemons that give the addresses still run: a manager
/// that died at start (a missing library, a bad configuration) fails the setup within this, not
/// at the timeout.
const ALIVE_CHECK_EVERY: Duration = Duration::from_millis(250);

/// Waits until the station has its IPv4 address from the lease and a usable (no longer
/// tentative) IPv6 address of the testbed's prefix. `alive` fails when a daemon the addresses
/// depend on has exited; the wait then ends with its error.
pub fn wait_for_addresses(timeout: Duration, mut alive: impl FnMut() -> Result<()>) -> Result<()> {
    let deadline = Instant::now() + timeout;
    // Listening first: an address that comes between the look and the listening is not missed.
    let mut monitor = Monitor::start()?;
    let mut have = Have::default();
    for line in current()?.lines() {
        have.note(line);
    }
    while !have.all() {
        alive().context("waiting for the station's addresses")?;
        let left = deadline.saturating_duration_since(Instant::now());
        match monitor.lines.recv_timeout(left.min(ALIVE_CHECK_EVERY)) {
            Ok(line) => have.note(&line),
            Err(mpsc::RecvTimeoutError::Timeout) if !left.is_zero() => continue,
            Err(mpsc::RecvTimeoutError::Timeout) => bail!(
                "{} has {} after {timeout:?}: the DHCP lease or the router advertisement did \
                 not come (see the stack's log)",
                paths::STA_IFACE,
                have.describe()
            ),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = monitor.child.try_wait().ok().flatten();
                bail!("`ip monitor address` ended ({status:?}) before the addresses came")
            }
        }
    }
    Ok(())
}

/// What the station has so far.
#[derive(Default)]
struct Have {
    ipv4: bool,
    ipv6: bool,
}

impl Have {
    /// One line of `ip -o address` or `ip -o monitor address`.
    fn note(&mut self, line: &str) {
        if !line.contains(&format!(" {} ", paths::STA_IFACE)) || line.starts_with("Deleted") {
            return;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let address =
            |family: &str| words.windows(2).find(|w| w[0] == family).map(|w| w[1].to_owned());
        if address("inet").is_some() {
            self.ipv4 = true;
        }
        let usable = !words.contains(&"tentative");
        if usable && address("inet6").is_some_and(|a| a.starts_with(IPV6_PREFIX)) {
            self.ipv6 = true;
        }
    }

    fn all(&self) -> bool {
        self.ipv4 && self.ipv6
    }

    fn describe(&self) -> &'static str {
        match (self.ipv4, self.ipv6) {
            (false, false) => "neither its IPv4 nor its IPv6 address",
            (false, true) => "no IPv4 address",
            (true, false) => "no usable IPv6 address",
            (true, true) => "both addresses",
        }
    }
}

fn current() -> Result<String> {
    crate::guest::process::run(
        paths::IP,
        &["-n", paths::STA_NETNS, "-o", "address", "show", "dev", paths::STA_IFACE],
    )
}

/// `ip -o monitor address` in the station's namespace, its lines on a channel.
struct Monitor {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Monitor {
    fn start() -> Result<Self> {
        let mut child = Command::new(paths::IP)
            .args(["-n", paths::STA_NETNS, "-o", "monitor", "address"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start `ip monitor address`")?;
        let stdout = child.stdout.take().context("ip monitor's output")?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Monitor { child, lines })
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_families_are_needed_and_a_tentative_address_is_not_yet_usable() {
        let mut have = Have::default();
        have.note("5: sta0    inet6 fe80::ff:fe00:100/64 scope link \\       valid_lft forever");
        have.note(
            "5: sta0    inet6 fd00:726f:616d:0:ff:fe00:100/64 scope global tentative dynamic",
        );
        assert!(!have.ipv6 && !have.all());
        have.note("5: sta0    inet 10.0.0.2/24 brd 10.0.0.255 scope global dynamic sta0");
        assert!(have.ipv4 && !have.all(), "{}", have.describe());
        have.note(
            "5: sta0    inet6 fd00:726f:616d:0:ff:fe00:100/64 scope global dynamic mngtmpaddr",
        );
        assert!(have.all());
    }

    #[test]
    fn other_interfaces_and_deletions_do_not_count() {
        let mut have = Have::default();
        have.note("1: lo    inet 127.0.0.1/8 scope host lo");
        have.note("Deleted 5: sta0    inet 10.0.0.2/24 brd 10.0.0.255 scope global sta0");
        assert!(!have.ipv4);
    }
}
