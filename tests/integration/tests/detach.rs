//! Nothing of roam's stays in the kernel once the agent is gone.

use std::process::Command;

use anyhow::{ensure, Result};
use integration_test::{
    in_netns, roam_binary, roam_programs_left, roam_programs_loaded, veth_pair,
};
use roam_user::ebpf::{Observer, ObserverOptions};

#[test]
fn programs_are_gone_when_the_observer_drops() -> Result<()> {
    in_netns(|| {
        ensure!(roam_programs_loaded().is_empty(), "roam programs loaded before the test");
        veth_pair("roamsta1", "10.78.0.1/24", "roamap1")?;
        let observer =
            Observer::start(&ObserverOptions { station: "roamsta1".into(), monitor: None })?;
        let loaded = roam_programs_loaded();
        ensure!(loaded.iter().any(|p| p == "roam_egress"), "loaded: {loaded:?}");
        drop(observer);
        let left = roam_programs_left();
        ensure!(left.is_empty(), "left attached: {left:?}");
        Ok(())
    })
}

#[test]
fn programs_are_gone_when_the_roam_binary_exits() -> Result<()> {
    in_netns(|| {
        veth_pair("roamsta2", "10.79.0.1/24", "roamap2")?;
        // `roam check` loads and attaches every hook, reports, and exits (non-zero: a veth is
        // not wireless). The child inherits this thread's namespaces.
        let out = Command::new(roam_binary()?)
            .args(["check", "--iface", "roamsta2", "--json"])
            .output()?;
        let report = String::from_utf8_lossy(&out.stdout);
        ensure!(report.contains("\"program\":\"roam_egress\""), "no hook report: {report}");
        ensure!(report.contains("\"status\":\"attached\""), "nothing attached: {report}");
        ensure!(!out.status.success(), "a veth must not pass `roam check`");
        let left = roam_programs_left();
        ensure!(left.is_empty(), "left attached after the binary exited: {left:?}");
        Ok(())
    })
}

/// Kernels without tcx (before 6.6) need a clsact qdisc, which roam adds if missing and deletes
/// as it exits, over rtnetlink as `tc qdisc del` would.
#[test]
fn the_clsact_qdisc_roam_added_is_deleted_over_rtnetlink() -> Result<()> {
    in_netns(|| {
        veth_pair("roamsta3", "10.80.0.1/24", "roamap3")?;
        let ifindex = roam_user::netif::ifindex("roamsta3")?;
        aya::programs::tc::qdisc_add_clsact("roamsta3")?;
        roam_user::rtnl::delete_clsact(ifindex)?;
        // Gone: it can be added again, and a second deletion finds nothing.
        aya::programs::tc::qdisc_add_clsact("roamsta3")?;
        roam_user::rtnl::delete_clsact(ifindex)?;
        ensure!(roam_user::rtnl::delete_clsact(ifindex).is_err(), "deleted a qdisc that was gone");
        Ok(())
    })
}
