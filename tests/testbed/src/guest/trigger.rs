//! Carrying out a scenario's steps on a topology.

use std::time::Duration;

use anyhow::{Context as _, Result};
use roam_testbed::scenario::{NetworkChoice, Step, Target};

use roam_testbed::medium::{
    air::{Link, DEFAULT_SIGNAL_DBM},
    signal::{Jitter, SignalPath},
};

use super::{attacker::ForgedBeacon, leftovers, paths, process, system, topology::Topology};

/// How long a fault step waits for what it waits for (a connection, an agent event such as a
/// re-attachment, which loads and verifies every program again: as long as a start).
const FAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Performs one step. `serving` is the AP that served the station when the trigger started:
/// targets resolve against it for the whole scenario. Returns a label for the timeline (none for
/// a wait).
pub fn execute(step: &Step, topology: &mut Topology, serving: usize) -> Result<Option<String>> {
    let aps = topology.aps.len();
    let index = match step.target() {
        Some(Target::Current) => Some(current_ap(topology)?),
        Some(target) => Some(target.resolve(serving, aps)),
        None => None,
    };
    let iface = index.map(|i| topology.aps[i].iface.clone()).unwrap_or_default();
    let station = topology.station_mac.clone();
    let label = |what: &str| Some(format!("{what} {iface}"));
    let result = match *step {
        Step::PauseTraffic => {
            topology.probes().for_each(|probe| probe.set_paused(true));
            Ok(Some("pause traffic".into()))
        }
        Step::ResumeTraffic => {
            topology.probes().for_each(|probe| probe.set_paused(false));
            Ok(Some("resume traffic".into()))
        }
        Step::SelectNetwork { network } => topology
            .station()
            .select_network(network)
            .map(|()| Some(format!("select network {network:?}"))),
        Step::ExpectGateway { network } => {
            expect_gateway(network).map(|mac| Some(format!("gateway at {mac}")))
        }
        Step::Wait { ms } => {
            std::thread::sleep(Duration::from_millis(ms));
            return Ok(None);
        }
        Step::Silence { .. } => topology.aps[ap(index)]
            .set_silenced(true)
            .and_then(|()| topology.isolate_in_medium(ap(index), true))
            .map(|()| label("silence")),
        Step::Unsilence { .. } => topology.aps[ap(index)]
            .set_silenced(false)
            .and_then(|()| topology.isolate_in_medium(ap(index), false))
            .map(|()| label("unsilence")),
        Step::DropBeacons { ms, .. } => {
            let (ap, sta) = topology.link_to_station(ap(index))?;
            let until = system::monotonic_ns() + ms * 1_000_000;
            topology.medium()?.update(|rules| {
                rules.beacons_dropped.insert((ap, sta), until);
            });
            Ok(Some(format!("drop-beacons {iface} {ms} ms")))
        }
        Step::LinkLoss { percent, ms, .. } => {
            let (ap, sta) = topology.link_to_station(ap(index))?;
            let until = system::monotonic_ns() + ms * 1_000_000;
            topology.medium()?.update(|rules| {
                rules.loss.insert(Link::between(ap, sta), (f64::from(percent) / 100.0, until));
            });
            Ok(Some(format!("link-loss {iface} {percent}% {ms} ms")))
        }
        Step::Signal { to_dbm, over_ms, jitter_db, jitter_every_ms, .. } => {
            let (ap, sta) = topology.link_to_station(ap(index))?;
            let now = system::monotonic_ns();
            topology.medium()?.update(|rules| {
                // Both ways, each from where it is now: a walk goes on from where it got to.
                for (seed, link) in [(ap, sta), (sta, ap)].into_iter().enumerate() {
                    let path = SignalPath {
                        from_dbm: rules
                            .signal
                            .get(&link)
                            .map_or(f64::from(DEFAULT_SIGNAL_DBM), |path| path.trend_at(now)),
                        to_dbm: f64::from(to_dbm),
                        start_ns: now,
                        over_ns: over_ms * 1_000_000,
                        jitter: (jitter_db > 0).then(|| Jitter {
                            db: f64::from(jitter_db),
                            every_ns: jitter_every_ms * 1_000_000,
                            seed: link_seed(link.0, link.1) ^ seed as u64,
                        }),
                    };
                    rules.signal.insert(link, path);
                }
            });
            let over = if over_ms > 0 { format!(" over {over_ms} ms") } else { String::new() };
            let jitter = if jitter_db > 0 { format!(" +-{jitter_db} dB") } else { String::new() };
            Ok(Some(format!("signal {iface} {to_dbm} dBm{over}{jitter}")))
        }
        Step::Deauth { reason, .. } => topology.aps[ap(index)]
            .deauthenticate(&station, reason)
            .map(|()| Some(format!("deauth {iface} reason={reason}"))),
        Step::Disassoc { reason, .. } => topology.aps[ap(index)]
            .disassociate(&station, reason)
            .map(|()| Some(format!("disassoc {iface} reason={reason}"))),
        Step::Disable { .. } => topology.aps[ap(index)].disable().map(|()| label("disable")),
        Step::Enable { .. } => topology.aps[ap(index)].enable().map(|()| label("enable")),
        Step::Kill { .. } => {
            let killed = &mut topology.aps[ap(index)];
            killed.ensure_own_hostapd()?;
            killed.kill();
            Ok(label("kill hostapd"))
        }
        Step::Start { .. } => topology.aps[ap(index)].start().map(|()| label("start hostapd")),
        Step::LinkDown { .. } => {
            topology.aps[ap(index)].set_link(false).map(|()| label("link-down"))
        }
        Step::LinkUp { .. } => topology.aps[ap(index)].set_link(true).map(|()| label("link-up")),
        Step::Roam { .. } => {
            let bssid = topology.aps[ap(index)].bssid.clone();
            topology.station().roam(&bssid).map(|()| label("roam to"))
        }
        Step::RestartSupplicant => {
            topology.station().restart_supplicant().map(|()| Some("restart wpa_supplicant".into()))
        }
        Step::RemoveStation => topology.remove_station().map(|()| Some("remove station".into())),
        Step::AddStation => topology.add_station().map(|()| Some("add station".into())),
        Step::KillAgent => topology.station().kill_agent().map(|()| Some("kill roam".into())),
        Step::RemoveMonitor => {
            let names = leftovers::monitor_interfaces(Some(paths::STA_NETNS));
            let name = names.first().context("the agent has no monitor interface to delete")?;
            process::run(
                paths::IP,
                &["netns", "exec", paths::STA_NETNS, paths::IW, "dev", name, "del"],
            )
            .map(|_| Some(format!("delete {name}")))
        }
        Step::PauseSupplicant => topology
            .station()
            .signal_supplicant(libc::SIGSTOP)
            .map(|()| Some("pause wpa_supplicant".into())),
        Step::ResumeSupplicant => topology
            .station()
            .signal_supplicant(libc::SIGCONT)
            .map(|()| Some("resume wpa_supplicant".into())),
        Step::StopAgent { within_ms } => {
            let limit = Duration::from_millis(within_ms);
            let took = topology.station().stop_agent()?;
            match took {
                Some(took) if took <= limit => Ok(Some(format!("roam stopped in {took:?}"))),
                Some(took) => {
                    Err(anyhow::anyhow!("roam took {took:?} to stop, more than {limit:?}"))
                }
                None => Err(anyhow::anyhow!("roam did not stop at SIGTERM; it was killed")),
            }
        }
        Step::ExpectStatus { within_ms } => {
            let limit = Duration::from_millis(within_ms);
            topology
                .station()
                .agent_status(limit)
                .map(|took| Some(format!("roam status answered in {took:?}")))
        }
        Step::StartAgent => topology.station().start_agent().map(|()| Some("start roam".into())),
        Step::PauseAgent => {
            topology.station().signal_agent(libc::SIGSTOP).map(|()| Some("pause roam".into()))
        }
        Step::ResumeAgent => {
            topology.station().signal_agent(libc::SIGCONT).map(|()| Some("resume roam".into()))
        }
        Step::WaitConnected => topology
            .station()
            .wait_connected(FAULT_TIMEOUT)
            .map(|bssid| Some(format!("connected {bssid}"))),
        Step::SpoofDeauth { count, interval_ms, reason, every_ap, .. } => {
            let senders: Vec<(u8, String)> = match every_ap {
                true => topology.aps.iter().map(|ap| (ap.channel, ap.bssid.clone())).collect(),
                false => {
                    let target = &topology.aps[ap(index)];
                    vec![(target.channel, target.bssid.clone())]
                }
            };
            let attacker = topology.attacker.as_mut().context("no third radio in the topology")?;
            let interval = Duration::from_millis(interval_ms);
            attacker
                .spoof_deauth(&senders, &station, reason, count, interval)
                .map(|()| Some(format!("{count} spoofed deauths")))
        }
        Step::ForgeBeacon {
            ref bssid,
            ref ssid,
            interval_tu,
            security,
            per_second,
            ms,
            background,
            ..
        } => {
            let target = &topology.aps[ap(index)];
            let beacon = ForgedBeacon {
                bssid: bssid.clone().unwrap_or_else(|| target.bssid.clone()),
                ssid: ssid.clone().unwrap_or_else(|| paths::SSID.to_owned()),
                interval_tu,
                security: security.unwrap_or(topology.key.security),
            };
            let channel = target.channel;
            let attacker = topology.attacker.as_mut().context("no third radio in the topology")?;
            let duration = Duration::from_millis(ms);
            if background {
                let mut forger = attacker.try_clone()?;
                let label = format!("forging beacons of {} for {ms} ms", beacon.bssid);
                topology.in_background(move || {
                    let sent = forger.forge_beacons(channel, &beacon, per_second, duration)?;
                    Ok(format!("{sent} forged beacons of {}", beacon.bssid))
                });
                Ok(Some(label))
            } else {
                attacker
                    .forge_beacons(channel, &beacon, per_second, duration)
                    .map(|sent| Some(format!("{sent} forged beacons of {}", beacon.bssid)))
            }
        }
        Step::BeaconFlood { ref ssid, per_second, ms, .. } => {
            let channel = topology.aps[ap(index)].channel;
            let ssid = ssid.clone().unwrap_or_else(|| paths::SSID.to_owned());
            let security = topology.key.security;
            let attacker = topology.attacker.as_mut().context("no third radio in the topology")?;
            attacker
                .beacon_flood(channel, &ssid, security, per_second, Duration::from_millis(ms))
                .map(|sent| Some(format!("{sent} beacons of invented BSSes")))
        }
        Step::WaitAgentEvent { ref event } => topology
            .station()
            .wait_agent_event(event, FAULT_TIMEOUT)
            .map(|()| Some(format!("roam reported {event}"))),
        Step::ExpectPinned => {
            wait_until_pinned(topology).map(|bssid| Some(format!("pinned {bssid}")))
        }
        Step::ExpectSettingsRestored => {
            let changes = topology.station().supplicant_settings()?.changes();
            if !changes.is_empty() {
                anyhow::bail!("not as wpa_supplicant started: {}", changes.join("; "));
            }
            Ok(Some("supplicant settings as at start".into()))
        }
    };
    result.with_context(|| format!("step {step:?} failed"))
}

