//! Which connection manager the host runs, and whether it will undo roam's gain: `roam check`'s
//! "connection manager" line.
//!
//! roam acts through wpa_supplicant's control socket wherever one answers: wpa_supplicant alone,
//! under NetworkManager (which runs it with per-interface sockets) or under systemd-networkd
//! (`wpa_supplicant@IFACE`). What the host's manager does around a roam decides the rest:
//! - systemd-networkd drops the interface's addresses and routes on every carrier loss (a roam's
//!   too) unless its `.network` file sets `IgnoreCarrierLoss=`, and runs DHCP and IPv6 setup
//!   again: about a second of lost traffic that roam cannot save;
//! - iwd owns the interface itself and answers no control socket: roam then only observes.

use std::path::{Path, PathBuf};

use super::{report::Check, roots::SysRoots};

/// The check's name in the report.
pub const MANAGER: &str = "connection manager";

/// The connection managers roam knows, by their process name (`/proc/<pid>/comm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Daemon {
    NetworkManager,
    Networkd,
    Iwd,
    ConnMan,
    WpaSupplicant,
}

impl Daemon {
    fn of_comm(comm: &str) -> Option<Daemon> {
        Some(match comm {
            "NetworkManager" => Daemon::NetworkManager,
            "systemd-network" | "systemd-networkd" => Daemon::Networkd,
            "iwd" => Daemon::Iwd,
            "connmand" => Daemon::ConnMan,
            "wpa_supplicant" => Daemon::WpaSupplicant,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Daemon::NetworkManager => "NetworkManager",
            Daemon::Networkd => "systemd-networkd",
            Daemon::Iwd => "iwd",
            Daemon::ConnMan => "ConnMan",
            Daemon::WpaSupplicant => "wpa_supplicant",
        }
    }
}

/// What systemd-networkd says of the interface: the `.network` file it applies (none when it
/// leaves the interface alone) and that file's `IgnoreCarrierLoss=`, drop-ins included.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetworkdLink {
    pub network_file: Option<PathBuf>,
    pub ignore_carrier_loss: Option<String>,
}

/// The check, from what runs and what networkd applies to `iface`. Pure.
pub fn judge(iface: &str, running: &[Daemon], networkd: &NetworkdLink) -> Check {
    let runs = |m: Daemon| running.contains(&m);
    if runs(Daemon::Iwd) && !runs(Daemon::WpaSupplicant) {
        return Check::warning(
            MANAGER,
            "iwd (no wpa_supplicant): roam observes only, iwd answers no control socket",
            "to let roam act, run wpa_supplicant for this interface instead of iwd",
        );
    }
    if runs(Daemon::Networkd) {
        if let Some(file) = &networkd.network_file {
            let ignored = networkd.ignore_carrier_loss.as_deref().filter(|v| !is_off(v));
            return match ignored {
                Some(value) => Check::ok(
                    MANAGER,
                    format!(
                        "systemd-networkd ({}, IgnoreCarrierLoss={value}) with wpa_supplicant",
                        file.display()
                    ),
                ),
                None => Check::warning(
                    MANAGER,
                    format!(
                        "systemd-networkd manages {iface} ({}) without IgnoreCarrierLoss=: every \
                         roam's carrier loss drops its addresses and routes, and DHCP and IPv6 \
                         setup run again",
                        file.display()
                    ),
                    format!(
                        "add `IgnoreCarrierLoss=3s` to the [Network] section of {}",
                        file.display()
                    ),
                ),
            };
        }
    }
    let found: Vec<&str> = [Daemon::NetworkManager, Daemon::ConnMan, Daemon::WpaSupplicant]
        .into_iter()
        .filter(|m| runs(*m))
        .map(Daemon::name)
        .collect();
    match found.as_slice() {
        [] => Check::warning(
            MANAGER,
            "none found running (no NetworkManager, systemd-networkd, iwd or wpa_supplicant)",
            "roam follows the manager that connects the station: start one",
        ),
        names => Check::ok(MANAGER, names.join(" with ")),
    }
}

/// `IgnoreCarrierLoss=` values that keep the default (drop on carrier loss).
fn is_off(value: &str) -> bool {
    matches!(value.trim(), "no" | "false" | "0" | "off" | "0s")
}

/// Reads the system: the processes running and networkd's state for `iface`.
pub fn check(roots: &SysRoots, iface: &str, ifindex: Option<u32>) -> Check {
    let running = running_managers(&roots.proc);
    let networkd = ifindex
        .map(|index| networkd_link(&roots.networkd_links.join(index.to_string())))
        .unwrap_or_default();
    judge(iface, &running, &networkd)
}

