//! The kernel side as seen from the agent: loading, attaching, maps and events.

pub mod btf;
pub mod events;
pub mod fentry_btf;
pub mod hooks;
pub mod layouts;
pub mod loader;
pub mod observer;
pub mod packet;
pub mod report;
pub mod stats;

pub use observer::{Observer, ObserverOptions};

/// The eBPF object built from roam-ebpf by build.rs.
pub static OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/roam"));