/// How long a pin is looked for: roam pins right after it reports the roam.
const PIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Waits until the supplicant's network is pinned to a BSSID it did not start with (its state
/// is only read, nothing announces it: looked at every few ms).
fn wait_until_pinned(topology: &mut Topology) -> Result<String> {
    let deadline = std::time::Instant::now() + PIN_TIMEOUT;
    loop {
        let settings = topology.station().supplicant_settings()?;
        if settings.now.network_bssid != settings.at_start.network_bssid {
            return Ok(settings.now.network_bssid);
        }
        if std::time::Instant::now() >= deadline {
            anyhow::bail!(
                "network 0 was not pinned within {PIN_TIMEOUT:?} (bssid reads {})",
                settings.now.network_bssid
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The AP the station is associated with now.
fn current_ap(topology: &mut Topology) -> Result<usize> {
    let bssid = topology
        .station()
        .connected_bssid()?
        .context("target `current`: the station is not connected")?;
    topology
        .ap_by_bssid(&bssid)
        .with_context(|| format!("target `current`: {bssid} is none of the topology's APs"))
}

fn ap(index: Option<usize>) -> usize {
    index.expect("every step but `wait` has a target")
}

/// The station's neighbour entry for the gateway's address holds `network`'s gateway's MAC, or
/// none yet (being resolved). Returns the MAC found.
fn expect_gateway(network: NetworkChoice) -> Result<String> {
    let expected = match network {
        NetworkChoice::Main => paths::BRIDGE_MAC,
        NetworkChoice::Other => paths::OTHER_GATEWAY_MAC,
    };
    let address = paths::BRIDGE_ADDRESS.split('/').next().unwrap_or_default();
    let entry = process::run(paths::IP, &["-n", paths::STA_NETNS, "neigh", "show", address])?;
    let found = entry.split_whitespace().skip_while(|w| *w != "lladdr").nth(1);
    match found {
        Some(mac) if !mac.eq_ignore_ascii_case(expected) => anyhow::bail!(
            "the station's entry for {address} holds {mac}, not {network:?}'s gateway {expected}: {}",
            entry.trim()
        ),
        Some(mac) => Ok(mac.to_owned()),
        None => Ok("(resolving)".to_owned()),
    }
}

/// A link's own seed for its signal's fluctuation: two links never fluctuate in step.
fn link_seed(from: roam_proto::MacAddr, to: roam_proto::MacAddr) -> u64 {
    from.0.iter().chain(&to.0).fold(0, |seed, byte| seed << 8 ^ seed >> 56 ^ u64::from(*byte))
}
