//! Runs the `haven` binary against a test's database and data dir.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use super::TestApp;

/// `haven ARGS` against the test's database and data dir, with a clean environment.
pub fn haven(app: &TestApp, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_haven"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("HAVEN_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("HAVEN_DATA_DIR", app.db.dir.path())
        .args(args)
        .args(["--database-url", &app.db.url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}
