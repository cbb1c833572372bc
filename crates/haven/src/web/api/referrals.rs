//! `GET /api/v1/referrals/{reference}`: one referral, for staff of its team (or admins and
//! auditors). Every read is written to the audit log before the data is returned.

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::cases::{CaseFile, RequiredActionView, screening_view};
use crate::storage::timestamp;
use crate::web::AppState;
use crate::web::error::{ApiError, ErrorBody};
use crate::web::extract::StaffAuth;

/// A referral as staff see it.
#[derive(Serialize, ToSchema)]
pub struct ReferralView {
    pub reference: String,
    pub service: String,
    pub stage: String,
    pub audience: String,
    /// Workflow state.
    pub status: String,
    /// RFC 3339, UTC.
    pub received_at: String,
    /// First-contact due date `YYYY-MM-DD`, when the service has that SLA.
    pub due_by: Option<String>,
    pub urgent: bool,
    /// The screening result (see the contract), or null before screening.
    #[schema(value_type = Option<Object>)]
    pub screening: Option<Value>,
    pub allocation: Allocation,
    /// The screening's required actions as a checklist (`open`, `done`, `waived`).
    pub required_actions: Vec<RequiredActionView>,
    /// Workflow transitions the caller's role may make from the current status (guards
    /// are checked when one is attempted).
    pub available_transitions: Vec<TransitionOption>,
    /// The answers as submitted (without third-party information for roles the access
    /// policy does not allow it).
    #[schema(value_type = Object)]
    pub answers: Value,
    /// Who reported the case: whether a young person reported about themselves, and how to
    /// contact the reporter safely (from `answers` as this caller may see them).
    pub reported_by: ReportedByView,
    /// Stages received after the first, in order (Cyber Choices' detailed referral, sent
    /// through the team's link), filtered like `answers`.
    pub later_stages: Vec<LaterStageView>,
}

/// Who reported a case.
#[derive(Serialize, ToSchema)]
pub struct ReportedByView {
    /// The reporter is the young person the report is about (their audience says so).
    pub about_self: bool,
    /// "Reported by the young person themselves" when `about_self`, otherwise null.
    pub words: Option<String>,
    /// The reporter's contact wishes and safety notes ("don't phone my mum").
    pub contact_wishes: Vec<ContactWishView>,
}

/// One contact wish: the question and the reporter's answer in words.
#[derive(Serialize, ToSchema)]
pub struct ContactWishView {
    /// The question's key (`reporter.safe_contact`).
    pub key: String,
    pub label: String,
    pub text: String,
}

impl From<haven_core::reporter::ReportedBy> for ReportedByView {
    fn from(r: haven_core::reporter::ReportedBy) -> Self {
        Self {
            about_self: r.about_self,
            words: r.words,
            contact_wishes: r
                .contact_wishes
                .into_iter()
                .map(|w| ContactWishView {
                    key: w.key,
                    label: w.label,
                    text: w.text,
                })
                .collect(),
        }
    }
}

/// A stage received after the first, attached to the same case.
#[derive(Serialize, ToSchema)]
pub struct LaterStageView {
    pub stage: String,
    pub audience: String,
    /// RFC 3339, UTC.
    pub received_at: String,
    #[schema(value_type = Object)]
    pub answers: Value,
}

/// A transition the caller may attempt.
#[derive(Serialize, ToSchema)]
pub struct TransitionOption {
    pub to: String,
    pub label: String,
    /// Decision keys to choose from (empty when the step takes none).
    pub decisions: Vec<String>,
    pub reason_required: bool,
}

/// Who works the case.
#[derive(Serialize, ToSchema)]
pub struct Allocation {
    pub worker: Option<String>,
    /// How the case is worked (SECOS: `individual_case_work` or `group_work`).
    pub mode: Option<String>,
}

/// One referral by its reference.
#[utoipa::path(
    get,
    path = "/api/v1/referrals/{reference}",
    tag = "referrals",
    params(("reference" = String, Path, description = "Case reference, e.g. `SEC-7K3M-9QXD`")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The referral", body = ReferralView),
        (status = 401, description = "No valid API token", body = ErrorBody),
        (status = 404, description = "No such referral, or not one this user's team may see", body = ErrorBody)
    )
)]
pub async fn show(
    State(state): State<AppState>,
    StaffAuth(staff): StaffAuth,
    Path(reference): Path<String>,
) -> Result<Json<ReferralView>, ApiError> {
    // Another team's case answers exactly like a missing one, so references cannot be
    // probed.
    let now = state.now();
    let case = state
        .cases()
        .open(&staff, &reference, crate::policy::Action::ViewCase, now)
        .await?;
    let required_actions = case.required_actions();
    let mode = case.allocation_mode();
    let CaseFile { referral, def, .. } = case;
    let scope = crate::policy::CaseScope {
        service: &referral.service,
        team: &referral.team,
    };
    let third_party_allowed = state
        .staff
        .policy
        .decide(&staff, crate::policy::Action::ViewThirdParty, Some(scope))
        .allowed();
    let answers = if third_party_allowed {
        referral.answers.clone()
    } else {
        haven_core::disclosure::without_third_party(&def, &referral.stage, &referral.answers)
    };
    let reported_by = haven_core::reporter::reported_by(&def, &referral.audience, &answers).into();
    let later_stages = state
        .storage
        .referral_stages(&referral.id)
        .await?
        .into_iter()
        .map(|st| LaterStageView {
            answers: if third_party_allowed {
                st.answers
            } else {
                haven_core::disclosure::without_third_party(&def, &st.stage, &st.answers)
            },
            received_at: timestamp(st.received_at),
            stage: st.stage,
            audience: st.audience,
        })
        .collect();
    let available_transitions =
        haven_core::workflow::available_transitions(&def, &referral.status, staff.role.as_str())
            .into_iter()
            .map(|t| TransitionOption {
                to: t.to.clone(),
                label: t.label.clone(),
                decisions: t.decisions.iter().map(|d| d.key.clone()).collect(),
                reason_required: t.reason_required,
            })
            .collect();
    let screening = screening_view(&referral);
    state
        .storage
        .record_case_view(now, &staff.actor(), &referral.id, staff.role.works_cases())
        .await?;
    Ok(Json(ReferralView {
        reference: referral.reference,
        service: referral.service,
        stage: referral.stage,
        audience: referral.audience,
        status: referral.status,
        received_at: timestamp(referral.received_at),
        due_by: referral.due_by.map(|d| d.format("%Y-%m-%d").to_string()),
        urgent: referral.urgent,
        screening,
        allocation: Allocation {
            worker: referral.assignee,
            mode,
        },
        required_actions,
        available_transitions,
        answers,
        reported_by,
        later_stages,
    }))
}
