//! Running the Python tools the client tests drive (`fhirpy`, `schemathesis`): each test fails
//! loudly, with the install command, when its tool is missing.

use std::{path::Path, process::Command};

/// The install command for the Python tools (also what `deploy/local/test.sh` runs).
pub const INSTALL: &str = "python3 -m pip install fhirpy schemathesis";

/// Panics, naming [`INSTALL`], unless `python3` can import `module`.
pub fn require_module(module: &str) {
    let ok = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "python3 with the `{module}` package is required by this test; install it with `{INSTALL}` \
         (deploy/local/test.sh does)"
    );
}

/// Panics, naming [`INSTALL`], unless `program --version` runs.
pub fn require_program(program: &str) {
    let ok = Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "`{program}` is required by this test; install it with `{INSTALL}` (deploy/local/test.sh does)"
    );
}

/// The finished command's exit success, stdout and stderr (run off the async workers).
pub async fn run(mut command: Command) -> (bool, String, String) {
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Writes `script` to `dir/name` and returns a `python3` command running it with `args`.
pub fn script(dir: &Path, name: &str, script: &str, args: &[&str]) -> Command {
    let path = dir.join(name);
    std::fs::write(&path, script).unwrap();
    let mut command = Command::new("python3");
    command.arg(path).args(args);
    command
}
