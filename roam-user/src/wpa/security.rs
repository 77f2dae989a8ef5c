//! wpa_supplicant's text for security, as roam-common's types: a BSS's flags
//! (`[WPA2-PSK+SAE-CCMP][ESS]`, written by `wpa_supplicant_ie_txt`) and `STATUS`'s `key_mgmt`
//! and `pairwise_cipher` (written by `wpa_key_mgmt_txt` and `wpa_cipher_txt`).

use roam_common::policy::security::{
    Akm, AkmSet, BssSecurity, Cipher, CipherSet, NetworkSecurity, Proto, Suites,
};

/// What a BSS advertises, from its flags.
pub fn bss_security(flags: &[String]) -> BssSecurity {
    let mut security = BssSecurity::default();
    for flag in flags {
        if flag == "WEP" {
            security.wep = true;
        } else if let Some(rest) = flag.strip_prefix("WPA2-").or_else(|| flag.strip_prefix("RSN-"))
        {
            security.rsn = Some(suites(rest));
        } else if let Some(rest) = flag.strip_prefix("WPA-") {
            security.wpa = Some(suites(rest));
        }
    }
    security
}

/// `PSK+SAE-CCMP-preauth`: the AKMs joined by `+`, a dash, the ciphers joined by `+`. Both
/// halves can hold dashes themselves (`PSK-SHA256`, `CCMP-256`): the split is the first dash
/// after which everything reads as ciphers.
fn suites(text: &str) -> Suites {
    let text = text.strip_suffix("-preauth").unwrap_or(text);
    for (at, _) in text.match_indices('-') {
        let (akms, ciphers) = (&text[..at], &text[at + 1..]);
        if let Some(pairwise) = cipher_set(ciphers) {
            let akms = akms.split('+').filter_map(flag_akm).fold(AkmSet::default(), AkmSet::with);
            return Suites { akms, pairwise };
        }
    }
    // `?` (an element wpa_supplicant could not parse): offers nothing roam can match.
    Suites::default()
}

fn cipher_set(text: &str) -> Option<CipherSet> {
    text.split('+').try_fold(CipherSet::default(), |set, name| match name {
        // Offered, but never what a protected link negotiates.
        "NONE" | "WEP40" | "WEP104" => Some(set),
        other => Some(set.with(cipher(other)?)),
    })
}

fn cipher(name: &str) -> Option<Cipher> {
    Some(match name {
        "TKIP" => Cipher::Tkip,
        "CCMP" => Cipher::Ccmp,
        "CCMP-256" => Cipher::Ccmp256,
        "GCMP" => Cipher::Gcmp,
        "GCMP-256" => Cipher::Gcmp256,
        _ => return None,
    })
}

/// An AKM as the flags name it.
fn flag_akm(name: &str) -> Option<Akm> {
    Some(match name {
        "EAP" => Akm::Eap,
        "PSK" => Akm::Psk,
        "FT/EAP" => Akm::FtEap,
        "FT/PSK" => Akm::FtPsk,
        "EAP-SHA256" => Akm::EapSha256,
        "PSK-SHA256" => Akm::PskSha256,
        "SAE" => Akm::Sae,
        "FT/SAE" => Akm::FtSae,
        "SAE-EXT-KEY" => Akm::SaeExtKey,
        "FT/SAE-EXT-KEY" => Akm::FtSaeExtKey,
        "EAP-SUITE-B" => Akm::EapSuiteB,
        "EAP-SUITE-B-192" => Akm::EapSuiteB192,
        "EAP-SHA384" => Akm::EapSha384,
        "FT/EAP-SHA384" => Akm::FtEapSha384,
        "FILS-SHA256" => Akm::FilsSha256,
        "FILS-SHA384" => Akm::FilsSha384,
        "FT-FILS-SHA256" => Akm::FtFilsSha256,
        "FT-FILS-SHA384" => Akm::FtFilsSha384,
        "OWE" => Akm::Owe,
        "DPP" => Akm::Dpp,
        "OSEN" => Akm::Osen,
        _ => return None,
    })
}

/// An AKM as `STATUS` names it, with the element it comes from.
fn status_akm(name: &str) -> Option<(Proto, Akm)> {
    use Proto::{Rsn, Wpa};
    Some(match name {
        "WPA-PSK" => (Wpa, Akm::Psk),
        "WPA/IEEE 802.1X/EAP" => (Wpa, Akm::Eap),
        "WPA2-PSK" => (Rsn, Akm::Psk),
        "WPA2/IEEE 802.1X/EAP" => (Rsn, Akm::Eap),
        "FT-PSK" => (Rsn, Akm::FtPsk),
        "FT-EAP" => (Rsn, Akm::FtEap),
        "FT-EAP-SHA384" => (Rsn, Akm::FtEapSha384),
        "WPA2-PSK-SHA256" => (Rsn, Akm::PskSha256),
        "WPA2-EAP-SHA256" => (Rsn, Akm::EapSha256),
        "SAE" => (Rsn, Akm::Sae),
        "FT-SAE" => (Rsn, Akm::FtSae),
        "SAE-EXT-KEY" => (Rsn, Akm::SaeExtKey),
        "FT-SAE-EXT-KEY" => (Rsn, Akm::FtSaeExtKey),
        "WPA2-EAP-SUITE-B" => (Rsn, Akm::EapSuiteB),
        "WPA2-EAP-SUITE-B-192" => (Rsn, Akm::EapSuiteB192),
        "EAP-SHA384" => (Rsn, Akm::EapSha384),
        "FILS-SHA256" => (Rsn, Akm::FilsSha256),
        "FILS-SHA384" => (Rsn, Akm::FilsSha384),
        "FT-FILS-SHA256" => (Rsn, Akm::FtFilsSha256),
        "FT-FILS-SHA384" => (Rsn, Akm::FtFilsSha384),
        "OWE" => (Rsn, Akm::Owe),
        "DPP" => (Rsn, Akm::Dpp),
        "OSEN" => (Rsn, Akm::Osen),
        _ => return None,
    })
}

