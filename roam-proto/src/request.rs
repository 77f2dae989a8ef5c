//! The control socket's requests and its protocol version. The socket's protocol as a whole is
//! documented with the agent's control module (`roam_user::control`).

use serde_json::{json, Value};

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
