//! Effective uid and capabilities from `/proc/self/status`, and which of
//! the capabilities roam needs are missing.
//!
//! Capabilities are what the kernel actually checks: `euid 0` alone is not
//! enough inside an unprivileged container, and not needed at all when the
//! binary was given the capabilities.

use std::fmt;

/// The capabilities roam's kernel-facing work needs (bit numbers from
/// `linux/capability.h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    /// Configure interfaces and talk nl80211.
    NetAdmin = 12,
    /// Open the `AF_PACKET` socket.
    NetRaw = 13,
    /// Before Linux 5.8 the only way to BPF and perf; still accepted in
    /// place of `CAP_BPF` and `CAP_PERFMON`.
    SysAdmin = 21,
    /// Attach to tracepoints and read perf/ring buffers.
    Perfmon = 38,
    /// Load BPF programs and create maps.
    Bpf = 39,
}

/// What roam needs, in the order they are reported.
pub const REQUIRED: [Capability; 4] =
    [Capability::Bpf, Capability::Perfmon, Capability::NetAdmin, Capability::NetRaw];

impl Capability {
    pub const fn name(self) -> &'static str {
        match self {
            Capability::NetAdmin => "CAP_NET_ADMIN",
            Capability::NetRaw => "CAP_NET_RAW",
            Capability::SysAdmin => "CAP_SYS_ADMIN",
            Capability::Perfmon => "CAP_PERFMON",
            Capability::Bpf => "CAP_BPF",
        }
    }

    const fn mask(self) -> u64 {
        1 << self as u64
    }

    /// The kernel's `bpf_capable()` and `perfmon_capable()` also accept
    /// `CAP_SYS_ADMIN`, so it stands in for these two.
    const fn sys_admin_substitutes(self) -> bool {
        matches!(self, Capability::Bpf | Capability::Perfmon)
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A capability bit set as printed in `CapEff:` (hex).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CapSet(pub u64);

impl CapSet {
    pub fn contains(self, cap: Capability) -> bool {
        self.0 & cap.mask() != 0
    }
}

/// The parts of `/proc/self/status` the privilege check uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credentials {
    pub effective_uid: u32,
    pub effective_caps: CapSet,
}

/// How roam's needs are met by a set of effective capabilities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapabilityAudit {
    /// Required and neither held nor covered by `CAP_SYS_ADMIN`.
    pub missing: Vec<Capability>,
    /// Required, not held, but covered by `CAP_SYS_ADMIN`.
    pub via_sys_admin: Vec<Capability>,
}

