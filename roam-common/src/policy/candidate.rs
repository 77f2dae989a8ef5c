//! Choosing where to go: the best BSS of the same network (same SSID and security), ranked by
//! freshness and signal.
//!
//! Candidates come from two places the agent merges before asking: the kernel's per-BSS table
//! (every AP heard on the station's channel, with the time it was last heard) and the
//! supplicant's / cfg80211's scan results (APs on other channels, as old as the last scan).

use crate::MacAddr;

/// cfg80211 drops a BSS entry 30 s after it was last seen (IEEE80211_SCAN_RESULT_EXPIRE); an
/// authentication to a BSS it no longer knows fails with ENOENT. Entries older than this need a
/// single-channel scan before a roam, and are refreshed ahead of time by the agent.
pub const SCAN_ENTRY_USABLE_MS: u64 = 25_000;
/// A BSS heard by the kernel this recently is alive right now.
pub const HEARD_ALIVE_MS: u64 = 1_000;
/// Signal assumed for a candidate with no measurement (the edge of usable coverage).
pub const UNKNOWN_SIGNAL_DBM: i32 = -85;
/// How far below its score the lost BSS ranks once it is back: another AP of the network that
/// is nearly as good is preferred (an AP that kicked the station may do it again), but the
/// lost one is never excluded for ever: on a network with a single AP it is the only way back.
pub const LOST_BSS_PENALTY_DB: i32 = 10;
/// wpa_supplicant gives a scan entry's age in whole seconds: an entry counts as seen after a
/// moment only if it is younger by more than this.
pub const SCAN_AGE_GRANULARITY_MS: u64 = 1_000;
/// Frames of the lost BSS this soon after the loss are part of it (the deauthentication that
/// ended the association, its retries), not a sign that the BSS is back.
pub const LOSS_FRAMES_MS: u64 = 200;

/// The BSS the station lost, and how long ago.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lost {
    pub bssid: MacAddr,
    pub since_ms: u64,
}

/// Where a candidate is known from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum CandidateSource {
    #[default]
    Kernel,
    Supplicant,
    Both,
}

impl CandidateSource {
    pub fn name(self) -> &'static str {
        match self {
            CandidateSource::Kernel => "kernel",
            CandidateSource::Supplicant => "supplicant",
            CandidateSource::Both => "both",
        }
    }
}

/// One BSS of the station's network, other than the current one or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub bssid: MacAddr,
    pub freq_mhz: u32,
    pub signal_dbm: Option<i32>,
    /// Since the kernel last heard any frame of it (None: not heard on this channel).
    pub heard_age_ms: Option<u64>,
    /// Age of its scan-table entry (None: not in the supplicant's / cfg80211's table).
    pub scan_age_ms: Option<u64>,
}

impl Candidate {
    pub fn source(&self) -> CandidateSource {
        match (self.heard_age_ms.is_some(), self.scan_age_ms.is_some()) {
            (true, true) => CandidateSource::Both,
            (true, false) => CandidateSource::Kernel,
            _ => CandidateSource::Supplicant,
        }
    }

    /// A roam to it can start at once: the connection layer knows the BSS (a scan entry young
    /// enough that cfg80211 still has it).
    pub fn roamable_without_scan(&self) -> bool {
        self.scan_age_ms.is_some_and(|age| age <= SCAN_ENTRY_USABLE_MS)
    }

    /// Heard on the air within [`HEARD_ALIVE_MS`]: there right now, by the kernel's word.
    pub fn heard_alive(&self) -> bool {
        self.heard_age_ms.is_some_and(|a| a <= HEARD_ALIVE_MS)
    }

    /// Heard, or seen by a scan, since a loss `since_ms` ago: after the loss's own frames
    /// ([`LOSS_FRAMES_MS`]), scan ages with their granularity.
    pub fn seen_since_loss(&self, since_ms: u64) -> bool {
        self.heard_age_ms.is_some_and(|a| a + LOSS_FRAMES_MS < since_ms)
            || self.scan_age_ms.is_some_and(|a| a + SCAN_AGE_GRANULARITY_MS < since_ms)
    }

    /// Worth a roam at all: known recently enough, by one source or the other.
    pub fn is_usable(&self, max_heard_age_ms: u64) -> bool {
        self.roamable_without_scan() || self.heard_age_ms.is_some_and(|a| a <= max_heard_age_ms)
    }

