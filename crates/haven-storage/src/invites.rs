//! Invitations to an `invited` stage (`invitations`), the later stages of a case
//! (`referral_stages`) and the chronology of notifications sent to the referrer.
//!
//! An invitation is a single-use link: only the keyed hash of its 256-bit token is stored.
//! Opening the link exchanges it, once, for a form session (whose keyed hash is kept); the
//! stage can then be sent once, from that session, before the invitation expires. Each step
//! is one conditional UPDATE, so two servers (or two tabs) racing for the same link cannot
//! both win.

use chrono::{DateTime, Utc};
use haven_core::casework::ClosureChoice;
use serde_json::{Value, json};
use sqlx::any::AnyRow;
use sqlx::{Any, AssertSqlSafe, Row, Transaction, query};
use tracing::instrument;

use super::audit::{AuditEntry, append_in};
use super::drafts::move_draft_files;
use super::jobs::NewJob;
use super::triage::{NewEvent, StatusChange};
use super::{Storage, StorageError, parse_timestamp, timestamp};
use crate::crypto::new_id;

/// An invitation to store, with the email that carries its link.
pub struct NewInvitation<'a> {
    pub referral_id: &'a str,
    pub stage: &'a str,
    pub audience: &'a str,
    /// Keyed hash of the token (never the token).
    pub token_hash: String,
    pub expires_at: DateTime<Utc>,
    /// Who made the transition that sent it.
    pub actor: &'a str,
    pub at: DateTime<Utc>,
    /// The email job carrying the link (queued in the same transaction).
    pub email: NewJob<'a>,
}

/// What a transition tells the referrer, stored with it by
/// [`Storage::change_status_notifying`].
pub enum Notification<'a> {
    /// The transition tells no one.
    Nothing,
    /// A queued email (no case content).
    Email(NewJob<'a>),
    /// An invitation and the email carrying its link.
    Invitation(NewInvitation<'a>),
    /// The referrer should be told but the answers hold no address: the chronology says so.
    Impossible(Value),
}

/// A stored invitation.
#[derive(Debug, Clone)]
pub struct Invitation {
    pub id: String,
    pub referral_id: String,
    pub stage: String,
    pub audience: String,
    pub expires_at: DateTime<Utc>,
    pub opened_at: Option<DateTime<Utc>>,
    pub used_at: Option<DateTime<Utc>>,
    /// Keyed hash of the form session that opened it.
    pub session_hash: Option<String>,
}

impl Invitation {
    /// Whether the browser session with this hash opened it and its stage can still be sent
    /// at `now` (the same browser following its link again).
    pub fn reopens_for(&self, session_hash: &str, now: DateTime<Utc>) -> bool {
        self.used_at.is_none()
            && self.expires_at > now
            && self.session_hash.as_deref() == Some(session_hash)
    }
}

/// What opening a link found.
#[derive(Debug, Clone)]
pub enum Opened {
    /// Exchanged for the session now.
    Now(Invitation),
    /// No invitation has this token.
    Unknown,
    /// It was opened (or its stage sent) before.
    AlreadyUsed(Invitation),
    Expired,
}

/// A later stage of a case, as received.
#[derive(Clone)]
pub struct StageRecord {
    pub stage: String,
    pub audience: String,
    pub answers: Value,
    pub received_at: DateTime<Utc>,
}

// Answers never reach a log line.
impl std::fmt::Debug for StageRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StageRecord")
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}

/// A stage received through an invitation, and the transition it makes by itself.
pub struct NewStage<'a> {
    pub invitation_id: &'a str,
    pub referral_id: &'a str,
    pub stage: &'a str,
    pub audience: &'a str,
    pub answers: &'a Value,
    /// The draft the stage was sent from and the files its answers name: they move to the
    /// case in the same transaction, the draft's other files go, its resume code ends.
    pub files: Option<(&'a str, &'a [String])>,
    pub at: DateTime<Utc>,
    /// `(from, to, meets_sla)`: made only when the case is still in `from`.
    pub transition: Option<(&'a str, &'a str, bool)>,
    /// The case's young person summary anew, with this stage's answers first (the queue's
    /// `referrals.person`, sealed under the case key); `None` leaves it as it is.
    pub person: Option<&'a Value>,
}

