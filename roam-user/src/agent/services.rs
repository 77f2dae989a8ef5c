//! What outlives an attachment to the station: the metrics, the status and event channels, and
//! the two local servers (Prometheus, the control socket). The station can go and come back (its
//! radio removed); these stay, so scrapes, `roam status` and `roam events` go on meanwhile.

use std::{path::Path, sync::Arc};

use anyhow::Result;
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

use roam_proto::Status;

use super::emit::Emitter;
use crate::{
    config::Config,
    control::ControlServer,
    metrics::{self, Metrics, RefreshRequest},
};

pub struct Services {
    pub metrics: Arc<Metrics>,
    pub emitter: Emitter,
    pub status_tx: watch::Sender<Status>,
    /// Scrapes and `roam status` ask the agent for a fresh snapshot through this; the agent
    /// holds the receiving end while attached and gives it back when it detaches.
    refresh_tx: metrics::RefreshSender,
    pub refresh_rx: Option<mpsc::Receiver<RefreshRequest>>,
    /// Dropping it stops both servers (the control socket file is removed as its server ends).
    stop_servers: watch::Sender<bool>,
    control_bound: bool,
}

impl Services {
    /// Creates the channels and starts the metrics endpoint (if configured).
    pub async fn start(config: &Config, station: &str) -> Result<Services> {
        let metrics = Arc::new(Metrics::for_device(station));
        let emitter = Emitter::new(1024);
        let (status_tx, _) = watch::channel(Status::default());
        let (stop_servers, stop_rx) = watch::channel(false);
        let (refresh_tx, refresh_rx) = mpsc::channel(4);
        if let Some(addr) = config.metrics.listen_addr()? {
            let listener = metrics::bind(addr).await?;
            if addr.ip().is_loopback() {
                info!("metrics on http://{addr}/metrics");
            } else {
                // Loopback is the default; anything else was asked for, and is worth a line.
                warn!(
                    "metrics on http://{addr}/metrics, reachable from other hosts (metrics.listen)"
                );
            }
            let serving = metrics::serve(
                listener,
                metrics.clone(),
                Some(refresh_tx.clone()),
                stopped(stop_rx),
            );
            tokio::spawn(async move {
                if let Err(err) = serving.await {
                    warn!("metrics endpoint stopped: {err:#}");
                }
            });
        }
        Ok(Services {
            metrics,
            emitter,
            status_tx,
            refresh_tx,
            refresh_rx: Some(refresh_rx),
            stop_servers,
            control_bound: false,
        })
    }

    /// Whether the control socket is served (the agent has been attached before).
    pub fn control_served(&self) -> bool {
        self.control_bound
    }

    /// Binds the control socket and serves it, the first time the agent is attached and
    /// following the station: the socket's appearance means "roam is on duty". Later calls
    /// (attachments after the station came back) find it served.
    pub async fn serve_control(&mut self, path: &Path, iface: &str) -> Result<()> {
        if self.control_bound {
            return Ok(());
        }
        let control = ControlServer::bind(path, iface).await?;
        let serving = control.serve(
            self.status_tx.subscribe(),
            self.emitter.sender(),
            Some(self.refresh_tx.clone()),
            stopped(self.stop_servers.subscribe()),
        );
        tokio::spawn(async move {
            if let Err(err) = serving.await {
                warn!("control socket stopped: {err:#}");
            }
        });
        self.control_bound = true;
        Ok(())
    }
}

/// Resolves when the stop flag is raised (or its sender is gone).
async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}
