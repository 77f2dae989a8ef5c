//! Wireless interfaces as cfg80211 sees them (NL80211_CMD_GET_INTERFACE).

use roam_common::MacAddr;
use std::fmt;

use wl_nl80211::{Nl80211Attr, Nl80211Features, Nl80211InterfaceType, Nl80211Message};

use super::client::{iface_label, interface_name, Nl80211};
use super::{
    error::{Nl80211Error, Op, Result},
    messages,
};

/// The interface types roam tells apart (nl80211_iftype).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IfType {
    Station,
    Ap,
    Monitor,
    Adhoc,
    MeshPoint,
    P2pClient,
    P2pGo,
    P2pDevice,
    /// Any other nl80211_iftype value (AP_VLAN, WDS, OCB, NAN, ...).
    Other(u32),
}

impl From<Nl80211InterfaceType> for IfType {
    fn from(t: Nl80211InterfaceType) -> Self {
        match t {
            Nl80211InterfaceType::Station => IfType::Station,
            Nl80211InterfaceType::Ap => IfType::Ap,
            Nl80211InterfaceType::Monitor => IfType::Monitor,
            Nl80211InterfaceType::Adhoc => IfType::Adhoc,
            Nl80211InterfaceType::MeshPoint => IfType::MeshPoint,
            Nl80211InterfaceType::P2pClient => IfType::P2pClient,
            Nl80211InterfaceType::P2pGo => IfType::P2pGo,
            Nl80211InterfaceType::P2pDevice => IfType::P2pDevice,
            other => IfType::Other(u32::from(other)),
        }
    }
}

impl fmt::Display for IfType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The words `iw dev` prints.
        match self {
            IfType::Station => f.write_str("managed"),
            IfType::Ap => f.write_str("AP"),
            IfType::Monitor => f.write_str("monitor"),
            IfType::Adhoc => f.write_str("IBSS"),
            IfType::MeshPoint => f.write_str("mesh point"),
            IfType::P2pClient => f.write_str("P2P-client"),
            IfType::P2pGo => f.write_str("P2P-GO"),
            IfType::P2pDevice => f.write_str("P2P-device"),
            IfType::Other(n) => write!(f, "type {n}"),
        }
    }
}

/// A network interface managed by cfg80211.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WirelessIface {
    pub ifindex: u32,
    pub name: String,
    /// The radio (`phy#N` in `iw dev`).
    pub wiphy: u32,
    /// cfg80211's wireless device id: unique for the boot, never reused.
    pub wdev: u64,
    pub mac: MacAddr,
    pub iftype: IfType,
    /// The SSID of the network a station is connected to.
    pub ssid: Option<Vec<u8>>,
    /// The operating channel's frequency, when the interface has one.
    pub freq_mhz: Option<u32>,
}

impl WirelessIface {
    /// Reads a GET_INTERFACE (or NEW_INTERFACE) reply. Pure. The error names
    /// the missing attribute.
    pub(crate) fn from_attrs(attrs: &[Nl80211Attr]) -> std::result::Result<Self, String> {
        let mut ifindex = None;
        let mut name = None;
        let mut wiphy = None;
        let mut wdev = None;
        let mut mac = None;
        let mut iftype = None;
        let mut ssid = None;
        let mut freq_mhz = None;
        for attr in attrs {
            match attr {
                Nl80211Attr::IfIndex(v) => ifindex = Some(*v),
                Nl80211Attr::IfName(v) => name = Some(v.clone()),
                Nl80211Attr::Wiphy(v) => wiphy = Some(*v),
                Nl80211Attr::Wdev(v) => wdev = Some(*v),
                Nl80211Attr::Mac(v) => mac = Some(*v),
                Nl80211Attr::IfType(v) => iftype = Some(IfType::from(*v)),
                // The crate stores the octets raw and adds a string view;
                // only the raw form is exact.
                Nl80211Attr::SsidRaw(v) => ssid = Some(v.clone()),
                Nl80211Attr::WiphyFreq(v) => freq_mhz = Some(*v),
                _ => {}
            }
        }
        let need = |what: &str| format!("no NL80211_ATTR_{what} in the interface description");
        Ok(WirelessIface {
            ifindex: ifindex.ok_or_else(|| need("IFINDEX"))?,
            name: name.ok_or_else(|| need("IFNAME"))?,
            wiphy: wiphy.ok_or_else(|| need("WIPHY"))?,
            wdev: wdev.ok_or_else(|| need("WDEV"))?,
            mac: MacAddr(mac.ok_or_else(|| need("MAC"))?),
            iftype: iftype.ok_or_else(|| need("IFTYPE"))?,
            ssid,
            freq_mhz,
        })
    }

    pub(crate) fn from_message(message: &Nl80211Message, context: &str) -> Result<Self> {
        Self::from_attrs(&message.attributes)
            .map_err(|detail| Nl80211Error::protocol(context, detail))
    }
}

impl Nl80211 {
    /// The wireless interface with this index; [`Nl80211Error::NotWireless`]
    /// when it is not one, [`Nl80211Error::NoSuchInterface`] when there is
    /// no such interface at all.
    pub async fn interface(&self, ifindex: u32) -> Result<WirelessIface> {
        let label = iface_label(ifindex);
        self.interface_labelled(ifindex, &label).await
    }

