//! Monitor interfaces: created on a radio with nl80211, brought up with
//! rtnetlink, and deleted again with nl80211 (`ip link del` cannot delete a
//! mac80211 vif), by [`MonitorIface::remove`] or, as a fallback, on drop.

use std::time::Duration;

use nix::errno::Errno;

use super::blocking;
use super::client::{iface_label, Nl80211};
use super::error::{from_errno, Nl80211Error, Op, Result};
use super::iface::{IfType, WirelessIface};
use super::messages;
use super::task::AbortOnDrop;
use super::transport::{Failure, REQUEST_TIMEOUT};

/// How long a drop may block deleting the interface.
const DROP_DELETE_TIMEOUT: Duration = Duration::from_secs(1);

/// A monitor interface roam created; deleted when this guard goes.
///
/// Prefer [`MonitorIface::remove`], which reports failures. The `Drop`
/// fallback deletes it with a blocking request (up to 1 s) and can only log
/// a failure.
#[derive(Debug)]
pub struct MonitorIface {
    nl: Nl80211,
    iface: WirelessIface,
    armed: bool,
}

impl MonitorIface {
    pub fn ifindex(&self) -> u32 {
        self.iface.ifindex
    }

    pub fn name(&self) -> &str {
        &self.iface.name
    }

    pub fn wiphy(&self) -> u32 {
        self.iface.wiphy
    }

    pub fn iface(&self) -> &WirelessIface {
        &self.iface
    }

    /// Creates the interface again, same name on the same radio, after it was deleted from
    /// outside (a driver reset, an administrator's `iw dev NAME del`).
    pub async fn recreate(&mut self) -> Result<()> {
        let new = self.nl.create_monitor(self.iface.wiphy, &self.iface.name).await?;
        self.iface = new.keep();
        Ok(())
    }

    /// Deletes the interface now.
    pub async fn remove(mut self) -> Result<()> {
        self.armed = false;
        self.nl.delete_wdev(self.iface.wdev, &self.iface.name).await
    }

    /// Leaves the interface in place after all: the guard no longer owns it.
    pub fn keep(mut self) -> WirelessIface {
        self.armed = false;
        self.iface.clone()
    }
}

impl Drop for MonitorIface {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let name = &self.iface.name;
        let message = messages::del_wdev(self.iface.wdev);
        match blocking::request_ack(self.nl.family().id, message, DROP_DELETE_TIMEOUT) {
            Ok(()) => tracing::debug!("deleted monitor interface {name}"),
            Err(Failure::Errno(Errno::ENODEV)) => {}
            Err(failure) => {
                let err = failure.into_error(Op::DelInterface, name);
                tracing::warn!("could not delete monitor interface {name}: {err}; delete it with `iw dev {name} del`");
            }
        }
    }
}

impl Nl80211 {
    /// Creates monitor interface `name` on radio `wiphy` and brings it up.
    ///
    /// An existing monitor of that name on the same radio is taken for the
    /// leftover of a crashed run: deleted and created again. Any other
    /// interface of that name is an error ([`Nl80211Error::NameTaken`]).
    pub async fn create_monitor(&self, wiphy: u32, name: &str) -> Result<MonitorIface> {
        let message = messages::new_monitor_interface(wiphy, name)?;
        self.clear_leftover(wiphy, name).await?;

        let replies = self.request(message, Op::NewInterface, name).await?;
        let created = match replies.into_single() {
            Ok(reply) => WirelessIface::from_message(&reply, "reading the new interface"),
            Err(failure) => Err(failure.into_error(Op::NewInterface, name)),
        };
        // The reply describes the new interface; ask if it did not.
        let iface = match created {
            Ok(iface) => iface,
            Err(e) => {
                tracing::debug!("NEW_INTERFACE reply unusable ({e}); looking {name} up");
                self.interface_by_name(name).await?
            }
        };
        tracing::info!(
            "created monitor interface {name} (ifindex {}) on phy#{wiphy}",
            iface.ifindex
        );
        // From here on, a failure deletes the interface (the guard's drop).
        let guard = MonitorIface { nl: self.clone(), iface, armed: true };
        set_link_up(guard.ifindex(), name).await?;
        Ok(guard)
    }

    /// Deletes the wireless interface `ifindex` (any type).
    pub async fn delete_interface(&self, ifindex: u32) -> Result<()> {
        let label = iface_label(ifindex);
        self.request(messages::del_interface(ifindex), Op::DelInterface, &label).await?;
        Ok(())
    }

