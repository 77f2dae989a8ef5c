//! `roam run`'s configuration: a TOML file (every key optional) and its defaults.
//!
//! Every key, its default and what it does: `roam-user/packaging/roam.toml`, the file packages
//! install as /etc/roam/roam.toml (a test keeps it equal to [`Config::default`]).

use std::{fmt, net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::{anyhow, Context as _, Result};
use roam_common::bss::{MAX_SILENCE_INTERVALS, MIN_SILENCE_INTERVALS};
use serde::Deserialize;

/// A value roam cannot use: its key, what is wrong and what to use instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {problem}")]
pub struct Invalid {
    /// Dotted path of the key, `detect.silence_intervals`.
    pub key: &'static str,
    pub problem: String,
}

impl Invalid {
    fn new(key: &'static str, problem: impl Into<String>) -> Self {
        Invalid { key, problem: problem.into() }
    }
}

/// 1-based line and column of byte `offset` in `text`.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.chars().rev().take_while(|&c| c != '\n').count() + 1;
    (line, column)
}

/// The line where the dotted `key` (`detect.silence_intervals`) is written in `text`, if it is
/// (a value left at its default has no line).
fn line_of(text: &str, key: &str) -> Option<usize> {
    let document = toml_edit::ImDocument::parse(text).ok()?;
    let mut table: &dyn toml_edit::TableLike = document.as_table();
    let mut segments = key.split('.').peekable();
    while let Some(segment) = segments.next() {
        let (name, item) = table.get_key_value(segment)?;
        if segments.peek().is_none() {
            let span = name.span().or_else(|| item.span())?;
            return Some(line_and_column(text, span.start).0);
        }
        table = item.as_table_like()?;
    }
    None
}

/// The dotted key whose value covers byte `offset` of `text` (where toml reports a value of the
/// wrong type), the innermost one.
fn key_at(text: &str, offset: usize) -> Option<String> {
    fn search(table: &dyn toml_edit::TableLike, offset: usize, path: &mut Vec<String>) -> bool {
        for (name, item) in table.iter() {
            path.push(name.to_owned());
            if let Some(inner) = item.as_table_like() {
                if search(inner, offset, path) {
                    return true;
                }
            } else if item.span().is_some_and(|span| span.contains(&offset)) {
                return true;
            }
            path.pop();
        }
        false
    }
    let document = toml_edit::ImDocument::parse(text).ok()?;
    let mut path = Vec::new();
    search(document.as_table(), offset, &mut path).then(|| path.join("."))
}

/// The packaged configuration: every key at its default (a test keeps it so).
const DEFAULTS_FILE: &str = include_str!("../packaging/roam.toml");

/// `key = default` as the packaged file writes it, for fixes: `silence_intervals = 3`.
fn default_assignment(key: &str) -> Option<String> {
    let document = toml_edit::ImDocument::parse(DEFAULTS_FILE).ok()?;
    let mut table: &dyn toml_edit::TableLike = document.as_table();
    let mut segments = key.split('.').peekable();
    while let Some(segment) = segments.next() {
        let item = table.get(segment)?;
        if segments.peek().is_none() {
            let value = item.as_value()?.to_string();
            return Some(format!("{segment} = {}", value.trim()));
        }
        table = item.as_table_like()?;
    }
    None
}

/// Default Prometheus endpoint: loopback only. The exporters' range of Prometheus's default-port
/// list (9100-9999) is full and its allocations go on above 10000; 10120 is past those taken
/// when this was chosen (9477, roam's first port, belongs to another exporter there). A second
/// agent on the same host sets its own (`ROAM_METRICS_LISTEN`, see roam@.service).
pub const DEFAULT_METRICS_LISTEN: &str = "127.0.0.1:10120";

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
    /// Watch the air on a monitor interface of the station's phy.
    pub monitor: bool,
    pub silence_intervals: u32,
    /// Ask the AP this often when nothing else shows it alive.
    pub probe_interval_ms: u64,
    /// Non-acknowledged probes in a row that make the AP lost.
    pub probe_failures: u32,
    /// Ask the AP at once when the station sends and nothing has come from it for this long.
    pub unanswered_ms: u64,
    /// Roam before the link breaks: when the serving AP's smoothed signal is below
    /// `signal_threshold_dbm` and falling (or far below it), to an AP of the network stronger
    /// by `signal_hysteresis_db`.
    pub signal_roaming: bool,
    pub signal_threshold_dbm: i32,
    pub signal_hysteresis_db: i32,
}

