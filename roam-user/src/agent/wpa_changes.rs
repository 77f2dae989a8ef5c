//! roam's changes to wpa_supplicant's settings for a reconnection: the network block's BSSID pin,
//! `scan_res_valid_for_connect`, and the station told to leave the AP that went away
//! (`DISCONNECT`, until roam's `REASSOCIATE`).
//!
//! Each change is written to the run record, with the value it replaces, before it is made, and
//! put back afterwards: by this run when the roam ends (retried), at exit, or by the next start
//! when this run was killed in between. A value is put back only while it still reads as roam
//! wrote it: a restarted supplicant, or a change by the operator or the connection manager
//! since, is left alone. A block the operator pinned to a BSS is never re-pinned elsewhere.
//!
//! Every roam has a generation. The end of a roam is remembered, so a pin that arrives after
//! its roam ended (the supplicant reconnected first, the roam timed out) is not made, and the
//! end of an old roam cannot remove a newer roam's pin.

use std::{
    sync::{Arc, Mutex, Weak},
    time::Duration,
};

use anyhow::{bail, Context as _, Result};
use roam_common::MacAddr;
use tracing::{debug, info, warn};

use crate::{
    leftovers::{PinRecord, RecordFile, SettingRecord, SupplicantChanges},
    wpa::{command, WpaCtrl},
};

/// Attempts at putting a value back before it is left to the exit, or to the next start.
const PUT_BACK_ATTEMPTS: u32 = 3;
/// The wait before the second attempt; doubled before each later one.
const PUT_BACK_RETRY: Duration = Duration::from_millis(200);

/// wpa_supplicant's control interface, as far as the changes need it.
pub trait Supplicant: Send + Sync {
    fn request(&self, cmd: &str) -> impl std::future::Future<Output = Result<String>> + Send;
}

impl Supplicant for Arc<WpaCtrl> {
    async fn request(&self, cmd: &str) -> Result<String> {
        Ok(WpaCtrl::request(self, cmd).await?)
    }
}

/// Where the changes are recorded before they are made.
pub trait ChangeLog: Send + Sync {
    fn write(&self, changes: &SupplicantChanges) -> Result<()>;
    /// What an earlier run left to undo.
    fn left(&self) -> SupplicantChanges;
}

/// This run's record, while it is this run's: after the agent detached, nothing is recorded,
/// and so nothing is changed.
#[derive(Clone, Default)]
pub struct RecordLink(Weak<Mutex<RecordFile>>);

impl RecordLink {
    pub fn new(record: &Arc<Mutex<RecordFile>>) -> RecordLink {
        RecordLink(Arc::downgrade(record))
    }
}

impl ChangeLog for RecordLink {
    fn write(&self, changes: &SupplicantChanges) -> Result<()> {
        let record = self.0.upgrade().context("this run's record is closed")?;
        let mut record = record.lock().expect("not poisoned");
        record.update(|r| r.supplicant = changes.clone()).context("updating the run record")
    }

    fn left(&self) -> SupplicantChanges {
        self.0
            .upgrade()
            .map(|r| r.lock().expect("not poisoned").record().supplicant.clone())
            .unwrap_or_default()
    }
}

#[derive(Default)]
struct State {
    /// What is changed now (as in the record).
    changes: SupplicantChanges,
    /// The roam whose pin is in place.
    pinned_by: Option<u64>,
    /// The roam that made the station leave, and has not reassociated yet.
    left_by: Option<u64>,
    /// The latest roam that ended: its pin, and any older one's, is not made any more.
    ended: Option<u64>,
}

pub struct WpaChanges<S, L> {
    supplicant: S,
    log: L,
    state: tokio::sync::Mutex<State>,
}

impl<S: Supplicant, L: ChangeLog> WpaChanges<S, L> {
    pub fn new(supplicant: S, log: L) -> Self {
        WpaChanges { supplicant, log, state: tokio::sync::Mutex::default() }
    }

    /// Puts back what an earlier run of roam left changed (it was killed before it could).
    pub async fn undo_left(&self) {
        let mut state = self.state.lock().await;
        state.changes = self.log.left();
        if state.changes.is_empty() {
            return;
        }
        if let Err(err) = self.put_back_all(&mut state).await {
            warn!("could not put back what an earlier roam changed in wpa_supplicant: {err:#}");
        }
    }

