//! The configuration file: whatever an operator writes must load or be refused with a message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roam_user::config::Config;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Config::parse(text, "roam.toml");
    }
});
