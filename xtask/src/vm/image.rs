//! The guest image: Debian's kernel plus an initramfs made of layered cpio archives, of one
//! Debian release ([`Debian`]: the host's packages for bookworm, the archive's for the others).
//!
//! - `base.cpio` (cached, rebuilt only when the kernel or a package changes): kernel modules,
//!   the system programs (hostapd, wpa_supplicant, iwd, dbus-daemon, iw, iproute2, tcpdump,
//!   busybox, kmod) with their shared libraries, the regulatory database, the directory
//!   skeleton with a minimal password database;
//! - `project.cpio` (rebuilt every time, it is small): the testbed's guest binary (`/init`), the
//!   roam agent if one is built, and any extra binaries (built on the host, with the guest
//!   release's libraries);
//! - a per-session archive with the run plan.
//!
//! The kernel unpacks concatenated archives in order, so the layers need no merging.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs::{self, File},
    io::BufWriter,
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{bail, Context as _, Result};

pub use super::release::Debian;
use super::{
    cpio::CpioWriter,
    kernel,
    kernel::Kernel,
    packages, release,
    shared_libs::{Libraries, Library},
};
use crate::cmd::{self, note, step};

/// Bump when the base archive's layout, or how its binaries' libraries are found, changes, so
/// caches rebuild.
const BASE_LAYOUT: u32 = 4;

/// Host programs copied into the guest at the same path (the host is merged-/usr Debian).
const SYSTEM_BINARIES: &[&str] = &[
    "/usr/sbin/hostapd",
    "/usr/sbin/hostapd_cli",
    "/usr/sbin/wpa_supplicant",
    "/usr/sbin/wpa_cli",
    "/usr/libexec/iwd",
    "/usr/bin/iwctl",
    "/usr/bin/dbus-daemon",
    "/usr/bin/dbus-send",
    "/usr/bin/dbus-monitor",
    "/usr/sbin/iw",
    "/usr/bin/ip",
    "/usr/sbin/tc",
    "/usr/bin/tcpdump",
    "/usr/bin/busybox",
    "/usr/bin/kmod",
    "/usr/bin/setpriv",
    "/usr/sbin/bpftool",
];

/// Programs that go in where the guest's packages have them: the newer releases' roots, or for
/// a bookworm guest the host, else bookworm's managers unpacked from its archive.
const OPTIONAL_BINARIES: &[&str] = &[
    "/usr/sbin/NetworkManager",
    "/usr/bin/nmcli",
    "/usr/sbin/dnsmasq",
    "/usr/bin/unshare",
    "/usr/lib/systemd/systemd-networkd",
    "/usr/bin/networkctl",
];

/// NetworkManager's device plugins (the Wi-Fi one is dlopen()ed, so no loader lists it).
const NETWORKMANAGER_PLUGINS: &str = "/usr/lib/x86_64-linux-gnu/NetworkManager";
/// The one plugin the guest needs: the others (modems, Bluetooth, teams, PPP) would bring
/// their libraries into every boot's initramfs for nothing.
const NETWORKMANAGER_WIFI_PLUGIN: &str = "libnm-device-plugin-wifi.so";

const SYMLINKS: &[(&str, &str)] = &[
    ("/bin", "usr/bin"),
    ("/sbin", "usr/sbin"),
    ("/lib", "usr/lib"),
    ("/lib64", "usr/lib64"),
    ("/usr/sbin/modprobe", "/usr/bin/kmod"),
    ("/usr/sbin/rmmod", "/usr/bin/kmod"),
    ("/usr/sbin/insmod", "/usr/bin/kmod"),
    ("/usr/sbin/lsmod", "/usr/bin/kmod"),
    ("/usr/sbin/ip", "/usr/bin/ip"),
    ("/usr/bin/sh", "busybox"),
    ("/init", "/usr/bin/roam-testbed"),
];

/// Files of the guest's /etc: dbus-daemon (the iwd stack's bus) looks its clients' uid up in
/// the password database and refuses to run without an entry for its own.
/// systemd-networkd (the networkd stacks) drops to its own user, and takes its DHCP client's
/// DUID from the machine id.
const ETC_FILES: &[(&str, &str)] = &[
    ("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nsystemd-network:x:998:998::/:/bin/false\n"),
    ("/etc/group", "root:x:0:\nsystemd-network:x:998:\n"),
    ("/etc/machine-id", "726f616d746573746265640000000001\n"),
];