impl CapabilityAudit {
    pub fn of(caps: CapSet) -> Self {
        let has_sys_admin = caps.contains(Capability::SysAdmin);
        let mut audit = CapabilityAudit { missing: Vec::new(), via_sys_admin: Vec::new() };
        for cap in REQUIRED.into_iter().filter(|&cap| !caps.contains(cap)) {
            if has_sys_admin && cap.sys_admin_substitutes() {
                audit.via_sys_admin.push(cap);
            } else {
                audit.missing.push(cap);
            }
        }
        audit
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcStatusError {
    #[error("no {0}: line")]
    MissingField(&'static str),
    #[error("cannot parse {field}: line {line:?}")]
    Malformed { field: &'static str, line: String },
}

/// Parses the `Uid:` (real, effective, saved, fs) and `CapEff:` lines.
pub fn parse_proc_status(text: &str) -> Result<Credentials, ProcStatusError> {
    let line_of = |field: &'static str| {
        text.lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
            .ok_or(ProcStatusError::MissingField(field))
    };
    let malformed = |field: &'static str, line: &str| ProcStatusError::Malformed {
        field,
        line: line.trim().to_owned(),
    };

    let uid_line = line_of("Uid")?;
    let effective_uid = uid_line
        .split_whitespace()
        .nth(1)
        .and_then(|euid| euid.parse().ok())
        .ok_or_else(|| malformed("Uid", uid_line))?;

    let cap_line = line_of("CapEff")?;
    let effective_caps = u64::from_str_radix(cap_line.trim(), 16)
        .map(CapSet)
        .map_err(|_| malformed("CapEff", cap_line))?;

    Ok(Credentials { effective_uid, effective_caps })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Trimmed `/proc/self/status` of `sudo cat` on Linux 6.x.
    const ROOT_STATUS: &str = "Name:\tcat\n\
        Umask:\t0022\n\
        State:\tR (running)\n\
        Uid:\t0\t0\t0\t0\n\
        Gid:\t0\t0\t0\t0\n\
        CapInh:\t0000000000000000\n\
        CapPrm:\t000001ffffffffff\n\
        CapEff:\t000001ffffffffff\n\
        CapBnd:\t000001ffffffffff\n\
        CapAmb:\t0000000000000000\n";

    fn status(uid: &str, cap_eff: &str) -> String {
        format!("Name:\troam\nUid:\t{uid}\nCapPrm:\t0000000000000000\nCapEff:\t{cap_eff}\n")
    }

    #[test]
    fn parses_root() {
        let creds = parse_proc_status(ROOT_STATUS).unwrap();
        assert_eq!(creds.effective_uid, 0);
        assert_eq!(creds.effective_caps, CapSet(0x1ff_ffff_ffff));
        assert!(CapabilityAudit::of(creds.effective_caps).missing.is_empty());
    }

    #[test]
    fn uses_the_effective_uid_column() {
        // setuid-style: real 1000, effective 0.
        let creds = parse_proc_status(&status("1000\t0\t0\t0", "0")).unwrap();
        assert_eq!(creds.effective_uid, 0);
    }

    #[test]
    fn unprivileged_user_misses_everything() {
        let creds =
            parse_proc_status(&status("1000\t1000\t1000\t1000", "0000000000000000")).unwrap();
        assert_eq!(creds.effective_uid, 1000);
        let audit = CapabilityAudit::of(creds.effective_caps);
        assert_eq!(audit.missing, REQUIRED.to_vec());
        assert!(audit.via_sys_admin.is_empty());
    }

    #[test]
    fn exactly_the_four_required_capabilities_suffice() {
        // bits 12, 13, 38, 39
        let caps = CapSet(0x0000_00c0_0000_3000);
        for cap in REQUIRED {
            assert!(caps.contains(cap), "{cap}");
        }
        assert!(!caps.contains(Capability::SysAdmin));
        assert_eq!(
            CapabilityAudit::of(caps),
            CapabilityAudit { missing: vec![], via_sys_admin: vec![] }
        );
    }

    #[test]
    fn sys_admin_covers_bpf_and_perfmon_but_not_networking() {
        // CAP_SYS_ADMIN (21) and CAP_NET_ADMIN (12) only: a pre-5.8 style grant.
        let caps = CapSet((1 << 21) | (1 << 12));
        let audit = CapabilityAudit::of(caps);
        assert_eq!(audit.via_sys_admin, vec![Capability::Bpf, Capability::Perfmon]);
        assert_eq!(audit.missing, vec![Capability::NetRaw]);
    }

    #[test]
    fn missing_or_broken_fields_are_errors() {
        assert_eq!(
            parse_proc_status("Name:\tx\nCapEff:\t0\n"),
            Err(ProcStatusError::MissingField("Uid"))
        );
        assert_eq!(
            parse_proc_status("Uid:\t0\t0\t0\t0\n"),
            Err(ProcStatusError::MissingField("CapEff"))
        );
        assert!(matches!(
            parse_proc_status(&status("0\t0\t0\t0", "zz")),
            Err(ProcStatusError::Malformed { field: "CapEff", .. })
        ));
        assert!(matches!(
            parse_proc_status(&status("0", "0")),
            Err(ProcStatusError::Malformed { field: "Uid", .. })
        ));
    }

    #[test]
    fn similar_field_names_are_not_confused() {
        // "CapEffX" must not be read as "CapEff", nor "Uidmap" as "Uid".
        let text = "Uidmap:\t5\t5\nUid:\t7\t8\t9\t9\nCapEffX:\tffff\nCapEff:\t0000000000001000\n";
        let creds = parse_proc_status(text).unwrap();
        assert_eq!(creds.effective_uid, 8);
        assert_eq!(creds.effective_caps, CapSet(1 << 12));
    }
}
