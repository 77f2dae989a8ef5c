//! mac80211_hwsim: simulated radios that hear each other through the kernel ("the virtual air").

use std::{fs, path::PathBuf};

use anyhow::{bail, Context as _, Result};

use super::{paths, process, system};

/// One simulated radio and the interface mac80211 created on it.
#[derive(Debug, Clone)]
pub struct Radio {
    pub phy: String,
    pub iface: String,
    pub mac: String,
}

/// (Re)loads mac80211_hwsim with `count` radios and returns them in creation order. Reloading
/// gives every topology fresh radios (no group, channel or netns left over from a previous one).
pub fn load(count: usize) -> Result<Vec<Radio>> {
    unload()?;
    process::run(paths::MODPROBE, &[roam_testbed::RADIO_MODULE, &format!("radios={count}")])?;
    let radios = discover()?;
    if radios.len() != count {
        bail!("mac80211_hwsim radios={count} created {} radios: {radios:?}", radios.len());
    }
    Ok(radios)
}

/// Removes mac80211_hwsim and its radios. Only this module: `modprobe -r` would also remove
/// mac80211 and cfg80211 once unused, taking their trace events (set up at boot) with them.
pub fn unload() -> Result<()> {
    if fs::metadata("/sys/module/mac80211_hwsim").is_err() {
        return Ok(());
    }
    let name = c"mac80211_hwsim";
    // SAFETY: `name` is a NUL-terminated string; delete_module reads nothing else.
    let rc = unsafe { libc::syscall(libc::SYS_delete_module, name.as_ptr(), libc::O_NONBLOCK) };
    if rc != 0 {
        bail!("cannot remove mac80211_hwsim: {}", std::io::Error::last_os_error());
    }
    Ok(())
}

/// Radios visible in this network namespace, ordered by phy index.
fn discover() -> Result<Vec<Radio>> {
    let mut radios = Vec::new();
    for entry in fs::read_dir("/sys/class/net").context("listing /sys/class/net")? {
        let dir = entry?.path();
        let Ok(phy_link) = fs::read_link(dir.join("phy80211")) else {
            continue;
        };
        let phy = file_name(&phy_link);
        let mac = fs::read_to_string(dir.join("address"))?.trim().to_owned();
        radios.push(Radio { phy, iface: file_name(&dir), mac });
    }
    radios.sort_by_key(|radio| phy_index(&radio.phy));
    Ok(radios)
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

fn phy_index(phy: &str) -> u32 {
    phy.trim_start_matches("phy").parse().unwrap_or(u32::MAX)
}

/// The radio's hwsim `group` bitmask: radios hear each other only if their groups intersect, so
/// 0 isolates a radio without its driver noticing anything (all radios start in group 1).
pub fn set_group(phy: &str, group: u32) -> Result<()> {
    system::write_knob(group_knob(phy), &group.to_string())
}

pub fn group(phy: &str) -> Result<u32> {
    let path = group_knob(phy);
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    text.trim().parse().with_context(|| format!("{} holds `{}`", path.display(), text.trim()))
}

fn group_knob(phy: &str) -> PathBuf {
    PathBuf::from(format!("/sys/kernel/debug/ieee80211/{phy}/hwsim/group"))
}
