//! Small system facilities: clocks, mounts, kernel command line, progress lines, power-off.

use std::{ffi::CString, fs, io::Write as _, path::Path};

use anyhow::{bail, Context as _, Result};

/// CLOCK_MONOTONIC in ns: the probe, the runner and ftrace (`trace_clock=mono`) share it.
pub fn monotonic_ns() -> u64 {
    clock_ns(libc::CLOCK_MONOTONIC)
}

/// CLOCK_REALTIME in µs: wpa_supplicant's and hostapd's `-t` timestamps use it.
pub fn realtime_us() -> i64 {
    (clock_ns(libc::CLOCK_REALTIME) / 1_000) as i64
}

fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; both clocks always exist on Linux.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// A progress line for the host, which shows lines carrying this prefix while the VM runs.
pub fn progress(message: impl AsRef<str>) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}{}", PROGRESS_PREFIX, message.as_ref());
    let _ = out.flush();
}

/// Prefix of progress lines on the console (the host matches it).
pub const PROGRESS_PREFIX: &str = "roam-testbed: ";

pub fn mount(source: &str, target: &str, fstype: &str) -> Result<()> {
    fs::create_dir_all(target).with_context(|| format!("mkdir {target}"))?;
    let c = |s: &str| CString::new(s).expect("mount arguments contain no NUL");
    let (source_c, target_c, fstype_c) = (c(source), c(target), c(fstype));
    // SAFETY: all pointers are valid NUL-terminated strings for the duration of the call.
    let rc = unsafe {
        libc::mount(source_c.as_ptr(), target_c.as_ptr(), fstype_c.as_ptr(), 0, std::ptr::null())
    };
    if rc != 0 {
        bail!("mount -t {fstype} {source} {target}: {}", std::io::Error::last_os_error());
    }
    Ok(())
}

/// The value of `key=value` on the kernel command line.
pub fn cmdline_value(key: &str) -> Option<String> {
    let cmdline = fs::read_to_string("/proc/cmdline").ok()?;
    cmdline
        .split_whitespace()
        .find_map(|word| word.strip_prefix(key)?.strip_prefix('='))
        .map(str::to_owned)
}

/// The kernel log (what `dmesg` prints).
pub fn kernel_log() -> String {
    const SYSLOG_ACTION_READ_ALL: libc::c_int = 3;
    const SYSLOG_ACTION_SIZE_BUFFER: libc::c_int = 10;
    // SAFETY: SIZE_BUFFER takes no buffer.
    let size = unsafe { libc::klogctl(SYSLOG_ACTION_SIZE_BUFFER, std::ptr::null_mut(), 0) };
    let mut buf = vec![0u8; size.max(1 << 16) as usize];
    // SAFETY: buf is writable for buf.len() bytes.
    let n = unsafe {
        libc::klogctl(SYSLOG_ACTION_READ_ALL, buf.as_mut_ptr().cast(), buf.len() as libc::c_int)
    };
    buf.truncate(n.max(0) as usize);
    String::from_utf8_lossy(&buf).into_owned()
}

/// Writes `value` to a sysfs/procfs/debugfs knob.
pub fn write_knob(path: impl AsRef<Path>, value: &str) -> Result<()> {
    let path = path.as_ref();
    fs::write(path, value).with_context(|| format!("writing `{value}` to {}", path.display()))
}

/// Flushes file systems and powers the VM off (qemu then exits). Never returns.
pub fn power_off() -> ! {
    // SAFETY: sync and reboot have no memory-safety preconditions.
    unsafe {
        libc::sync();
        libc::reboot(libc::RB_POWER_OFF);
    }
    // Only reached if the power-off failed; PID 1 must not exit (the kernel would panic, which
    // with `panic=-1` and qemu's `-no-reboot` also ends the VM).
    loop {
        std::thread::park();
    }
}
