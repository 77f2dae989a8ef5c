//! Bad input to `roam run`: the real binary must answer with one line that names the problem and
//! the fix, exit non-zero, and leave nothing behind: no program, no monitor interface, no qdisc.
//!
//! (The wpa_supplicant cases need a wireless interface: the VM suite gives them, see the
//! testbed's `refusal` module.)

use std::{
    path::Path,
    process::{Command, Output},
};

use anyhow::{ensure, Context as _, Result};
use integration_test::{in_netns, ip, roam_binary, roam_programs_left, veth_pair};

/// `roam run ARGS` as the given user (`None`: as root, with every capability).
fn roam_run(args: &[&str], setpriv: &[&str]) -> Result<Output> {
    let roam = roam_binary()?;
    let mut command = if setpriv.is_empty() {
        Command::new(&roam)
    } else {
        let mut command = Command::new("setpriv");
        command.args(setpriv).arg("--").arg(&roam);
        command
    };
    // Default logging, as a user would see it; no inherited RUST_LOG.
    command.env_remove("RUST_LOG").arg("run").args(args);
    command.output().context("running roam")
}

/// The refusal every bad input must produce: a non-zero exit and exactly one line on stderr,
/// `roam: ...`, that contains every `expected` piece (the problem, and the fix).
fn assert_refused(output: &Output, expected: &[&str]) -> Result<String> {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let lines: Vec<&str> = stderr.lines().filter(|line| !line.trim().is_empty()).collect();
    ensure!(
        output.status.code().is_some_and(|code| code != 0),
        "roam must exit non-zero, got {}; stderr: {stderr}",
        output.status
    );
    ensure!(lines.len() == 1, "one line expected, got {}:\n{stderr}", lines.len());
    let line = lines[0];
    ensure!(line.starts_with("roam: "), "not roam's error line: {line}");
    ensure!(line.contains("fix:"), "the line names no fix: {line}");
    for piece in expected {
        ensure!(line.contains(piece), "{piece:?} missing from: {line}");
    }
    Ok(line.to_owned())
}

/// Nothing of roam's in the kernel or this namespace: programs, monitor interfaces, qdiscs.
fn assert_nothing_left(station: Option<&str>) -> Result<()> {
    let programs = roam_programs_left();
    ensure!(programs.is_empty(), "programs left loaded: {programs:?}");
    let links = Command::new("ip").args(["-o", "link", "show"]).output()?;
    let links = String::from_utf8_lossy(&links.stdout);
    ensure!(!links.contains("roammon"), "a monitor interface was left: {links}");
    if let Some(station) = station {
        let qdiscs = Command::new("tc").args(["qdisc", "show", "dev", station]).output()?;
        let qdiscs = String::from_utf8_lossy(&qdiscs.stdout);
        ensure!(!qdiscs.contains("clsact"), "a clsact qdisc was left on {station}: {qdiscs}");
    }
    Ok(())
}

#[test]
fn an_interface_that_does_not_exist_is_named_with_the_fix() -> Result<()> {
    in_netns(|| {
        let output = roam_run(&["--iface", "nosuch0"], &[])?;
        assert_refused(
            &output,
            &["interface: nosuch0 is not in this network namespace", "pass an existing interface"],
        )?;
        assert_nothing_left(None)
    })
}

#[test]
fn an_interface_that_is_not_wireless_is_refused() -> Result<()> {
    in_netns(|| {
        veth_pair("roambad1", "10.81.0.1/24", "roambadp1")?;
        let output = roam_run(&["--iface", "roambad1"], &[])?;
        assert_refused(
            &output,
            &["wireless: roambad1 is not a wireless interface", "managed interface"],
        )?;
        assert_nothing_left(Some("roambad1"))
    })
}

/// A named network namespace, deleted on drop (`ip netns add` leaves a file under /run/netns).
struct NamedNetns(&'static str);

impl NamedNetns {
    fn add(name: &'static str) -> Result<Self> {
        ip(&["netns", "add", name])?;
        Ok(NamedNetns(name))
    }
}

impl Drop for NamedNetns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", self.0]).status();
    }
}

