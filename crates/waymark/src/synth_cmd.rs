//! `waymark synth`: a synthetic population written to disk — every source system's native
//! messages about the same seeded people, as each mock serves them, and the truth (which source
//! record is which person) for measuring linkage. The same seed and size always give the same
//! bytes; `manifest.json` holds a SHA-256 of each file, and `waymark demo --population DIR`
//! refuses a folder this build would not write byte for byte.

use std::{
    io::Write as _,
    path::{Path, PathBuf},
};

use anyhow::{Context as _, bail};
use clap::Args;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use waymark_adapter_athena as athena;
use waymark_adapter_excelicare as excelicare;
use waymark_adapter_nomis as nomis;
use waymark_adapter_scr as scr;
use waymark_adapter_systmone as systmone;

use crate::exit::{OK, REFUSED, UNREADABLE, emit, fail, success};

/// Write a synthetic population: each source system's native messages about the same people
/// (with the mess the source documents describe: aliases, misspellings, missing NHS numbers,
/// stale records) and the truth of who is who.
///
/// Files: manifest.json (seed, size, a SHA-256 per file), truth.ndjson (each source's record of
/// each person, as a FHIR Patient, with the person it is), nomis/notifications.ndjson,
/// athena/events.ndjson, excelicare/messages.mllp (MLLP frames), systmone/records.ndjson,
/// scr/summaries.ndjson. Synthetic people only: no real person's data.
///
/// Exit 0 written; 1 the folder is not empty (without --force); 2 it cannot be written.
///
/// With --verify, writes nothing: checks that the folder holds exactly what this build writes
/// for its manifest's seed and size (what `waymark demo --population` checks). Exit 0 it does;
/// 1 it does not; 2 no readable manifest.
///
/// Example: waymark synth --seed 2026 --people 1000 --out population
///
/// Example: waymark synth --verify --out population --json
#[derive(Args, Clone, Debug)]
pub struct SynthArgs {
    /// The seed: the same seed and size give the same bytes.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// People in the population.
    #[arg(long, default_value_t = 100)]
    pub people: usize,
    /// The folder to write (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Overwrite the files of a folder that is not empty.
    #[arg(long)]
    pub force: bool,
    /// Check the folder given by --out instead of writing it.
    #[arg(long)]
    pub verify: bool,
    /// Print one JSON object on stdout: `{"ok": true, "seed", "people", ...}` (writing: the
    /// manifest's fields), or `{"ok": false, "exit", "error": {"code", "message"}}`; same exit
    /// codes.
    #[arg(long)]
    pub json: bool,
}

/// Runs `waymark synth`; returns the exit code.
pub fn run(args: &SynthArgs) -> u8 {
    if args.verify {
        return run_verify(args);
    }
    if !args.force && is_non_empty(&args.out) {
        let message = format!(
            "{} is not empty (give --force to overwrite)",
            args.out.display()
        );
        return fail(args.json, "synth", REFUSED, "synth.not-empty", &message);
    }
    match write(&args.out, args.seed, args.people) {
        Ok(manifest) if args.json => emit(&success(manifest), OK),
        Ok(manifest) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&manifest).unwrap_or_default()
            );
            OK
        }
        Err(err) => fail(
            args.json,
            "synth",
            UNREADABLE,
            "synth.write",
            &format!("{err:#}"),
        ),
    }
}

/// `waymark synth --verify`: the folder is exactly what this build writes, or which file is not.
fn run_verify(args: &SynthArgs) -> u8 {
    let folder = args.out.display().to_string();
    match verify(&args.out) {
        Ok((seed, people)) if args.json => emit(
            &success(json!({"folder": folder, "seed": seed, "people": people})),
            OK,
        ),
        Ok((seed, people)) => {
            println!("{folder}: ok (seed {seed}, {people} people)");
            OK
        }
        Err(err) if !args.out.join("manifest.json").is_file() => {
            let message = format!("{err:#}");
            fail(
                args.json,
                "synth",
                UNREADABLE,
                "synth.no-manifest",
                &message,
            )
        }
        Err(err) => fail(
            args.json,
            "synth",
            REFUSED,
            "synth.mismatch",
            &format!("{err:#}"),
        ),
    }
}

fn is_non_empty(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some())
}

/// One file of a population: its path in the folder and its bytes.
pub struct PopulationFile {
    /// Path relative to the folder.
    pub name: &'static str,
    /// The bytes.
    pub bytes: Vec<u8>,
    /// Records in it.
    pub records: usize,
}

/// Every file of the population of (`seed`, `people`), built in memory.
pub fn files(seed: u64, people: usize) -> anyhow::Result<Vec<PopulationFile>> {
    Ok(vec![
        truth(seed, people)?,
        lines("nomis/notifications.ndjson", nomis_messages(seed, people)),
        lines("athena/events.ndjson", athena_messages(seed, people)),
        excelicare_messages(seed, people),
        lines("systmone/records.ndjson", systmone_messages(seed, people)),
        lines("scr/summaries.ndjson", scr_messages(seed, people)?),
    ])
}

