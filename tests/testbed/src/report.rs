//! The JSON report (`--json FILE`). Its shape is a contract: benchmarks extend it, so fields are
//! only ever added, never renamed.
//!
//! ```json
//! {"scenarios":[{"name","channels","stack","security","p50_gap_ms","p95_gap_ms",
//!   "runs":[{"gap_ms","lost_packets","recovered","bssid_before","bssid_after","timeline":[...]}]}]}
//! ```

use serde::{Deserialize, Serialize};

use crate::{
    plan::{GuestResults, Plan, Software},
    scenario::Security,
    stack::Stack,
    timeline::TimelineEvent,
};

/// `roam check --json` of the guest's station, in the results when the agent is in the image.
pub const ROAM_CHECK_FILE: &str = "roam-check.json";

/// The hooks a `roam check --json` report does not show as attached, as "program: status (why)".
/// In the VM every hook has what it needs (kprobes, cfg80211, mac80211, a monitor interface), so
/// the suite expects this list to be empty.
pub fn hooks_not_attached(check_json: &str) -> Result<Vec<String>, String> {
    let report: serde_json::Value =
        serde_json::from_str(check_json).map_err(|e| format!("roam check printed no JSON: {e}"))?;
    let hooks = report["hooks"]["hooks"]
        .as_array()
        .ok_or_else(|| format!("roam check attached nothing: {}", report["hooks"]))?;
    Ok(hooks
        .iter()
        .filter(|h| h["status"] != "attached")
        .map(|h| format!("{}: {} ({})", h["program"], h["status"], h["reason"]))
        .collect())
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub scenarios: Vec<ScenarioReport>,
    /// The guest's kernel and daemons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software: Option<Software>,
}

/// One scenario on one channel layout with one stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioReport {
    pub name: String,
    /// The channel of each AP, e.g. `[1, 1]` (same) or `[1, 6]` (different).
    pub channels: Vec<u8>,
    pub stack: Stack,
    /// The network's security (a plan can run one scenario under several).
    #[serde(default)]
    pub security: Security,
    /// Median traffic gap over the runs; null without runs.
    pub p50_gap_ms: Option<f64>,
    pub p95_gap_ms: Option<f64>,
    /// The IPv6 probe's median gap, where one ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p50_gap_ms_ipv6: Option<f64>,
    pub runs: Vec<RunReport>,
}

/// One measured event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// Longest interval without a successful probe round trip around the event.
    pub gap_ms: f64,
    /// Probes sent during the disruption that never came back.
    pub lost_packets: u64,
    /// How long, from the trigger on, more than 5 % of the probes were lost (ms).
    #[serde(default)]
    pub lossy_ms: f64,
    /// Connections the station completed after the trigger: roams and reconnections.
    #[serde(default)]
    pub connections: u32,
    /// Traffic flowed again before the recovery timeout.
    pub recovered: bool,
    /// The AP the station was associated with at the trigger.
    pub bssid_before: Option<String>,
    /// The AP the station was associated with at the end of the measurement.
    pub bssid_after: Option<String>,
    /// Events in ms from the trigger, in time order.
    pub timeline: Vec<TimelineEvent>,
    /// The IPv6 probe's figures, where one ran beside the IPv4 one (whose are the fields above).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<FamilyFigures>,
    /// How the station's addresses fared, for the stacks that take them by DHCP and router
    /// advertisements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addressing: Option<Addressing>,
}

/// The station's addresses over one run of a DHCP stack: a roam that keeps the link keeps the
/// lease, so the server sees no DISCOVER from the station and the addresses stay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Addressing {
    /// DHCPDISCOVERs the server logged from the station during the run: the lease was lost.
    pub dhcp_discovers: u32,
    /// DHCPREQUESTs it logged (a client confirming its lease after a roam is not a loss).
    pub dhcp_requests: u32,
    /// The station had its leased IPv4 address at the end of the run.
    pub ipv4_kept: bool,
    /// The station had an IPv6 default route (from the router advertisements) at the end.
    pub ipv6_default_route: bool,
}

impl RunReport {
    /// When roam's agent took the AP for lost, in ms from the trigger: its detection time.
    pub fn roam_detected_ms(&self) -> Option<f64> {
        self.timeline.iter().find(|e| e.event == "roam_detect").map(|e| e.t_ms)
    }
}

impl Addressing {
    /// Whether the run kept the station's addressing whole.
    pub fn kept(&self) -> bool {
        self.dhcp_discovers == 0 && self.ipv4_kept && self.ipv6_default_route
    }

    /// "kept/checked" over some runs' addressing (`-` where none was checked: a static stack).
    pub fn kept_of(checked: impl IntoIterator<Item = Addressing>) -> String {
        let (kept, all) = checked
            .into_iter()
            .fold((0, 0), |(kept, all), a| (kept + usize::from(a.kept()), all + 1));
        match all {
            0 => "-".to_owned(),
            n => format!("{kept}/{n}"),
        }
    }
}

/// One address family's probe over a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FamilyFigures {
    pub gap_ms: f64,
    pub lost_packets: u64,
    pub recovered: bool,
}

