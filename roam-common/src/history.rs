//! A short history of what the station sent, kept by the TC egress program in a per-CPU ring of
//! time slots. It answers, after the fact, "how many packets went out since the AP was last
//! heard?": the packets sent into a silent AP before roam noticed, which no drop counter sees
//! because the driver transmitted them (nobody acknowledged them).

/// log2 of a slot's width in ns: 2^23 ns = 8.4 ms, finer than a beacon interval.
pub const SLOT_SHIFT: u32 = 23;
/// Slots in the ring (a power of two): 512 x 8.4 ms = 4.3 s of history, more than the longest
/// silence threshold (20 beacon intervals).
pub const SLOTS: u32 = 512;

/// One time slot of one CPU.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EgressSlot {
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
pub fn record(slot: &mut EgressSlot, epoch: u64) {
    if slot.epoch != epoch {
        slot.epoch = epoch;
        slot.packets = 0;
    }
    slot.packets += 1;
}

/// Packets sent in `[from_ns, to_ns)` according to the slots of every CPU, at slot granularity:
/// a slot counts if its start lies in the interval. Slots older than the ring are gone, so an
/// interval longer than the ring is undercounted (the agent bounds its questions).
pub fn sent_between(slots: impl IntoIterator<Item = EgressSlot>, from_ns: u64, to_ns: u64) -> u64 {
    let (from, to) = (from_ns >> SLOT_SHIFT, to_ns >> SLOT_SHIFT);
    slots
        .into_iter()
        .filter(|s| s.packets != 0 && s.epoch >= from && s.epoch < to)
        .map(|s| s.packets)
        .sum()
}

#[cfg(feature = "user")]
// SAFETY: #[repr(C)], two u64s, no padding.
unsafe impl aya::Pod for EgressSlot {}

#[cfg(test)]
mod tests {
    use super::*;

    const SLOT_NS: u64 = 1 << SLOT_SHIFT;

    #[test]
    fn slots_wrap_and_reset_on_a_new_lap() {
        let mut ring = [EgressSlot::default(); SLOTS as usize];
        let t0 = 1_000 * SLOT_NS;
        for i in 0..10 {
            let (idx, epoch) = slot_of(t0 + i * SLOT_NS / 2);
            record(&mut ring[idx as usize], epoch);
        }
        assert_eq!(sent_between(ring, t0, t0 + 5 * SLOT_NS), 10);
        assert_eq!(sent_between(ring, t0 + 2 * SLOT_NS, t0 + 5 * SLOT_NS), 6, "two per slot");
        // A lap later the same index starts from zero.
        let (idx, epoch) = slot_of(t0 + SLOTS as u64 * SLOT_NS);
        assert_eq!(idx, slot_of(t0).0);
        record(&mut ring[idx as usize], epoch);
        assert_eq!(ring[idx as usize].packets, 1);
        assert_eq!(sent_between(ring, t0, t0 + SLOT_NS), 0, "the old lap is gone");
    }

    #[test]
    fn cpus_add_up() {
        let a = EgressSlot { epoch: 700, packets: 3 };
        let b = EgressSlot { epoch: 700, packets: 2 };
        let stale = EgressSlot { epoch: 700 - SLOTS as u64, packets: 9 };
        assert_eq!(sent_between([a, b, stale], 700 * SLOT_NS, 701 * SLOT_NS), 5);
    }
}
