//! Sending events to the agent.

use aya_ebpf::helpers::bpf_ktime_get_ns;
use roam_common::event::{Event, EventKind};

use crate::maps::{EVENTS, FILTER_CPU};

/// A blank event of `kind`, stamped now.
#[inline(always)]
pub fn new(kind: EventKind) -> Event {
    Event {
        kind: kind as u32,
        // SAFETY: no preconditions.
        ts_ns: unsafe { bpf_ktime_get_ns() },
        ..Event::default()
    }
}

/// Queues an event; a full ring is counted (the agent exports it), never retried.
#[inline(always)]
pub fn send(event: &Event) {
    let lost = EVENTS.output::<Event>(event, 0).is_err();
    if let Some(cpu) = FILTER_CPU.get_ptr_mut(0) {
        // SAFETY: a per-CPU map value, valid for the program's run; nothing else on this CPU
        // touches it concurrently.
        unsafe {
            if lost {
                (*cpu).stats.events_lost += 1;
            } else {
                (*cpu).stats.events += 1;
            }
        }
    }
}
