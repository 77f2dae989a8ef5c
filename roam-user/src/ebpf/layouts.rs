//! Turns tracefs formats and BTF into the globals the programs read (see roam_common::layout).

use std::path::Path;

use anyhow::Result;
use roam_common::layout::{
    CqmRssiLayout, KfreeSkbLayout, MlmeLayout, NeighLayout, NetDevLayout, StaStateLayout,
    VifLayout, ABSENT,
};

use super::{
    btf::KernelBtf,
    tracefs::{self, Format},
};

/// Everything resolved from the running kernel before loading.
#[derive(Clone, Debug)]
pub struct KernelLayouts {
    pub netdev: Option<NetDevLayout>,
    /// Why `netdev` is missing, for the report.
    pub netdev_error: Option<String>,
    pub kfree_skb: Option<KfreeSkbLayout>,
    pub neigh_update: Option<NeighLayout>,
    pub neigh_create: Option<NeighLayout>,
    pub neigh_send_done: Option<NeighLayout>,
    pub neigh_cleanup: Option<NeighLayout>,
    pub mlme_rx: Option<MlmeLayout>,
    pub mlme_tx: Option<MlmeLayout>,
    pub cqm_rssi: Option<CqmRssiLayout>,
    pub beacon_loss: Option<VifLayout>,
    pub connection_loss: Option<VifLayout>,
    pub cqm_beacon_loss: Option<VifLayout>,
    pub sta_state: Option<StaStateLayout>,
}

fn off(f: &Format, name: &str) -> u32 {
    f.offset(name).unwrap_or(ABSENT)
}

/// A layout is usable only if the fields a program cannot do without are there.
fn required(values: &[u32]) -> bool {
    values.iter().all(|&v| v != ABSENT)
}

fn neigh(f: &Format) -> Option<NeighLayout> {
    let l = NeighLayout {
        family: off(f, "family"),
        dev: off(f, "dev"),
        nud_state: off(f, "nud_state"),
        new_state: off(f, "new_state"),
        err: off(f, "err"),
    };
    required(&[l.dev]).then_some(l)
}

fn mlme(f: &Format) -> Option<MlmeLayout> {
    let l = MlmeLayout { ifindex: off(f, "ifindex"), frame: off(f, "frame") };
    required(&[l.ifindex, l.frame]).then_some(l)
}

fn vif(f: &Format) -> Option<VifLayout> {
    let l = VifLayout { vif_name: off(f, "vif_name") };
    required(&[l.vif_name]).then_some(l)
}

