//! The plan of a case: goals, actions with owners and due dates, reviews, and the closure
//! outcome once closed. Input is checked here (each bad field named, all at once) and by the
//! pure `haven_core::casework`.

use chrono::{DateTime, NaiveDate, Utc};
use haven_core::calendar;
use haven_core::casework::{self, MAX_TEXT};
use haven_core::definition::ServiceDefinition;
use serde::Serialize;
use utoipa::ToSchema;

use super::work::is_team_worker;
use super::{CaseError, Cases};
use crate::access::Staff;
use crate::policy::Action;
use crate::storage::audit::AuditEntry;
use crate::storage::plans::{NewPlanAction, NewReview, Plan};
use crate::storage::users::normalise_email;
use crate::storage::{Storage, StorageError, timestamp};

/// A field problem: (field, message).
pub type Problem = (String, String);

/// Trimmed text, required and at most [`MAX_TEXT`] characters.
pub fn required_text(
    problems: &mut Vec<Problem>,
    field: &str,
    text: Option<&str>,
    what: &str,
) -> Option<String> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => {
            problems.push((field.to_owned(), format!("Enter {what}")));
            None
        }
        Some(t) if t.chars().count() > MAX_TEXT => {
            problems.push((
                field.to_owned(),
                format!("Must be {MAX_TEXT} characters or fewer"),
            ));
            None
        }
        Some(t) => Some(t.to_owned()),
    }
}

/// A `YYYY-MM-DD` date between 2000 and 2100; blank is `Ok(None)`.
pub fn date(problems: &mut Vec<Problem>, field: &str, text: Option<&str>) -> Option<NaiveDate> {
    let text = text.map(str::trim).filter(|t| !t.is_empty())?;
    match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        Ok(d) if (2000..=2100).contains(&chrono::Datelike::year(&d)) => Some(d),
        _ => {
            problems.push((
                field.to_owned(),
                "Enter a real date as YYYY-MM-DD (for example 2027-01-31)".to_owned(),
            ));
            None
        }
    }
}

/// The `owner` problem: not a worker of `team` (see [`is_team_worker`]).
fn owner_problem(team: &str) -> Problem {
    (
        "owner".to_owned(),
        format!(
            "Choose the owner: an active caseworker, triage officer or manager of team `{team}`"
        ),
    )
}

/// A goal of the plan.
#[derive(Serialize, ToSchema)]
pub struct GoalView {
    pub id: String,
    pub text: String,
    pub created_by: String,
    pub created_at: String,
}

/// An action of the plan.
#[derive(Serialize, ToSchema)]
pub struct PlanActionView {
    pub id: String,
    pub goal_id: Option<String>,
    pub text: String,
    /// The owner's email.
    pub owner: String,
    /// `YYYY-MM-DD`.
    pub due_on: String,
    pub done: bool,
    /// Not done and past its due date (UK date).
    pub overdue: bool,
    pub done_at: Option<String>,
    pub done_by: Option<String>,
}

/// A review of the plan.
#[derive(Serialize, ToSchema)]
pub struct ReviewView {
    pub id: String,
    pub reviewed_on: String,
    pub summary: String,
    pub next_review_on: Option<String>,
    pub created_by: String,
}

/// The outcome a case closed with.
#[derive(Serialize, ToSchema)]
pub struct ClosureView {
    pub outcome: String,
    pub outcome_label: String,
    pub narrative: String,
    pub closed_by: String,
    pub closed_at: String,
}

