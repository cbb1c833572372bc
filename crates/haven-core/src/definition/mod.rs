//! Service definitions: the data that describes one service (who may use it, its stages,
//! pages and questions, screening rules, workflow and SLAs).
//!
//! A definition is written as one TOML file (see `services/*.toml` and
//! `schemas/service-definition.schema.json`). These types are exactly what the file
//! deserialises into; [`load::parse_definition`] adds the semantic checks that serde cannot
//! make (unique keys, conditions that name real questions, …) and reports every problem with
//! the file's line.

pub mod casework;
pub mod condition;
pub mod load;
pub mod onward;
pub mod screening;
pub mod stop;
pub mod workflow;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use casework::Casework;
pub use condition::Condition;
pub use onward::{DocumentTemplate, OnwardReferralKind};
pub use screening::ScreeningRules;
pub use stop::StopPage;
pub use workflow::Workflow;

/// One service, as written in its definition file.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceDefinition {
    /// Stable identifier used in URLs, the API and the CLI (`secos`, `ceop`, …).
    pub id: String,
    /// Name shown to the public and staff.
    pub name: String,
    /// Version of this definition file; bump it when questions or rules change.
    pub version: u32,
    /// One paragraph saying what the service is for, shown on its start page.
    pub summary: String,
    /// The staff team whose cases these are.
    pub team: String,
    /// The team's name as staff say it on the account pages ("SECOS team"). Without it, the
    /// service's `email_name` (else `name`) followed by "team".
    #[serde(default)]
    pub team_name: Option<String>,
    /// Prefix of case references (`SEC` gives `SEC-7K3M-9QXD`).
    pub reference_prefix: String,
    /// Message shown before anything else on every public page (the 999 message).
    #[serde(default)]
    pub emergency_message: Option<String>,
    /// What the reporter is told happens next once a submission is accepted.
    #[serde(default)]
    pub next_steps: Vec<String>,
    /// Who may use the service (`young_person`, `professional`, …).
    pub audiences: Vec<Audience>,
    /// The forms of the service, in the order a case meets them.
    pub stages: Vec<Stage>,
    /// Other services a person can be pointed to (helplines, reporting sites).
    #[serde(default)]
    pub signposts: Vec<Signpost>,
    /// Screening and scope rules (eligibility, bands, required actions, signposts).
    #[serde(default)]
    pub screening: Option<ScreeningRules>,
    /// Case workflow: states, transitions, roles and guards.
    #[serde(default)]
    pub workflow: Option<Workflow>,
    /// Service-level agreements counted in working days.
    #[serde(default)]
    pub slas: Vec<Sla>,
    /// Casework after triage: meetings, plans, lone-working concerns, closure outcomes.
    #[serde(default)]
    pub casework: Option<Casework>,
    /// Question keys (of any stage, each an `email` question) that may hold the referrer's
    /// email address, most preferred first. Notifications go to the first one answered, in
    /// the latest stage received first; none answered means no notification is possible.
    #[serde(default)]
    pub referrer_email: Vec<String>,
    /// The name emails to referrers and reporters go out under (subject and sign-off), when
    /// it should differ from `name`: an email is often read by someone other than the person
    /// it is for, so it should not say what the case is about ("child sexual abuse") to
    /// whoever sees a child's or parent's inbox. Defaults to `name`.
    #[serde(default)]
    pub email_name: Option<String>,
    /// The team's duty address: an urgent referral (screening's `urgent`, such as "a child is
    /// in immediate danger" answered yes) is emailed to it at once, with only the reference,
    /// the service, the word urgent and a link to the case's staff page.
    #[serde(default)]
    pub duty_email: Option<String>,
    /// Questions that identify the referrer or reporter: left out of any document for a
    /// recipient not allowed the referrer's identity (`onward_referrals.referrer_identity`).
    #[serde(default)]
    pub referrer_questions: Vec<String>,
    /// Questions where the reporter says how to contact them safely ("don't phone my mum",
    /// times to avoid): shown on the case summary and carried into every document whose
    /// recipient may receive the referrer's details (`onward_referrals.referrer_identity`).
    #[serde(default)]
    pub contact_wishes: Vec<String>,
    /// Kinds of onward referral to other organisations, each with its document template.
    #[serde(default)]
    pub onward_referrals: Vec<OnwardReferralKind>,
    /// What the family copy may show: an allow-list of questions. Without it the family copy
    /// shows no answers at all.
    #[serde(default)]
    pub family_copy: Option<FamilyCopy>,
    /// Questions (of any stage) that may hold the young person's name, most preferred
    /// first: the first answered, in the latest stage received first, heads the staff case
    /// page's identity bar.
    #[serde(default)]
    pub young_person_name: Vec<String>,
    /// Date questions (of any stage) that may hold the young person's date of birth, most
    /// preferred first: the identity bar shows their age today from the first answered.
    #[serde(default)]
    pub young_person_date_of_birth: Vec<String>,
    /// Number questions that may hold the young person's age when it was reported, used on
    /// the identity bar when no date of birth is known ("about 14 when reported").
    #[serde(default)]
    pub young_person_age: Vec<String>,
    /// Email addresses whose incoming messages are referrals for this service (the secure
    /// address printed on the paper form). A message delivered to one of them becomes an
    /// email intake item of this service (`haven mail ingest`); no two services may share one.
    #[serde(default)]
    pub intake_addresses: Vec<String>,
    /// Which answers identify the young person, for the person index (possible links
    /// between referrals, the staff search). Without it the service's referrals are not
    /// indexed.
    #[serde(default)]
    pub people: Option<PeopleIndex>,
    /// How long closed cases are kept (`[retention]`): rules by closing state, decision or
    /// outcome, each a term after closure or until the young person's birthday at an age.
    /// Without it no case is ever destroyed.
    #[serde(default)]
    pub retention: Option<crate::retention::Retention>,
    /// Sender domains whose emailed referrals are acknowledged (`secos.cjsm.net`): a message
    /// from one of them that the receiving server's `Authentication-Results` shows passing
    /// DMARC (or SPF and DKIM) gets an automatic acknowledgement carrying only the case
    /// reference once converted. Everyone else is marked "sender not verified" and gets no
    /// automatic reply.
    #[serde(default)]
    pub trusted_sender_domains: Vec<String>,
    /// What the dashboards count beyond the referrals' clear columns (`[statistics]`).
    #[serde(default)]
    pub statistics: Option<Statistics>,
}

