//! The `media-migrate` binary: parse arguments, set up logging, run one command, and turn
//! its outcome into an exit code (0 done, 3 some rows failed, 1 fatal error, 2 usage error).

use std::process::ExitCode;

use clap::Parser;
use media_migrate::cli::{self, Cli, Command, Ending, LogFormat, UsageError};
use media_migrate::pipeline::StopSignal;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli);
    media_migrate::install_crypto_provider();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("media-migrate: error: can't start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let quiet = cli.quiet;
    match runtime.block_on(dispatch(cli.command, quiet)) {
        Ok(ending) => ExitCode::from(ending.exit_code()),
        Err(err) => {
            eprintln!("media-migrate: error: {err:#}");
            if err.downcast_ref::<UsageError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

async fn dispatch(command: Command, quiet: bool) -> anyhow::Result<Ending> {
    // Registered before any work starts, so an early signal is never taken by the default
    // action (which would end the process without flushing anything).
    let mut signals = Signals::register()?;
    match command {
        Command::Serve(args) => {
            cli::serve::execute(args, async move { signals.next().await }).await
        }
        Command::Plan(args) => cli::plan::execute(args).await,
        Command::Reconcile(args) => cli::reconcile::execute(args).await,
        Command::Export(args) => cli::export::execute(args).await,
        Command::Run(args) => {
            let signal = stop_on_signals(signals);
            cli::run::execute(args, signal, quiet).await
        }
        Command::Fleet(args) => {
            let signal = stop_on_signals(signals);
            cli::fleet::execute(args, signal, quiet).await
        }
    }
}

/// A stop signal raised by the first SIGINT/SIGTERM; a second one, or the grace period
/// running out, quits at once.
fn stop_on_signals(mut signals: Signals) -> StopSignal {
    let (stop, signal) = StopSignal::new();
    tokio::spawn(async move {
        signals.next().await;
        eprintln!(
            "media-migrate: stopping: finishing calls in flight, then writing the reports (Ctrl-C again to quit at once)"
        );
        let _ = stop.send(true);
        // A call or upload that hangs must not hold the stop: past the grace period the
        // process quits as on a second signal. Every journal transition is its own
        // transaction, so quitting anywhere loses nothing (the next run settles what
        // was in flight).
        tokio::select! {
            _ = signals.next() => {}
            _ = tokio::time::sleep(STOP_GRACE) => eprintln!(
                "media-migrate: still stopping after {}s: quitting now; run the same command to resume",
                STOP_GRACE.as_secs()
            ),
        }
        std::process::exit(130);
    });
    signal
}

/// How long a stopping run may take to finish its calls in flight and write its reports.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(20);

/// SIGINT and SIGTERM, listened to from the moment they are registered.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn register() -> anyhow::Result<Self> {
        #[cfg(unix)]
        {
            use anyhow::Context;
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt()).context("listening for SIGINT")?,
                terminate: signal(SignalKind::terminate()).context("listening for SIGTERM")?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    /// Resolves on the next SIGINT or SIGTERM.
    async fn next(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {},
            _ = self.terminate.recv() => {},
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    }
}

fn init_logging(cli: &Cli) {
    let default = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        (false, 0) if matches!(cli.command, Command::Serve(_)) => "info",
        // The embedded server's request log would drown the run's own lines; the stage's
        // store says each retry it makes (shown from -v).
        (false, 0) => "info,tower_http=warn,wix_media_manager=warn,object_store=warn",
        (false, 1) => "debug,hyper=info,h2=info,rustls=info",
        _ => "trace",
    };
    let filter =
        EnvFilter::try_from_env("MEDIA_MIGRATE_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}
