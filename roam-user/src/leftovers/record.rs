//! The run record: what this run changed in the system, on disk for as long as it runs.

use std::{
    fs::{self, File},
    io,
    io::Write as _,
    os::{
        fd::AsRawFd as _,
        unix::fs::{DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _},
    },
    path::{Path, PathBuf},
};

use roam_common::MacAddr;
use serde::{Deserialize, Serialize};
use tracing::warn;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRecord {
    /// The agent's process.
    pub pid: u32,
    /// The station interface it ran on.
    pub station: String,
    /// The monitor interface roam creates, recorded before it exists (a run killed in between
    /// leaves a record of an interface that never was; undoing finds nothing to delete).
    pub monitor: Option<MonitorRecord>,
    /// roam added the station's clsact qdisc (kernels without tcx): undoing deletes it.
    #[serde(default)]
    pub clsact_added: bool,
    /// What roam changed in wpa_supplicant's settings and has not put back yet.
    #[serde(default, skip_serializing_if = "SupplicantChanges::is_empty")]
    pub supplicant: SupplicantChanges,
}

/// roam's changes to wpa_supplicant, each written here before it is made and removed once it is
/// undone: a run killed in between leaves them for the next start to undo.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupplicantChanges {
    /// A network block pinned to the target of a reconnection (`BSSID <id> <bssid>`).
    pub pin: Option<PinRecord>,
    /// `scan_res_valid_for_connect`, extended for a reconnection.
    pub results_valid: Option<SettingRecord>,
    /// roam told the supplicant to leave the AP that went away (`DISCONNECT`), to reconnect in
    /// full: it does not connect by itself again until `REASSOCIATE`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub left: bool,
}

impl SupplicantChanges {
    pub fn is_empty(&self) -> bool {
        self.pin.is_none() && self.results_valid.is_none() && !self.left
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinRecord {
    pub network_id: u32,
    /// The BSSID roam wrote: the pin is undone only while the block still holds it (a
    /// restarted supplicant, or someone else's change since, is left alone).
    pub pinned: MacAddr,
    /// The block's `bssid` before roam's pin (`None`: unset, any BSS).
    pub previous: Option<MacAddr>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingRecord {
    /// The value roam wrote: put back only while it still reads so.
    pub set_to: String,
    pub previous: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorRecord {
    pub name: String,
    /// Only a monitor interface of this name on this radio is roam's to delete.
    pub wiphy: u32,
}

/// What a record found at start means.
#[derive(Debug, PartialEq, Eq)]
pub enum Previous {
    /// No record: the last run exited cleanly, or there was none.
    None,
    /// Its process is gone: undo what it lists.
    Stale(RunRecord),
    /// Another roam runs on this interface now.
    Running(u32),
    /// Not a record roam can read (truncated by a crash mid-write, or edited): nothing to undo
    /// from it; the monitor interface's fixed name still lets creation replace a leftover.
    Unreadable(String),
}

impl Previous {
    /// Judges the text of an existing record, given which processes run roam. Pure.
    pub fn judge(text: Option<&str>, runs_roam: impl Fn(u32) -> bool, own_pid: u32) -> Previous {
        let Some(text) = text else { return Previous::None };
        match serde_json::from_str::<RunRecord>(text) {
            // A pid equal to ours is a record from another pid namespace's life, not us: we
            // have not written ours yet.
            Ok(record) if record.pid != own_pid && runs_roam(record.pid) => {
                Previous::Running(record.pid)
            }
            Ok(record) => Previous::Stale(record),
            Err(err) => Previous::Unreadable(err.to_string()),
        }
    }

    /// Reads and judges the record at `path` against the running system.
    pub fn read(path: &Path) -> io::Result<Previous> {
        let text = match fs::read_to_string(path) {
            Ok(text) => Some(text),
            Err(err) if err.kind() == io::ErrorKind::NotFound => None,
            Err(err) => return Err(err),
        };
        Ok(Previous::judge(text.as_deref(), process_runs_roam, std::process::id()))
    }
}

/// Whether process `pid` exists and is a roam (its command name, as `ps` shows it).
fn process_runs_roam(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|comm| comm.trim_end() == "roam")
}

/// The record lives beside the control socket: `/run/roam/wlan0.sock` -> `/run/roam/wlan0.state`.
pub fn record_path(control_socket: &Path) -> PathBuf {
    control_socket.with_extension("state")
}

/// Makes the run directory (`/run/roam`, 0700) if it is missing, and refuses one that is not a
/// real directory of this user that nobody else may write: root writes and deletes files
/// there, which another user could otherwise replace or turn into links.
pub fn ensure_private_dir(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let meta = fs::symlink_metadata(dir)?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    let problem = if !meta.file_type().is_dir() {
        Some("is not a directory (a link?)".to_owned())
    } else if meta.uid() != euid {
        Some(format!("belongs to uid {}, not to roam's ({euid})", meta.uid()))
    } else if meta.mode() & 0o022 != 0 {
        Some(format!("is writable by others (mode {:o})", meta.mode() & 0o7777))
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} {problem}; fix: remove it, or point paths.control_socket at a directory only \
                 roam's user can write",
                dir.display()
            ),
        )),
    }
}

