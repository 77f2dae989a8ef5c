//! The Debian release the guest is made of. Bookworm, the host's own, takes the host's
//! packages (the image copies their binaries); trixie and sid come from Debian's archive
//! through a private apt: every package the testbed runs, with its dependencies, downloaded
//! and unpacked with `dpkg -x` into one root the image takes its binaries and libraries from.
//! Nothing is installed on the host.

use std::{
    fs,
    path::{Path, PathBuf},
};

use anyhow::{bail, Context as _, Result};
use serde::{Deserialize, Serialize};

use super::apt::Apt;
use crate::cmd::{self, note, step};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Debian {
    /// Debian 12: linux 6.1, wpa_supplicant 2.10, iwd 2.3 (the host's packages).
    #[default]
    Bookworm,
    /// Debian 13: linux 6.12, iwd 3.8, NetworkManager 1.52.
    Trixie,
    /// Debian unstable: linux 7.x, wpa_supplicant 2.11, iwd 3.12 (at the end of 2026).
    Sid,
}

const READY_STAMP: &str = ".ready";

impl Debian {
    pub fn suite(self) -> &'static str {
        match self {
            Debian::Bookworm => "bookworm",
            Debian::Trixie => "trixie",
            Debian::Sid => "sid",
        }
    }

    /// Where this release's image is cached: target/vm itself for bookworm (as it always
    /// was), target/vm/<suite> for the others.
    pub fn dir(self, vm: &Path) -> PathBuf {
        match self {
            Debian::Bookworm => vm.to_owned(),
            other => vm.join(other.suite()),
        }
    }

    /// The apt this release's packages come from (its lists fetched).
    pub fn apt(self, vm: &Path) -> Result<Apt> {
        match self {
            Debian::Bookworm => Ok(Apt::Host),
            other => {
                let apt = Apt::private(&other.dir(vm).join("apt"), other.suite())?;
                if let Err(err) = apt.update() {
                    // Offline, but the lists were fetched before: the cached root and kernel
                    // still match them.
                    if !apt.has_lists() {
                        return Err(err);
                    }
                    note(format!("{err:#}; using the package lists fetched before"));
                }
                Ok(apt)
            }
        }
    }
}

/// `packages` and their dependencies unpacked into `dir`/root; rebuilt when a version changes.
pub struct Root {
    pub dir: PathBuf,
    /// The unpacked package files, one a line (name_version_arch.deb): what the root is made of.
    pub contents: String,
}

pub fn ensure_root(apt: &Apt, dir: &Path, packages: &[&str]) -> Result<Root> {
    let root = dir.join("root");
    let closure = apt.closure(packages)?;
    let files = apt.file_names(&closure)?;
    let contents = files.join("\n");
    if fs::read_to_string(root.join(READY_STAMP)).is_ok_and(|stamp| stamp == contents) {
        note(format!("user space: cached ({} packages in {})", files.len(), root.display()));
        return Ok(Root { dir: root, contents });
    }
    step(format!("Fetching the guest's user space ({} packages with dependencies)", files.len()));
    let download = dir.join("debs");
    let _ = fs::remove_dir_all(&download);
    let debs = apt.download(&closure, &download)?;
    if debs.len() != files.len() {
        bail!("apt-get download gave {} packages of {}", debs.len(), files.len());
    }
    let partial = dir.join("root.partial");
    let _ = fs::remove_dir_all(&partial);
    fs::create_dir_all(&partial)?;
    for deb in &debs {
        cmd::run(std::process::Command::new("dpkg").arg("-x").arg(deb).arg(&partial))
            .with_context(|| format!("unpacking {}", deb.display()))?;
    }
    fs::write(partial.join(READY_STAMP), &contents)?;
    let _ = fs::remove_dir_all(&root);
    fs::rename(&partial, &root)?;
    fs::remove_dir_all(&download)?;
    note(format!("{} packages unpacked in {}", debs.len(), root.display()));
    Ok(Root { dir: root, contents })
}
