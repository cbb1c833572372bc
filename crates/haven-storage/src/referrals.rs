//! Referrals and their chronology (`referrals`, `referral_events`).

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{Any, AssertSqlSafe, Row, Transaction, query};
use tracing::instrument;

use super::audit::{AuditChain, AuditEntry, append_many_in};
use super::drafts::move_draft_files;
use super::vault::{CaseKeyRow, insert_case_keys};
use super::{Storage, StorageError, flag, parse_timestamp, timestamp};
use crate::config::DatabaseKind;
use crate::crypto::sealed::CaseKey;

/// A referral to be stored. Everything the reporter wrote is in `answers`.
#[derive(Clone)]
pub struct NewReferral<'a> {
    pub id: String,
    pub reference: String,
    pub service: &'a str,
    pub stage: &'a str,
    pub audience: &'a str,
    pub status: &'a str,
    pub team: &'a str,
    pub received_at: DateTime<Utc>,
    pub urgent: bool,
    pub suggested_band: Option<&'a str>,
    pub in_scope: Option<bool>,
    pub eligible: Option<bool>,
    pub rules_version: Option<&'a str>,
    pub due_by: Option<NaiveDate>,
    pub answers: &'a Value,
    /// The young person summary (`haven_core::young_person::PersonSummary`, as JSON) the
    /// queue opens instead of the answers; sealed under the case key like them. `None`
    /// leaves it to be filled in at start-up (`Storage::backfill_person_summaries`).
    pub person: Option<&'a Value>,
    pub screening: Option<&'a Value>,
    /// The `screening_rules` row of the definition that computed `screening`
    /// ([`Storage::screening_rules_id`]): when reading the referral rebuilds `screening`
    /// exactly from it (checked here), only this id is stored, not the sealed result.
    pub screening_rules: Option<i64>,
    /// HMAC of the receipt code (never the code).
    pub receipt_hash: String,
    /// Who submitted it, for the chronology and audit log (`public`, `user:<id>`).
    pub actor: &'a str,
    /// A public form's draft and the uploads of it to keep: they move to the referral (the
    /// draft's other uploads are deleted and its resume code cleared) in the same
    /// transaction.
    pub files: Option<(&'a str, &'a [String])>,
    /// Files uploaded through the API (`POST /api/v1/attachments`) that the answers name:
    /// they move to the referral in the same transaction.
    pub uploads: &'a [String],
    /// An email to queue with the referral, in the same transaction (the duty address's
    /// notice of an urgent referral): a mail job payload, sealed like every job's.
    pub alert: Option<&'a Value>,
    /// The young person as the definition's `[people]` section reads them: indexed (blind
    /// tokens, sealed identity) in the same transaction. `None` for a service without one.
    pub identity: Option<&'a haven_core::people::Identity>,
    /// The concern's option keys for the dashboards, in the clear
    /// (`haven_core::statistics::concern_keys`: a closed list, never free text).
    pub concerns: Option<&'a str>,
}

// Hand-written so answers and the receipt hash never reach a log line.
impl std::fmt::Debug for NewReferral<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewReferral")
            .field("reference", &self.reference)
            .field("service", &self.service)
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}