    /// Pins `network_id` to `target` for roam `generation` and, with `results_valid_secs`,
    /// declares the last scan results valid that long (`scan_res_valid_for_connect`), so that
    /// the reconnection needs no scan. Both values are read first and recorded in one write
    /// before either is changed: the supplicant answers nothing else between the AP's goodbye
    /// and the reconnection, so every request and write here delays it. Refused for a roam
    /// already ended, and for a block pinned elsewhere by its configuration. A setting that
    /// cannot be read or set is left alone: the reconnection scans first, slower, never wrong.
    pub async fn pin(
        &self,
        generation: u64,
        network_id: u32,
        target: MacAddr,
        results_valid_secs: Option<u32>,
    ) -> Result<()> {
        let mut state = self.state.lock().await;
        if state.ended.is_some_and(|ended| generation <= ended) {
            bail!("roam {generation} ended before its pin was made");
        }
        if state.changes.pin.as_ref().is_some_and(|pin| pin.network_id != network_id) {
            self.put_back_pin(&mut state).await?;
        }
        let previous = match &state.changes.pin {
            // An earlier roam's pin is still there: what was before it is what goes back.
            Some(pin) => pin.previous,
            None => self.bssid_of(network_id).await?,
        };
        if let Some(configured) = previous.filter(|&bssid| bssid != target) {
            bail!("network {network_id} is pinned to {configured} by its configuration; roam does not move it elsewhere");
        }
        let results_valid = match results_valid_secs {
            Some(secs) => self.results_valid_change(&state, secs).await,
            None => None,
        };
        state.changes.pin = Some(PinRecord { network_id, pinned: target, previous });
        if let Some(setting) = &results_valid {
            state.changes.results_valid = Some(setting.clone());
        }
        self.log.write(&state.changes)?;
        state.pinned_by = Some(generation);
        self.expect_ok(&command::network_bssid(network_id, target)).await?;
        if let Some(setting) = results_valid {
            let set = command::set(command::SCAN_RESULTS_VALID_FOR_CONNECT, &setting.set_to);
            if let Err(err) = self.expect_ok(&set).await {
                // Recorded all the same: the put-back finds it unchanged and leaves it.
                debug!("scan_res_valid_for_connect not extended: {err:#}");
            }
        }
        Ok(())
    }

    /// `scan_res_valid_for_connect` set to `secs`, with the value it replaces (an earlier
    /// change's, if one is still in place); `None` when it cannot be read.
    async fn results_valid_change(&self, state: &State, secs: u32) -> Option<SettingRecord> {
        let previous = match &state.changes.results_valid {
            Some(setting) => setting.previous.clone(),
            None => match self.results_valid().await {
                Ok(value) => value,
                Err(err) => {
                    debug!("scan_res_valid_for_connect not extended: {err:#}");
                    return None;
                }
            },
        };
        Some(SettingRecord { set_to: secs.to_string(), previous })
    }

    /// Makes the station leave its AP (`DISCONNECT`) for roam `generation`, recorded first:
    /// wpa_supplicant stays disconnected until [`Self::reassociate`], or the put-back.
    pub async fn leave(&self, generation: u64) -> Result<()> {
        let mut state = self.state.lock().await;
        if state.ended.is_some_and(|ended| generation <= ended) {
            bail!("roam {generation} ended before the station left its AP");
        }
        state.changes.left = true;
        self.log.write(&state.changes)?;
        state.left_by = Some(generation);
        self.expect_ok(command::DISCONNECT).await
    }

    /// `REASSOCIATE`: the station connects again (its network's pin, if any, holds), and a
    /// `DISCONNECT` of roam's is undone.
    pub async fn reassociate(&self) -> Result<()> {
        let mut state = self.state.lock().await;
        self.expect_ok(command::REASSOCIATE).await?;
        if state.changes.left {
            state.changes.left = false;
            state.left_by = None;
            self.log.write(&state.changes)?;
        }
        Ok(())
    }

    /// The block's own `bssid` (the operator's or its manager's pin), roam's pin seen through:
    /// what it was before roam pinned it, if roam did.
    pub async fn configured_pin(&self, network_id: u32) -> Result<Option<MacAddr>> {
        let state = self.state.lock().await;
        match &state.changes.pin {
            Some(pin) if pin.network_id == network_id => Ok(pin.previous),
            _ => self.bssid_of(network_id).await,
        }
    }

    /// Roam `generation` ended: its pin is put back, and one that has yet to arrive is not made;
    /// a station it made leave and did not reconnect connects again. A newer roam's changes
    /// stay.
    pub async fn end_roam(&self, generation: u64) -> Result<()> {
        let mut state = self.state.lock().await;
        state.ended = state.ended.max(Some(generation));
        let pin = match state.pinned_by == Some(generation) {
            true => self.put_back_pin(&mut state).await,
            false => Ok(()),
        };
        let left = match state.left_by == Some(generation) {
            true => self.put_back_left(&mut state).await,
            false => Ok(()),
        };
        pin.and(left)
    }

    /// Puts back everything (at exit).
    pub async fn put_back(&self) -> Result<()> {
        let mut state = self.state.lock().await;
        state.ended = state.ended.max(state.pinned_by).max(state.left_by);
        self.put_back_all(&mut state).await
    }

    /// Puts `scan_res_valid_for_connect` back.
    pub async fn restore_results_valid(&self) -> Result<()> {
        let mut state = self.state.lock().await;
        self.put_back_results_valid(&mut state).await
    }

    async fn put_back_all(&self, state: &mut State) -> Result<()> {
        let pin = self.put_back_pin(state).await;
        let setting = self.put_back_results_valid(state).await;
        // Last: the station reconnects with its own settings.
        let left = self.put_back_left(state).await;
        pin.and(setting).and(left)
    }

