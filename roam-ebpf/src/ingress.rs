//! TC ingress on the station interface: every packet received came through the AP, so it is
//! alive. One store per packet; the agent reads it when it wonders. The first data packet
//! after a connection is reported (once per arming, see `link::received_data`).

use aya_ebpf::{helpers::bpf_ktime_get_ns, macros::classifier, programs::TcContext};
use roam_common::traffic;

use crate::{egress::TC_NEXT, link};

#[classifier]
pub fn roam_ingress(ctx: TcContext) -> i32 {
    // SAFETY: no preconditions.
    link::heard(unsafe { bpf_ktime_get_ns() });
    // `__sk_buff.protocol` is the ethertype in network byte order.
    if traffic::is_data(u16::from_be(ctx.skb.protocol() as u16)) {
        link::received_data();
    }
    TC_NEXT
}
