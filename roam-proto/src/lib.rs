//! What roam's agent tells the world, typed once for every consumer:
//! - [`event`]: the events of `roam events` (one JSON object per line), which the VM testbed's
//!   timeline, its fault checks and the benchmark read back;
//! - [`status`]: the snapshot of `roam status --json`;
//! - [`request`]: the control socket's requests and its protocol version.
//!
//! The JSON is the wire format: field and variant names here are what scripts see.

pub mod event;
pub mod request;
pub mod status;

pub use event::{
    AgentEvent, Attached, Backend, ConfirmedBy, EventLine, FadingSignal, HoldReason, LossSource,
    Phase, RoamResult, TransitionReport, WindowReport,
};
pub use request::{Request, PROTOCOL_VERSION};
pub use roam_common::{
    policy::{CandidateSource, State, TriggerKind},
    MacAddr,
};
pub use status::{
    band_of, Candidate, Counters, CurrentBss, DropWindow, LivenessSource, LivenessSourceStatus,
    LivenessStatus, LivenessVerdict, ProbeTotals, RoamRecord, RoamStep, SignalStatus, SourceState,
    Status, TransitionStep,
};
