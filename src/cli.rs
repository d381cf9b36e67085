//! Command-line arguments (clap) and one module per subcommand. Raw arguments are turned
//! into validated configs here; nothing past `cli/` sees raw strings.

pub mod args;
pub mod export;
pub mod fleet;
pub mod job;
pub mod metrics;
pub mod plan;
pub mod progress;
pub mod reconcile;
pub mod run;
pub mod serve;
pub mod serving;
pub mod staging;

use clap::{Parser, Subcommand};

/// Move media into a Wix site's Media Manager at scale.
#[derive(Debug, Parser)]
#[command(name = "media-migrate", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// More log detail (-v debug, -vv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Log lines as text or JSON.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate a manifest's media into the Media Manager (the embedded local one by default).
    Run(run::RunArgs),
    /// Run the local Media Manager: the Wix Media Manager REST API with real storage.
    Serve(serve::ServeArgs),
    /// Audit a manifest without touching any site: rows, duplicates, folders, API calls, time.
    Plan(plan::PlanArgs),
    /// Compare a manifest with what the target holds: present, missing, failed, differs, extra.
    Reconcile(reconcile::ReconcileArgs),
    /// Write a site's files as a manifest another site can import; --download backs them up.
    Export(export::ExportArgs),
    /// Migrate many sites from a sites file, each as `run` migrates one (every job flag applies
    /// to each) with its own key, budget, journal and reports; `--shard I/N` takes one share of
    /// them (a Kubernetes Indexed Job's pod).
    Fleet(fleet::FleetArgs),
}

/// How a command ended, mapped to the process exit code by `main`. One meaning per code
/// across `plan`, `run` and `reconcile` for the same manifest and target: 0 every row done
/// (or would be), 3 some rows not done (invalid, failed, missing, pending), 1 fatal, 2 usage,
/// 130 interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Every row done (exit 0).
    Done,
    /// Finished, but some rows are not done: invalid, failed, missing or pending (exit 3).
    Partial,
    /// Stopped by a signal before finishing; the journal lets a re-run resume (exit 130).
    Interrupted,
}

impl Ending {
    /// The process exit code this ending maps to.
    pub fn exit_code(self) -> u8 {
        match self {
            Ending::Done => 0,
            Ending::Partial => 3,
            Ending::Interrupted => 130,
        }
    }
}

/// A mistake in how the command was called (exit 2), as opposed to a failure while running.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);
