//! The outcome of the checks: a list of named results, printable as a table
//! for humans and serialisable for `--json`.

use std::fmt;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    /// roam cannot run until this is fixed.
    Missing,
    /// roam can run, possibly degraded or not yet useful.
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    /// One line: what was found.
    pub detail: String,
    /// What to do about it; always set when `status` is not `Ok`.
    pub fix: Option<String>,
}

impl Check {
    pub fn ok(name: &'static str, detail: impl Into<String>) -> Self {
        Check { name, status: Status::Ok, detail: detail.into(), fix: None }
    }

    pub fn warning(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Check { name, status: Status::Warning, detail: detail.into(), fix: Some(fix.into()) }
    }

    pub fn missing(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Check { name, status: Status::Missing, detail: detail.into(), fix: Some(fix.into()) }
    }

    pub fn passed(&self) -> bool {
        self.status == Status::Ok
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    /// True when nothing is `Missing`; warnings do not stop roam.
    pub fn can_run(&self) -> bool {
        self.checks.iter().all(|check| check.status != Status::Missing)
    }

    /// The check called `name`, if it ran.
    pub fn get(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|check| check.name == name)
    }

    /// Why roam cannot run, on one line: the first blocking check with its fix, and how many
    /// more there are (the checks run from the most basic up, so the first is the one to fix
    /// first). `None` when nothing blocks.
    pub fn blocker_line(&self) -> Option<String> {
        let mut missing = self.checks.iter().filter(|check| check.status == Status::Missing);
        let first = missing.next()?;
        let mut line = format!("{}: {}", first.name, first.detail);
        if let Some(fix) = &first.fix {
            line.push_str(&format!("; fix: {fix}"));
        }
        match missing.count() {
            0 => {}
            1 => line.push_str(" (and 1 more problem: see `roam check`)"),
            more => line.push_str(&format!(" (and {more} more problems: see `roam check`)")),
        }
        Some(line)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Same width for all three, so the table lines up.
        f.write_str(match self {
            Status::Ok => "[ ok ]",
            Status::Missing => "[MISS]",
            Status::Warning => "[warn]",
        })
    }
}

/// ```text
/// [ ok ] privileges: root (euid 0)
/// [MISS] wireless:   eth0 is not a wireless interface (type 1: ethernet)
///                    fix: pass the station's managed interface, e.g. wlan0
/// ```
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label_width = self.checks.iter().map(|check| check.name.len() + 1).max().unwrap_or(0);
        // "[MISS] " plus the padded label: where details (and fixes) start.
        let indent = " ".repeat(7 + label_width + 1);
        for check in &self.checks {
            let label = format!("{}:", check.name);
            writeln!(f, "{} {label:<label_width$} {}", check.status, check.detail)?;
            if let Some(fix) = &check.fix {
                writeln!(f, "{indent}fix: {fix}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        Report {
            checks: vec![
                Check::ok("privileges", "root (euid 0)"),
                Check::missing(
                    "wireless",
                    "eth0 is not a wireless interface",
                    "pass the station's managed interface, e.g. wlan0",
                ),
                Check::warning("link", "down", "ip link set eth0 up"),
            ],
        }
    }

    #[test]
    fn table_aligns_details_and_fixes() {
        assert_eq!(
            sample().to_string(),
            "[ ok ] privileges: root (euid 0)\n\
             [MISS] wireless:   eth0 is not a wireless interface\n\
             \x20                  fix: pass the station's managed interface, e.g. wlan0\n\
             [warn] link:       down\n\
             \x20                  fix: ip link set eth0 up\n"
        );
    }

    #[test]
    fn blocker_line_names_the_first_problem_and_its_fix_on_one_line() {
        let mut report = sample();
        assert_eq!(
            report.blocker_line().as_deref(),
            Some(
                "wireless: eth0 is not a wireless interface; fix: pass the station's managed \
                 interface, e.g. wlan0"
            )
        );
        report.checks.push(Check::missing("link", "down", "bring it up"));
        report.checks.push(Check::missing("kernel BTF", "absent", "boot another kernel"));
        let line = report.blocker_line().unwrap();
        assert!(line.ends_with("(and 2 more problems: see `roam check`)"), "{line}");
        assert!(!line.contains('\n'), "{line}");
        report.checks.retain(|check| check.status != Status::Missing);
        assert_eq!(report.blocker_line(), None, "warnings do not block");
    }

    #[test]
    fn can_run_only_without_missing() {
        let mut report = sample();
        assert!(!report.can_run());
        report.checks.retain(|check| check.status != Status::Missing);
        assert!(report.can_run(), "warnings alone must not block");
        assert!(Report::default().can_run());
    }

    #[test]
    fn json_uses_lowercase_status_and_null_fix() {
        let json = serde_json::to_value(sample()).unwrap();
        assert_eq!(
            json["checks"][0],
            serde_json::json!({
                "name": "privileges", "status": "ok", "detail": "root (euid 0)", "fix": null
            })
        );
        assert_eq!(json["checks"][1]["status"], "missing");
        assert_eq!(json["checks"][2]["status"], "warning");
    }
}