/// A stored referral.
#[derive(Clone)]
pub struct Referral {
    pub id: String,
    pub reference: String,
    pub service: String,
    pub stage: String,
    pub audience: String,
    pub status: String,
    pub team: String,
    pub received_at: DateTime<Utc>,
    pub urgent: bool,
    pub suggested_band: Option<String>,
    pub confirmed_band: Option<String>,
    pub in_scope: Option<bool>,
    pub eligible: Option<bool>,
    pub rules_version: Option<String>,
    pub due_by: Option<NaiveDate>,
    pub assignee: Option<String>,
    pub answers: Value,
    pub screening: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for Referral {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Referral")
            .field("reference", &self.reference)
            .field("service", &self.service)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// One entry of a referral's chronology.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralEvent {
    /// `received`, `transition`, …
    pub kind: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
}

/// The columns [`referral_from_row`] reads, in its order. A macro so queries stay
/// `&'static str` literals (`concat!`), as the Any driver wants.
macro_rules! referral_columns {
    () => {
        "id, reference, service, stage, audience, status, team, received_at, urgent, \
         suggested_band, confirmed_band, in_scope, eligible, rules_version, due_by, assignee, \
         answers, screening, created_at, updated_at, screening_rules_id"
    };
}

impl Storage {
    /// The row of a new referral, its answers and screening sealed under the new case's own
    /// key (before any transaction: plaintext never reaches the database, and no lock is
    /// held while sealing), and that case key, for sealing more of the case's values.
    pub(crate) fn sealed_row(
        &self,
        new: &NewReferral<'_>,
    ) -> Result<(ReferralRow, CaseKey), StorageError> {
        let (case, case_key) = self.new_case_key(&new.id)?;
        // Compact screening (`screening.rs`): only the rules' id when they rebuild it exactly.
        let screening_rules_id = new.screening_rules.filter(|&rules| {
            new.screening.is_some_and(|shown| {
                self.rebuilds_exactly(rules, new.answers, new.received_at, shown)
            })
        });
        let person_index = match new.identity {
            Some(identity) => self.person_row(&case, &new.id, identity)?,
            None => None,
        };
        let row = ReferralRow {
            person_index,
            concerns: new.concerns.map(str::to_owned),
            answers: self.seal_json_in_case(&case, "referrals", "answers", &new.id, new.answers)?,
            person: new
                .person
                .map(|p| self.seal_json_in_case(&case, "referrals", "person", &new.id, p))
                .transpose()?,
            screening: new
                .screening
                .filter(|_| screening_rules_id.is_none())
                .map(|s| self.seal_json_in_case(&case, "referrals", "screening", &new.id, s))
                .transpose()?,
            screening_rules_id,
            case_key,
            id: new.id.clone(),
            reference: new.reference.clone(),
            service: new.service.to_owned(),
            stage: new.stage.to_owned(),
            audience: new.audience.to_owned(),
            status: new.status.to_owned(),
            team: new.team.to_owned(),
            received_at: new.received_at,
            urgent: new.urgent,
            suggested_band: new.suggested_band.map(str::to_owned),
            in_scope: new.in_scope,
            eligible: new.eligible,
            rules_version: new.rules_version.map(str::to_owned),
            due_by: new.due_by,
            receipt_hash: new.receipt_hash.clone(),
            actor: new.actor.to_owned(),
            files: new
                .files
                .map(|(draft_id, keep)| (draft_id.to_owned(), keep.to_vec())),
            uploads: new.uploads.to_vec(),
            alert: new
                .alert
                .map(|payload| -> Result<SealedJob, StorageError> {
                    let id = crate::crypto::new_id();
                    let payload = self.seal_json("jobs", "payload", &id, payload)?;
                    Ok(SealedJob { id, payload })
                })
                .transpose()?,
        };
        Ok((row, case))
    }

    /// Stores a new referral with its first chronology event (`received`) and an audit entry
    /// (`submission.created`), all in one transaction. On SQLite the transaction may hold
    /// other submissions too ([`super::group_commit`]); either way this returns only once the
    /// referral is committed.
    ///
    /// Returns [`StorageError::Conflict`] when the reference (or id, or receipt hash) is
    /// already taken; the caller draws new ones and retries.
    #[instrument(skip_all)]
    pub async fn create_referral(&self, new: &NewReferral<'_>) -> Result<(), StorageError> {
        let (row, _) = self.sealed_row(new)?;
        let has_files = row.files.is_some() || !row.uploads.is_empty();
        match &self.group_commit {
            Some(group) => group.write(row).await?,
            // PostgreSQL without files to move: the referral and everything written with it
            // is ONE statement (`insert_referral_combined`), which is its own transaction, so
            // one round trip instead of BEGIN, seven statements and COMMIT; just as durable
            // (committed, synchronous_commit as configured, before this returns).
            None if self.kind == DatabaseKind::Postgres && !has_files => {
                let mut conn = self.writer.acquire().await?;
                insert_referral_combined(&mut conn, &self.audit, &row).await?;
            }
            None => {
                let mut tx = self.begin_write().await?;
                insert_referrals(&mut tx, &self.audit, &[&row]).await?;
                tx.commit().await?;
            }
        }
        self.intake_activity.record();
        if has_files {
            self.move_files_into_case(&new.id).await?;
        }
        Ok(())
    }

    /// How long since this server last stored a new referral (`Duration::MAX`: none yet).
    pub fn intake_quiet_for(&self) -> std::time::Duration {
        self.intake_activity.quiet_for()
    }

    /// The referral with this reference.
    #[instrument(skip_all)]
    pub async fn find_referral(&self, reference: &str) -> Result<Option<Referral>, StorageError> {
        // Every case request starts here: retried once on a lost connection.
        self.read_retrying(move || async move {
            // The case key comes with the row (kept in its own table, apart from the data).
            // Columns 0-20 as `referral_columns!`, then the case key in 21 and 22.
            let row = query(concat!(
                "SELECT ",
                referral_columns!(),
                ", (SELECT key_id FROM case_keys WHERE referral_id = referrals.id),
                   (SELECT wrapped FROM case_keys WHERE referral_id = referrals.id)
                 FROM referrals WHERE reference = $1"
            ))
            .bind(reference)
            .fetch_optional(&self.pool)
            .await?;
            let Some(row) = row else {
                return Ok(None);
            };
            if let Some(rules) = row.try_get::<Option<i64>, _>(20)? {
                self.load_screening_rules(rules).await?;
            }
            referral_from_row(self, &row).map(Some)
        })
        .await
    }

