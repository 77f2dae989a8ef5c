//! The wire format shared by server and client beyond the typed requests and events of
//! `roam_proto`: error replies, and the stream's own events. See the module documentation of [`crate::control`] for the whole protocol.

use std::io;

use roam_proto::{AgentEvent, EventLine, PROTOCOL_VERSION};
use serde::Serialize;
use serde_json::{json, Value};
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// The reply to a request the server cannot serve.
pub(crate) fn error_reply(message: &str) -> Value {
    json!({ "error": message })
}

/// The message of an error reply, if `reply` is one.
pub(crate) fn reply_error(reply: &Value) -> Option<&str> {
    reply.get("error").and_then(Value::as_str)
}

/// First line of an events stream: from here on the client receives every event.
pub(crate) fn subscribed_event(iface: &str) -> EventLine {
    EventLine::now(AgentEvent::Subscribed { iface: iface.to_owned(), version: PROTOCOL_VERSION })
}

/// Stands in for the `missed` events a slow client lost when the agent's buffer wrapped.
/// It carries `t_us` like every other line of the stream, so consumers can rely on it.
pub(crate) fn lagged_event(missed: u64) -> EventLine {
    EventLine::now(AgentEvent::Lagged { missed })
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
