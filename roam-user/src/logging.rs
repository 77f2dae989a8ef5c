//! Logging: `tracing` to stderr; the eBPF programs' aya-log records arrive through the `log`
//! bridge that tracing-subscriber installs.

use tracing_subscriber::EnvFilter;

/// `RUST_LOG` wins; otherwise info, or debug with -v.
pub fn init(verbose: u8) {
    let default = match verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // Colours only on a terminal: a log file or journald gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .init();
}
