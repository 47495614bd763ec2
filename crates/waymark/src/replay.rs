//! `waymark replay`: re-drive a stopped hub's quarantine with fixed mappings or profiles.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;
use waymark_api::RedriveReport;
use waymark_bus::SqliteBus;
use waymark_mapping::MappingSet;
use waymark_profile::Validator;
use waymark_store::SqliteStore;

use crate::exit::{OK as COMPLETED, UNREADABLE};

/// Re-drive quarantined messages through the current mappings and profile.
///
/// Takes every unresolved quarantine entry of the map stage (mapping errors, profile failures),
/// oldest first, and maps and validates its original envelope again. Prints one line per entry
/// (message id, then `now passes` or `still fails` with the rule code) and a summary
/// `N re-driven, M still failing`. Each entry that now passes is published, with its exact
/// original bytes, to the hub's ingest queue under a new message id (derived from its own and
/// the entry's re-drive count), and marked resolved once the publish returned; entries that
/// still fail stay in quarantine. With --dry-run nothing is published or resolved.
///
/// Stop the hub first: this opens the hub's own files (DIR/store.db, DIR/bus.db), and a hub
/// running on the same files would have its in-flight messages released. Then start the hub
/// again with the same mappings: it maps the re-driven envelopes with its own. (A running hub
/// offers the same re-drive at POST /admin/quarantine/redrive.)
///
/// Exit 0 when the run completed, whether or not some entries still fail (they are listed and
/// counted); 2 when the files, mappings or profile cannot be read, or the store or bus failed
/// part-way (what was done stays done; run it again to continue).
///
/// Example: waymark replay --data-dir ./hub-data --mappings ./mappings --dry-run
#[derive(Args, Clone, Debug)]
pub struct ReplayArgs {
    /// The stopped hub's data folder (holding store.db and bus.db).
    #[arg(long)]
    pub data_dir: PathBuf,
    /// The mappings folder to re-drive with (default: ./mappings).
    #[arg(long)]
    pub mappings: Option<PathBuf>,
    /// Only say what would be re-driven: publish nothing, resolve nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the report as JSON (as the API answers it) instead of lines.
    #[arg(long)]
    pub json: bool,
}

/// Runs `waymark replay`; returns the exit code.
pub fn run(args: &ReplayArgs) -> u8 {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("waymark replay: cannot start the runtime: {err}");
            return UNREADABLE;
        }
    };
    match runtime.block_on(replay(args)) {
        Ok(report) => {
            print_report(&report, args.json);
            COMPLETED
        }
        Err(err) => {
            eprintln!("waymark replay: {err:#}");
            UNREADABLE
        }
    }
}

async fn replay(args: &ReplayArgs) -> anyhow::Result<RedriveReport> {
    let store_path = existing(&args.data_dir, "store.db")?;
    let bus_path = existing(&args.data_dir, "bus.db")?;
    let mappings_dir = crate::paths::mappings_dir(args.mappings.as_deref());
    let mappings = MappingSet::load(&mappings_dir)
        .with_context(|| format!("loading the mappings in {}", mappings_dir.display()))?;
    let validator = Validator::r4().context("loading the profile")?;
    let store = SqliteStore::open(&store_path)
        .await
        .context("opening the store")?;
    let bus = SqliteBus::open(&bus_path)
        .await
        .context("opening the bus")?;
    let report = waymark_api::redrive(&store, &bus, &mappings, &validator, args.dry_run).await;
    bus.close().await;
    Ok(report?)
}

/// The hub file `name` in `dir`, which must exist (a replay never creates a hub).
fn existing(dir: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let path = dir.join(name);
    anyhow::ensure!(
        path.is_file(),
        "{} holds no {name}: is it a hub's data folder?",
        dir.display()
    );
    Ok(path)
}

fn print_report(report: &RedriveReport, json: bool) {
    if json {
        match serde_json::to_string_pretty(report) {
            Ok(text) => println!("{text}"),
            Err(err) => eprintln!("waymark replay: cannot print the report: {err}"),
        }
        return;
    }
    for entry in &report.entries {
        println!("{}", entry.line(report.dry_run));
    }
    println!("{}", report.summary());
}