/// depmod's inputs besides the modules themselves.
const MODULE_METADATA: &[&str] = &["modules.order", "modules.builtin", "modules.builtin.modinfo"];

/// The regulatory database (without it cfg80211 is stuck in the world domain). On the host the
/// alternatives system points these at Debian's copies; an unpacked root has only those,
/// under the names of the second column.
const FIRMWARE: &[(&str, &str)] = &[
    ("/usr/lib/firmware/regulatory.db", "/usr/lib/firmware/regulatory.db-debian"),
    ("/usr/lib/firmware/regulatory.db.p7s", "/usr/lib/firmware/regulatory.db.p7s-debian"),
];

/// A host binary to put into the guest (its shared libraries come along).
#[derive(Debug, Clone)]
pub struct GuestBinary {
    pub host: PathBuf,
    /// Absolute path inside the guest.
    pub guest: String,
}

/// What goes into the project layer besides the testbed itself.
#[derive(Debug, Default)]
pub struct ImageSpec {
    /// The roam agent; `None` looks for target/{release,debug}/roam.
    pub roam: Option<PathBuf>,
    /// More binaries, e.g. tools another part of the project wants in the VM.
    pub extra: Vec<GuestBinary>,
    /// The Debian release of the guest's kernel and programs.
    pub debian: Debian,
}

/// A built image, ready to boot.
pub struct Image {
    pub kernel: PathBuf,
    /// Initramfs layers, in unpack order.
    pub archives: Vec<PathBuf>,
    /// Whether the roam agent is in the image (the `roam` stack needs it).
    pub roam: Option<PathBuf>,
    pub debian: Debian,
    /// `6.12.57+deb13-amd64`
    pub kernel_version: String,
}

impl Image {
    /// Writes the initramfs: the image's layers, then `extra` layers (e.g. the run plan).
    pub fn write_initrd(&self, extra: &[PathBuf], out: &Path) -> Result<()> {
        let mut initrd = BufWriter::new(File::create(out)?);
        for layer in self.archives.iter().chain(extra) {
            let mut file =
                File::open(layer).with_context(|| format!("cannot open {}", layer.display()))?;
            std::io::copy(&mut file, &mut initrd)?;
        }
        initrd.into_inner()?.sync_all()?;
        Ok(())
    }
}

/// The directory all VM artefacts live in (target/vm).
pub fn vm_dir() -> PathBuf {
    target_dir().join("vm")
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| cmd::workspace_root().join("target"))
}

/// The guest's programs: the host's (bookworm) or an unpacked root of another release.
struct UserSpace {
    root: Option<release::Root>,
    libraries: Libraries,
    /// Bookworm's connection managers, which the host does not install: unpacked from its
    /// archive, taken with their own libraries.
    managers: Option<release::Root>,
}

impl UserSpace {
    /// Where the guest's `path` is read from.
    fn file(&self, path: &str) -> PathBuf {
        match &self.root {
            Some(root) => root.dir.join(path.trim_start_matches('/')),
            None => PathBuf::from(path),
        }
    }

    /// The optional program `path` and where its libraries come from, if this guest has it.
    fn optional(&self, path: &str) -> Option<(PathBuf, Libraries)> {
        let own = self.file(path);
        if own.exists() {
            return Some((own, self.libraries.clone()));
        }
        let managers = self.managers.as_ref()?;
        let unpacked = managers.dir.join(path.trim_start_matches('/'));
        unpacked.exists().then(|| (unpacked, Libraries::Root(managers.dir.clone())))
    }

    /// What the cache of the base layer is keyed by.
    fn contents(&self) -> Result<String> {
        let own = match &self.root {
            Some(root) => root.contents.clone(),
            None => packages::installed_versions()?,
        };
        Ok(match &self.managers {
            Some(managers) => format!("{own}\nmanagers:\n{}", managers.contents),
            None => own,
        })
    }
}

