//! Socket filter on an AF_PACKET socket of a monitor interface: every 802.11 frame on the
//! station's channel passes here. It keeps the per-BSS table and reports only changes: a BSS
//! first heard, the associated BSS silent or heard again, a deauth/disassoc. It returns 0, so no
//! frame is ever queued to the socket: user space is not woken per frame.

use core::ptr::{read_volatile, write_volatile};

use aya_ebpf::{
    helpers::generated::bpf_ktime_get_coarse_ns, macros::socket_filter, programs::SkBuffContext,
};
use roam_common::{
    bss::{self, WakeBudget, Way},
    event::{EventKind, EVENT_FLAG_FROM_AP, EVENT_FLAG_PROTECTED},
    frame::{self, Bytes, FrameKind, Observation, ParseError, FRAME_BUF, FRAME_CAP},
    maps::{BssSlot, FilterConfig, FilterStats, Opaque},
    MacAddr,
};

use crate::{
    events, link,
    maps::{BSS_TABLE, FILTER_CONFIG, FILTER_CPU},
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
    let Some(cpu) = FILTER_CPU.get_ptr_mut(0) else { return };
    // SAFETY: per-CPU map value, valid for this run; nothing else on this CPU runs the filter
    // concurrently.
    let cpu = unsafe { &mut *cpu };
    let (stats, buf, opaque, wakes) =
        (&mut cpu.stats, &mut cpu.frame, &mut cpu.opaque, &mut cpu.wakes);
    stats.frames += 1;
    let Some(len) = load(ctx, buf, stats) else { return };
    let bytes = Bytes::from_prefix(buf, len);
    let Some(mut obs) = parse(&bytes, stats) else { return };
    let Some(cfg) = FILTER_CONFIG.get(0) else { return };
    // The coarse clock (CLOCK_MONOTONIC at tick resolution) costs a fraction of the precise one,
    // and a tick is nothing against a silence threshold of two or more beacon intervals.
    // SAFETY: no preconditions.
    let now = unsafe { bpf_ktime_get_coarse_ns() };

    if matches!(obs.kind, FrameKind::Deauth | FrameKind::Disassoc) && concerns_station(&obs, cfg) {
        report_leave(&obs);
    }
    if obs.from_ap {
        if obs.bssid == cfg.assoc_bssid {
            link::heard(now);
            if cfg.watch_data != 0 && obs.kind == FrameKind::Data {
                report_first_data(&obs);
            }
        }
        track_bss(&bytes, &mut obs, cfg, now, stats, opaque, wakes);
    }
    // Every frame is a clock tick for the associated BSS: the one that is silent sends none.
    if cfg.assoc_bssid != MacAddr::UNSET && !(obs.from_ap && obs.bssid == cfg.assoc_bssid) {
        check_associated(cfg, now);
    }
}

/// Copies the frame prefix into scratch memory; returns its length.
#[inline(always)]
fn load(ctx: &SkBuffContext, buf: &mut [u8; FRAME_BUF], stats: &mut FilterStats) -> Option<usize> {
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
    Some(len)
}

