//! `haven screen`, `haven sla due` and `haven check-anonymity`: what they print and their
//! exit status (0, or 2 with one line on stderr naming the field or file).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// `haven ARGS` with no HAVEN_* settings from the developer's shell, `stdin` piped in.
fn haven(args: &[&str], stdin: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_haven"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("HAVEN_") {
            cmd.env_remove(name);
        }
    }
    let mut child = cmd
        .env("HAVEN_DATA_DIR", dir.path())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json(o: &Output) -> Value {
    assert_eq!(
        o.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_str(&stdout(o)).unwrap()
}

fn assert_bad_input(o: &Output, mentions: &str) {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains(mentions), "{err:?} should mention {mentions}");
}

#[test]
fn sla_due_counts_five_working_days_after_receipt_skipping_christmas() {
    // Friday 18 December 2026: 21, 22, 23, 24 December, then Christmas Day (Fri 25) and the
    // Boxing Day substitute (Mon 28) are skipped: the fifth working day is Tue 29.
    let o = haven(
        &[
            "sla",
            "due",
            "--service",
            "cyber-choices",
            "--received",
            "2026-12-18T10:00:00Z",
        ],
        "",
    );
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o).trim(), "2026-12-29");

    // 23:30 UTC on Sunday 28 June 2026 is already Monday in London (BST): the receipt day
    // is Monday, so the fifth working day is the next Monday.
    let o = haven(
        &[
            "sla",
            "due",
            "--service",
            "cyber-choices",
            "--received",
            "2026-06-28T23:30:00Z",
        ],
        "",
    );
    assert_eq!(stdout(&o).trim(), "2026-07-06");
}

#[test]
fn sla_due_names_the_bad_argument() {
    let bad_time = haven(
        &[
            "sla",
            "due",
            "--service",
            "cyber-choices",
            "--received",
            "yesterday",
        ],
        "",
    );
    assert_bad_input(&bad_time, "--received");
    let unknown = haven(
        &[
            "sla",
            "due",
            "--service",
            "nope",
            "--received",
            "2026-12-18T10:00:00Z",
        ],
        "",
    );
    assert_bad_input(&unknown, "--service");
}

#[test]
fn screen_prints_the_api_shape_for_the_secos_sample() {
    let sample = repo_file("services/samples/secos-referral.json");
    let result = json(&haven(
        &[
            "screen",
            "--service",
            "secos",
            sample.to_str().unwrap(),
            "--on",
            "2026-12-01",
        ],
        "",
    ));
    assert_eq!(result["eligible"], true);
    assert!(
        ["low", "medium", "high"].contains(&result["suggested_band"].as_str().unwrap()),
        "{result}"
    );
    assert!(result["reasons"].as_array().unwrap().len() > 1);
    let actions: Vec<&str> = result["required_actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["key"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"referrer_manages_risk"), "{actions:?}");
}

#[test]
fn screen_reads_only_what_screening_needs_and_names_a_missing_narrative() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("answers.json");
    std::fs::write(
        &file,
        r#"{"screening": {"vulnerabilities": ["looked_after"]}}"#,
    )
    .unwrap();
    let o = haven(
        &["screen", "--service", "secos", file.to_str().unwrap()],
        "",
    );
    assert_bad_input(&o, "screening.vulnerabilities_narrative");

    std::fs::write(
        &file,
        r#"{"screening": {"vulnerabilities": ["looked_after"], "vulnerabilities_narrative": "In care since May."}}"#,
    )
    .unwrap();
    let result = json(&haven(
        &["screen", "--service", "secos", file.to_str().unwrap()],
        "",
    ));
    assert_eq!(result["suggested_band"], "low");

    std::fs::write(&file, "{not json").unwrap();
    let o = haven(
        &["screen", "--service", "secos", file.to_str().unwrap()],
        "",
    );
    assert_bad_input(&o, "answers.json:1:");
}

#[test]
fn screen_signposts_an_out_of_scope_ceop_report() {
    let sample = repo_file("services/samples/ceop-report-bullying.json");
    let result = json(&haven(
        &["screen", "--service", "ceop", sample.to_str().unwrap()],
        "",
    ));
    assert_eq!(result["in_scope"], false);
    let signposts: Vec<&str> = result["signposts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap())
        .collect();
    assert!(signposts.contains(&"childline"), "{signposts:?}");
    assert!(signposts.contains(&"nspcc_helpline"), "{signposts:?}");
}

#[test]
fn check_anonymity_reads_stdin_and_reports_byte_offsets() {
    let text = "Zoë's friend Sam in Year 10 gave out sam.b@example.com on Discord.";
    let result = json(&haven(&["check-anonymity"], text));
    assert_eq!(result["identifying"], true);
    let findings = result["findings"].as_array().unwrap();
    let email = findings
        .iter()
        .find(|f| f["kind"] == "email")
        .expect("the email is found");
    let (start, end) = (
        email["start"].as_u64().unwrap() as usize,
        email["end"].as_u64().unwrap() as usize,
    );
    assert_eq!(&text[start..end], "sam.b@example.com");
    assert!(findings.iter().any(|f| f["kind"] == "name"));

    let plain = json(&haven(
        &["check-anonymity"],
        "A pupil in Year 10 has been using a booter service on Discord every Friday.",
    ));
    assert_eq!(plain["identifying"], false, "{plain}");
}

#[test]
fn check_anonymity_refuses_text_that_is_not_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_haven"))
        .env("HAVEN_DATA_DIR", dir.path())
        .arg("check-anonymity")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&[0x66, 0xff, 0xfe])
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_bad_input(&o, "stdin");
}