/// Builds (or reuses) every layer.
pub fn build(spec: &ImageSpec) -> Result<Image> {
    packages::ensure()?;
    let vm = vm_dir();
    let dir = spec.debian.dir(&vm);
    fs::create_dir_all(&dir)?;
    step(format!("Guest of Debian {}", spec.debian.suite()));
    let apt = spec.debian.apt(&vm)?;
    let user_space = match spec.debian {
        Debian::Bookworm => {
            let managers = release::ensure_root(
                &apt,
                &dir.join("managers"),
                packages::BOOKWORM_MANAGER_PACKAGES,
            )?;
            UserSpace { root: None, libraries: Libraries::Host, managers: Some(managers) }
        }
        _ => {
            let wanted: Vec<&str> = packages::GUEST_PACKAGES
                .iter()
                .chain(packages::ROOT_ONLY_PACKAGES)
                .copied()
                .collect();
            let root = release::ensure_root(&apt, &dir, &wanted)?;
            let libraries = Libraries::Root(root.dir.clone());
            UserSpace { root: Some(root), libraries, managers: None }
        }
    };
    let kernel = kernel::ensure(&dir, &apt)?;
    let base = base_archive(&dir, &kernel, &user_space)?;
    let testbed = build_testbed()?;
    let roam = spec.roam.clone().or_else(find_roam_binary);
    let mut binaries = vec![GuestBinary { host: testbed, guest: "/usr/bin/roam-testbed".into() }];
    match &roam {
        Some(path) => {
            note(format!("roam agent: {}", path.display()));
            binaries.push(GuestBinary { host: path.clone(), guest: "/usr/bin/roam".into() });
        }
        None => note("roam agent: not built (the `roam` stack is unavailable)"),
    }
    binaries.extend(spec.extra.iter().cloned());
    for binary in &mut binaries {
        binary.host = without_debug_info(&vm, &binary.host);
    }
    let project = dir.join("project.cpio");
    write_archive(&project, |cpio| add_binaries(cpio, &[(&binaries, &user_space.libraries)]))?;
    Ok(Image {
        kernel: kernel.vmlinuz,
        archives: vec![base, project],
        roam,
        debian: spec.debian,
        kernel_version: kernel.version,
    })
}

/// The newest of target/release/roam and target/debug/roam, if any.
pub fn find_roam_binary() -> Option<PathBuf> {
    ["release", "debug"]
        .iter()
        .map(|profile| target_dir().join(profile).join("roam"))
        .filter_map(|path| Some((fs::metadata(&path).ok()?.modified().ok()?, path)))
        .max()
        .map(|(_, path)| path)
}

/// A copy of `binary` without debug sections (a debug build of the agent is mostly DWARF, and
/// every byte of the initramfs is unpacked at each boot). Falls back to the original if `strip`
/// (binutils) is unavailable.
fn without_debug_info(vm: &Path, binary: &Path) -> PathBuf {
    let Some(name) = binary.file_name() else {
        return binary.to_owned();
    };
    let stripped = vm.join("stripped").join(name);
    let _ = fs::create_dir_all(vm.join("stripped"));
    let ok = Command::new("strip")
        .arg("--strip-debug")
        .arg("-o")
        .arg(&stripped)
        .arg(binary)
        .status()
        .is_ok_and(|status| status.success());
    if ok {
        stripped
    } else {
        binary.to_owned()
    }
}

/// Builds the guest binary (release: the VM runs it under TCG).
fn build_testbed() -> Result<PathBuf> {
    step("Building the guest programs (roam-testbed)");
    cmd::run(cmd::cargo().args([
        "build",
        "--quiet",
        "--release",
        "--package",
        "roam-testbed",
        "--bin",
        "roam-testbed",
    ]))?;
    Ok(target_dir().join("release/roam-testbed"))
}

