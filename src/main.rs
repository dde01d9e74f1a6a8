//! `kubectl-svcdiscover`: parse, run, map to an exit code.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use svcdiscover::cli::{Cli, ColorWhen, Verbosity};
use svcdiscover::{app, exit::ExitStatus, render::safe};

/// A scan allocates and frees hundreds of thousands of small strings and
/// maps (labels, names); mimalloc does that faster than the system
/// allocator (docs/benchmarks.md has the figures).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // The completion shim's call (completions/kubectl_complete-svcdiscover):
    // before clap, which would take `__complete` for the SERVICE.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args
        .get(1)
        .is_some_and(|a| a == svcdiscover::cli::complete::COMMAND)
    {
        // Always exit 0: kubectl ignores the output of a failed completer.
        let _ = std::io::stdout().write_all(app::complete(&args[2..]).as_bytes());
        return ExitCode::SUCCESS;
    }
    let cli = Cli::parse_kubectl();
    if let Some(shell) = cli.completions {
        return match std::io::stdout().write_all(&app::completion_script(shell)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                let e = svcdiscover::error::Error::Output(e);
                app::say(&format!("error: {e}"));
                ExitCode::from(ExitStatus::of_error(&e).code())
            }
        };
    }
    init_logging(cli.verbosity(), log_colors(cli.output.color));
    // Under the library's target, so that the -v filters apply. Never the
    // whole `Cli`: it holds the token.
    tracing::info!(
        target: "svcdiscover",
        service = cli.service.as_deref().unwrap_or(if cli.all_namespaces { "(every Service, every namespace)" } else { "(every Service)" }),
        namespace = cli.namespace.as_deref().unwrap_or(if cli.snapshot.is_some() {
            "default"
        } else {
            "(from the context)"
        }),
        source = if cli.snapshot.is_some() { "snapshot" } else { "live" },
        "diagnosing"
    );
    tracing::debug!(
        target: "svcdiscover",
        output = cli.output.output.as_str(),
        from_namespaces = cli.from_namespace.join(","),
        "options"
    );
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            app::say(&format!("error: cannot start the async runtime: {e}"));
            return ExitCode::from(ExitStatus::Usage.code());
        }
    };
    // What the run creates in the cluster (probe Jobs), deleted on every
    // path; on an interrupt, here, after the run was dropped.
    let cleanup = svcdiscover::probe::job::Cleanup::default();
    let status = runtime.block_on(async {
        // An interrupt wins over whatever the run was doing when it came.
        tokio::select! {
            biased;
            _ = tokio::signal::ctrl_c() => Err(svcdiscover::error::Error::Interrupted),
            r = app::run(&cli, &cleanup) => r,
        }
    });
    // With --keep-probe the run has released its Jobs; an interrupt still
    // deletes what it left registered.
    if cleanup.pending() {
        let failed = runtime.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(10), cleanup.run())
                .await
                .unwrap_or_else(|_| vec!["the deletes did not finish within 10s".to_owned()])
        });
        for f in failed {
            app::say(&format!(
                "warning: probe Job not deleted: {} (its deadline and TTL remove it within 3 minutes)",
                safe(&f)
            ));
        }
    }
    // Do not wait for a blocking snapshot read that an interrupt abandoned.
    runtime.shutdown_background();
    match &status {
        Ok(s) => tracing::info!(target: "svcdiscover", exit_code = s.code(), "done"),
        Err(e) => tracing::info!(target: "svcdiscover", error = %e, "done"),
    }
    match status {
        Ok(s) => ExitCode::from(s.code()),
        Err(e) => {
            app::say(&format!("error: {}", safe(&e.to_string())));
            ExitCode::from(ExitStatus::of_error(&e).code())
        }
    }
}

/// Colour in the logs only on a terminal, and as `--color`/`NO_COLOR` say.
fn log_colors(when: ColorWhen) -> bool {
    match when {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => {
            std::io::stderr().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var("TERM").map_or(true, |t| t != "dumb")
        }
    }
}

fn init_logging(verbosity: Verbosity, ansi: bool) {
    // Failures are reported once, by the app; library logs only with -v.
    // The project's own events, and kube's requests; never the TLS and HTTP
    // internals (rustls, hyper), which print whole structs.
    let directives = match verbosity {
        Verbosity::Off => "off",
        Verbosity::Info => "svcdiscover=info,kube=warn",
        Verbosity::Debug => "svcdiscover=debug,kube=warn",
        Verbosity::Trace => "svcdiscover=trace,kube=info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("SVCDISCOVER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(directives));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        // A stderr that cannot be written must not panic (its default
        // reports the failure with eprintln!, which panics in turn).
        .log_internal_errors(false)
        .with_target(false)
        .init();
}
