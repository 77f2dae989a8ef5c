//! TC egress on the station interface: counts what the stack sends while the link is in
//! transition. Runs before the qdisc, so it also sees packets the qdisc then drops.

use aya_ebpf::{macros::classifier, programs::TcContext};

use crate::window;

/// "Continue with the next program / default action" for both tcx and clsact attachments:
/// roam observes, it never decides a packet's fate.
const TC_NEXT: i32 = -1;

#[classifier]
pub fn roam_egress(ctx: TcContext) -> i32 {
    if window::is_open() {
        window::add(|c| &mut c.tx_packets, 1);
        window::add(|c| &mut c.tx_bytes, ctx.len() as u64);
    }
    TC_NEXT
}
