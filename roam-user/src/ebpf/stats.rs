//! eBPF run-time statistics (the kernel counts run time and runs per program while enabled).

use std::os::fd::OwnedFd;

use anyhow::{Context as _, Result};

/// Enables run-time statistics for as long as the returned descriptor lives (BPF_ENABLE_STATS),
/// without touching the `kernel.bpf_stats_enabled` sysctl other tools may rely on.
pub fn enable() -> Result<OwnedFd> {
    aya::sys::enable_stats(aya::sys::Stats::RunTime).context("enabling eBPF run-time statistics")
}
