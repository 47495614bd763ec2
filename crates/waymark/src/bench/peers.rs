//! The peers: a Node.js and a Python pipeline doing the hub's job with the tools a team would
//! otherwise pick, on the same envelopes, at the same durability, started by the harness; and
//! per-stage peers (validation, HL7 v2 parsing). Sources in `bench/peers/`; installed into
//! `<out>/peers/` with `npm ci` / `pip install -r` when missing. Each prints one JSON line.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::Context as _;
use serde_json::{Value, json};
use waymark_delivery::mock::MockReceiver;

use super::{Context, db::FreshDb, fixtures, subs::SECRET};

/// Runs every peer the machine can install; a peer that fails is reported as skipped.
pub async fn run(cx: &mut Context<'_>) -> anyhow::Result<()> {
    let (Some(amqp), Some(pg)) = (cx.services.amqp.clone(), cx.services.pg.clone()) else {
        cx.report.skip(
            "peers",
            "--embedded-only: the peers need npm, PyPI, RabbitMQ and PostgreSQL",
        );
        return Ok(());
    };
    let root = std::path::absolute(cx.opts.out.join("peers"))?;
    let data = root.join("fixtures");
    let hl7 = fixtures::hl7_messages(cx.fixtures.people.min(500));
    cx.fixtures.write_for_peers(&data, &hl7)?;
    let src = cx.opts.repo.join("bench/peers");
    for (name, install) in [
        ("node", install_node as Installer),
        ("python", install_python),
    ] {
        cx.progress
            .say("peers", &format!("{name}: installing (when missing)"));
        let dir = match install(&src.join(name), &root.join(name)) {
            Ok(dir) => dir,
            Err(err) => {
                cx.report.skip(
                    &format!("peers: {name}"),
                    &format!("install failed: {err:#}"),
                );
                continue;
            }
        };
        cx.progress.say("peers", &format!("{name}: pipeline"));
        match pipeline(name, &dir, &data, &amqp, &pg).await {
            Ok(value) => record(cx, name, "pipeline", value),
            Err(err) => cx
                .report
                .skip(&format!("peers: {name} pipeline"), &format!("{err:#}")),
        }
        cx.progress
            .say("peers", &format!("{name}: per-stage peers"));
        let env = vec![("FIXTURES".to_owned(), data.display().to_string())];
        match run_json(&command(name, &dir, "stages"), &env) {
            Ok(value) => record(cx, name, "stages", value),
            Err(err) => cx
                .report
                .skip(&format!("peers: {name} stages"), &format!("{err:#}")),
        }
    }
    Ok(())
}

type Installer = fn(&Path, &Path) -> anyhow::Result<PathBuf>;

fn record(cx: &mut Context<'_>, name: &str, what: &str, value: Value) {
    if let Value::Object(map) = &value {
        for (k, v) in map {
            let unit = if k.ends_with("per_s") {
                "records/s"
            } else if k.contains("_us_per_") {
                "µs/item"
            } else {
                continue;
            };
            if let Some(x) = v.as_f64() {
                cx.report
                    .row("peers", &format!("{name} {what}: {k}"), x, unit, "");
            }
        }
    }
    if what == "pipeline" {
        cx.report.set(&["peers", name], value);
    } else {
        cx.report.set(&["peers", &format!("{name}_stages")], value);
    }
}

