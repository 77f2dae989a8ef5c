//! The station-side software under test.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// Which software runs the station. Stock `wpa_supplicant` is the baseline every other stack is
/// compared with, so it comes first everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Stack {
    /// Stock wpa_supplicant, nothing else.
    #[serde(rename = "wpa_supplicant")]
    WpaSupplicant,
    /// Stock wpa_supplicant with the background scanning NetworkManager configures in every
    /// profile (`bgscan="simple:30:-65:300"`: a scan every 30 s below -65 dBm, every 300 s
    /// above), which lets wpa_supplicant roam to a stronger AP before the link breaks.
    #[serde(rename = "wpa_supplicant-bgscan")]
    WpaSupplicantBgscan,
    /// wpa_supplicant plus the roam agent (`roam run --iface <sta iface>`).
    #[serde(rename = "roam")]
    Roam,
    /// The same with the agent's monitor off (`detect.monitor = false` in its configuration):
    /// roam on a host whose monitor interface hears nothing of its AP (firmware beacon
    /// filtering, no monitor mode), so liveness comes from acknowledgements and traffic alone.
    #[serde(rename = "roam-no-monitor")]
    RoamNoMonitor,
    /// The roam agent alone on an open network: no supplicant, roam acts through bare nl80211
    /// (`roam run --backend nl80211`); the first connection is `iw connect`.
    #[serde(rename = "roam-nl80211")]
    RoamNl80211,
    /// iwd alone, the station's only connection manager, on a dbus-daemon of its own; stock
    /// but for keeping the station interface and configuring no address (developer mode for
    /// the runner's scans and deliberate roams).
    #[serde(rename = "iwd")]
    Iwd,
    /// NetworkManager owning the station, as on Debian, Ubuntu and Fedora desktops: its own
    /// wpa_supplicant over D-Bus, a keyfile profile for the testbed network, its DHCP client.
    #[serde(rename = "networkmanager")]
    NetworkManager,
    /// The same plus the roam agent (through the control socket NetworkManager's
    /// wpa_supplicant opens, `-O /run/wpa_supplicant`, as Debian starts it).
    #[serde(rename = "roam-networkmanager")]
    RoamNetworkManager,
    /// systemd-networkd (DHCP, router advertisements, `IgnoreCarrierLoss=3s`) beside
    /// wpa_supplicant as wpa_supplicant@.service runs it: servers and robots.
    #[serde(rename = "networkd")]
    Networkd,
    /// The same plus the roam agent.
    #[serde(rename = "roam-networkd")]
    RoamNetworkd,
}

impl Stack {
    pub const ALL: [Stack; 10] = [
        Stack::WpaSupplicant,
        Stack::WpaSupplicantBgscan,
        Stack::Roam,
        Stack::RoamNoMonitor,
        Stack::RoamNl80211,
        Stack::Iwd,
        Stack::NetworkManager,
        Stack::RoamNetworkManager,
        Stack::Networkd,
        Stack::RoamNetworkd,
    ];

    /// The same host without the roam agent: what the agent's figures are compared with
    /// (stock wpa_supplicant for the bare agent stacks, the manager for the manager stacks).
    pub fn without_agent(self) -> Stack {
        match self {
            Stack::Roam | Stack::RoamNoMonitor | Stack::RoamNl80211 => Stack::WpaSupplicant,
            Stack::RoamNetworkManager => Stack::NetworkManager,
            Stack::RoamNetworkd => Stack::Networkd,
            other => other,
        }
    }

    /// Whether the roam agent runs in this stack (it needs the agent in the image).
    pub fn runs_roam(self) -> bool {
        matches!(
            self,
            Stack::Roam
                | Stack::RoamNoMonitor
                | Stack::RoamNl80211
                | Stack::RoamNetworkManager
                | Stack::RoamNetworkd
        )
    }

    /// Whether wpa_supplicant runs (and logs its timeline) in this stack.
    pub fn runs_wpa_supplicant(self) -> bool {
        matches!(
            self,
            Stack::WpaSupplicant
                | Stack::WpaSupplicantBgscan
                | Stack::Roam
                | Stack::RoamNoMonitor
                | Stack::NetworkManager
                | Stack::RoamNetworkManager
                | Stack::Networkd
                | Stack::RoamNetworkd
        )
    }

    /// Whether the stack configures the station's addresses itself, by DHCP and router
    /// advertisements (the others get a static address from the testbed).
    pub fn uses_dhcp(self) -> bool {
        matches!(
            self,
            Stack::NetworkManager
                | Stack::RoamNetworkManager
                | Stack::Networkd
                | Stack::RoamNetworkd
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            Stack::WpaSupplicant => "wpa_supplicant",
            Stack::WpaSupplicantBgscan => "wpa_supplicant-bgscan",
            Stack::Roam => "roam",
            Stack::RoamNoMonitor => "roam-no-monitor",
            Stack::RoamNl80211 => "roam-nl80211",
            Stack::Iwd => "iwd",
            Stack::NetworkManager => "networkmanager",
            Stack::RoamNetworkManager => "roam-networkmanager",
            Stack::Networkd => "networkd",
            Stack::RoamNetworkd => "roam-networkd",
        }
    }
}

impl fmt::Display for Stack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Stack {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Stack::ALL.into_iter().find(|stack| stack.name() == s).ok_or_else(|| {
            let names: Vec<&str> = Stack::ALL.iter().map(|s| s.name()).collect();
            format!("unknown stack `{s}` (known: {})", names.join(", "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Stack;

    #[test]
    fn names_round_trip() {
        for stack in Stack::ALL {
            assert_eq!(stack.name().parse::<Stack>(), Ok(stack));
            assert_eq!(serde_json::to_string(&stack).unwrap(), format!("\"{}\"", stack.name()));
        }
        assert!("wpa".parse::<Stack>().unwrap_err().contains("wpa_supplicant"));
    }
}
