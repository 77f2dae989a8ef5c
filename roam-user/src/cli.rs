//! Subcommands.

use std::{path::PathBuf, process::ExitCode};

use anyhow::Result;
use clap::{Parser, Subcommand};
use roam_user::{
    ebpf::{Observer, ObserverOptions},
    system,
};
use serde_json::json;

#[derive(Parser)]
#[command(name = "roam", version, about = "eBPF-assisted Wi-Fi roaming accelerator")]
pub struct Cli {
    /// More logging (-v debug, -vv trace); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Check that roam can run on an interface: privileges, kernel features, interface, and
    /// which kernel hooks attach. Exits non-zero if roam cannot run.
    Check(CheckArgs),
}

#[derive(clap::Args)]
pub struct CheckArgs {
    /// The station (managed) Wi-Fi interface.
    #[arg(long, short)]
    pub iface: String,
    /// A monitor interface on the station's phy, to test the frame filter on (optional).
    #[arg(long)]
    pub monitor: Option<String>,
    /// wpa_supplicant's control socket directory.
    #[arg(long, default_value = "/run/wpa_supplicant")]
    pub wpa_ctrl_dir: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Check(args) => check(args).await,
    }
}

async fn check(args: CheckArgs) -> Result<ExitCode> {
    let prerequisites = system::check_all(&args.iface, &args.wpa_ctrl_dir).await;
    // Attaching needs privileges and the interface, nothing more: trying it even when other
    // prerequisites fail shows which hooks this kernel offers and passes through the verifier.
    let passed = |name| prerequisites.get(name).is_some_and(|c: &system::Check| c.passed());
    let attach = if passed(system::PRIVILEGES) && passed(system::INTERFACE) {
        let opts = ObserverOptions { station: args.iface.clone(), monitor: args.monitor.clone() };
        Some(
            tokio::task::spawn_blocking(move || {
                Observer::start(&opts).map(|mut o| {
                    o.flush_logs();
                    o.report().clone()
                })
            })
            .await?,
        )
    } else {
        None
    };
    let hooks_ok = matches!(&attach, Some(Ok(report)) if report.failed().next().is_none());
    let can_run = prerequisites.can_run() && hooks_ok;

    if args.json {
        let hooks = match &attach {
            Some(Ok(report)) => json!(report),
            Some(Err(e)) => json!({ "error": format!("{e:#}") }),
            None => json!(null),
        };
        println!(
            "{}",
            json!({ "can_run": can_run, "prerequisites": prerequisites, "hooks": hooks })
        );
    } else {
        println!("Prerequisites for roam on {}:\n{prerequisites}", args.iface);
        match &attach {
            Some(Ok(report)) => {
                println!("Kernel hooks (loaded, verified, attached, then detached):\n{report}")
            }
            Some(Err(e)) => println!("Kernel hooks: loading failed: {e:#}"),
            None => {
                println!("Kernel hooks: not tried without privileges and an existing interface.")
            }
        }
        println!(
            "{}",
            if can_run { "roam can run." } else { "roam cannot run: fix the items above." }
        );
    }
    Ok(if can_run { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
