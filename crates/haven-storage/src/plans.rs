//! The plan of a case (`plan_goals`, `plan_actions`, `plan_reviews`) and the outcome it
//! closes with (`case_closures`). Text is sealed (goal and action bodies, review summaries,
//! the closing narrative); owners, dates and done flags stay clear for the queue. Every write
//! adds a chronology event and an audit entry in its transaction; the closure is written in
//! the transaction of the closing status change.

use chrono::{DateTime, NaiveDate, Utc};
use haven_core::casework::ClosureChoice;
use serde::Serialize;
use serde_json::json;
use sqlx::{Any, Row, Transaction, query};
use tracing::instrument;

use super::audit::{AuditEntry, append_in};
use super::triage::{NewEvent, StatusChange};
use super::{Storage, StorageError, flag, parse_date, parse_timestamp, timestamp};
use crate::crypto;

/// A goal of the plan.
#[derive(Clone)]
pub struct Goal {
    pub id: String,
    pub body: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// An action of the plan.
#[derive(Clone)]
pub struct PlanAction {
    pub id: String,
    pub goal_id: Option<String>,
    pub body: String,
    /// The owner's email.
    pub owner: String,
    pub due_on: NaiveDate,
    pub done: bool,
    pub done_at: Option<DateTime<Utc>>,
    pub done_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A review of the plan.
#[derive(Clone)]
pub struct Review {
    pub id: String,
    pub reviewed_on: NaiveDate,
    pub summary: String,
    pub next_review_on: Option<NaiveDate>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// The outcome a case closed with.
#[derive(Clone)]
pub struct ClosureRecord {
    pub outcome: String,
    pub narrative: String,
    pub closed_by: String,
    pub closed_at: DateTime<Utc>,
}

macro_rules! redacted_debug {
    ($($t:ty),*) => {$(
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($t)).finish_non_exhaustive()
            }
        }
    )*};
}
redacted_debug!(Goal, PlanAction, Review, ClosureRecord);

/// The whole plan of a case.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub goals: Vec<Goal>,
    pub actions: Vec<PlanAction>,
    pub reviews: Vec<Review>,
}

/// Counts the workflow's guards read (`case.meetings`, `case.plan.*`).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct CaseworkCounts {
    pub meetings: i64,
    pub goals: i64,
    pub actions: i64,
    pub open_actions: i64,
    pub overdue_actions: i64,
    pub reviews: i64,
}

/// A new plan action.
pub struct NewPlanAction<'a> {
    pub referral_id: &'a str,
    pub goal_id: Option<&'a str>,
    pub body: &'a str,
    pub owner: &'a str,
    pub due_on: NaiveDate,
    pub actor: &'a str,
    pub at: DateTime<Utc>,
}

/// A new plan review.
pub struct NewReview<'a> {
    pub referral_id: &'a str,
    pub reviewed_on: NaiveDate,
    pub summary: &'a str,
    pub next_review_on: Option<NaiveDate>,
    pub actor: &'a str,
    pub at: DateTime<Utc>,
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

impl Storage {
    /// Writes a casework event to the case's chronology and its audit entry
    /// (`referral.<kind>`), in the caller's transaction.
    async fn record_in(
        &self,
        tx: &mut Transaction<'static, Any>,
        event: &NewEvent<'_>,
    ) -> Result<(), StorageError> {
        self.insert_event(tx, event).await?;
        let action = format!("referral.{}", event.kind);
        let entry = AuditEntry::new(
            event.at,
            event.actor,
            &action,
            "referral",
            event.referral_id,
        );
        append_in(tx, &self.audit, &entry).await
    }
}

fn event<'a>(
    referral_id: &'a str,
    at: DateTime<Utc>,
    actor: &'a str,
    kind: &'a str,
    detail: serde_json::Value,
) -> NewEvent<'a> {
    NewEvent {
        referral_id,
        at,
        actor,
        kind,
        from_status: None,
        to_status: None,
        reason: None,
        detail: Some(detail),
    }
}

