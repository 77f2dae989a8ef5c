//! The package's `DEBIAN/md5sums`, which cargo-deb does not write: `debsums` and `dpkg --verify`
//! check installed files against it. Made as dh_md5sums makes it (every file but the
//! conffiles, which dpkg tracks on its own), by unpacking the package and building it again.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context as _, Result};

use crate::cmd;

/// Adds `DEBIAN/md5sums` to `deb`, in place; `work` is a scratch directory (emptied first).
pub fn add(deb: &Path, work: &Path) -> Result<()> {
    let _ = fs::remove_dir_all(work);
    cmd::run(Command::new("dpkg-deb").arg("--raw-extract").arg(deb).arg(work))?;
    let conffiles = fs::read_to_string(work.join("DEBIAN/conffiles")).unwrap_or_default();
    let files = summed_files(work, &conffiles)?;
    let sums = cmd::output(Command::new("md5sum").arg("--").args(&files).current_dir(work))?;
    fs::write(work.join("DEBIAN/md5sums"), sums)?;
    // The directories the extraction made carry today's time; dpkg-deb clamps every mtime to
    // SOURCE_DATE_EPOCH, so the package keeps cargo-deb's one timestamp (reproducible).
    let epoch = newest_mtime(work, &files)?;
    cmd::run(
        Command::new("dpkg-deb")
            .args(["--root-owner-group", "--build"])
            .arg(work)
            .arg(deb)
            .env("SOURCE_DATE_EPOCH", epoch.to_string())
            .stdout(std::process::Stdio::null()),
    )?;
    fs::remove_dir_all(work).with_context(|| format!("removing {}", work.display()))
}

/// The files under `root` that md5sums lists: relative paths, sorted, without DEBIAN/ and the
/// conffiles (absolute paths, one a line).
fn summed_files(root: &Path, conffiles: &str) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
            let entry = entry?;
            let path = entry.path();
            let relative = path.strip_prefix(root)?.to_path_buf();
            if entry.file_type()?.is_dir() {
                if relative != Path::new("DEBIAN") {
                    dirs.push(path);
                }
            } else if !is_conffile(&relative, conffiles) {
                files.push(relative);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// The newest modification time of `files` under `root`, in seconds since the epoch.
fn newest_mtime(root: &Path, files: &[PathBuf]) -> Result<u64> {
    let mut newest = 0;
    for file in files {
        let modified = fs::metadata(root.join(file))?.modified()?;
        newest = newest.max(modified.duration_since(std::time::UNIX_EPOCH)?.as_secs());
    }
    Ok(newest)
}

fn is_conffile(relative: &Path, conffiles: &str) -> bool {
    conffiles.lines().any(|line| Path::new(line.trim().trim_start_matches('/')) == relative)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conffiles_are_left_to_dpkg() {
        let conffiles = "/etc/roam/roam.toml\n";
        assert!(is_conffile(Path::new("etc/roam/roam.toml"), conffiles));
        assert!(!is_conffile(Path::new("usr/bin/roam"), conffiles));
        assert!(!is_conffile(Path::new("etc/roam/roam.toml"), ""));
    }
}
