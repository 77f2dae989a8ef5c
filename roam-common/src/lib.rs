//! Code shared by roam's kernel programs (`roam-ebpf`) and its agent (`roam-user`).
//!
//! Everything here is `no_std` and free of kernel helpers, so the same parsing and policy code
//! runs in the kernel and is unit-tested on the host:
//! - [`frame`]: radiotap + 802.11 parsing into an [`frame::Observation`];
//! - [`bss`]: the per-BSS table update and silence test the socket filter applies per frame;
//! - [`maps`], [`event`], [`layout`]: the `#[repr(C)]` types that cross the kernel boundary.
#![cfg_attr(not(test), no_std)]
// Inline asm for the BPF target (an optimisation barrier in frame::bytes); the eBPF build enables
// unstable features through RUSTC_BOOTSTRAP.
#![cfg_attr(target_arch = "bpf", feature(asm_experimental_arch))]

#[cfg(any(test, feature = "fixtures"))]
extern crate alloc;

pub mod bss;
pub mod event;
pub mod frame;
pub mod history;
pub mod layout;
pub mod mac;
pub mod maps;
pub mod policy;
pub mod reason;
pub mod traffic;

pub use mac::{MacAddr, ParseMacAddrError};
