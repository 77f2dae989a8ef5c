//! The iwd stack: Debian's iwd (2.3) as the station's only connection manager, on a D-Bus
//! system bus of its own (a dbus-daemon the testbed starts in the station namespace).
//!
//! iwd runs with its stock roaming and scanning behaviour; [`MAIN_CONF`] changes only what the
//! testbed needs (iwd keeps `sta0`, and configures no address). It runs in developer mode (`-E`)
//! for its `net.connman.iwd.StationDebug` interface, the counterpart of two wpa_supplicant
//! commands the runner uses: `Scan(aq)` scans given frequencies (`SCAN freq=`), `Roam(ay)`
//! roams to a BSSID (`ROAM`). Developer mode also starts the station with autoconnect off;
//! the testbed turns it on at once, so iwd connects and reconnects on its own, as it does by
//! default.
//!
//! The testbed talks to iwd with `dbus-send` (Debian's dbus-bin), one process per request,
//! rather than a D-Bus crate: it needs property reads and three method calls, none of them while
//! a traffic gap is measured (the runner asks whether the station is connected once the probes
//! flow again), and zbus, the well-kept pure-Rust client, would add some 80 crates to the guest
//! build for that. dbus-send's output format is stable, and the few lines read from it are
//! parsed by small functions tested below.

use std::{
    fs,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _, Result};
use roam_testbed::{
    scenario::{NetworkChoice, Security},
    timeline,
};

use super::{
    iw, linked_bssid, private_bus::PrivateBus, Known, LogSource, Station, IW_TIMEOUT, LINK_POLL,
    START_TIMEOUT,
};
use crate::guest::{
    paths,
    process::{self, Daemon},
    system,
};

/// iwd's configuration, `$CONFIGURATION_DIRECTORY/main.conf` (iwd.config(5) of iwd 2.3).
/// Everything not set here is iwd's default, the baseline being measured.
const MAIN_CONF: &str = "\
[General]
# Keep the interface the testbed set up (sta0, its address, its sysctls): by default iwd
# deletes the phy's interfaces at start and creates its own (wlan<N>).
UseDefaultInterface=true
# The testbed gives sta0 a static address; iwd must run no DHCP client (its default, said
# explicitly).
EnableNetworkConfiguration=false
";

const SERVICE: &str = "net.connman.iwd";
const STATION: &str = "net.connman.iwd.Station";
const STATION_DEBUG: &str = "net.connman.iwd.StationDebug";
const PROPERTIES: &str = "org.freedesktop.DBus.Properties";
/// The longest request: `Roam` answers once iwd has scanned the target's channel (under a
/// second under TCG).
const DBUS_TIMEOUT: Duration = Duration::from_secs(30);
/// A restarted iwd reconnects with a scan of the known channels and a full connection.
const RECONNECT_TIMEOUT: Duration = Duration::from_secs(60);
/// How often iwd's properties are read while waiting for a change.
const PROPERTY_POLL: Duration = Duration::from_millis(50);

fn dir() -> PathBuf {
    Path::new(paths::RUN_DIR).join("iwd")
}

fn config_dir() -> PathBuf {
    dir().join("config")
}

fn state_dir() -> PathBuf {
    dir().join("state")
}

fn bus_address() -> String {
    PrivateBus::address(&dir())
}

pub struct Iwd {
    // Dropped in this order: iwd leaves the bus before the bus stops.
    iwd: Daemon,
    bus: PrivateBus,
    /// iwd's object for the station interface (`/net/connman/iwd/<phy>/<ifindex>`).
    station: String,
    security: Security,
    log: PathBuf,
    /// Length of iwd's log when the current run was prepared (or this iwd started).
    run_start: u64,
}

