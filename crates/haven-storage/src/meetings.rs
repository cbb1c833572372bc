//! Meetings and visits on a case (`case_meetings`). The place, who attended, the
//! informal/plain-clothes flag and the notes are one sealed JSON value (`content`); the kind,
//! the UK date and time and the home-visit flags stay clear. Recording one adds a chronology
//! event (and, for a home visit with lone-working concerns, a second one saying the worker
//! confirmed reading them) and an audit entry, in one transaction.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use sqlx::{Row, query};
use tracing::instrument;

use super::audit::{AuditEntry, append_in};
use super::triage::NewEvent;
use super::{Storage, StorageError, flag, parse_date, parse_timestamp, timestamp};
use crate::crypto;

/// A meeting to record (checked by `haven_core::casework::check_meeting`).
pub struct NewMeeting<'a> {
    pub referral_id: &'a str,
    pub kind: &'a str,
    pub date: NaiveDate,
    pub time: &'a str,
    pub place: &'a str,
    pub place_details: Option<&'a str>,
    pub attendees: &'a str,
    pub informal: Option<bool>,
    pub notes: Option<&'a str>,
    pub home_visit: bool,
    pub lone_working_confirmed: bool,
    pub actor: &'a str,
    pub at: DateTime<Utc>,
}

/// A recorded meeting.
#[derive(Clone)]
pub struct Meeting {
    pub id: String,
    pub kind: String,
    pub date: NaiveDate,
    pub time: String,
    pub place: String,
    pub place_details: Option<String>,
    pub attendees: String,
    pub informal: Option<bool>,
    pub notes: Option<String>,
    pub home_visit: bool,
    pub lone_working_confirmed: bool,
    pub recorded_by: String,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for Meeting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Meeting")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl Storage {
    /// Records a meeting; returns its id.
    #[instrument(skip_all)]
    pub async fn add_meeting(&self, m: &NewMeeting<'_>) -> Result<String, StorageError> {
        let id = crypto::new_id();
        let content = json!({
            "place": m.place,
            "place_details": m.place_details,
            "attendees": m.attendees,
            "informal": m.informal,
            "notes": m.notes,
        });
        let case = self.case_key_for_write(m.referral_id).await?;
        let sealed = self.seal_json_in_case(&case, "case_meetings", "content", &id, &content)?;
        let at = timestamp(m.at);
        let mut tx = self.begin_write().await?;
        query(
            "INSERT INTO case_meetings (id, referral_id, kind, meeting_on, meeting_time, home_visit,
                lone_working_confirmed, content, recorded_by, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        )
        .bind(&id)
        .bind(m.referral_id)
        .bind(m.kind)
        .bind(m.date.format("%Y-%m-%d").to_string())
        .bind(m.time)
        .bind(flag(m.home_visit))
        .bind(flag(m.lone_working_confirmed))
        .bind(sealed)
        .bind(m.actor)
        .bind(&at)
        .execute(&mut *tx)
        .await?;
        if m.lone_working_confirmed {
            let event = NewEvent {
                referral_id: m.referral_id,
                at: m.at,
                actor: m.actor,
                kind: "lone_working_read",
                from_status: None,
                to_status: None,
                reason: None,
                detail: Some(json!({ "meeting": id })),
            };
            self.insert_event(&mut tx, &event).await?;
        }
        let event = NewEvent {
            referral_id: m.referral_id,
            at: m.at,
            actor: m.actor,
            kind: "meeting_recorded",
            from_status: None,
            to_status: None,
            reason: None,
            detail: Some(json!({
                "meeting": id, "kind": m.kind, "date": m.date.format("%Y-%m-%d").to_string(),
                "time": m.time, "home_visit": m.home_visit,
                "lone_working_confirmed": m.lone_working_confirmed,
            })),
        };
        self.insert_event(&mut tx, &event).await?;
        let entry = AuditEntry::new(
            m.at,
            m.actor,
            "referral.meeting_recorded",
            "referral",
            m.referral_id,
        );
        append_in(&mut tx, &self.audit, &entry).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// A case's meetings, earliest first.
    #[instrument(skip_all)]
    pub async fn meetings(&self, referral_id: &str) -> Result<Vec<Meeting>, StorageError> {
        let rows = query(
            "SELECT id, kind, meeting_on, meeting_time, home_visit, lone_working_confirmed,
                    content, recorded_by, created_at
             FROM case_meetings WHERE referral_id = $1
             ORDER BY meeting_on, meeting_time, created_at, id",
        )
        .bind(referral_id)
        .fetch_all(&self.pool)
        .await?;
        let case = self.case_key(referral_id).await?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("id")?;
                let content = self.open_json_in_case(
                    case.as_ref(),
                    "case_meetings",
                    "content",
                    &id,
                    &row.try_get::<Vec<u8>, _>("content")?,
                )?;
                let text = |key: &str| content.get(key).and_then(|v| v.as_str()).map(str::to_owned);
                Ok(Meeting {
                    kind: row.try_get("kind")?,
                    date: parse_date(&row.try_get::<String, _>("meeting_on")?)?,
                    time: row.try_get("meeting_time")?,
                    place: text("place").unwrap_or_default(),
                    place_details: text("place_details"),
                    attendees: text("attendees").unwrap_or_default(),
                    informal: content.get("informal").and_then(|v| v.as_bool()),
                    notes: text("notes"),
                    home_visit: row.try_get::<i64, _>("home_visit")? != 0,
                    lone_working_confirmed: row.try_get::<i64, _>("lone_working_confirmed")? != 0,
                    recorded_by: row.try_get("recorded_by")?,
                    created_at: parse_timestamp(
                        "case_meetings.created_at",
                        &row.try_get::<String, _>("created_at")?,
                    )?,
                    id,
                })
            })
            .collect()
    }
}
