//! The agent's decisions, as pure functions and a pure state machine over events, so every rule
//! is unit-tested on the host and the agent is only I/O around them:
//! - [`state`]: the station's state, modelled on the 802.11 MLME states plus roam's own;
//! - [`trigger`]: why roam thinks the link is lost;
//! - [`candidate`]: which BSS of the same network to move to;
//! - [`backoff`]: exponential backoff, for anything that waits longer after each failure;
//! - [`limiter`]: backoff after failed roams and a cap on roams per minute;
//! - [`liveness`]: whether the AP is still there, from 802.11 acknowledgements and frames heard;
//! - [`monitor`]: whether the monitor interface hears the AP at all (many chips filter it);
//! - [`security`]: whether a BSS offers the security the station's network uses;
//! - [`signal`]: roaming before the link breaks, on the serving AP's fading signal;
//! - [`machine`]: the state machine that turns events into at most one action at a time.

pub mod backoff;
pub mod candidate;
pub mod limiter;
pub mod liveness;
pub mod machine;
pub mod monitor;
pub mod security;
pub mod signal;
pub mod state;
pub mod trigger;

#[cfg(test)]
mod liveness_tests;
#[cfg(test)]
mod tests;

pub use backoff::Backoff;
pub use candidate::{
    best_candidate, best_candidate_with_cached_key, Candidate, CandidateSource, Lost,
};
pub use limiter::{Limiter, LimiterConfig};
pub use liveness::{AckReports, Liveness, LivenessConfig, Verdict};
pub use machine::{Action, Hold, Input, Machine, MachineConfig, Outcome, Step};
pub use monitor::{MonitorCheck, MonitorHealth};
pub use signal::{SignalConfig, SignalTrend, SignalVerdict};
pub use state::State;
pub use trigger::{Trigger, TriggerKind};