/// A case's plan.
#[derive(Serialize, ToSchema)]
pub struct PlanView {
    pub goals: Vec<GoalView>,
    pub actions: Vec<PlanActionView>,
    pub reviews: Vec<ReviewView>,
    /// The next review date of the latest review.
    pub next_review_on: Option<String>,
    pub closure: Option<ClosureView>,
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// The plan as the API shows it.
pub fn plan_view(
    def: &ServiceDefinition,
    plan: Plan,
    closure: Option<crate::storage::plans::ClosureRecord>,
    today: NaiveDate,
) -> PlanView {
    let outcome_label = |key: &str| {
        def.casework
            .as_ref()
            .and_then(|c| c.closure.as_ref())
            .and_then(|c| c.outcomes.iter().find(|o| o.key == key))
            .map_or_else(|| key.to_owned(), |o| o.label.clone())
    };
    PlanView {
        next_review_on: plan.reviews.last().and_then(|r| r.next_review_on).map(day),
        goals: plan
            .goals
            .into_iter()
            .map(|g| GoalView {
                id: g.id,
                text: g.body,
                created_by: g.created_by,
                created_at: timestamp(g.created_at),
            })
            .collect(),
        actions: plan
            .actions
            .into_iter()
            .map(|a| PlanActionView {
                overdue: casework::action_overdue(a.due_on, a.done, today),
                id: a.id,
                goal_id: a.goal_id,
                text: a.body,
                owner: a.owner,
                due_on: day(a.due_on),
                done: a.done,
                done_at: a.done_at.map(timestamp),
                done_by: a.done_by,
            })
            .collect(),
        reviews: plan
            .reviews
            .into_iter()
            .map(|r| ReviewView {
                id: r.id,
                reviewed_on: day(r.reviewed_on),
                summary: r.summary,
                next_review_on: r.next_review_on.map(day),
                created_by: r.created_by,
            })
            .collect(),
        closure: closure.map(|c| ClosureView {
            outcome_label: outcome_label(&c.outcome),
            outcome: c.outcome,
            narrative: c.narrative,
            closed_by: c.closed_by,
            closed_at: timestamp(c.closed_at),
        }),
    }
}

/// What a valid change to a plan action changes.
pub struct PlanActionChange {
    pub done: Option<bool>,
    pub owner: Option<String>,
    pub due_on: Option<NaiveDate>,
}

/// Text given, trimmed; blank counts as not given.
fn given(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|t| !t.is_empty())
}

/// Checks a change to an action of a case of `team`: each bad field named, and at least one
/// field given.
pub async fn check_action_change(
    storage: &Storage,
    team: &str,
    status: Option<&str>,
    owner: Option<&str>,
    due_on: Option<&str>,
) -> Result<Result<PlanActionChange, Vec<Problem>>, StorageError> {
    let mut problems = Vec::new();
    let done = match given(status) {
        None => None,
        Some("done") => Some(true),
        Some("open") => Some(false),
        Some(_) => {
            problems.push(("status".to_owned(), "Choose one of: done, open".to_owned()));
            None
        }
    };
    let owner = given(owner).map(normalise_email);
    if let Some(o) = &owner
        && !is_team_worker(storage, team, o).await?
    {
        problems.push(owner_problem(team));
    }
    let due_on = date(&mut problems, "due_on", given(due_on));
    if problems.is_empty() && done.is_none() && owner.is_none() && due_on.is_none() {
        problems.push((
            "status".to_owned(),
            "Give the action's new status, owner or due date".to_owned(),
        ));
    }
    Ok(if problems.is_empty() {
        Ok(PlanActionChange {
            done,
            owner,
            due_on,
        })
    } else {
        Err(problems)
    })
}

impl PlanActionChange {
    /// Stores the change; `false` when the case has no such action.
    pub async fn apply(
        &self,
        storage: &Storage,
        referral_id: &str,
        action_id: &str,
        actor: &str,
        at: chrono::DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        if self.owner.is_some() || self.due_on.is_some() {
            let found = storage
                .change_plan_action(
                    referral_id,
                    action_id,
                    self.owner.as_deref(),
                    self.due_on,
                    actor,
                    at,
                )
                .await?;
            if !found {
                return Ok(false);
            }
        }
        match self.done {
            Some(done) => {
                storage
                    .set_plan_action_done(referral_id, action_id, done, actor, at)
                    .await
            }
            None => Ok(true),
        }
    }
}

