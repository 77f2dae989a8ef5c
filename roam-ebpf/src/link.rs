//! The station's link as its traffic shows it: when the AP was last heard (every packet the
//! station receives came through it), and a hint to the agent when the station keeps sending
//! into silence. The agent then asks the AP for an 802.11 acknowledgement: the hint costs no
//! wake-up while the AP answers, and one per quiet spell when it does not.

use aya_ebpf::helpers::bpf_ktime_get_ns;
use roam_common::event::EventKind;

use crate::{
    events,
    maps::{LINK_ACTIVITY, LINK_CONFIG},
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

/// The station sends a data packet: hints the agent if nothing came from the AP for a while.
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
    if activity.hint_due(config, now) {
        activity.last_hint_ns = now;
        let mut ev = events::new(EventKind::TxUnanswered);
        ev.value = now.saturating_sub(activity.last_rx_ns.max(config.alive_ns));
        events::send(&ev);
    }
}
