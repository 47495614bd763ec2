//! The services of one fault test, none shared with the other tests: its own RabbitMQ broker
//! (killed, alarmed) through `deploy/local/rabbitmq.sh` on a port of its own, and either a
//! fresh database on the shared PostgreSQL server or, for the test that restarts PostgreSQL,
//! a cluster of its own through `deploy/local/postgres.sh`. Each fails loudly when it cannot
//! start.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use crate::common::repo_root;

/// Runs `deploy/local/<script> ARGS` with `env`; its stdout; panics with stderr on failure.
fn script(name: &str, args: &[&str], env: &[(&str, String)]) -> String {
    let path = repo_root().join("deploy/local").join(name);
    let out = Command::new("bash")
        .arg(&path)
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v)))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()));
    assert!(
        out.status.success(),
        "`{name} {}` failed ({env:?}):\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn exported(out: &str, name: &str) -> String {
    let prefix = format!("export {name}=");
    out.lines()
        .find_map(|line| line.strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("no {name} in: {out}"))
        .to_owned()
}

/// A RabbitMQ broker of one test's own, on port `WAYMARK_AMQP_FAULTS_PORT` (default 5675)
/// plus the test's offset, so killing or alarming it disturbs no other test.
pub struct Broker {
    port: u16,
    pub url: String,
}

impl Broker {
    /// Starts the broker (if it is not running), clears a memory alarm and deletes the stage
    /// queues an earlier run may have left behind. (Not `rabbitmq.sh fresh`: right after its reset the
    /// broker's quorum queues can answer `noproc` for a while.)
    pub async fn fresh(offset: u16) -> Self {
        let base: u16 = std::env::var("WAYMARK_AMQP_FAULTS_PORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(5675);
        let port = base + offset;
        let env = [("WAYMARK_AMQP_PORT", port.to_string())];
        let out = tokio::task::spawn_blocking(move || script("rabbitmq.sh", &["start"], &env))
            .await
            .unwrap();
        let url = exported(&out, "WAYMARK_AMQP_URL");
        let broker = Self { port, url };
        // An earlier run that failed mid-alarm left the broker blocking publishers.
        broker.alarm(false).await;
        clear_stage_queues(&broker.url).await;
        broker
    }

    async fn run(&self, args: &'static [&'static str]) {
        let env = [("WAYMARK_AMQP_PORT", self.port.to_string())];
        tokio::task::spawn_blocking(move || script("rabbitmq.sh", args, &env))
            .await
            .unwrap();
    }

    /// `kill -9` of the broker's Erlang VM, then a start (returns once it answers).
    pub async fn restart(&self) {
        self.run(&["restart"]).await;
    }

    /// The broker's queues (name, type, state, messages, consumers), or why they could not
    /// be listed: for a failing test's message.
    pub async fn queues(&self) -> String {
        let port = self.port.to_string();
        let listed = tokio::task::spawn_blocking(move || {
            let path = repo_root().join("deploy/local/rabbitmq.sh");
            Command::new("bash")
                .arg(path)
                .arg("queues")
                .env("WAYMARK_AMQP_PORT", port)
                .output()
        })
        .await;
        match listed {
            Ok(Ok(out)) => format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
            Ok(Err(e)) => format!("cannot run rabbitmq.sh queues: {e}"),
            Err(e) => format!("cannot run rabbitmq.sh queues: {e}"),
        }
    }

    /// Raises (`true`) or clears the broker's memory alarm.
    pub async fn alarm(&self, on: bool) {
        self.run(if on {
            &["alarm", "on"]
        } else {
            &["alarm", "off"]
        })
        .await;
    }
}

/// Deletes the hub's stage queues and their dead-letter queues.
async fn clear_stage_queues(url: &str) {
    use waymark_pipeline::{INGEST, RECORD, RELEASE};
    let conn = lapin::Connection::connect(url, lapin::ConnectionProperties::default())
        .await
        .unwrap_or_else(|e| panic!("cannot reach the fault test's broker at {url}: {e}"));
    let channel = conn.create_channel().await.unwrap();
    for queue in [INGEST, RECORD, RELEASE] {
        for name in [queue.to_owned(), format!("{queue}.dead")] {
            let options = lapin::options::QueueDeleteOptions::default();
            channel
                .queue_delete(name.as_str().into(), options)
                .await
                .unwrap();
        }
    }
    let _ = conn.close(200, "cleared".into()).await;
}

/// A fresh database on the shared PostgreSQL server (`WAYMARK_PG_URL`), dropped on drop.
pub struct Database {
    owner: String,
    name: String,
    pub url: String,
}

impl Database {
    pub fn create() -> Self {
        let owner = std::env::var("WAYMARK_PG_URL").expect(
            "WAYMARK_PG_URL is not set: start PostgreSQL with deploy/local/postgres.sh and \
             source its env file",
        );
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let name = format!("waymark_faults_{}", &suffix[..12]);
        psql(&owner, &format!("CREATE DATABASE {name}"));
        let (base, _) = owner.rsplit_once('/').expect("a database in the URL");
        let url = format!("{base}/{name}");
        Self { owner, name, url }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let _ = Command::new(psql_bin())
            .args([&self.owner, "-q", "-c", &drop])
            .status();
    }
}

fn psql(url: &str, sql: &str) {
    let status = Command::new(psql_bin())
        .args([url, "-q", "-c", sql])
        .status()
        .expect("run psql");
    assert!(status.success(), "`{sql}` failed (is PostgreSQL up?)");
}

fn psql_bin() -> &'static str {
    ["/usr/bin/psql", "/usr/lib/postgresql/15/bin/psql"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .unwrap_or("psql")
}

/// A PostgreSQL cluster of one test's own (a temp state folder, a free loopback port), so
/// restarting it disturbs no other test; stopped and removed on drop.
pub struct Cluster {
    dir: PathBuf,
    port: u16,
    pub url: String,
}

impl Cluster {
    pub fn start() -> Self {
        let base = std::env::var("WAYMARK_SERVICES_DIR")
            .unwrap_or_else(|_| "/tmp/waymark-services".into());
        let id = uuid::Uuid::new_v4().simple().to_string();
        let dir = PathBuf::from(base).join(format!("pg-faults-{}", &id[..12]));
        std::fs::create_dir_all(&dir).expect("state dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut cluster = Self {
            dir,
            port,
            url: String::new(),
        };
        cluster.url = exported(&cluster.run("start"), "WAYMARK_PG_URL");
        cluster
    }

    fn run(&self, command: &str) -> String {
        let env = [
            ("WAYMARK_SERVICES_DIR", self.dir.display().to_string()),
            ("WAYMARK_PG_PORT", self.port.to_string()),
        ];
        script("postgres.sh", &[command], &env)
    }

    /// Stops the server (fast shutdown: open connections are cut).
    pub async fn stop(&self) {
        self.blocking("stop").await;
    }

    /// Starts it again (returns once it answers).
    pub async fn start_again(&self) {
        self.blocking("start").await;
    }

    async fn blocking(&self, command: &'static str) {
        let env = [
            ("WAYMARK_SERVICES_DIR", self.dir.display().to_string()),
            ("WAYMARK_PG_PORT", self.port.to_string()),
        ];
        tokio::task::spawn_blocking(move || script("postgres.sh", &[command], &env))
            .await
            .unwrap();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.run("stop")));
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
