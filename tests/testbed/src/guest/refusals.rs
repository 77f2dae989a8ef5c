//! `roam run` on the real station interface with a wpa_supplicant that is not there, not
//! running, or not answering: the bad input the host cannot give (it has no wireless interface,
//! so its refusals stop at the interface check). Each answer is recorded for the host to judge
//! (`roam_testbed::refusal`).

use std::{fs, os::unix::net::UnixDatagram, path::Path, time::Duration};

use anyhow::{Context as _, Result};
use roam_testbed::refusal::{Refusal, REFUSALS_FILE};

use super::{leftovers, paths, process};

/// Control socket directories of the cases, and roam's own files, away from a running agent's.
const DIR: &str = "/run/roam-refusals";
/// A refusal comes after the checks: well within this.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `roam run` once per bad input and writes the answers into `out`.
pub fn check(out: &Path) -> Result<()> {
    let dir = Path::new(DIR);
    let _ = fs::remove_dir_all(dir);
    let [absent, stale, silent] = ["absent", "stale", "silent"].map(|case| dir.join(case));
    for ctrl_dir in [&absent, &stale, &silent] {
        fs::create_dir_all(ctrl_dir)?;
    }
    // A socket file with nobody behind it: a supplicant that was killed.
    drop(UnixDatagram::bind(stale.join(paths::STA_IFACE))?);
    // A socket nobody reads: a supplicant that hangs.
    let _hung = UnixDatagram::bind(silent.join(paths::STA_IFACE))?;
    let config = dir.join("roam.toml");
    fs::write(&config, format!("[paths]\ncontrol_socket = \"{DIR}/{}.sock\"\n", paths::STA_IFACE))?;

    let backend = ["--backend", "wpa_supplicant"];
    let no_socket = format!("no control socket at {}/{}", absent.display(), paths::STA_IFACE);
    let fix_start = format!("fix: start wpa_supplicant for {}", paths::STA_IFACE);
    let cases: [(&str, &Path, &[&str], &[&str]); 3] = [
        (
            "no wpa_supplicant control socket, and act.backend = \"wpa_supplicant\"",
            &absent,
            &backend,
            &[&no_socket, &fix_start],
        ),
        (
            "a stale wpa_supplicant control socket, and act.backend = \"wpa_supplicant\"",
            &stale,
            &backend,
            &["is a stale socket", &fix_start],
        ),
        (
            "a wpa_supplicant control socket that does not answer",
            &silent,
            &[],
            &["did not answer PING", "fix: wpa_supplicant looks hung"],
        ),
    ];
    let records = cases
        .into_iter()
        .map(|(input, ctrl_dir, args, expected)| refuse(input, &config, ctrl_dir, args, expected))
        .collect::<Result<Vec<Refusal>>>()?;
    fs::write(out.join(REFUSALS_FILE), serde_json::to_vec_pretty(&records)?)?;
    let _ = fs::remove_dir_all(dir);
    Ok(())
}

/// `roam run --iface STA --config CONFIG --wpa-ctrl-dir CTRL_DIR ARGS` as a user would start
/// it (default logging), and what it left.
fn refuse(
    input: &str,
    config: &Path,
    ctrl_dir: &Path,
    args: &[&str],
    expected: &[&str],
) -> Result<Refusal> {
    let before = leftovers::attached();
    let mut cmd = process::in_station_netns(paths::TESTBED);
    cmd.args(["with-kernel-fs", paths::ROAM, "run", "--iface", paths::STA_IFACE])
        .args(["--metrics-listen", "off", "--config"])
        .arg(config)
        .arg("--wpa-ctrl-dir")
        .arg(ctrl_dir)
        .args(args)
        .env_remove("RUST_LOG");
    let output = process::output_timeout(cmd, ANSWER_TIMEOUT)
        .with_context(|| format!("roam run with {input}"))?;
    let left = leftovers::attached().into_iter().filter(|item| !before.contains(item)).collect();
    Ok(Refusal {
        input: input.to_owned(),
        expected: expected.iter().map(|piece| piece.to_string()).collect(),
        exit_code: output.status.code(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        left,
    })
}