    /// Fills in the young person summary (`referrals.person`) of referrals stored without
    /// one (before summaries existed), `batch` at a time in id order: each row's answers are
    /// opened, `summarise(service, answers)` makes its summary (`None` for a service not
    /// loaded here: left for a server that has it), sealed under the case's key and written
    /// only if the row still has none. Rows are found through the partial index
    /// `referrals_person_missing_idx`, so once nothing is missing this is one probe of an
    /// empty index. A row whose answers cannot be opened (key destroyed on erasure) is
    /// counted in `failed` and left. Returns (filled, failed).
    #[instrument(skip_all)]
    pub async fn backfill_person_summaries(
        &self,
        batch: u32,
        summarise: impl Fn(&str, &Value) -> Option<Value>,
    ) -> Result<(u64, u64), StorageError> {
        let (mut filled, mut failed) = (0u64, 0u64);
        let mut after = String::new();
        loop {
            let rows = query(
                "SELECT id, service, answers,
                    (SELECT key_id FROM case_keys WHERE referral_id = referrals.id),
                    (SELECT wrapped FROM case_keys WHERE referral_id = referrals.id)
                 FROM referrals WHERE person IS NULL AND id > $1 ORDER BY id LIMIT $2",
            )
            .bind(&after)
            .bind(i64::from(batch.max(1)))
            .fetch_all(&self.pool)
            .await?;
            let Some(last) = rows.last() else {
                break;
            };
            after = last.try_get(0)?;
            let mut sealed = Vec::with_capacity(rows.len());
            for row in &rows {
                let id: String = row.try_get(0)?;
                let service: String = row.try_get(1)?;
                let made = self.person_summary_of(row, &id, &service, &summarise);
                match made {
                    Ok(Some(value)) => sealed.push((id, value)),
                    Ok(None) => {}
                    Err(StorageError::Sealed { .. }) => failed += 1,
                    Err(e) => return Err(e),
                }
            }
            if sealed.is_empty() {
                continue;
            }
            let mut tx = self.begin_write().await?;
            for (id, value) in sealed {
                filled +=
                    query("UPDATE referrals SET person = $1 WHERE id = $2 AND person IS NULL")
                        .bind(value)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
            }
            tx.commit().await?;
        }
        Ok((filled, failed))
    }

    /// Fills in `referrals.concerns` of referrals stored before it existed, for `services`
    /// (those whose definition names a concern question: at intake their referrals always
    /// get a value), `batch` at a time in id order through the partial index
    /// `referrals_concerns_missing_idx`: each row's answers are opened in memory and
    /// `keys_of(service, answers)` gives the option keys, written only if the row still has
    /// none. A row whose answers cannot be opened (key destroyed) is counted in `failed` and
    /// left.
    #[instrument(skip_all)]
    pub async fn backfill_concerns(
        &self,
        batch: u32,
        services: &[String],
        keys_of: impl Fn(&str, &Value) -> Option<String>,
    ) -> Result<ConcernsFilled, StorageError> {
        let (mut filled, mut failed, mut touched) = (0u64, 0u64, Vec::new());
        if services.is_empty() {
            return Ok(ConcernsFilled::default());
        }
        // One service at a time, so the partial index (service, id) gives the order: with
        // `service IN (…) ORDER BY id` PostgreSQL walked the primary key over every row
        // (4 s per start at a million referrals, even with nothing missing).
        let sql = "SELECT id, service, answers,
                (SELECT key_id FROM case_keys WHERE referral_id = referrals.id),
                (SELECT wrapped FROM case_keys WHERE referral_id = referrals.id),
                received_at
             FROM referrals
             WHERE concerns IS NULL AND service = $1 AND id > $2 ORDER BY id LIMIT $3";
        let mut pending: Vec<&String> = services.iter().rev().collect();
        let mut after = String::new();
        while let Some(service) = pending.last().copied() {
            let rows = query(sql)
                .bind(service)
                .bind(&after)
                .bind(i64::from(batch.max(1)))
                .fetch_all(&self.pool)
                .await?;
            let Some(last) = rows.last() else {
                pending.pop();
                after.clear();
                continue;
            };
            after = last.try_get(0)?;
            let mut found = Vec::with_capacity(rows.len());
            for row in &rows {
                let id: String = row.try_get(0)?;
                let service: String = row.try_get(1)?;
                match self.row_answers(row, &id) {
                    Ok((_, answers)) => {
                        if let Some(keys) = keys_of(&service, &answers) {
                            let received =
                                parse_timestamp("received_at", &row.try_get::<String, _>(5)?)?;
                            found.push((id, service, keys, received));
                        }
                    }
                    Err(StorageError::Sealed { .. }) => failed += 1,
                    Err(e) => return Err(e),
                }
            }
            if found.is_empty() {
                continue;
            }
            let mut tx = self.begin_write().await?;
            for (id, service, keys, received) in found {
                let written =
                    query("UPDATE referrals SET concerns = $1 WHERE id = $2 AND concerns IS NULL")
                        .bind(keys)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                if written > 0 {
                    filled += written;
                    touched.push((service, received));
                }
            }
            tx.commit().await?;
        }
        Ok(ConcernsFilled {
            filled,
            failed,
            touched,
        })
    }

