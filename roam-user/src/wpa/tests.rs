//! The client against a fake wpa_supplicant: a datagram socket bound in a
//! temporary directory, scripted step by step by each test. No daemon, no
//! privileges, no sleeps: every exchange is sequenced by awaiting it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use roam_common::MacAddr;
use tokio::net::UnixDatagram;

use super::*;

/// Bound on how long the fake server waits for the client, so a broken
/// client fails the test instead of hanging it.
const SERVER_PATIENCE: Duration = Duration::from_secs(5);

struct TestDir(PathBuf);

impl TestDir {
    fn new() -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("roam-wpa-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create test dir");
        TestDir(dir)
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct FakeSupplicant {
    socket: UnixDatagram,
    dir: TestDir,
}

impl FakeSupplicant {
    fn start() -> Self {
        let dir = TestDir::new();
        let socket = UnixDatagram::bind(dir.0.join("wlan0")).expect("bind fake server");
        FakeSupplicant { socket, dir }
    }

    /// Dies and starts again in the same directory, as a restarted daemon does: the old socket
    /// is closed and unlinked, a new one bound under the same name.
    fn restart(self) -> Self {
        let FakeSupplicant { socket, dir } = self;
        drop(socket);
        std::fs::remove_file(dir.0.join("wlan0")).expect("unlink the old socket");
        let socket = UnixDatagram::bind(dir.0.join("wlan0")).expect("bind the new socket");
        FakeSupplicant { socket, dir }
    }

    fn ctrl_dir(&self) -> &Path {
        &self.dir.0
    }

    /// The next command and the client address to answer.
    async fn recv(&self) -> (String, PathBuf) {
        let mut buf = [0u8; 512];
        let (len, peer) = tokio::time::timeout(SERVER_PATIENCE, self.socket.recv_from(&mut buf))
            .await
            .expect("client sent nothing")
            .expect("recv_from");
        let peer = peer
            .as_pathname()
            .expect("client socket must be bound to a path, or it gets no reply")
            .to_owned();
        (String::from_utf8(buf[..len].to_vec()).unwrap(), peer)
    }

    async fn send(&self, msg: &str, peer: &Path) {
        self.socket.send_to(msg.as_bytes(), peer).await.expect("send_to");
    }

