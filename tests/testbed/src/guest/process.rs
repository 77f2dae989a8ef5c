//! Starting programs: one-shot commands with useful errors, and daemons that die with their owner.

use std::{
    fs::{self, File, OpenOptions},
    io::{BufRead, BufReader, Write as _},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _, Result};

use super::{paths, system};

/// Runs a program to completion and returns its stdout; the error names the command and quotes
/// its stderr.
pub fn run(program: &str, args: &[&str]) -> Result<String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot start {program}"))?;
    stdout_of(program, args, out)
}

/// A finished program's stdout, or an error naming the command and quoting its stderr.
fn stdout_of(program: &str, args: &[&str], out: std::process::Output) -> Result<String> {
    if !out.status.success() {
        bail!(
            "`{program} {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// [`run`], killed (and an error) if it has not finished within `timeout`: for tools that wait
/// on the kernel (`iw scan`) and must not hold a run up forever.
pub fn run_timeout(program: &str, args: &[&str], timeout: Duration) -> Result<String> {
    let mut cmd = Command::new(program);
    cmd.args(args);
    stdout_of(program, args, output_timeout(cmd, timeout)?)
}

/// Runs `cmd` to completion and returns its status and output (meant for short output: the
/// pipes are read at the end); kills it, and fails, if it has not finished within `timeout`.
pub fn output_timeout(mut cmd: Command, timeout: Duration) -> Result<std::process::Output> {
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {shown}"))?;
    let deadline = Instant::now() + timeout;
    while child.try_wait()?.is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{shown} did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(child.wait_with_output()?)
}

/// `ip ARGS` (iproute2's, not busybox's).
pub fn ip(args: &[&str]) -> Result<()> {
    run(paths::IP, args).map(drop)
}

/// A command that runs `program` in the station's network namespace. `ip netns exec` also
/// remounts /sys for the namespace, which wpa_supplicant needs to find its interface's phy.
pub fn in_station_netns(program: &str) -> Command {
    let mut cmd = Command::new(paths::IP);
    cmd.args(["netns", "exec", paths::STA_NETNS, program]);
    cmd
}

/// Mounts the kernel file systems eBPF tools need on this mount namespace's /sys, then replaces
/// this process with `command`. Meant to run under `ip netns exec` (a private mount namespace,
/// so the mounts vanish with the program).
pub fn exec_with_kernel_fs(command: &[String]) -> Result<()> {
    use std::os::unix::process::CommandExt as _;
    system::mount("tracefs", "/sys/kernel/tracing", "tracefs")?;
    system::mount("debugfs", "/sys/kernel/debug", "debugfs")?;
    system::mount("bpf", "/sys/fs/bpf", "bpf")?;
    let (program, args) = command.split_first().context("no program to run")?;
    let err = Command::new(program).args(args).exec();
    Err(err).with_context(|| format!("cannot run {program}"))
}

/// A background program whose output goes to a log file. Dropping it kills it.
pub struct Daemon {
    name: String,
    child: Option<Child>,
    log: PathBuf,
    /// How long SIGTERM gets before SIGKILL.
    stop_grace: Duration,
}

/// How long a daemon gets to exit after SIGTERM, unless told otherwise.
const DEFAULT_STOP_GRACE: Duration = Duration::from_secs(3);

impl Daemon {
    /// Starts `cmd` with stdout and stderr appended to `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> Result<Daemon> {
        let out = open_log(log)?;
        let err = out.try_clone()?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("cannot start {name}"))?;
        Ok(Daemon {
            name: name.to_owned(),
            child: Some(child),
            log: log.to_owned(),
            stop_grace: DEFAULT_STOP_GRACE,
        })
    }

    /// [`Daemon::spawn`] for a program whose log lines carry no time (iwd): a thread of this
    /// process reads its stdout and stderr through a pipe and appends every line to `log`
    /// prefixed with the CLOCK_REALTIME time it was read at, `<seconds>.<micros>: ` (the format
    /// of `wpa_supplicant -t`). The program writes each line with one unbuffered write, so the
    /// stamp trails the event by a thread wake-up.
    pub fn spawn_timestamped(name: &str, mut cmd: Command, log: &Path) -> Result<Daemon> {
        let out = open_log(log)?;
        let (reader, writer) = std::io::pipe().context("cannot create a pipe")?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(writer.try_clone()?)
            .stderr(writer)
            .spawn()
            .with_context(|| format!("cannot start {name}"))?;
        // The command holds the pipe's write end: drop it, so the reader sees the end of the
        // output when the program exits.
        drop(cmd);
        std::thread::Builder::new()
            .name(format!("{name} log"))
            .spawn(move || stamp_lines(BufReader::new(reader), out))
            .context("cannot start the log thread")?;
        Ok(Daemon {
            name: name.to_owned(),
            child: Some(child),
            log: log.to_owned(),
            stop_grace: DEFAULT_STOP_GRACE,
        })
    }

    /// Whether the program is still running (reaps it if it exited).
    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Fails with the end of the log if the program has exited.
    pub fn check_running(&mut self) -> Result<()> {
        if self.is_running() {
            return Ok(());
        }
        bail!(
            "{} exited; the end of its log ({}):\n{}",
            self.name,
            self.log.display(),
            log_tail(&self.log, 15)
        )
    }

    /// SIGTERM, so the program can clean up (the roam agent detaches and restores what it
    /// changed), then SIGKILL if it is still there after a grace period; reaps it. Idempotent.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: kill(2) on our own child's pid, not yet reaped.
            if unsafe { libc::kill(child.id() as i32, libc::SIGTERM) } == 0 {
                let deadline = Instant::now() + self.stop_grace;
                while Instant::now() < deadline {
                    if !matches!(child.try_wait(), Ok(None)) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Daemon {
    /// Gives the program this long to exit after SIGTERM (its service's `TimeoutStopSec`).
    #[must_use]
    pub fn with_stop_grace(mut self, grace: Duration) -> Daemon {
        self.stop_grace = grace;
        self
    }

    /// The program's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|child| child.id())
    }

    /// Sends `signal` to the program (it must still run).
    pub fn signal(&mut self, signal: i32) -> Result<()> {
        let Some(child) = &self.child else { bail!("{} is not running", self.name) };
        // SAFETY: kill(2) on our own child's pid, not yet reaped.
        if unsafe { libc::kill(child.id() as i32, signal) } != 0 {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("signalling {}", self.name));
        }
        Ok(())
    }

    /// SIGTERM, then waits (up to the stop grace) for the program to exit: how long it took,
    /// or `None` if it was still there and was killed.
    pub fn stop_timed(&mut self) -> Option<Duration> {
        let started = Instant::now();
        self.kill();
        let took = started.elapsed();
        (took < self.stop_grace).then_some(took)
    }

    /// SIGKILL, with no chance to clean up (a crash, the OOM killer); reaps it. Idempotent.
    pub fn kill_abruptly(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Opens `log` for appending (appending keeps earlier output when a daemon is restarted, so
/// per-run log slices stay valid), creating it and its directory.
fn open_log(log: &Path) -> Result<File> {
    if let Some(dir) = log.parent() {
        fs::create_dir_all(dir)?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("cannot open {}", log.display()))
}

/// Copies lines from `input` to `out`, each prefixed with the time it was read, until the end
/// of the input.
fn stamp_lines(mut input: impl BufRead, mut out: File) {
    let mut line = Vec::new();
    loop {
        line.clear();
        match input.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let us = system::realtime_us();
        let mut stamped = format!("{}.{:06}: ", us / 1_000_000, us % 1_000_000).into_bytes();
        stamped.extend_from_slice(&line);
        if !stamped.ends_with(b"\n") {
            stamped.push(b'\n');
        }
        if out.write_all(&stamped).is_err() {
            return;
        }
    }
}

/// The last `lines` lines of a log file, for error messages.
pub fn log_tail(path: &Path, lines: usize) -> String {
    let Ok(text) = fs::read_to_string(path) else {
        return String::from("(no log)");
    };
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
