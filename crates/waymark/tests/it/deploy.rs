//! The reference deployments in `deploy/` stay true to the binary: every systemd unit is
//! hardened and accepted by `systemd-analyze verify`, and every command line in a unit or in the
//! compose file parses with the real `waymark run` arguments (environment files included, read
//! through clap's own `env` names).

use std::{collections::BTreeMap, fs, path::PathBuf, process::Command};

use clap::{CommandFactory, FromArgMatches, Parser};
use waymark::run_cmd::RunArgs;

#[derive(Parser, Debug)]
struct Probe {
    #[command(flatten)]
    run: RunArgs,
}

const HARDENING: [&str; 12] = [
    "User=waymark",
    "NoNewPrivileges=yes",
    "ProtectSystem=strict",
    "ProtectHome=yes",
    "PrivateTmp=yes",
    "PrivateDevices=yes",
    "CapabilityBoundingSet=",
    "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
    "SystemCallFilter=@system-service",
    "ReadOnlyPaths=/etc/waymark /usr/share/waymark",
    "StateDirectory=waymark",
    "KillSignal=SIGTERM",
];

fn deploy_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

fn units() -> Vec<(String, String)> {
    let dir = deploy_dir().join("systemd");
    let mut found: Vec<(String, String)> = fs::read_dir(&dir)
        .expect("deploy/systemd exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "service"))
        .map(|p| {
            let name = p
                .file_name()
                .expect("a name")
                .to_string_lossy()
                .into_owned();
            (name, fs::read_to_string(&p).expect("readable unit"))
        })
        .collect();
    found.sort();
    found
}

fn env_example() -> BTreeMap<String, String> {
    let text = fs::read_to_string(deploy_dir().join("systemd/waymark.env.example"))
        .expect("the example environment file");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once('=').expect("KEY=VALUE");
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

/// `${VAR}` from the environment file, `%i` as an instance number.
fn expand(line: &str, env: &BTreeMap<String, String>) -> String {
    let mut out = line.replace("%i", "1");
    for (k, v) in env {
        out = out.replace(&format!("${{{k}}}"), v);
    }
    assert!(!out.contains("${"), "an undefined variable in `{line}`");
    out
}

/// Parses `words` (after `waymark run`) as the real CLI would with `env` set.
fn parse_run(words: &[String], env: &BTreeMap<String, String>) -> Result<RunArgs, clap::Error> {
    let mut args = vec!["waymark-run".to_owned()];
    args.extend(words.iter().cloned());
    let command = Probe::command();
    for arg in command.get_arguments() {
        let (Some(var), Some(long)) = (arg.get_env(), arg.get_long()) else {
            continue;
        };
        let flag = format!("--{long}");
        let given = words.contains(&flag);
        if let Some(value) = env.get(var.to_string_lossy().as_ref())
            && !given
        {
            args.extend([flag, value.clone()]);
        }
    }
    let matches = command.try_get_matches_from(args)?;
    Probe::from_arg_matches(&matches).map(|p| p.run)
}

fn exec_words(unit: &str) -> Vec<String> {
    let line = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("an ExecStart line");
    line.split_whitespace().map(str::to_owned).collect()
}

#[test]
fn every_systemd_unit_is_hardened_and_runs_a_valid_command() {
    let env = env_example();
    let units = units();
    assert!(units.len() >= 6, "a unit per stage, found {}", units.len());
    for (name, text) in &units {
        for directive in HARDENING {
            assert!(
                text.lines().any(|l| l.trim() == directive),
                "{name} lacks `{directive}`"
            );
        }
        let words = exec_words(text);
        assert_eq!(words[0], "/usr/local/bin/waymark", "{name}");
        assert_eq!(words[1], "run", "{name}");
        let expanded: Vec<String> = words[2..].iter().map(|w| expand(w, &env)).collect();
        if let Err(err) = parse_run(&expanded, &env) {
            panic!(
                "{name}: `waymark run {}` does not parse: {err}",
                expanded.join(" ")
            );
        }
    }
}

#[test]
fn a_unit_command_that_the_cli_refuses_is_caught() {
    let env = env_example();
    let words = vec!["--stage".to_owned(), "mapp".to_owned()];
    assert!(
        parse_run(&words, &env).is_err(),
        "an unknown stage must not parse"
    );
    let mut no_store = env.clone();
    no_store.remove("WAYMARK_STORE_URL");
    let words = vec!["--stage".to_owned(), "map".to_owned()];
    assert!(
        parse_run(&words, &no_store).is_err(),
        "the store is required"
    );
    assert!(parse_run(&words, &env).is_ok());
}

#[test]
fn systemd_analyze_verifies_every_unit() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let bin = env!("CARGO_BIN_EXE_waymark");
    let mut names = Vec::new();
    for (name, text) in units() {
        fs::write(
            dir.path().join(&name),
            text.replace("/usr/local/bin/waymark", bin),
        )
        .expect("a copy");
        names.push(name.replace("@.service", "@1.service"));
    }
    let target = fs::read_to_string(deploy_dir().join("systemd/waymark.target")).expect("target");
    fs::write(dir.path().join("waymark.target"), target).expect("a copy");
    names.push("waymark.target".to_owned());
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .args(&names)
        .current_dir(dir.path())
        .output()
        .expect("systemd-analyze (Debian package systemd) must be installed for this test");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "systemd-analyze failed: {stderr}");
    assert!(stderr.trim().is_empty(), "systemd-analyze warned: {stderr}");
}

