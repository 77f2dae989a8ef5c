//! A 48-bit IEEE 802 MAC address (a BSSID or an interface address).

use std::fmt;
use std::str::FromStr;

/// A MAC address, written the way wpa_supplicant and `iw` write it: six
/// lowercase hex octets separated by colons (`02:00:00:00:01:00`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    pub const fn octets(self) -> [u8; 6] {
        self.0
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

// Debug prints the readable form: test failures and logs show
// `MacAddr(02:00:00:00:01:00)` instead of a decimal byte array.
impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MacAddr({self})")
    }
}

/// The input was not six colon-separated pairs of hex digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseMacAddrError {
    input: String,
}

impl fmt::Display for ParseMacAddrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid MAC address {:?}: expected six colon-separated hex octets such as 02:00:00:00:01:00",
            self.input
        )
    }
}

impl std::error::Error for ParseMacAddrError {}

impl FromStr for MacAddr {
    type Err = ParseMacAddrError;

    /// Accepts exactly `xx:xx:xx:xx:xx:xx` (either case). Shorter octets
    /// (`2:0:0:0:1:0`) and other separators are rejected on purpose: every
    /// producer we parse (wpa_supplicant, sysfs, nl80211 tools) prints the
    /// canonical form, so anything else means we are parsing the wrong field.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || ParseMacAddrError { input: s.to_owned() };
        let mut octets = [0u8; 6];
        let mut groups = s.split(':');
        for octet in &mut octets {
            let group = groups.next().ok_or_else(invalid)?;
            if group.len() != 2 || !group.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(invalid());
            }
            *octet = u8::from_str_radix(group, 16).map_err(|_| invalid())?;
        }
        if groups.next().is_some() {
            return Err(invalid());
        }
        Ok(MacAddr(octets))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            let err = bad.parse::<MacAddr>().unwrap_err();
            assert!(err.to_string().contains("invalid MAC address"), "{bad:?}");
        }
    }
}
