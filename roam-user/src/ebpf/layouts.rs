//! Turns the running kernel's BTF into the globals the programs read (see
//! `roam_common::layout`): vmlinux's for the net_device, sk_buff and neighbour members, and
//! mac80211's module BTF for its virtual interface and station entries.

use roam_common::layout::{Mac80211Layout, NeighLayout, NetDevLayout};

use super::btf::KernelBtf;

/// A layout, or why the running kernel does not give it.
pub type Resolved<T> = Result<T, String>;

/// The layouts a hook needs before it can attach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    /// Nothing of the kernel's structs (the frame filter, the egress classifier).
    Nothing,
    /// net_device and sk_buff members (vmlinux).
    NetDev,
    /// ... and struct neighbour's.
    Neigh,
    /// ... and mac80211's (its module BTF).
    Mac80211,
}

/// Everything resolved from the running kernel before loading.
#[derive(Clone, Debug)]
pub struct KernelLayouts {
    pub netdev: Resolved<NetDevLayout>,
    pub neigh: Resolved<NeighLayout>,
    pub mac80211: Resolved<Mac80211Layout>,
}

impl KernelLayouts {
    pub fn resolve(vmlinux: Result<&KernelBtf, &anyhow::Error>) -> Self {
        let vmlinux = vmlinux.map_err(|e| format!("{e:#}"));
        Self {
            netdev: of(&vmlinux, KernelBtf::netdev_layout),
            neigh: of(&vmlinux, KernelBtf::neigh_layout),
            mac80211: of(&vmlinux, |btf| btf.module("mac80211")?.mac80211_layout()),
        }
    }

    /// Why a hook that `needs` these layouts cannot attach, if it cannot.
    pub fn missing(&self, needs: Needs) -> Option<String> {
        let netdev = self.netdev.as_ref().err();
        let missing = match needs {
            Needs::Nothing => None,
            Needs::NetDev => netdev,
            Needs::Neigh => netdev.or(self.neigh.as_ref().err()),
            Needs::Mac80211 => netdev.or(self.mac80211.as_ref().err()),
        };
        missing.map(|why| format!("needs struct offsets from the kernel's BTF: {why}"))
    }

    /// Sets every resolved layout as a global of the object being loaded.
    pub fn apply<'a>(&'a self, loader: &mut aya::EbpfLoader<'a>) {
        if let Ok(layout) = &self.netdev {
            loader.override_global("NETDEV_LAYOUT", layout, true);
        }
        if let Ok(layout) = &self.neigh {
            loader.override_global("NEIGH_LAYOUT", layout, true);
        }
        if let Ok(layout) = &self.mac80211 {
            loader.override_global("MAC80211_LAYOUT", layout, true);
        }
    }
}

fn of<T>(
    vmlinux: &Result<&KernelBtf, String>,
    layout: impl FnOnce(&KernelBtf) -> anyhow::Result<T>,
) -> Resolved<T> {
    let btf = vmlinux.as_ref().map_err(Clone::clone)?;
    layout(btf).map_err(|e| format!("{e:#}"))
}