#[test]
fn every_compose_service_runs_a_valid_hardened_command() {
    let text = fs::read_to_string(deploy_dir().join("container/compose.yaml")).expect("compose");
    let mut doc: serde_norway::Value = serde_norway::from_str(&text).expect("valid YAML");
    doc.apply_merge().expect("merge keys resolve");
    let services = doc["services"].as_mapping().expect("services");
    let env = BTreeMap::from([(
        "WAYMARK_STORE_URL".to_owned(),
        "postgres://waymark@postgres/waymark".to_owned(),
    )]);
    let mut hub = 0;
    for (name, service) in services {
        let Some(command) = service.get("command").and_then(|c| c.as_sequence()) else {
            continue;
        };
        let words: Vec<String> = command
            .iter()
            .map(|w| w.as_str().expect("a string").to_owned())
            .collect();
        if words.first().map(String::as_str) != Some("run") {
            continue;
        }
        hub += 1;
        let name = name.as_str().expect("a name");
        let mut words = words[1..].to_vec();
        words.extend(["--bus".to_owned(), "amqp://rabbitmq/%2f".to_owned()]);
        let words: Vec<String> = words
            .into_iter()
            .map(|w| w.replace("${PRISON_API_URL:?set PRISON_API_URL}", "http://prison-api"))
            .collect();
        if let Err(err) = parse_run(&words, &env) {
            panic!("compose service {name}: does not parse: {err}");
        }
        assert_eq!(service["read_only"].as_bool(), Some(true), "{name}");
        assert_eq!(
            service["security_opt"][0].as_str(),
            Some("no-new-privileges:true"),
            "{name}"
        );
    }
    assert!(hub >= 6, "a compose service per stage, found {hub}");
}

fn kubernetes_documents() -> Vec<serde_norway::Value> {
    use serde::Deserialize;
    let text = fs::read_to_string(deploy_dir().join("kubernetes/hub.yaml")).expect("hub.yaml");
    serde_norway::Deserializer::from_str(&text)
        .map(|doc| serde_norway::Value::deserialize(doc).expect("valid YAML"))
        .filter(|doc| !doc.is_null())
        .collect()
}

#[test]
fn every_kubernetes_workload_runs_a_valid_command_with_probes_limits_and_no_privilege() {
    let env = BTreeMap::from([
        ("WAYMARK_BUS_URL".to_owned(), "amqp://rabbit/%2f".to_owned()),
        (
            "WAYMARK_STORE_URL".to_owned(),
            "postgres://pg/waymark".to_owned(),
        ),
    ]);
    let vars = BTreeMap::from([
        ("POD_INDEX".to_owned(), "1".to_owned()),
        ("WAYMARK_DELIVER_SHARDS".to_owned(), "2".to_owned()),
        (
            "WAYMARK_PRISON_API_URL".to_owned(),
            "http://prison-api".to_owned(),
        ),
    ]);
    let mut stages = Vec::new();
    for doc in kubernetes_documents() {
        let kind = doc["kind"].as_str().expect("a kind");
        if kind != "Deployment" && kind != "StatefulSet" {
            continue;
        }
        let name = doc["metadata"]["name"].as_str().expect("a name");
        let container = &doc["spec"]["template"]["spec"]["containers"][0];
        let words: Vec<String> = container["args"]
            .as_sequence()
            .expect("args")
            .iter()
            .map(|w| {
                let mut w = w.as_str().expect("a string").to_owned();
                for (k, v) in &vars {
                    w = w.replace(&format!("$({k})"), v);
                }
                w
            })
            .collect();
        assert_eq!(words[0], "run", "{name}");
        match parse_run(&words[1..], &env) {
            Ok(args) => stages.push(format!("{:?}", args.stages)),
            Err(err) => panic!("{name}: does not parse: {err}"),
        }
        for probe in ["readinessProbe", "livenessProbe"] {
            assert!(
                container[probe]["httpGet"]["path"].is_string(),
                "{name} {probe}"
            );
        }
        for resource in ["cpu", "memory"] {
            assert!(
                container["resources"]["limits"][resource].is_string(),
                "{name}"
            );
        }
        let security = &container["securityContext"];
        assert_eq!(security["runAsNonRoot"].as_bool(), Some(true), "{name}");
        assert_eq!(
            security["readOnlyRootFilesystem"].as_bool(),
            Some(true),
            "{name}"
        );
        assert_eq!(
            security["allowPrivilegeEscalation"].as_bool(),
            Some(false),
            "{name}"
        );
    }
    assert_eq!(stages.len(), 6, "a workload per stage: {stages:?}");
}
