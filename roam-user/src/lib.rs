//! roam's agent: loads the kernel programs, follows the station, and acts.

pub mod ack_probe;
pub mod agent;
pub mod alarm;
pub mod carrier;
pub mod config;
pub mod control;
pub mod ebpf;
pub mod leftovers;
pub mod memory;
pub mod metrics;
pub mod neighbours;
pub mod netif;
pub mod netlink_answer;
pub mod nl80211;
pub mod presence;
pub mod rtnl;
pub mod sd_notify;
pub mod system;
pub mod wpa;