/// Writes the population and its manifest; returns the manifest.
pub fn write(dir: &Path, seed: u64, people: usize) -> anyhow::Result<Value> {
    let files = files(seed, people)?;
    for file in &files {
        let path = dir.join(file.name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, &file.bytes)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let manifest = manifest(seed, people, &files);
    let mut out = std::fs::File::create(dir.join("manifest.json")).context("manifest.json")?;
    writeln!(out, "{}", serde_json::to_string_pretty(&manifest)?).context("manifest.json")?;
    Ok(manifest)
}

/// Reads a population folder's manifest and checks that this build writes exactly its files;
/// returns (seed, people).
pub fn verify(dir: &Path) -> anyhow::Result<(u64, usize)> {
    let text = std::fs::read_to_string(dir.join("manifest.json"))
        .with_context(|| format!("reading {}/manifest.json", dir.display()))?;
    let manifest: Value = serde_json::from_str(&text).context("manifest.json is not JSON")?;
    let seed = manifest["seed"]
        .as_u64()
        .context("manifest.json: no seed")?;
    let people = manifest["people"]
        .as_u64()
        .context("manifest.json: no people")?;
    let people = usize::try_from(people).context("manifest.json: people")?;
    let expected = self::manifest(seed, people, &files(seed, people)?);
    for (name, entry) in expected["files"].as_object().into_iter().flatten() {
        let on_disk = std::fs::read(dir.join(name)).with_context(|| format!("reading {name}"))?;
        if hex::encode(Sha256::digest(&on_disk)) != entry["sha256"] {
            bail!("{name} is not what this build writes for seed {seed} and {people} people");
        }
    }
    Ok((seed, people))
}

fn manifest(seed: u64, people: usize, files: &[PopulationFile]) -> Value {
    let entries: serde_json::Map<String, Value> = files
        .iter()
        .map(|f| {
            let sha = hex::encode(Sha256::digest(&f.bytes));
            (
                f.name.to_owned(),
                json!({ "records": f.records, "sha256": sha }),
            )
        })
        .collect();
    json!({
        "version": 1,
        "generator": format!("waymark {}", env!("CARGO_PKG_VERSION")),
        "seed": seed,
        "people": people,
        "files": entries,
    })
}

fn lines(name: &'static str, records: Vec<Vec<u8>>) -> PopulationFile {
    let count = records.len();
    let mut bytes = Vec::new();
    for record in records {
        bytes.extend(record);
        bytes.push(b'\n');
    }
    PopulationFile {
        name,
        bytes,
        records: count,
    }
}

/// Compact JSON on one line (bodies may be pretty-printed by a mock).
fn one_line(body: &[u8]) -> Vec<u8> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| serde_json::to_vec(&v).ok())
        .unwrap_or_else(|| body.to_vec())
}

fn truth(seed: u64, people: usize) -> anyhow::Result<PopulationFile> {
    let population = waymark_synth::Population::generate(seed, people);
    let mess = waymark_synth::Mess::default();
    let mut records = Vec::new();
    for observation in population.observations(&mess) {
        let line = json!({
            "person": observation.person().to_string(),
            "source": observation.source().as_str(),
            "localId": observation.local_id(),
            "patient": observation.to_fhir(),
        });
        records.push(serde_json::to_vec(&line)?);
    }
    Ok(lines("truth.ndjson", records))
}

fn nomis_messages(seed: u64, people: usize) -> Vec<Vec<u8>> {
    let population = nomis::Population::synthetic(seed, people);
    population
        .notifications()
        .iter()
        .map(|n| one_line(&n.body))
        .collect()
}

fn athena_messages(seed: u64, people: usize) -> Vec<Vec<u8>> {
    let feed = athena::Feed::synthetic(seed, people, athena::FeedFaults::default());
    feed.items()
        .iter()
        .map(|item| one_line(&item.body))
        .collect()
}

fn excelicare_messages(seed: u64, people: usize) -> PopulationFile {
    let script = excelicare::Script::synthetic(seed, people);
    let mut bytes = Vec::new();
    for item in script.items() {
        bytes.extend(excelicare::frame(&item.bytes));
    }
    PopulationFile {
        name: "excelicare/messages.mllp",
        bytes,
        records: script.items().len(),
    }
}

fn systmone_messages(seed: u64, people: usize) -> Vec<Vec<u8>> {
    let data =
        systmone::mock::MockData::synthetic(seed, people, &systmone::mock::MockFaults::default());
    let numbers: Vec<String> = data.nhs_numbers().map(str::to_owned).collect();
    numbers
        .iter()
        .filter_map(|nhs| data.record(nhs))
        .map(|record| one_line(&record.body))
        .collect()
}

fn scr_messages(seed: u64, people: usize) -> anyhow::Result<Vec<Vec<u8>>> {
    let population = scr::ScrPopulation::generate(seed, people);
    let mut records = Vec::new();
    for person in population.people() {
        // What the SCR holds: a GP summary, or the state that stands instead (no consent, no
        // record, or one of the mock's fault people).
        let answer = (person.state == scr::ScrState::Summary).then(|| population.summary(person));
        let line = json!({
            "nhsNumber": person.nhs.expose(),
            "state": format!("{:?}", person.state),
            "summary": answer,
        });
        records.push(serde_json::to_vec(&line)?);
    }
    Ok(records)
}
