//! Retention (issue 17): the closed cases the retention job weighs, legal holds
//! (`legal_holds`), and destroying a case's rows once its key is destroyed.
//!
//! Destruction is crypto-shredding first ([`Storage::destroy_case_key`]: every value sealed
//! under the case's key, in this database and every backup of it, stops opening), then
//! [`Storage::destroy_case_rows`] deletes every row keyed to the case in one transaction and
//! appends an audit entry that holds no content (the caller's keyed hash of the reference,
//! the rule, the day). The anonymous `outcome_counts` are not touched.

use chrono::{DateTime, NaiveDate, Utc};
use haven_core::statistics::DayCounts;
use sqlx::{AssertSqlSafe, Row, query};
use tracing::instrument;

use super::audit::{AuditEntry, append_in};
use super::{DatabaseKind, Storage, StorageError, parse_timestamp, timestamp};

/// A case in a closed state, as the retention job first sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionCandidate {
    pub id: String,
    pub reference: String,
    pub service: String,
    pub status: String,
    pub received_at: DateTime<Utc>,
    /// A legal hold is in place.
    pub held: bool,
    /// The time of its last move into its status (the closing transition), if any.
    pub closed_at: Option<DateTime<Utc>>,
    /// The id of that transition's chronology event (its sealed detail holds the decision;
    /// opened only when the schedule needs it: [`Storage::closing_decision`]).
    pub closing_event: Option<i64>,
    /// The casework closure: its outcome and when it was recorded.
    pub closure: Option<(String, DateTime<Utc>)>,
    /// The time of its last chronology event (when nothing else says when it closed).
    pub last_event_at: Option<DateTime<Utc>>,
}

/// A legal hold on a case.
#[derive(Clone, PartialEq, Eq)]
pub struct LegalHold {
    pub reason: String,
    /// `user:<id>` or `cli`.
    pub placed_by: String,
    pub placed_at: DateTime<Utc>,
}

impl std::fmt::Debug for LegalHold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LegalHold")
            .field("placed_by", &self.placed_by)
            .field("placed_at", &self.placed_at)
            .finish_non_exhaustive()
    }
}

/// The tables holding a case's rows, children before parents (PostgreSQL checks the
/// foreign keys): each deleted `WHERE referral_id = $1`. `public_attachment_chunks` and the
/// case's jobs are deleted first, by their own keys; `referrals` last. `email_intake`: the
/// email a case was converted from (its original is sealed under a key of its own, so the
/// row itself must go). The person index tables go with `referrals` (`ON DELETE CASCADE`);
/// `known_elsewhere` is deleted both ways (this case's alerts, and other cases' alerts
/// naming it) before them.
pub const CASE_TABLES: [&str; 20] = [
    "known_elsewhere",
    "email_intake",
    "subject_access_requests",
    "onward_exports",
    "onward_referrals",
    "referral_stages",
    "invitations",
    "plan_actions",
    "plan_reviews",
    "plan_goals",
    "case_meetings",
    "case_closures",
    "case_notes",
    "reporter_messages",
    "referral_required_actions",
    "referral_actions",
    "referral_events",
    "public_attachments",
    "legal_holds",
    "case_keys",
];

/// The tables destruction deletes from besides [`CASE_TABLES`] (the referral, its files'
/// chunks, its jobs, the person index, expired drafts; emails destroyed by the inbox schedule
/// are in `email_intake`, already a case table).
const ALSO_DELETED: [&str; 7] = [
    "public_attachment_chunks",
    "jobs",
    "person_records",
    "person_tokens",
    "person_links",
    "public_drafts",
    "referrals",
];

/// Every table destruction deletes from on PostgreSQL, vacuumed after a run
/// ([`Storage::checkpoint_after_destruction`]): the case tables, then the others.
pub fn vacuumed_tables() -> impl Iterator<Item = &'static str> {
    CASE_TABLES.into_iter().chain(ALSO_DELETED)
}

