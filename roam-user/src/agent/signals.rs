//! The stop requests the agent obeys: SIGINT and SIGTERM (systemd's stop).

use anyhow::Result;
use tokio::signal::unix::{signal, Signal, SignalKind};

/// SIGINT and SIGTERM, installed once for the agent's whole life.
pub struct StopSignals {
    interrupt: Signal,
    terminate: Signal,
}

impl StopSignals {
    pub fn new() -> Result<Self> {
        Ok(StopSignals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// The next stop request, named for the log. Cancel-safe.
    pub async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "interrupted",
            _ = self.terminate.recv() => "terminated",
        }
    }
}
