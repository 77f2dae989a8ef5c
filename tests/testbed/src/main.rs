//! `roam-testbed`: the guest side of the VM testbed.
//!
//! The same binary is the VM's `/init` (when started under that name) and a set of tools for the
//! debugging shell: the scenario runner, the traffic probe, the echo responder and a command that
//! brings the topology up and keeps it.

mod guest;

use std::{net::SocketAddr, path::PathBuf, process::ExitCode, time::Duration};

use clap::{Parser, Subcommand};
use roam_testbed::{
    scenario::{ChannelPlan, Security},
    stack::Stack,
};

#[derive(Parser)]
#[command(name = "roam-testbed", about = "Guest side of the roam VM testbed")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs a plan (the host's JSON) and writes the results archive.
    Run {
        #[arg(long, default_value = roam_testbed::plan::PLAN_PATH)]
        plan: PathBuf,
        /// Where the results tar goes (the results disk).
        #[arg(long, default_value = guest::results::RESULTS_DEVICE)]
        results: PathBuf,
    },
    /// Brings the topology up (APs, bridge, station) and keeps it until Enter is pressed.
    Up {
        /// same, different or a list such as 1,6.
        #[arg(long, default_value = "same")]
        channels: ChannelPlan,
        #[arg(long, default_value_t = 2)]
        aps: usize,
        /// Use an open SSID instead of WPA2-PSK.
        #[arg(long)]
        open: bool,
        /// The station's software: wpa_supplicant, iwd...
        #[arg(long, default_value = "wpa_supplicant")]
        stack: Stack,
    },
    /// Sends timestamped UDP probes and prints what came back.
    Probe {
        /// Network namespace to send from (a name under /run/netns).
        #[arg(long)]
        netns: Option<String>,
        #[arg(long, default_value = "10.0.0.1:7777")]
        target: SocketAddr,
        #[arg(long, default_value_t = 10)]
        interval_ms: u64,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Echoes UDP datagrams back to their sender.
    Echo {
        #[arg(long, default_value = "10.0.0.1:7777")]
        bind: SocketAddr,
    },
    /// Prints the body of `GET http://ADDR/PATH` (scrapes the agent's metrics inside a
    /// namespace with `ip netns exec`).
    #[command(hide = true)]
    HttpGet { addr: SocketAddr, path: String },
    /// Writes VALUE to /proc/sys/KEY (with `ip netns exec`, in that namespace).
    #[command(hide = true)]
    Sysctl { key: String, value: String },
    /// Mounts tracefs, debugfs and bpffs under /sys, then runs PROGRAM. `ip netns exec` gives a
    /// program a fresh /sys without them, and eBPF programs (the roam agent) need them.
    #[command(hide = true)]
    WithKernelFs {
        #[arg(trailing_var_arg = true, required = true, value_name = "PROGRAM [ARGS]")]
        command: Vec<String>,
    },
}

fn main() -> ExitCode {
    if guest::init::started_as_init() {
        guest::init::main();
    }
    let result = match Cli::parse().command {
        Command::Run { plan, results } => guest::runner::run_plan_file(&plan, &results),
        Command::Up { channels, aps, open, stack } => {
            let security = if open { Security::Open } else { Security::Wpa2Psk };
            guest::topology::hold(&channels, aps, security, stack)
        }
        Command::Probe { netns, target, interval_ms, seconds } => guest::probe::run_standalone(
            netns.as_deref(),
            target,
            Duration::from_millis(interval_ms),
            Duration::from_secs(seconds),
        ),
        Command::Echo { bind } => guest::probe::echo_forever(bind),
        Command::HttpGet { addr, path } => {
            guest::http::get(addr, &path).map(|body| print!("{body}"))
        }
        Command::Sysctl { key, value } => {
            let path = std::path::Path::new("/proc/sys").join(key.replace('.', "/"));
            std::fs::write(&path, value).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
        }
        Command::WithKernelFs { command } => guest::process::exec_with_kernel_fs(&command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("roam-testbed: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
