use std::sync::Mutex;

use super::*;

const A: MacAddr = MacAddr([2, 0, 0, 0, 1, 0]);
const B: MacAddr = MacAddr([2, 0, 0, 0, 2, 0]);
const OPERATORS: MacAddr = MacAddr([2, 0, 0, 0, 9, 0]);

/// A supplicant with one network block per id and the global setting, answering as
/// wpa_supplicant does.
#[derive(Default)]
struct FakeSupplicant {
    bssids: Mutex<Vec<Option<MacAddr>>>,
    results_valid: Mutex<String>,
    /// Its `wpa_state`.
    state: Mutex<String>,
    /// Requests that fail (time out) before one is answered.
    failures: Mutex<u32>,
    sent: Mutex<Vec<String>>,
}

impl FakeSupplicant {
    fn with_networks(bssids: &[Option<MacAddr>]) -> Self {
        FakeSupplicant {
            bssids: Mutex::new(bssids.to_vec()),
            results_valid: Mutex::new("5".into()),
            state: Mutex::new("COMPLETED".into()),
            ..Default::default()
        }
    }

    fn bssid(&self, id: usize) -> Option<MacAddr> {
        self.bssids.lock().unwrap()[id]
    }
}

impl Supplicant for FakeSupplicant {
    async fn request(&self, cmd: &str) -> Result<String> {
        self.sent.lock().unwrap().push(cmd.to_owned());
        {
            let mut failures = self.failures.lock().unwrap();
            if *failures > 0 {
                *failures -= 1;
                bail!("{cmd} timed out");
            }
        }
        let words: Vec<&str> = cmd.split(' ').collect();
        let mut bssids = self.bssids.lock().unwrap();
        Ok(match words.as_slice() {
            ["GET_NETWORK", id, "bssid"] => match bssids[id.parse::<usize>()?] {
                Some(bssid) => bssid.to_string(),
                None => "FAIL\n".into(),
            },
            ["BSSID", id, bssid] => {
                let bssid: MacAddr = bssid.parse()?;
                bssids[id.parse::<usize>()?] = Some(bssid).filter(|b| *b != MacAddr::UNSET);
                "OK\n".into()
            }
            ["GET", "scan_res_valid_for_connect"] => self.results_valid.lock().unwrap().clone(),
            ["SET", "scan_res_valid_for_connect", value] => {
                *self.results_valid.lock().unwrap() = (*value).to_owned();
                "OK\n".into()
            }
            ["STATUS"] => format!("bssid={A}\nwpa_state={}\n", self.state.lock().unwrap()),
            ["DISCONNECT"] => {
                *self.state.lock().unwrap() = "DISCONNECTED".into();
                "OK\n".into()
            }
            ["REASSOCIATE"] => {
                *self.state.lock().unwrap() = "AUTHENTICATING".into();
                "OK\n".into()
            }
            _ => "UNKNOWN COMMAND\n".into(),
        })
    }
}

/// The record, as written over time.
#[derive(Default)]
struct FakeLog {
    left: SupplicantChanges,
    written: Mutex<Vec<SupplicantChanges>>,
}

impl FakeLog {
    fn last(&self) -> SupplicantChanges {
        self.written.lock().unwrap().last().cloned().unwrap_or_default()
    }
}

impl ChangeLog for FakeLog {
    fn write(&self, changes: &SupplicantChanges) -> Result<()> {
        self.written.lock().unwrap().push(changes.clone());
        Ok(())
    }

    fn left(&self) -> SupplicantChanges {
        self.left.clone()
    }
}

fn changes(bssids: &[Option<MacAddr>]) -> WpaChanges<FakeSupplicant, FakeLog> {
    WpaChanges::new(FakeSupplicant::with_networks(bssids), FakeLog::default())
}

#[tokio::test]
async fn a_pin_is_recorded_before_it_is_made_and_gone_once_its_roam_ends() {
    let c = changes(&[None]);
    c.pin(1, 0, A, None).await.unwrap();
    assert_eq!(c.supplicant.bssid(0), Some(A));
    let recorded = c.log.last().pin.expect("recorded");
    assert_eq!(recorded, PinRecord { network_id: 0, pinned: A, previous: None });
    let sent = c.supplicant.sent.lock().unwrap().clone();
    assert_eq!(sent, ["GET_NETWORK 0 bssid", &format!("BSSID 0 {A}")]);
    c.end_roam(1).await.unwrap();
    assert_eq!(c.supplicant.bssid(0), None);
    assert!(c.log.last().is_empty());
}

#[tokio::test]
async fn the_end_of_an_old_roam_leaves_a_newer_roams_pin() {
    let c = changes(&[None]);
    c.pin(1, 0, A, None).await.unwrap();
    c.pin(2, 0, B, None).await.unwrap();
    c.end_roam(1).await.unwrap();
    assert_eq!(c.supplicant.bssid(0), Some(B), "roam 2's pin stays");
    c.end_roam(2).await.unwrap();
    assert_eq!(c.supplicant.bssid(0), None, "what was before roam 1 goes back");
}

