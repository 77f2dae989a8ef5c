//! TC egress on the station interface: counts what the stack sends while the link is in
//! transition. Runs before the qdisc, so it also sees packets the qdisc then drops.

use aya_ebpf::{
    helpers::generated::bpf_ktime_get_coarse_ns, macros::classifier, programs::TcContext,
};
use roam_common::history;

use crate::{maps::EGRESS_HISTORY, window};

/// "Continue with the next program / default action" for both tcx and clsact attachments:
/// roam observes, it never decides a packet's fate.
const TC_NEXT: i32 = -1;

#[classifier]
pub fn roam_egress(ctx: TcContext) -> i32 {
    // Every packet the station sends passes here: the coarse clock (a tick, 4 ms at HZ=250) is a
    // fraction of the precise one's cost and finer than a history slot (8.4 ms).
    // SAFETY: no preconditions.
    let (index, epoch) = history::slot_of(unsafe { bpf_ktime_get_coarse_ns() });
    if let Some(slot) = EGRESS_HISTORY.get_ptr_mut(index) {
        // SAFETY: a per-CPU map value, valid for this run; one writer per CPU.
        history::record(unsafe { &mut *slot }, epoch);
    }
    if window::is_open() {
        window::add(|c| &mut c.tx_packets, 1);
        window::add(|c| &mut c.tx_bytes, ctx.len() as u64);
    }
    TC_NEXT
}