impl Iwd {
    pub fn start(known: Known, freqs_mhz: &[u32]) -> Result<Self> {
        let security = known.security;
        // A fresh configuration and state per topology: nothing learnt by an earlier one.
        let _ = fs::remove_dir_all(dir());
        fs::create_dir_all(config_dir())?;
        fs::create_dir_all(state_dir())?;
        fs::write(config_dir().join("main.conf"), MAIN_CONF)?;
        let network = state_dir().join(network_file_name(paths::SSID, security));
        fs::write(&network, network_file(security))?;
        if known.other_network {
            // Known, but joined only when asked: iwd would otherwise pick either at start.
            let other = state_dir().join(network_file_name(paths::OTHER_SSID, security));
            fs::write(other, network_file(security) + "[Settings]\nAutoConnect=false\n")?;
        }
        fs::write(
            state_dir().join(KNOWN_FREQUENCIES_FILE),
            known_frequencies(&network, freqs_mhz),
        )?;

        let bus = PrivateBus::start(&dir())?;

        // The log goes on from earlier topologies' iwd: their failures are not this one's.
        let log = Path::new(paths::LOG_DIR).join("iwd.log");
        let run_start = fs::metadata(&log).map_or(0, |m| m.len());
        let (iwd, station) = spawn_iwd(&log)?;
        Ok(Iwd { iwd, bus, station, security, log, run_start })
    }

    fn station_property(&self, name: &str) -> Result<String> {
        let reply = dbus_send(
            &self.station,
            &format!("{PROPERTIES}.Get"),
            &[&format!("string:{STATION}"), &format!("string:{name}")],
        )?;
        variant_value(&reply)
            .map(str::to_owned)
            .with_context(|| format!("unexpected reply to reading {STATION}.{name}: {reply}"))
    }
}

/// How to reach this iwd with its own client.
pub fn client_hint() -> String {
    format!("DBUS_SYSTEM_BUS_ADDRESS={} iwctl", bus_address())
}

