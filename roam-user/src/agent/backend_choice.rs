//! Which connection manager roam acts through, decided once at attachment from what the host
//! runs. Bare nl80211 connects only to open networks and takes the interface over from whoever
//! manages it, so `act.backend = "auto"` uses it only where nobody else manages Wi-Fi: with iwd,
//! NetworkManager, ConnMan or a wpa_supplicant that has no control socket for the interface,
//! roam observes and never acts (stock behaviour, with roam's measurements).

use std::fs;

use anyhow::{bail, Result};

use crate::{
    config::BackendChoice,
    nl80211::{Nl80211Error, Op},
};

/// Programs that manage Wi-Fi interfaces, as `/proc/PID/comm` names them.
const WIFI_MANAGERS: &[&str] = &["wpa_supplicant", "iwd", "NetworkManager", "connmand"];

#[derive(Debug, PartialEq, Eq)]
pub enum Plan {
    /// wpa_supplicant's control socket answers: act through it.
    Wpa,
    /// Nobody else manages the interface: act through bare nl80211 (open networks only; a
    /// protected network is observed, see [`nl80211_can_act`]).
    Nl80211,
    /// Someone else manages the interface without a socket roam can drive: observe only.
    ObserveOnly { why: String },
}

/// What to act through, given the configured choice, why wpa_supplicant does not answer for
/// `iface` (`None`: it does), and the Wi-Fi managers running. Pure.
pub fn plan(
    choice: BackendChoice,
    supplicant_problem: Option<&str>,
    managers: &[&str],
    iface: &str,
) -> Result<Plan> {
    let supplicant_answers = supplicant_problem.is_none();
    Ok(match choice {
        BackendChoice::WpaSupplicant if supplicant_answers => Plan::Wpa,
        BackendChoice::WpaSupplicant => bail!(
            "act.backend = \"wpa_supplicant\", but {}; fix: start wpa_supplicant for {iface}, or use --backend nl80211 (open networks without a supplicant)",
            supplicant_problem.unwrap_or_default()
        ),
        // The operator asked for it: what else runs is their call (warned about at setup).
        BackendChoice::Nl80211 => Plan::Nl80211,
        BackendChoice::Auto if supplicant_answers => Plan::Wpa,
        BackendChoice::Auto => match managers.first() {
            Some(manager) => Plan::ObserveOnly {
                why: format!(
                    "{manager} runs, and no wpa_supplicant control socket answers for {iface}: roam observes and does not act (it drives wpa_supplicant's socket, or bare nl80211 where nothing else manages Wi-Fi; --backend nl80211 forces the latter)"
                ),
            },
            None => Plan::Nl80211,
        },
    })
}

/// Whether bare nl80211 can act on the station's network: cfg80211's SME connects to open
/// networks only, and a protected network's keys are the supplicant's.
pub fn nl80211_can_act(protected: bool) -> bool {
    !protected
}

/// Why roam must stop acting, if `err` (a failed roam) says another program owns the
/// connection: cfg80211 refuses DISCONNECT and CONNECT with EPERM to every socket but the one
/// that connected with `NL80211_ATTR_SOCKET_OWNER` (iwd does; so does wpa_supplicant with its
/// control port over nl80211), and to a process without CAP_NET_ADMIN.
pub fn refused_as_not_the_owner(err: &anyhow::Error, iface: &str) -> Option<String> {
    let refused = err.chain().find_map(|cause| match cause.downcast_ref::<Nl80211Error>() {
        Some(Nl80211Error::Kernel {
            op: op @ (Op::Disconnect | Op::Connect { .. }),
            errno: nix::errno::Errno::EPERM,
            ..
        }) => Some(op.label()),
        _ => None,
    })?;
    Some(format!(
        "cfg80211 refused roam's {refused} on {iface} (EPERM): another program owns the connection (iwd, or a supplicant that claimed it), or roam lacks CAP_NET_ADMIN; roam observes and does not act from now on"
    ))
}

/// The Wi-Fi managers running on this host (any namespace: `/proc` shows every process).
pub fn running_wifi_managers() -> Vec<&'static str> {
    let Ok(entries) = fs::read_dir("/proc") else { return Vec::new() };
    let comms: Vec<String> = entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|e| fs::read_to_string(e.path().join("comm")).ok())
        .collect();
    managers_among(comms.iter().map(|c| c.trim_end()))
}

/// The known Wi-Fi managers among process names, each once, in [`WIFI_MANAGERS`]' order. Pure.
fn managers_among<'a>(comms: impl Iterator<Item = &'a str>) -> Vec<&'static str> {
    let comms: Vec<&str> = comms.collect();
    WIFI_MANAGERS.iter().copied().filter(|m| comms.contains(m)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_acts_through_a_supplicant_that_answers() {
        let plan = plan(BackendChoice::Auto, None, &["wpa_supplicant"], "wlan0").unwrap();
        assert_eq!(plan, Plan::Wpa);
    }

    #[test]
    fn auto_never_takes_an_interface_another_manager_runs() {
        let plan = plan(BackendChoice::Auto, Some("no socket"), &["iwd"], "wlan0").unwrap();
        let Plan::ObserveOnly { why } = plan else { panic!("{plan:?}") };
        assert!(why.starts_with("iwd runs, and no wpa_supplicant control socket answers for wlan0"));
    }

    #[test]
    fn auto_uses_bare_nl80211_only_where_nothing_manages_wifi() {
        assert_eq!(
            plan(BackendChoice::Auto, Some("no socket"), &[], "wlan0").unwrap(),
            Plan::Nl80211
        );
    }

    #[test]
    fn a_required_supplicant_that_does_not_answer_is_an_error_with_the_fix() {
        let err = plan(BackendChoice::WpaSupplicant, Some("PING timed out"), &[], "wlan0")
            .unwrap_err()
            .to_string();
        assert!(err.contains("but PING timed out; fix: start wpa_supplicant for wlan0"), "{err}");
    }

    #[test]
    fn the_operators_nl80211_is_kept() {
        assert_eq!(plan(BackendChoice::Nl80211, None, &["iwd"], "wlan0").unwrap(), Plan::Nl80211);
    }

    #[test]
    fn managers_are_found_by_their_process_names() {
        let comms = ["bash", "iwd", "NetworkManager", "iwd", "wpa_cli"];
        assert_eq!(managers_among(comms.into_iter()), ["iwd", "NetworkManager"]);
    }

    #[test]
    fn a_connection_another_socket_owns_stops_roam_acting() {
        let refused = Nl80211Error::Kernel {
            op: Op::Disconnect,
            iface: "wlan0".into(),
            errno: nix::errno::Errno::EPERM,
        };
        let err = anyhow::Error::new(refused).context("leaving the current AP");
        let why = refused_as_not_the_owner(&err, "wlan0").unwrap();
        assert!(
            why.starts_with("cfg80211 refused roam's NL80211_CMD_DISCONNECT on wlan0 (EPERM)"),
            "{why}"
        );
        let busy = Nl80211Error::Kernel {
            op: Op::Disconnect,
            iface: "wlan0".into(),
            errno: nix::errno::Errno::EBUSY,
        };
        assert_eq!(refused_as_not_the_owner(&anyhow::Error::new(busy), "wlan0"), None);
    }

    #[test]
    fn nl80211_acts_on_open_networks_only() {
        assert!(nl80211_can_act(false));
        assert!(!nl80211_can_act(true));
    }
}
