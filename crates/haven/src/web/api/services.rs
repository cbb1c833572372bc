//! `GET /api/v1/services` and `GET /api/v1/services/{id}`: the services and the public part
//! of their definitions — what a form needs (pages, questions, keys, options, help,
//! conditions), never screening rules, workflow, SLAs or data classes.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use haven_core::definition::{
    Audience, Choice, Page, Question, ServiceDefinition, Signpost, Stage, StageAccess,
};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::web::AppState;
use crate::web::error::{ApiError, ErrorBody};

/// A service in the list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceSummary {
    /// Stable id (`cyber-choices`, `secos`, `ceop`).
    pub id: String,
    pub name: String,
    pub summary: String,
    pub audiences: Vec<AudienceView>,
    pub stages: Vec<StageSummary>,
}

/// Who may use a service.
#[derive(Debug, Serialize, ToSchema)]
pub struct AudienceView {
    pub key: String,
    pub label: String,
    pub description: Option<String>,
}

/// A stage in the list.
#[derive(Debug, Serialize, ToSchema)]
pub struct StageSummary {
    pub key: String,
    pub label: String,
    /// `public` (anyone), `invited` (a link from the team) or `staff`.
    pub access: String,
    pub audiences: Vec<String>,
}

/// The public part of a service definition.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicService {
    pub id: String,
    pub name: String,
    /// Version of the definition; changes when questions change.
    pub version: u32,
    pub summary: String,
    /// Shown before anything else on every public page.
    pub emergency_message: Option<String>,
    pub next_steps: Vec<String>,
    pub audiences: Vec<AudienceView>,
    pub stages: Vec<PublicStage>,
    pub signposts: Vec<SignpostView>,
}

/// A stage with its pages. Staff-only stages are listed without pages.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicStage {
    pub key: String,
    pub label: String,
    /// `public`, `invited` or `staff`.
    pub access: String,
    pub audiences: Vec<String>,
    /// Free text must not identify the young person (it is checked).
    pub anonymous: bool,
    pub uploads_forbidden: bool,
    pub pages: Vec<PublicPage>,
}

/// A page of questions.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicPage {
    pub key: String,
    pub title: String,
    /// Titles per audience, overriding `title`.
    pub titles: BTreeMap<String, String>,
    pub description: Option<String>,
    /// Only these audiences see the page (all when empty).
    pub audiences: Vec<String>,
    /// The page applies only when this condition holds.
    #[schema(value_type = Option<Object>)]
    pub when: Option<Value>,
    pub questions: Vec<PublicQuestion>,
}

/// A question. Its `key` is the dotted path of its answer in `answers`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicQuestion {
    pub key: String,
    /// `text`, `long_text`, `email`, `phone`, `date`, `number`, `yes_no`, `choice`,
    /// `multiple_choice`, `indicator_matrix`, `repeatable` or `file`.
    #[serde(rename = "type")]
    pub kind: String,
    pub label: String,
    pub labels: BTreeMap<String, String>,
    pub help: Option<String>,
    pub required: bool,
    #[schema(value_type = Option<Object>)]
    pub required_when: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub when: Option<Value>,
    pub audiences: Vec<String>,
    pub options: Vec<ChoiceView>,
    pub columns: Vec<ChoiceView>,
    /// Sub-questions of each item of a `repeatable`.
    #[schema(no_recursion)]
    pub fields: Vec<PublicQuestion>,
    pub max_length: Option<usize>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub not_future: bool,
    pub min_items: Option<usize>,
    pub max_items: Option<usize>,
    pub allowed_types: Vec<String>,
    pub max_bytes: Option<u64>,
    /// On an anonymous stage, this answer goes through the anonymity check.
    pub anonymity_check: bool,
}

/// An option of a choice, or a row/column of an indicator matrix.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChoiceView {
    pub key: String,
    pub label: String,
    pub labels: BTreeMap<String, String>,
    pub hint: Option<String>,
}

/// Somewhere else to get help.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignpostView {
    pub key: String,
    pub label: String,
    pub contact: String,
    pub url: Option<String>,
    pub description: Option<String>,
}

/// Every service.
#[utoipa::path(
    get,
    path = "/api/v1/services",
    tag = "services",
    responses((status = 200, description = "Every service Haven runs", body = [ServiceSummary]))
)]
pub async fn list(State(state): State<AppState>) -> Json<Vec<ServiceSummary>> {
    Json(state.registry.definitions().map(summary).collect())
}