#[tokio::test]
async fn a_pin_that_arrives_after_its_roam_ended_is_not_made() {
    // The supplicant reconnected by itself (or the roam timed out) before the roam's task got
    // to its pin: the end came first.
    let c = changes(&[None]);
    c.end_roam(3).await.unwrap();
    assert!(c.pin(3, 0, A, None).await.is_err());
    assert_eq!(c.supplicant.bssid(0), None);
    assert!(c.supplicant.sent.lock().unwrap().is_empty(), "nothing was asked");
    c.pin(4, 0, A, None).await.unwrap();
    assert_eq!(c.supplicant.bssid(0), Some(A), "a later roam pins");
}

#[tokio::test]
async fn the_operators_own_bssid_is_put_back_not_zeroed() {
    let c = changes(&[Some(OPERATORS)]);
    c.pin(1, 0, OPERATORS, None).await.unwrap();
    c.end_roam(1).await.unwrap();
    assert_eq!(c.supplicant.bssid(0), Some(OPERATORS));
}

#[tokio::test]
async fn a_block_pinned_by_its_configuration_is_not_moved() {
    let c = changes(&[Some(OPERATORS)]);
    let err = c.pin(1, 0, A, None).await.unwrap_err().to_string();
    assert!(err.contains("pinned to 02:00:00:00:09:00 by its configuration"), "{err}");
    assert_eq!(c.supplicant.bssid(0), Some(OPERATORS));
}

