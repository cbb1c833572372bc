//! What an attacker with a copy of the database and the data dir would see: every byte of
//! every file under the data dir (the SQLite files, the outbox, anything else written
//! there), every row of every PostgreSQL table as text, and the encodings in which a secret
//! could hide there.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use sqlx::Row;

use super::{Engine, TestApp};

/// Everything persisted so far: every file under the data dir, recursively (for SQLite the
/// raw database files, so free pages, the WAL and index pages count too), and on PostgreSQL
/// `row_to_json` of every row of every table in the schema.
pub async fn persisted(app: &TestApp) -> Vec<u8> {
    let mut bytes = data_dir_files(app.db.dir.path());
    if app.engine == Engine::Postgres {
        bytes.extend(postgres_rows(app).await);
    }
    bytes
}

/// Every file under `dir`, recursively, concatenated (each followed by a newline).
pub fn data_dir_files(dir: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(next) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&next) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => pending.push(path),
                Ok(kind) if kind.is_file() => {
                    if let Ok(content) = std::fs::read(&path) {
                        bytes.extend_from_slice(&content);
                        bytes.push(b'\n');
                    }
                }
                _ => {}
            }
        }
    }
    bytes
}

/// The SQLite database file and its `-wal` / `-shm` companions, concatenated.
pub fn sqlite_files(app: &TestApp) -> Vec<u8> {
    let file = app
        .db
        .sqlite_file
        .as_ref()
        .expect("an SQLite test database");
    let mut bytes = Vec::new();
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let path = format!("{}{suffix}", file.display());
        if let Ok(content) = std::fs::read(&path) {
            bytes.extend_from_slice(&content);
        }
    }
    bytes
}

/// Moves the SQLite WAL into the database file (and truncates the WAL).
pub async fn checkpoint(app: &TestApp) {
    if app.engine == Engine::Sqlite {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(app.storage.pool())
            .await
            .unwrap();
    }
}

async fn postgres_rows(app: &TestApp) -> Vec<u8> {
    let tables = sqlx::query(
        "SELECT CAST(table_name AS TEXT) FROM information_schema.tables
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
    )
    .fetch_all(app.storage.pool())
    .await
    .unwrap();
    assert!(tables.len() > 3, "the schema's tables were listed");
    let mut bytes = Vec::new();
    for table in tables {
        let name: String = table.get(0);
        let sql = format!("SELECT CAST(row_to_json(t) AS TEXT) FROM \"{name}\" t");
        for row in sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(app.storage.pool())
            .await
            .unwrap()
        {
            let text: String = row.get(0);
            bytes.extend_from_slice(text.as_bytes());
            bytes.push(b'\n');
        }
    }
    bytes
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// `secret` as it could appear on disk: as written, lower and upper case, in UTF-8,
/// UTF-16 (both byte orders), hex, and inside base64 of any text containing it (each of the
/// three alignments, standard and URL-safe alphabets). Each with a label for messages.
pub fn encodings(secret: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for text in [
        secret.to_owned(),
        secret.to_lowercase(),
        secret.to_uppercase(),
    ] {
        out.push((format!("UTF-8 {text:?}"), text.as_bytes().to_vec()));
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        out.push((format!("UTF-16LE {text:?}"), le));
        out.push((format!("UTF-16BE {text:?}"), be));
        out.push((format!("hex {text:?}"), hex::encode(&text).into_bytes()));
        for skip in 0..3 {
            // The base64 characters fixed by the secret alone when it starts `skip` bytes
            // before a 3-byte boundary of the surrounding text.
            let aligned = &text.as_bytes()[(3 - skip) % 3..];
            let whole = &aligned[..aligned.len() / 3 * 3];
            for (alphabet, engine) in [("base64", &STANDARD), ("base64url", &URL_SAFE)] {
                let encoded = engine.encode(whole);
                out.push((format!("{alphabet}@{skip} {text:?}"), encoded.into_bytes()));
            }
        }
    }
    out
}

/// Panics naming every encoding of `secret` found in `haystack`.
pub fn assert_absent(haystack: &[u8], secret: &str, place: &str) {
    let found: Vec<String> = encodings(secret)
        .into_iter()
        .filter(|(_, bytes)| contains(haystack, bytes))
        .map(|(label, _)| label)
        .collect();
    assert!(found.is_empty(), "{place} holds {found:?}");
}