/// Starts iwd on the station interface and waits until it offers the station on the bus.
fn spawn_iwd(log: &Path) -> Result<(Daemon, String)> {
    let mut cmd = process::in_station_netns(paths::IWD);
    // -E: developer mode (StationDebug). -i: sta0 only; the roam check adds a monitor
    // interface on the same phy, none of iwd's business. -d (last: it takes an optional
    // argument): the debug log.
    cmd.args(["-E", "-i", paths::STA_IFACE, "-d"]);
    cmd.env("DBUS_SYSTEM_BUS_ADDRESS", bus_address())
        .env("CONFIGURATION_DIRECTORY", config_dir())
        .env("STATE_DIRECTORY", state_dir());
    // iwd's log lines carry no time: the testbed stamps them, for the timeline.
    let mut iwd = Daemon::spawn_timestamped("iwd", cmd, log)?;
    let deadline = Instant::now() + START_TIMEOUT;
    let station = loop {
        iwd.check_running()?;
        // Fails until iwd has taken its name on the bus.
        let objects = dbus_send("/", "org.freedesktop.DBus.ObjectManager.GetManagedObjects", &[]);
        if let Some(path) = objects.ok().as_deref().and_then(station_path) {
            break path;
        }
        if Instant::now() >= deadline {
            bail!(
                "iwd offered no station on {} within {START_TIMEOUT:?} (see iwd.log)",
                paths::STA_IFACE
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // Developer mode starts the station with autoconnect off; stock iwd has it on.
    dbus_send(
        &station,
        &format!("{PROPERTIES}.Set"),
        &[&format!("string:{STATION_DEBUG}"), "string:AutoConnect", "variant:boolean:true"],
    )
    .context("turning iwd's autoconnect on")?;
    Ok((iwd, station))
}

/// One request to iwd; returns dbus-send's printed reply.
fn dbus_send(path: &str, method: &str, args: &[&str]) -> Result<String> {
    let bus = format!("--bus={}", bus_address());
    let destination = format!("--dest={SERVICE}");
    let mut full = vec![bus.as_str(), "--print-reply", destination.as_str(), path, method];
    full.extend_from_slice(args);
    process::run_timeout(paths::DBUS_SEND, &full, DBUS_TIMEOUT)
}

impl Station for Iwd {
    fn wait_connected(&mut self, timeout: Duration) -> Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(bssid) = self.connected_bssid()? {
                return Ok(bssid);
            }
            self.check_alive()?;
            if Instant::now() >= deadline {
                bail!("iwd did not connect within {timeout:?} (see iwd.log)");
            }
            std::thread::sleep(LINK_POLL);
        }
    }

    /// Connected is iwd's station state `connected` (handshake done, keys set); the BSSID is
    /// the kernel's.
    fn connected_bssid(&mut self) -> Result<Option<String>> {
        if self.station_property("State")? != "connected" {
            return Ok(None);
        }
        Ok(linked_bssid(&iw(&["dev", paths::STA_IFACE, "link"], IW_TIMEOUT)?))
    }

    fn scan(&mut self, freqs_mhz: &[u32], timeout: Duration) -> Result<()> {
        let freqs: Vec<String> = freqs_mhz.iter().map(u32::to_string).collect();
        let freqs = format!("array:uint16:{}", freqs.join(","));
        let method = format!("{STATION_DEBUG}.Scan");
        let deadline = Instant::now() + timeout;
        // The reply comes once the scan is triggered, and iwd then shows Scanning until its
        // results are in. Busy: iwd is scanning or connecting on its own; ours has yet to run.
        loop {
            match dbus_send(&self.station, &method, &[&freqs]) {
                Ok(_) => break,
                Err(err) if format!("{err:#}").contains("Busy") && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(err) => return Err(err).context("iwd did not start a scan"),
            }
        }
        while self.station_property("Scanning")? == "true" {
            if Instant::now() >= deadline {
                bail!("iwd's scan of {freqs_mhz:?} did not finish within {timeout:?}");
            }
            std::thread::sleep(PROPERTY_POLL);
        }
        Ok(())
    }

    /// iwd scans the target's channel, then roams (a reassociation on a WPA2-PSK network): the
    /// scan is part of iwd's deliberate roam. The request reaches iwd only once dbus-send has
    /// started (0.15-0.25 s under TCG): traffic flows meanwhile, so the gap does not include
    /// it, but the timeline's times from the trigger do.
    /// `Network.Connect` on the network's object (the station's path, the SSID in hex and
    /// the security type).
    fn select_network(&mut self, network: NetworkChoice) -> Result<()> {
        let ssid = match network {
            NetworkChoice::Main => paths::SSID,
            NetworkChoice::Other => paths::OTHER_SSID,
        };
        let path = network_path(&self.station, ssid, self.security);
        dbus_send(&path, "net.connman.iwd.Network.Connect", &[])
            .map(drop)
            .with_context(|| format!("iwd did not connect to {ssid}"))
    }

    fn roam(&mut self, bssid: &str) -> Result<()> {
        let address = bssid_bytes(bssid).with_context(|| format!("not a BSSID: {bssid}"))?;
        dbus_send(&self.station, &format!("{STATION_DEBUG}.Roam"), &[&address])
            .map(drop)
            .with_context(|| format!("iwd did not roam to {bssid}"))
    }

    /// What iwd carries from one run to the next: the channels it met the network on (kept:
    /// a long-connected station knows them); a retry timer after a failed roam, which only
    /// holds back roams on a weak signal (hwsim's is strong and fixed); and its BSS blacklist,
    /// in memory only: a BSS on which a connection failed (authentication, association or
    /// handshake) is avoided for 60 s and more, much as wpa_supplicant's BSSID ignore list.
    /// iwd has no request to clear it, so the closest equivalent of wpa_supplicant's
    /// `BSSID_IGNORE clear` is a restart, and only when the last run logged such a failure (iwd
    /// then reconnects: a scan of the known channels and a full connection, before the run's
    /// scan and steady traffic).
    fn forget_previous_runs(&mut self) -> Result<()> {
        let text = fs::read(&self.log).unwrap_or_default();
        let since = text.get(self.run_start as usize..).unwrap_or_default();
        let failed = String::from_utf8_lossy(since).lines().any(blacklisting_failure);
        self.run_start = text.len() as u64;
        if !failed {
            return Ok(());
        }
        system::progress("iwd: restarting it to clear its BSS blacklist (a connection failed)");
        self.iwd.kill();
        (self.iwd, self.station) = spawn_iwd(&self.log)?;
        self.wait_connected(RECONNECT_TIMEOUT).map(drop)
    }

    fn check_alive(&mut self) -> Result<()> {
        self.iwd.check_running()?;
        self.bus.check_running()
    }

    fn daemons(&self) -> Vec<(&'static str, u32)> {
        self.iwd.pid().map(|pid| ("iwd", pid)).into_iter().collect()
    }

    fn logs(&self) -> Vec<LogSource> {
        vec![
            LogSource {
                file_name: "iwd.log",
                path: self.log.clone(),
                source: "iwd",
                parse: Some(timeline::parse_iwd_line),
            },
            self.bus.log_source(),
        ]
    }
}

/// A network's object under the station's (iwd's D-Bus API): `<station>/<SSID in hex>_<type>`.
fn network_path(station: &str, ssid: &str, security: Security) -> String {
    let hex: String = ssid.bytes().map(|b| format!("{b:02x}")).collect();
    format!("{station}/{hex}_{}", roam_testbed::security::iwd_kind(security))
}

/// The network's file name in iwd's state directory (iwd.network(5)): the SSID itself when it
/// is made of alphanumerics, `-`, `_` and spaces, else `=` and its hex; the extension is the
/// security type.
fn network_file_name(ssid: &str, security: Security) -> String {
    let plain = ssid.chars().all(|c| c.is_ascii_alphanumeric() || "-_ ".contains(c));
    let name = if plain {
        ssid.to_owned()
    } else {
        let hex: String = ssid.bytes().map(|b| format!("{b:02x}")).collect();
        format!("={hex}")
    };
    format!("{name}.{}", roam_testbed::security::iwd_kind(security))
}

fn network_file(security: Security) -> String {
    roam_testbed::security::iwd_network_file(security)
}

/// iwd's record of the channels it met each known network on (in its state directory).
const KNOWN_FREQUENCIES_FILE: &str = ".known_network.freq";

/// The APs' channels as iwd would have recorded them after its first scan: a group per
/// network (any UUID), the network file's path and the frequencies. Like wpa_supplicant's
/// `initial_freq_list`, this only spares the first connection a full scan (6-10 s under TCG):
/// iwd's first connection is then a scan of these channels, and it adds every channel it sees
/// the network on anyway.
fn known_frequencies(network_file: &Path, freqs_mhz: &[u32]) -> String {
    let freqs: Vec<String> = freqs_mhz.iter().map(u32::to_string).collect();
    format!(
        "[5a9e6b1c-8f2d-4c3a-9b7e-1d2f3a4b5c6d]\nname={}\nlist={}\n",
        network_file.display(),
        freqs.join(" ")
    )
}

/// The object path of the object that has the Station interface, in dbus-send's print of
/// `GetManagedObjects` (a{oa{sa{sv}}}): objects are the dict keys three levels deep (indent 9),
/// their interfaces' names follow.
fn station_path(objects: &str) -> Option<String> {
    let station = format!("string \"{STATION}\"");
    let mut object = None;
    for line in objects.lines() {
        let text = line.trim_start();
        if line.len() - text.len() == 9 {
            if let Some(path) = text.strip_prefix("object path \"") {
                object = path.strip_suffix('"');
                continue;
            }
        }
        if text.trim_end() == station {
            return object.map(str::to_owned);
        }
    }
    None
}

/// The value in dbus-send's print of a `Properties.Get` reply: `connected` from
/// `   variant       string "connected"`, `false` from `   variant       boolean false`.
fn variant_value(reply: &str) -> Option<&str> {
    let value = reply.lines().find_map(|line| line.trim().strip_prefix("variant"))?;
    let (_type, value) = value.trim().split_once(' ')?;
    let value = value.trim();
    Some(value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value))
}

