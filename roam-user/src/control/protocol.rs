//! The wire format shared by server and client: request lines, error replies and the stream's
//! own events. See the module documentation of [`crate::control`] for the whole protocol.

use std::{
    io,
    time::{SystemTime, UNIX_EPOCH},
};

use serde::Serialize;
use serde_json::{json, Value};
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// The protocol version this build speaks. Requests without `"version"` are version 1.
pub const PROTOCOL_VERSION: u64 = 1;

/// What a client asks the agent for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// One [`Status`](super::Status) line, then the server closes.
    Status,
    /// The agent's events, one per line, until either side goes away.
    Events,
}

impl Request {
    pub fn name(self) -> &'static str {
        match self {
            Request::Status => "status",
            Request::Events => "events",
        }
    }

    /// The line a client sends, newline included. Version 1 needs no `"version"` field.
    pub fn to_line(self) -> String {
        format!("{}\n", json!({ "request": self.name() }))
    }

    /// Parses a request line. `Err` holds the message of the error reply.
    pub fn parse(line: &str) -> Result<Request, String> {
        let malformed = || {
            format!(
                "malformed request {:?}: expected a JSON line like {{\"request\":\"status\"}}",
                line.trim()
            )
        };
        let value: Value = serde_json::from_str(line).map_err(|_| malformed())?;
        let version = match value.get("version") {
            None => 1,
            Some(version) => version.as_u64().ok_or_else(malformed)?,
        };
        if !(1..=PROTOCOL_VERSION).contains(&version) {
            return Err(format!(
                "protocol version {version} is not supported: this agent speaks version \
                 {PROTOCOL_VERSION}"
            ));
        }
        match value.get("request").and_then(Value::as_str) {
            Some("status") => Ok(Request::Status),
            Some("events") => Ok(Request::Events),
            Some(other) => Err(format!("unknown request {other:?}: expected status or events")),
            None => Err(malformed()),
        }
    }
}

/// The reply to a request the server cannot serve.
pub(crate) fn error_reply(message: &str) -> Value {
    json!({ "error": message })
}

/// The message of an error reply, if `reply` is one.
pub(crate) fn reply_error(reply: &Value) -> Option<&str> {
    reply.get("error").and_then(Value::as_str)
}

/// First line of an events stream: from here on the client receives every event.
pub(crate) fn subscribed_event(iface: &str) -> Value {
    json!({ "event": "subscribed", "t_us": now_us(), "iface": iface, "version": PROTOCOL_VERSION })
}

/// Stands in for the `missed` events a slow client lost when the agent's buffer wrapped.
/// It carries `t_us` like every other line of the stream, so consumers can rely on it.
pub(crate) fn lagged_event(missed: u64) -> Value {
    json!({ "event": "lagged", "missed": missed, "t_us": now_us() })
}

/// CLOCK_REALTIME in microseconds, the clock of the agent's events.
fn now_us() -> u64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since_epoch.as_micros()).unwrap_or(u64::MAX)
}

/// Writes `value` as one JSON line and flushes it, so the peer sees each line as it is made.
pub(crate) async fn write_json_line(
    out: &mut (impl AsyncWrite + Unpin),
    value: &impl Serialize,
) -> io::Result<()> {
    let mut line = serde_json::to_vec(value)?;
    line.push(b'\n');
    out.write_all(&line).await?;
    out.flush().await
}
