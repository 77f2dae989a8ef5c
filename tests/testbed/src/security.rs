//! What each of the testbed's security modes asks of the access points (hostapd), the station's
//! managers (a wpa_supplicant network block, an iwd network file) and the attacker's forged
//! beacons (the RSN element). Pure: text in, text out, so every mode is checked on the host.
//!
//! The modes follow what networks people roam in run (../shared/real-world.md section 5):
//! WPA3-SAE with hash-to-element, WPA2/WPA3 transition, 802.11r fast transition over the air
//! with PSK, SAE or EAP, and WPA2-Enterprise with PMKSA caching and opportunistic key caching.
//! Enterprise networks use hostapd's internal EAP server with EAP-PWD: a password, no
//! certificate to generate. FT keys move between the APs as RRB frames over the bridge they
//! share (R0KH/R1KH wildcards, `pmk_r1_push`), delivered within the one hostapd the network's
//! APs share where they need it ([`aps_share_one_hostapd`]).

use crate::scenario::Security;

/// The network's passphrase (PSK and SAE) and, for EAP, the user's password.
pub const PASSPHRASE: &str = "roam-testbed-passphrase";
/// The EAP user every station authenticates as.
pub const EAP_IDENTITY: &str = "roam";
/// The mobility domain of every FT network (802.11r MDID, 4 hex digits).
pub const MOBILITY_DOMAIN: &str = "a1b2";
/// The key the APs' R0KH/R1KH exchanges are protected with (256 bits, hex).
const FT_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// How a mode is spelt where scenario files, `--security` and reports name it.
pub fn name(security: Security) -> &'static str {
    match security {
        Security::Open => "open",
        Security::Wpa2Psk => "wpa2-psk",
        Security::Wpa2PskPmf => "wpa2-psk-pmf",
        Security::Wpa3Sae => "wpa3-sae",
        Security::Wpa2Wpa3 => "wpa2-wpa3",
        Security::FtPsk => "ft-psk",
        Security::FtSae => "ft-sae",
        Security::Wpa2Eap => "wpa2-eap",
        Security::FtEap => "ft-eap",
    }
}

/// The modes beyond the testbed's original three (open, WPA2-PSK, WPA2-PSK with PMF): the
/// networks users run today, which the suite and the benchmark cover one by one.
pub const USERS_NETWORKS: [Security; 6] = [
    Security::Wpa3Sae,
    Security::Wpa2Wpa3,
    Security::FtPsk,
    Security::FtSae,
    Security::Wpa2Eap,
    Security::FtEap,
];

/// Every mode, in the order tables list them.
pub const ALL: [Security; 9] = {
    let u = USERS_NETWORKS;
    [Security::Open, Security::Wpa2Psk, Security::Wpa2PskPmf, u[0], u[1], u[2], u[3], u[4], u[5]]
};

/// The mode's name where it is not one of the testbed's defaults (WPA2-PSK, and open for the
/// open-* scenarios): what titles, log directories and tables add to a scenario's name, since a
/// plan or a report can hold one scenario under several modes.
pub fn distinct_name(security: Security) -> Option<&'static str> {
    match security {
        Security::Wpa2Psk | Security::Open => None,
        other => Some(other.name()),
    }
}

/// Whether the mode authenticates with 802.1X/EAP.
pub fn is_enterprise(security: Security) -> bool {
    matches!(security, Security::Wpa2Eap | Security::FtEap)
}

/// Whether the mode uses 802.11r fast transition.
pub fn is_ft(security: Security) -> bool {
    matches!(security, Security::FtPsk | Security::FtSae | Security::FtEap)
}