#[inline(always)]
fn parse(bytes: &Bytes, stats: &mut FilterStats) -> Option<Observation> {
    match frame::parse(bytes) {
        Ok(obs) => Some(obs),
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
    cfg.station == MacAddr::UNSET
        || obs.addr1 == cfg.station
        || obs.addr2 == cfg.station
        || (obs.addr1 == MacAddr::BROADCAST && obs.bssid == cfg.assoc_bssid)
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

/// The first data frame from the AP after a connection: traffic flows again. Disarms the watch
/// so this happens once per arming.
#[inline(always)]
fn report_first_data(obs: &Observation) {
    if !link::take_first_data_watch() {
        return;
    }
    let mut ev = events::new(EventKind::FirstData);
    ev.bssid = obs.bssid;
    ev.addr1 = obs.addr1;
    ev.freq_mhz = obs.freq_mhz;
    ev.signal_dbm = obs.signal_dbm.unwrap_or(0);
    events::send(&ev);
}

/// The two ways of `bssid`'s set in the per-BSS table.
#[inline(always)]
fn ways(bssid: &MacAddr) -> Option<(*mut BssSlot, *mut BssSlot)> {
    let set = bss::set_of(bssid);
    Some((BSS_TABLE.get_ptr_mut(2 * set)?, BSS_TABLE.get_ptr_mut(2 * set + 1)?))
}

/// Updates the BSS's row, or creates it (and says so) for a beacon from a new BSS. Elements
/// (the SSID) are read only then: a BSS's SSID does not change from beacon to beacon.
#[inline(always)]
fn track_bss(
    bytes: &Bytes,
    obs: &mut Observation,
    cfg: &FilterConfig,
    now: u64,
    stats: &mut FilterStats,
    opaque: &mut Opaque,
    wakes: &mut WakeBudget,
) {
    let Some((w0, w1)) = ways(&obs.bssid) else { return };
    // SAFETY: array map values, valid for this run; concurrent writers (rare: one phy's frames
    // are received on one CPU at a time) can only blur statistics, never touch other memory.
    let (w0, w1) = unsafe { (&mut *w0, &mut *w1) };
    match bss::lookup([w0, w1], &obs.bssid, &cfg.assoc_bssid) {
        Way::Hit(way) => {
            let slot = if way == 0 { w0 } else { w1 };
            if bss::update(&mut slot.record, obs, now) {
                let mut ev = events::new(EventKind::BssHeard);
                ev.bssid = obs.bssid;
                ev.freq_mhz = obs.freq_mhz;
                ev.signal_dbm = obs.signal_dbm.unwrap_or(0);
                events::send(&ev);
            }
            if obs.bssid == cfg.assoc_bssid
                && bss::check_weak(&mut slot.record, cfg.weak_signal_x16)
            {
                let mut ev = events::new(EventKind::SignalWeak);
                ev.bssid = obs.bssid;
                ev.freq_mhz = obs.freq_mhz;
                ev.value = slot.record.signal_avg_x16 as i64 as u64;
                events::send(&ev);
            }
        }
        Way::Miss { victim, evicts } => {
            if !bss::creates_record(obs) {
                return;
            }
            let bytes = forget_bounds(bytes, obs, opaque);
            frame::read_elements(&bytes, obs);
            let slot = if victim == 0 { w0 } else { w1 };
            slot.bssid = obs.bssid;
            slot.in_use = 1;
            slot.record = bss::new_record(obs, now);
            if evicts {
                stats.evictions += 1;
            }
            if !bss::wakes_agent(obs.ssid_hash, cfg.own_ssid_hash) {
                return;
            }
            if !bss::take_wake(wakes, now) {
                stats.new_bss_unannounced += 1;
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
    }
}

/// The frame length and where its elements start, as the verifier would know them had they
/// come from anywhere: through map memory (see [`Opaque`]). Volatile, so the compiler keeps
/// the round trip it could otherwise see through.
#[inline(always)]
fn forget_bounds<'a>(bytes: &Bytes<'a>, obs: &mut Observation, opaque: &mut Opaque) -> Bytes<'a> {
    // SAFETY: both pointers are to fields of this CPU's map value, valid for this run.
    unsafe {
        write_volatile(&mut opaque.elements_off, obs.elements_off);
        write_volatile(&mut opaque.frame_len, bytes.len() as u16);
        obs.elements_off = read_volatile(&opaque.elements_off);
        bytes.with_len(read_volatile(&opaque.frame_len) as usize)
    }
}

#[inline(always)]
fn check_associated(cfg: &FilterConfig, now: u64) {
    let Some((w0, w1)) = ways(&cfg.assoc_bssid) else { return };
    // SAFETY: as in track_bss.
    let (w0, w1) = unsafe { (&mut *w0, &mut *w1) };
    let slot = match bss::lookup([w0, w1], &cfg.assoc_bssid, &cfg.assoc_bssid) {
        Way::Hit(0) => w0,
        Way::Hit(_) => w1,
        Way::Miss { .. } => return,
    };
    if let Some(unheard_ns) = bss::check_silence(
        &mut slot.record,
        now,
        cfg.silence_intervals,
        cfg.assoc_beacon_interval_tu,
    ) {
        let mut ev = events::new(EventKind::BssSilent);
        ev.bssid = cfg.assoc_bssid;
        ev.freq_mhz = slot.record.freq_mhz;
        ev.value = unheard_ns;
        ev.ssid_hash = slot.record.ssid_hash;
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