    /// Known to have gone silent: on the channel a listening monitor was on (`listening_mhz`)
    /// until the `lost` association ended, unheard by then for longer than `max_heard_age_ms`,
    /// and neither heard nor scanned since. A young scan entry from before the loss does not
    /// make such a BSS worth a roam: the monitor's silence is the fresher news (an AP switched
    /// off a moment ago is still in the manager's table, and a roam pinned to it fails and
    /// delays the manager's own reconnection). After the loss the monitor's silence means
    /// nothing (the radio leaves the channel to scan, or idles elsewhere), so a scan that saw
    /// the BSS since, as one that finds an AP back from a reboot, wins.
    pub fn gone_silent(
        &self,
        listening_mhz: Option<u32>,
        max_heard_age_ms: u64,
        lost: Lost,
    ) -> bool {
        let unheard_while_listening = self
            .heard_age_ms
            .is_some_and(|age| age.saturating_sub(lost.since_ms) > max_heard_age_ms);
        let scanned_since =
            self.scan_age_ms.is_some_and(|age| age + SCAN_AGE_GRANULARITY_MS < lost.since_ms);
        listening_mhz == Some(self.freq_mhz) && unheard_while_listening && !scanned_since
    }

    /// Higher is better: the signal in dBm, minus a second-per-dB freshness penalty (capped), plus
    /// a bonus for an AP heard in the last second (it is certainly alive). A roam target that
    /// answers beats a slightly stronger one last seen half a minute ago.
    pub fn score(&self) -> i32 {
        let signal = self.signal_dbm.unwrap_or(UNKNOWN_SIGNAL_DBM);
        let age_ms = match (self.heard_age_ms, self.scan_age_ms) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => u64::MAX,
        };
        let penalty = (age_ms / 1_000).min(30) as i32;
        let alive_bonus = if self.heard_alive() { 5 } else { 0 };
        signal - penalty + alive_bonus
    }
}

/// The best usable candidate (ties broken by the lower BSSID, so the choice is deterministic).
/// The `lost` BSS only once it has been heard or seen again since it was lost, and then ranked
/// [`LOST_BSS_PENALTY_DB`] lower. A BSS the manager's scan table lists comes before any only
/// heard on the air: anyone can send a beacon in any name, while a table entry is one the
/// manager found by its own scan, with the suites it offers (checked by the agent). A BSS only
/// heard is the target only where the table has none.
pub fn best_candidate(
    candidates: &[Candidate],
    lost: Option<Lost>,
    max_heard_age_ms: u64,
) -> Option<&Candidate> {
    let is_lost = |c: &Candidate| lost.is_some_and(|l| l.bssid == c.bssid);
    let rank = |c: &Candidate| {
        let score = c.score() - if is_lost(c) { LOST_BSS_PENALTY_DB } else { 0 };
        (c.scan_age_ms.is_some(), score)
    };
    candidates
        .iter()
        .filter(|c| c.is_usable(max_heard_age_ms))
        .filter(|c| match lost {
            Some(l) if l.bssid == c.bssid => c.seen_since_loss(l.since_ms),
            _ => true,
        })
        .max_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| b.bssid.cmp(&a.bssid)))
}

/// How much weaker (in score, ~dB) a candidate holding a cached key may be than the best one
/// and still be preferred: on an enterprise network a BSS without one costs a full EAP
/// exchange, hundreds of milliseconds against a few dB of signal.
pub const CACHED_KEY_PREFERENCE_DB: i32 = 10;

/// [`best_candidate`], but a usable candidate for which `cached_key` holds (a PMKSA the
/// manager keeps for it) is chosen over a better one without, if it scores within
/// [`CACHED_KEY_PREFERENCE_DB`] of it. The lost BSS, and BSSes only heard on the air, are
/// treated as [`best_candidate`] treats them.
pub fn best_candidate_with_cached_key(
    candidates: &[Candidate],
    lost: Option<Lost>,
    max_heard_age_ms: u64,
    cached_key: impl Fn(&MacAddr) -> bool,
) -> Option<&Candidate> {
    let best = best_candidate(candidates, lost, max_heard_age_ms)?;
    if cached_key(&best.bssid) {
        return Some(best);
    }
    let score = |c: &Candidate| {
        c.score() - if lost.is_some_and(|l| l.bssid == c.bssid) { LOST_BSS_PENALTY_DB } else { 0 }
    };
    // The same rules as the best's: from the manager's table if the best is, seen again if lost.
    let eligible = |c: &&Candidate| {
        c.is_usable(max_heard_age_ms)
            && (c.scan_age_ms.is_some() || best.scan_age_ms.is_none())
            && lost.is_none_or(|l| l.bssid != c.bssid || c.seen_since_loss(l.since_ms))
    };
    let with_key = candidates
        .iter()
        .filter(|c| cached_key(&c.bssid))
        .filter(eligible)
        .max_by(|a, b| score(a).cmp(&score(b)).then_with(|| b.bssid.cmp(&a.bssid)));
    match with_key {
        Some(c) if score(c) + CACHED_KEY_PREFERENCE_DB >= score(best) => Some(c),
        _ => Some(best),
    }
}
