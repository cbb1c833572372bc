//! Test harness: a fresh database per test on each engine, and a [`TestApp`] that drives the
//! router in-process (`tower::ServiceExt::oneshot`, no network).
//!
//! SQLite (a temp dir) always runs. PostgreSQL runs when `HAVEN_TEST_DATABASE_URL` is set to
//! an admin connection (`postgres://postgres@127.0.0.1/test`): each test gets its own
//! database, created from that connection and dropped afterwards.
#![allow(dead_code)] // Each test file uses a different part of the harness.

pub mod run;
pub mod scan;
pub mod staff;

use std::path::{Path, PathBuf};
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use haven::access::Role;
use haven::config::Settings;
use haven::crypto::keyring::KeyRing;
use haven::crypto::{self, SecretKey};
use haven::services::Registry;
use haven::storage::Storage;
use haven::storage::tokens::NewApiToken;
use haven::storage::users::NewStaffUser;
use haven::web::{AppState, router};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sqlx::Connection;
use tower::ServiceExt;

/// Which engine a test body is running on (for assertion messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A fresh, empty database; dropped (PostgreSQL) or deleted (SQLite) with this value.
pub struct TestDb {
    pub engine: Engine,
    pub url: String,
    /// The SQLite file, to check what reaches the disk.
    pub sqlite_file: Option<PathBuf>,
    /// Holds the temp dir (SQLite database, data dir) alive.
    pub dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs inside the test's runtime, which cannot be blocked on; a short-lived
        // thread with its own runtime drops the database.
        let dropper = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .execute(&mut conn)
                        .await;
                    let _ = conn.close().await;
                }
            });
        });
        let _ = dropper.join();
    }
}

impl TestDb {
    /// The server secret key of this test: `secret.key` in its temp dir (the CLI run by
    /// `common::run` reads the same file), written as `42…42` when missing.
    pub fn secret_key(&self) -> SecretKey {
        let path = self.dir.path().join(haven::crypto::SECRET_KEY_FILE);
        if !path.exists() {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            use std::io::Write as _;
            let mut file = options.open(&path).unwrap();
            writeln!(file, "{}", "42".repeat(32)).unwrap();
        }
        SecretKey::load_or_create(None, self.dir.path()).unwrap()
    }

    /// Storage on this database with its master keys and secret key, migrated, as another
    /// server (or a command) on the same database would open it.
    pub async fn open_storage(&self, max_connections: u32) -> Storage {
        let storage = Storage::connect(
            &self.url,
            max_connections,
            self.master_keys(),
            &self.secret_key(),
        )
        .await
        .unwrap();
        storage.migrate().await.unwrap();
        storage
    }

    /// The master key ring of this test (`master.keys` in its temp dir, created on first
    /// use), re-checked on every seal so a rotation is seen at once.
    pub fn master_keys(&self) -> KeyRing {
        KeyRing::load_or_create(None, self.dir.path())
            .unwrap()
            .with_check_interval(std::time::Duration::ZERO)
    }
}

/// The fixture definitions in `tests/fixtures`.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn fixture_registry() -> Registry {
    let demo = include_str!("../fixtures/demo.toml");
    let other = include_str!("../fixtures/other.toml");
    Registry::from_sources([("demo.toml", demo), ("other.toml", other)]).unwrap()
}

/// A fresh SQLite database in a temp dir.
pub fn sqlite_db() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("haven.db");
    TestDb {
        engine: Engine::Sqlite,
        url: haven::config::sqlite_url(&file),
        sqlite_file: Some(file),
        dir,
        postgres: None,
    }
}

/// A fresh PostgreSQL database, when `HAVEN_TEST_DATABASE_URL` is set.
pub async fn postgres_db() -> Option<TestDb> {
    let Ok(admin_url) = std::env::var("HAVEN_TEST_DATABASE_URL") else {
        static SKIPPED: Once = Once::new();
        SKIPPED.call_once(|| {
            eprintln!("PostgreSQL tests skipped: HAVEN_TEST_DATABASE_URL not set");
        });
        return None;
    };
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "haven_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        crypto::random_symbols(6).to_ascii_lowercase()
    );
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .expect("HAVEN_TEST_DATABASE_URL must be an admin connection that can CREATE DATABASE");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.unwrap();
    Some(TestDb {
        engine: Engine::Postgres,
        url: with_database(&admin_url, &name),
        sqlite_file: None,
        dir: tempfile::tempdir().unwrap(),
        postgres: Some((admin_url, name)),
    })
}

