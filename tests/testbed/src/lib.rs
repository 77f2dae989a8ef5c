//! The VM testbed's shared vocabulary.
//!
//! The host (`cargo xtask vm`) and the guest (the `roam-testbed` binary running as the VM's init)
//! agree on these types: a [`scenario::Scenario`] is parsed from a TOML file on the host, travels
//! inside a [`plan::Plan`] into the guest, and comes back as [`report`] records. The arithmetic
//! every claim rests on (traffic gap, lost packets) lives in [`traffic`] as pure functions.

pub mod medium;
pub mod plan;
pub mod refusal;
pub mod report;
pub mod scenario;
pub mod security;
pub mod stack;
pub mod timeline;
pub mod traffic;

/// Kernel modules the guest loads at boot, in order (modprobe pulls in their dependencies): the
/// results disk (virtio), the wireless stack before tracing is set up so its trace events exist,
/// the bridge (stp, llc), and the ciphers WPA2 needs (ccm/ctr for CCMP, gcm/ghash for GCMP, cmac
/// for management frame protection), the clsact qdisc with the BPF classifier that roam's TC
/// egress program uses on kernels before tcx (6.6), and the kernel crypto API for user space
/// with the algorithms iwd checks for at start (it computes the PSK and the 4-way handshake's
/// keys and MICs in the kernel, through AF_ALG sockets: hashes, AES and DES in ECB; HMAC, SHA-1,
/// SHA-256, MD5, AES and CBC are built in). Module autoloading is off once the plan runs, so
/// nothing loads on demand. mac80211_hwsim comes later, with the radio count. veth joins the
/// other network's gateway, in a namespace of its own, to its LAN (`other_network`).
pub const BOOT_MODULES: &[&str] = &[
    "virtio_pci",
    "virtio_blk",
    "mac80211",
    "bridge",
    "veth",
    "ccm",
    "ctr",
    "gcm",
    "ghash_generic",
    "cmac",
    "sch_ingress",
    "cls_bpf",
    "algif_hash",
    "algif_skcipher",
    "ecb",
    "des_generic",
    "sha512_generic",
];

/// The simulated radios' module, loaded per topology.
pub const RADIO_MODULE: &str = "mac80211_hwsim";
