//! The configuration file: whatever an operator writes must load or be refused with a message,
//! and what the agent derives from a file that loads must not overflow or panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roam_user::config::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(config) = Config::parse(text, "roam.toml") else { return };
    let _ = (config.detect.liveness(), config.detect.unanswered_ns(), config.limiter());
    let now = std::time::Instant::now();
    for wait in [config.act.roam_timeout(), config.candidates.refresh_min_interval()] {
        assert!(now.checked_add(wait).is_some(), "{wait:?}");
        // The agent's deadlines are u64 nanoseconds of CLOCK_MONOTONIC.
        assert!(wait.as_nanos() < u128::from(u64::MAX / 2), "{wait:?}");
    }
});
