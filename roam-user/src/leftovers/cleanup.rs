//! Undoing a stale run record: each item as far as it is still there, none of it fatal.

use aya::programs::tc::{self, TcAttachType, TcError};

use super::RunRecord;
use crate::{
    ebpf::hooks::{EGRESS_PROGRAM, INGRESS_PROGRAM},
    netif,
    nl80211::Nl80211,
    rtnl,
};

/// Undoes what `record` lists and says what it found, one entry per thing removed, for the log.
/// Things already gone (the radio was removed, the interface renamed) are skipped quietly; what
/// cannot be removed is named with the command that removes it.
pub async fn undo(record: &RunRecord, nl80211: &Nl80211) -> Vec<String> {
    let mut undone = Vec::new();
    if let Some(monitor) = &record.monitor {
        match nl80211.clear_leftover(monitor.wiphy, &monitor.name).await {
            Ok(true) => undone.push(format!("deleted monitor interface {}", monitor.name)),
            Ok(false) => {}
            Err(err) => undone.push(format!(
                "left {}: {err} (delete it with `iw dev {} del`)",
                monitor.name, monitor.name
            )),
        }
    }
    let station = &record.station;
    let Ok(ifindex) = netif::ifindex(station) else {
        // The interface went (its radio was removed), and its qdisc and filters with it.
        return undone;
    };
    if record.clsact_added {
        // Its filters, roam's among them, go with it.
        match rtnl::delete_clsact(ifindex) {
            Ok(()) => undone.push(format!("deleted the clsact qdisc roam added on {station}")),
            Err(err) => undone.push(format!(
                "left the clsact qdisc roam added on {station}: {err:#} (delete it with `tc qdisc del dev {station} clsact`)"
            )),
        }
        return undone;
    }
    for (direction, name, program) in [
        (TcAttachType::Egress, "egress", EGRESS_PROGRAM),
        (TcAttachType::Ingress, "ingress", INGRESS_PROGRAM),
    ] {
        match tc::qdisc_detach_program(station, direction, program) {
            Ok(()) => undone.push(format!("removed {program} from {station}'s {name}")),
            Err(TcError::IoError(err)) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => undone.push(format!(
                "left {program} on {station}'s {name}: {err} (list it with `tc filter show dev {station} {name}`)"
            )),
        }
    }
    undone
}
