//! `roam run`'s configuration: a TOML file (every key optional) and its defaults.
//!
//! ```toml
//! [detect]
//! silence_intervals = 3          # beacon intervals without a frame from the AP (2..20)
//! signal_threshold_dbm = -75     # optional, validated but NOT acted on yet: the RSSI-trend
//! signal_hysteresis_db = 8       #   trigger (weaker than this, a candidate better by this much)
//!
//! [act]
//! backend = "auto"               # auto | wpa_supplicant | nl80211 (auto: wpa_supplicant when
//!                                #   its control socket answers, else bare nl80211, open networks)
//! observe_only = false
//! max_roams_per_minute = 6
//! backoff_initial_ms = 500
//! backoff_max_ms = 30000
//! roam_timeout_ms = 5000
//!
//! [candidates]
//! max_heard_age_ms = 2000        # a BSS heard this recently by the kernel is a candidate
//! refresh_scans = true           # keep candidates' cfg80211 entries alive (single-channel scans)
//! refresh_min_interval_s = 20
//!
//! [drop_window]
//! restore_neighbours = true      # put back the ARP/ND entries a roam's carrier loss flushed,
//!                                #   the moment the new AP authorises the port
//!
//! [metrics]
//! listen = "127.0.0.1:9477"      # "off" disables the endpoint
//!
//! [paths]
//! wpa_ctrl_dir = "/run/wpa_supplicant"
//! control_socket = "/run/roam/wlan0.sock"   # default: /run/roam/<iface>.sock
//! ```

use std::{fmt, net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::{bail, Context as _, Result};
use roam_common::bss::{MAX_SILENCE_INTERVALS, MIN_SILENCE_INTERVALS};
use serde::Deserialize;

/// Default Prometheus endpoint: loopback only, a port in the exporters' range.
pub const DEFAULT_METRICS_LISTEN: &str = "127.0.0.1:9477";

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub detect: Detect,
    pub act: Act,
    pub candidates: Candidates,
    pub drop_window: DropWindow,
    pub metrics: Metrics,
    pub paths: Paths,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Detect {
    pub silence_intervals: u32,
    pub signal_threshold_dbm: Option<i32>,
    pub signal_hysteresis_db: i32,
}

impl Default for Detect {
    fn default() -> Self {
        Detect { silence_intervals: 3, signal_threshold_dbm: None, signal_hysteresis_db: 8 }
    }
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum BackendChoice {
    /// wpa_supplicant when its control socket is there, else nl80211.
    #[default]
    Auto,
    WpaSupplicant,
    Nl80211,
}

impl fmt::Display for BackendChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BackendChoice::Auto => "auto",
            BackendChoice::WpaSupplicant => "wpa_supplicant",
            BackendChoice::Nl80211 => "nl80211",
        })
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Act {
    pub backend: BackendChoice,
    pub observe_only: bool,
    pub max_roams_per_minute: u32,
    pub backoff_initial_ms: u64,
    pub backoff_max_ms: u64,
    pub roam_timeout_ms: u64,
}

impl Default for Act {
    fn default() -> Self {
        Act {
            backend: BackendChoice::Auto,
            observe_only: false,
            max_roams_per_minute: 6,
            backoff_initial_ms: 500,
            backoff_max_ms: 30_000,
            roam_timeout_ms: 5_000,
        }
    }
}