/// A definition's `[statistics]` section.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Statistics {
    /// A `choice` or `multiple_choice` question of the first public stage whose option keys
    /// are the referral's concern on the dashboards ("referrals by concern"). Only the keys
    /// are kept, in the clear, on the referral's row (`referrals.concerns`), written at
    /// intake: a closed list of categories from this file, never free text, never a name.
    /// The loader refuses a question that is not a choice, is third-party or identifying.
    #[serde(default)]
    pub concern_question: Option<String>,
}

/// A definition's `[people]` section: which questions identify the young person and as
/// what. Their answers are normalised and stored only as keyed blind tokens (and sealed).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PeopleIndex {
    /// Question key (of any stage) → what its answer identifies (`full_name`,
    /// `given_name`, `family_name`, `preferred_name`, `date_of_birth`, `postcode`,
    /// `address`, `school`, `phone`, `email`, `online_handle`).
    pub identifiers: BTreeMap<String, crate::people::IdentifierKind>,
    /// How staff of another service can reach this team about a young person known to both
    /// (a phone number or mailbox), shown to them instead of any case content. Defaults to
    /// `duty_email`.
    #[serde(default)]
    pub contact: Option<String>,
}

impl ServiceDefinition {
    /// The young person of a referral as the definition's `[people]` section reads them from
    /// its answers (`None` when the service has no `[people]` section).
    pub fn identity(&self, answers: &serde_json::Value) -> Option<crate::people::Identity> {
        let index = self.people.as_ref()?;
        let mut identity = crate::people::Identity::default();
        for (key, kind) in &index.identifiers {
            let mut value = Some(answers);
            for part in key.split('.') {
                value = value.and_then(|v| v.get(part));
            }
            if let Some(value) = value {
                identity.add_answer(*kind, value);
            }
        }
        Some(identity)
    }
}

/// The family copy (`/staff/cases/{reference}/family`): printed or saved for the young person
/// or their family, so it must tip off no one in the household. Only the questions listed
/// are shown (an allow-list, never a deny-list); none may be third-party information
/// (checked when the definition loads).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FamilyCopy {
    /// Question keys whose answers the family copy shows, in the definition's order.
    pub questions: Vec<String>,
}

/// A kind of person who uses the service; each may get its own wording.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Audience {
    pub key: String,
    /// How a person says it: "I am a parent or carer".
    pub label: String,
    #[serde(default)]
    pub description: Option<String>,
    /// People of this audience report about themselves (a young person telling the service
    /// what happened to them): the case and its documents say so, and the reporter's answers
    /// are the child's.
    #[serde(default)]
    pub about_self: bool,
}

/// Who can reach a stage's form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StageAccess {
    /// Anyone, from the service's start page or the API.
    Public,
    /// Only through a single-use link the team sends (Cyber Choices' detailed referral).
    Invited,
    /// Staff only.
    Staff,
}