/// `postgres://u@h/old?x` → `postgres://u@h/new?x`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{name}?{q}"),
        None => format!("{host_part}/{name}"),
    }
}

/// A fresh database on each engine in use: SQLite always, PostgreSQL when configured.
pub async fn each_database() -> Vec<TestDb> {
    let mut dbs = vec![sqlite_db()];
    dbs.extend(postgres_db().await);
    dbs
}

/// Builds a [`TestApp`].
#[derive(Clone)]
pub struct TestAppBuilder {
    settings: Settings,
    builtins: bool,
    /// Definitions served beside the fixtures: `(file name, TOML)`.
    extra: Vec<(String, String)>,
}

impl Default for TestAppBuilder {
    fn default() -> Self {
        Self {
            settings: Settings {
                // Tests share one unknown client address; only the rate-limit test limits.
                submissions_per_window: 10_000,
                uploads_per_window: 10_000,
                ..Settings::default()
            },
            builtins: false,
            extra: Vec::new(),
        }
    }
}

impl TestAppBuilder {
    pub fn rate_limit(mut self, per_window: u32) -> Self {
        self.settings.submissions_per_window = per_window;
        self
    }

    /// The address the settings say the server listens on (it decides cookies' `Secure`
    /// when `cookie_secure` is not set; nothing listens in these tests).
    pub fn bind(mut self, address: std::net::SocketAddr) -> Self {
        self.settings.bind = address;
        self
    }

    /// Settings `cookie_secure`.
    pub fn cookie_secure(mut self, secure: Option<bool>) -> Self {
        self.settings.cookie_secure = secure;
        self
    }

    /// Settings `metrics_token`.
    pub fn metrics_token(mut self, token: &str) -> Self {
        self.settings.metrics_token = Some(token.to_owned());
        self
    }

    /// Anonymity checks allowed per client address per window.
    pub fn checks_limit(mut self, per_window: u32) -> Self {
        self.settings.checks_per_window = per_window;
        self
    }

    /// Serve this definition too, beside the test fixtures (a test's own service).
    #[allow(dead_code)]
    pub fn service(mut self, file: &str, toml: &str) -> Self {
        self.extra.push((file.to_owned(), toml.to_owned()));
        self
    }

    /// Serve the built-in services (services/*.toml) instead of the test fixtures.
    pub fn builtins(mut self) -> Self {
        self.builtins = true;
        self
    }

    /// Upload limits: files and bytes per client address per window, bytes per draft.
    pub fn upload_limits(mut self, files: u32, bytes: u64, per_draft: u64) -> Self {
        self.settings.uploads_per_window = files;
        self.settings.upload_bytes_per_window = bytes;
        self.settings.upload_bytes_per_draft = per_draft;
        self
    }

    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.settings.body_limit_bytes = bytes;
        self
    }

    /// Take the client address from `X-Forwarded-For` (as behind a reverse proxy).
    pub fn trust_forwarded_for(mut self) -> Self {
        self.settings.trust_forwarded_for = true;
        self
    }

    /// An app on a migrated `db`.
    pub async fn build(&self, db: TestDb) -> TestApp {
        let key = db.secret_key();
        let storage = db.open_storage(5).await;
        let registry = if self.builtins {
            Registry::load(None).unwrap()
        } else if self.extra.is_empty() {
            fixture_registry()
        } else {
            let mut sources: Vec<(&str, &str)> = vec![
                ("demo.toml", include_str!("../fixtures/demo.toml")),
                ("other.toml", include_str!("../fixtures/other.toml")),
            ];
            sources.extend(self.extra.iter().map(|(f, t)| (f.as_str(), t.as_str())));
            Registry::from_sources(sources).unwrap()
        };
        let mut settings = self.settings.clone();
        settings.data_dir = db.dir.path().to_owned();
        // As `haven serve` does at start-up: the queue orders by the definitions' bands and
        // leaves out their terminal states.
        haven::cases::queue::sync_queue_rules(&storage, &registry, chrono::Utc::now())
            .await
            .unwrap();
        let state = AppState::new(storage.clone(), registry.clone(), key.clone(), &settings);
        TestApp {
            router: router(state.clone()),
            state,
            storage,
            key,
            registry,
            engine: db.engine,
            db,
        }
    }

    /// Runs `body` once per engine, each time on a fresh database.
    pub async fn each_engine<F>(&self, body: F)
    where
        F: AsyncFn(&TestApp),
    {
        for db in each_database().await {
            let app = self.build(db).await;
            body(&app).await;
            // Close every connection before the temp dir goes: SQLite keeps a per-process
            // table of open files by inode, and a deleted-while-open file whose inode is
            // reused by the next test's database makes that database fail to open.
            app.storage.close().await;
        }
    }
}

