//! A 48-bit IEEE 802 MAC address: a BSSID, a station's or an interface's address.
//!
//! One type for the kernel maps, the agent and the JSON they produce. `#[repr(transparent)]`
//! over the six octets, so it sits in `#[repr(C)]` map and event types exactly as the bytes
//! on the air do.

use core::{fmt, str::FromStr};

/// A MAC address. Written the way wpa_supplicant, `iw` and sysfs write it: six lowercase hex
/// octets separated by colons (`02:00:00:00:01:00`).
#[repr(transparent)]
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// The all-zero address: "not set" in configuration maps.
    pub const UNSET: MacAddr = MacAddr([0; 6]);
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);

    pub const fn octets(self) -> [u8; 6] {
        self.0
    }

    pub const fn is_unset(&self) -> bool {
        let o = self.0;
        o[0] == 0 && o[1] == 0 && o[2] == 0 && o[3] == 0 && o[4] == 0 && o[5] == 0
    }

    /// Group addresses (broadcast included) have the I/G bit set.
    pub const fn is_multicast(&self) -> bool {
        self.0[0] & 1 != 0
    }
}

impl AsRef<[u8]> for MacAddr {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl PartialEq<[u8; 6]> for MacAddr {
    fn eq(&self, octets: &[u8; 6]) -> bool {
        self.0 == *octets
    }
}

impl TryFrom<&[u8]> for MacAddr {
    type Error = core::array::TryFromSliceError;

    /// Six bytes of a frame or a netlink attribute; anything longer or shorter is refused.
    fn try_from(bytes: &[u8]) -> Result<Self, Self::Error> {
        bytes.try_into().map(MacAddr)
    }
}

impl From<[u8; 6]> for MacAddr {
    fn from(octets: [u8; 6]) -> Self {
        MacAddr(octets)
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

// Debug prints the readable form: test failures and logs show `MacAddr(02:00:00:00:01:00)`
// instead of a decimal byte array.
impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MacAddr({self})")
    }
}

/// The input was not six colon-separated pairs of hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseMacAddrError;

impl fmt::Display for ParseMacAddrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "invalid MAC address: expected six colon-separated hex octets such as \
             02:00:00:00:01:00",
        )
    }
}

impl core::error::Error for ParseMacAddrError {}

impl FromStr for MacAddr {
    type Err = ParseMacAddrError;

    /// Accepts exactly `xx:xx:xx:xx:xx:xx` (either case). Shorter octets (`2:0:0:0:1:0`) and
    /// other separators are rejected on purpose: every producer roam parses (wpa_supplicant,
    /// sysfs, nl80211 tools, its own JSON) prints the canonical form, so anything else means
    /// the wrong field is being parsed.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut octets = [0u8; 6];
        let mut groups = s.split(':');
        for octet in &mut octets {
            let group = groups.next().ok_or(ParseMacAddrError)?;
            if group.len() != 2 || !group.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(ParseMacAddrError);
            }
            *octet = u8::from_str_radix(group, 16).map_err(|_| ParseMacAddrError)?;
        }
        if groups.next().is_some() {
            return Err(ParseMacAddrError);
        }
        Ok(MacAddr(octets))
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for MacAddr {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for MacAddr {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = MacAddr;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a MAC address such as \"02:00:00:00:01:00\"")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<MacAddr, E> {
                s.parse().map_err(|_| E::invalid_value(serde::de::Unexpected::Str(s), &self))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::{format, string::ToString};

    #[test]
    fn parses_and_prints_lowercase() {
        let mac: MacAddr = "02:00:00:00:01:0A".parse().unwrap();
        assert_eq!(mac.octets(), [0x02, 0, 0, 0, 0x01, 0x0a]);
        assert_eq!(mac.to_string(), "02:00:00:00:01:0a");
        assert_eq!(format!("{mac:?}"), "MacAddr(02:00:00:00:01:0a)");
    }

    #[test]
    fn round_trips_through_display() {
        let mac = MacAddr([0xde, 0xad, 0xbe, 0xef, 0x00, 0xff]);
        assert_eq!(mac.to_string().parse::<MacAddr>(), Ok(mac));
    }

    #[test]
    fn rejects_malformed_addresses() {
        for bad in [
            "",
            "02:00:00:00:01",
            "02:00:00:00:01:00:00",
            "02-00-00-00-01-00",
            "2:0:0:0:1:0",
            "02:00:00:00:01:0g",
            "02:00:00:00:01:+1",
            "02:00:00:00:01:00 ",
        ] {
            assert_eq!(bad.parse::<MacAddr>(), Err(ParseMacAddrError), "{bad:?}");
        }
    }

    #[test]
    fn classifies() {
        assert!(MacAddr::UNSET.is_unset());
        assert!(!MacAddr([2, 0, 0, 0, 0, 1]).is_unset());
        assert!(MacAddr::BROADCAST.is_multicast());
        assert!(MacAddr([0x33, 0x33, 0, 0, 0, 1]).is_multicast());
        assert!(!MacAddr([2, 0, 0, 0, 0, 1]).is_multicast());
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serializes_as_a_string() {
        let mac = MacAddr([2, 0, 0, 0, 1, 0]);
        let json = serde_json::to_string(&mac).unwrap();
        assert_eq!(json, "\"02:00:00:00:01:00\"");
        assert_eq!(serde_json::from_str::<MacAddr>(&json).unwrap(), mac);
        let err = serde_json::from_str::<MacAddr>("\"02:00\"").unwrap_err().to_string();
        assert!(err.contains("a MAC address such as"), "{err}");
    }
}