    /// The case key and answers of a row read as `id, service, answers, case key id, wrapped
    /// case key`, opened in memory (no case key: a case from before case keys).
    fn row_answers(
        &self,
        row: &AnyRow,
        id: &str,
    ) -> Result<(Option<CaseKey>, Value), StorageError> {
        let case = match (
            row.try_get::<Option<String>, _>(3)?,
            row.try_get::<Option<Vec<u8>>, _>(4)?,
        ) {
            (Some(key_id), Some(wrapped)) => Some(self.unwrap_case_key(id, &key_id, &wrapped)?),
            _ => None,
        };
        let answers: Vec<u8> = row.try_get(2)?;
        let answers =
            self.open_json_in_case(case.as_ref(), "referrals", "answers", id, &answers)?;
        Ok((case, answers))
    }

    /// One row of [`Storage::backfill_person_summaries`]: its summary, sealed (`None` when
    /// `summarise` makes none).
    fn person_summary_of(
        &self,
        row: &AnyRow,
        id: &str,
        service: &str,
        summarise: &impl Fn(&str, &Value) -> Option<Value>,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        let (case, answers) = self.row_answers(row, id)?;
        let Some(person) = summarise(service, &answers) else {
            return Ok(None);
        };
        // A case from before case keys: under a key of its own, which `haven keys upgrade`
        // moves to the case key with the case's other values.
        match &case {
            Some(case) => self
                .seal_json_in_case(case, "referrals", "person", id, &person)
                .map(Some),
            None => self.seal_json("referrals", "person", id, &person).map(Some),
        }
    }

    /// The chronology of a referral, oldest first.
    #[instrument(skip_all)]
    pub async fn referral_events(
        &self,
        referral_id: &str,
    ) -> Result<Vec<ReferralEvent>, StorageError> {
        let rows = query(
            "SELECT kind, from_status, to_status FROM referral_events WHERE referral_id = $1 ORDER BY at, id",
        )
        .bind(referral_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ReferralEvent {
                    kind: row.try_get(0)?,
                    from_status: row.try_get(1)?,
                    to_status: row.try_get(2)?,
                })
            })
            .collect()
    }
}

/// A new referral as written: answers and screening already sealed, everything owned so it
/// can wait in the group-commit queue.
pub(crate) struct ReferralRow {
    pub id: String,
    pub reference: String,
    pub service: String,
    pub stage: String,
    pub audience: String,
    pub status: String,
    pub team: String,
    pub received_at: DateTime<Utc>,
    pub urgent: bool,
    pub suggested_band: Option<String>,
    pub in_scope: Option<bool>,
    pub eligible: Option<bool>,
    pub rules_version: Option<String>,
    pub due_by: Option<NaiveDate>,
    /// Sealed.
    pub answers: Vec<u8>,
    /// Sealed; the young person summary.
    pub person: Option<Vec<u8>>,
    /// Sealed; `None` when stored compactly (`screening_rules_id`) or absent.
    pub screening: Option<Vec<u8>>,
    /// The `screening_rules` row the screening is rebuilt with, when stored compactly.
    pub screening_rules_id: Option<i64>,
    /// The new case's key, wrapped, for `case_keys`.
    pub case_key: CaseKeyRow,
    pub receipt_hash: String,
    pub actor: String,
    /// The draft whose uploads move with it, and which of them to keep.
    pub files: Option<(String, Vec<String>)>,
    /// API uploads to move to the referral.
    pub uploads: Vec<String>,
    /// An email job queued with the referral (payload already sealed under its id).
    pub alert: Option<SealedJob>,
    /// The person index entry (tokens and sealed identity), when there is one.
    pub person_index: Option<super::people::PersonRow>,
    /// Clear: the concern's option keys ([`NewReferral::concerns`]).
    pub concerns: Option<String>,
}

/// A mail job sealed ahead of its transaction.
pub(crate) struct SealedJob {
    pub id: String,
    pub payload: Vec<u8>,
}

/// Writes new referrals, each with its `received` event and its audit entry, in the caller's
/// transaction, and adds them to the queue's maintained counts (`referral_counts`): one
/// UPSERT for the whole batch, its rows summed per combination first. Counting here rather
/// than in a per-row trigger keeps intake fast (issue 11: the trigger cost ~20% of it); the
/// only writer of new referrals is this function, so none can forget the count.
pub(crate) async fn insert_referrals(
    tx: &mut Transaction<'static, Any>,
    audit: &AuditChain,
    rows: &[&ReferralRow],
) -> Result<(), StorageError> {
    if audit.kind == DatabaseKind::Postgres {
        // One statement per referral (its count included), then its files.
        for row in rows {
            insert_referral_combined(tx, audit, row).await?;
            insert_referral_files(tx, row, &timestamp(row.received_at)).await?;
        }
        return Ok(());
    }
    insert_referrals_sqlite(tx, audit, rows).await?;
    count_new_referrals(tx, rows).await
}

