//! Subcommands.

use std::{path::PathBuf, process::ExitCode};

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};
use roam_user::{
    agent,
    config::{BackendChoice, Config},
    control,
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
    /// Run the agent on a station interface (as root): detect AP loss from the kernel, roam
    /// fast through wpa_supplicant, keep traffic flowing, export metrics. Stops on SIGINT or
    /// SIGTERM and detaches everything.
    Run(RunArgs),
    /// Show a running agent's state, current BSS, candidates and last roam.
    Status(StatusArgs),
    /// Follow a running agent's events, one JSON object per line.
    Events(EventsArgs),
}

#[derive(clap::Args)]
pub struct RunArgs {
    /// The station (managed) Wi-Fi interface.
    #[arg(long, short)]
    pub iface: String,
    /// Configuration file (TOML; every key optional, see the README).
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Measure and export, never act.
    #[arg(long)]
    pub observe_only: bool,
    /// Prometheus endpoint address (host:port or "off"); overrides metrics.listen.
    #[arg(long)]
    pub metrics_listen: Option<String>,
    /// wpa_supplicant's control socket directory; overrides paths.wpa_ctrl_dir.
    #[arg(long)]
    pub wpa_ctrl_dir: Option<PathBuf>,
    /// Who roam acts through; overrides act.backend. auto: wpa_supplicant when its control
    /// socket answers, else bare nl80211 (open networks without a supplicant).
    #[arg(long, value_enum)]
    pub backend: Option<BackendChoice>,
}

#[derive(clap::Args)]
pub struct StatusArgs {
    /// The station interface the agent runs on.
    #[arg(long, short)]
    pub iface: String,
    /// The agent's control socket (default /run/roam/<iface>.sock).
    #[arg(long)]
    pub socket: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct EventsArgs {
    /// The station interface the agent runs on.
    #[arg(long, short)]
    pub iface: String,
    /// The agent's control socket (default /run/roam/<iface>.sock).
    #[arg(long)]
    pub socket: Option<PathBuf>,
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
        Command::Run(args) => run_agent(args).await,
        Command::Status(args) => status(args).await,
        Command::Events(args) => events(args).await,
    }
}

async fn run_agent(args: RunArgs) -> Result<ExitCode> {
    let mut config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    config.act.observe_only |= args.observe_only;
    if let Some(listen) = args.metrics_listen {
        config.metrics.listen = listen;
    }
    if let Some(dir) = args.wpa_ctrl_dir {
        config.paths.wpa_ctrl_dir = dir;
    }
    if let Some(backend) = args.backend {
        config.act.backend = backend;
    }
    config.validate().context("in the command-line options")?;
    agent::run(agent::RunOptions { iface: args.iface, config }).await?;
    Ok(ExitCode::SUCCESS)
}

async fn status(args: StatusArgs) -> Result<ExitCode> {
    let path = args.socket.unwrap_or_else(|| control::default_socket_path(&args.iface));
    let status = control::fetch_status(&path).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        print!("{status}");
    }
    Ok(ExitCode::SUCCESS)
}

async fn events(args: EventsArgs) -> Result<ExitCode> {
    let path = args.socket.unwrap_or_else(|| control::default_socket_path(&args.iface));
    tokio::select! {
        result = control::stream_events(&path, tokio::io::stdout()) => result?,
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(ExitCode::SUCCESS)
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