    /// Deletes by wdev id; an interface already gone counts as deleted.
    pub(crate) async fn delete_wdev(&self, wdev: u64, label: &str) -> Result<()> {
        match self.request(messages::del_wdev(wdev), Op::DelInterface, label).await {
            Ok(_) | Err(Nl80211Error::NotWireless { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Deletes monitor interface `name` on radio `wiphy`, left by a run that did not exit
    /// cleanly; `Ok(false)` when there is none. Any other interface of that name is an error
    /// ([`Nl80211Error::NameTaken`]) and stays.
    pub async fn clear_leftover(&self, wiphy: u32, name: &str) -> Result<bool> {
        let existing = match self.interface_by_name(name).await {
            Ok(existing) => existing,
            Err(Nl80211Error::NoSuchInterface { .. }) => return Ok(false),
            Err(Nl80211Error::NotWireless { .. }) => {
                return Err(Nl80211Error::NameTaken {
                    name: name.to_owned(),
                    holder: "a non-wireless interface".to_owned(),
                })
            }
            Err(e) => return Err(e),
        };
        match leftover_verdict(&existing, wiphy) {
            Verdict::Leftover => {
                tracing::warn!("deleting leftover monitor interface {name} on phy#{wiphy} (from an earlier run?)");
                self.delete_wdev(existing.wdev, name).await.map(|()| true)
            }
            Verdict::Taken(holder) => {
                Err(Nl80211Error::NameTaken { name: name.to_owned(), holder })
            }
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Leftover,
    Taken(String),
}

/// Whether an interface already bearing our monitor's name is ours to
/// replace: only a monitor on the same radio is. Pure.
fn leftover_verdict(existing: &WirelessIface, wiphy: u32) -> Verdict {
    if existing.iftype == IfType::Monitor && existing.wiphy == wiphy {
        Verdict::Leftover
    } else {
        Verdict::Taken(format!("a {} interface on phy#{}", existing.iftype, existing.wiphy))
    }
}

/// `ip link set <ifindex> up`, through rtnetlink.
async fn set_link_up(ifindex: u32, name: &str) -> Result<()> {
    let (connection, handle, _) = rtnetlink::new_connection()
        .map_err(|e| Nl80211Error::io("opening an rtnetlink socket", e))?;
    let _connection = AbortOnDrop::spawn(connection);
    let request =
        handle.link().set(rtnetlink::LinkUnspec::new_with_index(ifindex).up().build()).execute();
    match tokio::time::timeout(REQUEST_TIMEOUT, request).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(rtnetlink::Error::NetlinkError(message))) => {
            Err(from_errno(Op::LinkUp, name, Errno::from_raw(message.raw_code().abs())))
        }
        Ok(Err(other)) => {
            Err(Nl80211Error::protocol(format!("bringing {name} up"), other.to_string()))
        }
        Err(_) => Err(Failure::Timeout(REQUEST_TIMEOUT).into_error(Op::LinkUp, name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use roam_common::MacAddr;

    fn iface(iftype: IfType, wiphy: u32) -> WirelessIface {
        WirelessIface {
            ifindex: 9,
            name: "roam-mon0".into(),
            wiphy,
            wdev: 3,
            mac: MacAddr([2, 0, 0, 0, 0, 0]),
            iftype,
            ssid: None,
            freq_mhz: None,
        }
    }

    #[test]
    fn only_a_monitor_on_the_same_radio_is_a_leftover() {
        assert_eq!(leftover_verdict(&iface(IfType::Monitor, 0), 0), Verdict::Leftover);
        assert_eq!(
            leftover_verdict(&iface(IfType::Monitor, 1), 0),
            Verdict::Taken("a monitor interface on phy#1".into())
        );
        assert_eq!(
            leftover_verdict(&iface(IfType::Station, 0), 0),
            Verdict::Taken("a managed interface on phy#0".into())
        );
    }

    #[test]
    fn name_taken_message_says_what_to_do() {
        let err = Nl80211Error::NameTaken {
            name: "roam-mon0".into(),
            holder: "a managed interface on phy#0".into(),
        };
        assert_eq!(
            err.to_string(),
            "cannot create monitor interface roam-mon0: the name is taken by a managed interface \
             on phy#0; choose another name or delete that interface"
        );
    }
}