/// What the station negotiated, from `STATUS`.
pub fn network_security(key_mgmt: Option<&str>, pairwise: Option<&str>) -> NetworkSecurity {
    match (key_mgmt, pairwise) {
        (Some("NONE"), None | Some("NONE")) => NetworkSecurity::Open,
        (Some("NONE"), Some(p)) if p.starts_with("WEP") => NetworkSecurity::Wep,
        (Some(key_mgmt), Some(pairwise)) => match (status_akm(key_mgmt), cipher(pairwise)) {
            (Some((proto, akm)), Some(pairwise)) => {
                NetworkSecurity::Protected { proto, akm, pairwise }
            }
            _ => NetworkSecurity::Unknown,
        },
        _ => NetworkSecurity::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(text: &[&str]) -> BssSecurity {
        bss_security(&text.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    fn offers(security: &BssSecurity, akm: Akm, cipher: Cipher) -> bool {
        security.rsn.is_some_and(|s| s.akms.contains(akm) && s.pairwise.contains(cipher))
    }

    #[test]
    fn flags_of_wpa_supplicant_2_10() {
        let psk = flags(&["WPA2-PSK-CCMP", "ESS"]);
        assert!(offers(&psk, Akm::Psk, Cipher::Ccmp) && psk.wpa.is_none() && !psk.wep);
        let mixed = flags(&["WPA-PSK-CCMP+TKIP", "WPA2-PSK+SAE-CCMP-preauth", "ESS"]);
        assert!(offers(&mixed, Akm::Sae, Cipher::Ccmp) && offers(&mixed, Akm::Psk, Cipher::Ccmp));
        assert!(mixed.wpa.is_some_and(|s| s.pairwise.contains(Cipher::Tkip)));
        let ft = flags(&["WPA2-FT/PSK+PSK-SHA256-CCMP-256+GCMP-256", "ESS"]);
        assert!(
            offers(&ft, Akm::FtPsk, Cipher::Ccmp256)
                && offers(&ft, Akm::PskSha256, Cipher::Gcmp256)
        );
        let suite_b = flags(&["RSN-EAP-SUITE-B-192-GCMP-256", "ESS"]);
        assert!(offers(&suite_b, Akm::EapSuiteB192, Cipher::Gcmp256));
        assert!(flags(&["WEP", "ESS"]).wep);
        assert!(flags(&["ESS"]).is_open());
        assert_eq!(flags(&["WPA2-?"]).rsn, Some(Suites::default()));
    }

    #[test]
    fn status_names_the_negotiated_suites() {
        let psk = network_security(Some("WPA2-PSK"), Some("CCMP"));
        assert_eq!(
            psk,
            NetworkSecurity::Protected { proto: Proto::Rsn, akm: Akm::Psk, pairwise: Cipher::Ccmp }
        );
        let wpa1 = network_security(Some("WPA-PSK"), Some("TKIP"));
        assert!(matches!(wpa1, NetworkSecurity::Protected { proto: Proto::Wpa, .. }));
        assert_eq!(network_security(Some("NONE"), None), NetworkSecurity::Open);
        assert_eq!(network_security(Some("NONE"), Some("WEP-104")), NetworkSecurity::Wep);
        assert_eq!(network_security(Some("WPA2-PSK"), None), NetworkSecurity::Unknown);
        assert_eq!(network_security(Some("WPS"), Some("CCMP")), NetworkSecurity::Unknown);
        assert_eq!(network_security(None, None), NetworkSecurity::Unknown);
    }

    #[test]
    fn a_status_and_the_flags_of_its_own_bss_agree() {
        for (key_mgmt, cipher, flag) in [
            ("WPA2-PSK", "CCMP", "WPA2-PSK-CCMP"),
            ("SAE", "CCMP", "RSN-SAE-CCMP"),
            ("FT-SAE", "CCMP", "WPA2-FT/SAE+SAE-CCMP"),
            ("WPA2/IEEE 802.1X/EAP", "CCMP", "WPA2-EAP-CCMP"),
            ("FT-EAP", "CCMP", "WPA2-EAP+FT/EAP-CCMP"),
            ("WPA2-PSK-SHA256", "GCMP-256", "WPA2-PSK-SHA256-GCMP-256"),
            ("WPA-PSK", "TKIP", "WPA-PSK-TKIP"),
        ] {
            let network = network_security(Some(key_mgmt), Some(cipher));
            assert_eq!(network.admits(&flags(&[flag, "ESS"])), Some(true), "{key_mgmt} {flag}");
        }
    }
}