/// A review's date, summary and next review date, or the problems (field names as the API's).
pub fn check_review(
    def: &ServiceDefinition,
    reviewed_on: Option<&str>,
    summary: Option<&str>,
    next_review_on: Option<&str>,
) -> Result<(NaiveDate, String, Option<NaiveDate>), Vec<Problem>> {
    let mut problems = Vec::new();
    let reviewed = date(&mut problems, "reviewed_on", reviewed_on);
    if reviewed.is_none() && !problems.iter().any(|(f, _)| f == "reviewed_on") {
        problems.push((
            "reviewed_on".to_owned(),
            "Enter the date of the review".to_owned(),
        ));
    }
    let summary = required_text(&mut problems, "summary", summary, "a summary of the review");
    let next = date(&mut problems, "next_review_on", next_review_on);
    if let (Some(r), Some(n)) = (reviewed, next)
        && n < r
    {
        problems.push((
            "next_review_on".to_owned(),
            "The next review must be on or after this review".to_owned(),
        ));
    }
    match (reviewed, summary) {
        (Some(r), Some(s)) if problems.is_empty() => {
            Ok((r, s, casework::next_review(def, r, next)))
        }
        _ => Err(problems),
    }
}

/// A new plan action as given (each field checked by [`Cases::add_plan_action`]).
#[derive(Default)]
pub struct PlanActionInput<'a> {
    pub text: Option<&'a str>,
    pub owner: Option<&'a str>,
    pub due_on: Option<&'a str>,
    pub goal_id: Option<&'a str>,
}

/// A change to a plan action as given: any of its status (`done` or `open`), owner and due
/// date (checked by [`check_action_change`]).
#[derive(Default)]
pub struct PlanActionEdit<'a> {
    pub status: Option<&'a str>,
    pub owner: Option<&'a str>,
    pub due_on: Option<&'a str>,
}

/// A review as given (checked by [`check_review`]).
#[derive(Default)]
pub struct ReviewInput<'a> {
    pub reviewed_on: Option<&'a str>,
    pub summary: Option<&'a str>,
    pub next_review_on: Option<&'a str>,
}

