//! The kernel programs' events, awaited on the ring buffer's descriptor (the kernel wakes the
//! agent when an event is submitted, so an idle agent sleeps) and decoded there, once, into
//! [`KernelEvent`]s.
//!
//! A task of its own drains the ring ([`pump`]), so an event that must be acted on within a
//! millisecond (the port opening: neighbours go back) is not queued behind the agent loop's
//! slower work, such as a round trip to wpa_supplicant.

use std::os::fd::{AsFd as _, AsRawFd as _, RawFd};

use anyhow::Result;
use roam_common::event::{KernelEvent, Stamped};
use tokio::{io::unix::AsyncFd, sync::mpsc};

use crate::{ebpf::events::EventReader, neighbours::PortOpened};

/// The ring's descriptor, for AsyncFd (the ring itself stays with the reader).
struct RingFd(RawFd);

impl std::os::fd::AsRawFd for RingFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

pub struct KernelEvents {
    // Declared first, so it is dropped (deregistered) before the reader closes the descriptor.
    ready: AsyncFd<RingFd>,
    reader: EventReader,
}

impl KernelEvents {
    pub fn new(mut reader: EventReader) -> Result<Self> {
        let fd = reader.ring_mut().as_fd().as_raw_fd();
        // SAFETY: the descriptor belongs to `reader`, which lives in the same struct and is
        // dropped after the registration (field order), so it stays open while registered.
        let ready = unsafe { AsyncFd::register(RingFd(fd)) }.map_err(|e| e.into_parts().1)?;
        Ok(KernelEvents { ready, reader })
    }

    /// The next event; waits while the ring is empty. Cancel-safe: an event is only taken from
    /// the ring when it is returned.
    pub async fn next(&mut self) -> Result<Stamped> {
        loop {
            if let Some(event) = next_known(&mut self.reader) {
                return Ok(event);
            }
            let mut guard = self.ready.readable().await?;
            // Re-check under the guard: an event submitted between the empty read and the
            // readiness registration must not be missed.
            if let Some(event) = next_known(&mut self.reader) {
                return Ok(event);
            }
            guard.clear_ready();
        }
    }
}

/// The next queued record this build knows, decoded; the others are skipped.
fn next_known(reader: &mut EventReader) -> Option<Stamped> {
    while let Some(record) = reader.try_next() {
        match record.decode() {
            Some(event) => return Some(event),
            None => tracing::debug!(kind = record.kind, "skipping a kernel event of unknown kind"),
        }
    }
    None
}

/// Moves events from the ring to `to_agent`; a port opening also goes to each of `port_opened`
/// first.
/// Ends when the agent stops listening, or after forwarding a read error.
pub fn pump(
    mut kernel: KernelEvents,
    to_agent: mpsc::Sender<Result<Stamped>>,
    port_opened: Vec<mpsc::UnboundedSender<PortOpened>>,
) {
    tokio::spawn(async move {
        loop {
            // The agent can go while the ring is quiet (the station was removed and its
            // programs detached): end with it, and let go of the ring buffer.
            let event = tokio::select! {
                event = kernel.next() => event,
                () = to_agent.closed() => return,
            };
            if let Ok(Stamped { at_ns, event: KernelEvent::PortAuthorized { peer }, .. }) = &event {
                for tx in &port_opened {
                    let _ = tx.send(PortOpened { bssid: *peer, at_ns: *at_ns });
                }
            }
            let failed = event.is_err();
            if to_agent.send(event).await.is_err() || failed {
                return;
            }
        }
    });
}
