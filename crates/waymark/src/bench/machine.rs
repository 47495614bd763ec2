//! Facts about the machine the figures were taken on.

use std::process::Command;

use serde_json::{Value, json};

/// Cores, CPU model, memory, kernel and the versions of the tools a run uses. The broker's and
/// the database's versions are added by the sections that connect to them.
pub fn facts() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("unknown".to_owned(), |m| m.trim().to_owned());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kib| kib.parse::<u64>().ok())
        .map_or(0, |kib| kib / 1024);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_or("unknown".to_owned(), |k| k.trim().to_owned());
    json!({
        "date": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "cores": std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        "cpu_model": model,
        "memory_mib": memory,
        "kernel": kernel,
        "waymark": env!("CARGO_PKG_VERSION"),
        "build": if cfg!(debug_assertions) { "debug" } else { "release" },
        "rustc": version("rustc", "--version"),
        "node": version("node", "--version"),
        "python": version("python3", "--version"),
        "load_average": std::fs::read_to_string("/proc/loadavg")
            .map_or(String::new(), |l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" ")),
    })
}

/// The first line a tool prints for `flag`, or `not installed`.
pub fn version(tool: &str, flag: &str) -> String {
    Command::new(tool)
        .arg(flag)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            let text = if o.stdout.is_empty() {
                o.stderr
            } else {
                o.stdout
            };
            String::from_utf8_lossy(&text)
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned()
        })
        .unwrap_or_else(|| "not installed".to_owned())
}
