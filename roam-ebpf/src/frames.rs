//! Socket filter on an AF_PACKET socket of a monitor interface: every 802.11 frame on the
//! station's channel passes here. It keeps the per-BSS table and reports only changes: a BSS
//! first heard, the associated BSS silent or heard again, a deauth/disassoc. It returns 0, so no
//! frame is ever queued to the socket: user space is not woken per frame.

use aya_ebpf::{helpers::bpf_ktime_get_ns, macros::socket_filter, programs::SkBuffContext};
use roam_common::{
    bss,
    event::{EventKind, EVENT_FLAG_FROM_AP, EVENT_FLAG_PROTECTED},
    frame::{self, Bytes, FrameKind, Observation, ParseError, FRAME_CAP},
    maps::{BssKey, FilterConfig, FilterStats},
    MAC_UNSET,
};

use crate::{
    events,
    maps::{BSS_TABLE, FILTER_CONFIG, FILTER_STATS, FRAME_SCRATCH},
};

/// Radiotap's fixed part: anything shorter is not a monitor frame.
const MIN_FRAME: usize = 8;

#[socket_filter]
pub fn roam_frames(ctx: SkBuffContext) -> i64 {
    observe(&ctx);
    0
}

#[inline(always)]
fn observe(ctx: &SkBuffContext) {
    let Some(stats) = FILTER_STATS.get_ptr_mut(0) else { return };
    // SAFETY: per-CPU map value, valid for this run.
    let stats = unsafe { &mut *stats };
    stats.frames += 1;

    let Some(obs) = parse(ctx, stats) else { return };
    let cfg = FILTER_CONFIG.get(0).copied().unwrap_or_default();
    // SAFETY: no preconditions.
    let now = unsafe { bpf_ktime_get_ns() };

    if matches!(obs.kind, FrameKind::Deauth | FrameKind::Disassoc) && concerns_station(&obs, &cfg) {
        report_leave(&obs);
    }
    if obs.from_ap {
        track_bss(&obs, now);
    }
    // Every frame is a clock tick for the associated BSS: the one that is silent sends none.
    if cfg.assoc_bssid != MAC_UNSET && !(obs.from_ap && obs.bssid == cfg.assoc_bssid) {
        check_associated(&cfg, now);
    }
}

/// Copies the frame prefix into scratch memory and parses it.
#[inline(always)]
fn parse(ctx: &SkBuffContext, stats: &mut FilterStats) -> Option<Observation> {
    let buf = FRAME_SCRATCH.get_ptr_mut(0)?;
    // SAFETY: per-CPU map value of FRAME_CAP bytes, valid for this run.
    let buf = unsafe { &mut *buf };
    let len = ctx.len() as usize;
    if len < MIN_FRAME {
        stats.malformed += 1;
        return None;
    }
    let len = if len > FRAME_CAP { FRAME_CAP } else { len };
    if ctx.load_bytes(0, &mut buf[..len]).is_err() {
        stats.malformed += 1;
        return None;
    }
    match frame::parse(&Bytes::from_prefix(buf, len)) {
        Ok(obs) => {
            stats.parsed += 1;
            Some(obs)
        }
        Err(ParseError::Ignored | ParseError::Header(frame::ieee80211::HeaderError::Control)) => {
            stats.ignored += 1;
            None
        }
        Err(_) => {
            stats.malformed += 1;
            None
        }
    }
}

/// Deauth/disassoc to or from the station (any, if the agent has not named the station).
#[inline(always)]
fn concerns_station(obs: &Observation, cfg: &FilterConfig) -> bool {
    cfg.station == MAC_UNSET
        || obs.addr1 == cfg.station
        || obs.addr2 == cfg.station
        || (obs.addr1 == [0xff; 6] && obs.bssid == cfg.assoc_bssid)
}

#[inline(always)]
fn report_leave(obs: &Observation) {
    let kind = if obs.kind == FrameKind::Deauth { EventKind::Deauth } else { EventKind::Disassoc };
    let mut ev = events::new(kind);
    ev.bssid = obs.bssid;
    ev.addr1 = obs.addr1;
    ev.addr2 = obs.addr2;
    ev.reason = obs.reason;
    ev.freq_mhz = obs.freq_mhz;
    ev.signal_dbm = obs.signal_dbm.unwrap_or(0);
    ev.subtype = obs.management_subtype;
    ev.flags = flag(obs.from_ap, EVENT_FLAG_FROM_AP) | flag(obs.protected, EVENT_FLAG_PROTECTED);
    events::send(&ev);
}

/// Updates the BSS's row, or creates it (and says so) for a beacon from a new BSS.
#[inline(always)]
fn track_bss(obs: &Observation, now: u64) {
    let key = BssKey::new(obs.bssid);
    if let Some(rec) = BSS_TABLE.get_ptr_mut(&key) {
        // SAFETY: a hash map value; concurrent updates of one row from two CPUs can only blur
        // statistics, never corrupt memory.
        if bss::update(unsafe { &mut *rec }, obs, now) {
            let mut ev = events::new(EventKind::BssHeard);
            ev.bssid = obs.bssid;
            ev.freq_mhz = obs.freq_mhz;
            ev.signal_dbm = obs.signal_dbm.unwrap_or(0);
            events::send(&ev);
        }
        return;
    }
    if !bss::creates_record(obs) {
        return;
    }
    let rec = bss::new_record(obs, now);
    if BSS_TABLE.insert(&key, &rec, 0).is_err() {
        if let Some(stats) = FILTER_STATS.get_ptr_mut(0) {
            // SAFETY: per-CPU map value.
            unsafe { (*stats).table_full += 1 };
        }
        return;
    }
    let mut ev = events::new(EventKind::BssNew);
    ev.bssid = obs.bssid;
    ev.freq_mhz = obs.freq_mhz;
    ev.signal_dbm = obs.signal_dbm.unwrap_or(0);
    ev.ssid_hash = obs.ssid_hash;
    ev.value = obs.beacon_interval_tu as u64;
    ev.flags = flag(obs.protected, EVENT_FLAG_PROTECTED);
    events::send(&ev);
}

#[inline(always)]
fn check_associated(cfg: &FilterConfig, now: u64) {
    let Some(rec) = BSS_TABLE.get_ptr_mut(&BssKey::new(cfg.assoc_bssid)) else { return };
    // SAFETY: as in track_bss.
    let rec = unsafe { &mut *rec };
    if let Some(unheard_ns) = bss::check_silence(rec, now, cfg.silence_intervals) {
        let mut ev = events::new(EventKind::BssSilent);
        ev.bssid = cfg.assoc_bssid;
        ev.freq_mhz = rec.freq_mhz;
        ev.value = unheard_ns;
        ev.ssid_hash = rec.ssid_hash;
        events::send(&ev);
    }
}

#[inline(always)]
fn flag(set: bool, bit: u8) -> u8 {
    if set {
        bit
    } else {
        0
    }
}
