//! wpa_supplicant's control-socket messages: events (whose text carries SSIDs and other
//! strings from the air) and the STATUS and BSS replies roam parses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roam_user::wpa;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = wpa::parse_event(&text);
    let _ = wpa::parse_status(&text);
    let _ = wpa::parse_bss(&text);
});
