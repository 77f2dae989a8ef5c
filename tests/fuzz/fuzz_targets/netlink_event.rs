//! Netlink from the kernel: nl80211 MLME and scan events (their frames come from the air) and
//! rtnetlink link and neighbour notifications, decoded from raw datagrams.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roam_user::{nl80211::events, rtnl};

fuzz_target!(|data: &[u8]| {
    if let Some((&command, payload)) = data.split_first() {
        let _ = events::decode_event(command, payload);
        let _ = events::mgmt_frame_reason(payload);
    }
    let _ = rtnl::messages(data);
});
