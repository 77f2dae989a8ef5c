//! roam's agent: loads the kernel programs, follows the station, and acts.

pub mod carrier;
pub mod ebpf;
pub mod netif;
pub mod system;
pub mod wpa;