/// One form of a service (an enquiry, a referral, a report).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    pub key: String,
    pub label: String,
    pub access: StageAccess,
    /// Audiences who may submit this stage.
    pub audiences: Vec<String>,
    /// Free-text answers of this stage must not identify the young person: they go through
    /// the anonymity check before the submission is accepted.
    #[serde(default)]
    pub anonymous: bool,
    /// Upload refused on this stage whatever the questions say (CEOP: no images of abuse).
    #[serde(default)]
    pub uploads_forbidden: bool,
    pub pages: Vec<Page>,
}

/// One page of a form: a group of questions shown together, in GOV.UK terms a question page
/// or, with several questions, a section.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Page {
    pub key: String,
    pub title: String,
    /// Per-audience titles, overriding `title`.
    #[serde(default)]
    pub titles: BTreeMap<String, String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Only these audiences see the page (all when empty).
    #[serde(default)]
    pub audiences: Vec<String>,
    /// The page applies only when this holds.
    #[serde(default)]
    pub when: Option<Condition>,
    /// A stop page ("call 999 now"): no questions, only what to do and a button to carry on.
    #[serde(default)]
    pub stop: Option<StopPage>,
    #[serde(default)]
    pub questions: Vec<Question>,
}

/// The type of a question, which fixes the JSON type of its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    /// One line of text → string.
    Text,
    /// Several paragraphs → string.
    LongText,
    /// An email address → string.
    Email,
    /// A UK or international phone number → string.
    Phone,
    /// A calendar date → string `YYYY-MM-DD`.
    Date,
    /// A number → JSON number.
    Number,
    /// Yes or no → boolean.
    YesNo,
    /// One of `options` → string.
    Choice,
    /// Any of `options` → array of strings.
    MultipleChoice,
    /// Indicators (`options`) ticked in recency columns (`columns`) → object
    /// `{indicator: column}`; with two columns, `"both"` ticks both.
    IndicatorMatrix,
    /// A list of items, each answering `fields` → array of objects.
    Repeatable,
    /// An uploaded file → the attachment's id (string), or an array of ids with `max_items`.
    File,
}

/// How sensitive an answer is; drives who may see it and what may leave the system.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum DataClass {
    /// Nothing that identifies a person.
    #[default]
    Ordinary,
    /// Names, dates of birth, addresses, contact details, handles.
    Identifying,
    /// UK GDPR Art 9 data: health, sex life, ethnicity, religion.
    SpecialCategory,
    /// Information about or from someone else, never shared with the young person or family.
    ThirdParty,
}

/// One question. Its `key` is a dotted path into the answers document
/// (`young_person.date_of_birth` is `answers.young_person.date_of_birth`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub key: String,
    #[serde(rename = "type")]
    pub kind: QuestionKind,
    pub label: String,
    /// Per-audience wording, overriding `label`.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub help: Option<String>,
    #[serde(default)]
    pub required: bool,
    /// Required when this holds (in addition to `required = true` making it always required).
    #[serde(default)]
    pub required_when: Option<Condition>,
    /// The question applies only when this holds; otherwise it is hidden and never required.
    #[serde(default)]
    pub when: Option<Condition>,
    /// Only these audiences are asked (all when empty).
    #[serde(default)]
    pub audiences: Vec<String>,
    #[serde(default)]
    pub data_class: DataClass,
    /// Choices for `choice`, `multiple_choice` and the rows of `indicator_matrix`.
    #[serde(default)]
    pub options: Vec<Choice>,
    /// Columns of `indicator_matrix` (recency: current / prior).
    #[serde(default)]
    pub columns: Vec<Choice>,
    /// Sub-questions of each item of a `repeatable` question.
    #[serde(default)]
    pub fields: Vec<Question>,
    /// Text length limit in characters (defaults: 500 for text, 20 000 for long text).
    #[serde(default)]
    pub max_length: Option<usize>,
    /// Bounds for `number`.
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    /// `date` answers may not be after today (dates of birth, past events).
    #[serde(default)]
    pub not_future: bool,
    /// A `date` question not answered yet shows today's date (Europe/London) to start from
    /// ("Date referral completed"); the person may change it. Only a suggestion on the page:
    /// nothing is stored until the page is sent.
    #[serde(default)]
    pub default_today: bool,
    /// Item limits for `repeatable`, `multiple_choice` and `file`.
    #[serde(default)]
    pub min_items: Option<usize>,
    #[serde(default)]
    pub max_items: Option<usize>,
    /// Allowed media types of a `file` (`application/pdf`, …), checked by content.
    #[serde(default)]
    pub allowed_types: Vec<String>,
    /// Largest accepted `file` in bytes.
    #[serde(default)]
    pub max_bytes: Option<u64>,
    /// Free text that goes through the anonymity check on an `anonymous` stage.
    /// Defaults to true for text and long text on such stages.
    #[serde(default)]
    pub anonymity_check: Option<bool>,
}

