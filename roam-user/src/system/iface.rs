//! What sysfs tells about a network interface: link type, 802.11-ness,
//! phy, mode and link state. Read-only file access, no netlink.

use std::fs;
use std::io;
use std::path::Path;

/// `ARPHRD_ETHER`: Ethernet, and also 802.11 interfaces in managed, AP,
/// mesh and P2P modes (mac80211 hands the stack Ethernet frames).
pub const ARPHRD_ETHER: u16 = 1;
/// `ARPHRD_IEEE80211_RADIOTAP`: 802.11 monitor interfaces (and `hwsim0`).
pub const ARPHRD_IEEE80211_RADIOTAP: u16 = 803;

/// Human name of an `ARPHRD_*` link type (`/sys/class/net/IF/type`).
pub fn link_type_name(arphrd: u16) -> &'static str {
    match arphrd {
        ARPHRD_ETHER => "ethernet",
        512 => "ppp",
        768 => "ipip tunnel",
        769 => "ip6 tunnel",
        772 => "loopback",
        776 => "sit tunnel",
        778 => "gre tunnel",
        801 => "802.11",
        802 => "802.11 prism monitor",
        ARPHRD_IEEE80211_RADIOTAP => "802.11 radiotap monitor",
        823 => "ip6gre tunnel",
        65534 => "none (tun, wireguard)",
        _ => "other",
    }
}

/// An interface name must be a single path component no longer than
/// `IFNAMSIZ - 1`; anything else could make us read outside sysfs.
pub fn is_valid_name(iface: &str) -> bool {
    !iface.is_empty()
        && iface.len() < 16
        && iface != "."
        && iface != ".."
        && !iface.contains(['/', '\0'])
        && !iface.chars().any(char::is_whitespace)
}

/// cfg80211 links every 802.11 netdev to its wiphy through `phy80211`.
pub fn is_cfg80211(iface_dir: &Path) -> bool {
    iface_dir.join("phy80211").exists()
}

/// Old wireless-extensions drivers have `wireless/` but no `phy80211`.
pub fn is_wext_only(iface_dir: &Path) -> bool {
    !is_cfg80211(iface_dir) && iface_dir.join("wireless").exists()
}

/// Names of the interfaces in `sys_class_net` that are wireless, sorted.
pub fn wireless_interfaces(sys_class_net: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(sys_class_net) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|entry| {
            let dir = entry.path();
            is_cfg80211(&dir) || dir.join("wireless").exists()
        })
        .filter_map(|entry| entry.file_name().into_string().ok())
        .collect();
    names.sort();
    names
}

/// Entries of `/run/netns` (named network namespaces), sorted.
pub fn named_netns(run_netns: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(run_netns) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().into_string().ok())
        .collect();
    names.sort();
    names
}

/// `ARPHRD_*` from `type`.
pub fn link_type(iface_dir: &Path) -> io::Result<u16> {
    let text = fs::read_to_string(iface_dir.join("type"))?;
    text.trim().parse().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("type is {:?}, not a number", text.trim()),
        )
    })
}

/// `DEVTYPE=` of `uevent` (`wlan`, `bridge`, `vlan`, ...); plain Ethernet
/// and loopback have none.
pub fn devtype(iface_dir: &Path) -> Option<String> {
    let uevent = fs::read_to_string(iface_dir.join("uevent")).ok()?;
    uevent.lines().find_map(|line| line.strip_prefix("DEVTYPE=")).map(str::to_owned)
}

/// The wiphy name (`phy0`): from `phy80211/name`, else the basename of the
/// `phy80211` symlink (`../../ieee80211/phy0`).
pub fn phy_name(iface_dir: &Path) -> Option<String> {
    let link = iface_dir.join("phy80211");
    if let Ok(name) = fs::read_to_string(link.join("name")) {
        let name = name.trim();
        if !name.is_empty() {
            return Some(name.to_owned());
        }
    }
    let target = fs::read_link(&link).ok()?;
    Some(target.file_name()?.to_str()?.to_owned())
}

/// `operstate`: `up`, `dormant`, `down`, `lowerlayerdown`, `unknown`, ...
pub fn operstate(iface_dir: &Path) -> io::Result<String> {
    Ok(fs::read_to_string(iface_dir.join("operstate"))?.trim().to_owned())
}

/// Whether `IFF_UP` is set in `flags` (`0x1003`): the administrative state,
/// which `operstate` alone does not tell apart from "no carrier".
pub fn is_admin_up(iface_dir: &Path) -> io::Result<bool> {
    const IFF_UP: u32 = 0x1;
    let text = fs::read_to_string(iface_dir.join("flags"))?;
    let hex = text.trim().trim_start_matches("0x");
    let flags = u32::from_str_radix(hex, 16).map_err(|_| {
        io::Error::new(io::ErrorKind::InvalidData, format!("flags is {:?}, not hex", text.trim()))
    })?;
    Ok(flags & IFF_UP != 0)
}

/// The 802.11 mode of an interface, as far as it can be known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterfaceMode {
    /// `ARPHRD_ETHER` with `DEVTYPE=wlan`: an 802.11 data interface. sysfs
    /// cannot tell a station (managed) from an AP, mesh point or P2P
    /// interface; nl80211's `NL80211_ATTR_IFTYPE` can.
    StationOrAp,
    /// `ARPHRD_IEEE80211_RADIOTAP`: monitor mode.
    Monitor,
    /// Not an 802.11 data interface.
    Other { arphrd: u16, devtype: Option<String> },
}

/// Best mode guess from sysfs. Kept behind this one function so that an
/// nl80211 `GET_INTERFACE` query can replace it with the exact iftype.
pub fn detect_mode(iface_dir: &Path) -> io::Result<InterfaceMode> {
    let arphrd = link_type(iface_dir)?;
    let devtype = devtype(iface_dir);
    Ok(match arphrd {
        ARPHRD_IEEE80211_RADIOTAP => InterfaceMode::Monitor,
        ARPHRD_ETHER if devtype.as_deref() == Some("wlan") => InterfaceMode::StationOrAp,
        _ => InterfaceMode::Other { arphrd, devtype },
    })
}

/// `type 1: ethernet` or `type 1: ethernet, devtype bridge`.
pub fn describe_link_type(arphrd: u16, devtype: Option<&str>) -> String {
    let name = link_type_name(arphrd);
    match devtype {
        Some(devtype) => format!("type {arphrd}: {name}, devtype {devtype}"),
        None => format!("type {arphrd}: {name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_type_names() {
        assert_eq!(link_type_name(1), "ethernet");
        assert_eq!(link_type_name(772), "loopback");
        assert_eq!(link_type_name(803), "802.11 radiotap monitor");
        assert_eq!(link_type_name(4242), "other");
        assert_eq!(describe_link_type(1, None), "type 1: ethernet");
        assert_eq!(describe_link_type(1, Some("bridge")), "type 1: ethernet, devtype bridge");
    }

    #[test]
    fn interface_names() {
        for good in ["wlan0", "wlp0s20f3", "wlx00c0ca123456"] {
            assert!(is_valid_name(good), "{good}");
        }
        for bad in ["", ".", "..", "../../etc", "a/b", "wlan 0", "sixteen-chars-xx"] {
            assert!(!is_valid_name(bad), "{bad:?}");
        }
    }
}
