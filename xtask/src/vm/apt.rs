//! apt as the testbed uses it: the host's own (bookworm, the host's release), or a private one
//! for another Debian release, with its own sources list, state and cache under target/vm, so
//! nothing of the host's apt configuration or package state is read or changed.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context as _, Result};

use crate::cmd::{self, step};

/// Where packages come from.
pub enum Apt {
    /// The host's apt (its sources, lists and cache).
    Host,
    /// A private apt for one suite of Debian's archive.
    Private { dir: PathBuf, suite: &'static str },
}

const ARCHIVE: &str = "http://deb.debian.org/debian";
/// The archive's keys (debian-archive-keyring); bookworm's holds the keys trixie and sid are
/// signed with.
const KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

impl Apt {
    /// A private apt for `suite` under `dir` (made if missing).
    pub fn private(dir: &Path, suite: &'static str) -> Result<Apt> {
        for sub in
            ["etc/preferences.d", "etc/apt.conf.d", "state/lists/partial", "cache/archives/partial"]
        {
            fs::create_dir_all(dir.join(sub))?;
        }
        fs::write(
            dir.join("etc/sources.list"),
            format!("deb [signed-by={KEYRING}] {ARCHIVE} {suite} main\n"),
        )?;
        let status = dir.join("state/status");
        if !status.exists() {
            fs::write(&status, "")?;
        }
        Ok(Apt::Private { dir: dir.to_owned(), suite })
    }

    /// `program` (apt-get, apt-cache) with this apt's configuration. As root, apt fetches as
    /// user _apt unless told otherwise, and warns that it cannot.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command.args(["-q", "-o", "APT::Sandbox::User=root"]);
        if let Apt::Private { dir, .. } = self {
            let at = |sub: &str| dir.join(sub).display().to_string();
            for (option, value) in [
                ("Dir::Etc::SourceList", at("etc/sources.list")),
                ("Dir::Etc::SourceParts", at("etc/sources.list.d")),
                ("Dir::Etc::Preferences", at("etc/preferences")),
                ("Dir::Etc::PreferencesParts", at("etc/preferences.d")),
                ("Dir::Etc::Parts", at("etc/apt.conf.d")),
                ("Dir::State", at("state")),
                ("Dir::State::status", at("state/status")),
                ("Dir::Cache", at("cache")),
            ] {
                command.arg("-o").arg(format!("{option}={value}"));
            }
        }
        command
    }

    /// Fetches the package lists of a private apt (the host's are the host's business).
    pub fn update(&self) -> Result<()> {
        if let Apt::Private { suite, .. } = self {
            step(format!("apt-get update ({suite}, private lists)"));
            cmd::run(self.command("apt-get").arg("update")).with_context(|| {
                format!("fetching Debian {suite}'s package lists from {ARCHIVE}")
            })?;
        }
        Ok(())
    }

    /// Whether a private apt has package lists from an earlier update.
    pub fn has_lists(&self) -> bool {
        let Apt::Private { dir, .. } = self else { return true };
        fs::read_dir(dir.join("state/lists")).is_ok_and(|entries| {
            entries
                .filter_map(|e| e.ok())
                .any(|e| e.file_name().to_string_lossy().contains("_Packages"))
        })
    }

    /// `packages` and everything they depend on (pre-depends included; recommends not), as
    /// real package names.
    pub fn closure(&self, packages: &[&str]) -> Result<Vec<String>> {
        let listing = cmd::output(
            self.command("apt-cache")
                .args(["depends", "--recurse", "--no-recommends", "--no-suggests"])
                .args(["--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances"])
                .args(packages),
        )?;
        Ok(parse_closure(&listing))
    }

    /// The files `apt-get download` would fetch for `packages` (name_version_arch.deb, sorted):
    /// what a cache of them is keyed by.
    pub fn file_names(&self, packages: &[String]) -> Result<Vec<String>> {
        let uris =
            cmd::output(self.command("apt-get").args(["download", "--print-uris"]).args(packages))?;
        Ok(parse_file_names(&uris))
    }

    /// Downloads `packages` into `dir`; returns the .deb files there.
    pub fn download(&self, packages: &[String], dir: &Path) -> Result<Vec<PathBuf>> {
        fs::create_dir_all(dir)?;
        cmd::run(self.command("apt-get").arg("download").args(packages).current_dir(dir))
            .context("apt-get download failed; is `apt-get update` needed?")?;
        let mut debs: Vec<PathBuf> = fs::read_dir(dir)?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|x| x == "deb"))
            .collect();
        debs.sort();
        Ok(debs)
    }
}

/// The package names of `apt-cache depends --recurse`: its unindented lines, without the
/// virtual packages (`<name>`), which apt lists with their providers.
fn parse_closure(listing: &str) -> Vec<String> {
    let mut names: Vec<String> = listing
        .lines()
        .filter(|line| !line.starts_with(' ') && !line.starts_with('<') && !line.is_empty())
        .map(|line| line.trim().to_owned())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The second field of each `'URI' FILE SIZE HASH` line of `apt-get download --print-uris`.
fn parse_file_names(uris: &str) -> Vec<String> {
    let mut files: Vec<String> = uris
        .lines()
        .filter(|line| line.starts_with('\''))
        .filter_map(|line| line.split_whitespace().nth(1))
        .map(str::to_owned)
        .collect();
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_closure_is_every_real_package_apt_cache_lists() {
        let listing = "iwd\n  Depends: libc6\n  Depends: <dbus-system-bus>\n    dbus-broker\n\
                       libc6\n  Depends: libgcc-s1\n<dbus-system-bus>\ndbus-broker\nlibc6\n";
        assert_eq!(parse_closure(listing), ["dbus-broker", "iwd", "libc6"]);
    }

    #[test]
    fn file_names_come_from_the_printed_uris() {
        let uris = "'http://deb.debian.org/debian/pool/main/i/iwd/iwd_3.8-2_amd64.deb' \
                    iwd_3.8-2_amd64.deb 535232 SHA256:3eb7\n\
                    'http://deb.debian.org/debian/pool/main/w/wpa/hostapd_2.10-24_amd64.deb' \
                    hostapd_2%3a2.10-24_amd64.deb 870404 SHA256:d9c6\n";
        assert_eq!(
            parse_file_names(uris),
            ["hostapd_2%3a2.10-24_amd64.deb", "iwd_3.8-2_amd64.deb"]
        );
    }
}