/// The interface's lock (`wlan0.lock` beside the record), held for the agent's life: two
/// agents started together on one interface cannot both take it, where the record's pid alone
/// could not tell them apart. The kernel releases it with the process, however it ends.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
    path: PathBuf,
}

impl RunLock {
    /// The lock of the run whose record is at `record_path`; `None` if another process holds it.
    pub fn try_acquire(record_path: &Path) -> io::Result<Option<RunLock>> {
        let path = record_path.with_extension("lock");
        let file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)?;
        // SAFETY: flock on a descriptor this function owns; no memory is passed.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let err = io::Error::last_os_error();
            return match err.raw_os_error() {
                Some(libc::EWOULDBLOCK) => Ok(None),
                _ => Err(err),
            };
        }
        Ok(Some(RunLock { _file: file, path }))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// This run's record on disk; removed when dropped, i.e. when the agent exits cleanly.
#[derive(Debug)]
pub struct RecordFile {
    path: PathBuf,
    record: RunRecord,
    /// Held as long as the record is this run's.
    _lock: RunLock,
}

impl RecordFile {
    /// Writes `record` to `path` (the file 0600; its directory checked by
    /// [`ensure_private_dir`] and locked by `lock`).
    pub fn create(path: &Path, record: RunRecord, lock: RunLock) -> io::Result<Self> {
        let file = RecordFile { path: path.to_owned(), record, _lock: lock };
        file.write()?;
        Ok(file)
    }

    pub fn record(&self) -> &RunRecord {
        &self.record
    }

    /// Changes the record, on disk before this returns.
    pub fn update(&mut self, change: impl FnOnce(&mut RunRecord)) -> io::Result<()> {
        change(&mut self.record);
        self.write()
    }

    /// Write then rename: a crash mid-write leaves the old record or the new one, never half.
    /// The temporary file is made anew, never opened through a link. Not synced: the record
    /// outlives this process, for the next start to undo, and nothing it lists (monitor,
    /// qdisc, the supplicant's settings) outlives the machine. A sync would delay every
    /// reconnection, which waits for this write. A record a power cut truncated is
    /// `Unreadable`.
    fn write(&self) -> io::Result<()> {
        let json = serde_json::to_vec_pretty(&self.record).map_err(io::Error::other)?;
        let temporary = self.path.with_extension("state.new");
        // A leftover of a crash mid-write (or anything planted there: removing a link removes
        // the link).
        match fs::remove_file(&temporary) {
            Err(err) if err.kind() != io::ErrorKind::NotFound => return Err(err),
            _ => {}
        }
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&temporary)?;
        file.write_all(&json)?;
        fs::rename(&temporary, &self.path)
    }
}

impl Drop for RecordFile {
    fn drop(&mut self) {
        // Everything else is undone by now; the supplicant's settings are, unless it did not
        // answer: then the record stays, with them alone, for the next start to put back.
        let supplicant = std::mem::take(&mut self.record.supplicant);
        if !supplicant.is_empty() {
            warn!("{}", left_in_supplicant(&self.record.station, &supplicant));
            self.record.monitor = None;
            self.record.clsact_added = false;
            self.record.supplicant = supplicant;
            match self.write() {
                Ok(()) => return,
                Err(err) => warn!("could not keep the run record {}: {err}", self.path.display()),
            }
        }
        if let Err(err) = fs::remove_file(&self.path) {
            warn!("could not remove the run record {}: {err}", self.path.display());
        }
    }
}