/// A dbus-send byte array argument from a BSSID: `array:byte:2,0,0,0,1,0`.
fn bssid_bytes(bssid: &str) -> Option<String> {
    let bytes: Vec<String> = bssid
        .split(':')
        .map(|octet| u8::from_str_radix(octet, 16).ok().map(|b| b.to_string()))
        .collect::<Option<_>>()?;
    (bytes.len() == 6).then(|| format!("array:byte:{}", bytes.join(",")))
}

/// Whether an iwd log line reports a failed connection that iwd answers by blacklisting the
/// BSS: `station_connect_cb() <ifindex>, result: <r>` with r = 1 (authentication failed),
/// 2 (association failed) or 3 (handshake failed); 0 is success, 4 and 5 (key setting
/// failed, aborted) blacklist nothing.
fn blacklisting_failure(line: &str) -> bool {
    let Some((_, rest)) = line.split_once("station_connect_cb() ") else {
        return false;
    };
    matches!(rest.rsplit_once("result: ").map(|(_, r)| r.trim()), Some("1" | "2" | "3"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_station_object() {
        let reply = r#"method return time=1795288363.843241 sender=:1.1 -> destination=:1.5 serial=20 reply_serial=2
   array [
      dict entry(
         object path "/net/connman/iwd/2"
         array [
            dict entry(
               string "net.connman.iwd.Adapter"
               array [
                  dict entry(
                     string "Name"
                     variant                         string "phy2"
                  )
               ]
            )
         ]
      )
      dict entry(
         object path "/net/connman/iwd/2/7"
         array [
            dict entry(
               string "net.connman.iwd.Device"
               array [
                  dict entry(
                     string "Adapter"
                     variant                         object path "/net/connman/iwd/2"
                  )
               ]
            )
            dict entry(
               string "net.connman.iwd.Station"
               array [
                  dict entry(
                     string "State"
                     variant                         string "disconnected"
                  )
               ]
            )
            dict entry(
               string "net.connman.iwd.StationDebug"
               array [
               ]
            )
         ]
      )
   ]
"#;
        assert_eq!(station_path(reply).as_deref(), Some("/net/connman/iwd/2/7"));
        assert_eq!(station_path(&reply.replace("iwd.Station\"", "iwd.AccessPoint\"")), None);
    }

    #[test]
    fn reads_property_values() {
        let reply = "method return time=1 sender=:1.1 -> destination=:1.9 serial=9 reply_serial=2\n   variant       string \"connected\"\n";
        assert_eq!(variant_value(reply), Some("connected"));
        assert_eq!(
            variant_value("method return x\n   variant       boolean false\n"),
            Some("false")
        );
        assert_eq!(variant_value("Error net.connman.iwd.NotFound: x"), None);
    }

    #[test]
    fn bssids_become_byte_arrays() {
        assert_eq!(bssid_bytes("02:00:00:00:01:0a").as_deref(), Some("array:byte:2,0,0,0,1,10"));
        assert_eq!(bssid_bytes("02:00:00:00:01"), None);
        assert_eq!(bssid_bytes("02:00:00:00:01:zz"), None);
    }

    #[test]
    fn network_objects_are_named_as_iwd_does() {
        let path = network_path("/net/connman/iwd/0/4", "roam-testbed-b", Security::Wpa2Psk);
        assert_eq!(path, "/net/connman/iwd/0/4/726f616d2d746573746265642d62_psk");
    }

    #[test]
    fn network_files_are_named_as_iwd_expects() {
        assert_eq!(network_file_name("roam-testbed", Security::Wpa2Psk), "roam-testbed.psk");
        assert_eq!(network_file_name("my net_1", Security::Open), "my net_1.open");
        assert_eq!(network_file_name("café!", Security::Open), "=636166c3a921.open");
    }

    #[test]
    fn connection_failures_that_blacklist() {
        let line = "1.0: src/station.c:station_connect_cb() 7, result: 3";
        assert!(blacklisting_failure(line));
        assert!(!blacklisting_failure("1.0: src/station.c:station_connect_cb() 7, result: 0"));
        assert!(!blacklisting_failure("1.0: src/station.c:station_connect_cb() 7, result: 5"));
        assert!(!blacklisting_failure("1.0: src/netdev.c:netdev_connect_event() result: 3"));
    }

    #[test]
    fn known_frequencies_name_the_network_file() {
        let text = known_frequencies(Path::new("/s/roam-testbed.psk"), &[2412, 2437]);
        assert!(text.contains("\nname=/s/roam-testbed.psk\nlist=2412 2437\n"), "{text}");
    }
}