    /// A station roam made leave connects again, if it is still disconnected: after a
    /// supplicant restart, or once it connected by other means, nothing is sent.
    async fn put_back_left(&self, state: &mut State) -> Result<()> {
        if !state.changes.left {
            return Ok(());
        }
        self.retried(|| self.reassociate_if_disconnected())
            .await
            .context("reconnecting the station roam made leave its AP")?;
        state.changes.left = false;
        state.left_by = None;
        self.log.write(&state.changes)
    }

    async fn reassociate_if_disconnected(&self) -> Result<()> {
        let status = self.supplicant.request(command::STATUS).await?;
        // After DISCONNECT wpa_supplicant connects nowhere by itself, whatever it does
        // meanwhile: a scan (roam's own, of the target's channel) ends in DISCONNECTED too.
        let still_left =
            ["DISCONNECTED", "SCANNING", "INACTIVE"].map(|state| format!("wpa_state={state}"));
        if !status.lines().any(|line| still_left.iter().any(|left| line == left)) {
            debug!("the station is not disconnected any more: no REASSOCIATE");
            return Ok(());
        }
        self.expect_ok(command::REASSOCIATE).await?;
        info!("the station roam made leave its AP connects again");
        Ok(())
    }

    async fn put_back_pin(&self, state: &mut State) -> Result<()> {
        let Some(pin) = state.changes.pin.clone() else { return Ok(()) };
        self.retried(|| self.restore_pin(&pin)).await.with_context(|| {
            format!("removing roam's pin of network {} to {}", pin.network_id, pin.pinned)
        })?;
        state.changes.pin = None;
        state.pinned_by = None;
        self.log.write(&state.changes)
    }

    async fn restore_pin(&self, pin: &PinRecord) -> Result<()> {
        let now = self.bssid_of(pin.network_id).await?;
        if now != Some(pin.pinned) {
            info!(
                network = pin.network_id,
                ?now,
                "the BSSID pin roam set was changed since: left as it is"
            );
            return Ok(());
        }
        let previous = pin.previous.unwrap_or(MacAddr::UNSET);
        self.expect_ok(&command::network_bssid(pin.network_id, previous)).await?;
        let previous = pin.previous.map_or("any BSS".to_owned(), |b| b.to_string());
        info!(
            "removed roam's pin of network {} to {}: its bssid is {previous} again",
            pin.network_id, pin.pinned
        );
        Ok(())
    }

    async fn put_back_results_valid(&self, state: &mut State) -> Result<()> {
        let Some(setting) = state.changes.results_valid.clone() else { return Ok(()) };
        self.retried(|| self.restore_results_valid_to(&setting))
            .await
            .context("putting back scan_res_valid_for_connect")?;
        state.changes.results_valid = None;
        self.log.write(&state.changes)
    }

    async fn restore_results_valid_to(&self, setting: &SettingRecord) -> Result<()> {
        let now = self.results_valid().await?;
        if now != setting.set_to {
            debug!(%now, "scan_res_valid_for_connect was changed since: left as it is");
            return Ok(());
        }
        self.expect_ok(&command::set(command::SCAN_RESULTS_VALID_FOR_CONNECT, &setting.previous))
            .await
    }

    async fn retried<F: std::future::Future<Output = Result<()>>>(
        &self,
        attempt: impl Fn() -> F,
    ) -> Result<()> {
        let mut wait = PUT_BACK_RETRY;
        let mut tries = 1;
        loop {
            match attempt().await {
                Ok(()) => return Ok(()),
                Err(err) if tries >= PUT_BACK_ATTEMPTS => return Err(err),
                Err(err) => debug!("{err:#}; trying again in {wait:?}"),
            }
            tokio::time::sleep(wait).await;
            wait *= 2;
            tries += 1;
        }
    }

    /// The block's `bssid` (`None`: unset; wpa_supplicant answers FAIL for an unset one).
    async fn bssid_of(&self, network_id: u32) -> Result<Option<MacAddr>> {
        let reply = self.supplicant.request(&command::get_network(network_id, "bssid")).await?;
        let value = reply.trim_end();
        if value == "FAIL" || value == "any" {
            return Ok(None);
        }
        let bssid: MacAddr = value
            .parse()
            .with_context(|| format!("network {network_id}'s bssid reads {value:?}"))?;
        Ok(Some(bssid).filter(|b| *b != MacAddr::UNSET))
    }

    async fn results_valid(&self) -> Result<String> {
        let reply =
            self.supplicant.request(&command::get(command::SCAN_RESULTS_VALID_FOR_CONNECT)).await?;
        let value = reply.trim_end();
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            bail!("scan_res_valid_for_connect reads {value:?}");
        }
        Ok(value.to_owned())
    }

    async fn expect_ok(&self, cmd: &str) -> Result<()> {
        let reply = self.supplicant.request(cmd).await?;
        if reply.trim_end() != "OK" {
            bail!("wpa_supplicant answered {:?} to {cmd}", reply.trim_end());
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "wpa_changes_tests.rs"]
mod tests;
