//! Both engines' schemas compared: a fresh SQLite and a fresh PostgreSQL database, each
//! migrated, must have the same tables, the same columns (names, a common type family and
//! nullability), the same primary keys and unique column sets, and the same indexes (names,
//! columns, uniqueness). A difference fails with a readable diff naming each line that only
//! one engine has. The PostgreSQL half is skipped when `HAVEN_TEST_DATABASE_URL` is unset.

use crate::common;

use std::collections::BTreeSet;

use haven::storage::Storage;
use sqlx::Row;

/// A column type as a family both engines share.
fn family(declared: &str) -> String {
    let t = declared.to_ascii_lowercase();
    let family = if t.contains("int") {
        "integer"
    } else if t.contains("char") || t.contains("text") || t.contains("clob") {
        "text"
    } else if t.contains("real") || t.contains("double") || t.contains("float") {
        "real"
    } else if t.contains("numeric") || t.contains("decimal") {
        "numeric"
    } else if t.contains("blob") || t.contains("bytea") {
        "blob"
    } else if t.contains("bool") {
        "boolean"
    } else {
        return format!("other({t})");
    };
    family.to_owned()
}

async fn strings(storage: &Storage, sql: &str, bind: Option<&str>) -> Vec<sqlx::any::AnyRow> {
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
    if let Some(value) = bind {
        q = q.bind(value.to_owned());
    }
    q.fetch_all(storage.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The SQLite schema as comparable lines.
async fn sqlite_schema(storage: &Storage) -> BTreeSet<String> {
    let mut lines = BTreeSet::new();
    let tables = strings(
        storage,
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%' ORDER BY name",
        None,
    )
    .await;
    for table in tables {
        let table: String = table.get(0);
        lines.insert(format!("table {table}"));
        let columns = strings(
            storage,
            "SELECT name, type, \"notnull\", pk FROM pragma_table_xinfo($1) ORDER BY cid",
            Some(&table),
        )
        .await;
        let mut pk: Vec<(i64, String)> = Vec::new();
        for column in columns {
            let name: String = column.get(0);
            let declared: String = column.get(1);
            let not_null = column.get::<i64, _>(2) != 0 || column.get::<i64, _>(3) > 0;
            if column.get::<i64, _>(3) > 0 {
                pk.push((column.get(3), name.clone()));
            }
            lines.insert(format!(
                "column {table}.{name} {}{}",
                family(&declared),
                if not_null { " not null" } else { "" }
            ));
        }
        pk.sort();
        if !pk.is_empty() {
            let cols: Vec<String> = pk.into_iter().map(|(_, n)| n).collect();
            lines.insert(format!("primary key {table} ({})", cols.join(", ")));
        }
        let indexes = strings(
            storage,
            "SELECT name, \"unique\", origin FROM pragma_index_list($1)",
            Some(&table),
        )
        .await;
        for index in indexes {
            let name: String = index.get(0);
            let unique = index.get::<i64, _>(1) != 0;
            let origin: String = index.get(2);
            let cols = strings(
                storage,
                "SELECT COALESCE(name, '<expression>') FROM pragma_index_info($1) ORDER BY seqno",
                Some(&name),
            )
            .await;
            let cols: Vec<String> = cols.iter().map(|c| c.get::<String, _>(0)).collect();
            match origin.as_str() {
                // A UNIQUE constraint: engines name its index differently, so compare columns.
                "u" => {
                    lines.insert(format!("unique {table} ({})", cols.join(", ")));
                }
                "pk" => {}
                _ => {
                    lines.insert(format!(
                        "index {name} on {table} ({}){}",
                        cols.join(", "),
                        if unique { " unique" } else { "" }
                    ));
                }
            }
        }
    }
    lines
}

/// The PostgreSQL schema as comparable lines.
async fn postgres_schema(storage: &Storage) -> BTreeSet<String> {
    let mut lines = BTreeSet::new();
    let tables = strings(
        storage,
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
         AND table_name NOT LIKE '\\_sqlx%' ORDER BY 1",
        None,
    )
    .await;
    for table in tables {
        let table: String = table.get(0);
        lines.insert(format!("table {table}"));
        let columns = strings(
            storage,
            "SELECT column_name::text, data_type::text, is_nullable::text \
             FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1",
            Some(&table),
        )
        .await;
        for column in columns {
            let name: String = column.get(0);
            let declared: String = column.get(1);
            let nullable: String = column.get(2);
            lines.insert(format!(
                "column {table}.{name} {}{}",
                family(&declared),
                if nullable == "NO" { " not null" } else { "" }
            ));
        }
        let indexes = strings(
            storage,
            "SELECT i.relname::text, x.indisprimary::text, x.indisunique::text, \
                    (EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid))::text, \
                    COALESCE((SELECT string_agg(COALESCE(a.attname::text, '<expression>'), ', ' ORDER BY k.n) \
                     FROM unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, n) \
                     LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum \
                       AND k.attnum <> 0), '') \
             FROM pg_index x \
             JOIN pg_class i ON i.oid = x.indexrelid \
             JOIN pg_class t ON t.oid = x.indrelid \
             JOIN pg_namespace ns ON ns.oid = t.relnamespace \
             WHERE ns.nspname = current_schema() AND t.relname = $1",
            Some(&table),
        )
        .await;
        for index in indexes {
            let name: String = index.get(0);
            let primary = index.get::<String, _>(1) == "true";
            let unique = index.get::<String, _>(2) == "true";
            let constraint = index.get::<String, _>(3) == "true";
            let cols: String = index.get(4);
            if primary {
                lines.insert(format!("primary key {table} ({cols})"));
            } else if constraint {
                lines.insert(format!("unique {table} ({cols})"));
            } else {
                lines.insert(format!(
                    "index {name} on {table} ({cols}){}",
                    if unique { " unique" } else { "" }
                ));
            }
        }
    }
    lines
}

#[tokio::test]
async fn sqlite_and_postgres_migrate_to_the_same_schema() {
    let sqlite_db = common::sqlite_db();
    let sqlite = sqlite_schema(&sqlite_db.open_storage(1).await).await;
    assert!(sqlite.contains("table referrals"), "{sqlite:#?}");
    // The comparison reads what it should: columns, generated ones, keys and indexes.
    for line in [
        "column referrals.band_rank integer not null",
        "column referrals.queue_due text",
        "primary key referral_counts (team, service, status, band, urgent, news, assignee, shard)",
        "unique referrals (reference)",
        "index referrals_queue_team_idx on referrals (team, urgent, queue_news, band_rank, queue_due, received_at, reference, service, status, queue_band)",
    ] {
        assert!(sqlite.contains(line), "{line} missing from {sqlite:#?}");
    }
    let Some(postgres_db) = common::postgres_db().await else {
        return;
    };
    let postgres = postgres_schema(&postgres_db.open_storage(1).await).await;
    eprintln!(
        "compared {} schema lines (SQLite) with {} (PostgreSQL)",
        sqlite.len(),
        postgres.len()
    );
    let only_sqlite: Vec<&String> = sqlite.difference(&postgres).collect();
    let only_postgres: Vec<&String> = postgres.difference(&sqlite).collect();
    if !only_sqlite.is_empty() || !only_postgres.is_empty() {
        let mut diff = String::from("the engines' schemas differ after migrating:\n");
        for line in &only_sqlite {
            diff.push_str(&format!("  only in SQLite:     {line}\n"));
        }
        for line in &only_postgres {
            diff.push_str(&format!("  only in PostgreSQL: {line}\n"));
        }
        panic!("{diff}");
    }
}
