//! TC egress on the station interface: keeps the short history of data packets sent, counts
//! what the stack sends while the link is in transition, and hints the agent when the station
//! sends into silence (see `link`). Runs before the qdisc, so it also sees
//! packets the qdisc then drops. Link control (ARP, EAPOL) is not counted: see
//! `roam_common::traffic`.

use aya_ebpf::{macros::classifier, programs::TcContext};
use roam_common::traffic;

use crate::{history, link, maps::EGRESS_HISTORY, window};

/// "Continue with the next program / default action" for both tcx and clsact attachments:
/// roam observes, it never decides a packet's fate.
pub const TC_NEXT: i32 = -1;

#[classifier]
pub fn roam_egress(ctx: TcContext) -> i32 {
    // `__sk_buff.protocol` is the ethertype in network byte order.
    if !traffic::is_data(u16::from_be(ctx.skb.protocol() as u16)) {
        return TC_NEXT;
    }
    history::record_now(&EGRESS_HISTORY);
    link::sending();
    if window::is_open() {
        window::add(|c| &mut c.tx_packets, 1);
        window::add(|c| &mut c.tx_bytes, ctx.len() as u64);
    }
    TC_NEXT
}
