//! The agent's view of the station's network: every BSS of the same SSID and security, from the
//! kernel's per-BSS table (heard on this channel) and the connection manager's scan table (any
//! channel: wpa_supplicant's, or cfg80211's without a supplicant).
//!
//! Kept current from events (the kernel's BssNew, the supplicant's BSS-ADDED/REMOVED and scan
//! results), so deciding at a loss reads only the rows of known candidates, never a whole table.

use std::{
    collections::{HashMap, VecDeque},
    time::Instant,
};

use roam_common::{
    maps::{BssRecord, BSS_FLAG_HAS_SIGNAL, BSS_TABLE_SLOTS},
    policy::{
        security::{BssSecurity, NetworkSecurity},
        Candidate,
    },
    MacAddr,
};

use super::bss_filter::BssFilter;
use crate::{nl80211::ScanBss, wpa};

/// The "privacy" capability bit: the network is protected (WEP/WPA/RSN).
const CAPABILITY_PRIVACY: u16 = 1 << 4;

/// The network the station is on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Network {
    pub ssid: Vec<u8>,
    pub ssid_hash: u32,
    pub protected: bool,
    /// What the station negotiated, where the manager says (wpa_supplicant's STATUS).
    pub security: NetworkSecurity,
    /// The BSSes its configuration allows (read after each association).
    pub allowed: BssFilter,
}

impl Network {
    pub fn new(ssid: &[u8], protected: bool, security: NetworkSecurity) -> Self {
        Network {
            ssid: ssid.to_vec(),
            ssid_hash: roam_common::frame::ies::ssid_hash(ssid),
            protected,
            security,
            allowed: BssFilter::default(),
        }
    }

    /// Whether a BSS of this SSID offers the network's security: the suites the station
    /// negotiated where both sides are known, else the privacy bit.
    pub fn admits(&self, protected: bool, security: Option<&BssSecurity>) -> bool {
        match security.and_then(|s| self.security.admits(s)) {
            Some(verdict) => verdict,
            None => protected == self.protected,
        }
    }
}

/// An SSID for people (`roam status`, metric labels): the text when it is UTF-8, else every
/// byte outside printable ASCII escaped (`G\xe4ste`).
pub fn printable_ssid(ssid: &[u8]) -> String {
    match std::str::from_utf8(ssid) {
        Ok(text) => text.to_owned(),
        Err(_) => ssid.escape_ascii().to_string(),
    }
}

/// A BSS of a scan table, whichever manager keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScannedBss {
    pub bssid: MacAddr,
    pub freq_mhz: u32,
    pub signal_dbm: Option<i32>,
    /// Age of the entry when it was read.
    pub age_ms: u64,
    /// The bytes on the air (wpa_supplicant's escaped text decoded), as the kernel hashes them.
    pub ssid: Vec<u8>,
    pub protected: bool,
    /// In TU, if the manager knows it.
    pub beacon_interval_tu: Option<u16>,
    /// The suites it advertises, where the manager lists them (wpa_supplicant's flags).
    pub security: Option<BssSecurity>,
}

impl From<&wpa::Bss> for ScannedBss {
    fn from(bss: &wpa::Bss) -> Self {
        let protected = bss
            .flags
            .iter()
            .any(|f| f.starts_with("WPA") || f.starts_with("RSN") || f.starts_with("WEP"));
        ScannedBss {
            bssid: bss.bssid,
            freq_mhz: bss.freq_mhz,
            signal_dbm: Some(bss.level_dbm),
            // wpa_supplicant reports whole seconds.
            age_ms: u64::from(bss.age_secs) * 1_000,
            ssid: wpa::ssid_bytes(&bss.ssid),
            protected,
            beacon_interval_tu: bss.beacon_interval_tu,
            security: Some(wpa::security::bss_security(&bss.flags)),
        }
    }
}

impl From<&ScanBss> for ScannedBss {
    fn from(bss: &ScanBss) -> Self {
        ScannedBss {
            bssid: bss.bssid,
            freq_mhz: bss.freq_mhz,
            signal_dbm: bss.signal_dbm(),
            age_ms: bss.seen_ms_ago.map_or(0, u64::from),
            ssid: bss.ssid.clone().unwrap_or_default(),
            protected: bss.has_rsn || bss.capability & CAPABILITY_PRIVACY != 0,
            beacon_interval_tu: (bss.beacon_interval_tu != 0).then_some(bss.beacon_interval_tu),
            // The privacy bit and the RSN element's presence only: bare nl80211 never acts on
            // a protected network.
            security: None,
        }
    }
}