/// Whether the network's APs run in one hostapd, as a controller's APs do, for the keys they
/// share. WPA2-Enterprise roams by opportunistic key caching (OKC): the AP the station moves
/// to takes the PMK of the station's last EAP exchange from a cache every AP shares, which
/// hostapd shares only between the BSSes of one process. The AP of an FT-SAE or FT-EAP
/// station's last full authentication pushes its keys to the other APs over RRB, which pull
/// them from it when they lack them, and RRB frames between two hostapds on one bridge never
/// arrive (each listens on the bridge for frames it receives; the other's are sent from it),
/// where one hostapd delivers them to its own BSSes:
/// as on a LAN of standalone APs, the pull works while the key holder runs, heard on the air
/// or not. FT-PSK APs derive the keys from the passphrase themselves.
pub fn aps_share_one_hostapd(security: Security) -> bool {
    matches!(security, Security::Wpa2Eap | Security::FtSae | Security::FtEap)
}

/// Management frame protection: (capable, required).
pub fn mfp(security: Security) -> (bool, bool) {
    match security {
        Security::Open | Security::Wpa2Psk | Security::FtPsk | Security::Wpa2Eap => (false, false),
        Security::Wpa2Wpa3 => (true, false),
        Security::Wpa2PskPmf | Security::Wpa3Sae | Security::FtSae => (true, true),
        // FT-EAP as offices run it: PMF optional, the stations that can use it.
        Security::FtEap => (true, false),
    }
}

/// The AKM suite selectors (00-0F-AC:n) the APs offer, in the RSN element's order.
pub fn akm_suites(security: Security) -> &'static [u8] {
    match security {
        Security::Open => &[],
        Security::Wpa2Psk => &[2],
        Security::Wpa2PskPmf => &[6],
        Security::Wpa3Sae => &[8],
        Security::Wpa2Wpa3 => &[2, 8],
        Security::FtPsk => &[4, 2],
        Security::FtSae => &[9, 8],
        Security::Wpa2Eap => &[1],
        Security::FtEap => &[3, 1],
    }
}

/// The AP side, as hostapd.conf lines. `ap_id` tells the APs apart where FT needs it (their
/// NAS identifiers), and `eap_user_file` is where [`eap_user_file`] was written.
pub fn hostapd_lines(security: Security, ap_id: usize, eap_user_file: &str) -> String {
    if security == Security::Open {
        return String::new();
    }
    let akms: Vec<&str> = akm_suites(security).iter().map(|&s| hostapd_akm(s)).collect();
    let mut lines = format!("wpa=2\nwpa_key_mgmt={}\nrsn_pairwise=CCMP\n", akms.join(" "));
    match mfp(security) {
        (true, true) => lines.push_str("ieee80211w=2\n"),
        (true, false) => lines.push_str("ieee80211w=1\n"),
        _ => {}
    }
    let sae = matches!(security, Security::Wpa3Sae | Security::Wpa2Wpa3 | Security::FtSae);
    if sae {
        // Hash-to-element where both sides can, hunting-and-pecking for the others.
        lines.push_str(&format!("sae_password={PASSPHRASE}\nsae_pwe=2\n"));
    }
    if matches!(
        security,
        Security::Wpa2Psk | Security::Wpa2PskPmf | Security::Wpa2Wpa3 | Security::FtPsk
    ) {
        lines.push_str(&format!("wpa_passphrase={PASSPHRASE}\n"));
    }
    if is_enterprise(security) {
        lines.push_str(&format!(
            "ieee8021x=1\neap_server=1\neap_user_file={eap_user_file}\nokc=1\n"
        ));
    }
    if is_ft(security) {
        lines.push_str(&format!(
            "mobility_domain={MOBILITY_DOMAIN}\n\
             nas_identifier=ap{ap_id}.roam-testbed\n\
             ft_over_ds=0\n\
             r0kh=ff:ff:ff:ff:ff:ff * {FT_KEY}\n\
             r1kh=00:00:00:00:00:00 00:00:00:00:00:00 {FT_KEY}\n\
             pmk_r1_push=1\n"
        ));
        if security == Security::FtPsk {
            lines.push_str("ft_psk_generate_local=1\n");
        }
    }
    lines
}

/// hostapd's `eap_user_file` for the enterprise modes: the one user, EAP-PWD.
pub fn eap_user_file() -> String {
    format!("\"{EAP_IDENTITY}\" PWD \"{PASSPHRASE}\"\n")
}

