//! Short histories of the station's data packets, kept by the kernel programs in per-CPU rings
//! of time slots: one of packets sent (TC egress), one of packets dropped (kfree_skb, while the
//! drop window is open). They answer, after the fact, "how many packets went out into the air
//! since the AP was last heard?": those sent into a silent AP before roam noticed, which no drop
//! counter sees because the driver transmitted them (nobody acknowledged them). Sent minus
//! dropped over the same slots, because a packet the kernel dropped before the station left
//! (the supplicant closing the port for the new connection) never reached the air and is
//! already counted among the drops.

/// log2 of a slot's width in ns: 2^20 ns = 1.05 ms. Finer than any packet rate worth counting
/// one by one (a probe every 10 ms, a reply ~1 ms after its request), so the AP's last frame
/// and the packet it answered fall in different slots.
pub const SLOT_SHIFT: u32 = 20;
/// Slots in the ring (a power of two): 4096 x 1.05 ms = 4.3 s of history, more than the longest
/// silence threshold (20 beacon intervals). 64 KiB per CPU.
pub const SLOTS: u32 = 4096;

/// One time slot of one CPU.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HistorySlot {
    /// `ts >> SLOT_SHIFT` of the slot's time; a stale epoch means the slot is from an earlier
    /// lap of the ring and counts as empty.
    pub epoch: u64,
    pub packets: u64,
}

/// The ring index and epoch of a CLOCK_MONOTONIC time.
#[inline(always)]
pub fn slot_of(ts_ns: u64) -> (u32, u64) {
    let epoch = ts_ns >> SLOT_SHIFT;
    ((epoch as u32) & (SLOTS - 1), epoch)
}

/// Counts one packet sent at `epoch` into `slot` (the slot `slot_of` named).
#[inline(always)]
pub fn record(slot: &mut HistorySlot, epoch: u64) {
    if slot.epoch != epoch {
        slot.epoch = epoch;
        slot.packets = 0;
    }
    slot.packets += 1;
}

/// The ring indices [`count_after`] reads for this interval, at most one lap: the only ones a
/// reader needs to fetch.
pub fn indices_after(heard_ns: u64, until_ns: u64) -> impl Iterator<Item = u32> {
    let (first, end) = ((heard_ns >> SLOT_SHIFT) + 1, until_ns >> SLOT_SHIFT);
    let count = end.saturating_sub(first).min(SLOTS as u64);
    (0..count).map(move |i| ((first + i) as u32) & (SLOTS - 1))
}

/// Packets recorded after the peer was last heard (`heard_ns`) and before `until_ns`, from the
/// slots of every CPU: the slots after `heard_ns`'s own and before `until_ns`'s.
///
/// The slot of the last frame heard is left out on purpose: what the station sent in the same
/// millisecond is, nearly always, the request that frame answered (a reply follows its request
/// by the round trip, about a millisecond), not a packet sent into the silence. Slots older than
/// the ring are gone, so an interval longer than the ring is undercounted (the agent bounds its
/// questions).
pub fn count_after(
    slots: impl IntoIterator<Item = HistorySlot>,
    heard_ns: u64,
    until_ns: u64,
) -> u64 {
    let (heard, until) = (heard_ns >> SLOT_SHIFT, until_ns >> SLOT_SHIFT);
    slots
        .into_iter()
        .filter(|s| s.packets != 0 && s.epoch > heard && s.epoch < until)
        .map(|s| s.packets)
        .sum()
}

#[cfg(feature = "user")]
// SAFETY: #[repr(C)], two u64s, no padding.
unsafe impl aya::Pod for HistorySlot {}

#[cfg(test)]
mod tests {
    use super::*;

    const SLOT_NS: u64 = 1 << SLOT_SHIFT;

    #[test]
    fn slots_wrap_and_reset_on_a_new_lap() {
        let mut ring = [HistorySlot::default(); SLOTS as usize];
        let t0 = 1_000 * SLOT_NS;
        for i in 0..10 {
            let (idx, epoch) = slot_of(t0 + i * SLOT_NS / 2);
            record(&mut ring[idx as usize], epoch);
        }
        assert_eq!(count_after(ring, t0 - SLOT_NS, t0 + 5 * SLOT_NS), 10);
        assert_eq!(count_after(ring, t0 + SLOT_NS, t0 + 5 * SLOT_NS), 6, "two per slot");
        // A lap later the same index starts from zero.
        let (idx, epoch) = slot_of(t0 + SLOTS as u64 * SLOT_NS);
        assert_eq!(idx, slot_of(t0).0);
        record(&mut ring[idx as usize], epoch);
        assert_eq!(ring[idx as usize].packets, 1);
        assert_eq!(count_after(ring, t0 - SLOT_NS, t0 + SLOT_NS), 0, "the old lap is gone");
    }

    #[test]
    fn a_reader_fetches_only_the_interval() {
        let t0 = 5_000 * SLOT_NS + 7;
        let idx: Vec<u32> = indices_after(t0, t0 + 3 * SLOT_NS).collect();
        assert_eq!(idx, vec![5_001 % SLOTS, 5_002 % SLOTS]);
        assert_eq!(indices_after(t0, t0 + SLOT_NS).count(), 0);
        assert_eq!(indices_after(t0 + SLOT_NS, t0).count(), 0, "reversed: nothing");
        assert_eq!(indices_after(0, u64::MAX).count(), SLOTS as usize, "one lap at most");
    }

    #[test]
    fn cpus_add_up() {
        let a = HistorySlot { epoch: 7_000, packets: 3 };
        let b = HistorySlot { epoch: 7_000, packets: 2 };
        let stale = HistorySlot { epoch: 7_000 - SLOTS as u64, packets: 9 };
        assert_eq!(count_after([a, b, stale], 6_999 * SLOT_NS, 7_001 * SLOT_NS), 5);
    }

    #[test]
    fn the_request_a_last_frame_answered_is_not_counted() {
        let mut ring = [HistorySlot::default(); SLOTS as usize];
        let heard = 9_000 * SLOT_NS + SLOT_NS / 2;
        // A request 0.4 ms before the reply heard, then two packets into the silence.
        for sent in [heard - SLOT_NS * 2 / 5, heard + 10 * SLOT_NS, heard + 20 * SLOT_NS] {
            let (idx, epoch) = slot_of(sent);
            record(&mut ring[idx as usize], epoch);
        }
        assert_eq!(count_after(ring, heard, heard + 30 * SLOT_NS), 2);
        assert_eq!(count_after(ring, heard, heard + 15 * SLOT_NS), 1, "until is exclusive");
    }
}
