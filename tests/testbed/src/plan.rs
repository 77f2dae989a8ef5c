//! What the host asks the guest to run in one boot, and what the guest hands back.

use serde::{Deserialize, Serialize};

use crate::{
    report::RunReport,
    scenario::{channels_label, Scenario},
    stack::Stack,
};

/// Where the plan is inside the guest (the host appends it to the initramfs).
pub const PLAN_PATH: &str = "/etc/roam-testbed/plan.json";
/// Name of the guest's results file inside the results archive.
pub const RESULTS_FILE: &str = "results.json";

/// Every case of one boot, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Interval between two traffic probes.
    pub probe_interval_ms: u64,
    pub cases: Vec<Case>,
    /// Record each run's 802.11 frames, as a monitor interface of the station's radio delivers
    /// them (radiotap), in the run's `frames.pcap`: the fuzzer's seeds (`cargo xtask fuzz`).
    #[serde(default)]
    pub capture_frames: bool,
    /// A second probe, over IPv6, beside the IPv4 one (`vm run --ipv6`): each run's gap is then
    /// reported per address family.
    #[serde(default)]
    pub ipv6_probe: bool,
}

/// One scenario on one channel layout with one stack, repeated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub scenario: Scenario,
    pub stack: Stack,
    /// The channel of each AP.
    pub channels: Vec<u8>,
    pub repeats: u32,
    /// Number of this case's first run. A plan that alternates stacks run by run (the
    /// benchmark) has many one-run cases of the same scenario; numbering them on keeps every
    /// run's log directory apart.
    #[serde(default = "first")]
    pub first_run: u32,
}

fn first() -> u32 {
    1
}

impl Case {
    /// `silent-ap-loss [1-6] wpa_supplicant`, `ap-deauth [1-1] roam (ft-sae)`: how progress
    /// lines and tables name the case.
    pub fn title(&self) -> String {
        let security = self.security_label().map(|s| format!(" ({s})")).unwrap_or_default();
        let channels = channels_label(&self.channels);
        format!("{} [{channels}] {}{security}", self.scenario.name, self.stack)
    }

    /// The network's security where it is not the testbed's WPA2-PSK or open: a plan can run
    /// one scenario under several (the suite's security cases), and their titles and log
    /// directories must differ.
    pub fn security_label(&self) -> Option<&'static str> {
        crate::security::distinct_name(self.scenario.security)
    }

    /// The numbers of this case's runs.
    pub fn run_numbers(&self) -> std::ops::RangeInclusive<u32> {
        self.first_run..=self.first_run + self.repeats - 1
    }

    /// Directory name of one run's logs: `silent-ap-loss-1-6-wpa_supplicant-2`,
    /// `ap-deauth-1-1-roam-ft-sae-1`.
    pub fn run_dir_name(&self, run: u32) -> String {
        let security = self.security_label().map(|s| format!("{s}-")).unwrap_or_default();
        let channels = channels_label(&self.channels);
        format!("{}-{channels}-{}-{security}{run}", self.scenario.name, self.stack)
    }
}

/// The guest's answer: one entry per case of the plan, in plan order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GuestResults {
    pub cases: Vec<CaseOutcome>,
    /// What was left of roam after a test (programs, links, monitor interfaces, run records,
    /// changed sysctls), one entry per test that left something.
    #[serde(default)]
    pub leftovers: Vec<String>,
    /// What the guest ran (absent from results of older testbeds).
    #[serde(default)]
    pub software: Software,
}

/// The guest's kernel and the versions its daemons report of themselves (`hostapd -v`...):
/// a figure is of these, and a report says so.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Software {
    /// `uname -r`
    pub kernel: String,
    pub hostapd: String,
    pub wpa_supplicant: String,
    pub iwd: String,
    /// The managers' stacks' daemons (empty where the image has none, or in a report from
    /// before they were read).
    #[serde(default)]
    pub network_manager: String,
    #[serde(default)]
    pub systemd_networkd: String,
    /// The DHCP server and router advertiser behind the APs.
    #[serde(default)]
    pub dnsmasq: String,
}

