//! The agent's one timer: an absolute CLOCK_MONOTONIC deadline on a timerfd, awaited on the
//! event loop.
//!
//! The agent's deadlines are kernel timestamps (the clock of `bpf_ktime_get_ns`), and an idle
//! agent is woken by its timer several times a second (the liveness check). tokio's timer wheel
//! would cost two wake-ups for each of those: a deadline more than 64 ms ahead sits in a
//! coarser level of the wheel, whose slot expires first and is then cascaded into a second
//! sleep. A timerfd set to the absolute deadline wakes the thread once, at the nanosecond.

use std::{
    io,
    os::fd::{AsFd as _, AsRawFd, RawFd},
};

use nix::sys::{
    time::TimeSpec,
    timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags},
};
use tokio::io::{unix::AsyncFd, Interest};

pub struct Alarm {
    timer: AsyncFd<Timer>,
    /// The deadline the timer is set to, if any.
    armed_ns: Option<u64>,
}

impl Alarm {
    pub fn new() -> io::Result<Self> {
        let timer = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )?;
        // SAFETY: the AsyncFd owns the timer, so its descriptor stays open while registered.
        let timer = unsafe { AsyncFd::register_with_interest(Timer(timer), Interest::READABLE) }
            .map_err(|e| e.into_parts().1)?;
        Ok(Alarm { timer, armed_ns: None })
    }

    /// Resolves at `at_ns` (CLOCK_MONOTONIC; at once if it has passed), never for `None`.
    /// Cancel-safe: a later call with the same deadline keeps waiting for it.
    pub async fn until(&mut self, at_ns: Option<u64>) -> io::Result<()> {
        let Some(at_ns) = at_ns else { return std::future::pending().await };
        if self.armed_ns != Some(at_ns) {
            // An absolute zero would disarm the timer: 1 ns is as much in the past.
            let when = TimeSpec::from_duration(std::time::Duration::from_nanos(at_ns.max(1)));
            self.timer
                .get_ref()
                .0
                .set(Expiration::OneShot(when), TimerSetTimeFlags::TFD_TIMER_ABSTIME)?;
            self.armed_ns = Some(at_ns);
        }
        loop {
            let mut guard = self.timer.readable().await?;
            let mut expirations = [0u8; 8];
            match guard.try_io(|timer| {
                nix::unistd::read(timer.get_ref().as_raw_fd(), &mut expirations)
                    .map_err(io::Error::from)
            }) {
                Ok(result) => {
                    result?;
                    self.armed_ns = None;
                    return Ok(());
                }
                // Not expired yet (a readiness left over from an earlier deadline).
                Err(_would_block) => continue,
            }
        }
    }
}

/// The timerfd, as the event loop registers descriptors.
struct Timer(TimerFd);

impl AsRawFd for Timer {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netif::monotonic_ns;

    #[tokio::test]
    async fn wakes_at_the_deadline_not_before() {
        let mut alarm = Alarm::new().unwrap();
        let at = monotonic_ns() + 20_000_000;
        alarm.until(Some(at)).await.unwrap();
        assert!(monotonic_ns() >= at);
    }

    #[tokio::test]
    async fn a_deadline_in_the_past_is_due_at_once() {
        let mut alarm = Alarm::new().unwrap();
        let started = monotonic_ns();
        alarm.until(Some(1)).await.unwrap();
        alarm.until(Some(started)).await.unwrap();
        assert!(monotonic_ns() - started < 1_000_000_000);
    }

    #[tokio::test]
    async fn a_moved_deadline_replaces_the_earlier_one() {
        let mut alarm = Alarm::new().unwrap();
        let far = monotonic_ns() + 60_000_000_000;
        // Cancelled after arming the far deadline, as a select! would.
        let waited =
            tokio::time::timeout(std::time::Duration::from_millis(10), alarm.until(Some(far)))
                .await;
        assert!(waited.is_err(), "a minute away is not due");
        let near = monotonic_ns() + 5_000_000;
        alarm.until(Some(near)).await.unwrap();
        assert!(monotonic_ns() >= near);
    }

    #[tokio::test]
    async fn no_deadline_never_resolves() {
        let mut alarm = Alarm::new().unwrap();
        let waited =
            tokio::time::timeout(std::time::Duration::from_millis(10), alarm.until(None)).await;
        assert!(waited.is_err());
    }
}
