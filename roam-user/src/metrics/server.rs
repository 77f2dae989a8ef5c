//! HTTP endpoint for Prometheus: `GET /metrics` (OpenMetrics text) and `GET /` (a hint).
//!
//! Before encoding, a scrape asks the agent to refresh the kernel snapshot, since the agent owns
//! the kernel maps. The agent gets [`REFRESH_TIMEOUT`] to answer; after that, or if it is gone,
//! the last snapshot is served: a scrape must never hang on a busy or stuck agent. Scrapes
//! closer together than [`SNAPSHOT_MAX_AGE`] share one refresh, so no client can make the
//! agent work at its own pace.
//!
//! The endpoint may listen beyond the host: connections are few ([`MAX_CONNECTIONS`]), must send
//! their request head within [`HEADER_TIMEOUT`] and last at most [`CONNECTION_LIFETIME`].

use std::{
    future::Future,
    io,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result};
use axum::{extract::State, http::header, response::IntoResponse, routing::get, Router};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore},
    task::JoinSet,
};

use super::Metrics;

/// Content type of the OpenMetrics 1.0 text exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// How long a scrape waits for the agent to refresh the kernel snapshot.
pub const REFRESH_TIMEOUT: Duration = Duration::from_millis(200);

/// A scrape this soon after the last refresh is served the snapshot that refresh made.
pub const SNAPSHOT_MAX_AGE: Duration = Duration::from_millis(250);

/// Connections served at once: Prometheus needs one; a client opening more waits its turn at
/// the kernel's backlog.
pub const MAX_CONNECTIONS: usize = 8;

/// How long a client has to send its request head.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a connection lasts, keep-alive included: Prometheus reconnects at no cost.
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(300);

/// Pause after a failed accept(): errors such as EMFILE persist, and retrying at once would spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Sent to the agent to ask for a refresh; the agent calls
/// [`Metrics::set_kernel_snapshot`] and then sends `()` back (or drops it).
pub type RefreshRequest = oneshot::Sender<()>;

/// The agent's end for refresh requests is the matching `mpsc::Receiver<RefreshRequest>`.
pub type RefreshSender = mpsc::Sender<RefreshRequest>;

/// Binds the metrics listener, with errors that say what to change.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| {
        let why = match e.kind() {
            io::ErrorKind::AddrInUse => "is in use",
            io::ErrorKind::AddrNotAvailable => "is not an address of this host",
            io::ErrorKind::PermissionDenied => "needs privileges to bind (port below 1024?)",
            _ => "cannot be bound",
        };
        anyhow::Error::new(e).context(format!(
            "metrics listen address {addr} {why}: pick another with --metrics-listen, \
             ROAM_METRICS_LISTEN (for roam@<iface>: in /etc/roam/<iface>.env) or metrics.listen \
             in the config"
        ))
    })
}

#[derive(Clone)]
struct AppState {
    metrics: Arc<Metrics>,
    refresh: Option<RefreshSender>,
    /// When the last scrape asked the agent for a refresh.
    last_refresh: Arc<Mutex<Option<Instant>>>,
}

impl AppState {
    /// Whether this scrape should ask for a refresh (and, if so, counts it as asked).
    fn refresh_due(&self, now: Instant) -> bool {
        let mut last = self.last_refresh.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let due = last.is_none_or(|at| now.duration_since(at) >= SNAPSHOT_MAX_AGE);
        if due {
            *last = Some(now);
        }
        due
    }
}

/// Serves the endpoint on `listener` until `shutdown` completes, then closes every connection
/// and returns (a scrape cut short is retried by Prometheus; an agent held up is not).
pub async fn serve(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    refresh: Option<RefreshSender>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let local = listener.local_addr().context("reading the metrics listener's address")?;
    tracing::info!("serving metrics on http://{local}/metrics");
    let app = router(metrics, refresh);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        // A free slot first: beyond the limit, clients wait in the listen backlog.
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => slot.context("the connection limit closed")?,
        };
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve_connection(stream, app.clone(), slot));
                }
                Err(e) => {
                    tracing::warn!("metrics: accept failed: {e}");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
        }
        // Reap the finished ones, so the set does not grow with every scrape.
        while connections.try_join_next().is_some() {}
    }
    connections.shutdown().await;
    Ok(())
}

