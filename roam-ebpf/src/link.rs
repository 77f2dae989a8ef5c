//! The station's link as its traffic shows it: when the AP was last heard (every packet the
//! station receives came through it), and a hint to the agent when the station keeps sending
//! into silence. The agent then asks the AP for an 802.11 acknowledgement: the hint costs no
//! wake-up while the AP answers, and one per quiet spell when it does not.

use aya_ebpf::helpers::bpf_ktime_get_ns;
use roam_common::{event::EventKind, MacAddr};

use crate::{
    events,
    maps::{FILTER_CONFIG, LINK_ACTIVITY, LINK_CONFIG},
};

/// The AP was heard at `now_ns` (the frame filter's coarse clock may lag the precise one by a
/// tick: an older time is not stored over a newer one).
#[inline(always)]
pub fn heard(now_ns: u64) {
    if let Some(activity) = LINK_ACTIVITY.get_ptr_mut(0) {
        // SAFETY: an array map value, valid for the program's run; a racing writer can only
        // store another recent time.
        unsafe {
            if (*activity).last_rx_ns < now_ns {
                (*activity).last_rx_ns = now_ns;
            }
        }
    }
}

/// The station sends a data packet: noted, and hints the agent if nothing came from the AP for
/// a while.
#[inline(always)]
pub fn sending() {
    let (Some(config), Some(activity)) = (LINK_CONFIG.get(0), LINK_ACTIVITY.get_ptr_mut(0)) else {
        return;
    };
    if config.quiet_ns == 0 {
        return;
    }
    // SAFETY: no preconditions.
    let now = unsafe { bpf_ktime_get_ns() };
    // SAFETY: as in `heard`; two CPUs racing here send at most one hint each.
    let activity = unsafe { &mut *activity };
    if activity.last_tx_ns < now {
        activity.last_tx_ns = now;
    }
    if activity.hint_due(config, now) {
        activity.last_hint_ns = now;
        let mut ev = events::new(EventKind::TxUnanswered);
        ev.value = now.saturating_sub(activity.last_rx_ns.max(config.alive_ns));
        events::send(&ev);
    }
}

/// Disarms the agent's watch for the first data frame after a connection, and says whether it
/// was armed: the monitor and the station's ingress both watch, and the first to see traffic
/// reports it (two CPUs racing may both report: the agent takes the first).
#[inline(always)]
pub fn take_first_data_watch() -> bool {
    let Some(cfg) = FILTER_CONFIG.get_ptr_mut(0) else { return false };
    // SAFETY: an array map value, valid for the program's run.
    let cfg = unsafe { &mut *cfg };
    if cfg.watch_data == 0 {
        return false;
    }
    cfg.watch_data = 0;
    true
}

/// The station received a data packet from its AP: the first after a connection tells the
/// agent that traffic flows again. This is the mark where no monitor hears the AP's data frames
/// (a driver without monitor mode, or roam's monitor turned off).
#[inline(always)]
pub fn received_data() {
    let Some(cfg) = FILTER_CONFIG.get(0) else { return };
    let bssid = cfg.assoc_bssid;
    if bssid == MacAddr::UNSET || !take_first_data_watch() {
        return;
    }
    let mut ev = events::new(EventKind::FirstData);
    ev.bssid = bssid;
    events::send(&ev);
}
