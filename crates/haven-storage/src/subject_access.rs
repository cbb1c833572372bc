//! Subject access requests (issue 17): `subject_access_requests`. The requester's name and
//! identity check detail, the extension and refusal reasons, the per-item decisions and the
//! release record are sealed under the key of the case the request was opened from; the
//! clock's dates, status and the ids of the cases covered stay clear (the team's list reads
//! only those). Each change adds a chronology event to the case and an audit entry holding
//! no content, in the same transaction.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Row, query};
use tracing::instrument;

use super::audit::{AuditEntry, append_in};
use super::{Storage, StorageError, parse_date, parse_timestamp, timestamp};

const TABLE: &str = "subject_access_requests";

/// A request as stored, its sealed values opened.
#[derive(Clone)]
pub struct SubjectAccessRequest {
    pub id: String,
    /// The case it was opened from (its sealed values are under this case's key).
    pub referral_id: String,
    pub service: String,
    pub team: String,
    pub relationship: String,
    pub identity_check: String,
    pub requester_name: String,
    pub identity_detail: String,
    pub received_on: NaiveDate,
    pub due_on: NaiveDate,
    pub extended_months: u32,
    pub extension_reason: Option<String>,
    /// `open`, `released`, `refused`.
    pub status: String,
    pub refusal_reason: Option<String>,
    /// The referral ids it covers (the first is `referral_id`).
    pub cases: Vec<String>,
    /// Staff decisions per export item: `{item id: {"decision": "withhold"|"disclose",
    /// "reason", "by", "at"}}`.
    pub decisions: Value,
    /// What was released (the export as handed over), once released.
    pub release_record: Option<Value>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub released_by: Option<String>,
    pub released_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for SubjectAccessRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubjectAccessRequest")
            .field("id", &self.id)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// A request in the team's list (nothing sealed is read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectAccessSummary {
    pub id: String,
    pub reference: String,
    pub relationship: String,
    pub received_on: NaiveDate,
    pub due_on: NaiveDate,
    pub extended_months: u32,
    pub cases: usize,
}

/// A new request, checked.
pub struct NewSubjectAccess<'a> {
    pub id: &'a str,
    pub referral_id: &'a str,
    pub service: &'a str,
    pub team: &'a str,
    pub relationship: &'a str,
    pub identity_check: &'a str,
    pub requester_name: &'a str,
    pub identity_detail: &'a str,
    pub received_on: NaiveDate,
    pub due_on: NaiveDate,
    pub cases: &'a [String],
    pub actor: &'a str,
}

fn audit(
    at: DateTime<Utc>,
    actor: &str,
    action: &str,
    id: &str,
    reason: Option<String>,
) -> AuditEntry {
    let mut entry = AuditEntry::new(at, actor, action, "subject_access", id);
    entry.reason = reason;
    entry
}

fn months(value: i64) -> u32 {
    u32::try_from(value).unwrap_or(0)
}

