//! TC ingress on the station interface: every packet received came through the AP, so it is
//! alive. One store per packet; the agent reads it when it wonders.

use aya_ebpf::{helpers::bpf_ktime_get_ns, macros::classifier, programs::TcContext};

use crate::{egress::TC_NEXT, link};

#[classifier]
pub fn roam_ingress(_ctx: TcContext) -> i32 {
    // SAFETY: no preconditions.
    link::heard(unsafe { bpf_ktime_get_ns() });
    TC_NEXT
}
