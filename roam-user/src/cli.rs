//! Subcommands.

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::{Context as _, Result};
use clap::{CommandFactory as _, Parser, Subcommand};
use roam_user::{
    agent,
    config::{BackendChoice, Config},
    control,
    ebpf::{Observer, ObserverOptions},
    nl80211::Nl80211,
    system,
};
use serde_json::json;

#[derive(Parser)]
#[command(
    name = "roam",
    version,
    propagate_version = true,
    about = "eBPF-assisted Wi-Fi roaming accelerator"
)]
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
    /// Print a manual page (roff): `roam man > roam.1`, `roam man run > roam-run.1`.
    Man(ManArgs),
    /// Print the completion script of a shell, e.g. `roam completions bash >
    /// /usr/share/bash-completion/completions/roam`.
    Completions(CompletionsArgs),
}

impl Command {
    /// Whether the command loads roam's kernel programs (`run`, and `check` of an interface).
    pub fn loads_programs(&self) -> bool {
        match self {
            Command::Run(_) => true,
            Command::Check(args) => args.iface.is_some(),
            Command::Status(_) | Command::Events(_) | Command::Man(_) | Command::Completions(_) => {
                false
            }
        }
    }
}

#[derive(clap::Args)]
pub struct ManArgs {
    /// The subcommand whose page to print [default: roam's own].
    pub subcommand: Option<String>,
}

