//! Booting the guest in qemu: KVM when it works, TCG otherwise; never a network device.

use std::{
    fs::{self, File},
    io::{BufRead as _, BufReader, Write as _},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _, Result};

use super::hang::{Hang, HangWatch};
use crate::cmd::note;

const QEMU: &str = "qemu-system-x86_64";
const MEMORY_MB: &str = "2048";
const CPUS: &str = "2";
/// How long a KVM guest must survive to count as working (a broken KVM aborts at once).
const KVM_PROBE: Duration = Duration::from_secs(3);

/// How qemu executes guest code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accelerator {
    Kvm,
    Tcg,
}

impl Accelerator {
    fn args(self) -> &'static [&'static str] {
        match self {
            Accelerator::Kvm => &["-accel", "kvm", "-cpu", "host"],
            Accelerator::Tcg => &["-accel", "tcg,thread=multi", "-cpu", "max"],
        }
    }

    fn name(self) -> &'static str {
        match self {
            Accelerator::Kvm => "kvm",
            Accelerator::Tcg => "tcg",
        }
    }
}

/// `ROAM_VM_MONITOR=PATH` puts qemu's monitor of a batch run on a unix socket at PATH, to look
/// inside a long session (`echo 'info jit' | socat - UNIX-CONNECT:PATH`: the translation cache).
const MONITOR_ENV: &str = "ROAM_VM_MONITOR";

fn monitor() -> String {
    match std::env::var_os(MONITOR_ENV) {
        Some(path) => format!("unix:{},server=on,wait=off", Path::new(&path).display()),
        None => "none".to_owned(),
    }
}

/// KVM if it can run a guest here, else TCG. `ROAM_VM_ACCEL=kvm|tcg` overrides; the probe's
/// answer is cached per qemu and host kernel (it costs a few seconds).
pub fn accelerator(vm_dir: &Path) -> Result<Accelerator> {
    match std::env::var("ROAM_VM_ACCEL").as_deref() {
        Ok("kvm") => return Ok(Accelerator::Kvm),
        Ok("tcg") => return Ok(Accelerator::Tcg),
        Ok(other) => bail!("ROAM_VM_ACCEL={other}: expected kvm or tcg"),
        Err(_) => {}
    }
    let key = format!(
        "{} {}",
        crate::cmd::output(Command::new(QEMU).arg("--version"))?.lines().next().unwrap_or_default(),
        fs::read_to_string("/proc/sys/kernel/osrelease")?.trim()
    );
    let cache = vm_dir.join("accelerator");
    if let Ok(cached) = fs::read_to_string(&cache) {
        if let Some((name, cached_key)) = cached.split_once('\n') {
            if cached_key == key {
                return Ok(if name == "kvm" { Accelerator::Kvm } else { Accelerator::Tcg });
            }
        }
    }
    let accelerator = if kvm_works()? { Accelerator::Kvm } else { Accelerator::Tcg };
    fs::write(&cache, format!("{}\n{key}", accelerator.name()))?;
    Ok(accelerator)
}

/// How a session's VM runs, for reports: `tcg, 2 vCPUs, 2048 MiB, QEMU emulator version 7.2.x`.
pub fn describe(vm_dir: &Path) -> Result<String> {
    let version = crate::cmd::output(Command::new(QEMU).arg("--version"))?;
    Ok(format!(
        "{}, {CPUS} vCPUs, {MEMORY_MB} MiB, {}",
        accelerator(vm_dir)?.name(),
        version.lines().next().unwrap_or_default().trim()
    ))
}

