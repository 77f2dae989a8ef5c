//! The agent's local control socket, and the client `roam status` / `roam events` use.
//!
//! The agent (`roam run --iface IF`, as root) serves a unix stream socket, by default
//! [`default_socket_path`] = `/run/roam/<iface>.sock`, in a 0700 directory, itself mode 0600:
//! only root talks to the agent.
//!
//! # Protocol (version [`PROTOCOL_VERSION`])
//!
//! Newline-delimited JSON. The client sends one request line and the server answers:
//!
//! - `{"request":"status"}` -> one line, the [`Status`] object; then the server closes.
//! - `{"request":"events"}` -> first `{"event":"subscribed","t_us":..,"iface":..,"version":1}`
//!   once the client is subscribed (so it knows every event from then on reaches it), then one
//!   agent event object per line (`{"event":"<name>","t_us":<CLOCK_REALTIME µs>,...}`) until
//!   the client disconnects or the agent stops. The client keeps its side open while it
//!   listens: end-of-file from the client (close, or `shutdown(SHUT_WR)`) ends the stream at
//!   once rather than at the next event's failed write. A client that falls behind the agent's
//!   event buffer gets `{"event":"lagged","missed":N,"t_us":..}` and the stream continues.
//! - anything else -> one line `{"error":"<why>"}`, e.g.
//!   `{"error":"unknown request \"x\": expected status or events"}`.
//!
//! Room to grow: a request may carry `"version":N` (absent means 1); the server refuses versions
//! it does not speak with an error line, ignores fields it does not know, and clients ignore
//! unknown fields in replies, so both sides can add fields without a version bump.

mod client;
mod path;
mod protocol;
mod server;

#[cfg(test)]
mod tests;

pub use client::{fetch_status, stream_events};
pub use path::{default_socket_path, SOCKET_DIR};
pub use server::ControlServer;
