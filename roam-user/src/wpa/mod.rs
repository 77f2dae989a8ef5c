//! Client for wpa_supplicant's control interface (2.10).
//!
//! wpa_supplicant listens on a unix datagram socket per interface,
//! `<ctrl_interface>/<iface>` (usually `/run/wpa_supplicant/wlan0`). A client
//! binds a socket of its own, sends a text command and gets a text reply.
//! Sockets that sent `ATTACH` also receive unsolicited events, which start
//! with `<level>`.
//!
//! - [`WpaCtrl`]: request/response (`PING`, `STATUS`, `BSS`, `ROAM`, `SCAN`).
//! - [`WpaEvents`]: a separate attached socket yielding [`WpaEvent`]s.
//! - Pure parsers ([`parse_event`], [`parse_status`], [`parse_bss`]) and
//!   [`command`] builders, testable without a daemon.

mod attach;
pub mod command;
mod ctrl;
mod error;
mod escape;
mod event;
mod reply;
pub mod security;
mod socket;
mod watch;

#[cfg(test)]
mod tests;

pub use attach::WpaEvents;
pub use ctrl::{WpaCtrl, DEFAULT_TIMEOUT};
pub use error::{Result, WpaError};
pub use escape::ssid_bytes;
pub use event::{parse_event, WpaEvent};
pub use reply::{parse_bss, parse_network_flag, parse_pmksa, parse_status, Bss, Status, WpaState};
pub use watch::{wait_until_answering, SocketWatch, BIND_SETTLE};
