//! `waymark backup` and `waymark restore` end to end, through the binary, for both backends:
//! exit codes, refusals, identical content after the round trip, and no stored content or
//! password in the output. The PostgreSQL half needs `WAYMARK_PG_URL` (see
//! `deploy/local/postgres.sh`) and fails loudly without it.

#[path = "../../../waymark-store/tests/it/backup_support/mod.rs"]
mod backup_support;

use std::{path::Path, process::Command, time::Duration};

use backup_support::{populate, snapshot};
use waymark_store::{PgStore, SqliteStore};

/// Runs the binary; (exit code, stdout, stderr).
fn waymark(args: &[&str], store_env: Option<&str>) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_waymark"));
    cmd.args(args).env_remove("WAYMARK_STORE");
    if let Some(url) = store_env {
        cmd.env("WAYMARK_STORE", url);
    }
    let out = cmd.output().expect("run waymark");
    (
        out.status.code().expect("an exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// No stored content (bundles, demographics, identifier values) in what the command printed.
fn assert_no_content(text: &str) {
    for needle in ["bundle-of", "demographics-of", "Aa0000", "record-after"] {
        assert!(
            !text.contains(needle),
            "the output shows stored content: {text}"
        );
    }
}

#[test]
fn backup_and_restore_have_help_with_examples() {
    for command in ["backup", "restore"] {
        let (code, out, _) = waymark(&[command, "--help"], None);
        assert_eq!(code, 0);
        assert!(
            out.contains("Example: waymark"),
            "{command} --help has no example: {out}"
        );
    }
}

#[tokio::test]
async fn sqlite_round_trip_through_the_cli() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("store.db");
    let url = format!("sqlite://{}", db.display());
    let file = dir.path().join("backup.db");
    let file_arg = file.to_str().expect("utf-8");

    let store = SqliteStore::open(&db).await.expect("open");
    let persons = populate(&store, 9).await;
    let before = snapshot(&store, &persons).await;

    let (code, out, err) = waymark(&["backup", "--store", &url, "--out", file_arg], None);
    assert_eq!(code, 0, "backup failed: {err}");
    assert!(
        out.contains("8 persons, 18 entries, 5 quarantined, 4 consents"),
        "{out}"
    );
    assert_no_content(&(out + &err));
    let (code, _, err) = waymark(&["backup", "--store", &url, "--out", file_arg], None);
    assert_eq!(
        code, 1,
        "a second backup over the file must be refused: {err}"
    );

    // In use: refused (exit 1) even with --force.
    let (code, _, err) = waymark(
        &["restore", "--store", &url, "--from", file_arg, "--force"],
        None,
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("is open"), "{err}");
    drop(store);
    tokio::time::sleep(Duration::from_millis(300)).await;

    let (code, _, err) = waymark(&["restore", "--store", &url, "--from", file_arg], None);
    assert_eq!(
        code, 1,
        "replacing a store without --force must be refused: {err}"
    );
    let (code, out, err) = waymark(
        &["restore", "--store", &url, "--from", file_arg, "--force"],
        None,
    );
    assert_eq!(code, 0, "restore failed: {err}");
    assert!(out.starts_with("restored sqlite store: 8 persons"), "{out}");
    let store = SqliteStore::open(&db).await.expect("reopen");
    assert_eq!(
        snapshot(&store, &persons).await,
        before,
        "restored content differs"
    );

    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, b"garbage").expect("write");
    let (code, _, _) = waymark(
        &[
            "restore",
            "--store",
            &url,
            "--from",
            garbage.to_str().expect("utf-8"),
            "--force",
        ],
        None,
    );
    assert_eq!(code, 1, "a bad backup must be refused");
}

/// A new, empty database on the test server, made with `psql` as the owner role; its URL.
fn create_database(owner_url: &str, name: &str) -> String {
    let psql = ["/usr/bin/psql", "/usr/lib/postgresql/15/bin/psql"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .unwrap_or("psql");
    let status = Command::new(psql)
        .args([owner_url, "-q", "-c", &format!("CREATE DATABASE {name}")])
        .status()
        .expect("run psql");
    assert!(status.success(), "CREATE DATABASE {name} failed");
    let (base, _) = owner_url.rsplit_once('/').expect("a database in the URL");
    format!("{base}/{name}")
}

fn drop_database(owner_url: &str, name: &str) {
    let _ = Command::new("psql")
        .args([
            owner_url,
            "-q",
            "-c",
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        ])
        .status();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_round_trip_through_the_cli() {
    let owner = std::env::var("WAYMARK_PG_URL")
        .expect("WAYMARK_PG_URL is not set: run deploy/local/postgres.sh and source its env file");
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let (source_name, copy_name) = (
        format!("wm_cli_src_{suffix}"),
        format!("wm_cli_dst_{suffix}"),
    );
    let source = create_database(&owner, &source_name);
    let copy = create_database(&owner, &copy_name);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("store.dump");
    let file_arg = file.to_str().expect("utf-8");

    let store = PgStore::connect(&source).await.expect("connect");
    let persons = populate(&store, 9).await;
    let before = snapshot(&store, &persons).await;
    store.close().await;
    drop(store);

    let (code, out, err) = waymark(&["backup", "--out", file_arg], Some(&source));
    assert_eq!(code, 0, "backup failed: {err}");
    assert!(
        out.contains("8 persons, 18 entries, 5 quarantined, 4 consents"),
        "{out}"
    );
    let (code, out2, err2) = waymark(&["restore", "--from", file_arg], Some(&copy));
    assert_eq!(code, 0, "restore failed: {err2}");
    let password = owner
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
        .map(|(_, pw)| pw)
        .expect("the test server's URL has a password");
    let printed = format!("{out}{err}{out2}{err2}");
    assert!(!printed.contains(password), "the password was printed");
    assert_no_content(&printed);

    let restored = PgStore::connect(&copy).await.expect("connect to the copy");
    assert_eq!(
        snapshot(&restored, &persons).await,
        before,
        "restored content differs"
    );
    let (code, _, err) = waymark(&["restore", "--from", file_arg], Some(&copy));
    assert_eq!(
        code, 1,
        "restoring over a connected database must be refused: {err}"
    );
    restored.close().await;
    drop(restored);
    drop_database(&owner, &source_name);
    drop_database(&owner, &copy_name);
}