impl Storage {
    /// Every case whose status is one of `statuses` (the closed states of the loaded
    /// definitions), oldest first, with whether it is held.
    #[instrument(skip_all)]
    pub async fn retention_candidates(
        &self,
        statuses: &[String],
    ) -> Result<Vec<RetentionCandidate>, StorageError> {
        if statuses.is_empty() {
            return Ok(Vec::new());
        }
        let marks: Vec<String> = (1..=statuses.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT id, reference, service, status, received_at,
                    (SELECT COUNT(*) FROM legal_holds h WHERE h.referral_id = referrals.id)
                       AS holds,
                    (SELECT e.at FROM referral_events e WHERE e.referral_id = referrals.id
                       AND e.kind = 'transition' AND e.to_status = referrals.status
                       ORDER BY e.at DESC, e.id DESC LIMIT 1) AS closed_at,
                    (SELECT e.id FROM referral_events e WHERE e.referral_id = referrals.id
                       AND e.kind = 'transition' AND e.to_status = referrals.status
                       ORDER BY e.at DESC, e.id DESC LIMIT 1) AS closing_event,
                    (SELECT c.outcome FROM case_closures c WHERE c.referral_id = referrals.id)
                       AS closure_outcome,
                    (SELECT c.closed_at FROM case_closures c WHERE c.referral_id = referrals.id)
                       AS closure_at,
                    (SELECT MAX(e.at) FROM referral_events e WHERE e.referral_id = referrals.id)
                       AS last_event_at
             FROM referrals WHERE status IN ({}) ORDER BY referrals.received_at, referrals.id",
            marks.join(", ")
        );
        let mut q = query(AssertSqlSafe(sql));
        for status in statuses {
            q = q.bind(status);
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                Ok(RetentionCandidate {
                    id: row.try_get(0)?,
                    reference: row.try_get(1)?,
                    service: row.try_get(2)?,
                    status: row.try_get(3)?,
                    received_at: parse_timestamp(
                        "referrals.received_at",
                        &row.try_get::<String, _>(4)?,
                    )?,
                    held: row.try_get::<i64, _>(5)? > 0,
                    closed_at: row
                        .try_get::<Option<String>, _>(6)?
                        .map(|t| parse_timestamp("referral_events.at", &t))
                        .transpose()?,
                    closing_event: row.try_get(7)?,
                    closure: match (
                        row.try_get::<Option<String>, _>(8)?,
                        row.try_get::<Option<String>, _>(9)?,
                    ) {
                        (Some(outcome), Some(at)) => {
                            Some((outcome, parse_timestamp("case_closures.closed_at", &at)?))
                        }
                        _ => None,
                    },
                    last_event_at: row
                        .try_get::<Option<String>, _>(10)?
                        .map(|t| parse_timestamp("referral_events.at", &t))
                        .transpose()?,
                })
            })
            .collect()
    }

    /// The decision recorded on a case's closing transition (chronology event `event_id`):
    /// that one event's sealed detail opened, nothing else of the case.
    #[instrument(skip_all)]
    pub async fn closing_decision(
        &self,
        referral_id: &str,
        event_id: i64,
    ) -> Result<Option<String>, StorageError> {
        let Some(row) =
            query("SELECT detail FROM referral_events WHERE id = $1 AND referral_id = $2")
                .bind(event_id)
                .bind(referral_id)
                .fetch_optional(&self.pool)
                .await?
        else {
            return Ok(None);
        };
        let Some(stored) = row.try_get::<Option<Vec<u8>>, _>(0)? else {
            return Ok(None);
        };
        let case = self.case_key(referral_id).await?;
        let detail = self.open_json_in_case(
            case.as_ref(),
            "referral_events",
            "detail",
            &event_id.to_string(),
            &stored,
        )?;
        Ok(detail
            .get("decision")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned))
    }

    /// The legal hold on a case, if any.
    #[instrument(skip_all)]
    pub async fn legal_hold(&self, referral_id: &str) -> Result<Option<LegalHold>, StorageError> {
        let Some(row) =
            query("SELECT reason, placed_by, placed_at FROM legal_holds WHERE referral_id = $1")
                .bind(referral_id)
                .fetch_optional(&self.pool)
                .await?
        else {
            return Ok(None);
        };
        let case = self.case_key(referral_id).await?;
        Ok(Some(LegalHold {
            reason: self.open_text_in_case(
                case.as_ref(),
                "legal_holds",
                "reason",
                referral_id,
                &row.try_get::<Vec<u8>, _>(0)?,
            )?,
            placed_by: row.try_get(1)?,
            placed_at: parse_timestamp("legal_holds.placed_at", &row.try_get::<String, _>(2)?)?,
        }))
    }

    /// Places a legal hold on a case (the reason sealed under its key), replacing any hold
    /// already there; recorded in the chronology and audited `case.legal_hold_placed`.
    #[instrument(skip_all)]
    pub async fn place_legal_hold(
        &self,
        referral_id: &str,
        reason: &str,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let mut tx = self.begin_write().await?;
        let case = self.case_key_in(&mut tx, referral_id).await?;
        let sealed = self.seal_text_in_case(&case, "legal_holds", "reason", referral_id, reason)?;
        let now = timestamp(at);
        query(
            "INSERT INTO legal_holds (referral_id, reason, placed_by, placed_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $4, $4)
             ON CONFLICT (referral_id) DO UPDATE SET reason = $2, placed_by = $3, placed_at = $4,
                 updated_at = $4",
        )
        .bind(referral_id)
        .bind(sealed)
        .bind(actor)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        let event = super::casework::event(referral_id, at, actor, "legal_hold_placed");
        self.insert_event(&mut tx, &event).await?;
        let entry = AuditEntry::new(at, actor, "case.legal_hold_placed", "referral", referral_id);
        append_in(&mut tx, &self.audit, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Lifts a case's legal hold; returns whether there was one. Recorded in the chronology
    /// and audited `case.legal_hold_lifted`.
    #[instrument(skip_all)]
    pub async fn lift_legal_hold(
        &self,
        referral_id: &str,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let mut tx = self.begin_write().await?;
        let lifted = query("DELETE FROM legal_holds WHERE referral_id = $1")
            .bind(referral_id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        if lifted {
            let event = super::casework::event(referral_id, at, actor, "legal_hold_lifted");
            self.insert_event(&mut tx, &event).await?;
            let entry =
                AuditEntry::new(at, actor, "case.legal_hold_lifted", "referral", referral_id);
            append_in(&mut tx, &self.audit, &entry).await?;
        }
        tx.commit().await?;
        Ok(lifted)
    }

    /// The ids of jobs (any state) whose payload mentions any of `needles` (a case's id and
    /// reference): each payload is opened, so this reads the whole table once.
    #[instrument(skip_all)]
    pub async fn jobs_mentioning(&self, needles: &[&str]) -> Result<Vec<String>, StorageError> {
        let rows = query("SELECT id, payload FROM jobs")
            .fetch_all(&self.pool)
            .await?;
        let mut found = Vec::new();
        for row in rows {
            let id: String = row.try_get(0)?;
            let payload: Vec<u8> = row.try_get(1)?;
            // A payload that no longer opens names no one readable: leave it to the job.
            let Ok(value) = self.open_json("jobs", "payload", &id, &payload) else {
                continue;
            };
            let text = value.to_string();
            if needles.iter().any(|n| !n.is_empty() && text.contains(n)) {
                found.push(id);
            }
        }
        Ok(found)
    }

    /// Deletes every row of the case `referral_id` (see [`CASE_TABLES`]), the jobs `job_ids`
    /// and the referral itself, in one transaction, refusing a held case (`Ok(false)`), and
    /// appends `entry` (which must hold no content). `retired`: what the case added to its
    /// service's day of dashboard counts (`(service, day, counts)`, anonymous), added to
    /// `stats_retired` in the same transaction so the figures keep it. On SQLite the deleted
    /// content is zeroed (`secure_delete`, set on every connection). Destroy the case's key
    /// first.
    #[instrument(skip_all)]
    pub async fn destroy_case_rows(
        &self,
        referral_id: &str,
        job_ids: &[String],
        entry: &AuditEntry,
        retired: Option<(&str, NaiveDate, &DayCounts)>,
    ) -> Result<bool, StorageError> {
        // SQLite zeroes what is deleted (`secure_delete`, set on every connection).
        let mut tx = self.begin_write().await?;
        let held: i64 = query("SELECT COUNT(*) FROM legal_holds WHERE referral_id = $1")
            .bind(referral_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        if held > 0 {
            return Ok(false);
        }
        query(
            "DELETE FROM public_attachment_chunks WHERE attachment_id IN
                 (SELECT id FROM public_attachments WHERE referral_id = $1)",
        )
        .bind(referral_id)
        .execute(&mut *tx)
        .await?;
        for id in job_ids {
            query("DELETE FROM jobs WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        // Other cases' alerts naming this one (its own go with `CASE_TABLES`).
        query("DELETE FROM known_elsewhere WHERE other_referral_id = $1")
            .bind(referral_id)
            .execute(&mut *tx)
            .await?;
        for table in CASE_TABLES {
            let sql = format!("DELETE FROM {table} WHERE referral_id = $1");
            query(AssertSqlSafe(sql))
                .bind(referral_id)
                .execute(&mut *tx)
                .await?;
        }
        query("DELETE FROM referrals WHERE id = $1")
            .bind(referral_id)
            .execute(&mut *tx)
            .await?;
        if let Some((service, day, counts)) = retired {
            let day = day.format("%Y-%m-%d").to_string();
            for ((dimension, value), count) in counts {
                query(
                    "INSERT INTO stats_retired (service, day, dimension, value, count)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (service, day, dimension, value)
                     DO UPDATE SET count = stats_retired.count + excluded.count",
                )
                .bind(service)
                .bind(&day)
                .bind(dimension.as_str())
                .bind(value.as_str())
                .bind(*count)
                .execute(&mut *tx)
                .await?;
            }
        }
        append_in(&mut tx, &self.audit, entry).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// After destruction, so no older copy of deleted content is left in the database's own
    /// files. SQLite: moves the write-ahead log into the database file and empties it
    /// (deleted pages are already zeroed by `secure_delete`). PostgreSQL: a deleted row stays
    /// in its page as a dead tuple until VACUUM makes its space reusable, so every table
    /// destruction touches ([`vacuumed_tables`]) is vacuumed with its indexes, one statement at a time outside
    /// any transaction (VACUUM refuses to run inside one). A table that cannot be vacuumed
    /// (another VACUUM running, a role without the right) is logged, never a failed run: the
    /// case key is already destroyed, so what remains there no longer opens. Returns the
    /// tables vacuumed.
    #[instrument(skip_all)]
    pub async fn checkpoint_after_destruction(&self) -> Result<Vec<&'static str>, StorageError> {
        if self.kind == DatabaseKind::Sqlite {
            query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.pool)
                .await?;
            return Ok(Vec::new());
        }
        let mut done = Vec::new();
        for table in vacuumed_tables() {
            // Names are constants, never input. The simple query protocol: no statement
            // to prepare, no implicit transaction around it.
            // INDEX_CLEANUP ON: the index entries too, even when few rows died (VACUUM
            // otherwise may skip the indexes, leaving a destroyed reference in one).
            let sql = format!("VACUUM (INDEX_CLEANUP ON) {table}");
            match sqlx::raw_sql(AssertSqlSafe(sql)).execute(&self.pool).await {
                Ok(_) => done.push(table),
                Err(e) => tracing::warn!(table, error = %e, "VACUUM after destruction failed"),
            }
        }
        Ok(done)
    }
}