impl Default for Detect {
    fn default() -> Self {
        Detect {
            monitor: true,
            silence_intervals: 3,
            probe_interval_ms: 150,
            probe_failures: 3,
            unanswered_ms: 40,
            signal_roaming: true,
            signal_threshold_dbm: -70,
            signal_hysteresis_db: 8,
        }
    }
}

/// Bounds of the liveness keys, with why: a probe every few ms would load the air, one every
/// few seconds would detect nothing in time; one failure could be a collision, more than ten
/// add nothing but delay.
const PROBE_INTERVAL_MS: std::ops::RangeInclusive<u64> = 20..=5_000;
const PROBE_FAILURES: std::ops::RangeInclusive<u32> = 2..=10;
const UNANSWERED_MS: std::ops::RangeInclusive<u64> = 10..=5_000;

impl Detect {
    /// The liveness rule's parameters.
    pub fn liveness(&self) -> roam_common::policy::LivenessConfig {
        roam_common::policy::LivenessConfig {
            probe_interval_ns: self.probe_interval_ms * 1_000_000,
            failures: self.probe_failures,
            ..roam_common::policy::LivenessConfig::default()
        }
    }

    /// When the kernel hints the agent that the station sends into silence (ns).
    pub fn unanswered_ns(&self) -> u64 {
        self.unanswered_ms * 1_000_000
    }

