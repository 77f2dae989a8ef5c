//! A D-Bus system bus of a stack's own: a dbus-daemon in the station namespace, listening on a
//! socket in the stack's run directory, so that the daemons of one stack (iwd; NetworkManager
//! and its supplicant) talk to each other and to nothing else on the guest.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::{LogSource, START_TIMEOUT};
use crate::guest::{
    ctrl, paths,
    process::{self, Daemon},
};

const LOG_FILE: &str = "dbus-daemon.log";

pub struct PrivateBus {
    daemon: Daemon,
    log: PathBuf,
}

impl PrivateBus {
    /// Starts the bus with its configuration and socket in `dir`, and waits until it listens.
    pub fn start(dir: &Path) -> Result<Self> {
        let config = dir.join("bus.conf");
        std::fs::write(&config, config_file(&Self::address(dir)))?;
        let log = Path::new(paths::LOG_DIR).join(LOG_FILE);
        let mut cmd = process::in_station_netns(paths::DBUS_DAEMON);
        cmd.arg(format!("--config-file={}", config.display()));
        cmd.args(["--nofork", "--nopidfile", "--nosyslog"]);
        let mut daemon = Daemon::spawn("dbus-daemon", cmd, &log)?;
        ctrl::wait_for_socket(&socket(dir), START_TIMEOUT, || daemon.check_running())?;
        Ok(PrivateBus { daemon, log })
    }

    /// The bus's address (`DBUS_SYSTEM_BUS_ADDRESS`, dbus-send's `--bus`) for a bus started
    /// in `dir`.
    pub fn address(dir: &Path) -> String {
        format!("unix:path={}", socket(dir).display())
    }

    pub fn check_running(&mut self) -> Result<()> {
        self.daemon.check_running()
    }

    pub fn log_source(&self) -> LogSource {
        LogSource {
            file_name: LOG_FILE,
            path: self.log.clone(),
            source: "dbus-daemon",
            parse: None,
        }
    }
}

fn socket(dir: &Path) -> PathBuf {
    dir.join("system_bus_socket")
}

/// A minimal system bus: one socket, anyone may own any name, send and receive anything (a
/// system bus denies what its policy does not allow, replies from the bus included).
fn config_file(address: &str) -> String {
    format!(
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>{address}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
"#
    )
}