/// Starts an empty KVM machine: on hosts where KVM is broken qemu aborts immediately (e.g.
/// "failed to set MSR 0x10a"); a working one sits in the firmware looking for a boot disk.
fn kvm_works() -> Result<bool> {
    if fs::OpenOptions::new().read(true).write(true).open("/dev/kvm").is_err() {
        return Ok(false);
    }
    let child = Command::new(QEMU)
        .args(Accelerator::Kvm.args())
        .args(["-machine", "pc", "-m", "64", "-nodefaults", "-display", "none"])
        .args(["-nic", "none", "-no-reboot"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {QEMU}"))?;
    let mut guard = QemuProcess(child);
    thread::sleep(KVM_PROBE);
    Ok(guard.0.try_wait()?.is_none())
}

/// A running qemu; dropping it kills it, so no path out of this module leaves one behind.
struct QemuProcess(Child);

impl Drop for QemuProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What to boot.
pub struct Boot<'a> {
    pub accelerator: Accelerator,
    pub kernel: &'a Path,
    pub initrd: &'a Path,
    /// `roam.mode=run` or `roam.mode=shell`.
    pub mode: &'a str,
    /// A raw disk the guest writes its results onto (`/dev/vda`).
    pub results_disk: Option<&'a Path>,
}

impl Boot<'_> {
    fn command(&self) -> Command {
        let mut cmd = Command::new(QEMU);
        cmd.args(self.accelerator.args())
            .args(["-machine", "pc", "-m", MEMORY_MB, "-smp", CPUS])
            // The testbed's network is inside the guest; the host is never reachable from it.
            .args(["-nic", "none"])
            .args(["-display", "none", "-no-reboot"])
            .arg("-kernel")
            .arg(self.kernel)
            .arg("-initrd")
            .arg(self.initrd)
            .arg("-append")
            // loglevel 6: mac80211's connection messages reach the console log, which is all
            // that is left of the kernel log if the guest hangs.
            .arg(format!("console=ttyS0 loglevel=6 panic=-1 roam.mode={}", self.mode));
        if let Some(disk) = self.results_disk {
            cmd.arg("-drive").arg(format!("file={},format=raw,if=virtio", disk.display()));
        }
        cmd
    }
}

/// Runs the guest to completion with its console captured in `console_log`; lines starting
/// with `progress_prefix` are shown as they come. Kills the VM at `timeout`, or as soon as the
/// console shows it hung (see [`HangWatch`]).
pub fn run_batch(
    boot: &Boot,
    console_log: &Path,
    progress_prefix: &str,
    timeout: Duration,
) -> Result<()> {
    let mut cmd = boot.command();
    cmd.args(["-serial", "stdio", "-monitor", &monitor()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut qemu = QemuProcess(cmd.spawn().with_context(|| format!("cannot start {QEMU}"))?);
    let stdout = qemu.0.stdout.take().expect("stdout is piped");
    let (lines_tx, lines) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).split(b'\n') {
            let Ok(line) = line else { break };
            if lines_tx.send(String::from_utf8_lossy(&line).trim_end().to_owned()).is_err() {
                break;
            }
        }
    });
    let mut log = File::create(console_log)
        .with_context(|| format!("cannot create {}", console_log.display()))?;
    let deadline = Instant::now() + timeout;
    let mut watch = HangWatch::default();
    loop {
        let now = Instant::now();
        if let Some(hang) = watch.hung(now) {
            bail!("{hang}; the VM was stopped; console log: {}", console_log.display());
        }
        let remaining = deadline.saturating_duration_since(now);
        match lines.recv_timeout(remaining.min(watch.next_wait(now))) {
            Ok(line) => {
                writeln!(log, "{line}")?;
                if let Some(message) = line.strip_prefix(progress_prefix) {
                    note(message);
                }
                watch.line(&line, Instant::now());
            }
            // The console closed: qemu is exiting.
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() >= deadline => bail!(
                "the VM did not finish within {timeout:?} and was killed; console log: {}",
                console_log.display()
            ),
            Err(mpsc::RecvTimeoutError::Timeout) if watch.hung(Instant::now()).is_some() => {}
            Err(mpsc::RecvTimeoutError::Timeout) => bail!(
                "{}; the VM was stopped; console log: {}",
                Hang::Silence,
                console_log.display()
            ),
        }
    }
    let status = qemu.0.wait()?;
    if !status.success() {
        bail!("qemu exited with {status}; console log: {}", console_log.display());
    }
    Ok(())
}

/// Boots with the serial console on this terminal (Ctrl-A X quits qemu).
pub fn run_interactive(boot: &Boot) -> Result<()> {
    let mut cmd = boot.command();
    cmd.args(["-serial", "mon:stdio"]);
    let mut qemu = QemuProcess(cmd.spawn().with_context(|| format!("cannot start {QEMU}"))?);
    let status = qemu.0.wait()?;
    if !status.success() {
        bail!("qemu exited with {status}");
    }
    Ok(())
}

/// A sparse raw disk of `size` bytes for the guest to write its results onto.
pub fn create_results_disk(path: &Path, size: u64) -> Result<PathBuf> {
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    file.set_len(size)?;
    Ok(path.to_owned())
}
