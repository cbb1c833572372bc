//! The real binary under environment faults: one `haven serve` per SQLite data directory
//! (maintenance commands still run beside it), and a stderr that cannot be written (a full
//! log volume, here `/dev/full`) never takes requests down.

use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use common::fixtures_dir;

fn command(args: &[&str], data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_haven"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("HAVEN_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("HAVEN_DATA_DIR", data_dir)
        .env("NO_COLOR", "1")
        .args(args);
    cmd
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn serve_args(port: u16) -> Vec<String> {
    vec![
        "serve".to_owned(),
        "--bind".to_owned(),
        format!("127.0.0.1:{port}"),
        "--services-dir".to_owned(),
        fixtures_dir().to_str().unwrap().to_owned(),
    ]
}

/// Starts `haven serve` with stderr piped and waits for "listening on".
fn serve_logged(data_dir: &Path, port: u16) -> Child {
    let args = serve_args(port);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut child = command(&args, data_dir)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    loop {
        match lines.next() {
            Some(Ok(line)) if line.contains("listening on") => break,
            Some(Ok(_)) => {}
            _ => panic!("haven serve stopped before listening"),
        }
    }
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    child
}

/// One HTTP/1.1 GET; the status line, or `None` if nothing answered.
fn get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer.lines().next().map(str::to_owned)
}

/// Waits (up to a minute; not a timing assertion) until the server answers `/healthz`.
fn wait_until_up(port: u16, child: &mut Child) {
    for _ in 0..600 {
        if get(port, "/healthz").is_some() {
            return;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the server exited before answering"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the server never answered");
}

fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_second_server_on_one_sqlite_data_dir_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let first = serve_logged(dir.path(), free_port());

    let args = serve_args(free_port());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let second = command(&args, dir.path()).output().unwrap();
    assert_eq!(second.status.code(), Some(1), "{}", stderr(&second));
    let message = stderr(&second);
    assert!(
        message.contains("another haven server is already using the data directory"),
        "{message}"
    );
    assert!(message.contains("haven.lock"), "{message}");

    // Maintenance commands still run beside the serving instance, as designed.
    let rotate = command(&["keys", "rotate"], dir.path()).output().unwrap();
    assert!(rotate.status.success(), "{}", stderr(&rotate));
    let verify = command(&["audit", "verify"], dir.path()).output().unwrap();
    assert!(verify.status.success(), "{}", stderr(&verify));

    // A killed server leaves no stale lock: the next one starts.
    stop(first);
    let third = serve_logged(dir.path(), free_port());
    stop(third);
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_log_volume_never_stops_requests() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let args = serve_args(port);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut child = command(&args, dir.path())
        // Every log line (and the first-admin hint) fails with ENOSPC.
        .env("HAVEN_LOG", "debug")
        .stderr(Stdio::from(full))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_until_up(port, &mut child);
    for path in ["/readyz", "/healthz", "/no-such-page", "/api/v1/services"] {
        let status = get(port, path).unwrap_or_else(|| panic!("no answer to {path}"));
        assert!(status.starts_with("HTTP/1.1 "), "{path}: {status}");
        assert!(!status.contains(" 500 "), "{path}: {status}");
    }
    assert_eq!(
        get(port, "/readyz").as_deref(),
        Some("HTTP/1.1 200 OK"),
        "still serving after logging into a full volume"
    );
    assert!(
        child.try_wait().unwrap().is_none(),
        "the server is still up"
    );
    stop(child);
}