#[test]
fn an_interface_in_another_namespace_points_there() -> Result<()> {
    in_netns(|| {
        let other = NamedNetns::add("roam-bad-input")?;
        ip(&["-n", other.0, "link", "add", "roamother0", "type", "veth", "peer", "roamotherp0"])?;
        let output = roam_run(&["--iface", "roamother0"], &[])?;
        assert_refused(
            &output,
            &[
                "roamother0 is not in this network namespace",
                "named network namespaces: roam-bad-input",
                "ip netns exec NS roam",
            ],
        )?;
        assert_nothing_left(None)
    })
}

#[test]
fn an_unprivileged_user_is_told_to_use_sudo() -> Result<()> {
    in_netns(|| {
        veth_pair("roambad2", "10.82.0.1/24", "roambadp2")?;
        let nobody = ["--reuid=65534", "--regid=65534", "--clear-groups"];
        let output = roam_run(&["--iface", "roambad2"], &nobody)?;
        let line =
            assert_refused(&output, &["privileges: euid 65534 lacking CAP_BPF", "run with sudo"])?;
        // The first problem is the one to fix first: the others follow from it.
        ensure!(line.starts_with("roam: cannot run on roambad2: privileges"), "{line}");
        assert_nothing_left(Some("roambad2"))
    })
}

#[test]
fn root_without_capabilities_is_taken_for_a_container() -> Result<()> {
    in_netns(|| {
        veth_pair("roambad3", "10.83.0.1/24", "roambadp3")?;
        let no_caps = ["--inh-caps=-all", "--bounding-set=-all"];
        let output = roam_run(&["--iface", "roambad3"], &no_caps)?;
        assert_refused(
            &output,
            &["root (euid 0) but lacking CAP_BPF", "restricted capability set", "--cap-add BPF"],
        )?;
        assert_nothing_left(Some("roambad3"))
    })
}

/// Hides `path` behind an empty tmpfs in this thread's private mount namespace.
fn hide(path: &str) -> Result<()> {
    ensure!(Path::new(path).exists(), "{path} does not exist on this host");
    let none: Option<&str> = None;
    nix::mount::mount(Some("tmpfs"), path, Some("tmpfs"), nix::mount::MsFlags::empty(), none)
        .with_context(|| format!("hiding {path}"))
}

#[test]
fn a_kernel_without_btf_is_named_with_the_fix() -> Result<()> {
    in_netns(|| {
        veth_pair("roambad4", "10.84.0.1/24", "roambadp4")?;
        hide("/sys/kernel/btf")?;
        let output = roam_run(&["--iface", "roambad4"], &[])?;
        assert_refused(
            &output,
            &["kernel BTF: no /sys/kernel/btf/vmlinux", "CONFIG_DEBUG_INFO_BTF=y"],
        )?;
        assert_nothing_left(Some("roambad4"))
    })
}

#[test]
fn a_malformed_config_file_is_named_by_line_with_the_fix() -> Result<()> {
    in_netns(|| {
        let dir = std::env::temp_dir().join(format!("roam-bad-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let config = dir.join("roam.toml");
        std::fs::write(&config, "[detect]\nsilence_intervals = \"three\"\n")?;
        let output = roam_run(&["--iface", "nosuch0", "--config", config.to_str().unwrap()], &[]);
        std::fs::remove_dir_all(&dir)?;
        let output = output?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        ensure!(!output.status.success(), "a malformed config must be refused: {stderr}");
        let lines: Vec<&str> = stderr.lines().filter(|line| !line.trim().is_empty()).collect();
        ensure!(lines.len() == 1, "one line expected:\n{stderr}");
        ensure!(lines[0].contains("roam.toml:2"), "no file:line in {}", lines[0]);
        ensure!(lines[0].contains("detect.silence_intervals"), "no key in: {}", lines[0]);
        ensure!(lines[0].contains("fix: "), "no fix in: {}", lines[0]);
        assert_nothing_left(None)
    })
}