fn hostapd_akm(suite: u8) -> &'static str {
    match suite {
        1 => "WPA-EAP",
        2 => "WPA-PSK",
        3 => "FT-EAP",
        4 => "FT-PSK",
        6 => "WPA-PSK-SHA256",
        8 => "SAE",
        9 => "FT-SAE",
        _ => unreachable!("no testbed mode offers AKM {suite}"),
    }
}

/// The station side, as the lines of a wpa_supplicant network block (indented by the caller).
/// The station accepts what NetworkManager would configure for such a network: FT and the
/// plain AKM together, PMF where the network may ask for it, OKC for enterprise.
pub fn wpa_supplicant_lines(security: Security) -> Vec<String> {
    let psk = format!("psk=\"{PASSPHRASE}\"");
    let sae = format!("sae_password=\"{PASSPHRASE}\"");
    let eap = [
        "eap=PWD".to_owned(),
        format!("identity=\"{EAP_IDENTITY}\""),
        format!("password=\"{PASSPHRASE}\""),
        "proactive_key_caching=1".to_owned(),
    ];
    let mut lines = match security {
        Security::Open => vec!["key_mgmt=NONE".to_owned()],
        Security::Wpa2Psk => vec!["key_mgmt=WPA-PSK".to_owned(), psk],
        Security::Wpa2PskPmf => vec!["key_mgmt=WPA-PSK-SHA256".to_owned(), psk],
        Security::Wpa3Sae => vec!["key_mgmt=SAE".to_owned(), sae],
        Security::Wpa2Wpa3 => vec!["key_mgmt=WPA-PSK SAE".to_owned(), psk, sae],
        Security::FtPsk => vec!["key_mgmt=FT-PSK WPA-PSK".to_owned(), psk],
        Security::FtSae => vec!["key_mgmt=FT-SAE SAE".to_owned(), sae],
        Security::Wpa2Eap => std::iter::once("key_mgmt=WPA-EAP".to_owned()).chain(eap).collect(),
        Security::FtEap => {
            std::iter::once("key_mgmt=FT-EAP WPA-EAP".to_owned()).chain(eap).collect()
        }
    };
    match mfp(security) {
        (_, true) => lines.push("ieee80211w=2".to_owned()),
        (true, false) => lines.push("ieee80211w=1".to_owned()),
        _ => {}
    }
    lines
}

/// The station side's global lines (before any network block). wpa_supplicant 2.10 takes
/// `sae_pwe` only here: in a network block it refuses the whole file ("unknown network field").
pub fn wpa_supplicant_globals(security: Security) -> Vec<String> {
    match security {
        Security::Wpa3Sae | Security::Wpa2Wpa3 | Security::FtSae => vec!["sae_pwe=2".to_owned()],
        _ => Vec::new(),
    }
}

/// The security sections of a NetworkManager keyfile profile for the network, as a user's
/// profile has them (nm-settings-keyfile(5)): NetworkManager adds FT, SHA-256 AKMs and PMF by
/// itself where the AP and the driver offer them, as it does for every profile.
pub fn networkmanager_sections(security: Security) -> String {
    let psk = |key_mgmt: &str, pmf: Option<u8>| {
        let pmf = pmf.map(|p| format!("pmf={p}\n")).unwrap_or_default();
        format!("[wifi-security]\nkey-mgmt={key_mgmt}\npsk={PASSPHRASE}\n{pmf}")
    };
    match security {
        Security::Open => String::new(),
        // pmf=3: required, as the network requires it.
        Security::Wpa2PskPmf => psk("wpa-psk", Some(3)),
        Security::Wpa2Psk | Security::Wpa2Wpa3 | Security::FtPsk => psk("wpa-psk", None),
        Security::Wpa3Sae | Security::FtSae => psk("sae", None),
        Security::Wpa2Eap | Security::FtEap => format!(
            "[wifi-security]\nkey-mgmt=wpa-eap\n\n[802-1x]\neap=pwd\nidentity={EAP_IDENTITY}\n\
             password={PASSPHRASE}\n"
        ),
    }
}