impl TestApp {
    /// A second server on this app's database, as another `haven serve` sharing it would
    /// be: its own connections, in-memory state (rate limits, clock) and data dir, the same
    /// secret key and master keys.
    pub async fn second_server(&self) -> TestApp {
        let db = TestDb {
            engine: self.db.engine,
            url: self.db.url.clone(),
            sqlite_file: self.db.sqlite_file.clone(),
            dir: tempfile::tempdir().unwrap(),
            // Not dropped by this copy: the first app owns the database.
            postgres: None,
        };
        let storage = self.db.open_storage(5).await;
        let mut settings = Settings {
            submissions_per_window: 10_000,
            uploads_per_window: 10_000,
            ..Settings::default()
        };
        settings.data_dir = db.dir.path().to_owned();
        settings.trust_forwarded_for = self.state.options.trust_forwarded_for;
        let state = AppState::new(
            storage.clone(),
            self.registry.clone(),
            self.key.clone(),
            &settings,
        );
        TestApp {
            router: router(state.clone()),
            state,
            storage,
            key: self.key.clone(),
            registry: self.registry.clone(),
            engine: self.engine,
            db,
        }
    }
}

/// Runs `body` once per engine with a default app.
pub async fn each_engine<F>(body: F)
where
    F: AsyncFn(&TestApp),
{
    TestAppBuilder::default().each_engine(body).await;
}

/// The application under test, with direct access to its storage.
pub struct TestApp {
    pub router: Router,
    /// The state behind `router`, to build routers of test-only routes.
    pub state: AppState,
    pub storage: Storage,
    pub key: SecretKey,
    pub registry: Registry,
    pub engine: Engine,
    pub db: TestDb,
}

