//! The guest kernel: Debian's `linux-image-amd64` (the current ABI package it depends on),
//! downloaded with `apt-get download` and unpacked with `dpkg -x`; nothing is installed on the
//! host. Cached under target/vm/kernel/<package>/ until Debian moves the ABI on.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{bail, Context as _, Result};

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

/// The cached kernel, downloading it first if the current ABI package is not cached yet.
pub fn ensure(vm_dir: &Path) -> Result<Kernel> {
    let cache = vm_dir.join("kernel");
    let package = match current_package() {
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
    cmd::run(
        Command::new("apt-get") // As root, apt fetches as user _apt unless told otherwise, and warns that it cannot.
            .args(["download", "-q", "-o", "APT::Sandbox::User=root", &package])
            .current_dir(&download),
    )
    .with_context(|| format!("apt-get download {package} failed; is `apt-get update` needed?"))?;
    let deb = fs::read_dir(&download)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .with_context(|| format!("apt-get download {package} produced no .deb"))?;
    let unpacking = cache.join(format!("{package}.partial"));
    let _ = fs::remove_dir_all(&unpacking);
    cmd::run(Command::new("dpkg").arg("-x").arg(&deb).arg(&unpacking))?;
    let version = module_version(&unpacking)?;
    // The .deb ships no modules.dep: the postinst would run depmod.
    cmd::run(Command::new("depmod").arg("-b").arg(&unpacking).arg(&version))?;
    fs::write(unpacking.join(READY_STAMP), &version)?;
    let _ = fs::remove_dir_all(&root);
    fs::rename(&unpacking, &root)?;
    fs::remove_dir_all(&download)?;
    note(format!("kernel {version} unpacked in {}", root.display()));
    load(&root)
}

/// `linux-image-6.1.0-56-amd64`, from the meta-package's dependency.
fn current_package() -> Result<String> {
    let depends = cmd::output(Command::new("apt-cache").args(["depends", META_PACKAGE]))?;
    parse_current_package(&depends).with_context(|| {
        format!("`apt-cache depends {META_PACKAGE}` names no kernel image; run `apt-get update`")
    })
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
    let vmlinuz = root.join("boot").join(format!("vmlinuz-{version}"));
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
    use super::parse_current_package;

    #[test]
    fn abi_package_from_apt_cache() {
        let out = "linux-image-amd64\n  Depends: linux-image-6.1.0-56-amd64\n";
        assert_eq!(parse_current_package(out).as_deref(), Some("linux-image-6.1.0-56-amd64"));
        assert_eq!(parse_current_package("linux-image-amd64\n"), None);
    }
}