#[tokio::test(start_paused = true)]
async fn a_failed_unpin_is_retried() {
    let c = changes(&[None]);
    c.pin(1, 0, A, None).await.unwrap();
    *c.supplicant.failures.lock().unwrap() = PUT_BACK_ATTEMPTS - 1;
    c.end_roam(1).await.unwrap();
    assert_eq!(c.supplicant.bssid(0), None);
    assert!(c.log.last().is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_unpin_that_keeps_failing_stays_recorded_for_the_exit() {
    let c = changes(&[None]);
    c.pin(1, 0, A, None).await.unwrap();
    *c.supplicant.failures.lock().unwrap() = PUT_BACK_ATTEMPTS;
    assert!(c.end_roam(1).await.is_err());
    assert!(c.log.last().pin.is_some(), "still in the record");
    c.put_back().await.unwrap();
    assert_eq!(c.supplicant.bssid(0), None);
    assert!(c.log.last().is_empty());
}

#[tokio::test]
async fn the_unpin_goes_to_the_block_that_was_pinned() {
    let c = changes(&[None, None]);
    c.pin(1, 0, A, None).await.unwrap();
    // The next roam is for another block (the station moved to another network meanwhile):
    // the first block is put back before the second is pinned.
    c.pin(2, 1, B, None).await.unwrap();
    assert_eq!((c.supplicant.bssid(0), c.supplicant.bssid(1)), (None, Some(B)));
    c.end_roam(2).await.unwrap();
    assert_eq!(c.supplicant.bssid(1), None);
}

#[tokio::test]
async fn a_pin_changed_by_someone_else_since_is_left_alone() {
    let c = changes(&[None]);
    c.pin(1, 0, A, None).await.unwrap();
    *c.supplicant.bssids.lock().unwrap() = vec![Some(OPERATORS)];
    c.end_roam(1).await.unwrap();
    assert_eq!(c.supplicant.bssid(0), Some(OPERATORS));
    assert!(c.log.last().is_empty(), "nothing of roam's is left to undo");
}

#[tokio::test]
async fn what_a_killed_run_left_is_put_back_at_the_next_start() {
    let supplicant = FakeSupplicant::with_networks(&[Some(A)]);
    *supplicant.results_valid.lock().unwrap() = "3600".into();
    let left = SupplicantChanges {
        pin: Some(PinRecord { network_id: 0, pinned: A, previous: None }),
        results_valid: Some(SettingRecord { set_to: "3600".into(), previous: "7".into() }),
        left: false,
    };
    let c = WpaChanges::new(supplicant, FakeLog { left, ..Default::default() });
    c.undo_left().await;
    assert_eq!(c.supplicant.bssid(0), None);
    assert_eq!(*c.supplicant.results_valid.lock().unwrap(), "7");
    assert!(c.log.last().is_empty());
}

#[tokio::test]
async fn a_restarted_supplicant_is_not_unpinned_from_a_record() {
    // The killed run's supplicant restarted too: its block reads as configured, not as roam's
    // pin, and stays so.
    let left = SupplicantChanges {
        pin: Some(PinRecord { network_id: 0, pinned: A, previous: None }),
        ..Default::default()
    };
    let c = WpaChanges::new(
        FakeSupplicant::with_networks(&[Some(OPERATORS)]),
        FakeLog { left, ..Default::default() },
    );
    c.undo_left().await;
    assert_eq!(c.supplicant.bssid(0), Some(OPERATORS));
}

/// A reconnection's two changes are read first and recorded in one write, before either is
/// made: each write and request delays the reconnection.
#[tokio::test]
async fn the_pin_and_the_results_validity_are_recorded_at_once_and_put_back() {
    let c = changes(&[None]);
    *c.supplicant.results_valid.lock().unwrap() = "9".into();
    c.pin(1, 0, A, Some(3600)).await.unwrap();
    let sent = c.supplicant.sent.lock().unwrap().clone();
    assert_eq!(
        sent,
        [
            "GET_NETWORK 0 bssid",
            "GET scan_res_valid_for_connect",
            &format!("BSSID 0 {A}"),
            "SET scan_res_valid_for_connect 3600"
        ]
    );
    let written = c.log.written.lock().unwrap().clone();
    assert_eq!(written.len(), 1, "one write for both");
    assert_eq!(
        written[0].results_valid,
        Some(SettingRecord { set_to: "3600".into(), previous: "9".into() })
    );
    assert!(written[0].pin.is_some());
    assert_eq!(*c.supplicant.results_valid.lock().unwrap(), "3600");
    c.restore_results_valid().await.unwrap();
    assert_eq!(*c.supplicant.results_valid.lock().unwrap(), "9");
    assert!(c.log.last().results_valid.is_none());
    c.end_roam(1).await.unwrap();
    assert!(c.log.last().is_empty());
}

/// A supplicant whose setting reads as nothing sensible keeps it: the pin alone is made.
#[tokio::test]
async fn an_unreadable_results_validity_is_left_alone() {
    let c = changes(&[None]);
    *c.supplicant.results_valid.lock().unwrap() = "FAIL".into();
    c.pin(1, 0, A, Some(3600)).await.unwrap();
    assert_eq!(c.supplicant.bssid(0), Some(A));
    assert_eq!(*c.supplicant.results_valid.lock().unwrap(), "FAIL");
    assert!(c.log.last().results_valid.is_none());
}

fn state(c: &WpaChanges<FakeSupplicant, FakeLog>) -> String {
    c.supplicant.state.lock().unwrap().clone()
}

/// A full reconnection leaves the AP that went away first: recorded before it is sent, and
/// done with once roam's REASSOCIATE went through.
#[tokio::test]
async fn leaving_the_ap_is_recorded_first_and_undone_by_the_reassociation() {
    let c = changes(&[None]);
    c.leave(1).await.unwrap();
    assert_eq!(state(&c), "DISCONNECTED");
    assert!(c.log.written.lock().unwrap()[0].left, "recorded");
    assert_eq!(*c.supplicant.sent.lock().unwrap(), ["DISCONNECT"]);
    c.reassociate().await.unwrap();
    assert_eq!(state(&c), "AUTHENTICATING");
    assert!(c.log.last().is_empty());
    c.end_roam(1).await.unwrap();
    assert_eq!(c.supplicant.sent.lock().unwrap().len(), 2, "nothing more to undo");
}

/// A roam that ends between the two (its scan failed, its deadline came) leaves no station
/// disconnected behind it; an older roam's end does not reconnect a newer roam's station.
#[tokio::test]
async fn a_station_left_and_not_reconnected_connects_again_when_its_roam_ends() {
    let c = changes(&[None]);
    c.leave(2).await.unwrap();
    c.end_roam(1).await.unwrap();
    assert_eq!(state(&c), "DISCONNECTED", "roam 1's end is not roam 2's");
    c.end_roam(2).await.unwrap();
    assert_eq!(state(&c), "AUTHENTICATING");
    assert!(c.log.last().is_empty());
    assert!(c.leave(2).await.is_err(), "an ended roam makes the station leave no more");
}

/// A roam that ends while its own scan runs (after DISCONNECT, wpa_supplicant is SCANNING,
/// and stays disconnected once the scan is done) reconnects the station all the same: seen in
/// the VM, a fallback ended by a failure report during its scan left the station disconnected.
#[tokio::test]
async fn a_roam_ending_during_its_scan_reconnects_the_station() {
    let c = changes(&[None]);
    c.leave(2).await.unwrap();
    *c.supplicant.state.lock().unwrap() = "SCANNING".into();
    c.end_roam(2).await.unwrap();
    assert_eq!(state(&c), "AUTHENTICATING");
    assert!(c.supplicant.sent.lock().unwrap().contains(&"REASSOCIATE".to_owned()));
}

/// A killed run's DISCONNECT is undone at the next start, unless the station is connecting
/// or connected by then (a restarted supplicant, a reconnection by other means).
#[tokio::test]
async fn a_killed_runs_leave_is_undone_only_while_the_station_is_disconnected() {
    let left = SupplicantChanges { left: true, ..Default::default() };
    let supplicant = FakeSupplicant::with_networks(&[None]);
    *supplicant.state.lock().unwrap() = "DISCONNECTED".into();
    let c = WpaChanges::new(supplicant, FakeLog { left: left.clone(), ..Default::default() });
    c.undo_left().await;
    assert_eq!(state(&c), "AUTHENTICATING");
    assert!(c.log.last().is_empty());

    let c = WpaChanges::new(
        FakeSupplicant::with_networks(&[None]),
        FakeLog { left, ..Default::default() },
    );
    c.undo_left().await;
    assert_eq!(state(&c), "COMPLETED");
    assert!(!c.supplicant.sent.lock().unwrap().contains(&"REASSOCIATE".to_owned()));
    assert!(c.log.last().is_empty());
}