/// A scan-table entry, and when roam read it.
#[derive(Clone, Debug)]
pub struct ScanEntry {
    pub bss: ScannedBss,
    pub read_at: Instant,
}

impl ScanEntry {
    /// The entry's age now.
    pub fn age_ms(&self, now: Instant) -> u64 {
        self.bss.age_ms + now.duration_since(self.read_at).as_millis() as u64
    }
}

#[derive(Default)]
pub struct CandidateBook {
    /// BSSes the kernel announced (BssNew), with their SSID hash: no more than its table holds,
    /// the oldest announcements forgotten first, so that a flood of invented BSSIDs cannot
    /// grow the agent.
    heard: HashMap<MacAddr, u32>,
    heard_order: VecDeque<MacAddr>,
    scanned: HashMap<MacAddr, ScanEntry>,
}

/// The most BSSes the kernel's table holds: an announcement older than that many others is
/// of a row the kernel has most likely reused.
const MAX_HEARD: usize = BSS_TABLE_SLOTS as usize;

impl CandidateBook {
    pub fn heard(&mut self, bssid: MacAddr, ssid_hash: u32) {
        if self.heard.insert(bssid, ssid_hash).is_some() {
            return;
        }
        self.heard_order.push_back(bssid);
        if self.heard_order.len() > MAX_HEARD {
            if let Some(oldest) = self.heard_order.pop_front() {
                self.heard.remove(&oldest);
            }
        }
    }

    pub fn scanned(&mut self, bss: ScannedBss, read_at: Instant) {
        self.scanned.insert(bss.bssid, ScanEntry { bss, read_at });
    }

    /// Replaces the scan table (a manager that is read whole, like cfg80211's).
    pub fn rescanned(&mut self, table: Vec<ScannedBss>, read_at: Instant) {
        self.scanned.clear();
        for bss in table {
            self.scanned(bss, read_at);
        }
    }

    pub fn forget_scanned(&mut self, bssid: &MacAddr) {
        self.scanned.remove(bssid);
    }

    pub fn scan_entry(&self, bssid: &MacAddr) -> Option<&ScanEntry> {
        self.scanned.get(bssid)
    }

    /// The kernel rows of the BSSes of `network` it announced, read with `row` (two map
    /// lookups each: only known BSSes, never a walk of the table).
    pub fn rows_in(
        &self,
        network: &Network,
        row: impl Fn(&MacAddr) -> Option<BssRecord>,
    ) -> Vec<(MacAddr, BssRecord)> {
        self.heard
            .iter()
            .filter(|(_, hash)| **hash == network.ssid_hash)
            .filter_map(|(b, _)| Some((*b, row(b)?)))
            .collect()
    }

    /// Every candidate of `network`, merging the kernel rows given (BSSID, row) with the scan
    /// table. `now_ns` is CLOCK_MONOTONIC, the clock of the rows.
    pub fn candidates(
        &self,
        network: &Network,
        rows: &[(MacAddr, BssRecord)],
        now_ns: u64,
        now: Instant,
    ) -> Vec<Candidate> {
        let mut out: HashMap<MacAddr, Candidate> = HashMap::new();
        for (bssid, rec) in rows {
            let protected = rec.capability & CAPABILITY_PRIVACY != 0;
            if rec.ssid_hash != network.ssid_hash
                || protected != network.protected
                || !network.allowed.admits(*bssid)
            {
                continue;
            }
            // Heard on the air, but the scan table, which knows its suites, says it does not
            // offer the network's.
            if self.scanned.get(bssid).is_some_and(|e| !admitted(network, &e.bss)) {
                continue;
            }
            let signal_dbm =
                (rec.flags & BSS_FLAG_HAS_SIGNAL != 0).then_some(rec.signal_avg_x16 / 16);
            out.insert(
                *bssid,
                Candidate {
                    bssid: *bssid,
                    freq_mhz: rec.freq_mhz as u32,
                    signal_dbm,
                    heard_age_ms: Some(now_ns.saturating_sub(rec.last_seen_ns) / 1_000_000),
                    scan_age_ms: None,
                },
            );
        }
        for (bssid, entry) in &self.scanned {
            if entry.bss.ssid != network.ssid || !admitted(network, &entry.bss) {
                continue;
            }
            let c = out.entry(*bssid).or_insert(Candidate {
                bssid: *bssid,
                freq_mhz: entry.bss.freq_mhz,
                signal_dbm: entry.bss.signal_dbm,
                heard_age_ms: None,
                scan_age_ms: None,
            });
            c.scan_age_ms = Some(entry.age_ms(now));
        }
        let mut list: Vec<Candidate> = out.into_values().collect();
        list.sort_by(|a, b| b.score().cmp(&a.score()).then(a.bssid.cmp(&b.bssid)));
        list
    }
}

