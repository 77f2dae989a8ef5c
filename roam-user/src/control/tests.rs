//! Server and client over real unix sockets in a temporary directory (never /run).
//!
//! Synchronisation without sleeps: an events client knows it is subscribed once it has read
//! the server's `subscribed` line, which the server writes after subscribing. The lag test
//! relies on `#[tokio::test]`'s single-threaded runtime: events sent without an await in
//! between cannot be consumed by the server task until the test yields.

use std::{
    fs,
    future::Future,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    sync::atomic::{AtomicU32, Ordering},
    time::Duration,
};

use serde_json::{json, Value};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines},
    net::UnixStream,
    sync::{broadcast, oneshot, watch},
    task::JoinHandle,
};

use roam_proto::{
    AgentEvent, Backend, Candidate, CandidateSource, Counters, CurrentBss, DropWindow, EventLine,
    LivenessStatus, RoamRecord, RoamResult, RoamStep, State, Status, TransitionStep, TriggerKind,
};

use super::{client::connect_error, *};

/// Bound on every await, so a broken server fails the test instead of hanging it.
const PATIENCE: Duration = Duration::from_secs(5);

async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, future).await.unwrap_or_else(|_| panic!("timed out: {what}"))
}

struct TestDir(PathBuf);

impl TestDir {
    fn new() -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("roam-control-test-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create test dir");
        TestDir(dir)
    }

    fn socket(&self) -> PathBuf {
        self.0.join("wlan0.sock")
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A server running in a task, with the agent's ends of its channels.
struct RunningServer {
    status: watch::Sender<Status>,
    events: broadcast::Sender<EventLine>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl RunningServer {
    async fn start(path: &Path, event_capacity: usize) -> Self {
        let server = ControlServer::bind(path, "wlan0").await.expect("bind");
        let (status, status_rx) = watch::channel(sample_status());
        let (events, _) = broadcast::channel(event_capacity);
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async {
            let _ = stopped.await;
        };
        let task = tokio::spawn(server.serve(status_rx, events.clone(), None, shutdown));
        RunningServer { status, events, stop, task }
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        within("server shutdown", self.task).await.expect("server task").expect("serve");
    }
}

/// A raw protocol client: sends `request` and reads the reply line by line. The connection
/// stays whole, as the server takes a client that closes its sending side as gone.
async fn raw_client(path: &Path, request: &str) -> Lines<BufReader<UnixStream>> {
    let mut stream = UnixStream::connect(path).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("send request");
    BufReader::new(stream).lines()
}

async fn next_json<R: tokio::io::AsyncBufRead + Unpin>(lines: &mut Lines<R>) -> Value {
    let line = within("next line", lines.next_line()).await.expect("read").expect("a line");
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
}

fn sample_status() -> Status {
    Status {
        iface: "wlan0".into(),
        state: State::Run,
        state_since_ms: 12_345,
        observe_only: false,
        observe_only_why: None,
        backend: Backend::WpaSupplicant,
        bss: Some(CurrentBss {
            bssid: "02:00:00:00:01:00".parse().unwrap(),
            ssid: "roam-testbed".into(),
            freq_mhz: 2412,
            band: "2.4".into(),
            akm: "psk".into(),
            signal_dbm: Some(-40),
            last_heard_ms: Some(20),
        }),
        candidates: vec![Candidate {
            bssid: "02:00:00:00:02:00".parse().unwrap(),
            freq_mhz: 2437,
            signal_dbm: Some(-45),
            last_heard_ms: Some(1_234),
            source: CandidateSource::Both,
            usable: true,
            score: 55,
        }],
        last_roam: Some(RoamRecord {
            trigger: TriggerKind::Silence,
            from: Some("02:00:00:00:00:00".parse().unwrap()),
            to: Some("02:00:00:00:01:00".parse().unwrap()),
            acted: true,
            backend: Backend::WpaSupplicant,
            result: RoamResult::Success,
            duration_ms: Some(512.0),
            timeline: vec![
                RoamStep { t_ms: 0.0, step: TransitionStep::Detected },
                RoamStep { t_ms: 3.0, step: TransitionStep::Acted },
                RoamStep { t_ms: 511.5, step: TransitionStep::Connected },
            ],
            drop_window: Some(DropWindow {
                sent: 31,
                dropped: 30,
                held: 3,
                dropped_by_reason: [("UNANSWERED_TX".into(), 28), ("QDISC_DROP".into(), 2)]
                    .into_iter()
                    .collect(),
                duration_ms: 480.0,
            }),
        }),
        counters: Counters {
            roams: 3,
            roam_failures: 0,
            beacon_losses: 2,
            deauths: 1,
            disassocs: 0,
        },
        liveness: LivenessStatus::default(),
        signal: None,
    }
}

#[test]
fn default_socket_path_is_under_run_roam() {
    assert_eq!(default_socket_path("wlan0"), PathBuf::from("/run/roam/wlan0.sock"));
}

#[tokio::test]
async fn status_round_trip() {
    let dir = TestDir::new();
    let server = RunningServer::start(&dir.socket(), 16).await;

    let status = within("status", fetch_status(&dir.socket())).await.expect("fetch_status");
    assert_eq!(status, sample_status());

    // Each request reads the agent's latest snapshot.
    server.status.send_modify(|s| s.state = State::Roaming);
    let status = within("status", fetch_status(&dir.socket())).await.expect("fetch_status");
    assert_eq!(status.state, State::Roaming);

    server.stop().await;
    assert!(!dir.socket().exists(), "the server removes its socket on shutdown");
}

#[tokio::test]
async fn events_arrive_in_order_and_end_with_the_agent() {
    let dir = TestDir::new();
    let server = RunningServer::start(&dir.socket(), 16).await;
    let (out, from_client) = tokio::io::duplex(4096);
    let path = dir.socket();
    let client = tokio::spawn(async move { stream_events(&path, out).await });
    let mut lines = BufReader::new(from_client).lines();

    let ack = next_json(&mut lines).await;
    assert_eq!(ack["event"], "subscribed");
    assert_eq!(ack["iface"], "wlan0");
    assert_eq!(ack["version"], 1);
    assert!(ack["t_us"].as_u64().is_some());

    let first = EventLine { t_us: 1_000_001, event: AgentEvent::Stopped };
    let second = EventLine {
        t_us: 1_000_002,
        event: AgentEvent::FalseAlarm { trigger: TriggerKind::Silence },
    };
    server.events.send(first).expect("a subscriber");
    server.events.send(second).expect("a subscriber");
    assert_eq!(next_json(&mut lines).await, json!({"event": "stopped", "t_us": 1_000_001}));
    assert_eq!(
        next_json(&mut lines).await,
        json!({"event": "false_alarm", "t_us": 1_000_002, "trigger": "silence"})
    );

    // The agent stopping ends the stream, and the client returns cleanly.
    server.stop().await;
    within("client end", client).await.expect("client task").expect("stream_events");
    assert_eq!(within("eof", lines.next_line()).await.expect("read"), None);
}

#[tokio::test]
async fn lagging_client_is_told_how_many_events_it_missed() {
    let dir = TestDir::new();
    let server = RunningServer::start(&dir.socket(), 2).await;
    let mut lines = raw_client(&dir.socket(), "{\"request\":\"events\"}\n").await;
    assert_eq!(next_json(&mut lines).await["event"], "subscribed");

    // No await in between: the server cannot read any of these before the buffer (2) wraps.
    for n in 0..5 {
        let tick = EventLine { t_us: n, event: AgentEvent::Lagged { missed: 0 } };
        server.events.send(tick).expect("a subscriber");
    }
    let lagged = next_json(&mut lines).await;
    assert_eq!(lagged["event"], "lagged");
    assert_eq!(lagged["missed"], 3);
    assert_eq!(next_json(&mut lines).await["t_us"], 3);
    assert_eq!(next_json(&mut lines).await["t_us"], 4);
    server.stop().await;
}

#[tokio::test]
async fn a_client_hanging_up_ends_its_stream() {
    let dir = TestDir::new();
    let server = RunningServer::start(&dir.socket(), 16).await;
    let mut lines = raw_client(&dir.socket(), "{\"request\":\"events\"}\n").await;
    assert_eq!(next_json(&mut lines).await["event"], "subscribed");
    assert_eq!(server.events.receiver_count(), 1);

    drop(lines);
    // Noticed without any event being sent: the server's subscription goes away by itself.
    // Yielding (not sleeping) lets the single-threaded runtime run the server's task.
    within("unsubscribe", async {
        while server.events.receiver_count() > 0 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn unknown_request_gets_an_error_line() {
    let dir = TestDir::new();
    let server = RunningServer::start(&dir.socket(), 16).await;

    let mut lines = raw_client(&dir.socket(), "{\"request\":\"x\"}\n").await;
    assert_eq!(
        next_json(&mut lines).await,
        json!({"error": "unknown request \"x\": expected status or events"})
    );
    assert_eq!(within("close", lines.next_line()).await.expect("read"), None);

    let mut lines = raw_client(&dir.socket(), "{\"request\":\"status\",\"version\":2}\n").await;
    let error = next_json(&mut lines).await;
    assert!(error["error"].as_str().unwrap().contains("protocol version 2 is not supported"));

    let mut lines = raw_client(&dir.socket(), "status\n").await;
    assert!(next_json(&mut lines).await["error"].as_str().unwrap().contains("malformed request"));
    server.stop().await;
}

#[tokio::test]
async fn stale_socket_is_replaced() {
    let dir = TestDir::new();
    // What a crashed agent leaves: a socket file nobody listens on.
    drop(std::os::unix::net::UnixListener::bind(dir.socket()).expect("bind stale"));
    assert!(dir.socket().exists());
    let refused = within("connect", fetch_status(&dir.socket())).await.unwrap_err();
    assert!(refused.to_string().contains("stale socket at"), "{refused}");

    let server = RunningServer::start(&dir.socket(), 16).await;
    within("status", fetch_status(&dir.socket())).await.expect("served after replacing");
    server.stop().await;
}

#[tokio::test]
async fn second_agent_on_a_live_socket_is_refused() {
    let dir = TestDir::new();
    let first = ControlServer::bind(&dir.socket(), "wlan0").await.expect("first bind");
    let error = ControlServer::bind(&dir.socket(), "wlan0").await.err().expect("second bind");
    assert_eq!(
        error.to_string(),
        format!(
            "another roam agent is already running for wlan0 (socket {})",
            dir.socket().display()
        )
    );
    assert!(dir.socket().exists(), "the refused agent leaves the live socket alone");
    drop(first);
    assert!(!dir.socket().exists(), "dropping the server removes its socket");
}

#[tokio::test]
async fn a_server_does_not_remove_a_socket_that_replaced_its_own() {
    let dir = TestDir::new();
    let old = ControlServer::bind(&dir.socket(), "wlan0").await.expect("bind");
    fs::remove_file(dir.socket()).expect("remove");
    let new = ControlServer::bind(&dir.socket(), "wlan0").await.expect("rebind");
    drop(old);
    assert!(dir.socket().exists());
    drop(new);
    assert!(!dir.socket().exists());
}

#[tokio::test]
async fn socket_is_root_only_in_a_private_directory() {
    let dir = TestDir::new();
    let path = dir.0.join("run/roam/wlan0.sock");
    let server = ControlServer::bind(&path, "wlan0").await.expect("bind");
    assert_eq!(server.path(), path);
    let mode = |p: &Path| fs::metadata(p).expect("stat").permissions().mode() & 0o7777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
}

#[tokio::test]
async fn clients_explain_a_missing_agent() {
    let dir = TestDir::new();
    let expected = format!(
        "no roam agent is running for wlan0 (no socket at {}): start one with \
         `sudo roam run --iface wlan0`",
        dir.socket().display()
    );
    let error = within("status", fetch_status(&dir.socket())).await.unwrap_err();
    assert_eq!(error.to_string(), expected);
    let out: DuplexStream = tokio::io::duplex(64).0;
    let error = within("events", stream_events(&dir.socket(), out)).await.unwrap_err();
    assert_eq!(error.to_string(), expected);
}

#[test]
fn permission_denied_says_use_sudo() {
    // Tests may run as root, which connect() never refuses: check the mapping itself.
    let path = Path::new("/run/roam/wlan0.sock");
    let error = connect_error(path, std::io::Error::from(std::io::ErrorKind::PermissionDenied));
    assert_eq!(
        error.to_string(),
        "permission denied on /run/roam/wlan0.sock: the control socket is root-only, use sudo"
    );
}

#[test]
fn only_root_and_the_agents_own_user_may_connect() {
    use super::server::uid_may_connect;
    assert!(uid_may_connect(0, 0));
    assert!(uid_may_connect(0, 1000), "root may talk to an agent of another user");
    assert!(uid_may_connect(1000, 1000));
    assert!(!uid_may_connect(1000, 0));
    assert!(!uid_may_connect(1001, 1000));
}