impl Software {
    /// `linux 6.1.0-57-amd64, hostapd 2.10, ...`: every version known, in one line.
    pub fn describe(&self) -> String {
        let mut parts = vec![format!("linux {}", self.kernel)];
        let daemons = [
            ("hostapd", &self.hostapd),
            ("wpa_supplicant", &self.wpa_supplicant),
            ("iwd", &self.iwd),
            ("NetworkManager", &self.network_manager),
            ("systemd-networkd", &self.systemd_networkd),
            ("dnsmasq", &self.dnsmasq),
        ];
        parts.extend(
            daemons
                .into_iter()
                .filter(|(_, version)| !version.is_empty())
                .map(|(name, version)| format!("{name} {version}")),
        );
        parts.join(", ")
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CaseOutcome {
    /// Set when the case could not run at all (topology or station failed to come up).
    pub error: Option<String>,
    pub runs: Vec<RunOutcome>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunOutcome {
    pub report: RunReport,
    /// Whether the traffic was measured (false if the run failed before its trigger); only
    /// measured runs enter the report.
    pub measured: bool,
    /// The run's logs, relative to the results archive root.
    pub log_dir: String,
    /// Set when the run itself failed (a step could not be carried out, no recovery...).
    pub error: Option<String>,
    /// roam stack: packets the agent reported lost in its drop windows during the run, and
    /// the number of transitions it measured (to compare with the probe's count).
    #[serde(default)]
    pub roam_window_lost: Option<u64>,
    #[serde(default)]
    pub roam_transitions: u32,
    /// Batches of kernel code the guest live-patched from the run's preparation to its end
    /// (see the testbed's `text_patching`): nonzero means qemu TCG could have hung the run.
    #[serde(default)]
    pub kernel_text_patches: Option<u64>,
    /// Stacks that export metrics: ms between the scrape before the trigger
    /// (`metrics-before.txt` in the run's logs) and the one after the run (`metrics.txt`), the
    /// window over which the benchmark turns counter increases into rates.
    #[serde(default)]
    pub metrics_window_ms: Option<f64>,
    /// The stack's daemons over the run, from the trigger to the end of the measurement: how
    /// often each woke up and its memory.
    #[serde(default)]
    pub processes: Vec<ProcessWindow>,
    /// The longest time any vCPU of the guest stood still inside the run's traffic gap, in ms
    /// (see the testbed's `stalls`): the part of the gap the machine, not the stack, took.
    /// `None` where the watchers did not run.
    #[serde(default)]
    pub guest_stall_ms: Option<f64>,
}

/// One daemon of the stack over a run's window (from /proc).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProcessWindow {
    /// Its role in the stack: `wpa_supplicant`, `roam`, `iwd`.
    pub process: String,
    /// How long the window lasted.
    pub window_ms: f64,
    /// Voluntary context switches of its threads in the window (a wake-up each); `None` when
    /// it was restarted inside the window.
    pub wakeups: Option<u64>,
    /// Resident memory at the end of the window (VmRSS).
    pub rss_bytes: u64,
    /// The most it was ever resident (VmHWM).
    pub peak_rss_bytes: u64,
}

impl RunOutcome {
    pub fn failed(&self) -> bool {
        self.error.is_some() || !self.report.recovered
    }
}

#[cfg(test)]
mod tests {
    use super::Software;

    #[test]
    fn the_software_line_names_only_the_daemons_the_guest_has() {
        let software = Software {
            kernel: "6.12.117+deb13-amd64".into(),
            hostapd: "2.10".into(),
            wpa_supplicant: "2.10".into(),
            iwd: "3.8".into(),
            network_manager: "1.52.1".into(),
            ..Software::default()
        };
        assert_eq!(
            software.describe(),
            "linux 6.12.117+deb13-amd64, hostapd 2.10, wpa_supplicant 2.10, iwd 3.8, \
             NetworkManager 1.52.1"
        );
        // A report written before the managers' versions were read still parses.
        let old =
            r#"{"kernel":"6.1.0-57-amd64","hostapd":"2.10","wpa_supplicant":"2.10","iwd":"2.3"}"#;
        let parsed: Software = serde_json::from_str(old).unwrap();
        assert!(parsed.network_manager.is_empty() && parsed.dnsmasq.is_empty());
    }
}