impl Storage {
    /// Adds a goal to a case's plan; returns its id.
    #[instrument(skip_all)]
    pub async fn add_goal(
        &self,
        referral_id: &str,
        body: &str,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<String, StorageError> {
        let id = crypto::new_id();
        let case = self.case_key_for_write(referral_id).await?;
        let sealed = self.seal_text_in_case(&case, "plan_goals", "body", &id, body)?;
        let mut tx = self.begin_write().await?;
        query(
            "INSERT INTO plan_goals (id, referral_id, body, created_by, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(&id)
        .bind(referral_id)
        .bind(sealed)
        .bind(actor)
        .bind(timestamp(at))
        .execute(&mut *tx)
        .await?;
        let detail = json!({ "goal": id });
        self.record_in(
            &mut tx,
            &event(referral_id, at, actor, "plan_goal_added", detail),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Adds an action to a case's plan; returns its id. `goal_id` must be a goal of the same
    /// case (the caller checks).
    #[instrument(skip_all)]
    pub async fn add_plan_action(&self, a: &NewPlanAction<'_>) -> Result<String, StorageError> {
        let id = crypto::new_id();
        let case = self.case_key_for_write(a.referral_id).await?;
        let sealed = self.seal_text_in_case(&case, "plan_actions", "body", &id, a.body)?;
        let mut tx = self.begin_write().await?;
        query(
            "INSERT INTO plan_actions (id, referral_id, goal_id, body, owner, due_on, done,
                created_by, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $8)",
        )
        .bind(&id)
        .bind(a.referral_id)
        .bind(a.goal_id)
        .bind(sealed)
        .bind(a.owner)
        .bind(day(a.due_on))
        .bind(a.actor)
        .bind(timestamp(a.at))
        .execute(&mut *tx)
        .await?;
        refresh_plan_due(&mut tx, a.referral_id).await?;
        let detail = json!({ "action": id, "owner": a.owner, "due_on": day(a.due_on) });
        self.record_in(
            &mut tx,
            &event(a.referral_id, a.at, a.actor, "plan_action_added", detail),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Marks a plan action of this case done or not done. `false` when the case has no such
    /// action.
    #[instrument(skip_all)]
    pub async fn set_plan_action_done(
        &self,
        referral_id: &str,
        action_id: &str,
        done: bool,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let stamp = timestamp(at);
        let mut tx = self.begin_write().await?;
        let updated = query(
            "UPDATE plan_actions SET done = $1, done_at = $2, done_by = $3, updated_at = $4
             WHERE id = $5 AND referral_id = $6",
        )
        .bind(flag(done))
        .bind(done.then_some(stamp.as_str()))
        .bind(done.then_some(actor))
        .bind(&stamp)
        .bind(action_id)
        .bind(referral_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        refresh_plan_due(&mut tx, referral_id).await?;
        let kind = if done {
            "plan_action_done"
        } else {
            "plan_action_reopened"
        };
        let detail = json!({ "action": action_id });
        self.record_in(&mut tx, &event(referral_id, at, actor, kind, detail))
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Gives a plan action of this case a new owner and/or due date (`None`: kept). `false`
    /// when the case has no such action.
    #[instrument(skip_all)]
    pub async fn change_plan_action(
        &self,
        referral_id: &str,
        action_id: &str,
        owner: Option<&str>,
        due_on: Option<NaiveDate>,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let due = due_on.map(day);
        let mut tx = self.begin_write().await?;
        let updated = query(
            "UPDATE plan_actions SET owner = COALESCE($1, owner), due_on = COALESCE($2, due_on),
                updated_at = $3
             WHERE id = $4 AND referral_id = $5",
        )
        .bind(owner)
        .bind(due.as_deref())
        .bind(timestamp(at))
        .bind(action_id)
        .bind(referral_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        refresh_plan_due(&mut tx, referral_id).await?;
        let detail = json!({ "action": action_id, "owner": owner, "due_on": due });
        self.record_in(
            &mut tx,
            &event(referral_id, at, actor, "plan_action_changed", detail),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Adds a review of a case's plan; returns its id.
    #[instrument(skip_all)]
    pub async fn add_review(&self, r: &NewReview<'_>) -> Result<String, StorageError> {
        let id = crypto::new_id();
        let case = self.case_key_for_write(r.referral_id).await?;
        let sealed = self.seal_text_in_case(&case, "plan_reviews", "summary", &id, r.summary)?;
        let mut tx = self.begin_write().await?;
        query(
            "INSERT INTO plan_reviews (id, referral_id, reviewed_on, summary, next_review_on,
                created_by, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(&id)
        .bind(r.referral_id)
        .bind(day(r.reviewed_on))
        .bind(sealed)
        .bind(r.next_review_on.map(day))
        .bind(r.actor)
        .bind(timestamp(r.at))
        .execute(&mut *tx)
        .await?;
        let detail = json!({
            "review": id, "reviewed_on": day(r.reviewed_on),
            "next_review_on": r.next_review_on.map(day),
        });
        self.record_in(
            &mut tx,
            &event(r.referral_id, r.at, r.actor, "plan_reviewed", detail),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// A case's plan: goals and actions in the order added, actions by due date, reviews
    /// oldest first (three queries, whatever the plan's size).
    #[instrument(skip_all)]
    pub async fn plan(&self, referral_id: &str) -> Result<Plan, StorageError> {
        let case = self.case_key(referral_id).await?;
        let case = case.as_ref();
        let goals = query(
            "SELECT id, body, created_by, created_at FROM plan_goals
             WHERE referral_id = $1 ORDER BY created_at, id",
        )
        .bind(referral_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            let id: String = row.try_get("id")?;
            Ok(Goal {
                body: self.open_text_in_case(
                    case,
                    "plan_goals",
                    "body",
                    &id,
                    &row.try_get::<Vec<u8>, _>("body")?,
                )?,
                created_by: row.try_get("created_by")?,
                created_at: parse_timestamp(
                    "plan_goals.created_at",
                    &row.try_get::<String, _>("created_at")?,
                )?,
                id,
            })
        })
        .collect::<Result<Vec<_>, StorageError>>()?;
        let actions = query(
            "SELECT id, goal_id, body, owner, due_on, done, done_at, done_by, created_at
             FROM plan_actions WHERE referral_id = $1 ORDER BY due_on, created_at, id",
        )
        .bind(referral_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            let id: String = row.try_get("id")?;
            Ok(PlanAction {
                goal_id: row.try_get("goal_id")?,
                body: self.open_text_in_case(
                    case,
                    "plan_actions",
                    "body",
                    &id,
                    &row.try_get::<Vec<u8>, _>("body")?,
                )?,
                owner: row.try_get("owner")?,
                due_on: parse_date(&row.try_get::<String, _>("due_on")?)?,
                done: row.try_get::<i64, _>("done")? != 0,
                done_at: row
                    .try_get::<Option<String>, _>("done_at")?
                    .map(|t| parse_timestamp("plan_actions.done_at", &t))
                    .transpose()?,
                done_by: row.try_get("done_by")?,
                created_at: parse_timestamp(
                    "plan_actions.created_at",
                    &row.try_get::<String, _>("created_at")?,
                )?,
                id,
            })
        })
        .collect::<Result<Vec<_>, StorageError>>()?;
        let reviews = query(
            "SELECT id, reviewed_on, summary, next_review_on, created_by, created_at
             FROM plan_reviews WHERE referral_id = $1 ORDER BY reviewed_on, created_at, id",
        )
        .bind(referral_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            let id: String = row.try_get("id")?;
            Ok(Review {
                reviewed_on: parse_date(&row.try_get::<String, _>("reviewed_on")?)?,
                summary: self.open_text_in_case(
                    case,
                    "plan_reviews",
                    "summary",
                    &id,
                    &row.try_get::<Vec<u8>, _>("summary")?,
                )?,
                next_review_on: row
                    .try_get::<Option<String>, _>("next_review_on")?
                    .as_deref()
                    .map(parse_date)
                    .transpose()?,
                created_by: row.try_get("created_by")?,
                created_at: parse_timestamp(
                    "plan_reviews.created_at",
                    &row.try_get::<String, _>("created_at")?,
                )?,
                id,
            })
        })
        .collect::<Result<Vec<_>, StorageError>>()?;
        Ok(Plan {
            goals,
            actions,
            reviews,
        })
    }

    /// Whether this case has a goal with this id.
    #[instrument(skip_all)]
    pub async fn has_goal(&self, referral_id: &str, goal_id: &str) -> Result<bool, StorageError> {
        let row = query("SELECT 1 AS one FROM plan_goals WHERE id = $1 AND referral_id = $2")
            .bind(goal_id)
            .bind(referral_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// The counts guards read, in one query. `today` is the UK date overdue actions are
    /// counted against.
    #[instrument(skip_all)]
    pub async fn casework_counts(
        &self,
        referral_id: &str,
        today: NaiveDate,
    ) -> Result<CaseworkCounts, StorageError> {
        let row = query(
            "SELECT
               (SELECT COUNT(*) FROM case_meetings WHERE referral_id = $1) AS meetings,
               (SELECT COUNT(*) FROM plan_goals WHERE referral_id = $1) AS goals,
               (SELECT COUNT(*) FROM plan_actions WHERE referral_id = $1) AS actions,
               (SELECT COUNT(*) FROM plan_actions WHERE referral_id = $1 AND done = 0) AS open_actions,
               (SELECT COUNT(*) FROM plan_actions
                  WHERE referral_id = $1 AND done = 0 AND due_on < $2) AS overdue_actions,
               (SELECT COUNT(*) FROM plan_reviews WHERE referral_id = $1) AS reviews",
        )
        .bind(referral_id)
        .bind(day(today))
        .fetch_one(&self.pool)
        .await?;
        Ok(CaseworkCounts {
            meetings: row.try_get("meetings")?,
            goals: row.try_get("goals")?,
            actions: row.try_get("actions")?,
            open_actions: row.try_get("open_actions")?,
            overdue_actions: row.try_get("overdue_actions")?,
            reviews: row.try_get("reviews")?,
        })
    }

    /// Records the outcome a case closes with, inside the transaction that closes it (its
    /// chronology event and audit entry too).
    pub(crate) async fn insert_closure_in(
        &self,
        tx: &mut Transaction<'static, Any>,
        change: &StatusChange<'_>,
        closure: &ClosureChoice,
    ) -> Result<(), StorageError> {
        let id = crypto::new_id();
        let case = self.case_key_in(tx, change.referral_id).await?;
        let sealed =
            self.seal_text_in_case(&case, "case_closures", "narrative", &id, &closure.narrative)?;
        let at = timestamp(change.at);
        query(
            // A case reopened (a workflow's `reopen` transition) and closed again keeps its
            // latest closure here; the chronology keeps each.
            "INSERT INTO case_closures (id, referral_id, outcome, narrative, closed_by, closed_at,
                created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6, $6)
             ON CONFLICT (referral_id) DO UPDATE SET id = excluded.id,
                outcome = excluded.outcome, narrative = excluded.narrative,
                closed_by = excluded.closed_by, closed_at = excluded.closed_at,
                updated_at = excluded.updated_at",
        )
        .bind(&id)
        .bind(change.referral_id)
        .bind(&closure.outcome)
        .bind(sealed)
        .bind(change.actor)
        .bind(&at)
        .execute(&mut **tx)
        .await
        .map_err(StorageError::from_write)?;
        let detail = json!({ "outcome": closure.outcome });
        let closing = event(
            change.referral_id,
            change.at,
            change.actor,
            "closure_outcome",
            detail,
        );
        self.record_in(tx, &closing).await
    }

    /// The outcome a case closed with, if it closed with one.
    #[instrument(skip_all)]
    pub async fn closure(&self, referral_id: &str) -> Result<Option<ClosureRecord>, StorageError> {
        let Some(row) = query(
            "SELECT id, outcome, narrative, closed_by, closed_at FROM case_closures
             WHERE referral_id = $1",
        )
        .bind(referral_id)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let id: String = row.try_get("id")?;
        Ok(Some(ClosureRecord {
            outcome: row.try_get("outcome")?,
            narrative: self.open_text_in_case(
                self.case_key(referral_id).await?.as_ref(),
                "case_closures",
                "narrative",
                &id,
                &row.try_get::<Vec<u8>, _>("narrative")?,
            )?,
            closed_by: row.try_get("closed_by")?,
            closed_at: parse_timestamp(
                "case_closures.closed_at",
                &row.try_get::<String, _>("closed_at")?,
            )?,
        }))
    }
}

/// Keeps the case's `plan_due_on` (the queue's "overdue plan actions" filter reads it) in the
/// same transaction as the change to one of its actions.
async fn refresh_plan_due(
    tx: &mut Transaction<'static, Any>,
    referral_id: &str,
) -> Result<(), StorageError> {
    query(super::queue::REFRESH_PLAN_DUE)
        .bind(referral_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