/// The `received` event of each new referral `(row, received at)`, in multi-row INSERTs.
pub(crate) async fn insert_received_events(
    tx: &mut Transaction<'static, Any>,
    stamped: &[(&ReferralRow, &str)],
) -> Result<(), StorageError> {
    for chunk in statement_chunks(stamped, REFERRALS_PER_INSERT) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let p = i * 4;
                format!(
                    "(${}, ${}, ${}, 'received', NULL, ${})",
                    p + 1,
                    p + 2,
                    p + 3,
                    p + 4
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO referral_events (referral_id, at, actor, kind, from_status, to_status)
             VALUES {}",
            values.join(", ")
        );
        let mut insert = query(AssertSqlSafe(sql));
        for &(row, at) in chunk {
            insert = insert
                .bind(row.id.as_str())
                .bind(at)
                .bind(row.actor.as_str())
                .bind(row.status.as_str());
        }
        insert.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Referrals (or their events) per multi-row INSERT: at most 22 parameters a row, so 11,264
/// a statement, well under the 32,766 SQLite allows.
const REFERRALS_PER_INSERT: usize = 512;

/// SQLite: a batch of new referrals, table by table, each table one multi-row INSERT: the
/// referrals, their case keys, `received` events, person index entries and tokens, and audit
/// entries (linked from one read of the chain's head); files and a duty alert's job per
/// referral that has them. Not their counts (see [`insert_referrals`]). Each statement is a
/// round trip between the group commit's task and SQLite's thread, so a batch of 32 took
/// about 250 of them as a statement per row per table, and takes about 8 this way. A taken
/// reference, id or receipt hash fails the statement, and the batch with it (the group
/// commit then writes each referral alone).
async fn insert_referrals_sqlite(
    tx: &mut Transaction<'static, Any>,
    audit: &AuditChain,
    rows: &[&ReferralRow],
) -> Result<(), StorageError> {
    // Created when received: the intake time is the caller's clock reading.
    let received: Vec<String> = rows.iter().map(|r| timestamp(r.received_at)).collect();
    const COLUMNS: usize = 22;
    let stamped: Vec<(&ReferralRow, &str)> = rows
        .iter()
        .zip(&received)
        .map(|(row, at)| (*row, at.as_str()))
        .collect();
    for chunk in statement_chunks(&stamped, REFERRALS_PER_INSERT) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let p = i * COLUMNS;
                let list: Vec<String> = (1..=COLUMNS).map(|c| format!("${}", p + c)).collect();
                format!(
                    "({}, COALESCE((SELECT sb.band_rank FROM service_bands sb
                        WHERE sb.service = ${} AND sb.band = ${}), 0))",
                    list.join(", "),
                    p + 3,
                    p + 10
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO referrals (id, reference, service, stage, audience, status, team,
                received_at, urgent, suggested_band, in_scope, eligible, rules_version, due_by,
                answers, screening, receipt_hash, created_at, updated_at, screening_rules_id,
                person, concerns, band_rank)
             VALUES {}",
            values.join(", ")
        );
        let mut insert = query(AssertSqlSafe(sql));
        for &(row, at) in chunk {
            insert = bind_referral_columns(insert, row, at)
                .bind(at)
                .bind(at)
                .bind(row.screening_rules_id)
                .bind(row.person.as_deref())
                .bind(row.concerns.as_deref());
        }
        insert
            .execute(&mut **tx)
            .await
            .map_err(StorageError::from_write)?;
    }
    let keys: Vec<(&str, &CaseKeyRow, &str)> = stamped
        .iter()
        .map(|&(row, at)| (row.id.as_str(), &row.case_key, at))
        .collect();
    insert_case_keys(tx, &keys).await?;
    insert_received_events(tx, &stamped).await?;
    for &(row, at) in &stamped {
        if row.files.is_some() || !row.uploads.is_empty() {
            insert_referral_files(tx, row, at).await?;
        }
        if let Some(job) = &row.alert {
            query(
                "INSERT INTO jobs (id, queue, kind, payload, run_at, attempts, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, 0, $5, $5)",
            )
            .bind(&job.id)
            .bind(super::jobs::MAIL_QUEUE)
            .bind(super::jobs::MAIL_KIND)
            .bind(&job.payload)
            .bind(at)
            .execute(&mut **tx)
            .await?;
        }
    }
    let people: Vec<(&str, &super::people::PersonRow, &str)> = stamped
        .iter()
        .filter_map(|&(row, at)| {
            row.person_index
                .as_ref()
                .map(|person| (row.id.as_str(), person, at))
        })
        .collect();
    super::people::insert_people(tx, &people, false).await?;
    let entries: Vec<AuditEntry> = rows.iter().map(|row| submission_entry(row)).collect();
    append_many_in(tx, audit, &entries).await
}

