//! Reading events from the kernel's ring buffer.

use std::{
    os::fd::{AsFd, AsRawFd},
    time::{Duration, Instant},
};

use anyhow::Result;
use aya::maps::{MapData, RingBuf};
use roam_common::event::Event;

pub struct EventReader {
    ring: RingBuf<MapData>,
}

impl EventReader {
    pub fn new(ring: RingBuf<MapData>) -> Self {
        Self { ring }
    }

    /// The next queued event, without waiting.
    pub fn try_next(&mut self) -> Option<Event> {
        let item = self.ring.next()?;
        decode(&item)
    }

    /// Waits up to `timeout` for the next event (poll(2) on the ring's descriptor: the kernel
    /// wakes us when an event is submitted).
    pub fn next_timeout(&mut self, timeout: Duration) -> Result<Option<Event>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(ev) = self.try_next() {
                return Ok(Some(ev));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            let mut pfd = libc::pollfd {
                fd: self.ring.as_fd().as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd for the duration of the call.
            let rc =
                unsafe { libc::poll(&mut pfd, 1, left.as_millis().min(i32::MAX as u128) as i32) };
            if rc < 0 {
                let err = std::io::Error::last_os_error();
                if err.kind() != std::io::ErrorKind::Interrupted {
                    return Err(err.into());
                }
            }
        }
    }

    /// Everything queued right now.
    pub fn drain(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.try_next()).collect()
    }

    /// The ring for async readiness (tokio's AsyncFd) in the agent.
    pub fn ring_mut(&mut self) -> &mut RingBuf<MapData> {
        &mut self.ring
    }
}

/// An event record, or `None` for a record of the wrong size (a mismatched object).
pub fn decode(bytes: &[u8]) -> Option<Event> {
    if bytes.len() != std::mem::size_of::<Event>() {
        return None;
    }
    // SAFETY: Event is #[repr(C)] Pod and the length matches; read_unaligned copes with any
    // alignment of the ring's record.
    Some(unsafe { std::ptr::read_unaligned(bytes.as_ptr() as *const Event) })
}
