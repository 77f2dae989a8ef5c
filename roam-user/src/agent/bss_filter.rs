//! The BSSes the station's network block allows: its own `bssid` (a pin the operator or the
//! connection manager set), `bssid_accept` and `bssid_ignore` (wpa_supplicant 2.10's names).
//! wpa_supplicant applies them when it picks a BSS itself; `ROAM <bssid>` does not, so roam
//! applies them to its candidates, and never moves a station where its configuration says no.

use std::str::FromStr;

use anyhow::{anyhow, Result};
use roam_common::MacAddr;

/// An address and the bits of it that count (`02:00:00:00:01:00/ff:ff:ff:ff:ff:00`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MacMask {
    addr: MacAddr,
    mask: MacAddr,
}

impl MacMask {
    fn matches(&self, bssid: MacAddr) -> bool {
        (0..6).all(|i| bssid.0[i] & self.mask.0[i] == self.addr.0[i] & self.mask.0[i])
    }
}

impl FromStr for MacMask {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> Result<Self> {
        let (addr, mask) = text.split_once('/').unwrap_or((text, "ff:ff:ff:ff:ff:ff"));
        let parse = |t: &str| t.parse::<MacAddr>().map_err(|e| anyhow!("{t:?}: {e}"));
        Ok(MacMask { addr: parse(addr)?, mask: parse(mask)? })
    }
}

/// What a network block allows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BssFilter {
    /// The block's own `bssid`: only that one.
    pub pinned: Option<MacAddr>,
    /// `bssid_accept`: only these, when any.
    pub accept: Vec<MacMask>,
    /// `bssid_ignore`: never these.
    pub ignore: Vec<MacMask>,
}

impl BssFilter {
    /// From the block's values as `GET_NETWORK` prints them (`None`: unset).
    pub fn parse(
        pinned: Option<MacAddr>,
        accept: Option<&str>,
        ignore: Option<&str>,
    ) -> Result<Self> {
        let list = |text: Option<&str>| -> Result<Vec<MacMask>> {
            text.unwrap_or_default().split_whitespace().map(str::parse).collect()
        };
        Ok(BssFilter { pinned, accept: list(accept)?, ignore: list(ignore)? })
    }

    pub fn admits(&self, bssid: MacAddr) -> bool {
        self.pinned.is_none_or(|p| p == bssid)
            && (self.accept.is_empty() || self.accept.iter().any(|m| m.matches(bssid)))
            && !self.ignore.iter().any(|m| m.matches(bssid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: MacAddr = MacAddr([2, 0, 0, 0, 0, 0]);
    const B: MacAddr = MacAddr([2, 0, 0, 0, 1, 0]);
    const C: MacAddr = MacAddr([2, 0, 0, 1, 1, 0]);

    #[test]
    fn an_unset_block_admits_every_bss() {
        let filter = BssFilter::parse(None, None, None).unwrap();
        assert!(filter.admits(A) && filter.admits(C));
    }

    #[test]
    fn the_blocks_lists_and_pin_are_applied() {
        let ignore = BssFilter::parse(None, None, Some("02:00:00:00:01:00")).unwrap();
        assert!(ignore.admits(A) && !ignore.admits(B));
        let accept =
            BssFilter::parse(None, Some("02:00:00:00:00:00/ff:ff:ff:ff:00:00"), None).unwrap();
        assert!(accept.admits(A) && accept.admits(B) && !accept.admits(C), "{accept:?}");
        let both = BssFilter::parse(
            None,
            Some("02:00:00:00:00:00/ff:ff:ff:ff:00:00"),
            Some("02:00:00:00:01:00"),
        )
        .unwrap();
        assert!(both.admits(A) && !both.admits(B));
        let pinned = BssFilter::parse(Some(B), None, None).unwrap();
        assert!(pinned.admits(B) && !pinned.admits(A));
    }

    #[test]
    fn a_value_roam_cannot_read_is_an_error() {
        let err = BssFilter::parse(None, Some("02:00:00:00:00:zz"), None).unwrap_err();
        assert!(err.to_string().contains("02:00:00:00:00:zz"), "{err}");
    }
}