impl KernelLayouts {
    pub fn resolve(
        tracefs_root: Option<&Path>,
        kernel_btf: Result<&KernelBtf, &anyhow::Error>,
    ) -> Result<Self> {
        let (netdev, netdev_error) = match kernel_btf.map(KernelBtf::netdev_layout) {
            Ok(Ok(l)) => (Some(l), None),
            Ok(Err(e)) => (None, Some(format!("{e:#}"))),
            Err(e) => (None, Some(format!("{e:#}"))),
        };
        let read = |category: &str, name: &str| -> Result<Option<Format>> {
            match tracefs_root {
                Some(root) => tracefs::read_format(root, category, name),
                None => Ok(None),
            }
        };
        Ok(Self {
            netdev,
            netdev_error,
            kfree_skb: read("skb", "kfree_skb")?.and_then(|f| {
                let l = KfreeSkbLayout {
                    skbaddr: off(&f, "skbaddr"),
                    protocol: off(&f, "protocol"),
                    reason: off(&f, "reason"),
                };
                required(&[l.skbaddr, l.protocol]).then_some(l)
            }),
            neigh_update: read("neigh", "neigh_update")?.as_ref().and_then(neigh),
            neigh_create: read("neigh", "neigh_create")?.as_ref().and_then(neigh),
            neigh_send_done: read("neigh", "neigh_event_send_done")?.as_ref().and_then(neigh),
            neigh_cleanup: read("neigh", "neigh_cleanup_and_release")?.as_ref().and_then(neigh),
            mlme_rx: read("cfg80211", "cfg80211_rx_mlme_mgmt")?.as_ref().and_then(mlme),
            mlme_tx: read("cfg80211", "cfg80211_tx_mlme_mgmt")?.as_ref().and_then(mlme),
            cqm_rssi: read("cfg80211", "cfg80211_cqm_rssi_notify")?.and_then(|f| {
                let l = CqmRssiLayout {
                    ifindex: off(&f, "ifindex"),
                    rssi_event: off(&f, "rssi_event"),
                    rssi_level: off(&f, "rssi_level"),
                };
                required(&[l.ifindex, l.rssi_event]).then_some(l)
            }),
            beacon_loss: read("mac80211", "api_beacon_loss")?.as_ref().and_then(vif),
            connection_loss: read("mac80211", "api_connection_loss")?.as_ref().and_then(vif),
            cqm_beacon_loss: read("mac80211", "api_cqm_beacon_loss_notify")?.as_ref().and_then(vif),
            sta_state: read("mac80211", "drv_sta_state")?.and_then(|f| {
                let l = StaStateLayout {
                    vif_name: off(&f, "vif_name"),
                    sta_addr: off(&f, "sta_addr"),
                    new_state: off(&f, "new_state"),
                };
                required(&[l.vif_name, l.sta_addr, l.new_state]).then_some(l)
            }),
        })
    }

    /// Whether the tracepoint behind `program` exists with the fields the program needs.
    pub fn has_tracepoint_layout(&self, program: &str) -> bool {
        match program {
            "roam_kfree_skb" => self.kfree_skb.is_some(),
            "roam_neigh_update" => self.neigh_update.is_some(),
            "roam_neigh_create" => self.neigh_create.is_some(),
            "roam_neigh_send_done" => self.neigh_send_done.is_some(),
            "roam_neigh_cleanup" => self.neigh_cleanup.is_some(),
            "roam_mlme_rx" => self.mlme_rx.is_some(),
            "roam_mlme_tx" => self.mlme_tx.is_some(),
            "roam_cqm_rssi" => self.cqm_rssi.is_some(),
            "roam_beacon_loss" => self.beacon_loss.is_some(),
            "roam_connection_loss" => self.connection_loss.is_some(),
            "roam_cqm_beacon_loss" => self.cqm_beacon_loss.is_some(),
            "roam_sta_state" => self.sta_state.is_some(),
            _ => true,
        }
    }

    /// Sets every resolved layout as a global of the object being loaded.
    pub fn apply<'a>(&'a self, loader: &mut aya::EbpfLoader<'a>) {
        macro_rules! set {
            ($global:literal, $value:expr) => {
                if let Some(v) = $value.as_ref() {
                    loader.override_global($global, v, true);
                }
            };
        }
        set!("NETDEV_LAYOUT", self.netdev);
        set!("KFREE_SKB_LAYOUT", self.kfree_skb);
        set!("NEIGH_UPDATE_LAYOUT", self.neigh_update);
        set!("NEIGH_CREATE_LAYOUT", self.neigh_create);
        set!("NEIGH_SEND_DONE_LAYOUT", self.neigh_send_done);
        set!("NEIGH_CLEANUP_LAYOUT", self.neigh_cleanup);
        set!("MLME_RX_LAYOUT", self.mlme_rx);
        set!("MLME_TX_LAYOUT", self.mlme_tx);
        set!("CQM_RSSI_LAYOUT", self.cqm_rssi);
        set!("BEACON_LOSS_LAYOUT", self.beacon_loss);
        set!("CONNECTION_LOSS_LAYOUT", self.connection_loss);
        set!("CQM_BEACON_LOSS_LAYOUT", self.cqm_beacon_loss);
        set!("STA_STATE_LAYOUT", self.sta_state);
    }
}
