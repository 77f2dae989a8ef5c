//! TX statuses said more than once.
//!
//! mac80211_hwsim hands a transmitted frame to the medium *before* it queues the frame to wait
//! for its status (`mac80211_hwsim_tx_frame_nl`: `genlmsg_unicast`, then
//! `skb_queue_tail(&data->pending)`), and it drops without a word a status whose frame it
//! cannot find. A medium that answers at once, as this one does, can answer inside that window
//! when the transmitting vCPU is held up (TCG does that). The frame then waits in hwsim's
//! pending queue until hwsim trims the queue, minutes later, and its late "not acknowledged"
//! reaches whoever uses the radio by then: hostapd, which matches an AP's TX statuses by the
//! frame and not by cookie, took one for the current association response and removed a
//! station that had just associated (20 s without traffic in a walk). Counted in one walk
//! under TCG: hwsim refused 72 of 8430 first statuses (0.9 %, data frames and a beacon), and
//! took every one of them at the first repeat.
//!
//! So every status is sent again after each of [`REPEAT_AFTER`]. hwsim ignores a copy whose
//! frame it has already answered: its cookies count up per radio and are never reused.

use std::{collections::VecDeque, time::Duration};

/// When a status is sent again, after the first time: soon, for the usual short hold-up, and
/// once more for a long one.
pub const REPEAT_AFTER: [Duration; 2] = [Duration::from_millis(50), Duration::from_secs(1)];

/// Messages to send again, each at its times; `T` is the message.
#[derive(Debug)]
pub struct Repeats<T> {
    /// One queue per delay: each is in due order, as every entry waited the same.
    queues: Vec<VecDeque<(u64, T)>>,
    delays_ns: Vec<u64>,
}

impl<T: Clone> Repeats<T> {
    pub fn new(delays: &[Duration]) -> Self {
        Repeats {
            queues: delays.iter().map(|_| VecDeque::new()).collect(),
            delays_ns: delays.iter().map(|d| d.as_nanos() as u64).collect(),
        }
    }

    /// `message` was sent at `now_ns`: it is due again after each delay.
    pub fn sent(&mut self, now_ns: u64, message: &T) {
        for (queue, delay) in self.queues.iter_mut().zip(&self.delays_ns) {
            queue.push_back((now_ns + delay, message.clone()));
        }
    }

    /// The messages due at `now_ns`, removed.
    pub fn due(&mut self, now_ns: u64) -> Vec<T> {
        let mut due = Vec::new();
        for queue in &mut self.queues {
            while queue.front().is_some_and(|(at, _)| *at <= now_ns) {
                due.extend(queue.pop_front().map(|(_, message)| message));
            }
        }
        due
    }

    /// Every message still to repeat, removed: for the last word before the medium closes.
    pub fn all(&mut self) -> Vec<T> {
        self.queues.iter_mut().flat_map(|queue| queue.drain(..).map(|(_, m)| m)).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.queues.iter().all(VecDeque::is_empty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn repeats() -> Repeats<u32> {
        Repeats::new(&[Duration::from_millis(50), Duration::from_secs(1)])
    }

    #[test]
    fn a_status_comes_back_after_each_delay_and_then_never() {
        let mut r = repeats();
        r.sent(0, &7);
        assert_eq!(r.due(49 * MS), Vec::<u32>::new());
        assert_eq!(r.due(50 * MS), vec![7]);
        assert_eq!(r.due(999 * MS), Vec::<u32>::new());
        assert_eq!(r.due(1000 * MS), vec![7]);
        assert!(r.is_empty());
        assert_eq!(r.due(5000 * MS), Vec::<u32>::new());
    }

    #[test]
    fn statuses_come_back_in_the_order_they_were_sent() {
        let mut r = repeats();
        r.sent(0, &1);
        r.sent(10 * MS, &2);
        r.sent(20 * MS, &3);
        assert_eq!(r.due(65 * MS), vec![1, 2]);
        assert_eq!(r.due(70 * MS), vec![3]);
    }

    #[test]
    fn closing_takes_everything_still_waiting() {
        let mut r = repeats();
        r.sent(0, &1);
        r.sent(0, &2);
        assert_eq!(r.due(50 * MS), vec![1, 2]);
        let mut last = r.all();
        last.sort();
        assert_eq!(last, vec![1, 2]);
        assert!(r.is_empty());
    }
}
