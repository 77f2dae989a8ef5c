//! The guest kernel: Debian's `linux-image-amd64` (the current ABI package it depends on) of
//! the guest's release, downloaded with `apt-get download` and unpacked with `dpkg -x`; nothing
//! is installed on the host. Cached under <release dir>/kernel/<package>/ until Debian moves
//! the ABI on.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{bail, Context as _, Result};

use super::apt::Apt;
use crate::cmd::{self, note, step};

/// The meta-package that always depends on the current kernel ABI package.
const META_PACKAGE: &str = "linux-image-amd64";
const READY_STAMP: &str = ".ready";

/// An unpacked kernel package.
pub struct Kernel {
    /// `6.1.0-56-amd64`
    pub version: String,
    pub vmlinuz: PathBuf,
    /// The unpacked package (holds lib/modules/<version>, with modules.dep from depmod).
    pub root: PathBuf,
}

impl Kernel {
    pub fn modules_dir(&self) -> PathBuf {
        self.root.join("lib/modules").join(&self.version)
    }
}

/// The cached kernel under `dir`, downloading it first if the current ABI package is not
/// cached yet.
pub fn ensure(dir: &Path, apt: &Apt) -> Result<Kernel> {
    let cache = dir.join("kernel");
    let package = match current_package(apt) {
        Ok(package) => package,
        Err(err) => {
            // Offline, but a kernel was fetched before: use it.
            if let Some(kernel) = newest_cached(&cache)? {
                note(format!(
                    "cannot resolve {META_PACKAGE} ({err:#}); using cached {}",
                    kernel.version
                ));
                return Ok(kernel);
            }
            return Err(err);
        }
    };
    let root = cache.join(&package);
    if root.join(READY_STAMP).exists() {
        return load(&root);
    }
    step(format!("Fetching the guest kernel ({package})"));
    let download = cache.join("download");
    let _ = fs::remove_dir_all(&download);
    fs::create_dir_all(&download)?;
    // Since linux 6.17 (sid) the image package is empty: the kernel, its modules and depmod's
    // inputs are in the linux-binary-, linux-modules- and linux-base-<abi> packages it
    // depends on.
    let depends = cmd::output(apt.command("apt-cache").args(["depends", &package]))?;
    let mut packages = vec![package.clone()];
    packages.extend(split_parts(&depends));
    cmd::run(apt.command("apt-get").arg("download").args(&packages).current_dir(&download))
        .with_context(|| {
            format!("apt-get download {packages:?} failed; is `apt-get update` needed?")
        })?;
    let debs: Vec<PathBuf> = fs::read_dir(&download)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "deb"))
        .collect();
    if debs.len() != packages.len() {
        bail!("apt-get download {packages:?} gave {} packages", debs.len());
    }
    let unpacking = cache.join(format!("{package}.partial"));
    let _ = fs::remove_dir_all(&unpacking);
    for deb in &debs {
        cmd::run(Command::new("dpkg").arg("-x").arg(deb).arg(&unpacking))?;
    }
    // Merged-/usr packages (trixie on) ship usr/lib/modules; depmod and modprobe -d look
    // under <root>/lib/modules, as the merged system's /lib symlink would give them.
    if !unpacking.join("lib").exists() && unpacking.join("usr/lib/modules").exists() {
        std::os::unix::fs::symlink("usr/lib", unpacking.join("lib"))?;
    }
    let version = module_version(&unpacking)?;
    // The .deb ships no modules.dep: the postinst would run depmod.
    depmod(&unpacking, &version)?;
    fs::write(unpacking.join(READY_STAMP), &version)?;
    let _ = fs::remove_dir_all(&root);
    fs::rename(&unpacking, &root)?;
    fs::remove_dir_all(&download)?;
    note(format!("kernel {version} unpacked in {}", root.display()));
    load(&root)
}

/// depmod over the modules under `base`/lib/modules/`version`.
pub fn depmod(base: &Path, version: &str) -> Result<()> {
    cmd::run(Command::new("depmod").arg("-b").arg(base).arg(version))
}