fn base_archive(dir: &Path, kernel: &Kernel, user_space: &UserSpace) -> Result<PathBuf> {
    let archive = dir.join("base.cpio");
    let key_file = dir.join("base.key");
    let packages = user_space.contents()?;
    // Whatever goes into the base layer is in its key, so changing a list rebuilds it.
    let key = format!(
        "layout {BASE_LAYOUT}\nkernel {}\nbinaries {SYSTEM_BINARIES:?} {OPTIONAL_BINARIES:?}\n\
         etc {ETC_FILES:?}\n\
         modules {:?}\n{packages}",
        kernel.version,
        roam_testbed::BOOT_MODULES,
    );
    if archive.exists() && fs::read_to_string(&key_file).is_ok_and(|k| k == key) {
        note(format!("base image: cached ({})", archive.display()));
        return Ok(archive);
    }
    step(format!("Building the base image (kernel {})", kernel.version));
    let modules = stage_modules(dir, kernel)?;
    let binaries: Vec<GuestBinary> = SYSTEM_BINARIES
        .iter()
        .map(|path| GuestBinary { host: user_space.file(path), guest: (*path).to_owned() })
        .collect();
    // Each optional program with the libraries of the root it came from (after the system
    // binaries: where both roots have a library, the managers' copy is the one the guest keeps).
    let mut optional: Vec<(Vec<GuestBinary>, Libraries)> = OPTIONAL_BINARIES
        .iter()
        .filter_map(|path| {
            let (host, libraries) = user_space.optional(path)?;
            Some((vec![GuestBinary { host, guest: (*path).to_owned() }], libraries))
        })
        .collect();
    if let Some((plugins, libraries)) = user_space.optional(NETWORKMANAGER_PLUGINS) {
        optional.push((plugin_files(&plugins, NETWORKMANAGER_PLUGINS)?, libraries));
    }
    write_archive(&archive, |cpio| {
        for dir in ["/proc", "/sys", "/dev", "/run", "/tmp", "/etc", "/root", "/usr/local/bin"] {
            cpio.dir(dir)?;
        }
        // The kernel opens /dev/console for init's stdio before anything is mounted.
        cpio.char_device("/dev/console", 0o600, 5, 1)?;
        for (link, target) in SYMLINKS {
            cpio.symlink(link, target)?;
        }
        for (path, text) in ETC_FILES {
            cpio.file(path, 0o644, text.as_bytes())?;
        }
        let groups: Vec<(&[GuestBinary], &Libraries)> =
            std::iter::once((binaries.as_slice(), &user_space.libraries))
                .chain(
                    optional.iter().map(|(binaries, libraries)| (binaries.as_slice(), libraries)),
                )
                .collect();
        add_binaries(cpio, &groups)?;
        for (firmware, debian_copy) in FIRMWARE {
            let file = match user_space.file(firmware) {
                file if file.exists() => file,
                _ => user_space.file(debian_copy),
            };
            add_file(cpio, &file, firmware)?;
        }
        add_tree(cpio, &modules, "/usr/lib/modules")
    })?;
    fs::write(&key_file, key)?;
    note(format!("base image: {}", archive.display()));
    Ok(archive)
}

/// NetworkManager's Wi-Fi plugin under `host_dir` (its versioned plugin directory), at the same
/// path under `guest_dir`.
fn plugin_files(host_dir: &Path, guest_dir: &str) -> Result<Vec<GuestBinary>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(host_dir)? {
        let entry = entry?;
        let guest = format!("{guest_dir}/{}", entry.file_name().to_string_lossy());
        if entry.file_type()?.is_dir() {
            out.extend(plugin_files(&entry.path(), &guest)?);
        } else if entry.file_name() == NETWORKMANAGER_WIFI_PLUGIN {
            out.push(GuestBinary { host: entry.path(), guest });
        }
    }
    out.sort_by(|a, b| a.guest.cmp(&b.guest));
    Ok(out)
}

