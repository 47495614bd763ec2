//! `waymark demo --once`: all five sources publish through their adapters, and for each what was
//! published was mapped or quarantined.

use std::process::Command;

use crate::common::repo_root;

#[test]
fn the_demo_runs_all_five_sources_and_their_counts_reconcile() {
    let out = Command::new(env!("CARGO_BIN_EXE_waymark"))
        .args([
            "demo",
            "--once",
            "--port",
            "0",
            "--people",
            "8",
            "--timeout",
            "120",
        ])
        .current_dir(repo_root())
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    for source in ["nomis", "athena", "excelicare", "systmone", "scr"] {
        let line = stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(source))
            .unwrap_or_else(|| panic!("no line for {source}:\n{stdout}"));
        let n: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .map(|w| w.parse().unwrap())
            .collect();
        let [published, mapped, quarantined] = n[..] else {
            panic!("{line}")
        };
        assert!(published > 0, "{source} published: {line}");
        assert_eq!(published, mapped + quarantined, "{source}: {line}");
    }
    assert!(!stdout.contains("MISMATCH"), "{stdout}");
}