    /// The wireless interface with this name.
    pub async fn interface_by_name(&self, name: &str) -> Result<WirelessIface> {
        let ifindex = nix::net::if_::if_nametoindex(name)
            .map_err(|_| Nl80211Error::NoSuchInterface { iface: name.to_owned() })?;
        self.interface_labelled(ifindex, name).await
    }

    /// Whether radio `wiphy`'s driver reports the 802.11 acknowledgement of frames sent from a
    /// socket that asks (`SO_WIFI_STATUS`; NL80211_FEATURE_SK_TX_STATUS in its features).
    pub async fn reports_tx_status(&self, wiphy: u32) -> Result<bool> {
        let label = format!("phy#{wiphy}");
        let replies = self.dump(messages::get_wiphy(wiphy), Op::GetWiphy, &label).await?;
        Ok(replies.messages.iter().flat_map(|m| &m.attributes).any(|attr| {
            matches!(attr, Nl80211Attr::Features(f) if f.contains(Nl80211Features::SkTxStatus))
        }))
    }

    async fn interface_labelled(&self, ifindex: u32, label: &str) -> Result<WirelessIface> {
        let replies =
            match self.request(messages::get_interface(ifindex), Op::GetInterface, label).await {
                Ok(replies) => replies,
                // ENODEV for both "not wireless" and "no such index": tell which.
                Err(Nl80211Error::NotWireless { iface }) if interface_name(ifindex).is_none() => {
                    return Err(Nl80211Error::NoSuchInterface { iface });
                }
                Err(e) => return Err(e),
            };
        let context = format!("reading the description of interface {label}");
        let reply = replies.into_single().map_err(|f| f.into_error(Op::GetInterface, label))?;
        WirelessIface::from_message(&reply, &context)
    }
}

#[cfg(test)]
mod tests {
    use wl_nl80211::packet_core::{Emitable, ParseableParametrized};
    use wl_nl80211::packet_generic::GenlHeader;
    use wl_nl80211::Nl80211Command;

    use super::*;

    fn station_attrs() -> Vec<Nl80211Attr> {
        vec![
            Nl80211Attr::IfIndex(4),
            Nl80211Attr::IfName("wlan0".into()),
            Nl80211Attr::Wiphy(0),
            Nl80211Attr::IfType(Nl80211InterfaceType::Station),
            Nl80211Attr::Wdev(1),
            Nl80211Attr::Mac([2, 0, 0, 0, 0, 0]),
            Nl80211Attr::Generation(5),
            Nl80211Attr::Use4Addr(false),
            Nl80211Attr::WiphyFreq(2412),
            Nl80211Attr::SsidRaw(b"roam-open".to_vec()),
        ]
    }

    #[test]
    fn station_reply_gives_all_fields() {
        let iface = WirelessIface::from_attrs(&station_attrs()).unwrap();
        assert_eq!(
            iface,
            WirelessIface {
                ifindex: 4,
                name: "wlan0".into(),
                wiphy: 0,
                wdev: 1,
                mac: MacAddr([2, 0, 0, 0, 0, 0]),
                iftype: IfType::Station,
                ssid: Some(b"roam-open".to_vec()),
                freq_mhz: Some(2412),
            }
        );
    }

    #[test]
    fn kernel_format_round_trip() {
        // What the kernel sends is parsed by wl-nl80211 into SsidRaw plus a
        // string view; the reader must take the raw one.
        let message =
            Nl80211Message { cmd: Nl80211Command::NewInterface, attributes: station_attrs() };
        let mut buf = vec![0u8; message.buffer_len()];
        message.emit(&mut buf);
        let header = GenlHeader { cmd: message.cmd.into(), version: 1 };
        let parsed = Nl80211Message::parse_with_param(&buf[..], header).unwrap();
        let iface = WirelessIface::from_message(&parsed, "test").unwrap();
        assert_eq!(iface.ssid.as_deref(), Some(&b"roam-open"[..]));
        assert_eq!(iface.iftype, IfType::Station);
    }

    #[test]
    fn disconnected_or_idle_interfaces_have_no_ssid_or_freq() {
        let attrs: Vec<_> = station_attrs()
            .into_iter()
            .filter(|a| !matches!(a, Nl80211Attr::SsidRaw(_) | Nl80211Attr::WiphyFreq(_)))
            .collect();
        let iface = WirelessIface::from_attrs(&attrs).unwrap();
        assert_eq!((iface.ssid, iface.freq_mhz), (None, None));
    }

    #[test]
    fn missing_attribute_is_named() {
        let attrs: Vec<_> =
            station_attrs().into_iter().filter(|a| !matches!(a, Nl80211Attr::Wiphy(_))).collect();
        let err = WirelessIface::from_attrs(&attrs).unwrap_err();
        assert!(err.contains("NL80211_ATTR_WIPHY"), "{err}");
    }

    #[test]
    fn iftypes_map_and_print_like_iw() {
        assert_eq!(IfType::from(Nl80211InterfaceType::Monitor), IfType::Monitor);
        assert_eq!(IfType::from(Nl80211InterfaceType::Ocb), IfType::Other(11));
        assert_eq!(IfType::Station.to_string(), "managed");
        assert_eq!(IfType::Monitor.to_string(), "monitor");
    }
}
