//! The way results leave the VM: a tar archive written onto the raw results disk.

use std::{
    fs::OpenOptions,
    path::Path,
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _, Result};

/// The results disk (the first virtio disk; the VM has no other).
pub const RESULTS_DEVICE: &str = "/dev/vda";

/// Archives `dir` onto `device`. The host reads the tar straight off the disk image.
pub fn write_archive(dir: &Path, device: &Path) -> Result<()> {
    wait_for_device(device)?;
    let disk = OpenOptions::new()
        .write(true)
        .open(device)
        .with_context(|| format!("cannot open {}", device.display()))?;
    let mut archive = tar::Builder::new(disk);
    archive.follow_symlinks(false);
    archive.append_dir_all(".", dir).with_context(|| format!("archiving {}", dir.display()))?;
    let disk = archive.into_inner()?;
    disk.sync_all()?;
    Ok(())
}

/// The disk node appears once virtio_blk has probed the device.
fn wait_for_device(device: &Path) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !device.exists() {
        if Instant::now() > deadline {
            bail!("{} did not appear: is the results disk attached?", device.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}
