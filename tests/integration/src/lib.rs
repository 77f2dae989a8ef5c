//! Fixtures for the host integration tests: private network namespaces, TUN and veth devices.
//!
//! Every test runs in a network namespace of its own, created by `unshare(CLONE_NEWNET)` on a
//! dedicated thread: devices made there vanish with the namespace when the thread ends, so a
//! failing test leaves nothing behind (no /run/netns entry, no interface, no mount). Like
//! `ip netns exec`, the thread also gets a private mount namespace with sysfs (which shows the
//! interfaces of the namespace it is mounted from) mounted afresh.

use std::{
    fs::{File, OpenOptions},
    io::Write,
    os::fd::AsRawFd,
    path::PathBuf,
    process::Command,
};

use anyhow::{bail, Context as _, Result};

/// Runs `f` on a new thread inside a fresh network namespace (loopback up) and returns its result.
pub fn in_netns<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    std::thread::spawn(move || {
        use nix::{mount::MsFlags, sched::CloneFlags};
        nix::sched::unshare(CloneFlags::CLONE_NEWNET | CloneFlags::CLONE_NEWNS)
            .context("unshare(CLONE_NEWNET | CLONE_NEWNS): the host tests need root")?;
        let none: Option<&str> = None;
        nix::mount::mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_PRIVATE, none)
            .context("making mounts private")?;
        nix::mount::mount(Some("sysfs"), "/sys", Some("sysfs"), MsFlags::empty(), none)
            .context("mounting sysfs")?;
        ip(&["link", "set", "lo", "up"])?;
        f()
    })
    .join()
    .expect("test thread panicked")
}

/// Runs `ip ARGS` (iproute2) in the calling thread's namespace.
pub fn ip(args: &[&str]) -> Result<()> {
    run("ip", args)
}

pub fn run(program: &str, args: &[&str]) -> Result<()> {
    let status =
        Command::new(program).args(args).status().with_context(|| format!("running {program}"))?;
    if !status.success() {
        bail!("{program} {} failed: {status}", args.join(" "));
    }
    Ok(())
}

pub fn sysctl(key: &str, value: &str) -> Result<()> {
    let path = PathBuf::from("/proc/sys").join(key.replace('.', "/"));
    std::fs::write(&path, value).with_context(|| format!("writing {}", path.display()))
}

/// A TUN device in packet-information mode: each write is delivered to the kernel as a packet
/// received on the device, byte for byte after the 4-byte header, so AF_PACKET sockets on it see
/// exactly the radiotap + 802.11 bytes a monitor interface would deliver. (With IFF_NO_PI the
/// kernel would demand an IPv4/IPv6 first nibble and drop radiotap frames.)
pub struct Tun {
    file: File,
    pub name: String,
}

const TUNSETIFF: libc::c_ulong = 0x4004_54ca;

impl Tun {
    pub fn create(name: &str) -> Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/net/tun")
            .context("opening /dev/net/tun")?;
        // SAFETY: ifreq is plain data.
        let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
        for (dst, src) in req.ifr_name.iter_mut().zip(name.as_bytes()) {
            *dst = *src as libc::c_char;
        }
        req.ifr_ifru.ifru_flags = libc::IFF_TUN as libc::c_short;
        // SAFETY: TUNSETIFF takes a pointer to a valid ifreq.
        if unsafe { libc::ioctl(file.as_raw_fd(), TUNSETIFF, &mut req) } < 0 {
            return Err(std::io::Error::last_os_error()).context("TUNSETIFF");
        }
        ip(&["link", "set", name, "up"])?;
        Ok(Self { file, name: name.to_owned() })
    }

    /// roam's programs started with this device as both the station and its monitor: the frame
    /// filter sees what is injected.
    pub fn observer(&self) -> Result<roam_user::ebpf::Observer> {
        roam_user::ebpf::Observer::start(&roam_user::ebpf::ObserverOptions {
            station: self.name.clone(),
            monitor: Some(self.name.clone()),
        })
    }

    /// Injects one frame as if received on the device.
    pub fn inject(&mut self, frame: &[u8]) -> Result<()> {
        // struct tun_pi { flags: u16, proto: be16 }; the protocol is irrelevant to packet sockets.
        let mut packet = vec![0, 0, 0x00, 0x19];
        packet.extend_from_slice(frame);
        self.file.write_all(&packet).context("writing to the TUN device")
    }
}

/// A veth pair: `station` with an IPv4 address, `peer` only up (it provides the carrier; an
/// address on it would be local to this namespace and routed through loopback). IPv6 is off on
/// both, so the kernel sends nothing on its own.
pub fn veth_pair(station: &str, station_addr: &str, peer: &str) -> Result<()> {
    ip(&["link", "add", station, "type", "veth", "peer", "name", peer])?;
    for dev in [station, peer] {
        sysctl(&format!("net.ipv6.conf.{dev}.disable_ipv6"), "1")?;
    }
    ip(&["addr", "add", station_addr, "dev", station])?;
    for dev in [station, peer] {
        ip(&["link", "set", dev, "up"])?;
    }
    Ok(())
}

/// Names of loaded BPF programs that are roam's (kernel names are truncated to 15 bytes).
pub fn roam_programs_loaded() -> Vec<String> {
    aya::programs::loaded_programs()
        .filter_map(Result::ok)
        .filter_map(|p| p.name_as_str().map(str::to_owned))
        .filter(|n| n.starts_with("roam_"))
        .collect()
}

/// roam's programs still loaded once the kernel has had time to free released ones: a tracing
/// program outlives its last link and descriptor by an RCU grace period (the kernel frees it
/// from a callback, and says nothing when it has), so this looks again for up to 5 s.
pub fn roam_programs_left() -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let left = roam_programs_loaded();
        if left.is_empty() || std::time::Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The `roam` binary of this build (cargo puts test binaries in target/<profile>/deps).
pub fn roam_binary() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let bin = exe.parent().and_then(|deps| deps.parent()).map(|dir| dir.join("roam"));
    match bin {
        Some(path) if path.is_file() => Ok(path),
        _ => bail!(
            "the roam binary is not built next to {}: run `cargo build -p roam-user` first",
            exe.display()
        ),
    }
}