/// Why a stage was not stored.
#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    /// The invitation is used or expired.
    #[error("the invitation no longer works")]
    InvitationSpent,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

fn optional_time(
    row: &AnyRow,
    i: usize,
    column: &'static str,
) -> Result<Option<DateTime<Utc>>, StorageError> {
    row.try_get::<Option<String>, _>(i)?
        .map(|t| parse_timestamp(column, &t))
        .transpose()
}

fn invitation_from_row(row: &AnyRow) -> Result<Invitation, StorageError> {
    Ok(Invitation {
        id: row.try_get(0)?,
        referral_id: row.try_get(1)?,
        stage: row.try_get(2)?,
        audience: row.try_get(3)?,
        expires_at: parse_timestamp("expires_at", &row.try_get::<String, _>(4)?)?,
        opened_at: optional_time(row, 5, "opened_at")?,
        used_at: optional_time(row, 6, "used_at")?,
        session_hash: row.try_get(7)?,
    })
}

impl Storage {
    /// Stores an invitation, queues the email carrying its link and records both in the
    /// chronology (`invitation_created`) and the audit log, in one transaction.
    #[instrument(skip_all)]
    pub async fn create_invitation(&self, new: &NewInvitation<'_>) -> Result<String, StorageError> {
        let mut tx = self.begin_write().await?;
        let id = self.insert_invitation_in(&mut tx, new).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// [`Storage::create_invitation`] inside `tx`.
    async fn insert_invitation_in(
        &self,
        tx: &mut Transaction<'static, Any>,
        new: &NewInvitation<'_>,
    ) -> Result<String, StorageError> {
        let id = new_id();
        let at = timestamp(new.at);
        // A new link replaces any earlier one for the same form: only the latest email works.
        let superseded = query(
            "UPDATE invitations SET expires_at = $1, updated_at = $1
             WHERE referral_id = $2 AND stage = $3 AND used_at IS NULL AND expires_at > $1",
        )
        .bind(&at)
        .bind(new.referral_id)
        .bind(new.stage)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        query(
            "INSERT INTO invitations (id, referral_id, stage, audience, token_hash, expires_at,
                created_by, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(&id)
        .bind(new.referral_id)
        .bind(new.stage)
        .bind(new.audience)
        .bind(&new.token_hash)
        .bind(timestamp(new.expires_at))
        .bind(new.actor)
        .bind(&at)
        .execute(&mut **tx)
        .await
        .map_err(StorageError::from_write)?;
        self.insert_job(tx, &new.email).await?;
        let event = NewEvent {
            referral_id: new.referral_id,
            at: new.at,
            actor: new.actor,
            kind: "invitation_created",
            from_status: None,
            to_status: None,
            reason: None,
            detail: Some(json!({
                "stage": new.stage,
                "expires_at": timestamp(new.expires_at),
                "superseded": superseded,
            })),
        };
        self.insert_event(tx, &event).await?;
        let entry = AuditEntry::new(
            new.at,
            new.actor,
            "invitation.created",
            "referral",
            new.referral_id,
        );
        append_in(tx, &self.audit, &entry).await?;
        Ok(id)
    }

    /// Moves a case (as [`Storage::change_status`]), then on by itself (`follow_on`, from
    /// `change.to`), and stores what the moves tell the referrer, in one transaction: a move
    /// is never recorded without its notification, nor a notification without its move.
    /// `false`: the case was no longer in `change.from`, and nothing was written.
    #[instrument(skip_all)]
    pub async fn change_status_notifying(
        &self,
        change: &StatusChange<'_>,
        follow_on: Option<&StatusChange<'_>>,
        closure: Option<&ClosureChoice>,
        notification: &Notification<'_>,
    ) -> Result<bool, StorageError> {
        let mut tx = self.begin_write().await?;
        if !self.change_status_in(&mut tx, change).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        if let Some(follow_on) = follow_on
            && !self.change_status_in(&mut tx, follow_on).await?
        {
            // Cannot happen inside this transaction; refuse rather than half-move the case.
            tx.rollback().await?;
            return Ok(false);
        }
        if let Some(closure) = closure {
            self.insert_closure_in(&mut tx, change, closure).await?;
        }
        match notification {
            Notification::Nothing => {}
            Notification::Email(job) => {
                self.insert_job(&mut tx, job).await?;
            }
            Notification::Invitation(new) => {
                self.insert_invitation_in(&mut tx, new).await?;
            }
            Notification::Impossible(detail) => {
                self.insert_notification_event(
                    &mut tx,
                    change.referral_id,
                    "notification_impossible",
                    detail,
                    change.at,
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Exchanges the link with this token hash for the form session `session_hash`, once.
    #[instrument(skip_all)]
    pub async fn open_invitation(
        &self,
        token_hash: &str,
        session_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Opened, StorageError> {
        let Some(found) = self.invitation_where_token(token_hash).await? else {
            return Ok(Opened::Unknown);
        };
        if found.opened_at.is_some() || found.used_at.is_some() {
            return Ok(Opened::AlreadyUsed(found));
        }
        if found.expires_at <= now {
            return Ok(Opened::Expired);
        }
        let now_text = timestamp(now);
        let mut tx = self.begin_write().await?;
        let updated = query(
            "UPDATE invitations SET opened_at = $1, session_hash = $2, updated_at = $1
             WHERE id = $3 AND opened_at IS NULL AND used_at IS NULL AND expires_at > $1",
        )
        .bind(&now_text)
        .bind(session_hash)
        .bind(&found.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            tx.rollback().await?;
            return Ok(Opened::AlreadyUsed(found));
        }
        let event = NewEvent {
            referral_id: &found.referral_id,
            at: now,
            actor: "public",
            kind: "invitation_opened",
            from_status: None,
            to_status: None,
            reason: None,
            detail: Some(json!({ "stage": found.stage })),
        };
        self.insert_event(&mut tx, &event).await?;
        let entry = AuditEntry::new(
            now,
            "public",
            "invitation.opened",
            "referral",
            &found.referral_id,
        );
        append_in(&mut tx, &self.audit, &entry).await?;
        tx.commit().await?;
        Ok(Opened::Now(Invitation {
            opened_at: Some(now),
            session_hash: Some(session_hash.to_owned()),
            ..found
        }))
    }

    /// The invitation whose token has this hash, whatever its state (nothing is changed).
    #[instrument(skip_all)]
    pub async fn find_invitation(
        &self,
        token_hash: &str,
    ) -> Result<Option<Invitation>, StorageError> {
        self.invitation_where_token(token_hash).await
    }

    async fn invitation_where_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<Invitation>, StorageError> {
        let row = query(
            "SELECT id, referral_id, stage, audience, expires_at, opened_at, used_at, session_hash
             FROM invitations WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(invitation_from_row).transpose()
    }

    /// The invitation with this id, if its stage can still be sent at `now` (opened, not
    /// used, not expired). Who may send it is decided by the draft holding its grant (the
    /// form session that opened the link, or a resume code of that draft).
    #[instrument(skip_all)]
    pub async fn live_invitation(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Invitation>, StorageError> {
        let row = query(
            "SELECT id, referral_id, stage, audience, expires_at, opened_at, used_at, session_hash
             FROM invitations
             WHERE id = $1 AND opened_at IS NOT NULL AND used_at IS NULL AND expires_at > $2",
        )
        .bind(id)
        .bind(timestamp(now))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(invitation_from_row).transpose()
    }

    /// Every invitation of a case, oldest first (staff views and tests).
    #[instrument(skip_all)]
    pub async fn invitations(&self, referral_id: &str) -> Result<Vec<Invitation>, StorageError> {
        let rows = query(
            "SELECT id, referral_id, stage, audience, expires_at, opened_at, used_at, session_hash
             FROM invitations WHERE referral_id = $1 ORDER BY created_at, id",
        )
        .bind(referral_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(invitation_from_row).collect()
    }

    /// Stores a stage sent through an invitation: marks the invitation used, keeps the
    /// answers (sealed), adds `stage_received` to the chronology and, when the case is still
    /// in the state the definition says, makes the transition the stage triggers; all in one
    /// transaction, so a second send (or a race) stores nothing.
    #[instrument(skip_all)]
    pub async fn receive_stage(&self, new: &NewStage<'_>) -> Result<bool, ReceiveError> {
        let id = new_id();
        let at = timestamp(new.at);
        let case = self.case_key_for_write(new.referral_id).await?;
        let answers =
            self.seal_json_in_case(&case, "referral_stages", "answers", &id, new.answers)?;
        let person = new
            .person
            .map(|p| self.seal_json_in_case(&case, "referrals", "person", new.referral_id, p))
            .transpose()?;
        let mut tx = self.begin_write().await.map_err(ReceiveError::from)?;
        let used = query(
            "UPDATE invitations SET used_at = $1, updated_at = $1
             WHERE id = $2 AND opened_at IS NOT NULL AND used_at IS NULL AND expires_at > $1",
        )
        .bind(&at)
        .bind(new.invitation_id)
        .execute(&mut *tx)
        .await
        .map_err(StorageError::from)?
        .rows_affected();
        if used == 0 {
            tx.rollback().await.map_err(StorageError::from)?;
            return Err(ReceiveError::InvitationSpent);
        }
        let inserted = query(
            "INSERT INTO referral_stages (id, referral_id, stage, audience, answers, invitation_id,
                received_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $7)",
        )
        .bind(&id)
        .bind(new.referral_id)
        .bind(new.stage)
        .bind(new.audience)
        .bind(answers)
        .bind(new.invitation_id)
        .bind(&at)
        .execute(&mut *tx)
        .await
        .map_err(StorageError::from_write);
        match inserted {
            Ok(_) => {}
            Err(StorageError::Conflict) => {
                tx.rollback().await.map_err(StorageError::from)?;
                return Err(ReceiveError::InvitationSpent);
            }
            Err(e) => return Err(e.into()),
        }
        if let Some((draft_id, keep)) = new.files {
            move_draft_files(&mut tx, draft_id, new.referral_id, keep, &at).await?;
        }
        let event = NewEvent {
            referral_id: new.referral_id,
            at: new.at,
            actor: "public",
            kind: "stage_received",
            from_status: None,
            to_status: None,
            reason: None,
            detail: Some(json!({ "stage": new.stage })),
        };
        self.insert_event(&mut tx, &event).await?;
        super::casework::mark_new_information(&mut tx, new.referral_id, new.at).await?;
        if let Some(person) = person {
            query("UPDATE referrals SET person = $1 WHERE id = $2")
                .bind(person)
                .bind(new.referral_id)
                .execute(&mut *tx)
                .await
                .map_err(StorageError::from)?;
        }
        let entry = AuditEntry::new(
            new.at,
            "public",
            "referral.stage_received",
            "referral",
            new.referral_id,
        );
        append_in(&mut tx, &self.audit, &entry).await?;
        let mut moved = false;
        if let Some((from, to, meets_sla)) = new.transition {
            let updated = query(
                AssertSqlSafe(format!(
                    "UPDATE referrals SET status = $1, updated_at = $2, queue_open = {},
                        sla_met_at = CASE WHEN $5 = 1 THEN COALESCE(sla_met_at, $2) ELSE sla_met_at END
                     WHERE id = $3 AND status = $4",
                    super::queue::queue_open_for("$1")
                )),
            )
            .bind(to)
            .bind(&at)
            .bind(new.referral_id)
            .bind(from)
            .bind(i64::from(meets_sla))
            .execute(&mut *tx)
            .await
            .map_err(StorageError::from)?
            .rows_affected();
            if updated == 1 {
                moved = true;
                let event = NewEvent {
                    referral_id: new.referral_id,
                    at: new.at,
                    actor: "public",
                    kind: "transition",
                    from_status: Some(from),
                    to_status: Some(to),
                    reason: None,
                    detail: Some(json!({ "decision": null, "by": "stage_received" })),
                };
                self.insert_event(&mut tx, &event).await?;
                let entry = AuditEntry::new(
                    new.at,
                    "public",
                    "referral.transition",
                    "referral",
                    new.referral_id,
                );
                append_in(&mut tx, &self.audit, &entry).await?;
            }
        }
        tx.commit().await.map_err(StorageError::from)?;
        if new.files.is_some() {
            self.move_files_into_case(new.referral_id).await?;
        }
        Ok(moved)
    }

    /// The later stages of a case (not the first, which is in `referrals.answers`), in the
    /// order received.
    #[instrument(skip_all)]
    pub async fn referral_stages(
        &self,
        referral_id: &str,
    ) -> Result<Vec<StageRecord>, StorageError> {
        let rows = query(
            "SELECT id, stage, audience, answers, received_at FROM referral_stages
             WHERE referral_id = $1 ORDER BY received_at, id",
        )
        .bind(referral_id)
        .fetch_all(&self.pool)
        .await?;
        let case = self.case_key(referral_id).await?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get(0)?;
                Ok(StageRecord {
                    stage: row.try_get(1)?,
                    audience: row.try_get(2)?,
                    answers: self.open_json_in_case(
                        case.as_ref(),
                        "referral_stages",
                        "answers",
                        &id,
                        &row.try_get::<Vec<u8>, _>(3)?,
                    )?,
                    received_at: parse_timestamp("received_at", &row.try_get::<String, _>(4)?)?,
                })
            })
            .collect()
    }

    /// Records in the chronology what became of a notification to the referrer
    /// (`notification_sent`, `notification_failed`, `notification_impossible`); `detail`
    /// names the kind of message and the masked address, never the address itself.
    #[instrument(skip_all)]
    pub async fn record_notification(
        &self,
        referral_id: &str,
        kind: &str,
        detail: Value,
        at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let mut tx = self.begin_write().await?;
        self.insert_notification_event(&mut tx, referral_id, kind, &detail, at)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn insert_notification_event(
        &self,
        tx: &mut Transaction<'static, Any>,
        referral_id: &str,
        kind: &str,
        detail: &Value,
        at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let event = NewEvent {
            referral_id,
            at,
            actor: "system",
            kind,
            from_status: None,
            to_status: None,
            reason: None,
            detail: Some(detail.clone()),
        };
        self.insert_event(tx, &event).await?;
        let action = format!("referral.{kind}");
        let entry = AuditEntry::new(at, "system", &action, "referral", referral_id);
        append_in(tx, &self.audit, &entry).await
    }
}

impl Storage {
    /// The referral with this id.
    #[instrument(skip_all)]
    pub async fn find_referral_by_id(
        &self,
        referral_id: &str,
    ) -> Result<Option<super::referrals::Referral>, StorageError> {
        let reference: Option<String> = query("SELECT reference FROM referrals WHERE id = $1")
            .bind(referral_id)
            .fetch_optional(&self.pool)
            .await?
            .map(|row| row.try_get(0))
            .transpose()?;
        match reference {
            Some(reference) => self.find_referral(&reference).await,
            None => Ok(None),
        }
    }
}