impl Report {
    /// Joins the plan with the guest's results (case i of one is case i of the other). Runs that
    /// failed before their trigger measured nothing and are left out.
    pub fn new(plan: &Plan, results: &GuestResults) -> Report {
        let scenarios = plan
            .cases
            .iter()
            .zip(&results.cases)
            .map(|(case, outcome)| {
                let runs: Vec<RunReport> = outcome
                    .runs
                    .iter()
                    .filter(|run| run.measured)
                    .map(|run| run.report.clone())
                    .collect();
                let gaps: Vec<f64> = runs.iter().map(|run| run.gap_ms).collect();
                let gaps6: Vec<f64> =
                    runs.iter().filter_map(|run| Some(run.ipv6.as_ref()?.gap_ms)).collect();
                ScenarioReport {
                    name: case.scenario.name.clone(),
                    channels: case.channels.clone(),
                    stack: case.stack,
                    security: case.scenario.security,
                    p50_gap_ms: percentile(&gaps, 50.0),
                    p95_gap_ms: percentile(&gaps, 95.0),
                    p50_gap_ms_ipv6: percentile(&gaps6, 50.0),
                    runs,
                }
            })
            .collect();
        let software = Some(results.software.clone()).filter(|s| *s != Software::default());
        Report { scenarios, software }
    }
}

/// The `p`th percentile (0-100) with linear interpolation between closest ranks; `None` if empty.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (p / 100.0).clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (low, high) = (rank.floor() as usize, rank.ceil() as usize);
    let fraction = rank - low as f64;
    Some(sorted[low] + (sorted[high] - sorted[low]) * fraction)
}

/// The median of integer counts (for summary tables).
pub fn median_u64(values: &[u64]) -> Option<f64> {
    let as_f64: Vec<f64> = values.iter().map(|&v| v as f64).collect();
    percentile(&as_f64, 50.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        plan::{Case, CaseOutcome, RunOutcome},
        scenario::Scenario,
    };

    #[test]
    fn hook_report_lists_what_is_not_attached() {
        let json = r#"{"can_run":true,"hooks":{"hooks":[
            {"program":"roam_frames","status":"attached"},
            {"program":"roam_carrier_off","status":"skipped","reason":"kprobes are unavailable"}],
            "carrier_source":"rtnetlink"}}"#;
        let missing = hooks_not_attached(json).unwrap();
        assert_eq!(missing.len(), 1);
        assert!(missing[0].contains("roam_carrier_off") && missing[0].contains("kprobes"));
        assert!(hooks_not_attached(r#"{"hooks":{"error":"loading failed"}}"#).is_err());
        assert!(hooks_not_attached("").is_err());
    }

    #[test]
    fn percentiles_interpolate() {
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&[7.0], 95.0), Some(7.0));
        assert_eq!(percentile(&[3.0, 1.0, 2.0], 50.0), Some(2.0));
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 50.0), Some(2.5));
        let p95 = percentile(&[1.0, 2.0, 3.0, 4.0, 5.0], 95.0).unwrap();
        assert!((p95 - 4.8).abs() < 1e-9);
        assert_eq!(median_u64(&[5, 1, 3]), Some(3.0));
    }

    fn run(gap_ms: f64) -> RunOutcome {
        RunOutcome {
            report: RunReport {
                gap_ms,
                lost_packets: 100,
                lossy_ms: 0.0,
                connections: 0,
                recovered: true,
                bssid_before: Some("02:00:00:00:00:00".into()),
                bssid_after: Some("02:00:00:00:01:00".into()),
                timeline: vec![TimelineEvent::new(12.5, "auth", "wpa_supplicant")],
                ipv6: None,
                addressing: None,
            },
            measured: true,
            log_dir: "runs/x-1".into(),
            error: None,
            roam_window_lost: None,
            roam_transitions: 0,
            kernel_text_patches: None,
            metrics_window_ms: None,
            processes: Vec::new(),
            guest_stall_ms: None,
        }
    }

    /// The JSON shape is a contract with the benchmark: exactly these keys, at these places.
    #[test]
    fn json_has_the_agreed_shape() {
        let scenario =
            Scenario::from_toml("name = \"ap-kill\"\ntrigger = [{ action = \"kill\" }]").unwrap();
        let plan = Plan {
            probe_interval_ms: 10,
            cases: vec![Case {
                scenario,
                stack: Stack::WpaSupplicant,
                channels: vec![1, 6],
                repeats: 2,
                first_run: 1,
            }],
            capture_frames: false,
            ipv6_probe: false,
        };
        let unmeasured = RunOutcome {
            measured: false,
            error: Some("the station did not connect".into()),
            ..run(0.0)
        };
        let results = GuestResults {
            cases: vec![CaseOutcome {
                error: None,
                runs: vec![run(1000.0), run(2000.0), unmeasured],
            }],
            leftovers: Vec::new(),
            software: Software::default(),
        };
        let json = serde_json::to_value(Report::new(&plan, &results)).unwrap();
        let expected = serde_json::json!({"scenarios": [{
            "name": "ap-kill",
            "channels": [1, 6],
            "stack": "wpa_supplicant",
            "security": "wpa2-psk",
            "p50_gap_ms": 1500.0,
            "p95_gap_ms": 1950.0,
            "runs": [
                {"gap_ms": 1000.0, "lost_packets": 100, "lossy_ms": 0.0, "connections": 0, "recovered": true,
                 "bssid_before": "02:00:00:00:00:00", "bssid_after": "02:00:00:00:01:00",
                 "timeline": [{"t_ms": 12.5, "event": "auth", "source": "wpa_supplicant"}]},
                {"gap_ms": 2000.0, "lost_packets": 100, "lossy_ms": 0.0, "connections": 0, "recovered": true,
                 "bssid_before": "02:00:00:00:00:00", "bssid_after": "02:00:00:00:01:00",
                 "timeline": [{"t_ms": 12.5, "event": "auth", "source": "wpa_supplicant"}]},
            ],
        }]});
        assert_eq!(json, expected);
    }
}
