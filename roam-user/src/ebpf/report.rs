//! What was attached where, and why the rest was not.

use std::fmt;

use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "reason", rename_all = "lowercase")]
pub enum HookStatus {
    Attached,
    /// Not available here, and roam works without it (a fallback or a feature of other kernels).
    Skipped(String),
    /// Available but refused: the verifier or the kernel said no.
    Failed(String),
}

#[derive(Clone, Debug, Serialize)]
pub struct HookReport {
    pub program: &'static str,
    pub attach_point: String,
    pub purpose: &'static str,
    #[serde(flatten)]
    pub status: HookStatus,
}

/// How roam learns about carrier changes of the station interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CarrierSource {
    /// fentry on netif_carrier_off/on: the window opens in the kernel, at the instant.
    Kernel,
    /// RTM_NEWLINK notifications to the agent, after linkwatch (up to ~1 s later for carrier off).
    Rtnetlink,
}

#[derive(Clone, Debug, Serialize)]
pub struct AttachReport {
    pub hooks: Vec<HookReport>,
    pub carrier_source: CarrierSource,
}

impl AttachReport {
    pub fn failed(&self) -> impl Iterator<Item = &HookReport> {
        self.hooks.iter().filter(|h| matches!(h.status, HookStatus::Failed(_)))
    }

    pub fn attached(&self) -> impl Iterator<Item = &HookReport> {
        self.hooks.iter().filter(|h| h.status == HookStatus::Attached)
    }

    pub fn is_attached(&self, program: &str) -> bool {
        self.hooks.iter().any(|h| h.program == program && h.status == HookStatus::Attached)
    }
}

impl fmt::Display for AttachReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self.hooks.iter().map(|h| h.attach_point.len()).max().unwrap_or(0);
        for h in &self.hooks {
            let (tag, reason) = match &h.status {
                HookStatus::Attached => ("attached", None),
                HookStatus::Skipped(r) => ("skipped ", Some(r)),
                HookStatus::Failed(r) => ("FAILED  ", Some(r)),
            };
            write!(f, "  [{tag}] {:width$}  {}", h.attach_point, h.purpose)?;
            if let Some(r) = reason {
                write!(f, "\n             why: {r}")?;
            }
            writeln!(f)?;
        }
        let carrier = match self.carrier_source {
            CarrierSource::Kernel => "fentry on netif_carrier_off/on (in the kernel, immediate)",
            CarrierSource::Rtnetlink => "rtnetlink in the agent (kprobes unavailable)",
        };
        writeln!(f, "  carrier changes: {carrier}")
    }
}