impl Act {
    pub fn roam_timeout(&self) -> Duration {
        Duration::from_millis(self.roam_timeout_ms)
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Candidates {
    pub max_heard_age_ms: u64,
    pub refresh_scans: bool,
    pub refresh_min_interval_s: u64,
}

impl Default for Candidates {
    fn default() -> Self {
        Candidates { max_heard_age_ms: 2_000, refresh_scans: true, refresh_min_interval_s: 20 }
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DropWindow {
    pub restore_neighbours: bool,
}

impl Default for DropWindow {
    fn default() -> Self {
        DropWindow { restore_neighbours: true }
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Metrics {
    /// `host:port`, or "off".
    pub listen: String,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics { listen: DEFAULT_METRICS_LISTEN.to_owned() }
    }
}

impl Metrics {
    /// The address to serve on, `None` when disabled.
    pub fn listen_addr(&self) -> Result<Option<SocketAddr>> {
        if self.listen == "off" || self.listen.is_empty() {
            return Ok(None);
        }
        self.listen.parse().map(Some).with_context(|| {
            format!(
                "metrics.listen = {:?} is not an address: use host:port such as \"{DEFAULT_METRICS_LISTEN}\", or \"off\"",
                self.listen
            )
        })
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Paths {
    pub wpa_ctrl_dir: PathBuf,
    pub control_socket: Option<PathBuf>,
}

impl Default for Paths {
    fn default() -> Self {
        Paths { wpa_ctrl_dir: PathBuf::from("/run/wpa_supplicant"), control_socket: None }
    }
}

impl Config {
    /// Parses and validates a configuration file's text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Config> {
        let config: Config = toml::from_str(text)
            .with_context(|| format!("{origin} is not a valid roam configuration"))?;
        config.validate().with_context(|| format!("in {origin}"))?;
        Ok(config)
    }

    pub fn load(path: &std::path::Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the configuration {}", path.display()))?;
        Config::parse(&text, &path.display().to_string())
    }

    pub fn validate(&self) -> Result<()> {
        let n = self.detect.silence_intervals;
        if !(MIN_SILENCE_INTERVALS..=MAX_SILENCE_INTERVALS).contains(&n) {
            bail!(
                "detect.silence_intervals = {n} is out of range: use {MIN_SILENCE_INTERVALS} to {MAX_SILENCE_INTERVALS} beacon intervals"
            );
        }
        if let Some(dbm) = self.detect.signal_threshold_dbm {
            if !(-100..=-20).contains(&dbm) {
                bail!("detect.signal_threshold_dbm = {dbm} is not a plausible RSSI: use -100 to -20 dBm");
            }
        }
        if self.detect.signal_hysteresis_db < 0 {
            bail!("detect.signal_hysteresis_db must not be negative");
        }
        if self.act.backoff_initial_ms == 0 || self.act.backoff_max_ms < self.act.backoff_initial_ms
        {
            bail!("act.backoff_initial_ms must be > 0 and at most act.backoff_max_ms");
        }
        if self.act.roam_timeout_ms < 500 {
            bail!(
                "act.roam_timeout_ms = {} is too short for a handshake: use 500 or more",
                self.act.roam_timeout_ms
            );
        }
        if self.act.max_roams_per_minute as usize > roam_common::policy::limiter::MAX_CAP {
            bail!(
                "act.max_roams_per_minute is at most {} (0 disables the cap)",
                roam_common::policy::limiter::MAX_CAP
            );
        }
        self.metrics.listen_addr()?;
        Ok(())
    }

    /// The state machine's limits.
    pub fn limiter(&self) -> roam_common::policy::LimiterConfig {
        roam_common::policy::LimiterConfig {
            backoff_initial_ns: self.act.backoff_initial_ms * 1_000_000,
            backoff_max_ns: self.act.backoff_max_ms * 1_000_000,
            max_roams_per_minute: self.act.max_roams_per_minute,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_gives_the_defaults() {
        assert_eq!(Config::parse("", "x").unwrap(), Config::default());
        assert_eq!(Config::default().detect.silence_intervals, 3);
        assert_eq!(
            Config::default().metrics.listen_addr().unwrap(),
            Some("127.0.0.1:9477".parse().unwrap())
        );
    }

    #[test]
    fn keys_override_defaults() {
        let c = Config::parse(
            "[detect]\nsilence_intervals = 5\n[act]\nbackend = \"nl80211\"\nobserve_only = true\n[metrics]\nlisten = \"off\"\n",
            "x",
        )
        .unwrap();
        assert_eq!(c.detect.silence_intervals, 5);
        assert_eq!(c.act.backend, BackendChoice::Nl80211);
        assert!(c.act.observe_only);
        assert_eq!(c.metrics.listen_addr().unwrap(), None);
        assert_eq!(c.act.max_roams_per_minute, 6, "untouched keys keep defaults");
    }

    #[test]
    fn bad_files_name_the_problem() {
        let err = |text: &str| format!("{:#}", Config::parse(text, "roam.toml").unwrap_err());
        let e = err("[detect]\nsilence_intervals = 1\n");
        assert!(e.contains("roam.toml") && e.contains("2 to 20"), "{e}");
        let e = err("[detect]\nsilence_interval = 3\n");
        assert!(e.contains("unknown field") && e.contains("silence_interval"), "{e}");
        let e = err("[metrics]\nlisten = \"localhost\"\n");
        assert!(e.contains("host:port"), "{e}");
        let e = err("[act]\nbackend = \"iwd\"\n");
        assert!(e.contains("iwd"), "{e}");
        let e = err("[act\n");
        assert!(e.contains("not a valid roam configuration"), "{e}");
    }
}