/// One option of a choice, a matrix row or a matrix column.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    pub key: String,
    pub label: String,
    /// Per-audience wording, overriding `label`.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub hint: Option<String>,
}

/// Somewhere else a person can get help.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Signpost {
    pub key: String,
    pub label: String,
    /// Phone number or web address to show.
    pub contact: String,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// A deadline counted in working days from the day a submission is received.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sla {
    /// `first_contact`, …
    pub key: String,
    pub label: String,
    /// Working days after the day of receipt (the receipt day itself does not count).
    pub working_days: u32,
    /// Bank-holiday calendar: `england-and-wales`, `scotland` or `northern-ireland`.
    #[serde(default = "default_calendar")]
    pub calendar: String,
    /// The stage whose receipt starts the clock (the first stage when absent).
    #[serde(default)]
    pub starts_on: Option<String>,
    /// Workflow states that stop the clock (the SLA is met once the case reaches one).
    #[serde(default)]
    pub met_by: Vec<String>,
}

fn default_calendar() -> String {
    "england-and-wales".to_owned()
}

impl ServiceDefinition {
    /// The name emails to people outside the team go out under (`email_name`, else `name`).
    pub fn email_name(&self) -> &str {
        self.email_name.as_deref().unwrap_or(&self.name)
    }

    /// The team's name in words ([`ServiceDefinition::team_name`]).
    pub fn team_words(&self) -> String {
        self.team_name
            .clone()
            .unwrap_or_else(|| format!("{} team", self.email_name()))
    }

    pub fn stage(&self, key: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.key == key)
    }

    pub fn audience(&self, key: &str) -> Option<&Audience> {
        self.audiences.iter().find(|a| a.key == key)
    }

    pub fn onward_kind(&self, key: &str) -> Option<&OnwardReferralKind> {
        self.onward_referrals.iter().find(|k| k.key == key)
    }

    pub fn signpost(&self, key: &str) -> Option<&Signpost> {
        self.signposts.iter().find(|s| s.key == key)
    }

    /// Every question of every stage (top level, not the fields of repeatables).
    pub fn questions(&self) -> impl Iterator<Item = (&Stage, &Page, &Question)> {
        self.stages.iter().flat_map(|stage| {
            stage
                .pages
                .iter()
                .flat_map(move |page| page.questions.iter().map(move |q| (stage, page, q)))
        })
    }

    /// The question with this key in any stage.
    pub fn question(&self, key: &str) -> Option<&Question> {
        self.questions().map(|(_, _, q)| q).find(|q| q.key == key)
    }
}

impl Stage {
    pub fn questions(&self) -> impl Iterator<Item = (&Page, &Question)> {
        self.pages
            .iter()
            .flat_map(|page| page.questions.iter().map(move |q| (page, q)))
    }

    pub fn question(&self, key: &str) -> Option<&Question> {
        self.questions().map(|(_, q)| q).find(|q| q.key == key)
    }

    pub fn allows_audience(&self, audience: &str) -> bool {
        self.audiences.iter().any(|a| a == audience)
    }
}

impl Question {
    /// Wording for this audience.
    pub fn label_for(&self, audience: &str) -> &str {
        self.labels
            .get(audience)
            .map_or(&self.label, String::as_str)
    }

    pub fn option(&self, key: &str) -> Option<&Choice> {
        self.options.iter().find(|o| o.key == key)
    }

    pub fn asked_of(&self, audience: &str) -> bool {
        self.audiences.is_empty() || self.audiences.iter().any(|a| a == audience)
    }

    /// Whether free text of this question goes through the anonymity check on an anonymous stage.
    pub fn checks_anonymity(&self) -> bool {
        self.anonymity_check.unwrap_or(matches!(
            self.kind,
            QuestionKind::Text | QuestionKind::LongText
        ))
    }
}

impl Choice {
    pub fn label_for(&self, audience: &str) -> &str {
        self.labels
            .get(audience)
            .map_or(&self.label, String::as_str)
    }
}

impl Page {
    pub fn shown_to(&self, audience: &str) -> bool {
        self.audiences.is_empty() || self.audiences.iter().any(|a| a == audience)
    }

    pub fn title_for(&self, audience: &str) -> &str {
        self.titles
            .get(audience)
            .map_or(&self.title, String::as_str)
    }
}
