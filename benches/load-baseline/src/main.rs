//! Baseline for the load benchmark (`benches/load.sh`): the least a submission endpoint can
//! do — parse the JSON body and insert one row into SQLite in WAL mode with
//! `synchronous=FULL` (Haven's durability) — so Haven's throughput is reported as a ratio of
//! what the machine can do, not as a number that means nothing on other hardware.
//!
//! Usage: `load-baseline ADDR DATABASE_FILE [full|normal]`
//!
//! `normal` runs the same insert with `synchronous=NORMAL` (a commit is durable once the WAL is
//! checkpointed, not at each commit): the naive insert most services ship with, which Haven
//! (still at `FULL`) is also compared against.
#![forbid(unsafe_code)]

use std::str::FromStr;

use axum::{Json, Router, extract::State, http::StatusCode, routing::post};
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8081".to_owned());
    let file = args.next().unwrap_or_else(|| "baseline.db".to_owned());
    let synchronous = match args.next().as_deref() {
        None | Some("full") => SqliteSynchronous::Full,
        Some("normal") => SqliteSynchronous::Normal,
        Some(other) => return Err(format!("durability must be full or normal, not {other}").into()),
    };
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{file}"))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(synchronous)
        .busy_timeout(std::time::Duration::from_secs(5));
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await?;
    sqlx::query("CREATE TABLE IF NOT EXISTS submissions (id TEXT PRIMARY KEY, body TEXT NOT NULL, created_at TEXT NOT NULL)")
        .execute(&pool)
        .await?;
    let app = Router::new()
        .route("/submit", post(submit))
        .with_state(pool);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("baseline listening on {addr} (synchronous={synchronous:?})");
    axum::serve(listener, app).await?;
    Ok(())
}

async fn submit(
    State(pool): State<SqlitePool>,
    Json(body): Json<serde_json::Value>,
) -> (StatusCode, Json<serde_json::Value>) {
    let id = format!("{:032x}", rand::random::<u128>());
    let result = sqlx::query(
        "INSERT INTO submissions (id, body, created_at) VALUES (?, ?, datetime('now'))",
    )
    .bind(&id)
    .bind(body.to_string())
    .execute(&pool)
    .await;
    match result {
        Ok(_) => (
            StatusCode::CREATED,
            Json(serde_json::json!({ "reference": id })),
        ),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(serde_json::json!({ "error": "insert failed" })),
        ),
    }
}