/// A response, fully read.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl TestResponse {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `field` names of a contract error.
    pub fn error_fields(&self) -> Vec<String> {
        self.json()["error"]["fields"]
            .as_array()
            .map(|fields| {
                fields
                    .iter()
                    .filter_map(|f| f["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The error `code` of a contract error.
    pub fn error_code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

impl TestApp {
    /// Submits through the API (`POST /api/v1/submissions`, expecting 201); the reference.
    pub async fn submit(&self, body: &Value) -> String {
        let response = self.post_json("/api/v1/submissions", body).await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
        response.json()["reference"].as_str().unwrap().to_owned()
    }

    /// The stored id of the case with this reference.
    pub async fn id_of(&self, reference: &str) -> String {
        self.storage
            .find_referral(reference)
            .await
            .unwrap()
            .unwrap()
            .id
    }
}

impl TestApp {
    pub async fn request(&self, request: Request<Body>) -> TestResponse {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        TestResponse {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.request(Request::get(path).body(Body::empty()).unwrap())
            .await
    }

    pub async fn get_with_token(&self, path: &str, token: &str) -> TestResponse {
        self.request(
            Request::get(path)
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    /// Sends `body` as-is with the given content type.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<Body>,
    ) -> TestResponse {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(ct) = content_type {
            request = request.header(header::CONTENT_TYPE, ct);
        }
        self.request(request.body(body.into()).unwrap()).await
    }

    /// POSTs `body` as JSON. A submission naming the placeholder file ids of
    /// `services/samples/secos-referral.json` gets real uploads in their place first
    /// (`POST /api/v1/attachments`), as a client does: a submission may only name files it
    /// uploaded. (Send with [`TestApp::send`] to post the placeholders as they are.)
    pub async fn post_json(&self, path: &str, body: &Value) -> TestResponse {
        let mut body = body.clone();
        if path == "/api/v1/submissions" {
            self.upload_sample_files(&mut body).await;
        }
        self.send(
            Method::POST,
            path,
            Some("application/json"),
            body.to_string(),
        )
        .await
    }

    /// Replaces the SECOS sample's placeholder attachment ids with files uploaded now.
    pub async fn upload_sample_files(&self, body: &mut Value) {
        let service = body["service"].as_str().unwrap_or_default().to_owned();
        for (key, placeholder) in SAMPLE_FILES {
            // (`pointer_mut`, not indexing: indexing a missing key would add it.)
            let Some(answers) = body
                .pointer_mut("/answers/assessments")
                .and_then(Value::as_object_mut)
            else {
                return;
            };
            if answers.get(key).and_then(Value::as_str) != Some(placeholder) {
                continue;
            }
            let id = self
                .upload(
                    &service,
                    &format!("assessments.{key}"),
                    "sample.pdf",
                    SAMPLE_PDF,
                )
                .await;
            answers.insert(key.to_owned(), Value::String(id));
        }
    }

    /// Uploads `content` for `question` of `service` through `POST /api/v1/attachments`;
    /// the attachment id.
    pub async fn upload(
        &self,
        service: &str,
        question: &str,
        name: &str,
        content: &[u8],
    ) -> String {
        let response = self
            .post_attachment(
                &[("service", service), ("question", question)],
                Some((name, content)),
            )
            .await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
        response.json()["id"].as_str().unwrap().to_owned()
    }

    /// `POST /api/v1/attachments` with these text fields, then the file part `file`.
    pub async fn post_attachment(
        &self,
        fields: &[(&str, &str)],
        file: Option<(&str, &[u8])>,
    ) -> TestResponse {
        let boundary = "----haven-test-upload-4fW9kq";
        let mut body: Vec<u8> = Vec::new();
        for (name, value) in fields {
            body.extend(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        if let Some((name, content)) = file {
            body.extend(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
                    .as_bytes(),
            );
            body.extend(content);
            body.extend(b"\r\n");
        }
        body.extend(format!("--{boundary}--\r\n").as_bytes());
        self.send(
            Method::POST,
            "/api/v1/attachments",
            Some(&format!("multipart/form-data; boundary={boundary}")),
            body,
        )
        .await
    }

    /// Submits a valid demo referral; returns `(reference, receipt_code)`.
    pub async fn submit_demo(&self) -> (String, String) {
        let response = self
            .post_json("/api/v1/submissions", &valid_submission())
            .await;
        assert_eq!(
            response.status,
            StatusCode::CREATED,
            "{:?}: {}",
            self.engine,
            response.text()
        );
        let body = response.json();
        (
            body["reference"].as_str().unwrap().to_owned(),
            body["receipt_code"].as_str().unwrap().to_owned(),
        )
    }

    /// Creates a staff account and an API token; returns `(user id, token)`.
    pub async fn staff(&self, role: Role, team: Option<&str>) -> (String, String) {
        let id = crypto::new_id();
        let email = format!("{}@example.org", crypto::random_symbols(8).to_lowercase());
        self.storage
            .create_user(&NewStaffUser {
                id: id.clone(),
                email: &email,
                role,
                team,
                password_hash: "not-a-real-hash".to_owned(),
                actor: "test",
            })
            .await
            .unwrap();
        let token = crypto::new_api_token();
        self.storage
            .create_token(&NewApiToken {
                id: crypto::new_id(),
                user_id: &id,
                name: "test",
                token_hash: crypto::token_hash(&token),
                actor: "test",
            })
            .await
            .unwrap();
        (id, token)
    }
}

/// The placeholder file ids of `services/samples/secos-referral.json`, by answer key.
pub const SAMPLE_FILES: [(&str, &str); 2] = [
    ("risk_assessment_tool", "att_0123456789abcdef"),
    ("assessment_document", "att_fedcba9876543210"),
];

/// The smallest file sniffed as a PDF.
pub const SAMPLE_PDF: &[u8] = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";

/// A valid submission to the demo service's public stage.
pub fn valid_submission() -> Value {
    json!({
        "service": "demo",
        "stage": "referral",
        "audience": "professional",
        "answers": {
            "young_person": { "name": "Alex Example", "date_of_birth": "2011-04-27", "age": 14 },
            "concerns": ["online_contact"],
            "immediate_danger": false,
            "details": "Messages from an adult asking to meet."
        }
    })
}

/// A sample answers document from `services/samples/NAME.json`.
pub fn sample(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../services/samples")
        .join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

impl TestApp {
    /// POSTs `body` as JSON with a bearer token.
    pub async fn post_with_token(&self, path: &str, token: &str, body: &Value) -> TestResponse {
        self.request(
            Request::post(path)
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await
    }
}
