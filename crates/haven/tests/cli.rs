//! The `haven` binary: exit status 0 / 2 (bad input, one line naming the field, file or
//! line) / 1 (anything else), and what each command prints.

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{TestDb, each_database, fixtures_dir};

/// `haven ARGS` with a clean environment (no HAVEN_* from the developer's shell).
fn haven(args: &[&str], data_dir: &Path) -> Output {
    command(args, data_dir).output().unwrap()
}

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

/// `haven ARGS --database-url URL --services-dir fixtures` for a test database.
fn haven_on(db: &TestDb, args: &[&str]) -> Output {
    let fixtures = fixtures_dir();
    let mut all: Vec<&str> = args.to_vec();
    all.extend([
        "--database-url",
        &db.url,
        "--services-dir",
        fixtures.to_str().unwrap(),
    ]);
    haven(&all, db.dir.path())
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_bad_input(o: &Output, mentions: &str) {
    assert_eq!(
        o.status.code(),
        Some(2),
        "stdout: {}\nstderr: {}",
        stdout(o),
        stderr(o)
    );
    let err = stderr(o);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains(mentions), "{err} should mention {mentions}");
}

#[test]
fn services_list_and_show() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = fixtures_dir();
    let services_dir = fixtures.to_str().unwrap();
    let out = haven(
        &["services", "list", "--services-dir", services_dir],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let list = stdout(&out);
    assert!(
        list.lines()
            .any(|l| l.starts_with("demo\tDemo service\treferral,detailed,internal")),
        "{list}"
    );
    assert!(list.lines().any(|l| l.starts_with("other\t")));

    let out = haven(
        &[
            "services",
            "show",
            "demo",
            "--json",
            "--services-dir",
            services_dir,
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let def: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(def["id"], "demo");
    assert_eq!(
        def["workflow"]["initial"], "new",
        "the full definition, internals included"
    );
    assert_eq!(
        def["stages"][0]["pages"][0]["questions"][0]["key"],
        "young_person.name"
    );

    let out = haven(
        &["services", "show", "demo", "--services-dir", services_dir],
        dir.path(),
    );
    assert!(stdout(&out).contains("young_person.date_of_birth [date] (required)"));

    let out = haven(
        &["services", "show", "nope", "--services-dir", services_dir],
        dir.path(),
    );
    assert_bad_input(&out, "nope");
}

#[test]
fn the_built_in_services_are_listed_without_any_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = haven(&["services", "list"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let ids: Vec<String> = stdout(&out)
        .lines()
        .filter_map(|l| l.split('\t').next().map(str::to_owned))
        .collect();
    assert_eq!(ids, ["ceop", "cyber-choices", "secos"]);
}

#[test]
fn a_broken_definition_is_exit_2_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let services = dir.path().join("services");
    std::fs::create_dir(&services).unwrap();
    let broken =
        include_str!("fixtures/other.toml").replace("type = \"long_text\"", "type = \"longtext\"");
    std::fs::write(services.join("broken.toml"), broken).unwrap();
    for args in [
        &["services", "list"][..],
        &["serve", "--bind", "127.0.0.1:0"][..],
    ] {
        let mut all = args.to_vec();
        all.extend(["--services-dir", services.to_str().unwrap()]);
        let out = haven(&all, dir.path());
        assert_bad_input(&out, "broken.toml:");
        let err = stderr(&out);
        let line: usize = err
            .split("broken.toml:")
            .nth(1)
            .unwrap()
            .split(':')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(line > 1, "{err}");
    }
}

#[test]
fn two_definitions_with_one_id_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let services = dir.path().join("services");
    std::fs::create_dir(&services).unwrap();
    let other = include_str!("fixtures/other.toml");
    std::fs::write(services.join("a.toml"), other).unwrap();
    std::fs::write(services.join("b.toml"), other).unwrap();
    let out = haven(
        &[
            "services",
            "list",
            "--services-dir",
            services.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_bad_input(&out, "b.toml");
}

#[test]
fn bad_settings_are_exit_2_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = haven(&["migrate", "--database-url", "mysql://x/y"], dir.path());
    assert_bad_input(&out, "database_url");
    let out = command(&["migrate"], dir.path())
        .env("HAVEN_BIND", "not-an-address")
        .output()
        .unwrap();
    assert_bad_input(&out, "HAVEN_BIND");
    let file = dir.path().join("haven.toml");
    std::fs::write(
        &file,
        "bind = \"127.0.0.1:8080\"\nmax_connections = \"many\"\n",
    )
    .unwrap();
    let out = haven(&["migrate", "--config", file.to_str().unwrap()], dir.path());
    assert_bad_input(&out, "haven.toml:2");
    let out = haven(&["migrate", "--no-such-flag"], dir.path());
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn an_unreachable_database_is_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let out = haven(
        &[
            "migrate",
            "--database-url",
            "postgres://nobody@127.0.0.1:1/none",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[test]
fn config_example_prints_a_valid_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = haven(&["config", "example"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    let file = dir.path().join("haven.toml");
    std::fs::write(&file, &out.stdout).unwrap();
    let out = haven(
        &["services", "list", "--config", file.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[tokio::test]
async fn migrate_creates_the_database() {
    for db in each_database().await {
        let out = haven_on(&db, &["migrate"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{:?}: {}",
            db.engine,
            stderr(&out)
        );
        if let Some(file) = &db.sqlite_file {
            assert!(file.exists());
        }
        // Running it again is a no-op.
        assert_eq!(haven_on(&db, &["migrate"]).status.code(), Some(0));
    }
}

#[test]
fn the_default_database_lives_in_the_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("nested/data");
    let out = haven(&["migrate"], &data);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(data.join("haven.db").exists());
}

#[tokio::test]
async fn create_user_and_token() {
    for db in each_database().await {
        let engine = db.engine;
        let out = haven_on(
            &db,
            &[
                "admin",
                "create-user",
                "--email",
                "Lead@Example.org",
                "--role",
                "admin",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{engine:?}: {}", stderr(&out));
        let password = stdout(&out).trim().to_owned();
        assert!(
            password.len() >= 20,
            "a strong one-time password: {password}"
        );

        let out = haven_on(
            &db,
            &[
                "admin",
                "create-user",
                "--email",
                "lead@example.org",
                "--role",
                "admin",
            ],
        );
        assert_bad_input(&out, "--email");
        let out = haven_on(
            &db,
            &[
                "admin",
                "create-user",
                "--email",
                "x@example.org",
                "--role",
                "wizard",
            ],
        );
        assert_bad_input(&out, "--role");
        let out = haven_on(
            &db,
            &[
                "admin",
                "create-user",
                "--email",
                "x@example.org",
                "--role",
                "triage",
            ],
        );
        assert_bad_input(&out, "--team");
        let out = haven_on(
            &db,
            &[
                "admin",
                "create-user",
                "--email",
                "x@example.org",
                "--role",
                "triage",
                "--team",
                "nobody",
            ],
        );
        assert_bad_input(&out, "--team");
        let out = haven_on(
            &db,
            &[
                "admin",
                "create-user",
                "--email",
                "not-an-email",
                "--role",
                "admin",
            ],
        );
        assert_bad_input(&out, "--email");
        let out = haven_on(
            &db,
            &[
                "admin",
                "create-user",
                "--email",
                "t@example.org",
                "--role",
                "triage",
                "--team",
                "demo-team",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

        let out = haven_on(
            &db,
            &[
                "admin",
                "create-token",
                "--email",
                "LEAD@example.org",
                "--name",
                "integration",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let token = stdout(&out).trim().to_owned();
        assert!(token.starts_with("hvn_") && token.len() > 50, "{token}");
        let out = haven_on(
            &db,
            &["admin", "create-token", "--email", "ghost@example.org"],
        );
        assert_bad_input(&out, "--email");

        // What was stored: an Argon2id hash, the token's SHA-256, never the secrets.
        let storage =
            haven::storage::Storage::connect(&db.url, 1, db.master_keys(), &db.secret_key())
                .await
                .unwrap();
        let user = storage
            .find_user_by_email("lead@example.org")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(user.role, haven::access::Role::Admin);
        let authenticated = storage
            .authenticate_token(&haven::crypto::token_hash(&token))
            .await
            .unwrap();
        assert_eq!(authenticated.map(|u| u.id), Some(user.id));
        let hash: String =
            sqlx::query("SELECT password_hash FROM staff_users WHERE email = 'lead@example.org'")
                .fetch_one(storage.pool())
                .await
                .map(|row| sqlx::Row::get(&row, 0))
                .unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!hash.contains(&password));

        // Revocation: the token stops working; a second revocation is bad input.
        let out = haven_on(&db, &["admin", "revoke-token", "--token", &token]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let authenticated = storage
            .authenticate_token(&haven::crypto::token_hash(&token))
            .await
            .unwrap();
        assert!(authenticated.is_none());
        let out = haven_on(&db, &["admin", "revoke-token", "--token", &token]);
        assert_bad_input(&out, "--token");

        // A role change is recorded (and ends sessions: tested in staff_sign_in.rs).
        let out = haven_on(
            &db,
            &[
                "admin",
                "set-role",
                "--email",
                "t@example.org",
                "--role",
                "manager",
                "--team",
                "demo-team",
                "--reason",
                "Now leads the demo team",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let user = storage
            .find_user_by_email("t@example.org")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(user.role, haven::access::Role::Manager);
        let changes = storage.permission_changes(&user.id).await.unwrap();
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(changes[0].reason, "Now leads the demo team");
        assert_eq!(changes[0].actor, "cli");
        let out = haven_on(
            &db,
            &[
                "admin",
                "set-role",
                "--email",
                "t@example.org",
                "--role",
                "wizard",
            ],
        );
        assert_bad_input(&out, "--role");
        storage.close().await;
    }
}

#[test]
fn serve_explains_how_to_create_the_first_admin() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = fixtures_dir();
    let mut child = command(
        &[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--services-dir",
            fixtures.to_str().unwrap(),
        ],
        dir.path(),
    )
    .stderr(Stdio::piped())
    .stdout(Stdio::null())
    .spawn()
    .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut seen = Vec::new();
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap();
        let done = line.contains("listening on");
        seen.push(line);
        if done {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let text = seen.join("\n");
    assert!(
        text.contains("haven admin create-user --email you@example.org --role admin"),
        "{text}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("secret.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the secret key is private");
    }
}