#[derive(clap::Args)]
pub struct CompletionsArgs {
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
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
    /// Prometheus endpoint address (host:port or "off"); overrides metrics.listen. A second
    /// agent on one host needs its own: roam@.service reads ROAM_METRICS_LISTEN from
    /// /etc/roam/<iface>.env.
    #[arg(long, env = "ROAM_METRICS_LISTEN")]
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
    #[arg(long, short, required_unless_present = "config")]
    pub iface: Option<String>,
    /// A configuration file to validate (alone, or with the interface's checks).
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// A monitor interface on the station's phy, to test the frame filter on (optional).
    #[arg(long)]
    pub monitor: Option<String>,
    /// wpa_supplicant's control socket directory [default: the configuration's
    /// paths.wpa_ctrl_dir, /run/wpa_supplicant].
    #[arg(long)]
    pub wpa_ctrl_dir: Option<PathBuf>,
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
        Command::Man(args) => man(args),
        Command::Completions(args) => {
            clap_complete::generate(
                args.shell,
                &mut Cli::command(),
                "roam",
                &mut std::io::stdout(),
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// roam's page, or one of its subcommands' (named `roam-<subcommand>` as man(1) expects).
fn man(args: ManArgs) -> Result<ExitCode> {
    let mut roam = Cli::command();
    // Building names each subcommand `roam-<name>` (its display name), which the page uses.
    roam.build();
    let page = match &args.subcommand {
        None => roam,
        Some(name) => {
            let known: Vec<&str> = roam.get_subcommands().map(|c| c.get_name()).collect();
            let sub = roam.find_subcommand(name).cloned();
            sub.with_context(|| format!("no subcommand `{name}` (known: {})", known.join(", ")))?
        }
    };
    clap_mangen::Man::new(page).render(&mut std::io::stdout()).context("writing the page")?;
    Ok(ExitCode::SUCCESS)
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
    let config = args.config.as_deref().map(Config::load);
    if let Some(Err(err)) = &config {
        // The whole answer: nothing else is worth checking with a configuration roam refuses.
        if args.json {
            println!("{}", json!({ "can_run": false, "config": { "error": format!("{err:#}") } }));
        } else {
            println!("{err:#}");
        }
        return Ok(ExitCode::FAILURE);
    }
    let config = config.and_then(Result::ok);
    let Some(iface) = args.iface.clone() else {
        let path = args.config.as_deref().expect("clap requires --iface or --config");
        if args.json {
            println!("{}", json!({ "can_run": true, "config": { "path": path, "valid": true } }));
        } else {
            println!("{}: a valid roam configuration.", path.display());
        }
        return Ok(ExitCode::SUCCESS);
    };
    let wpa_ctrl_dir =
        args.wpa_ctrl_dir.clone().unwrap_or_else(|| config.unwrap_or_default().paths.wpa_ctrl_dir);
    check_interface(args, iface, &wpa_ctrl_dir).await
}

async fn check_interface(args: CheckArgs, iface: String, wpa_ctrl_dir: &Path) -> Result<ExitCode> {
    let mut prerequisites = system::check_all(&iface, wpa_ctrl_dir).await;
    if prerequisites.get(system::WIRELESS).is_some_and(|check| check.passed()) {
        prerequisites.checks.push(system::tx_status(reports_tx_status(&iface).await));
    }
    // Attaching needs privileges and the interface, nothing more: trying it even when other
    // prerequisites fail shows which hooks this kernel offers and passes through the verifier.
    let passed = |name| prerequisites.get(name).is_some_and(|c: &system::Check| c.passed());
    let attach = if passed(system::PRIVILEGES) && passed(system::INTERFACE) {
        let opts = ObserverOptions { station: iface.clone(), monitor: args.monitor.clone() };
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
        println!("Prerequisites for roam on {iface}:\n{prerequisites}");
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

/// Whether `iface`'s driver reports acknowledgements, as nl80211 says.
async fn reports_tx_status(iface: &str) -> Result<bool, String> {
    let answer = async {
        let nl80211 = Nl80211::new().await?;
        let wiphy = nl80211.interface_by_name(iface).await?.wiphy;
        nl80211.reports_tx_status(wiphy).await
    };
    answer.await.map_err(|err| err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_subcommand_has_a_manual_page_under_its_long_name() {
        let mut roam = Cli::command();
        roam.build();
        for sub in roam.get_subcommands().filter(|s| s.get_name() != "help") {
            let mut page = Vec::new();
            clap_mangen::Man::new(sub.clone()).render(&mut page).unwrap();
            let page = String::from_utf8(page).unwrap();
            let title = format!(".TH roam-{} 1", sub.get_name());
            assert!(page.contains(&title), "{title} missing:\n{page}");
        }
    }

    #[test]
    fn the_unit_gives_each_instance_its_metrics_address_through_the_variable_run_reads() {
        let unit = include_str!("../packaging/roam@.service");
        assert!(unit.lines().any(|l| l == "EnvironmentFile=-/etc/roam/%i.env"), "{unit}");
        let roam = Cli::command();
        let run = roam.find_subcommand("run").unwrap();
        let listen = run.get_arguments().find(|a| a.get_id() == "metrics_listen").unwrap();
        assert_eq!(listen.get_env(), Some(std::ffi::OsStr::new("ROAM_METRICS_LISTEN")));
        assert!(unit.contains("ROAM_METRICS_LISTEN="), "the unit's comment names the variable");
    }

    #[test]
    fn check_takes_an_interface_or_a_configuration() {
        assert!(Cli::try_parse_from(["roam", "check", "--config", "roam.toml"]).is_ok());
        assert!(Cli::try_parse_from(["roam", "check", "-i", "wlan0"]).is_ok());
        assert!(Cli::try_parse_from(["roam", "check"]).is_err());
    }

    /// Only the commands that load the kernel programs pay for aya's BTF parse at start.
    #[test]
    fn the_loader_is_prepared_for_the_commands_that_load_programs() {
        let loads = |args: &[&str]| Cli::try_parse_from(args).unwrap().command.loads_programs();
        assert!(loads(&["roam", "run", "-i", "wlan0"]));
        assert!(loads(&["roam", "check", "-i", "wlan0"]));
        assert!(!loads(&["roam", "check", "--config", "roam.toml"]));
        assert!(!loads(&["roam", "status", "-i", "wlan0"]));
    }

    #[test]
    fn the_backend_is_spelt_on_the_command_line_as_in_the_configuration_file() {
        for spelling in ["wpa_supplicant", "wpa-supplicant"] {
            let cli = Cli::try_parse_from(["roam", "run", "-i", "wlan0", "--backend", spelling]);
            match cli.map(|cli| cli.command) {
                Ok(Command::Run(args)) => {
                    assert_eq!(args.backend, Some(BackendChoice::WpaSupplicant), "{spelling}")
                }
                _ => panic!("--backend {spelling} is refused"),
            }
        }
    }
}
