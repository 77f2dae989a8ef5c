//! roam's small wrapper over the kernel's nl80211 (cfg80211's netlink API),
//! built on the wl-nl80211 crate's message types and connection.
//!
//! - [`Nl80211`]: the client. Interfaces ([`Nl80211::interface`]), monitor
//!   interfaces ([`Nl80211::create_monitor`] → [`MonitorIface`]), scans
//!   ([`Nl80211::trigger_scan`] → [`PendingScan`], [`Nl80211::scan_results`]
//!   → [`ScanBss`]), supplicant-less connections to open networks
//!   ([`Nl80211::connect`], [`Nl80211::disconnect`]), the AP's signal as the station
//!   measures it ([`Nl80211::station_signal`]), whether a BSS acknowledges a frame
//!   ([`Nl80211::bss_acknowledges`]) and events
//!   ([`Nl80211::mlme_events`] → [`MlmeEvents`] of [`MlmeEvent`]).
//! - Pure parts, tested without a radio: request building ([`messages`]),
//!   information elements ([`ies`]), scan entries ([`ScanBss::from_bss_info`]),
//!   events ([`events::decode_event`]), errno mapping ([`Nl80211Error`]).
//!
//! Every operation needs CAP_NET_ADMIN except reading (interfaces, scan
//! results, events).

mod blocking;
mod bss;
mod client;
mod connect;
mod error;
pub mod events;
mod family;
pub mod ies;
mod iface;
pub mod messages;
mod monitor;
mod probe;
mod scan;
mod station;
mod subscription;
mod task;
mod transport;

pub use bss::{BssStatus, ScanBss};
pub use client::Nl80211;
pub use error::{Nl80211Error, Op, Result};
pub use events::MlmeEvent;
pub use iface::{IfType, WirelessIface};
pub use monitor::MonitorIface;
pub use probe::ACK_WAIT;
pub use scan::PendingScan;
pub use station::StationSignal;
pub use subscription::MlmeEvents;
