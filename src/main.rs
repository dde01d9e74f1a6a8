//! `kubectl-svcdiscover`: parse, run, map to an exit code.

use std::process::ExitCode;

use clap::Parser;
use svcdiscover::{app, cli::Cli, exit::ExitStatus, render::safe};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(ExitStatus::Usage.code());
        }
    };
    let status = runtime.block_on(async {
        // An interrupt wins over whatever the run was doing when it came.
        tokio::select! {
            biased;
            _ = tokio::signal::ctrl_c() => Err(svcdiscover::error::Error::Interrupted),
            r = app::run(&cli) => r,
        }
    });
    // Do not wait for a blocking snapshot read that an interrupt abandoned.
    runtime.shutdown_background();
    match status {
        Ok(s) => ExitCode::from(s.code()),
        Err(e) => {
            eprintln!("error: {}", safe(&e.to_string()));
            ExitCode::from(ExitStatus::of_error(&e).code())
        }
    }
}

fn init_logging(verbose: u8) {
    // Failures are reported once, by the app; library logs only with -v.
    let directives = match verbose {
        0 => "off",
        1 => "svcdiscover=info,kube=warn",
        2 => "svcdiscover=debug,kube=debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("SVCDISCOVER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(directives));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