/// Copies the needed modules (and depmod's inputs) into a staging tree and runs depmod there,
/// so the guest's modprobe knows exactly the modules it has. Returns the staging modules root.
fn stage_modules(vm: &Path, kernel: &Kernel) -> Result<PathBuf> {
    let staging = vm.join("modules-staging");
    let _ = fs::remove_dir_all(&staging);
    let source = kernel.modules_dir();
    let target = staging.join("lib/modules").join(&kernel.version);
    let mut modules = BTreeSet::new();
    for root in roam_testbed::BOOT_MODULES.iter().chain([&roam_testbed::RADIO_MODULE]) {
        let shown = Command::new("modprobe")
            .arg("-d")
            .arg(&kernel.root)
            .args(["-S", &kernel.version, "--show-depends", root])
            .output()?;
        if !shown.status.success() {
            if *root == roam_testbed::RADIO_MODULE {
                bail!("linux {} has no {root}: the testbed needs it", kernel.version);
            }
            // Newer kernels fold some (ghash_generic, sha512_generic in 7.x) into others.
            note(format!("{root}: not a module of linux {} (left out)", kernel.version));
            continue;
        }
        let plan = String::from_utf8(shown.stdout)?;
        modules.extend(
            plan.lines()
                .filter_map(|line| line.strip_prefix("insmod "))
                .map(|path| PathBuf::from(path.trim())),
        );
    }
    for module in &modules {
        let relative = module
            .strip_prefix(&source)
            .with_context(|| format!("{} is outside {}", module.display(), source.display()))?;
        let dest = target.join(relative);
        fs::create_dir_all(dest.parent().expect("module paths have a parent"))?;
        fs::copy(module, &dest)?;
    }
    for name in MODULE_METADATA {
        fs::copy(source.join(name), target.join(name))?;
    }
    kernel::depmod(&staging, &kernel.version)?;
    note(format!("{} kernel modules", modules.len()));
    Ok(staging.join("lib/modules"))
}

fn write_archive(
    path: &Path,
    fill: impl FnOnce(&mut CpioWriter<BufWriter<File>>) -> Result<()>,
) -> Result<()> {
    let partial = path.with_extension("partial");
    let mut cpio = CpioWriter::new(BufWriter::new(File::create(&partial)?));
    fill(&mut cpio)?;
    cpio.finish()?.into_inner()?.sync_all()?;
    fs::rename(&partial, path)?;
    Ok(())
}

/// Binaries and their shared libraries, each group of binaries with the libraries of the root
/// it came from. Every library goes in once: where two groups need one at the same path, the
/// later group's copy.
fn add_binaries(
    cpio: &mut CpioWriter<BufWriter<File>>,
    groups: &[(&[GuestBinary], &Libraries)],
) -> Result<()> {
    let mut libraries = BTreeMap::new();
    for (binaries, from) in groups {
        for binary in *binaries {
            if !binary.host.exists() {
                bail!(
                    "{} is missing on the host (needed in the guest as {})",
                    binary.host.display(),
                    binary.guest
                );
            }
            add_file(cpio, &binary.host, &binary.guest)?;
            for Library { file, guest } in from.of(&binary.host)? {
                let guest = match guest {
                    Some(guest) => guest,
                    None => canonical_location(&file)?,
                };
                libraries.insert(guest, file);
            }
        }
    }
    for (guest, file) in libraries {
        add_file(cpio, &file, &guest)?;
    }
    Ok(())
}

/// Where a host file lives once /lib, /lib64, /bin... symlinks are resolved: the guest has the
/// same merged-/usr layout, so the file goes to the real directory.
fn canonical_location(path: &Path) -> Result<String> {
    let dir = path.parent().context("a file path has a parent")?;
    let dir = fs::canonicalize(dir).with_context(|| format!("resolving {}", dir.display()))?;
    let name = path.file_name().context("a file path has a name")?;
    Ok(dir.join(name).to_string_lossy().into_owned())
}

/// One host file (symlinks followed) at `guest`.
fn add_file(cpio: &mut CpioWriter<BufWriter<File>>, host: &Path, guest: &str) -> Result<()> {
    let data = fs::read(host).with_context(|| format!("cannot read {}", host.display()))?;
    let mode = fs::metadata(host)?.permissions().mode();
    cpio.file(guest, mode, &data)?;
    Ok(())
}

/// Every file under `host_dir`, at the same relative paths under `guest_dir`.
fn add_tree(
    cpio: &mut CpioWriter<BufWriter<File>>,
    host_dir: &Path,
    guest_dir: &str,
) -> Result<()> {
    let mut entries: Vec<_> = fs::read_dir(host_dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let guest = format!("{guest_dir}/{}", entry.file_name().to_string_lossy());
        if entry.file_type()?.is_dir() {
            cpio.dir(&guest)?;
            add_tree(cpio, &entry.path(), &guest)?;
        } else {
            add_file(cpio, &entry.path(), &guest)?;
        }
    }
    Ok(())
}

/// A one-file archive (e.g. the run plan).
pub fn single_file_archive(path: &Path, guest: &str, data: &[u8]) -> Result<()> {
    write_archive(path, |cpio| Ok(cpio.file(guest, 0o644, data)?))
}