/// Runs a peer pipeline against a fresh database and a mock receiver; checks what arrived.
async fn pipeline(
    name: &str,
    dir: &Path,
    data: &Path,
    amqp: &str,
    pg: &str,
) -> anyhow::Result<Value> {
    let receiver = MockReceiver::start(vec![SECRET.to_owned()]).await?;
    let db = FreshDb::create(pg).await?;
    let queue = format!("bench.peer.{name}.{}", uuid::Uuid::new_v4().simple());
    let url = receiver.url();
    let env: Vec<(String, String)> = [
        ("FIXTURES", data.display().to_string()),
        ("AMQP_URL", amqp.to_owned()),
        ("PG_URL", db.url.clone()),
        ("WEBHOOK_URL", url),
        ("WEBHOOK_SECRET", SECRET.to_owned()),
        ("QUEUE", queue),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let cmd = command(name, dir, "pipeline");
    let result = tokio::task::spawn_blocking(move || run_json(&cmd, &env)).await?;
    db.drop_now().await?;
    let mut value = result?;
    value["webhooks_received"] = json!(receiver.unique_ids().len());
    Ok(value)
}

fn command(name: &str, dir: &Path, script: &str) -> Command {
    let mut cmd = if name == "node" {
        let mut c = Command::new("node");
        // @medplum/core expects Node 22's global WebSocket; Node 20 has it behind this flag.
        c.arg("--experimental-websocket");
        c.arg(dir.join(format!("{script}.mjs")));
        c
    } else {
        let mut c = Command::new(dir.join("venv/bin/python"));
        c.arg(dir.join(format!("{script}.py")));
        c
    };
    cmd.current_dir(dir);
    cmd
}

/// Runs `cmd` with `env`; its last stdout line is the JSON result.
fn run_json(cmd: &Command, env: &[(String, String)]) -> anyhow::Result<Value> {
    let mut cmd = clone(cmd);
    cmd.envs(env.iter().cloned());
    let out = cmd.output().context("start the peer")?;
    anyhow::ensure!(
        out.status.success(),
        "the peer failed: {}",
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .rev()
            .take(5)
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .context("no JSON")?;
    Ok(serde_json::from_str(last)?)
}

fn clone(cmd: &Command) -> Command {
    let mut c = Command::new(cmd.get_program());
    c.args(cmd.get_args());
    if let Some(dir) = cmd.get_current_dir() {
        c.current_dir(dir);
    }
    c
}

/// Copies the sources into `dir` and runs `npm ci` unless the lock file is unchanged.
fn install_node(src: &Path, dir: &Path) -> anyhow::Result<PathBuf> {
    let fresh = copy_sources(src, dir, "package-lock.json")?;
    if fresh || !dir.join("node_modules").is_dir() {
        sh(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(dir))?;
    }
    Ok(dir.to_owned())
}

/// Copies the sources into `dir` and installs `requirements.txt` into a venv when it changed.
fn install_python(src: &Path, dir: &Path) -> anyhow::Result<PathBuf> {
    let fresh = copy_sources(src, dir, "requirements.txt")?;
    let python = dir.join("venv/bin/python");
    if !python.exists() {
        sh(Command::new("python3")
            .args(["-m", "venv"])
            .arg(dir.join("venv")))?;
    }
    if fresh || !dir.join("venv/.installed").exists() {
        sh(Command::new(&python)
            .args(["-m", "pip", "install", "-q", "-r", "requirements.txt"])
            .current_dir(dir))?;
        std::fs::write(dir.join("venv/.installed"), b"")?;
    }
    Ok(dir.to_owned())
}

/// Copies every file of `src` into `dir`; whether `lock` changed (or was new).
fn copy_sources(src: &Path, dir: &Path, lock: &str) -> anyhow::Result<bool> {
    std::fs::create_dir_all(dir)?;
    let before = std::fs::read(dir.join(lock)).ok();
    for entry in std::fs::read_dir(src).with_context(|| format!("read {}", src.display()))? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::copy(entry.path(), dir.join(entry.file_name()))?;
        }
    }
    Ok(before != std::fs::read(dir.join(lock)).ok())
}

fn sh(cmd: &mut Command) -> anyhow::Result<()> {
    let out = cmd
        .output()
        .with_context(|| format!("run {:?}", cmd.get_program()))?;
    anyhow::ensure!(
        out.status.success(),
        "{:?} failed: {}",
        cmd.get_program(),
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .rev()
            .take(5)
            .collect::<Vec<_>>()
            .join(" | ")
    );
    Ok(())
}