/// One line on what roam could not put back in the supplicant, with the commands that do.
fn left_in_supplicant(station: &str, changes: &SupplicantChanges) -> String {
    let mut fixes = Vec::new();
    if let Some(pin) = &changes.pin {
        let previous = pin.previous.map_or("any".to_owned(), |b| b.to_string());
        fixes.push(format!("wpa_cli -i {station} set_network {} bssid {previous}", pin.network_id));
    }
    if let Some(setting) = &changes.results_valid {
        fixes.push(format!(
            "wpa_cli -i {station} set scan_res_valid_for_connect {}",
            setting.previous
        ));
    }
    if changes.left {
        fixes.push(format!("wpa_cli -i {station} reassociate"));
    }
    format!(
        "wpa_supplicant did not take back roam's changes; the next start of roam puts them back, or fix: {}",
        fixes.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(pid: u32) -> RunRecord {
        RunRecord {
            pid,
            station: "wlan0".into(),
            monitor: Some(MonitorRecord { name: "roammon3".into(), wiphy: 0 }),
            clsact_added: true,
            supplicant: SupplicantChanges {
                pin: Some(PinRecord {
                    network_id: 0,
                    pinned: "02:00:00:00:01:00".parse().unwrap(),
                    previous: None,
                }),
                results_valid: None,
                left: false,
            },
        }
    }

    fn text(pid: u32) -> String {
        serde_json::to_string(&record(pid)).unwrap()
    }

    #[test]
    fn no_record_is_a_clean_start() {
        assert_eq!(Previous::judge(None, |_| true, 1), Previous::None);
    }

    #[test]
    fn a_record_whose_process_is_gone_is_stale() {
        assert_eq!(Previous::judge(Some(&text(42)), |_| false, 1), Previous::Stale(record(42)));
    }

    #[test]
    fn a_record_of_a_running_roam_means_another_agent() {
        assert_eq!(Previous::judge(Some(&text(42)), |pid| pid == 42, 1), Previous::Running(42));
    }

    #[test]
    fn our_own_pid_in_an_old_record_is_not_us() {
        // After a reboot or in a container, the new agent can get the old one's pid.
        assert_eq!(Previous::judge(Some(&text(7)), |_| true, 7), Previous::Stale(record(7)));
    }

    #[test]
    fn a_record_of_an_older_roam_without_supplicant_changes_is_read() {
        let old = r#"{"pid":42,"station":"wlan0","monitor":null,"clsact_added":false}"#;
        let Previous::Stale(record) = Previous::judge(Some(old), |_| false, 1) else {
            panic!("not read as stale")
        };
        assert!(record.supplicant.is_empty());
    }

    #[test]
    fn a_truncated_record_is_unreadable_not_fatal() {
        let half = &text(42)[..20];
        assert!(matches!(Previous::judge(Some(half), |_| false, 1), Previous::Unreadable(_)));
    }

    #[test]
    fn the_record_sits_beside_the_control_socket() {
        assert_eq!(
            record_path(Path::new("/run/roam/wlan0.sock")),
            PathBuf::from("/run/roam/wlan0.state")
        );
    }

    fn private_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("roam-record-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let run = dir.join("run");
        ensure_private_dir(&run).unwrap();
        run
    }

    fn claim(path: &Path, pid: u32) -> RecordFile {
        let lock = RunLock::try_acquire(path).unwrap().expect("the lock is free");
        RecordFile::create(path, record(pid), lock).unwrap()
    }

    #[test]
    fn a_second_run_on_the_interface_cannot_take_its_lock() {
        let run = private_dir("lock");
        let path = run.join("wlan0.state");
        let first = claim(&path, 42);
        assert!(RunLock::try_acquire(&path).unwrap().is_none(), "taken while the first runs");
        assert!(RunLock::try_acquire(&run.join("wlan1.state")).unwrap().is_some());
        drop(first);
        assert!(RunLock::try_acquire(&path).unwrap().is_some(), "free once it ended");
        fs::remove_dir_all(run.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_link_planted_where_the_record_is_written_is_not_followed() {
        let run = private_dir("link");
        let victim = run.parent().unwrap().join("victim");
        fs::write(&victim, "untouched").unwrap();
        let path = run.join("wlan0.state");
        std::os::unix::fs::symlink(&victim, path.with_extension("state.new")).unwrap();
        let _file = claim(&path, 42);
        assert_eq!(fs::read_to_string(&victim).unwrap(), "untouched");
        assert!(fs::read_to_string(&path).unwrap().contains("\"pid\": 42"));
        fs::remove_dir_all(run.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_run_directory_others_may_write_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let run = private_dir("mode");
        fs::set_permissions(&run, fs::Permissions::from_mode(0o777)).unwrap();
        let err = ensure_private_dir(&run).unwrap_err().to_string();
        assert!(err.contains("writable by others (mode 777)") && err.contains("fix:"), "{err}");
        let link = run.parent().unwrap().join("link");
        fs::set_permissions(&run, fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::symlink(&run, &link).unwrap();
        assert!(ensure_private_dir(&link).unwrap_err().to_string().contains("not a directory"));
        fs::remove_dir_all(run.parent().unwrap()).unwrap();
    }

    #[test]
    fn the_file_holds_the_record_while_it_lives_and_goes_with_it() {
        let run = private_dir("holds");
        let dir = run.parent().unwrap().to_owned();
        let path = run.join("wlan0.state");
        let mut file = claim(&path, std::process::id() + 1);
        file.update(|record| {
            record.clsact_added = false;
            record.supplicant = SupplicantChanges::default();
        })
        .unwrap();
        let on_disk: RunRecord = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(&on_disk, file.record());
        assert!(!on_disk.clsact_added);
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(
            fs::metadata(path.parent().unwrap()).unwrap().permissions().mode() & 0o777,
            0o700
        );
        drop(file);
        assert!(!path.exists(), "a clean exit removes the record");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn supplicant_changes_not_put_back_keep_the_record_for_the_next_start() {
        let run = private_dir("kept");
        let path = run.join("wlan0.state");
        let file = claim(&path, 42);
        let pin = file.record().supplicant.pin.clone();
        assert!(pin.is_some());
        drop(file);
        let kept: RunRecord = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!((kept.supplicant.pin, kept.monitor, kept.clsact_added), (pin, None, false));
        assert!(matches!(Previous::read(&path).unwrap(), Previous::Stale(_)));
        fs::remove_dir_all(run.parent().unwrap()).unwrap();
    }
}