/// The combined insert's SQL (PostgreSQL), built once per shape: with or without a job,
/// with or without a person index entry. Parameters: see [`insert_referral_combined`].
fn combined_sql(job: bool, person: bool) -> &'static str {
    static SQL: std::sync::LazyLock<[String; 4]> = std::sync::LazyLock::new(|| {
        [
            build_combined_sql(false, false),
            build_combined_sql(false, true),
            build_combined_sql(true, false),
            build_combined_sql(true, true),
        ]
    });
    &SQL[usize::from(job) * 2 + usize::from(person)]
}

/// Parameters $1..$29 are always bound (see [`insert_referral_combined`]); a job adds four
/// and a person entry three, numbered after them in that order.
fn build_combined_sql(job: bool, person: bool) -> String {
    let mut sql = String::from(
        "WITH case_key AS (
            INSERT INTO case_keys (referral_id, key_id, wrapped, created_at)
            VALUES ($1, $20, $21, $8)),
         event AS (
            INSERT INTO referral_events (referral_id, at, actor, kind, from_status, to_status)
            VALUES ($1, $8, $22, 'received', NULL, $6)),
         audit AS (
            INSERT INTO audit_log (at, actor, action, record_type, record_id, reason, key_id, entry_mac)
            VALUES ($8, $22, $23, $24, $1, $25, $26, $27)),
         counted AS (
            INSERT INTO referral_counts (service, team, status, band, urgent, news, assignee, shard, n)
            VALUES ($3, $7, $6, COALESCE($10, ''), $9, 0, '', $28, 1)
            ON CONFLICT (team, service, status, band, urgent, news, assignee, shard)
            DO UPDATE SET n = referral_counts.n + excluded.n)",
    );
    let mut next = 30;
    if job {
        sql.push_str(&format!(
            ",
         job AS (
            INSERT INTO jobs (id, queue, kind, payload, run_at, attempts, created_at, updated_at)
            VALUES (${}, ${}, ${}, ${}, $8, 0, $8, $8))",
            next,
            next + 1,
            next + 2,
            next + 3
        ));
        next += 4;
    }
    if person {
        sql.push_str(&format!(
            ",
         person AS (
            INSERT INTO person_records (referral_id, key_id, identity, indexed_at)
            VALUES ($1, ${}, ${}, $8)),
         tokens AS (
            INSERT INTO person_tokens (token, referral_id)
            SELECT token, $1 FROM unnest(string_to_array(${}, ',')) AS token)",
            next,
            next + 1,
            next + 2
        ));
    }
    sql.push_str(
        "
         INSERT INTO referrals (id, reference, service, stage, audience, status, team, received_at,
            urgent, suggested_band, in_scope, eligible, rules_version, due_by, answers, screening,
            receipt_hash, created_at, updated_at, screening_rules_id, person, concerns, band_rank)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $8, $8,
            $18, $19, $29, COALESCE((SELECT sb.band_rank FROM service_bands sb
                      WHERE sb.service = $3 AND sb.band = $10), 0))",
    );
    sql
}

/// PostgreSQL: a new referral in ONE statement of data-modifying CTEs: the referral, its
/// case key, its `received` event, its audit entry (unsequenced, with its MAC: the
/// sequencer links it), its queue count, and, when it has them, the duty alert's job and the
/// person index entry with its blind tokens. Run alone it is its own transaction (one round
/// trip); in a caller's transaction it is one statement of it. A taken reference, id or
/// receipt hash fails the whole statement ([`StorageError::Conflict`]), leaving nothing.
/// Files are not moved here ([`insert_referral_files`]).
pub(crate) async fn insert_referral_combined(
    conn: &mut sqlx::AnyConnection,
    audit: &AuditChain,
    row: &ReferralRow,
) -> Result<(), StorageError> {
    let received_at = timestamp(row.received_at);
    let entry = submission_entry(row);
    let (_, audit_key_id, entry_mac) = audit.unsequenced(&entry);
    // Tokens are hex: a comma never occurs in one.
    let tokens = row
        .person_index
        .as_ref()
        .map(|person| person.tokens.join(","));
    let mut insert = bind_referral_columns(
        query(AssertSqlSafe(combined_sql(
            row.alert.is_some(),
            row.person_index.is_some(),
        ))),
        row,
        &received_at,
    )
    .bind(row.screening_rules_id)
    .bind(row.person.as_deref())
    .bind(&row.case_key.key_id)
    .bind(&row.case_key.wrapped)
    .bind(&row.actor)
    .bind(entry.action.as_str())
    .bind(entry.record_type.as_str())
    .bind(entry.reason.as_deref())
    .bind(audit_key_id)
    .bind(entry_mac)
    .bind(row.id.get(..1).unwrap_or(""))
    .bind(row.concerns.as_deref());
    if let Some(job) = &row.alert {
        insert = insert
            .bind(&job.id)
            .bind(super::jobs::MAIL_QUEUE)
            .bind(super::jobs::MAIL_KIND)
            .bind(&job.payload);
    }
    if let Some(person) = &row.person_index {
        insert = insert
            .bind(&person.key_id)
            .bind(&person.identity)
            .bind(tokens);
    }
    insert
        .execute(&mut *conn)
        .await
        .map_err(StorageError::from_write)?;
    Ok(())
}