fn admitted(network: &Network, bss: &ScannedBss) -> bool {
    network.admits(bss.protected, bss.security.as_ref()) && network.allowed.admits(bss.bssid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bss(bssid: MacAddr, ssid: &str, flags: &[&str], age: u32) -> ScannedBss {
        ScannedBss::from(&wpa::Bss {
            id: Some(1),
            bssid,
            freq_mhz: 2437,
            level_dbm: -50,
            age_secs: age,
            beacon_interval_tu: Some(100),
            ssid: ssid.to_owned(),
            flags: flags.iter().map(|f| f.to_string()).collect(),
        })
    }

    /// wpa_supplicant prints `G\xe4ste "wifi"` for these bytes; the kernel hashes the bytes.
    #[test]
    fn an_escaped_ssid_matches_the_kernels_rows_and_the_scan_table() {
        let printed = r#"G\xe4ste \"wifi\""#;
        let on_air = b"G\xe4ste \"wifi\"";
        let net = Network::new(&wpa::ssid_bytes(printed), true, NetworkSecurity::Unknown);
        assert_eq!(net.ssid, on_air);
        assert_eq!(net.ssid_hash, roam_common::frame::ies::ssid_hash(on_air));
        let now = Instant::now();
        let mut book = CandidateBook::default();
        book.scanned(bss(MacAddr([2, 0, 0, 0, 1, 0]), printed, &["WPA2-PSK-CCMP"], 1), now);
        assert_eq!(book.candidates(&net, &[], 0, now).len(), 1);
    }

    #[test]
    fn the_heard_bsses_are_bounded_by_the_kernels_table() {
        let net = Network::new(b"roam", true, NetworkSecurity::Unknown);
        let mut book = CandidateBook::default();
        let bssid = |i: usize| MacAddr([2, 0, 0, (i >> 16) as u8, (i >> 8) as u8, i as u8]);
        for i in 0..MAX_HEARD + 10 {
            book.heard(bssid(i), net.ssid_hash);
        }
        book.heard(bssid(MAX_HEARD + 9), net.ssid_hash);
        assert_eq!((book.heard.len(), book.heard_order.len()), (MAX_HEARD, MAX_HEARD));
        let rows = book.rows_in(&net, |_| Some(BssRecord::default()));
        assert_eq!(rows.len(), MAX_HEARD);
        assert!(!rows.iter().any(|(b, _)| *b == bssid(9)), "the oldest were forgotten");
        assert!(rows.iter().any(|(b, _)| *b == bssid(MAX_HEARD + 9)));
    }

    /// A WPA3 network: a same-SSID BSS offering only WPA2-PSK is a downgrade, whether the
    /// scan table lists it alone or the kernel hears it too; one offering SAE is a candidate.
    #[test]
    fn only_bsses_offering_the_negotiated_suites_are_candidates() {
        let sae = wpa::security::network_security(Some("SAE"), Some("CCMP"));
        let net = Network::new(b"roam", true, sae);
        let now = Instant::now();
        let (ghost, twin, heard_only) =
            (MacAddr([2, 0, 0, 0, 9, 0]), MacAddr([2, 0, 0, 0, 1, 0]), MacAddr([2, 0, 0, 0, 2, 0]));
        let mut book = CandidateBook::default();
        book.scanned(bss(ghost, "roam", &["WPA2-PSK-CCMP", "ESS"], 0), now);
        book.scanned(bss(twin, "roam", &["WPA2-PSK+SAE-CCMP", "ESS"], 0), now);
        let row = BssRecord {
            ssid_hash: net.ssid_hash,
            capability: CAPABILITY_PRIVACY,
            ..Default::default()
        };
        let rows = [(ghost, row), (heard_only, row)];
        let mut found: Vec<MacAddr> =
            book.candidates(&net, &rows, 0, now).iter().map(|c| c.bssid).collect();
        found.sort();
        assert_eq!(found, [twin, heard_only], "heard only: checked by the roam's scan first");
        let mut ignoring_twin = net.clone();
        ignoring_twin.allowed = BssFilter::parse(None, None, Some("02:00:00:00:01:00")).unwrap();
        let found: Vec<MacAddr> =
            book.candidates(&ignoring_twin, &rows, 0, now).iter().map(|c| c.bssid).collect();
        assert_eq!(found, [heard_only], "bssid_ignore");
        let psk = Network::new(
            b"roam",
            true,
            wpa::security::network_security(Some("WPA2-PSK"), Some("CCMP")),
        );
        assert_eq!(book.candidates(&psk, &[], 0, now).len(), 2, "both offer WPA2-PSK");
    }

    #[test]
    fn ssids_are_printed_as_text_or_escaped() {
        assert_eq!(printable_ssid("café".as_bytes()), "café");
        assert_eq!(printable_ssid(b"G\xe4ste"), r"G\xe4ste");
    }

    #[test]
    fn merges_kernel_rows_and_scan_entries_of_the_same_network_only() {
        let net = Network::new(b"roam", true, NetworkSecurity::Unknown);
        let now = Instant::now();
        let mut book = CandidateBook::default();
        book.scanned(bss(MacAddr([2, 0, 0, 0, 1, 0]), "roam", &["WPA2-PSK-CCMP"], 4), now);
        book.scanned(bss(MacAddr([2, 0, 0, 0, 2, 0]), "other", &["WPA2-PSK-CCMP"], 1), now);
        book.scanned(bss(MacAddr([2, 0, 0, 0, 3, 0]), "roam", &["ESS"], 1), now);
        let row = BssRecord {
            last_seen_ns: 9_900_000_000,
            ssid_hash: net.ssid_hash,
            capability: CAPABILITY_PRIVACY,
            freq_mhz: 2437,
            signal_avg_x16: -45 * 16,
            flags: BSS_FLAG_HAS_SIGNAL,
            ..Default::default()
        };
        let list =
            book.candidates(&net, &[(MacAddr([2, 0, 0, 0, 1, 0]), row)], 10_000_000_000, now);
        assert_eq!(list.len(), 1, "{list:?}");
        let c = list[0];
        assert_eq!(c.heard_age_ms, Some(100));
        assert_eq!(c.scan_age_ms, Some(4_000));
        assert_eq!(c.signal_dbm, Some(-45), "the kernel's average wins over the scan's level");
    }

    #[test]
    fn cfg80211_entries_of_an_open_network_are_candidates_of_it() {
        let net = Network::new(b"roam-open", false, NetworkSecurity::Unknown);
        let entry = |ssid: &[u8], has_rsn: bool, capability: u16| {
            ScannedBss::from(&ScanBss {
                bssid: MacAddr([2, 0, 0, 0, 1, ssid.len() as u8]),
                freq_mhz: 2437,
                signal_mbm: Some(-4_250),
                seen_ms_ago: Some(1_500),
                ssid: Some(ssid.to_vec()),
                beacon_interval_tu: 100,
                capability,
                has_rsn,
                status: crate::nl80211::BssStatus::None,
            })
        };
        let open = entry(b"roam-open", false, 1);
        assert_eq!((open.signal_dbm, open.age_ms, open.protected), (Some(-42), 1_500, false));
        assert!(entry(b"roam-open", true, 1 | CAPABILITY_PRIVACY).protected);
        assert!(entry(b"roam-open", false, CAPABILITY_PRIVACY).protected, "WEP: privacy bit only");

        let now = Instant::now();
        let mut book = CandidateBook::default();
        book.rescanned(vec![open, entry(b"other", false, 1)], now);
        let list = book.candidates(&net, &[], 0, now);
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].scan_age_ms, Some(1_500));
        book.rescanned(Vec::new(), now);
        assert!(book.candidates(&net, &[], 0, now).is_empty(), "a table read whole replaces");
    }
}
