//! 802.11 information elements of a beacon or probe response: the few
//! facts roam needs from them (the SSID, whether the network uses RSN).
//!
//! A deliberately small and lenient walker: the bytes come from whatever an
//! AP put on the air, so a truncated element ends the walk instead of
//! failing the whole BSS.

/// Element ID of the SSID (IEEE 802.11-2020 9.4.2.2).
pub const ELEMENT_SSID: u8 = 0;
/// Element ID of the RSN element (9.4.2.24): present on WPA2/WPA3 networks.
pub const ELEMENT_RSN: u8 = 48;

/// Iterator over `(element id, body)` of an IE buffer.
#[derive(Debug, Clone)]
pub struct Elements<'a> {
    rest: &'a [u8],
}

/// Walks the elements of `ies`, stopping at the first truncated one.
pub fn elements(ies: &[u8]) -> Elements<'_> {
    Elements { rest: ies }
}

impl<'a> Iterator for Elements<'a> {
    type Item = (u8, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let [id, len, tail @ ..] = self.rest else {
            self.rest = &[];
            return None;
        };
        let len = usize::from(*len);
        if tail.len() < len {
            // A length running past the buffer: nothing after it can be trusted.
            self.rest = &[];
            return None;
        }
        let (body, rest) = tail.split_at(len);
        self.rest = rest;
        Some((*id, body))
    }
}

/// What roam reads from a BSS's elements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BssElements {
    /// Body of the first SSID element. Hidden networks advertise an empty or
    /// zero-filled SSID in beacons; `None` when the element is missing.
    pub ssid: Option<Vec<u8>>,
    /// An RSN element is present (a WPA2/WPA3 network, not an open one).
    pub has_rsn: bool,
}

pub fn parse_bss_elements(ies: &[u8]) -> BssElements {
    let mut found = BssElements::default();
    for (id, body) in elements(ies) {
        match id {
            ELEMENT_SSID if found.ssid.is_none() => found.ssid = Some(body.to_vec()),
            ELEMENT_RSN => found.has_rsn = true,
            _ => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Supported rates, then DS parameter set: elements roam ignores.
    const RATES: &[u8] = &[1, 4, 0x82, 0x84, 0x8b, 0x96];
    const DS: &[u8] = &[3, 1, 6];
    /// A minimal RSN element: version 1, CCMP group, one CCMP pairwise, one PSK AKM.
    const RSN: &[u8] = &[
        48, 20, 1, 0, 0x00, 0x0f, 0xac, 4, 1, 0, 0x00, 0x0f, 0xac, 4, 1, 0, 0x00, 0x0f, 0xac, 2, 0,
        0,
    ];

    fn ies(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    #[test]
    fn open_network_has_ssid_and_no_rsn() {
        let buf = ies(&[&[0, 4], b"open", RATES, DS]);
        assert_eq!(
            parse_bss_elements(&buf),
            BssElements { ssid: Some(b"open".to_vec()), has_rsn: false }
        );
    }

    #[test]
    fn protected_network_has_rsn() {
        let buf = ies(&[&[0, 4], b"wpa2", RATES, RSN, DS]);
        let found = parse_bss_elements(&buf);
        assert_eq!(found.ssid.as_deref(), Some(&b"wpa2"[..]));
        assert!(found.has_rsn);
    }

    #[test]
    fn hidden_ssid_is_empty_not_missing() {
        let found = parse_bss_elements(&ies(&[&[0, 0], RATES]));
        assert_eq!(found.ssid, Some(Vec::new()));
        assert_eq!(parse_bss_elements(RATES).ssid, None);
    }

    #[test]
    fn first_ssid_wins() {
        let buf = ies(&[&[0, 1], b"a", &[0, 1], b"b"]);
        assert_eq!(parse_bss_elements(&buf).ssid, Some(b"a".to_vec()));
    }

    #[test]
    fn ssid_bytes_are_kept_verbatim() {
        let buf = ies(&[&[0, 3, 0xff, 0x00, 0xc3]]);
        assert_eq!(parse_bss_elements(&buf).ssid, Some(vec![0xff, 0x00, 0xc3]));
    }

    #[test]
    fn truncated_element_ends_the_walk_without_panic() {
        // The SSID survives; the RSN element claims 20 bytes but has 3.
        let buf = ies(&[&[0, 2], b"ok", &[48, 20, 1, 0, 0]]);
        assert_eq!(
            parse_bss_elements(&buf),
            BssElements { ssid: Some(b"ok".to_vec()), has_rsn: false }
        );
        assert_eq!(elements(&[0]).count(), 0);
        assert_eq!(elements(&[]).count(), 0);
    }

    #[test]
    fn walker_yields_ids_and_bodies() {
        let buf = ies(&[&[0, 1], b"x", DS]);
        let all: Vec<(u8, &[u8])> = elements(&buf).collect();
        assert_eq!(all, vec![(0, &b"x"[..]), (3, &[6u8][..])]);
    }
}
