//! PID 1 of the VM: mounts, kernel modules, then either the plan (`roam.mode=run`) or a shell
//! (`roam.mode=shell`); powers the VM off at the end, whatever happened.

use std::{
    fs::OpenOptions,
    os::unix::process::CommandExt as _,
    process::{Command, Stdio},
};

use anyhow::{Context as _, Result};

use super::{paths, process, system};

pub fn started_as_init() -> bool {
    std::process::id() == 1
}

pub fn main() -> ! {
    if let Err(err) = boot() {
        system::progress(format!("init failed: {err:#}"));
    }
    system::power_off()
}

fn boot() -> Result<()> {
    mount_filesystems()?;
    std::env::set_var("PATH", "/usr/sbin:/usr/bin:/usr/local/bin");
    for module in roam_testbed::BOOT_MODULES {
        if let Err(err) = process::run(paths::MODPROBE, &[module]) {
            system::progress(format!("warning: {err:#}"));
        }
    }
    process::ip(&["link", "set", "lo", "up"])?;
    match system::cmdline_value("roam.mode").as_deref() {
        Some("shell") => shell(),
        _ => {
            system::progress("booted; running the plan");
            run_as_child(Command::new(paths::TESTBED).arg("run"))
        }
    }
}

fn mount_filesystems() -> Result<()> {
    system::mount("proc", "/proc", "proc")?;
    system::mount("sysfs", "/sys", "sysfs")?;
    system::mount("devtmpfs", "/dev", "devtmpfs")?;
    system::mount("devpts", "/dev/pts", "devpts")?;
    system::mount("tmpfs", "/run", "tmpfs")?;
    system::mount("tmpfs", "/tmp", "tmpfs")?;
    system::mount("debugfs", "/sys/kernel/debug", "debugfs")?;
    system::mount("tracefs", "/sys/kernel/tracing", "tracefs")
}

/// Runs the program as a child and reaps every process until it exits: as PID 1 this process
/// inherits every orphan (daemons whose parent died), and must not leave them as zombies.
fn run_as_child(cmd: &mut Command) -> Result<()> {
    let child = cmd.spawn().context("cannot start the runner")?;
    let pid = child.id() as libc::pid_t;
    loop {
        let mut status = 0;
        // SAFETY: status is a valid out-pointer.
        let reaped = unsafe { libc::waitpid(-1, &mut status, 0) };
        if reaped == pid || reaped < 0 {
            return Ok(());
        }
    }
}

fn shell() -> Result<()> {
    // Busybox applets for everything iproute2/iw/... do not provide, behind the real tools.
    process::run(paths::BUSYBOX, &["--install", "-s", "/usr/local/bin"])?;
    // Debian's busybox shell runs its own applets before anything on PATH: aliases make `ip`,
    // `modprobe`... the real tools in the interactive shell (read through $ENV).
    let shrc = "/tmp/roam-testbed.shrc";
    std::fs::write(
        shrc,
        format!(
            "alias ip={ip} modprobe={modprobe} rmmod=/usr/sbin/rmmod insmod=/usr/sbin/insmod \
             lsmod=/usr/sbin/lsmod\n",
            ip = paths::IP,
            modprobe = paths::MODPROBE
        ),
    )?;
    println!(
        "\nroam testbed shell. `roam-testbed up` builds the topology (APs, bridge, station in netns {}),\n\
         `ip netns exec {} roam-testbed probe` sends probes. `ip`, `modprobe`... are aliases of the real\n\
         tools ({}, {}); elsewhere call them by absolute path.\n\
         Exit the shell to power off (or Ctrl-A X in qemu).\n",
        paths::STA_NETNS,
        paths::STA_NETNS,
        paths::IP,
        paths::IW
    );
    let tty = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/ttyS0")
        .context("cannot open the serial console")?;
    let mut cmd = Command::new("/bin/sh");
    cmd.stdin(Stdio::from(tty.try_clone()?))
        .stdout(Stdio::from(tty.try_clone()?))
        .stderr(Stdio::from(tty))
        .env("PS1", "roam-vm# ")
        .env("ENV", shrc)
        .env("HOME", "/tmp");
    // SAFETY: setsid and ioctl are async-signal-safe; the closure touches no shared state.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            libc::ioctl(0, libc::TIOCSCTTY, 0);
            Ok(())
        });
    }
    run_as_child(&mut cmd)
}
