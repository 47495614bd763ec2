//! The `waymark run` processes of one fault test (copied from `processes.rs`, whose helpers are
//! private, plus `kill -9` and respawn), killed when dropped so a failing test leaves none.

use std::{
    fs::OpenOptions,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

pub struct Procs {
    dir: PathBuf,
    running: Vec<Proc>,
}

struct Proc {
    name: String,
    args: Vec<String>,
    child: Child,
    /// Times started: a respawned process is ready when its log says so this many times.
    starts: usize,
}

impl Procs {
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_owned(),
            running: Vec::new(),
        }
    }

    /// Starts `waymark ARGS`, its stderr appended to `<name>.log`.
    pub fn spawn(&mut self, name: &str, args: &[String]) {
        let child = self.start(name, args);
        self.running.push(Proc {
            name: name.to_owned(),
            args: args.to_vec(),
            child,
            starts: 1,
        });
    }

    fn start(&self, name: &str, args: &[String]) -> Child {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(name))
            .unwrap();
        Command::new(env!("CARGO_BIN_EXE_waymark"))
            .args(args)
            .env("RUST_LOG", "warn")
            .env("WAYMARK_DATA_DIR", self.dir.join("hub-data"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap()
    }

    fn log_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.log"))
    }

    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.log_path(name)).unwrap_or_default()
    }

    /// `kill -9` of process `name` (a real crash: no clean stop, no final counts).
    pub fn kill9(&mut self, name: &str) {
        let proc = self.find(name);
        proc.child.kill().unwrap();
        proc.child.wait().unwrap();
    }

    /// Starts process `name` again with its arguments, its log appended to.
    pub fn respawn(&mut self, name: &str) {
        let args = self.find(name).args.clone();
        let child = self.start(name, &args);
        let proc = self.find(name);
        proc.child = child;
        proc.starts += 1;
    }

    fn find(&mut self, name: &str) -> &mut Proc {
        let found = self.running.iter_mut().find(|p| p.name == name);
        found.unwrap_or_else(|| panic!("no process {name}"))
    }

    /// Waits until every process printed `ready` (once per start); panics with the logs if one
    /// exits or the time runs out.
    pub async fn wait_ready(&mut self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let ready = self
                .running
                .iter()
                .filter(|p| self.log(&p.name).matches("waymark run: ready").count() >= p.starts)
                .count();
            if ready == self.running.len() {
                return;
            }
            for p in &mut self.running {
                if let Ok(Some(status)) = p.child.try_wait() {
                    let log = std::fs::read_to_string(self.dir.join(format!("{}.log", p.name)));
                    panic!(
                        "`{}` exited ({status}) before it was ready: {log:?}",
                        p.name
                    );
                }
            }
            assert!(Instant::now() < deadline, "not ready: {}", self.tails());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The first line of `name`'s log after `prefix`.
    pub fn logged(&self, name: &str, prefix: &str) -> String {
        let log = self.log(name);
        let line = log.lines().find_map(|l| l.strip_prefix(prefix));
        line.unwrap_or_else(|| panic!("no `{prefix}` in the {name} log: {log}"))
            .to_owned()
    }

    /// SIGTERM to every process, then waits (up to `within`) for each; its exit code.
    pub fn terminate_all(&mut self, within: Duration) -> Vec<(String, Option<i32>)> {
        for p in &self.running {
            let _ = Command::new("kill")
                .args(["-TERM", &p.child.id().to_string()])
                .status();
        }
        let deadline = Instant::now() + within;
        let mut exits = Vec::new();
        for p in &mut self.running {
            let code = loop {
                match p.child.try_wait() {
                    Ok(Some(status)) => break status.code(),
                    _ if Instant::now() >= deadline => break None,
                    _ => std::thread::sleep(Duration::from_millis(50)),
                }
            };
            exits.push((p.name.clone(), code));
        }
        exits
    }

    /// The last lines of every log, for a failure message.
    pub fn tails(&self) -> String {
        let mut out = String::new();
        for p in &self.running {
            let log = self.log(&p.name);
            let lines: Vec<&str> = log.lines().collect();
            let tail = lines[lines.len().saturating_sub(6)..].join("\n  ");
            out.push_str(&format!("\n[{}]\n  {tail}", p.name));
        }
        out
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        for p in &mut self.running {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
    }
}
