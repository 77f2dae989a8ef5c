//! `roam run` given bad input on the VM's real station interface (the host has no wireless
//! interface, so its own bad-input tests stop at the interface check): the guest records how
//! roam answered, the host judges it. A refusal is one line on stderr, `roam: ...`, naming the
//! problem and the fix; a non-zero exit; nothing of roam's left behind.

use serde::{Deserialize, Serialize};

/// The guest's records, in the results when the agent is in the image.
pub const REFUSALS_FILE: &str = "roam-refusals.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refusal {
    /// The bad input, e.g. "no wpa_supplicant control socket".
    pub input: String,
    /// Pieces the refusal line must contain (the problem and the fix).
    pub expected: Vec<String>,
    /// `None` when roam was killed by a signal.
    pub exit_code: Option<i32>,
    pub stderr: String,
    /// What of roam's existed after the refused run and not before it.
    pub left: Vec<String>,
}

impl Refusal {
    /// What is wrong with roam's answer, if anything.
    pub fn problem(&self) -> Option<String> {
        let lines: Vec<&str> = self.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        let why = if self.exit_code.is_none_or(|code| code == 0) {
            format!("exit code {:?}, not a failure", self.exit_code)
        } else if lines.len() != 1 {
            format!("{} lines on stderr, not one: {:?}", lines.len(), self.stderr)
        } else if !lines[0].starts_with("roam: ") || !lines[0].contains("fix:") {
            format!("not roam's refusal with a fix: {}", lines[0])
        } else if let Some(missing) = self.expected.iter().find(|piece| !lines[0].contains(*piece))
        {
            format!("{missing:?} missing from: {}", lines[0])
        } else if !self.left.is_empty() {
            format!("left behind: {}", self.left.join("; "))
        } else {
            return None;
        };
        Some(format!("roam run with {}: {why}", self.input))
    }
}

/// Every problem in the guest's records (`[]` when roam refused every bad input well).
pub fn problems(json: &str) -> Result<Vec<String>, String> {
    let refusals: Vec<Refusal> =
        serde_json::from_str(json).map_err(|e| format!("{REFUSALS_FILE} is not valid: {e}"))?;
    if refusals.is_empty() {
        return Err(format!("{REFUSALS_FILE} records no bad input"));
    }
    Ok(refusals.iter().filter_map(Refusal::problem).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(exit_code: Option<i32>, stderr: &str, left: &[&str]) -> Refusal {
        Refusal {
            input: "no wpa_supplicant control socket".into(),
            expected: vec!["no control socket".into()],
            exit_code,
            stderr: stderr.into(),
            left: left.iter().map(|s| s.to_string()).collect(),
        }
    }

    const GOOD: &str = "roam: no control socket at /x/sta0; fix: start wpa_supplicant\n";

    #[test]
    fn one_line_with_the_problem_and_the_fix_and_a_failure_exit_is_a_refusal() {
        assert_eq!(refusal(Some(1), GOOD, &[]).problem(), None);
    }

    #[test]
    fn each_way_of_refusing_badly_is_named() {
        let cases = [
            (refusal(Some(0), GOOD, &[]), "not a failure"),
            (refusal(None, GOOD, &[]), "not a failure"),
            (refusal(Some(1), "roam: a\nroam: b\n", &[]), "2 lines"),
            (refusal(Some(1), "Error: no control socket\n", &[]), "not roam's refusal"),
            (refusal(Some(1), "roam: no fix here, no control socket\n", &[]), "not roam's"),
            (refusal(Some(1), "roam: other; fix: x\n", &[]), "missing from"),
            (refusal(Some(1), GOOD, &["interface roammon3"]), "left behind: interface roammon3"),
        ];
        for (refusal, expected) in cases {
            let problem = refusal.problem().expect("a problem");
            assert!(problem.contains(expected), "{problem}");
        }
    }

    #[test]
    fn no_records_is_a_problem_of_its_own() {
        assert!(problems("[]").is_err());
        assert!(problems("{").is_err());
        let json = serde_json::to_string(&[refusal(Some(0), GOOD, &[])]).unwrap();
        assert_eq!(problems(&json).unwrap().len(), 1);
    }
}