/// The public part of one service's definition.
#[utoipa::path(
    get,
    path = "/api/v1/services/{id}",
    tag = "services",
    params(("id" = String, Path, description = "Service id, e.g. `secos`")),
    responses(
        (status = 200, description = "The service's public definition", body = PublicService),
        (status = 404, description = "No such service", body = ErrorBody)
    )
)]
pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<PublicService>, ApiError> {
    let def = state.registry.get(&id).ok_or_else(ApiError::not_found)?;
    Ok(Json(public(def)))
}

fn summary(def: &ServiceDefinition) -> ServiceSummary {
    ServiceSummary {
        id: def.id.clone(),
        name: def.name.clone(),
        summary: def.summary.clone(),
        audiences: def.audiences.iter().map(audience).collect(),
        stages: def
            .stages
            .iter()
            .map(|s| StageSummary {
                key: s.key.clone(),
                label: s.label.clone(),
                access: access(s.access).to_owned(),
                audiences: s.audiences.clone(),
            })
            .collect(),
    }
}

fn public(def: &ServiceDefinition) -> PublicService {
    PublicService {
        id: def.id.clone(),
        name: def.name.clone(),
        version: def.version,
        summary: def.summary.clone(),
        emergency_message: def.emergency_message.clone(),
        next_steps: def.next_steps.clone(),
        audiences: def.audiences.iter().map(audience).collect(),
        stages: def.stages.iter().map(stage).collect(),
        signposts: def.signposts.iter().map(signpost).collect(),
    }
}

fn access(access: StageAccess) -> &'static str {
    match access {
        StageAccess::Public => "public",
        StageAccess::Invited => "invited",
        StageAccess::Staff => "staff",
    }
}

fn audience(a: &Audience) -> AudienceView {
    AudienceView {
        key: a.key.clone(),
        label: a.label.clone(),
        description: a.description.clone(),
    }
}

fn stage(s: &Stage) -> PublicStage {
    let pages = match s.access {
        StageAccess::Staff => Vec::new(),
        StageAccess::Public | StageAccess::Invited => {
            s.pages.iter().map(|p| page(p, s.anonymous)).collect()
        }
    };
    PublicStage {
        key: s.key.clone(),
        label: s.label.clone(),
        access: access(s.access).to_owned(),
        audiences: s.audiences.clone(),
        anonymous: s.anonymous,
        uploads_forbidden: s.uploads_forbidden,
        pages,
    }
}

fn page(p: &Page, anonymous_stage: bool) -> PublicPage {
    PublicPage {
        key: p.key.clone(),
        title: p.title.clone(),
        titles: p.titles.clone(),
        description: p.description.clone(),
        audiences: p.audiences.clone(),
        when: p.when.as_ref().and_then(|c| serde_json::to_value(c).ok()),
        questions: p
            .questions
            .iter()
            .map(|q| question(q, anonymous_stage))
            .collect(),
    }
}

fn question(q: &Question, anonymous_stage: bool) -> PublicQuestion {
    PublicQuestion {
        key: q.key.clone(),
        kind: serde_json::to_value(q.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        label: q.label.clone(),
        labels: q.labels.clone(),
        help: q.help.clone(),
        required: q.required,
        required_when: q
            .required_when
            .as_ref()
            .and_then(|c| serde_json::to_value(c).ok()),
        when: q.when.as_ref().and_then(|c| serde_json::to_value(c).ok()),
        audiences: q.audiences.clone(),
        options: q.options.iter().map(choice).collect(),
        columns: q.columns.iter().map(choice).collect(),
        fields: q
            .fields
            .iter()
            .map(|f| question(f, anonymous_stage))
            .collect(),
        max_length: q.max_length,
        min: q.min,
        max: q.max,
        not_future: q.not_future,
        min_items: q.min_items,
        max_items: q.max_items,
        allowed_types: q.allowed_types.clone(),
        max_bytes: q.max_bytes,
        anonymity_check: anonymous_stage && q.checks_anonymity(),
    }
}

fn choice(c: &Choice) -> ChoiceView {
    ChoiceView {
        key: c.key.clone(),
        label: c.label.clone(),
        labels: c.labels.clone(),
        hint: c.hint.clone(),
    }
}

fn signpost(s: &Signpost) -> SignpostView {
    SignpostView {
        key: s.key.clone(),
        label: s.label.clone(),
        contact: s.contact.clone(),
        url: s.url.clone(),
        description: s.description.clone(),
    }
}