/// iwd's name for the network's type: the extension of its network file and the suffix of its
/// D-Bus object.
pub fn iwd_kind(security: Security) -> &'static str {
    match security {
        Security::Open => "open",
        _ if is_enterprise(security) => "8021x",
        _ => "psk",
    }
}

/// iwd's network file (iwd.network(5)). iwd picks FT, SAE and PMF by itself from what the AP
/// offers.
pub fn iwd_network_file(security: Security) -> String {
    match iwd_kind(security) {
        "open" => "[Settings]\nAutoConnect=true\n".to_owned(),
        "8021x" => format!(
            "[Security]\nEAP-Method=PWD\nEAP-Identity={EAP_IDENTITY}\nEAP-Password={PASSPHRASE}\n"
        ),
        _ => format!("[Security]\nPassphrase={PASSPHRASE}\n"),
    }
}

/// The RSN element of a beacon in the mode's name (none for an open network): CCMP, the mode's
/// AKMs, its MFP bits.
pub fn rsn_element(security: Security) -> Vec<u8> {
    let akms = akm_suites(security);
    if akms.is_empty() {
        return Vec::new();
    }
    let mut body = vec![1, 0]; // version 1
    body.extend([0x00, 0x0f, 0xac, 4]); // group: CCMP
    body.extend([1, 0, 0x00, 0x0f, 0xac, 4]); // pairwise: CCMP
    body.extend((akms.len() as u16).to_le_bytes());
    for &akm in akms {
        body.extend([0x00, 0x0f, 0xac, akm]);
    }
    let (capable, required) = mfp(security);
    let capabilities: u16 = (u16::from(capable) << 7) | (u16::from(required) << 6);
    body.extend(capabilities.to_le_bytes());
    let mut element = vec![48, body.len() as u8];
    element.extend(body);
    element
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networkmanager_profiles_name_the_key_management_a_user_picks() {
        let psk = networkmanager_sections(Security::FtPsk);
        assert!(psk.contains("key-mgmt=wpa-psk\n") && psk.contains("psk=roam-testbed-passphrase"));
        assert!(networkmanager_sections(Security::Wpa3Sae).contains("key-mgmt=sae\n"));
        assert!(networkmanager_sections(Security::Wpa2PskPmf).contains("pmf=3\n"));
        let eap = networkmanager_sections(Security::FtEap);
        assert!(eap.contains("key-mgmt=wpa-eap\n") && eap.contains("[802-1x]\neap=pwd\n"));
        assert_eq!(networkmanager_sections(Security::Open), "");
    }

    #[test]
    fn every_mode_has_a_name_its_scenario_files_parse() {
        for security in ALL {
            let text = format!(
                "name = \"x\"\nsecurity = \"{}\"\ntrigger = [{{ action = \"kill\" }}]",
                name(security)
            );
            let scenario = crate::scenario::Scenario::from_toml(&text).unwrap();
            assert_eq!(scenario.security, security);
        }
    }

    #[test]
    fn the_psk_modes_are_as_before() {
        assert_eq!(
            hostapd_lines(Security::Wpa2Psk, 0, "/x"),
            format!(
                "wpa=2\nwpa_key_mgmt=WPA-PSK\nrsn_pairwise=CCMP\nwpa_passphrase={PASSPHRASE}\n"
            )
        );
        assert_eq!(
            hostapd_lines(Security::Wpa2PskPmf, 0, "/x"),
            format!(
                "wpa=2\nwpa_key_mgmt=WPA-PSK-SHA256\nrsn_pairwise=CCMP\nieee80211w=2\n\
                 wpa_passphrase={PASSPHRASE}\n"
            )
        );
        assert_eq!(hostapd_lines(Security::Open, 0, "/x"), "");
        assert_eq!(wpa_supplicant_lines(Security::Open), ["key_mgmt=NONE"]);
    }

    #[test]
    fn sae_requires_pmf_and_uses_hash_to_element() {
        let ap = hostapd_lines(Security::Wpa3Sae, 0, "/x");
        assert!(ap.contains("wpa_key_mgmt=SAE\n") && ap.contains("ieee80211w=2\n"));
        assert!(ap.contains("sae_pwe=2\n") && !ap.contains("wpa_passphrase"));
        let sta = wpa_supplicant_lines(Security::Wpa3Sae);
        assert!(sta.contains(&"ieee80211w=2".to_owned()));
        assert!(!sta.iter().any(|l| l.starts_with("sae_pwe")), "2.10: global only");
        assert_eq!(wpa_supplicant_globals(Security::Wpa3Sae), ["sae_pwe=2"]);
        assert!(wpa_supplicant_globals(Security::Wpa2Psk).is_empty());
        // Transition mode: both AKMs, PMF optional, both secrets.
        let ap = hostapd_lines(Security::Wpa2Wpa3, 0, "/x");
        assert!(ap.contains("wpa_key_mgmt=WPA-PSK SAE\n") && ap.contains("ieee80211w=1\n"));
        assert!(ap.contains("wpa_passphrase=") && ap.contains("sae_password="));
    }

    #[test]
    fn ft_shares_a_mobility_domain_goes_over_the_air_and_names_each_ap() {
        for security in [Security::FtPsk, Security::FtSae, Security::FtEap] {
            let a = hostapd_lines(security, 0, "/x");
            let b = hostapd_lines(security, 1, "/x");
            for line in [format!("mobility_domain={MOBILITY_DOMAIN}"), "ft_over_ds=0".into()] {
                assert!(a.contains(&line) && b.contains(&line), "{security:?}: {line}");
            }
            assert!(a.contains("nas_identifier=ap0.") && b.contains("nas_identifier=ap1."));
            assert!(a.contains("r0kh=ff:ff:ff:ff:ff:ff * ") && a.contains("pmk_r1_push=1"));
        }
        assert!(hostapd_lines(Security::FtPsk, 0, "/x").contains("ft_psk_generate_local=1"));
        assert!(!hostapd_lines(Security::FtSae, 0, "/x").contains("ft_psk_generate_local"));
        assert_eq!(wpa_supplicant_lines(Security::FtPsk)[0], "key_mgmt=FT-PSK WPA-PSK");
    }

    #[test]
    fn enterprise_serves_eap_pwd_itself_with_key_caching() {
        let ap = hostapd_lines(Security::Wpa2Eap, 0, "/run/eap_user");
        for line in ["ieee8021x=1", "eap_server=1", "eap_user_file=/run/eap_user", "okc=1"] {
            assert!(ap.contains(line), "{line}");
        }
        assert_eq!(eap_user_file(), format!("\"roam\" PWD \"{PASSPHRASE}\"\n"));
        let sta = wpa_supplicant_lines(Security::FtEap);
        assert_eq!(sta[0], "key_mgmt=FT-EAP WPA-EAP");
        assert!(sta.contains(&"eap=PWD".to_owned()));
        assert!(sta.contains(&"proactive_key_caching=1".to_owned()));
        assert_eq!(iwd_kind(Security::FtEap), "8021x");
        assert!(iwd_network_file(Security::Wpa2Eap).contains("EAP-Method=PWD"));
        assert_eq!(iwd_kind(Security::FtSae), "psk");
    }

    #[test]
    fn a_forged_beacon_claims_the_modes_akms_and_mfp() {
        assert!(rsn_element(Security::Open).is_empty());
        let wpa2 = rsn_element(Security::Wpa2Psk);
        assert_eq!(wpa2[..2], [48, 20]);
        assert_eq!(wpa2[14..20], [1, 0, 0x00, 0x0f, 0xac, 2]);
        assert_eq!(wpa2[20..], [0, 0], "no MFP");
        let pmf = rsn_element(Security::Wpa2PskPmf);
        assert_eq!(pmf[19], 6, "PSK-SHA256");
        assert_eq!(pmf[20..], [0xc0, 0x00], "MFP capable and required");
        let ft = rsn_element(Security::FtSae);
        assert_eq!(ft[1] as usize, ft.len() - 2);
        assert_eq!(ft[14..16], [2, 0], "two AKMs");
        assert_eq!((ft[19], ft[23]), (9, 8), "FT-SAE, SAE");
    }
}