    /// The signal rule's parameters; none when signal roaming is off.
    pub fn signal(&self) -> Option<roam_common::policy::SignalConfig> {
        self.signal_roaming.then_some(roam_common::policy::SignalConfig {
            threshold_dbm: self.signal_threshold_dbm,
            hysteresis_db: self.signal_hysteresis_db,
        })
    }
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum BackendChoice {
    /// wpa_supplicant when its control socket is there, else nl80211.
    #[default]
    Auto,
    /// Spelt as in the configuration file (and the program's name); clap's kebab-case too.
    #[value(name = "wpa_supplicant", alias = "wpa-supplicant")]
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

impl Candidates {
    /// The shortest time between two refreshes of the candidates.
    pub fn refresh_min_interval(&self) -> Duration {
        Duration::from_secs(self.refresh_min_interval_s)
    }
}

/// The longest values of the keys that become waits. Beyond them a value means nothing a
/// station could use (a roam that may take a minute is no longer fast), and near the integer's
/// maximum it would overflow the agent's clock arithmetic.
const LONGEST: [(&str, u64, &str); 4] = [
    ("act.backoff_max_ms", 3_600_000, "ms (an hour)"),
    ("act.roam_timeout_ms", 60_000, "ms"),
    ("candidates.max_heard_age_ms", 600_000, "ms (ten minutes)"),
    ("candidates.refresh_min_interval_s", 86_400, "s (a day)"),
];
/// Hysteresis beyond this would never let a weaker AP be left.
const MAX_HYSTERESIS_DB: i32 = 30;

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DropWindow {
    pub restore_neighbours: bool,
    pub solicit_router: bool,
}

impl Default for DropWindow {
    fn default() -> Self {
        DropWindow { restore_neighbours: true, solicit_router: true }
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
                "{:?} is not an address: use host:port such as \"{DEFAULT_METRICS_LISTEN}\", or \"off\"",
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
    /// Parses and validates a configuration file's text; `origin` names it in errors, which
    /// read `origin:line[:column]: problem` and say what to write instead.
    pub fn parse(text: &str, origin: &str) -> Result<Config> {
        let config: Config = toml::from_str(text).map_err(|err| {
            let place = err.span().map_or(String::new(), |span| {
                let (line, column) = line_and_column(text, span.start);
                format!(":{line}:{column}")
            });
            // One line: toml puts what it expected on a line of its own.
            let message: Vec<&str> =
                err.message().lines().map(str::trim).filter(|l| !l.is_empty()).collect();
            let message = message.join("; ");
            // A value of the wrong type: name its key, and show the default as the example.
            let key = err.span().and_then(|span| key_at(text, span.start));
            match key {
                Some(key) => {
                    let fix = default_assignment(&key).map_or_else(
                        || "see the commented defaults in /etc/roam/roam.toml".to_owned(),
                        |example| format!("write it like the default, {example}"),
                    );
                    anyhow!("{origin}{place}: {key}: {message}; fix: {fix}")
                }
                None => anyhow!("{origin}{place}: {message}"),
            }
        })?;
        config.validate().map_err(|invalid| {
            let place = line_of(text, invalid.key).map_or(String::new(), |line| format!(":{line}"));
            anyhow!("{origin}{place}: {invalid}")
        })?;
        Ok(config)
    }

    pub fn load(path: &std::path::Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the configuration {}", path.display()))?;
        Config::parse(&text, &path.display().to_string())
    }

    /// Checks what types alone cannot: ranges, and values that depend on each other.
    pub fn validate(&self) -> Result<(), Invalid> {
        let n = self.detect.silence_intervals;
        if !(MIN_SILENCE_INTERVALS..=MAX_SILENCE_INTERVALS).contains(&n) {
            return Err(Invalid::new(
                "detect.silence_intervals",
                format!("{n} is out of range: use {MIN_SILENCE_INTERVALS} to {MAX_SILENCE_INTERVALS} beacon intervals"),
            ));
        }
        let d = &self.detect;
        if !PROBE_INTERVAL_MS.contains(&d.probe_interval_ms) {
            return Err(Invalid::new(
                "detect.probe_interval_ms",
                format!(
                    "{} is out of range: use {} to {} ms",
                    d.probe_interval_ms,
                    PROBE_INTERVAL_MS.start(),
                    PROBE_INTERVAL_MS.end()
                ),
            ));
        }
        if !PROBE_FAILURES.contains(&d.probe_failures) {
            return Err(Invalid::new(
                "detect.probe_failures",
                format!(
                    "{} is out of range: use {} to {} probes",
                    d.probe_failures,
                    PROBE_FAILURES.start(),
                    PROBE_FAILURES.end()
                ),
            ));
        }
        if !UNANSWERED_MS.contains(&d.unanswered_ms) {
            return Err(Invalid::new(
                "detect.unanswered_ms",
                format!(
                    "{} is out of range: use {} to {} ms",
                    d.unanswered_ms,
                    UNANSWERED_MS.start(),
                    UNANSWERED_MS.end()
                ),
            ));
        }
        let dbm = self.detect.signal_threshold_dbm;
        if !(-95..=-40).contains(&dbm) {
            return Err(Invalid::new(
                "detect.signal_threshold_dbm",
                format!("{dbm} is out of range: use -95 to -40 dBm"),
            ));
        }
        if !(0..=MAX_HYSTERESIS_DB).contains(&self.detect.signal_hysteresis_db) {
            return Err(Invalid::new(
                "detect.signal_hysteresis_db",
                format!(
                    "{} is out of range: use 0 to {MAX_HYSTERESIS_DB} dB",
                    self.detect.signal_hysteresis_db
                ),
            ));
        }
        if self.act.backoff_initial_ms == 0 {
            return Err(Invalid::new(
                "act.backoff_initial_ms",
                "0 would retry at once: use 1 ms or more",
            ));
        }
        if self.act.backoff_max_ms < self.act.backoff_initial_ms {
            return Err(Invalid::new(
                "act.backoff_max_ms",
                format!(
                    "{} is below act.backoff_initial_ms ({}): use at least that",
                    self.act.backoff_max_ms, self.act.backoff_initial_ms
                ),
            ));
        }
        if self.act.roam_timeout_ms < 500 {
            return Err(Invalid::new(
                "act.roam_timeout_ms",
                format!(
                    "{} is too short for a handshake: use 500 or more",
                    self.act.roam_timeout_ms
                ),
            ));
        }
        let values = [
            self.act.backoff_max_ms,
            self.act.roam_timeout_ms,
            self.candidates.max_heard_age_ms,
            self.candidates.refresh_min_interval_s,
        ];
        for ((key, longest, unit), value) in LONGEST.into_iter().zip(values) {
            if value > longest {
                return Err(Invalid::new(
                    key,
                    format!("{value} is too long: use at most {longest} {unit}"),
                ));
            }
        }
        let cap = roam_common::policy::limiter::MAX_CAP;
        if self.act.max_roams_per_minute as usize > cap {
            return Err(Invalid::new(
                "act.max_roams_per_minute",
                format!(
                    "{} is too many: use at most {cap} (0 disables the cap)",
                    self.act.max_roams_per_minute
                ),
            ));
        }
        if let Err(err) = self.metrics.listen_addr() {
            return Err(Invalid::new("metrics.listen", err.to_string()));
        }
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
    fn the_signal_keys_reach_the_signal_rule_and_turn_it_off() {
        let on =
            Config::parse("[detect]\nsignal_threshold_dbm = -65\nsignal_hysteresis_db = 5\n", "x");
        let rule = on.unwrap().detect.signal().expect("on by default");
        assert_eq!((rule.threshold_dbm, rule.hysteresis_db), (-65, 5));
        let off = Config::parse("[detect]\nsignal_roaming = false\n", "x").unwrap();
        assert_eq!(off.detect.signal(), None, "no signal watch: only a lost AP moves the station");
        let err = format!(
            "{:#}",
            Config::parse("[detect]\nsignal_threshold_dbm = -30\n", "x").unwrap_err()
        );
        assert!(err.contains("detect.signal_threshold_dbm") && err.contains("-95 to -40"), "{err}");
    }

    #[test]
    fn an_empty_file_gives_the_defaults() {
        assert_eq!(Config::parse("", "x").unwrap(), Config::default());
        assert_eq!(Config::default().detect.silence_intervals, 3);
        assert_eq!(
            Config::default().metrics.listen_addr().unwrap(),
            Some("127.0.0.1:10120".parse().unwrap())
        );
    }

    /// Each part of the drop window's put-back is switched on its own: setup starts the
    /// neighbour task for one key and the router task for the other.
    #[test]
    fn the_drop_window_keys_switch_each_part_alone() {
        let c = Config::parse("[drop_window]\nsolicit_router = false\n", "x").unwrap();
        assert_eq!(c.drop_window, DropWindow { restore_neighbours: true, solicit_router: false });
        let c = Config::parse("[drop_window]\nrestore_neighbours = false\n", "x").unwrap();
        assert_eq!(c.drop_window, DropWindow { restore_neighbours: false, solicit_router: true });
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
    fn bad_files_name_the_problem_its_line_and_the_fix() {
        let err = |text: &str| format!("{:#}", Config::parse(text, "roam.toml").unwrap_err());
        let e = err("[detect]\nsilence_intervals = 1\n");
        assert_eq!(
            e,
            "roam.toml:2: detect.silence_intervals: 1 is out of range: use 2 to 20 beacon intervals"
        );
        let e = err("# roam\n[detect]\nsilence_interval = 3\n");
        assert!(e.starts_with("roam.toml:3:1: unknown field `silence_interval`"), "{e}");
        assert!(e.contains("silence_intervals"), "the message lists the known keys: {e}");
        let e = err("[metrics]\nlisten = \"localhost\"\n");
        assert!(e.starts_with("roam.toml:2: metrics.listen:") && e.contains("host:port"), "{e}");
        let e = err("[act]\nbackend = \"iwd\"\n");
        assert!(e.starts_with("roam.toml:2:") && e.contains("iwd"), "{e}");
        let e = err("[act]\nmax_roams_per_minute = \"six\"\n");
        assert!(e.starts_with("roam.toml:2:") && e.contains("invalid type"), "{e}");
        assert!(e.contains("act.max_roams_per_minute: invalid type"), "the key is named: {e}");
        assert!(e.ends_with("fix: write it like the default, max_roams_per_minute = 6"), "{e}");
        let e = err("detect = { silence_intervals = true }\n");
        assert!(e.contains("detect.silence_intervals: invalid type: boolean"), "{e}");
        let e = err("[act]\nbackoff_initial_ms = 900\nbackoff_max_ms = 100\n");
        assert!(e.starts_with("roam.toml:3: act.backoff_max_ms: 100 is below"), "{e}");
        let e = err("[act\n");
        assert!(e.starts_with("roam.toml:1:"), "{e}");
        assert!(!e.contains('\n'), "one line: {e}");
    }

    #[test]
    fn keys_are_found_in_dotted_and_inline_forms() {
        assert_eq!(line_of("detect.silence_intervals = 1\n", "detect.silence_intervals"), Some(1));
        assert_eq!(
            line_of("\n\ndetect = { silence_intervals = 1 }\n", "detect.silence_intervals"),
            Some(3)
        );
        assert_eq!(line_of("[act]\n", "detect.silence_intervals"), None);
        assert_eq!(line_and_column("ab\ncd", 4), (2, 2));
    }

    /// The file packages install as /etc/roam/roam.toml documents every key at its default.
    #[test]
    fn the_packaged_configuration_is_the_defaults() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/roam.toml");
        assert_eq!(Config::load(&path).unwrap(), Config::default());
    }

    #[test]
    fn liveness_keys_are_range_checked_and_reach_the_rule() {
        let err = |text: &str| format!("{:#}", Config::parse(text, "roam.toml").unwrap_err());
        assert_eq!(
            err("[detect]\nprobe_interval_ms = 5\n"),
            "roam.toml:2: detect.probe_interval_ms: 5 is out of range: use 20 to 5000 ms"
        );
        assert_eq!(
            err("[detect]\nprobe_failures = 1\n"),
            "roam.toml:2: detect.probe_failures: 1 is out of range: use 2 to 10 probes"
        );
        assert!(err("[detect]\nunanswered_ms = 0\n").contains("use 10 to 5000 ms"));
        let c =
            Config::parse("[detect]\nprobe_interval_ms = 300\nprobe_failures = 4\n", "x").unwrap();
        let rule = c.detect.liveness();
        assert_eq!((rule.probe_interval_ns, rule.failures), (300_000_000, 4));
        assert_eq!(Config::default().detect.unanswered_ns(), 40_000_000);
        assert!(!Config::parse("[detect]\nmonitor = false\n", "x").unwrap().detect.monitor);
    }

    /// Every numeric key at its largest value (TOML's integers are i64) is refused with its
    /// name, or loads into a configuration whose derived waits do not overflow the clock.
    #[test]
    fn extreme_values_are_refused_or_harmless() {
        let keys = [
            ("detect", "silence_intervals", u32::MAX as u64),
            ("detect", "probe_interval_ms", i64::MAX as u64),
            ("detect", "probe_failures", u32::MAX as u64),
            ("detect", "unanswered_ms", i64::MAX as u64),
            ("act", "max_roams_per_minute", u32::MAX as u64),
            ("act", "backoff_initial_ms", i64::MAX as u64),
            ("act", "backoff_max_ms", i64::MAX as u64),
            ("act", "roam_timeout_ms", i64::MAX as u64),
            ("candidates", "max_heard_age_ms", i64::MAX as u64),
            ("candidates", "refresh_min_interval_s", i64::MAX as u64),
        ];
        for (section, key, value) in keys {
            let text = format!("[{section}]\n{key} = {value}\n");
            match Config::parse(&text, "roam.toml") {
                Ok(config) => assert_derived_waits_fit(&config),
                Err(e) => assert!(format!("{e:#}").contains(key), "{key}: {e:#}"),
            }
        }
        for text in [
            "[detect]\nsignal_hysteresis_db = 2147483647\n",
            "[detect]\nsignal_hysteresis_db = -1\n",
        ] {
            assert!(Config::parse(text, "x").is_err(), "{text}");
        }
        let longest = "[act]\nbackoff_initial_ms = 3600000\nbackoff_max_ms = 3600000\nroam_timeout_ms = 60000\n\
                       [candidates]\nmax_heard_age_ms = 600000\nrefresh_min_interval_s = 86400\n";
        assert_derived_waits_fit(&Config::parse(longest, "x").unwrap());
    }

    fn assert_derived_waits_fit(config: &Config) {
        let limits = config.limiter();
        assert!(limits.backoff_max_ns >= limits.backoff_initial_ns);
        let _ = (config.detect.liveness(), config.detect.unanswered_ns());
        let now = std::time::Instant::now();
        for wait in [config.act.roam_timeout(), config.candidates.refresh_min_interval()] {
            assert!(now.checked_add(wait).is_some(), "{wait:?}");
            assert!(wait.as_nanos() < u64::MAX as u128 / 2, "{wait:?} overflows a ns clock");
        }
    }

    /// Values from the command line are checked the same way, without a file to point into.
    #[test]
    fn validation_names_the_key() {
        let mut config = Config::default();
        config.act.roam_timeout_ms = 100;
        assert_eq!(config.validate().unwrap_err().key, "act.roam_timeout_ms");
    }
}