impl Cases<'_> {
    /// The plan of a case as it stands at `now`.
    async fn plan_now(
        &self,
        def: &ServiceDefinition,
        referral_id: &str,
        now: DateTime<Utc>,
    ) -> Result<PlanView, StorageError> {
        let plan = self.storage.plan(referral_id).await?;
        let closure = self.storage.closure(referral_id).await?;
        Ok(plan_view(def, plan, closure, calendar::london_date(now)))
    }

    /// The plan of a case (audited as `referral.plan_viewed`).
    pub async fn plan(
        &self,
        staff: &Staff,
        reference: &str,
        now: DateTime<Utc>,
    ) -> Result<PlanView, CaseError> {
        let (referral, def) = self.find(staff, reference, Action::ViewCase).await?;
        let view = self.plan_now(&def, &referral.id, now).await?;
        let entry = AuditEntry::new(
            now,
            staff.actor(),
            "referral.plan_viewed",
            "referral",
            &referral.id,
        );
        self.storage.append_audit(&entry).await?;
        Ok(view)
    }

    /// Adds a goal; the plan after the change. Field at fault: `text`.
    pub async fn add_goal(
        &self,
        staff: &Staff,
        reference: &str,
        text: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<PlanView, CaseError> {
        let (referral, def) = self.find(staff, reference, Action::Casework).await?;
        let mut problems = Vec::new();
        let Some(text) = required_text(&mut problems, "text", text, "the goal") else {
            return Err(CaseError::invalid_fields(problems));
        };
        self.storage
            .add_goal(&referral.id, &text, &staff.actor(), now)
            .await?;
        Ok(self.plan_now(&def, &referral.id, now).await?)
    }

    /// Adds an action; the plan after the change. Fields at fault: `text`, `owner` (not a
    /// worker of the case's team), `due_on`, `goal_id` (not a goal of this plan).
    pub async fn add_plan_action(
        &self,
        staff: &Staff,
        reference: &str,
        input: &PlanActionInput<'_>,
        now: DateTime<Utc>,
    ) -> Result<PlanView, CaseError> {
        let (referral, def) = self.find(staff, reference, Action::Casework).await?;
        let mut problems = Vec::new();
        let text = required_text(&mut problems, "text", input.text, "the action");
        let owner = input.owner.map(normalise_email).filter(|o| !o.is_empty());
        let owner_fits = match &owner {
            Some(o) => is_team_worker(self.storage, &referral.team, o).await?,
            None => false,
        };
        if !owner_fits {
            problems.push(owner_problem(&referral.team));
        }
        let due_on = date(&mut problems, "due_on", input.due_on);
        if due_on.is_none() && !problems.iter().any(|(f, _)| f == "due_on") {
            problems.push(("due_on".to_owned(), "Enter the due date".to_owned()));
        }
        let goal_id = input.goal_id.map(str::trim).filter(|g| !g.is_empty());
        if let Some(goal) = goal_id
            && !self.storage.has_goal(&referral.id, goal).await?
        {
            problems.push((
                "goal_id".to_owned(),
                "There is no such goal in this plan".to_owned(),
            ));
        }
        let (Some(text), Some(owner), Some(due_on), true) =
            (text, owner, due_on, problems.is_empty())
        else {
            return Err(CaseError::invalid_fields(problems));
        };
        self.storage
            .add_plan_action(&NewPlanAction {
                referral_id: &referral.id,
                goal_id,
                body: &text,
                owner: &owner,
                due_on,
                actor: &staff.actor(),
                at: now,
            })
            .await?;
        Ok(self.plan_now(&def, &referral.id, now).await?)
    }

    /// Marks plan action `id` done (or not done again), gives it a new owner, or moves its
    /// due date; the plan after the change. No such action: [`CaseError::NotFound`]. Fields
    /// at fault: `status` (not `done` or `open`, or nothing to change), `owner`, `due_on`.
    pub async fn update_plan_action(
        &self,
        staff: &Staff,
        reference: &str,
        id: &str,
        change: &PlanActionEdit<'_>,
        now: DateTime<Utc>,
    ) -> Result<PlanView, CaseError> {
        let (referral, def) = self.find(staff, reference, Action::Casework).await?;
        let change = check_action_change(
            self.storage,
            &referral.team,
            change.status,
            change.owner,
            change.due_on,
        )
        .await?
        .map_err(CaseError::invalid_fields)?;
        let found = change
            .apply(self.storage, &referral.id, id, &staff.actor(), now)
            .await?;
        if !found {
            return Err(CaseError::NotFound);
        }
        Ok(self.plan_now(&def, &referral.id, now).await?)
    }

    /// Records a review of the plan; the plan after the change. Fields at fault:
    /// `reviewed_on`, `summary`, `next_review_on`.
    pub async fn add_review(
        &self,
        staff: &Staff,
        reference: &str,
        input: &ReviewInput<'_>,
        now: DateTime<Utc>,
    ) -> Result<PlanView, CaseError> {
        let (referral, def) = self.find(staff, reference, Action::Casework).await?;
        let (reviewed_on, summary, next) =
            check_review(&def, input.reviewed_on, input.summary, input.next_review_on)
                .map_err(CaseError::invalid_fields)?;
        self.storage
            .add_review(&NewReview {
                referral_id: &referral.id,
                reviewed_on,
                summary: &summary,
                next_review_on: next,
                actor: &staff.actor(),
                at: now,
            })
            .await?;
        Ok(self.plan_now(&def, &referral.id, now).await?)
    }
}
