//! What the guest runs, as its kernel and daemons report it: the figures of a session are of
//! these versions (a guest of another Debian release runs other ones).

use std::{fs, process::Command};

use roam_testbed::plan::Software;

use super::paths;

pub fn read() -> Software {
    Software {
        kernel: fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_owned())
            .unwrap_or_default(),
        hostapd: version_of(paths::HOSTAPD, "-v"),
        wpa_supplicant: version_of(paths::WPA_SUPPLICANT, "-v"),
        iwd: version_of(paths::IWD, "--version"),
        network_manager: version_of(paths::NETWORK_MANAGER, "--version"),
        systemd_networkd: version_of(paths::NETWORKD, "--version"),
        dnsmasq: version_of(paths::DNSMASQ, "--version"),
    }
}

/// The version a daemon prints (on stdout or stderr; hostapd -v exits 1 after printing it).
fn version_of(program: &str, flag: &str) -> String {
    let Ok(out) = Command::new(program).arg(flag).output() else {
        return String::new();
    };
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    parse_version(&text).unwrap_or_default()
}

/// From the first line: the word after `version` (`Dnsmasq version 2.90  Copyright ...`), the
/// package version in parentheses (`systemd 257 (257.13-1~deb13u1)`), or else the last word
/// without a `v` (`hostapd v2.10`, `3.8`).
fn parse_version(text: &str) -> Option<String> {
    let words: Vec<&str> = text.lines().next()?.split_whitespace().collect();
    if let Some(at) = words.iter().position(|w| *w == "version") {
        return words.get(at + 1).map(|w| (*w).to_owned());
    }
    let last = words.last()?;
    if let Some(package) = last.strip_prefix('(').and_then(|w| w.strip_suffix(')')) {
        return Some(package.to_owned());
    }
    Some(last.strip_prefix('v').unwrap_or(last).to_owned())
}

#[cfg(test)]
mod tests {
    use super::parse_version;

    #[test]
    fn versions_as_the_daemons_print_them() {
        assert_eq!(
            parse_version("hostapd v2.10\nUser space daemon for IEEE 802.11 AP management,\n")
                .as_deref(),
            Some("2.10")
        );
        assert_eq!(
            parse_version("wpa_supplicant v2.11\nCopyright (c) 2003-2024\n").as_deref(),
            Some("2.11")
        );
        assert_eq!(parse_version("3.8\n").as_deref(), Some("3.8"));
        assert_eq!(parse_version("1.52.1\n").as_deref(), Some("1.52.1"));
        assert_eq!(
            parse_version("systemd 257 (257.13-1~deb13u1)\n+PAM +AUDIT +SELINUX\n").as_deref(),
            Some("257.13-1~deb13u1")
        );
        assert_eq!(
            parse_version("Dnsmasq version 2.90  Copyright (c) 2000-2024 Simon Kelley\n")
                .as_deref(),
            Some("2.90")
        );
        assert_eq!(parse_version(""), None);
    }
}