/// `linux-image-6.1.0-56-amd64`, from the meta-package's dependency.
fn current_package(apt: &Apt) -> Result<String> {
    let depends = cmd::output(apt.command("apt-cache").args(["depends", META_PACKAGE]))?;
    parse_current_package(&depends).with_context(|| {
        format!("`apt-cache depends {META_PACKAGE}` names no kernel image; run `apt-get update`")
    })
}

/// The packages a split kernel image depends on for its files: `linux-base-<abi>`,
/// `linux-binary-<abi>`, `linux-modules-<abi>` (none for a kernel of one package).
fn split_parts(apt_cache_depends: &str) -> Vec<String> {
    apt_cache_depends
        .lines()
        .filter_map(|line| line.trim().strip_prefix("Depends: "))
        .map(str::trim)
        .filter(|p| {
            ["linux-base-", "linux-binary-", "linux-modules-"].iter().any(|x| p.starts_with(x))
        })
        .map(str::to_owned)
        .collect()
}

fn parse_current_package(apt_cache_depends: &str) -> Option<String> {
    apt_cache_depends.lines().find_map(|line| {
        let package = line.trim().strip_prefix("Depends: ")?;
        package.starts_with("linux-image-").then(|| package.trim().to_owned())
    })
}

fn module_version(root: &Path) -> Result<String> {
    let mut versions = fs::read_dir(root.join("lib/modules"))
        .context("the kernel package has no lib/modules")?
        .filter_map(|e| e.ok()?.file_name().into_string().ok());
    match (versions.next(), versions.next()) {
        (Some(version), None) => Ok(version),
        _ => bail!("expected one kernel version in {}/lib/modules", root.display()),
    }
}

fn load(root: &Path) -> Result<Kernel> {
    let version = fs::read_to_string(root.join(READY_STAMP))?.trim().to_owned();
    // /boot/vmlinuz-<version>, or (linux-binary packages, since 6.17) beside the modules.
    let vmlinuz = [
        root.join("boot").join(format!("vmlinuz-{version}")),
        root.join("usr/lib/modules").join(&version).join("vmlinuz"),
    ]
    .into_iter()
    .find(|path| path.exists())
    .unwrap_or_else(|| root.join("boot").join(format!("vmlinuz-{version}")));
    if !vmlinuz.exists() {
        bail!("{} is missing; delete {} to fetch it again", vmlinuz.display(), root.display());
    }
    Ok(Kernel { version, vmlinuz, root: root.to_owned() })
}

fn newest_cached(cache: &Path) -> Result<Option<Kernel>> {
    let Ok(entries) = fs::read_dir(cache) else {
        return Ok(None);
    };
    let mut ready: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join(READY_STAMP).exists())
        .collect();
    ready.sort();
    ready.last().map(|root| load(root)).transpose()
}

#[cfg(test)]
mod tests {
    use super::{parse_current_package, split_parts};

    #[test]
    fn a_split_kernel_image_brings_its_binary_and_modules() {
        let out = "linux-image-7.2.13+deb14-amd64\n  Depends: dracut\n |Depends: initramfs-tools\n\
                   \x20 Depends: linux-base-7.2.13+deb14-amd64\n\
                   \x20 Depends: linux-binary-7.2.13+deb14-amd64\n\
                   \x20 Depends: linux-modules-7.2.13+deb14-amd64\n";
        assert_eq!(
            split_parts(out),
            [
                "linux-base-7.2.13+deb14-amd64",
                "linux-binary-7.2.13+deb14-amd64",
                "linux-modules-7.2.13+deb14-amd64"
            ]
        );
        assert!(split_parts("linux-image-6.1.0-56-amd64\n  Depends: kmod\n").is_empty());
    }

    #[test]
    fn abi_package_from_apt_cache() {
        let out = "linux-image-amd64\n  Depends: linux-image-6.1.0-56-amd64\n";
        assert_eq!(parse_current_package(out).as_deref(), Some("linux-image-6.1.0-56-amd64"));
        assert_eq!(parse_current_package("linux-image-amd64\n"), None);
    }
}
