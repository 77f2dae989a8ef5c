//! The AP ending the association: the kernel sees the frame first, the manager processes it
//! after; the loss takes something of each.

use roam_common::policy::Trigger;

/// How long before the manager's disconnection the kernel's sight of the frame can be: a
/// deauthentication is processed within milliseconds; one seen long before (during an earlier
/// connection's setup) is another's.
const AP_ENDED_FRESH_NS: u64 = 1_000_000_000;

/// The sighting to keep when the kernel sees the AP end the association at `new`: the first
/// since the last one went stale (an AP may send another right after the first: hostapd
/// answers the station's next frame with a reason-7 deauthentication). Pure.
pub(super) fn first_sighting(
    kept: Option<(Trigger, u64)>,
    new: (Trigger, u64),
) -> Option<(Trigger, u64)> {
    match kept {
        Some((_, at)) if new.1.saturating_sub(at) <= AP_ENDED_FRESH_NS => kept,
        _ => Some(new),
    }
}

/// The loss the AP's deauthentication or disassociation is: the kind and time from the kernel,
/// which saw the frame first (when it saw it just now), the reason from the manager, which
/// processed it (under PMF the frame's reason is encrypted, and the kernel's is 0). Pure.
pub(super) fn trigger(seen: Option<(Trigger, u64)>, reason: u16, now: u64) -> (Trigger, u64) {
    let seen = seen.filter(|&(_, at)| now.saturating_sub(at) <= AP_ENDED_FRESH_NS);
    let (trigger, at) = seen.unwrap_or((Trigger::Deauth { reason }, now));
    let reason_of = |kernel: u16| if reason != 0 { reason } else { kernel };
    let trigger = match trigger {
        Trigger::Deauth { reason } => Trigger::Deauth { reason: reason_of(reason) },
        Trigger::Disassoc { reason } => Trigger::Disassoc { reason: reason_of(reason) },
        other => other,
    };
    (trigger, at)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn the_kernels_sight_gives_kind_and_time_the_manager_the_reason() {
        let now = 10_000 * MS;
        let seen = Some((Trigger::Disassoc { reason: 0 }, now - 5 * MS));
        assert_eq!(trigger(seen, 5, now), (Trigger::Disassoc { reason: 5 }, now - 5 * MS));
        let seen = Some((Trigger::Deauth { reason: 7 }, now - 5 * MS));
        assert_eq!(trigger(seen, 0, now), (Trigger::Deauth { reason: 7 }, now - 5 * MS));
    }

    #[test]
    fn the_first_fresh_sighting_is_kept() {
        let now = 10_000 * MS;
        let first = (Trigger::Deauth { reason: 3 }, now);
        let kept = first_sighting(None, first);
        let echo = (Trigger::Deauth { reason: 7 }, now + 20 * MS);
        assert_eq!(first_sighting(kept, echo), Some(first), "hostapd's reason-7 echo");
        let later = (Trigger::Deauth { reason: 3 }, now + 5_000 * MS);
        assert_eq!(first_sighting(kept, later), Some(later), "the first went stale");
    }

    /// A reason-7 deauthentication seen while an earlier connection was set up, never
    /// processed as a disconnection, must not become the next loss's reason (it would hold the
    /// loss as one wpa_supplicant recovers from by itself).
    #[test]
    fn a_stale_sighting_is_not_the_next_loss() {
        let now = 10_000 * MS;
        let stale = Some((Trigger::Deauth { reason: 7 }, now - 2_000 * MS));
        assert_eq!(trigger(stale, 3, now), (Trigger::Deauth { reason: 3 }, now));
    }
}
