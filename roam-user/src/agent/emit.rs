//! The agent's events (`roam_proto::AgentEvent`): to `roam events` subscribers and to the log.

use roam_proto::{AgentEvent, EventLine};
use tokio::sync::broadcast;

#[derive(Clone)]
pub struct Emitter {
    tx: broadcast::Sender<EventLine>,
}

impl Emitter {
    pub fn new(capacity: usize) -> Self {
        Emitter { tx: broadcast::channel(capacity).0 }
    }

    pub fn sender(&self) -> broadcast::Sender<EventLine> {
        self.tx.clone()
    }

    /// Publishes `event`, stamped now, and logs it at info.
    pub fn emit(&self, event: AgentEvent) {
        let line = EventLine::now(event);
        tracing::info!(target: "roam::event", "{}", line.to_json());
        // No subscriber is fine: events are also in the log.
        let _ = self.tx.send(line);
    }
}