/// One client's connection, bounded in time; its slot is freed when it ends.
async fn serve_connection(stream: TcpStream, app: Router, _slot: OwnedSemaphorePermit) {
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(app));
    match tokio::time::timeout(CONNECTION_LIFETIME, connection).await {
        Ok(Err(e)) => tracing::debug!("metrics: connection ended: {e}"),
        Err(_) => tracing::debug!("metrics: connection closed after {CONNECTION_LIFETIME:?}"),
        Ok(Ok(())) => {}
    }
}

fn router(metrics: Arc<Metrics>, refresh: Option<RefreshSender>) -> Router {
    Router::new().route("/", get(root)).route("/metrics", get(scrape)).with_state(AppState {
        metrics,
        refresh,
        last_refresh: Arc::default(),
    })
}

async fn root() -> &'static str {
    "roam agent: Prometheus metrics are at /metrics\n"
}

async fn scrape(State(state): State<AppState>) -> impl IntoResponse {
    if let Some(refresh) = &state.refresh {
        if state.refresh_due(Instant::now()) {
            refresh_snapshot(refresh).await;
        }
    }
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], state.metrics.encode())
}

/// Asks the agent for a fresh snapshot (kernel metrics, status) and waits for it, at most
/// [`REFRESH_TIMEOUT`] (including the wait for room in the channel). Also used by the control
/// socket before it answers `status`.
pub async fn refresh_snapshot(refresh: &RefreshSender) {
    let (reply, replied) = oneshot::channel();
    let ask = async {
        refresh.send(reply).await.ok()?;
        replied.await.ok()
    };
    match tokio::time::timeout(REFRESH_TIMEOUT, ask).await {
        Ok(Some(())) => {}
        // The agent is shutting down, or dropped the request: nothing fresher is coming.
        Ok(None) => {
            tracing::debug!("kernel snapshot not refreshed: agent did not take the request")
        }
        Err(_) => tracing::warn!(
            "kernel snapshot not refreshed within {REFRESH_TIMEOUT:?}; serving the previous one"
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use tokio::{
        io::{AsyncReadExt as _, AsyncWriteExt as _},
        net::TcpStream,
        task::JoinHandle,
    };

    use super::*;
    use crate::metrics::KernelSnapshot;

    /// Serves `metrics` on an ephemeral port; the returned sender stops the server.
    async fn start(
        metrics: Arc<Metrics>,
        refresh: Option<RefreshSender>,
    ) -> (SocketAddr, oneshot::Sender<()>, JoinHandle<Result<()>>) {
        let listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, metrics, refresh, async {
            let _ = stopped.await;
        }));
        (addr, stop, server)
    }

    struct Response {
        status: u16,
        headers: String,
        body: String,
    }

    /// A minimal HTTP/1.1 client: one request, `Connection: close`, read to the end.
    async fn get(addr: SocketAddr, path: &str) -> Response {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).await.unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").expect("no end of headers");
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        Response { status, headers: head.to_ascii_lowercase(), body: body.to_owned() }
    }

    #[tokio::test]
    async fn serves_openmetrics_and_shuts_down() {
        let metrics = Arc::new(Metrics::new());
        metrics.deauth_received(Some(7));
        let (addr, stop, server) = start(metrics, None).await;

        let r = get(addr, "/metrics").await;
        assert_eq!(r.status, 200);
        assert!(r.headers.contains(&format!("content-type: {CONTENT_TYPE}")), "{}", r.headers);
        assert!(r.body.contains("roam_deauth_received_total{reason=\"7\"} 1\n"), "{}", r.body);
        assert!(r.body.ends_with("# EOF\n"));

        let r = get(addr, "/").await;
        assert_eq!(r.status, 200);
        assert!(r.body.contains("/metrics"));
        assert_eq!(get(addr, "/nothing").await.status, 404);

        stop.send(()).unwrap();
        let ended = tokio::time::timeout(Duration::from_secs(2), server).await;
        ended.expect("serve() did not end after shutdown").unwrap().unwrap();
    }

    #[tokio::test]
    async fn shutdown_is_not_held_up_by_an_idle_keep_alive_connection() {
        // Prometheus keeps its connection open between scrapes; stopping the agent must not
        // wait for the next scrape or for Prometheus to hang up.
        let (addr, stop, server) = start(Arc::new(Metrics::new()), None).await;
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let request = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut first = [0u8; 12];
        stream.read_exact(&mut first).await.unwrap();
        assert_eq!(&first, b"HTTP/1.1 200");

        stop.send(()).unwrap();
        let ended = tokio::time::timeout(Duration::from_secs(2), server).await;
        ended.expect("serve() waited for the idle connection").unwrap().unwrap();
    }

    #[tokio::test]
    async fn scrape_uses_the_agents_refresh() {
        let metrics = Arc::new(Metrics::new());
        let (tx, mut rx) = mpsc::channel::<RefreshRequest>(1);
        let agent_metrics = metrics.clone();
        tokio::spawn(async move {
            while let Some(reply) = rx.recv().await {
                let snap = KernelSnapshot { frames_observed: 1234, ..Default::default() };
                agent_metrics.set_kernel_snapshot(snap);
                let _ = reply.send(());
            }
        });
        let (addr, _stop, _server) = start(metrics, Some(tx)).await;
        let r = get(addr, "/metrics").await;
        assert!(r.body.contains("roam_frames_observed_total 1234\n"), "{}", r.body);
    }

    #[tokio::test]
    async fn scrapes_close_together_share_one_refresh() {
        let metrics = Arc::new(Metrics::new());
        let (tx, mut rx) = mpsc::channel::<RefreshRequest>(4);
        let asked = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let counted = asked.clone();
        tokio::spawn(async move {
            while let Some(reply) = rx.recv().await {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _ = reply.send(());
            }
        });
        let (addr, _stop, _server) = start(metrics, Some(tx)).await;
        for _ in 0..3 {
            assert_eq!(get(addr, "/metrics").await.status, 200);
        }
        assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    /// A client that connects and sends nothing is cut off, and its slot freed.
    #[tokio::test(start_paused = true)]
    async fn a_silent_client_is_disconnected_after_the_header_timeout() {
        let (addr, _stop, _server) = start(Arc::new(Metrics::new()), None).await;
        let mut silent = TcpStream::connect(addr).await.unwrap();
        let started = tokio::time::Instant::now();
        let mut rest = Vec::new();
        let read = tokio::time::timeout(HEADER_TIMEOUT * 2, silent.read_to_end(&mut rest)).await;
        assert!(read.is_ok(), "still connected after {:?}", HEADER_TIMEOUT * 2);
        assert!(started.elapsed() >= HEADER_TIMEOUT, "cut off after {:?}", started.elapsed());
    }

    #[tokio::test]
    async fn scrape_does_not_wait_for_a_silent_agent() {
        let metrics = Arc::new(Metrics::new());
        metrics.set_kernel_snapshot(KernelSnapshot { events_lost: 5, ..Default::default() });
        // The agent holds its end but never reads it: the first request sits in the channel,
        // the second finds it full. Both scrapes must still come back, with the last snapshot.
        let (tx, _never_read) = mpsc::channel::<RefreshRequest>(1);
        let (addr, _stop, _server) = start(metrics, Some(tx)).await;
        for _ in 0..2 {
            let started = Instant::now();
            let r = get(addr, "/metrics").await;
            assert!(started.elapsed() < Duration::from_secs(1), "took {:?}", started.elapsed());
            assert_eq!(r.status, 200);
            assert!(r.body.contains("roam_ringbuf_events_lost_total 5\n"), "{}", r.body);
        }
    }

    #[tokio::test]
    async fn scrape_survives_a_closed_refresh_channel() {
        let metrics = Arc::new(Metrics::new());
        let (tx, rx) = mpsc::channel::<RefreshRequest>(1);
        drop(rx);
        let (addr, _stop, _server) = start(metrics, Some(tx)).await;
        let r = get(addr, "/metrics").await;
        assert_eq!(r.status, 200);
        assert!(r.body.contains("roam_info{version="), "{}", r.body);
    }

    #[tokio::test]
    async fn bind_explains_an_address_in_use() {
        let first = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let addr = first.local_addr().unwrap();
        let err = bind(addr).await.unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "metrics listen address {addr} is in use: pick another with --metrics-listen, \
                 ROAM_METRICS_LISTEN (for roam@<iface>: in /etc/roam/<iface>.env) or \
                 metrics.listen in the config"
            )
        );
    }

    #[tokio::test]
    async fn bind_explains_a_foreign_address() {
        // TEST-NET-1 (RFC 5737) is never configured on a test host.
        let err = bind("192.0.2.1:0".parse().unwrap()).await.unwrap_err().to_string();
        assert!(err.contains("is not an address of this host"), "{err}");
    }
}