impl Storage {
    /// Stores a new request (the requester sealed under the case's key), with a chronology
    /// event on the case and an audit entry (`subject_access.opened`).
    #[instrument(skip_all)]
    pub async fn insert_subject_access(
        &self,
        new: &NewSubjectAccess<'_>,
        at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let mut tx = self.begin_write().await?;
        let case = self.case_key_in(&mut tx, new.referral_id).await?;
        let requester = self.seal_json_in_case(
            &case,
            TABLE,
            "requester",
            new.id,
            &json!({ "name": new.requester_name, "identity_detail": new.identity_detail }),
        )?;
        let now = timestamp(at);
        query(
            "INSERT INTO subject_access_requests (id, referral_id, service, team, relationship,
                 identity_check, requester, received_on, due_on, extended_months, status, cases,
                 created_by, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, 'open', $10, $11, $12, $12)",
        )
        .bind(new.id)
        .bind(new.referral_id)
        .bind(new.service)
        .bind(new.team)
        .bind(new.relationship)
        .bind(new.identity_check)
        .bind(requester)
        .bind(new.received_on.to_string())
        .bind(new.due_on.to_string())
        .bind(Value::from(new.cases.to_vec()).to_string())
        .bind(new.actor)
        .bind(&now)
        .execute(&mut *tx)
        .await
        .map_err(StorageError::from_write)?;
        let event = super::casework::event(new.referral_id, at, new.actor, "subject_access_opened");
        self.insert_event(&mut tx, &event).await?;
        let entry = audit(
            at,
            new.actor,
            "subject_access.opened",
            new.id,
            Some(format!("cases:{}", new.cases.len())),
        );
        append_in(&mut tx, &self.audit, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The request `id`, its sealed values opened (`None` if there is none).
    #[instrument(skip_all)]
    pub async fn subject_access(
        &self,
        id: &str,
    ) -> Result<Option<SubjectAccessRequest>, StorageError> {
        let Some(row) = query(
            "SELECT id, referral_id, service, team, relationship, identity_check, requester,
                    received_on, due_on, extended_months, extension_reason, status,
                    refusal_reason, cases, decisions, release_record, created_by, created_at,
                    released_by, released_at
             FROM subject_access_requests WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let referral_id: String = row.try_get(1)?;
        let case = self.case_key(&referral_id).await?;
        let case = case.as_ref();
        let requester =
            self.open_json_in_case(case, TABLE, "requester", id, &row.try_get::<Vec<u8>, _>(6)?)?;
        let text = |column: &'static str,
                    stored: Option<Vec<u8>>|
         -> Result<Option<String>, StorageError> {
            stored
                .map(|s| self.open_text_in_case(case, TABLE, column, id, &s))
                .transpose()
        };
        let json = |column: &'static str,
                    stored: Option<Vec<u8>>|
         -> Result<Option<Value>, StorageError> {
            stored
                .map(|s| self.open_json_in_case(case, TABLE, column, id, &s))
                .transpose()
        };
        let cases: Value = super::parse_json(
            "subject_access_requests.cases",
            &row.try_get::<String, _>(13)?,
        )?;
        let field = |key: &str| {
            requester
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        Ok(Some(SubjectAccessRequest {
            id: row.try_get(0)?,
            requester_name: field("name"),
            identity_detail: field("identity_detail"),
            referral_id,
            service: row.try_get(2)?,
            team: row.try_get(3)?,
            relationship: row.try_get(4)?,
            identity_check: row.try_get(5)?,
            received_on: parse_date(&row.try_get::<String, _>(7)?)?,
            due_on: parse_date(&row.try_get::<String, _>(8)?)?,
            extended_months: months(row.try_get(9)?),
            extension_reason: text("extension_reason", row.try_get(10)?)?,
            status: row.try_get(11)?,
            refusal_reason: text("refusal_reason", row.try_get(12)?)?,
            cases: cases
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            decisions: json("decisions", row.try_get(14)?)?.unwrap_or_else(|| json!({})),
            release_record: json("release_record", row.try_get(15)?)?,
            created_by: row.try_get(16)?,
            created_at: parse_timestamp(
                "subject_access_requests.created_at",
                &row.try_get::<String, _>(17)?,
            )?,
            released_by: row.try_get(18)?,
            released_at: row
                .try_get::<Option<String>, _>(19)?
                .map(|t| parse_timestamp("subject_access_requests.released_at", &t))
                .transpose()?,
        }))
    }

    /// The open requests of `team`, soonest due first (index `subject_access_team_idx`).
    #[instrument(skip_all)]
    pub async fn open_subject_access(
        &self,
        team: &str,
    ) -> Result<Vec<SubjectAccessSummary>, StorageError> {
        let rows = query(
            "SELECT s.id, r.reference, s.relationship, s.received_on, s.due_on,
                    s.extended_months, s.cases
             FROM subject_access_requests s JOIN referrals r ON r.id = s.referral_id
             WHERE s.team = $1 AND s.status = 'open'
             ORDER BY s.due_on, s.id",
        )
        .bind(team)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let cases: Value = super::parse_json(
                    "subject_access_requests.cases",
                    &row.try_get::<String, _>(6)?,
                )?;
                Ok(SubjectAccessSummary {
                    id: row.try_get(0)?,
                    reference: row.try_get(1)?,
                    relationship: row.try_get(2)?,
                    received_on: parse_date(&row.try_get::<String, _>(3)?)?,
                    due_on: parse_date(&row.try_get::<String, _>(4)?)?,
                    extended_months: months(row.try_get(5)?),
                    cases: cases.as_array().map_or(0, Vec::len),
                })
            })
            .collect()
    }

    /// `(id, reference)` of each referral id given that still exists, in one query.
    #[instrument(skip_all)]
    pub async fn references_of(
        &self,
        ids: &[String],
    ) -> Result<Vec<(String, String)>, StorageError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT id, reference FROM referrals WHERE id IN ({})",
            marks.join(", ")
        );
        let mut q = query(AssertSqlSafe(sql));
        for id in ids {
            q = q.bind(id);
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    /// Extends an open request to `extended_months` in all (due `due_on`), the reason
    /// sealed; `Ok(false)` if it is no longer open or was extended meanwhile. Audited
    /// `subject_access.extended`.
    #[instrument(skip_all)]
    pub async fn extend_subject_access(
        &self,
        request: &SubjectAccessRequest,
        extended_months: u32,
        due_on: NaiveDate,
        reason: &str,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let mut tx = self.begin_write().await?;
        let case = self.case_key_in(&mut tx, &request.referral_id).await?;
        let sealed =
            self.seal_text_in_case(&case, TABLE, "extension_reason", &request.id, reason)?;
        let changed = query(
            "UPDATE subject_access_requests SET extended_months = $1, due_on = $2,
                 extension_reason = $3, updated_at = $4
             WHERE id = $5 AND status = 'open' AND extended_months = $6",
        )
        .bind(i64::from(extended_months))
        .bind(due_on.to_string())
        .bind(sealed)
        .bind(timestamp(at))
        .bind(&request.id)
        .bind(i64::from(request.extended_months))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if changed {
            let event =
                super::casework::event(&request.referral_id, at, actor, "subject_access_extended");
            self.insert_event(&mut tx, &event).await?;
            let entry = audit(
                at,
                actor,
                "subject_access.extended",
                &request.id,
                Some(format!("months:{extended_months}")),
            );
            append_in(&mut tx, &self.audit, &entry).await?;
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// Replaces the per-item decisions of an open request (sealed); `Ok(false)` if it is
    /// no longer open. Audited `subject_access.item_decided` with the decision (no content).
    #[instrument(skip_all)]
    pub async fn decide_subject_access_items(
        &self,
        request: &SubjectAccessRequest,
        decisions: &Value,
        decision: &str,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let mut tx = self.begin_write().await?;
        let case = self.case_key_in(&mut tx, &request.referral_id).await?;
        let sealed = self.seal_json_in_case(&case, TABLE, "decisions", &request.id, decisions)?;
        let changed = query(
            "UPDATE subject_access_requests SET decisions = $1, updated_at = $2
             WHERE id = $3 AND status = 'open'",
        )
        .bind(sealed)
        .bind(timestamp(at))
        .bind(&request.id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if changed {
            let entry = audit(
                at,
                actor,
                "subject_access.item_decided",
                &request.id,
                Some(decision.to_owned()),
            );
            append_in(&mut tx, &self.audit, &entry).await?;
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// Refuses an open request with its reason (sealed); `Ok(false)` if it is no longer
    /// open. Audited `subject_access.refused`.
    #[instrument(skip_all)]
    pub async fn refuse_subject_access(
        &self,
        request: &SubjectAccessRequest,
        reason: &str,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let mut tx = self.begin_write().await?;
        let case = self.case_key_in(&mut tx, &request.referral_id).await?;
        let sealed = self.seal_text_in_case(&case, TABLE, "refusal_reason", &request.id, reason)?;
        let now = timestamp(at);
        let changed = query(
            "UPDATE subject_access_requests SET status = 'refused', refusal_reason = $1,
                 updated_at = $2
             WHERE id = $3 AND status = 'open'",
        )
        .bind(sealed)
        .bind(&now)
        .bind(&request.id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if changed {
            let event =
                super::casework::event(&request.referral_id, at, actor, "subject_access_refused");
            self.insert_event(&mut tx, &event).await?;
            let entry = audit(at, actor, "subject_access.refused", &request.id, None);
            append_in(&mut tx, &self.audit, &entry).await?;
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// Releases an open request: the record (the export as handed over, with each redaction
    /// and exemption and its reason) sealed, the status `released`, a chronology event and
    /// a `case.exported` audit entry (reason `subject_access`) on every case covered, and
    /// `subject_access.released` naming the cases and how many items were withheld (`reason`,
    /// no content). `Ok(false)` if it is no longer open.
    #[instrument(skip_all)]
    pub async fn release_subject_access(
        &self,
        request: &SubjectAccessRequest,
        record: &Value,
        reason: &str,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let mut tx = self.begin_write().await?;
        let case = self.case_key_in(&mut tx, &request.referral_id).await?;
        let sealed = self.seal_json_in_case(&case, TABLE, "release_record", &request.id, record)?;
        let now = timestamp(at);
        let changed = query(
            "UPDATE subject_access_requests SET status = 'released', release_record = $1,
                 released_by = $2, released_at = $3, updated_at = $3
             WHERE id = $4 AND status = 'open'",
        )
        .bind(sealed)
        .bind(actor)
        .bind(&now)
        .bind(&request.id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if changed {
            for referral_id in &request.cases {
                let event =
                    super::casework::event(referral_id, at, actor, "subject_access_released");
                self.insert_event(&mut tx, &event).await?;
                let entry = AuditEntry::export(at, actor, referral_id, "subject_access");
                append_in(&mut tx, &self.audit, &entry).await?;
            }
            let entry = audit(
                at,
                actor,
                "subject_access.released",
                &request.id,
                Some(reason.to_owned()),
            );
            append_in(&mut tx, &self.audit, &entry).await?;
        }
        tx.commit().await?;
        Ok(changed)
    }
}
