//! RabbitMQ and PostgreSQL for the run: from `WAYMARK_AMQP_URL` / `WAYMARK_PG_URL`, else
//! started on loopback by the project's own scripts (`deploy/local/rabbitmq.sh`,
//! `deploy/local/postgres.sh start`), which install them when missing.

use std::process::Command;

use anyhow::Context as _;
use serde_json::json;

use super::{Options, Progress, hub::Backend, report::Report};

/// The service URLs, where the run uses services.
#[derive(Clone, Debug, Default)]
pub struct Services {
    /// `WAYMARK_AMQP_URL`.
    pub amqp: Option<String>,
    /// `WAYMARK_PG_URL` (the owner role).
    pub pg: Option<String>,
}

impl Services {
    /// The URLs from the environment, else from the scripts; none with `--embedded-only`.
    pub fn resolve(
        opts: &Options,
        report: &mut Report,
        progress: &Progress,
    ) -> anyhow::Result<Self> {
        if opts.embedded_only {
            report.skip(
                "RabbitMQ and PostgreSQL (broker and database ceilings, the RabbitMQ + \
                 PostgreSQL backend, the peer pipelines)",
                "--embedded-only",
            );
            return Ok(Self::default());
        }
        let amqp = match std::env::var("WAYMARK_AMQP_URL") {
            Ok(url) => url,
            Err(_) => {
                progress.say("setup", "starting RabbitMQ (deploy/local/rabbitmq.sh)");
                from_script(opts, "rabbitmq.sh", &[], "WAYMARK_AMQP_URL")?
            }
        };
        let pg = match std::env::var("WAYMARK_PG_URL") {
            Ok(url) => url,
            Err(_) => {
                progress.say(
                    "setup",
                    "starting PostgreSQL (deploy/local/postgres.sh start)",
                );
                from_script(opts, "postgres.sh", &["start"], "WAYMARK_PG_URL")?
            }
        };
        report.set(
            &["machine", "rabbitmq"],
            json!(super::broker::server_version()),
        );
        Ok(Self {
            amqp: Some(amqp),
            pg: Some(pg),
        })
    }

    /// The backends a run measures: embedded always, RabbitMQ + PostgreSQL when available.
    pub fn backends(&self) -> Vec<Backend> {
        let mut out = vec![Backend::Embedded];
        if let (Some(amqp), Some(pg)) = (&self.amqp, &self.pg) {
            out.push(Backend::Services {
                amqp: amqp.clone(),
                pg: pg.clone(),
            });
        }
        out
    }
}

/// Runs `deploy/local/<script> <args>` and reads `export <var>=<value>` from what it prints.
fn from_script(opts: &Options, script: &str, args: &[&str], var: &str) -> anyhow::Result<String> {
    let path = opts.repo.join("deploy/local").join(script);
    let output = Command::new("bash")
        .arg(&path)
        .args(args)
        .output()
        .with_context(|| format!("run {}", path.display()))?;
    anyhow::ensure!(
        output.status.success(),
        "{} failed: {} (or set {var}, or pass --embedded-only)",
        path.display(),
        String::from_utf8_lossy(&output.stderr).trim()
    );
    let prefix = format!("export {var}=");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|l| l.strip_prefix(&prefix).map(str::to_owned))
        .with_context(|| format!("{} printed no {var}", path.display()))
}