/// The managers among the processes under `proc`.
fn running_managers(proc: &Path) -> Vec<Daemon> {
    let Ok(entries) = std::fs::read_dir(proc) else { return Vec::new() };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let is_pid =
            entry.file_name().to_str().is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()));
        if !is_pid {
            continue;
        }
        let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        if let Some(manager) = Daemon::of_comm(comm.trim()) {
            if !found.contains(&manager) {
                found.push(manager);
            }
        }
    }
    found
}

/// networkd's state file of one link (`/run/systemd/netif/links/<ifindex>`) and the `.network`
/// file it names, with its drop-ins (`<file>.d/*.conf`, read in order, the last setting wins).
fn networkd_link(state_file: &Path) -> NetworkdLink {
    let Ok(state) = std::fs::read_to_string(state_file) else { return NetworkdLink::default() };
    let Some(file) = state.lines().find_map(|l| l.strip_prefix("NETWORK_FILE=")).map(PathBuf::from)
    else {
        return NetworkdLink::default();
    };
    let mut sources = vec![file.clone()];
    let mut dropins: Vec<PathBuf> =
        std::fs::read_dir(PathBuf::from(format!("{}.d", file.display())))
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "conf"))
                    .collect()
            })
            .unwrap_or_default();
    dropins.sort();
    sources.extend(dropins);
    let ignore_carrier_loss = sources.iter().rev().find_map(|path| {
        network_setting(&std::fs::read_to_string(path).ok()?, "IgnoreCarrierLoss")
    });
    NetworkdLink { network_file: Some(file), ignore_carrier_loss }
}

/// A key of the `[Network]` section of a networkd unit file (the last one wins). Pure.
pub fn network_setting(text: &str, key: &str) -> Option<String> {
    let mut section = "";
    let mut value = None;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') && line.ends_with(']') {
            section = line;
        } else if section == "[Network]" {
            if let Some((k, v)) = line.split_once('=') {
                if k.trim() == key {
                    value = Some(v.trim().to_owned());
                }
            }
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::report::Status;

    fn networkd(value: Option<&str>) -> NetworkdLink {
        NetworkdLink {
            network_file: Some("/etc/systemd/network/25-wlan.network".into()),
            ignore_carrier_loss: value.map(str::to_owned),
        }
    }

    #[test]
    fn networkd_without_ignore_carrier_loss_is_named_with_the_fix() {
        let running = [Daemon::Networkd, Daemon::WpaSupplicant];
        let check = judge("wlan0", &running, &networkd(None));
        assert_eq!(check.status, Status::Warning);
        assert!(check.detail.contains("without IgnoreCarrierLoss="));
        assert!(check.fix.as_deref().unwrap().contains("IgnoreCarrierLoss=3s"));
        assert_eq!(judge("wlan0", &running, &networkd(Some("no"))).status, Status::Warning);
        let set = judge("wlan0", &running, &networkd(Some("3s")));
        assert_eq!(set.status, Status::Ok);
        assert!(set.detail.contains("IgnoreCarrierLoss=3s"));
        // networkd runs but leaves this interface alone: not its business.
        let other = judge("wlan0", &running, &NetworkdLink::default());
        assert_eq!((other.status, other.detail.as_str()), (Status::Ok, "wpa_supplicant"));
    }

    #[test]
    fn iwd_alone_means_observe_only_and_the_others_are_named() {
        let iwd = judge("wlan0", &[Daemon::Iwd], &NetworkdLink::default());
        assert_eq!(iwd.status, Status::Warning);
        assert!(iwd.detail.contains("observes only"));
        let nm = judge(
            "wlan0",
            &[Daemon::WpaSupplicant, Daemon::NetworkManager],
            &NetworkdLink::default(),
        );
        assert_eq!(
            (nm.status, nm.detail.as_str()),
            (Status::Ok, "NetworkManager with wpa_supplicant")
        );
        assert_eq!(judge("wlan0", &[], &NetworkdLink::default()).status, Status::Warning);
    }

    #[test]
    fn the_network_section_setting_is_read_and_the_last_one_wins() {
        let text = "[Match]\nName=wlan0\nIgnoreCarrierLoss=no\n[Network]\nDHCP=yes\n\
                    IgnoreCarrierLoss = 2s\n# comment\nIgnoreCarrierLoss=3s\n[DHCPv4]\n";
        assert_eq!(network_setting(text, "IgnoreCarrierLoss").as_deref(), Some("3s"));
        assert_eq!(network_setting("[Network]\nDHCP=yes\n", "IgnoreCarrierLoss"), None);
    }
}