/// Binds `$1..$17` of a new referral's row, in the column order both inserts share (id,
/// reference, service, stage, audience, status, team, received, urgent, suggested band, in
/// scope, eligible, rules version, due, answers, screening, receipt hash).
fn bind_referral_columns<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    row: &'q ReferralRow,
    received_at: &'q str,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    q.bind(&row.id)
        .bind(&row.reference)
        .bind(&row.service)
        .bind(&row.stage)
        .bind(&row.audience)
        .bind(&row.status)
        .bind(&row.team)
        .bind(received_at)
        .bind(flag(row.urgent))
        .bind(row.suggested_band.as_deref())
        .bind(row.in_scope.map(flag))
        .bind(row.eligible.map(flag))
        .bind(row.rules_version.as_deref())
        .bind(row.due_by.map(|d| d.format("%Y-%m-%d").to_string()))
        .bind(&row.answers)
        .bind(row.screening.as_deref())
        .bind(&row.receipt_hash)
}

/// The audit entry of a new referral.
fn submission_entry(row: &ReferralRow) -> AuditEntry {
    AuditEntry::new(
        row.received_at,
        row.actor.as_str(),
        "submission.created",
        "referral",
        &row.id,
    )
}

/// A new referral's files: a public form's draft uploads and the API uploads it names move
/// to it (in the caller's transaction).
async fn insert_referral_files(
    tx: &mut Transaction<'static, Any>,
    row: &ReferralRow,
    now: &str,
) -> Result<(), StorageError> {
    if let Some((draft_id, keep)) = &row.files {
        move_draft_files(tx, draft_id, &row.id, keep, now).await?;
    }
    super::attachments::claim_uploads(tx, &row.service, &row.id, &row.uploads, now).await
}

/// One combination of the columns the queue's maintained counts (`referral_counts`,
/// migration `20250101000015_queue_order.sql`) are kept by, as the triggers that move a case
/// between combinations later compute it: band the confirmed one or else the suggested one
/// (`""` for none), assignee `""` for none, and `shard` the first character of the id while
/// the case has no worker (`""` once it has one).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct CountedFacts<'a> {
    pub service: &'a str,
    pub team: &'a str,
    pub status: &'a str,
    pub band: &'a str,
    pub urgent: bool,
    pub new_information: bool,
    pub assignee: &'a str,
    pub shard: &'a str,
}

impl<'a> CountedFacts<'a> {
    /// A new referral's combination: no worker, no new information, no confirmed band.
    fn of_new(row: &'a ReferralRow) -> Self {
        Self {
            service: &row.service,
            team: &row.team,
            status: &row.status,
            band: row.suggested_band.as_deref().unwrap_or(""),
            urgent: row.urgent,
            new_information: false,
            assignee: "",
            shard: row.id.get(..1).unwrap_or(""),
        }
    }
}

async fn count_new_referrals(
    tx: &mut Transaction<'static, Any>,
    rows: &[&ReferralRow],
) -> Result<(), StorageError> {
    let facts: Vec<CountedFacts<'_>> = rows.iter().map(|row| CountedFacts::of_new(row)).collect();
    add_to_counts(tx, &facts).await
}

/// Adds one to the maintained count of each referral's combination: the referrals are summed
/// per combination first, then written by one UPSERT (PostgreSQL refuses an UPSERT that
/// would touch one row twice, and one statement is what keeps a batch cheap).
pub(crate) async fn add_to_counts(
    tx: &mut Transaction<'static, Any>,
    referrals: &[CountedFacts<'_>],
) -> Result<(), StorageError> {
    let mut combinations: std::collections::BTreeMap<&CountedFacts<'_>, i64> =
        std::collections::BTreeMap::new();
    for facts in referrals {
        *combinations.entry(facts).or_default() += 1;
    }
    let combinations: Vec<(&CountedFacts<'_>, i64)> = combinations.into_iter().collect();
    // Bound parameters per statement stay far below both engines' limits.
    for chunk in statement_chunks(&combinations, 1024) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| placeholders(i * COUNT_COLUMNS, COUNT_COLUMNS))
            .collect();
        let sql = format!(
            "INSERT INTO referral_counts (service, team, status, band, urgent, news, assignee, shard, n) \
             VALUES {} \
             ON CONFLICT (team, service, status, band, urgent, news, assignee, shard) \
             DO UPDATE SET n = referral_counts.n + excluded.n",
            values.join(", ")
        );
        let mut upsert = query(AssertSqlSafe(sql));
        for (facts, n) in chunk {
            upsert = upsert
                .bind(facts.service)
                .bind(facts.team)
                .bind(facts.status)
                .bind(facts.band)
                .bind(flag(facts.urgent))
                .bind(flag(facts.new_information))
                .bind(facts.assignee)
                .bind(facts.shard)
                .bind(*n);
        }
        upsert.execute(&mut **tx).await?;
    }
    Ok(())
}

