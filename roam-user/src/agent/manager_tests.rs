use std::time::Duration;

use tokio::{net::UnixDatagram, time::Instant};

use super::*;

const AP: MacAddr = MacAddr([2, 0, 0, 0, 1, 0]);

#[test]
fn cfg80211_connect_results_are_connections_or_failures() {
    let ok = MlmeEvent::Connect { bssid: Some(AP), status_code: 0, timed_out: false };
    assert_eq!(from_nl80211(ok), ManagerEvent::Connected { bssid: AP });
    let refused = MlmeEvent::Connect { bssid: Some(AP), status_code: 17, timed_out: false };
    assert_eq!(from_nl80211(refused), ManagerEvent::ConnectFailed { bssid: Some(AP) });
    let timed_out = MlmeEvent::Connect { bssid: None, status_code: 1, timed_out: true };
    assert_eq!(from_nl80211(timed_out), ManagerEvent::ConnectFailed { bssid: None });
}

#[test]
fn a_supplicants_refusals_end_a_connection_attempt() {
    let assoc = WpaEvent::AssocRejected { bssid: Some(AP), status_code: 17 };
    assert_eq!(from_wpa(assoc), ManagerEvent::ConnectFailed { bssid: Some(AP) });
    let auth = WpaEvent::AuthRejected { bssid: AP, status_code: 1 };
    assert_eq!(from_wpa(auth), ManagerEvent::ConnectFailed { bssid: Some(AP) });
    assert_eq!(from_wpa(WpaEvent::NetworkNotFound), ManagerEvent::ConnectFailed { bssid: None });
}

#[test]
fn who_ended_a_connection_is_kept() {
    let by_ap = MlmeEvent::Disconnect { reason: Some(3), by_ap: true };
    assert_eq!(
        from_nl80211(by_ap),
        ManagerEvent::Disconnected { bssid: None, reason: 3, by_ap: true }
    );
    let wpa = WpaEvent::Disconnected { reason: 3, locally_generated: true, bssid: AP };
    assert_eq!(
        from_wpa(wpa),
        ManagerEvent::Disconnected { bssid: Some(AP), reason: 3, by_ap: false }
    );
}

/// A fake wpa_supplicant on `socket`: after `delay` (a daemon busy starting), `PONG` to
/// `PING`, `OK` to `ATTACH`, `FAIL` to anything else.
async fn supplicant(socket: UnixDatagram, delay: Duration) {
    let mut buf = [0u8; 256];
    loop {
        let (len, peer) = socket.recv_from(&mut buf).await.unwrap();
        tokio::time::sleep(delay).await;
        let reply: &[u8] = match &buf[..len] {
            b"PING" => b"PONG\n",
            b"ATTACH" => b"OK\n",
            _ => b"FAIL\n",
        };
        let Some(peer) = peer.as_pathname() else { continue };
        let _ = socket.send_to(reply, peer).await;
    }
}

/// The agent polls `next` among other sources and drops it whenever one of them fires: a
/// supplicant that restarts and answers slowly must be followed all the same.
#[tokio::test]
async fn a_restarted_supplicant_is_followed_though_every_wait_is_cancelled() {
    let dir = std::env::temp_dir().join(format!("roam-manager-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("wlan0");
    let first = tokio::spawn(supplicant(UnixDatagram::bind(&path).unwrap(), Duration::ZERO));
    let mut manager =
        Manager::wpa(&dir, "wlan0", broadcast::channel(8).0, RecordLink::default()).await.unwrap();

    // Killed (its socket file stays); the next one replaces the file and answers slowly.
    first.abort();
    let _ = first.await;
    std::fs::remove_file(&path).unwrap();
    let _second =
        tokio::spawn(supplicant(UnixDatagram::bind(&path).unwrap(), Duration::from_millis(150)));

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout(Duration::from_millis(40), manager.next()).await {
            Ok(event) => {
                assert_eq!(event.unwrap(), ManagerEvent::ManagerRestarted);
                break;
            }
            Err(_) => {
                assert!(Instant::now() < deadline, "the restarted supplicant was never followed")
            }
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