    /// Receives one command, checks it, answers with `replies` in order.
    async fn answer(&self, expected_cmd: &str, replies: &[&str]) {
        let (cmd, peer) = self.recv().await;
        assert_eq!(cmd, expected_cmd);
        for reply in replies {
            self.send(reply, &peer).await;
        }
    }
}

fn bssid(text: &str) -> MacAddr {
    text.parse().unwrap()
}

#[tokio::test]
async fn request_skips_unsolicited_messages_before_the_reply() {
    let server = FakeSupplicant::start();
    let ctrl = WpaCtrl::open(server.ctrl_dir(), "wlan0").await.unwrap();
    let (reply, ()) = tokio::join!(
        ctrl.request("PING"),
        server.answer("PING", &["<3>CTRL-EVENT-SCAN-STARTED ", "PONG\n"])
    );
    assert_eq!(reply.unwrap(), "PONG\n");
}

#[tokio::test]
async fn ping_accepts_pong_and_rejects_anything_else() {
    let server = FakeSupplicant::start();
    let ctrl = WpaCtrl::open(server.ctrl_dir(), "wlan0").await.unwrap();
    let (ok, ()) = tokio::join!(ctrl.ping(), server.answer("PING", &["PONG\n"]));
    ok.unwrap();
    let (err, ()) = tokio::join!(ctrl.ping(), server.answer("PING", &["UNKNOWN COMMAND\n"]));
    let err = err.unwrap_err();
    assert!(matches!(&err, WpaError::UnexpectedReply { cmd, .. } if cmd == "PING"), "{err}");
}

#[tokio::test]
async fn silent_server_times_out_and_its_late_reply_is_discarded() {
    let server = FakeSupplicant::start();
    let ctrl = WpaCtrl::open(server.ctrl_dir(), "wlan0")
        .await
        .unwrap()
        .with_timeout(Duration::from_millis(100));
    let (result, (cmd, peer)) = tokio::join!(ctrl.request("STATUS"), server.recv());
    assert_eq!(cmd, "STATUS");
    let err = result.unwrap_err();
    assert!(matches!(err, WpaError::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains("timeout"), "{err}");

    // The STATUS reply turns up after the client gave up; it must not be
    // taken as the reply to the next command.
    server.send("wpa_state=COMPLETED\n", &peer).await;
    let (reply, ()) = tokio::join!(ctrl.request("PING"), server.answer("PING", &["PONG\n"]));
    assert_eq!(reply.unwrap(), "PONG\n");
}

/// A hung supplicant reads nothing: its queue fills (net.unix.max_dgram_qlen, 10 by default)
/// and a send then blocks. Every request must still end at its deadline.
#[tokio::test]
async fn a_supplicant_that_reads_nothing_cannot_hold_a_request_past_its_deadline() {
    let hung = FakeSupplicant::start();
    let ctrl = WpaCtrl::open(hung.ctrl_dir(), "wlan0")
        .await
        .unwrap()
        .with_timeout(Duration::from_millis(20));
    for n in 0..30 {
        let result = tokio::time::timeout(Duration::from_secs(1), ctrl.request("PING"))
            .await
            .unwrap_or_else(|_| panic!("request {n} outlived its deadline"));
        assert!(matches!(result, Err(WpaError::Timeout { .. })), "request {n}: {result:?}");
    }
}

#[tokio::test]
async fn concurrent_requests_each_get_their_own_reply() {
    let server = FakeSupplicant::start();
    let ctrl = WpaCtrl::open(server.ctrl_dir(), "wlan0").await.unwrap();
    let serve = async {
        for _ in 0..2 {
            let (cmd, peer) = server.recv().await;
            server.send(&format!("reply to {cmd}\n"), &peer).await;
        }
    };
    let (first, second, ()) = tokio::join!(ctrl.request("FIRST"), ctrl.request("SECOND"), serve);
    assert_eq!(first.unwrap(), "reply to FIRST\n");
    assert_eq!(second.unwrap(), "reply to SECOND\n");
}

#[tokio::test]
async fn status_and_bss_are_parsed() {
    let server = FakeSupplicant::start();
    let ctrl = WpaCtrl::open(server.ctrl_dir(), "wlan0").await.unwrap();
    let (status, ()) = tokio::join!(
        ctrl.status(),
        server.answer(
            "STATUS",
            &["bssid=02:00:00:00:01:00\nfreq=2412\nssid=roam-test\nwpa_state=COMPLETED\n"]
        )
    );
    let status = status.unwrap();
    assert_eq!(status.wpa_state, WpaState::Completed);
    assert_eq!(status.bssid, Some(bssid("02:00:00:00:01:00")));

    let (bss, ()) = tokio::join!(
        ctrl.bss(bssid("02:00:00:00:02:00")),
        server.answer("BSS 02:00:00:00:02:00", &[""])
    );
    assert_eq!(bss.unwrap(), None);
}

#[tokio::test]
async fn missing_socket_error_says_what_to_check() {
    let dir = TestDir::new();
    let err = WpaCtrl::open(&dir.0, "wlan0").await.unwrap_err();
    assert!(matches!(err, WpaError::SocketMissing { .. }), "{err:?}");
    let text = err.to_string();
    let expected_path = dir.0.join("wlan0");
    assert!(text.contains(&*expected_path.to_string_lossy()), "{text}");
    assert!(text.contains("is wpa_supplicant running for wlan0"), "{text}");
}

#[tokio::test]
async fn leftover_socket_file_is_reported_as_stale() {
    let dir = TestDir::new();
    // Bind and close: the file stays, nobody listens (a crashed daemon).
    drop(std::os::unix::net::UnixDatagram::bind(dir.0.join("wlan0")).unwrap());
    let err = WpaCtrl::open(&dir.0, "wlan0").await.unwrap_err();
    assert!(matches!(err, WpaError::StaleSocket { .. }), "{err:?}");
    assert!(err.to_string().contains("stale socket"), "{err}");
}

#[tokio::test]
async fn a_request_after_a_supplicant_restart_reaches_the_new_one() {
    let server = FakeSupplicant::start();
    let ctrl = WpaCtrl::open(server.ctrl_dir(), "wlan0").await.unwrap();
    let (pong, ()) = tokio::join!(ctrl.ping(), server.answer("PING", &["PONG\n"]));
    pong.unwrap();
    let server = server.restart();
    let (pong, ()) = tokio::join!(ctrl.ping(), server.answer("PING", &["PONG\n"]));
    pong.expect("the request goes to the restarted supplicant");
}

#[tokio::test]
async fn invalid_interface_name_is_refused() {
    let dir = TestDir::new();
    let err = WpaCtrl::open(&dir.0, "../etc").await.unwrap_err();
    assert!(matches!(err, WpaError::InvalidInterface { .. }), "{err:?}");
}

#[tokio::test]
async fn client_socket_file_is_removed_on_drop() {
    let server = FakeSupplicant::start();
    let ctrl = WpaCtrl::open(server.ctrl_dir(), "wlan0").await.unwrap();
    let local = ctrl.local_path().await;
    assert!(local.exists(), "{} should exist while open", local.display());
    drop(ctrl);
    assert!(!local.exists(), "{} should be gone", local.display());
}

#[tokio::test]
async fn events_are_delivered_in_order_and_detach_is_sent_on_drop() {
    let server = FakeSupplicant::start();
    // An event racing the OK must not be lost.
    let (events, ()) = tokio::join!(
        WpaEvents::attach(server.ctrl_dir(), "wlan0"),
        server.answer("ATTACH", &["<3>CTRL-EVENT-SCAN-STARTED ", "OK\n"])
    );
    let mut events = events.unwrap();
    let local = events.local_path().to_owned();
    let peer = local.clone();

    server
        .send(
            "<3>CTRL-EVENT-CONNECTED - Connection to 02:00:00:00:01:00 completed [id=0 id_str=]",
            &peer,
        )
        .await;
    // A stray reply on the event socket is not an event and is skipped.
    server.send("OK\n", &peer).await;
    server.send("<3>CTRL-EVENT-BEACON-LOSS", &peer).await;

    assert_eq!(events.next().await.unwrap(), WpaEvent::ScanStarted);
    assert_eq!(
        events.next().await.unwrap(),
        WpaEvent::Connected { bssid: bssid("02:00:00:00:01:00") }
    );
    assert_eq!(events.next().await.unwrap(), WpaEvent::BeaconLoss);

    drop(events);
    let (cmd, _) = server.recv().await;
    assert_eq!(cmd, "DETACH");
    assert!(!local.exists(), "{} should be gone", local.display());
}

#[tokio::test]
async fn attach_refused_is_an_error() {
    let server = FakeSupplicant::start();
    let (events, ()) = tokio::join!(
        WpaEvents::attach(server.ctrl_dir(), "wlan0"),
        server.answer("ATTACH", &["FAIL\n"])
    );
    let err = events.unwrap_err();
    assert!(
        matches!(&err, WpaError::UnexpectedReply { cmd, reply } if cmd == "ATTACH" && reply == "FAIL\n"),
        "{err:?}"
    );
}

#[test]
fn pmksa_lists_the_aps_with_a_cached_key() {
    let reply = "Index / AA / PMKID / expiration (in seconds) / opportunistic\n\
                 1 02:00:00:00:01:00 0123456789abcdef0123456789abcdef 43186 0\n\
                 2 02:00:00:00:00:00 fedcba9876543210fedcba9876543210 43000 1\n";
    assert_eq!(
        parse_pmksa(reply),
        ["02:00:00:00:01:00".parse().unwrap(), "02:00:00:00:00:00".parse::<MacAddr>().unwrap()]
    );
    assert!(
        parse_pmksa("Index / AA / PMKID / expiration (in seconds) / opportunistic\n").is_empty()
    );
    assert!(parse_pmksa("FAIL\n").is_empty());
}