const COUNT_COLUMNS: usize = 9;

/// `($first+1, …, $first+n)`: one row's placeholders in a multi-row VALUES list.
/// What [`Storage::backfill_concerns`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConcernsFilled {
    /// Rows given their concerns.
    pub filled: u64,
    /// Rows whose answers could not be opened (key destroyed), left as they are.
    pub failed: u64,
    /// `(service, received_at)` of each row filled: the days the dashboards fold again.
    pub touched: Vec<(String, DateTime<Utc>)>,
}

/// `items` in chunks for multi-row statements, each at most `max` long and otherwise a power
/// of two (largest first: 37 rows are 32, 4 and 1). A statement's text depends on its row
/// count, and each connection keeps only its last 100 prepared statements, so a batch of any
/// size written as one statement would prepare a new shape for almost every batch; this way
/// each table has a dozen shapes at most, prepared once per connection.
pub(crate) fn statement_chunks<T>(items: &[T], max: usize) -> impl Iterator<Item = &[T]> {
    let mut rest = items;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let size = if rest.len() >= max {
            max
        } else {
            1 << rest.len().ilog2()
        };
        let (chunk, after) = rest.split_at(size);
        rest = after;
        Some(chunk)
    })
}

pub(crate) fn placeholders(first: usize, n: usize) -> String {
    let list: Vec<String> = (1..=n).map(|c| format!("${}", first + c)).collect();
    format!("({})", list.join(", "))
}

/// Reads a referral row, opening its sealed columns with the case key in its columns 21 and
/// 22 (`case_keys.key_id`, `case_keys.wrapped`; NULL for a case from before case keys, or
/// whose key was destroyed). A compact screening (column 20) is rebuilt from the answers
/// with rules the caller loaded ([`Storage::load_screening_rules`]).
fn referral_from_row(storage: &Storage, row: &AnyRow) -> Result<Referral, StorageError> {
    let id: String = row.try_get(0)?;
    let case = match (
        row.try_get::<Option<String>, _>(21)?,
        row.try_get::<Option<Vec<u8>>, _>(22)?,
    ) {
        (Some(key_id), Some(wrapped)) => Some(storage.unwrap_case_key(&id, &key_id, &wrapped)?),
        _ => None,
    };
    let optional_flag = |i: usize| -> Result<Option<bool>, StorageError> {
        Ok(row.try_get::<Option<i64>, _>(i)?.map(|v| v != 0))
    };
    let due_by = row
        .try_get::<Option<String>, _>(14)?
        .map(|text| {
            NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|e| StorageError::Corrupt {
                column: "due_by",
                reason: e.to_string(),
            })
        })
        .transpose()?;
    let answers = storage.open_json_in_case(
        case.as_ref(),
        "referrals",
        "answers",
        &id,
        &row.try_get::<Vec<u8>, _>(16)?,
    )?;
    let received_at = parse_timestamp("received_at", &row.try_get::<String, _>(7)?)?;
    let screening = match row.try_get::<Option<i64>, _>(20)? {
        Some(rules) => Some(storage.rebuilt_screening(rules, &answers, received_at)?),
        None => row
            .try_get::<Option<Vec<u8>>, _>(17)?
            .map(|stored| {
                storage.open_json_in_case(case.as_ref(), "referrals", "screening", &id, &stored)
            })
            .transpose()?,
    };
    Ok(Referral {
        id,
        reference: row.try_get(1)?,
        service: row.try_get(2)?,
        stage: row.try_get(3)?,
        audience: row.try_get(4)?,
        status: row.try_get(5)?,
        team: row.try_get(6)?,
        received_at,
        urgent: row.try_get::<i64, _>(8)? != 0,
        suggested_band: row.try_get(9)?,
        confirmed_band: row.try_get(10)?,
        in_scope: optional_flag(11)?,
        eligible: optional_flag(12)?,
        rules_version: row.try_get(13)?,
        due_by,
        assignee: row.try_get(15)?,
        answers,
        screening,
        created_at: parse_timestamp("created_at", &row.try_get::<String, _>(18)?)?,
        updated_at: parse_timestamp("updated_at", &row.try_get::<String, _>(19)?)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_chunks_are_powers_of_two_up_to_the_most() {
        let items: Vec<u32> = (0..37).collect();
        let sizes: Vec<usize> = statement_chunks(&items, 16).map(<[u32]>::len).collect();
        assert_eq!(sizes, [16, 16, 4, 1]);
        let sizes: Vec<usize> = statement_chunks(&items, 64).map(<[u32]>::len).collect();
        assert_eq!(sizes, [32, 4, 1]);
        let all: Vec<u32> = statement_chunks(&items, 64).flatten().copied().collect();
        assert_eq!(all, items);
        assert_eq!(statement_chunks(&items[..0], 8).count(), 0);
    }
}
