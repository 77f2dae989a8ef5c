//! Finding the nl80211 generic netlink family: its numeric id (assigned at
//! boot, different on every machine) and its multicast group ids ("scan",
//! "mlme", ...). Asked once per client, from the kernel's nlctrl family.
//!
//! Done here rather than through genetlink's built-in resolver because that
//! one hides the errno: we need ENOENT to say "is cfg80211 loaded?".

use std::collections::HashMap;

use wl_nl80211::packet_core::{NetlinkMessage, NLM_F_REQUEST};
use wl_nl80211::packet_generic::ctrl::nlas::{GenlCtrlAttrs, McastGrpAttrs};
use wl_nl80211::packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};
use wl_nl80211::packet_generic::GenlMessage;
use wl_nl80211::Nl80211Handle;

use super::error::{Nl80211Error, Op, Result};
use super::transport::{self, REQUEST_TIMEOUT};

pub(crate) const FAMILY_NAME: &str = "nl80211";

/// nl80211's multicast group for scan start/finish/abort events.
pub(crate) const GROUP_SCAN: &str = "scan";
/// nl80211's multicast group for connect/disconnect/deauth/... events.
pub(crate) const GROUP_MLME: &str = "mlme";

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Family {
    pub id: u16,
    pub groups: HashMap<String, u32>,
}

impl Family {
    pub(crate) fn group(&self, name: &str) -> Result<u32> {
        self.groups.get(name).copied().ok_or_else(|| {
            Nl80211Error::protocol(
                format!("joining the nl80211 {name:?} multicast group"),
                format!("the kernel's nl80211 has no such group (it has {:?})", self.groups.keys()),
            )
        })
    }
}

/// The family as described by a CTRL_CMD_GETFAMILY reply. `None` without a
/// family id, which the kernel always sends.
pub(crate) fn family_from_attrs(attrs: &[GenlCtrlAttrs]) -> Option<Family> {
    let mut id = None;
    let mut groups = HashMap::new();
    for attr in attrs {
        match attr {
            GenlCtrlAttrs::FamilyId(family_id) => id = Some(*family_id),
            GenlCtrlAttrs::McastGroups(list) => {
                for group in list {
                    let mut name = None;
                    let mut group_id = None;
                    for field in group {
                        match field {
                            McastGrpAttrs::Name(n) => name = Some(n.clone()),
                            McastGrpAttrs::Id(i) => group_id = Some(*i),
                        }
                    }
                    if let (Some(name), Some(group_id)) = (name, group_id) {
                        groups.insert(name, group_id);
                    }
                }
            }
            _ => {}
        }
    }
    Some(Family { id: id?, groups })
}

/// Asks nlctrl about nl80211 over the client's connection.
pub(crate) async fn resolve(handle: &Nl80211Handle) -> Result<Family> {
    let genl = GenlMessage::from_payload(GenlCtrl {
        cmd: GenlCtrlCmd::GetFamily,
        nlas: vec![GenlCtrlAttrs::FamilyName(FAMILY_NAME.to_owned())],
    });
    // nlctrl has the fixed id GENL_ID_CTRL, which GenlCtrl reports itself.
    let mut request = NetlinkMessage::from(genl);
    request.header.flags = NLM_F_REQUEST;
    let replies = transport::send(handle, request, REQUEST_TIMEOUT)
        .await
        .map_err(|failure| failure.into_error(Op::ResolveFamily, FAMILY_NAME))?;
    let reply = replies
        .into_single()
        .map_err(|failure| failure.into_error(Op::ResolveFamily, FAMILY_NAME))?;
    family_from_attrs(&reply.nlas).ok_or_else(|| {
        Nl80211Error::protocol("resolving the nl80211 family", "the reply has no family id")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(name: &str, id: u32) -> Vec<McastGrpAttrs> {
        vec![McastGrpAttrs::Id(id), McastGrpAttrs::Name(name.to_owned())]
    }

    #[test]
    fn reads_id_and_groups_in_any_order() {
        let attrs = vec![
            GenlCtrlAttrs::FamilyName("nl80211".into()),
            GenlCtrlAttrs::McastGroups(vec![
                group("config", 5),
                group("scan", 6),
                group("mlme", 8),
            ]),
            GenlCtrlAttrs::FamilyId(0x1c),
            GenlCtrlAttrs::Version(1),
        ];
        let family = family_from_attrs(&attrs).unwrap();
        assert_eq!(family.id, 0x1c);
        assert_eq!(family.group(GROUP_SCAN).unwrap(), 6);
        assert_eq!(family.group(GROUP_MLME).unwrap(), 8);
    }

    #[test]
    fn incomplete_groups_are_skipped() {
        let attrs = vec![
            GenlCtrlAttrs::FamilyId(30),
            GenlCtrlAttrs::McastGroups(vec![vec![McastGrpAttrs::Name("scan".into())]]),
        ];
        let family = family_from_attrs(&attrs).unwrap();
        assert!(family.groups.is_empty());
        let err = family.group(GROUP_SCAN).unwrap_err().to_string();
        assert!(err.contains("no such group"), "{err}");
    }

    #[test]
    fn no_family_id_is_no_family() {
        assert_eq!(family_from_attrs(&[GenlCtrlAttrs::FamilyName("nl80211".into())]), None);
    }
}
