//! The agent's events: one JSON object per event, to `roam events` subscribers and to the log.
//! Every event carries `event` (its name) and `t_us` (CLOCK_REALTIME µs, comparable with other
//! daemons' logs); the rest are the event's own fields.

use serde_json::{json, Map, Value};
use tokio::sync::broadcast;

#[derive(Clone)]
pub struct Emitter {
    tx: broadcast::Sender<Value>,
}

impl Emitter {
    pub fn new(capacity: usize) -> Self {
        Emitter { tx: broadcast::channel(capacity).0 }
    }

    pub fn sender(&self) -> broadcast::Sender<Value> {
        self.tx.clone()
    }

    /// Publishes `name` with `fields` (a JSON object, or null for none) and logs it at info.
    pub fn emit(&self, name: &str, fields: Value) {
        let mut event = Map::new();
        event.insert("event".into(), json!(name));
        event.insert("t_us".into(), json!(realtime_us()));
        if let Value::Object(fields) = fields {
            event.extend(fields);
        }
        let event = Value::Object(event);
        tracing::info!(target: "roam::event", "{event}");
        // No subscriber is fine: events are also in the log.
        let _ = self.tx.send(event);
    }
}

/// CLOCK_REALTIME in microseconds.
pub fn realtime_us() -> i64 {
    let ts = nix::time::clock_gettime(nix::time::ClockId::CLOCK_REALTIME).expect("CLOCK_REALTIME");
    ts.tv_sec() * 1_000_000 + ts.tv_nsec() / 1_000
}

/// `02:00:00:00:01:00`.
pub fn mac(addr: &roam_common::MacAddr) -> String {
    addr.to_string()
}
