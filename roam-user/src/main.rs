//! `roam`: the command-line interface.

mod cli;
mod logging;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    if cli.command.loads_programs() {
        // Before anything else is in memory: see roam_user::ebpf::loader.
        roam_user::ebpf::loader::prepare();
    }
    logging::init(cli.verbose);
    // One thread: the agent's work is short steps between waits, and each wake-up of an idle
    // agent is then one thread waking, not a worker waking a sibling to look for work.
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("roam: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("roam: {e:#}");
            ExitCode::FAILURE
        }
    }
}
