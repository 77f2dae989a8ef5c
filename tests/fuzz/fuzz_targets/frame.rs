//! The radiotap + 802.11 parser the kernel program and the agent share: any bytes a monitor
//! interface can deliver (anyone in radio range chooses them) must parse or be refused, never
//! panic or read out of bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roam_common::frame::{self, bytes::Bytes};

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::new(data);
    if let Ok(mut observation) = frame::parse(&bytes) {
        frame::read_elements(&bytes, &mut observation);
    }
});
