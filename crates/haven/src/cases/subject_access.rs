//! Subject access requests (issue 17): a person asks for the data Haven holds about them.
//! Staff open a request from a case (who asked, how their identity was checked, the day it
//! was received); it covers that case and its confirmed linked cases that the member of
//! staff may handle. The statutory clock is `haven_core::subject_access` (one calendar month,
//! extendable by up to two with a reason). The export lists every answer (each stage),
//! note, message and attached file of the cases covered; third-party information (questions
//! with `data_class = "third_party"`, SECOS's 3rd Party Sheet among them, the definition's
//! `referrer_questions` (who reported), and third-party files) is withheld by default, and staff record per item, with a reason, an exemption
//! (withhold it) or a disclosure of a third-party item. The release stores the export as
//! handed over (sealed) and is audited; the PDF and JSON are made from that record.
//!
//! Files: every attached file of every stage and every document handed over for an onward
//! referral is an item of the export. Third-party files (answering a third-party question)
//! and onward documents made for a recipient that receives third-party information or the
//! referrer's identity are withheld by default, like the answers. At release each released
//! file is read once: its name, type, size and SHA-256 go into the record; the bundle
//! (`subject-access-<day>.zip`: the PDF, the JSON and the files) reads them again and
//! checks each against its SHA-256 (a file no longer held, its case since destroyed, is
//! named in the bundle's `README.txt` instead).
//!
//! Access: the policy action `subject_access` on the request's service and team (another
//! team's request is 404, a role without the action 403).

use chrono::{DateTime, NaiveDate, Utc};
use haven_core::answer_words::{STAFF, answer_in_words, day_in_words};
use haven_core::calendar::london_date;
use haven_core::definition::{DataClass, QuestionKind, ServiceDefinition};
use haven_core::subject_access::{self as rules, RequestInput};
use serde_json::{Value, json};

use super::{CaseError, Cases};
use crate::access::Staff;
use crate::documents::fill::{Block, CaseDocument};
use crate::policy::{Action, CaseScope, Decision};
use crate::storage::audit::AuditEntry;
use crate::storage::referrals::Referral;
use crate::storage::subject_access::{
    NewSubjectAccess, SubjectAccessRequest, SubjectAccessSummary,
};

/// Why third-party information is withheld unless staff decide otherwise.
pub const THIRD_PARTY_REASON: &str =
    "Information about other people (third-party information, DPA 2018 Sch 2 para 16)";

/// What an item of the export is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    Answer,
    Note,
    Message,
    Document,
}

impl ItemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Answer => "answer",
            ItemKind::Note => "note",
            ItemKind::Message => "message",
            ItemKind::Document => "document",
        }
    }
}

/// One item of the export and whether it is withheld, and why.
#[derive(Clone)]
pub struct ExportItem {
    /// Stable within the request: `{reference}~a~{stage}~{question}`, `~n~{i}`, `~m~{i}`,
    /// `~d~{attachment id}`.
    pub id: String,
    pub kind: ItemKind,
    /// Where it is: the stage's label, "Case notes", "Messages", "Documents".
    pub section: String,
    /// The question, or "Case note, 3 May 2026".
    pub label: String,
    /// The content in words (a file: its name, type and size).
    pub text: String,
    pub third_party: bool,
    /// Withheld, with the reason (the default for third-party information, or an exemption).
    pub withheld: Option<String>,
    /// A staff decision: `("withhold" | "disclose", reason)`.
    pub decision: Option<(String, String)>,
    /// A file: where its bytes are, its name and type.
    pub file: Option<FileRef>,
}

/// Where a file of the export is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileSource {
    /// An attached file (`public_attachments`).
    Attachment(String),
    /// A document handed over for an onward referral (`onward_exports`).
    OnwardExport(String),
}

impl FileSource {
    /// As kept in the release record: `attachment:<id>`, `onward_export:<id>`.
    pub fn key(&self) -> String {
        match self {
            FileSource::Attachment(id) => format!("attachment:{id}"),
            FileSource::OnwardExport(id) => format!("onward_export:{id}"),
        }
    }

    fn parse(key: &str) -> Option<Self> {
        match key.split_once(':')? {
            ("attachment", id) => Some(FileSource::Attachment(id.to_owned())),
            ("onward_export", id) => Some(FileSource::OnwardExport(id.to_owned())),
            _ => None,
        }
    }
}

/// A file item's source, its name (the sender's words) and its type.
#[derive(Debug, Clone)]
pub struct FileRef {
    pub source: FileSource,
    pub file_name: String,
    pub media_type: String,
}

/// What the release learned of a released file by reading it.
#[derive(Debug, Clone)]
pub struct FileFacts {
    pub sha256: String,
    pub size_bytes: u64,
    /// Its path inside the bundle: `files/<reference>/<nn>-<name>`.
    pub path: String,
}

impl std::fmt::Debug for ExportItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportItem")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// One case covered by a request.
#[derive(Debug, Clone)]
pub struct CaseExport {
    pub referral_id: String,
    pub reference: String,
    pub service_name: String,
    pub received_on: NaiveDate,
    pub items: Vec<ExportItem>,
}

/// A request as its page shows it.
#[derive(Debug, Clone)]
pub struct RequestView {
    pub request: SubjectAccessRequest,
    /// The case it was opened from.
    pub reference: String,
    pub today: NaiveDate,
    /// The cases covered and what their export holds (empty once released or refused: the
    /// record of what was released is `request.release_record`).
    pub cases: Vec<CaseExport>,
}

impl RequestView {
    pub fn withheld(&self) -> usize {
        self.items().filter(|i| i.withheld.is_some()).count()
    }

    pub fn items(&self) -> impl Iterator<Item = &ExportItem> {
        self.cases.iter().flat_map(|c| c.items.iter())
    }
}

/// A released request's download: its name, type and bytes.
pub struct ExportFile {
    pub file_name: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for ExportFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportFile")
            .field("file_name", &self.file_name)
            .finish_non_exhaustive()
    }
}

fn at<'v>(answers: &'v Value, key: &str) -> Option<&'v Value> {
    key.split('.')
        .try_fold(answers, |value, part| value.get(part))
        .filter(|v| !v.is_null())
}

/// The answers of one stage as export items (file questions are listed as documents).
fn answer_items(
    def: &ServiceDefinition,
    reference: &str,
    stage_key: &str,
    answers: &Value,
    out: &mut Vec<ExportItem>,
) {
    let Some(stage) = def.stage(stage_key) else {
        return;
    };
    for (_, q) in stage.questions() {
        if q.kind == QuestionKind::File {
            continue;
        }
        let Some(value) = at(answers, &q.key) else {
            continue;
        };
        let text = answer_in_words(q, value, STAFF);
        if text.trim().is_empty() {
            continue;
        }
        out.push(ExportItem {
            id: format!("{reference}~a~{stage_key}~{}", q.key),
            kind: ItemKind::Answer,
            section: stage.label.clone(),
            label: q.label.clone(),
            text,
            // Who reported is third-party information too: a reporter named to the family
            // could be put at risk.
            third_party: q.data_class == DataClass::ThirdParty
                || def.referrer_questions.contains(&q.key),
            withheld: None,
            decision: None,
            file: None,
        });
    }
}

/// The documents handed over for a case's onward referrals as export items. One made for a
/// recipient that receives third-party information or the referrer's identity holds them
/// (a finished document cannot be redacted): third-party, withheld unless staff release it.
fn onward_items(
    def: &ServiceDefinition,
    reference: &str,
    onward: &[crate::storage::onward::OnwardReferral],
    exports: Vec<crate::storage::onward::Export>,
    out: &mut Vec<ExportItem>,
) {
    for (n, export) in exports.into_iter().enumerate() {
        let kind = onward
            .iter()
            .find(|o| o.id == export.onward_referral_id)
            .and_then(|o| def.onward_kind(&o.kind));
        let third_party = kind.is_none_or(|k| {
            k.third_party
                || !k.third_party_questions.is_empty()
                || (k.referrer_identity && !def.referrer_questions.is_empty())
        });
        let (media_type, type_words) = match export.format.as_str() {
            "pdf" => ("application/pdf", "PDF document"),
            "docx" => (
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "Word document",
            ),
            _ => ("application/octet-stream", "file"),
        };
        let what = kind.map_or_else(|| "Onward referral".to_owned(), |k| k.label.clone());
        let file_name = format!(
            "{}-{}-{}.{}",
            reference,
            kind.map_or("onward", |k| k.key.as_str()),
            n + 1,
            export.format
        );
        out.push(ExportItem {
            id: format!("{reference}~o~{}", export.id),
            kind: ItemKind::Document,
            section: "Onward referral documents".to_owned(),
            label: format!(
                "{what} document, {}",
                day_in_words(london_date(export.created_at))
            ),
            text: format!("{file_name} ({type_words})"),
            third_party,
            withheld: None,
            decision: None,
            file: Some(FileRef {
                source: FileSource::OnwardExport(export.id),
                file_name,
                media_type: media_type.to_owned(),
            }),
        });
    }
}

/// A file name safe inside a ZIP and on any disk: ASCII letters, digits and `.-_`, no
/// leading dots, at most 80 characters (`file` when nothing is left).
fn bundle_name(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let clean: String = clean
        .trim_matches(|c| c == '.' || c == '_')
        .chars()
        .take(80)
        .collect();
    if clean.is_empty() {
        "file".to_owned()
    } else {
        clean
    }
}

/// Applies the default (third-party withheld) and the staff decisions.
fn apply(items: &mut [ExportItem], decisions: &Value) {
    for item in items {
        let decision = decisions.get(&item.id).and_then(|d| {
            Some((
                d.get("decision")?.as_str()?.to_owned(),
                d.get("reason")?.as_str()?.to_owned(),
            ))
        });
        item.withheld = match &decision {
            Some((d, reason)) if d == "withhold" => Some(reason.clone()),
            Some((d, _)) if d == "disclose" && item.third_party => None,
            _ if item.third_party => Some(THIRD_PARTY_REASON.to_owned()),
            _ => None,
        };
        item.decision = decision;
    }
}

impl Cases<'_> {
    fn subject_access_decision(&self, staff: &Staff, service: &str, team: &str) -> Decision {
        self.policy.decide(
            staff,
            Action::SubjectAccess,
            Some(CaseScope { service, team }),
        )
    }

    fn may_cover(&self, staff: &Staff, referral: &Referral) -> bool {
        self.subject_access_decision(staff, &referral.service, &referral.team)
            .allowed()
            && self.may(staff, referral, Action::ViewCase)
    }

    /// The case a request is opened from (`subject_access` checked: 404 / 403) and the
    /// cases it will cover: itself, then its confirmed linked cases the member of staff may
    /// handle, as `(referral, service name)`.
    pub async fn subject_access_scope(
        &self,
        staff: &Staff,
        reference: &str,
    ) -> Result<Vec<(Referral, String)>, CaseError> {
        let (referral, def) = self.find(staff, reference, Action::SubjectAccess).await?;
        let links = self.storage.person_links(&referral.id).await?;
        let confirmed: Vec<String> = links
            .into_iter()
            .filter(|l| l.confirmed)
            .map(|l| l.other)
            .collect();
        let mut covered = vec![(referral, def.name.clone())];
        for (_, other) in self.storage.references_of(&confirmed).await? {
            let Some(other) = self.storage.find_referral(&other).await? else {
                continue;
            };
            if !self.may_cover(staff, &other) {
                continue;
            }
            let name = self
                .registry
                .get(&other.service)
                .map_or_else(|| other.service.clone(), |d| d.name.clone());
            covered.push((other, name));
        }
        Ok(covered)
    }

    /// Opens a request from the case `reference`; its id.
    pub async fn open_subject_access(
        &self,
        staff: &Staff,
        reference: &str,
        input: &RequestInput<'_>,
        now: DateTime<Utc>,
    ) -> Result<String, CaseError> {
        let covered = self.subject_access_scope(staff, reference).await?;
        let checked =
            rules::check_request(input, london_date(now)).map_err(CaseError::invalid_fields)?;
        let Some((origin, _)) = covered.first() else {
            return Err(CaseError::NotFound);
        };
        let id = crate::crypto::new_id();
        let cases: Vec<String> = covered.iter().map(|(r, _)| r.id.clone()).collect();
        self.storage
            .insert_subject_access(
                &NewSubjectAccess {
                    id: &id,
                    referral_id: &origin.id,
                    service: &origin.service,
                    team: &origin.team,
                    relationship: &checked.relationship,
                    identity_check: &checked.identity_check,
                    requester_name: &checked.requester_name,
                    identity_detail: &checked.identity_detail,
                    received_on: checked.received_on,
                    due_on: checked.due_on,
                    cases: &cases,
                    actor: &staff.actor(),
                },
                now,
            )
            .await?;
        Ok(id)
    }

    /// The open requests of the member of staff's team, soonest due first. A role without
    /// `subject_access` is refused (403); a role of no team sees none.
    pub async fn subject_access_list(
        &self,
        staff: &Staff,
    ) -> Result<Vec<SubjectAccessSummary>, CaseError> {
        if !self
            .policy
            .decide(staff, Action::SubjectAccess, None)
            .allowed()
        {
            return Err(CaseError::Forbidden(
                "Your role may not handle subject access requests".to_owned(),
            ));
        }
        match &staff.team {
            Some(team) => Ok(self.storage.open_subject_access(team).await?),
            None => Ok(Vec::new()),
        }
    }

    /// The request `id` if `staff` may handle it (404 for a missing one or one of another
    /// team, 403 for a role without the action).
    async fn request(&self, staff: &Staff, id: &str) -> Result<SubjectAccessRequest, CaseError> {
        let request = self
            .storage
            .subject_access(id.trim())
            .await?
            .ok_or(CaseError::NotFound)?;
        match self.subject_access_decision(staff, &request.service, &request.team) {
            Decision::Allow => Ok(request),
            Decision::NotFound => Err(CaseError::NotFound),
            Decision::Forbidden => Err(CaseError::Forbidden(
                "Your role may not handle subject access requests".to_owned(),
            )),
        }
    }

    /// The export of the cases a request covers, with its decisions applied (the cases are
    /// read once each; a case since destroyed or no longer one `staff` may handle is left
    /// out).
    async fn export_cases(
        &self,
        staff: &Staff,
        request: &SubjectAccessRequest,
    ) -> Result<Vec<CaseExport>, CaseError> {
        let references = self.storage.references_of(&request.cases).await?;
        let mut out = Vec::new();
        for id in &request.cases {
            let Some((_, reference)) = references.iter().find(|(r, _)| r == id) else {
                continue;
            };
            let Some(referral) = self.storage.find_referral(reference).await? else {
                continue;
            };
            if !self.may_cover(staff, &referral) {
                continue;
            }
            let Some(def) = self.registry.get(&referral.service) else {
                continue;
            };
            let mut items = Vec::new();
            answer_items(
                def,
                reference,
                &referral.stage,
                &referral.answers,
                &mut items,
            );
            for stage in self.storage.referral_stages(&referral.id).await? {
                answer_items(def, reference, &stage.stage, &stage.answers, &mut items);
            }
            for (i, note) in self.storage.notes(&referral.id).await?.iter().enumerate() {
                items.push(ExportItem {
                    id: format!("{reference}~n~{i}"),
                    kind: ItemKind::Note,
                    section: "Case notes".to_owned(),
                    label: format!("Case note, {}", day_in_words(london_date(note.created_at))),
                    text: note.body.clone(),
                    third_party: false,
                    withheld: None,
                    decision: None,
                    file: None,
                });
            }
            for (i, message) in self
                .storage
                .messages(&referral.id)
                .await?
                .iter()
                .enumerate()
            {
                let from = match message.direction {
                    crate::storage::casework::Direction::ToReporter => {
                        "Message to the person who reported"
                    }
                    crate::storage::casework::Direction::FromReporter => {
                        "Message from the person who reported"
                    }
                };
                items.push(ExportItem {
                    id: format!("{reference}~m~{i}"),
                    kind: ItemKind::Message,
                    section: "Messages".to_owned(),
                    label: format!("{from}, {}", day_in_words(london_date(message.created_at))),
                    text: message.body.clone(),
                    third_party: false,
                    withheld: None,
                    decision: None,
                    file: None,
                });
            }
            for info in self.storage.referral_attachments(&referral.id).await? {
                let file = super::attachments::summary(def, &referral, info);
                items.push(ExportItem {
                    id: format!("{reference}~d~{}", file.id),
                    kind: ItemKind::Document,
                    section: "Documents".to_owned(),
                    label: file.question_label.clone(),
                    text: format!(
                        "{} ({}, {})",
                        file.filename, file.type_words, file.size_words
                    ),
                    third_party: file.third_party,
                    withheld: None,
                    decision: None,
                    file: Some(FileRef {
                        source: FileSource::Attachment(file.id.clone()),
                        file_name: file.filename.clone(),
                        media_type: file.media_type.clone(),
                    }),
                });
            }
            onward_items(
                def,
                reference,
                &self.storage.onward_referrals(&referral.id).await?,
                self.storage.onward_exports(&referral.id).await?,
                &mut items,
            );
            apply(&mut items, &request.decisions);
            out.push(CaseExport {
                referral_id: referral.id.clone(),
                reference: reference.clone(),
                service_name: def.name.clone(),
                received_on: london_date(referral.received_at),
                items,
            });
        }
        Ok(out)
    }

    /// A request and (while it is open) the preview of its export; audited
    /// `subject_access.viewed` (the preview shows the cases' content).
    pub async fn subject_access_view(
        &self,
        staff: &Staff,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<RequestView, CaseError> {
        let request = self.request(staff, id).await?;
        let reference = self
            .storage
            .references_of(std::slice::from_ref(&request.referral_id))
            .await?
            .pop()
            .map(|(_, r)| r)
            .ok_or(CaseError::NotFound)?;
        let cases = if request.status == "open" {
            self.export_cases(staff, &request).await?
        } else {
            Vec::new()
        };
        let mut entry = AuditEntry::new(
            now,
            staff.actor(),
            "subject_access.viewed",
            "subject_access",
            &request.id,
        );
        entry.reason = Some(format!("cases:{}", cases.len()));
        self.storage.append_audit(&entry).await?;
        Ok(RequestView {
            request,
            reference,
            today: london_date(now),
            cases,
        })
    }

    fn still_open(request: &SubjectAccessRequest) -> Result<(), CaseError> {
        if request.status == "open" {
            Ok(())
        } else {
            Err(CaseError::Conflict {
                code: "subject_access_closed".to_owned(),
                message: "This request has already been released or refused".to_owned(),
            })
        }
    }

    fn changed_meanwhile() -> CaseError {
        CaseError::Conflict {
            code: "subject_access_changed".to_owned(),
            message: "Someone else changed this request meanwhile: look at it again".to_owned(),
        }
    }

    /// Extends an open request by `months` more (1 or 2, at most 2 in all) with a reason
    /// (fields `months`, `reason`).
    pub async fn extend_subject_access(
        &self,
        staff: &Staff,
        id: &str,
        months: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), CaseError> {
        let request = self.request(staff, id).await?;
        Self::still_open(&request)?;
        let (more, reason) = rules::check_extension(request.extended_months, months, reason)
            .map_err(CaseError::invalid_fields)?;
        let total = request.extended_months + more;
        let due = rules::due_on(request.received_on, total)
            .ok_or_else(|| CaseError::invalid("months", "That date is past the calendar's end"))?;
        if !self
            .storage
            .extend_subject_access(&request, total, due, &reason, &staff.actor(), now)
            .await?
        {
            return Err(Self::changed_meanwhile());
        }
        Ok(())
    }

    /// One item of an open request's export (for its decision page).
    pub async fn subject_access_item(
        &self,
        staff: &Staff,
        id: &str,
        item: &str,
        now: DateTime<Utc>,
    ) -> Result<(RequestView, ExportItem), CaseError> {
        let view = self.subject_access_view(staff, id, now).await?;
        Self::still_open(&view.request)?;
        let found = view
            .items()
            .find(|i| i.id == item)
            .cloned()
            .ok_or(CaseError::NotFound)?;
        Ok((view, found))
    }

    /// Records a decision on one item with its reason (fields `decision`, `reason`):
    /// `withhold` (an exemption, e.g. "crime prevention (DPA 2018 Sch 2 para 2)") or
    /// `disclose` (a third-party item released, e.g. with that person's consent), or
    /// `default` to take a decision back.
    pub async fn decide_subject_access_item(
        &self,
        staff: &Staff,
        id: &str,
        item: &str,
        decision: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), CaseError> {
        let (view, found) = self.subject_access_item(staff, id, item, now).await?;
        let mut decisions = view.request.decisions.clone();
        if !decisions.is_object() {
            decisions = json!({});
        }
        let Some(map) = decisions.as_object_mut() else {
            return Err(CaseError::Internal("decisions are not an object".into()));
        };
        match decision {
            "default" => {
                map.remove(&found.id);
            }
            "withhold" | "disclose" => {
                if decision == "disclose" && !found.third_party {
                    return Err(CaseError::invalid(
                        "decision",
                        "Only third-party information is withheld unless you release it",
                    ));
                }
                let reason = rules::check_reason(
                    reason,
                    if decision == "withhold" {
                        "the exemption that applies and why"
                    } else {
                        "why this third-party information may be released"
                    },
                )
                .map_err(CaseError::invalid_fields)?;
                map.insert(
                    found.id.clone(),
                    json!({
                        "decision": decision, "reason": reason,
                        "by": staff.actor(), "at": crate::storage::timestamp(now),
                    }),
                );
            }
            _ => {
                return Err(CaseError::invalid(
                    "decision",
                    "Select whether to withhold or release this item",
                ));
            }
        }
        if !self
            .storage
            .decide_subject_access_items(&view.request, &decisions, decision, &staff.actor(), now)
            .await?
        {
            return Err(Self::changed_meanwhile());
        }
        Ok(())
    }

    /// Refuses an open request with its reason (field `reason`).
    pub async fn refuse_subject_access(
        &self,
        staff: &Staff,
        id: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), CaseError> {
        let request = self.request(staff, id).await?;
        Self::still_open(&request)?;
        let reason = rules::check_reason(reason, "why the request is refused")
            .map_err(CaseError::invalid_fields)?;
        if !self
            .storage
            .refuse_subject_access(&request, &reason, &staff.actor(), now)
            .await?
        {
            return Err(Self::changed_meanwhile());
        }
        Ok(())
    }

    /// Releases an open request: the export (as JSON, with every withheld item and its
    /// reason) is stored sealed as the release record, and the release audited on the
    /// request and on each case covered.
    pub async fn release_subject_access(
        &self,
        staff: &Staff,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), CaseError> {
        let view = self.subject_access_view(staff, id, now).await?;
        Self::still_open(&view.request)?;
        let files = self.released_files(&view).await?;
        let record = export_json(&view, &files, now);
        let exemptions = view
            .items()
            .filter(|i| i.decision.as_ref().is_some_and(|(d, _)| d == "withhold"))
            .count();
        let references: Vec<&str> = view.cases.iter().map(|c| c.reference.as_str()).collect();
        let reason = format!(
            "cases:{} redactions:{} exemptions:{exemptions}",
            references.join(","),
            view.withheld()
        );
        let mut request = view.request.clone();
        // The cases actually exported (one since destroyed is not claimed).
        request.cases = view.cases.iter().map(|c| c.referral_id.clone()).collect();
        if !self
            .storage
            .release_subject_access(&request, &record, &reason, &staff.actor(), now)
            .await?
        {
            return Err(Self::changed_meanwhile());
        }
        Ok(())
    }

    /// Reads every released file of the export once: its SHA-256, size and path in the
    /// bundle, by item id. A file that cannot be found is an error (the release waits).
    async fn released_files(
        &self,
        view: &RequestView,
    ) -> Result<std::collections::BTreeMap<String, FileFacts>, CaseError> {
        use sha2::{Digest, Sha256};
        let mut out = std::collections::BTreeMap::new();
        for case in &view.cases {
            let mut n = 0;
            for item in case.items.iter().filter(|i| i.withheld.is_none()) {
                let Some(file) = &item.file else {
                    continue;
                };
                let mut hasher = Sha256::new();
                let mut size = 0u64;
                match &file.source {
                    FileSource::Attachment(id) => {
                        self.storage
                            .read_attachment(id, |piece| {
                                hasher.update(piece);
                                size += piece.len() as u64;
                            })
                            .await?;
                    }
                    FileSource::OnwardExport(id) => {
                        let bytes = self
                            .storage
                            .onward_export_content(&case.referral_id, id)
                            .await?
                            .ok_or(CaseError::NotFound)?;
                        hasher.update(&bytes[..]);
                        size = bytes.len() as u64;
                    }
                }
                n += 1;
                out.insert(
                    item.id.clone(),
                    FileFacts {
                        sha256: hex::encode(hasher.finalize()),
                        size_bytes: size,
                        path: format!(
                            "files/{}/{n:02}-{}",
                            bundle_name(&case.reference),
                            bundle_name(&file.file_name)
                        ),
                    },
                );
            }
        }
        Ok(out)
    }

    /// The bytes of one released file named in the release record, checked against its
    /// SHA-256; `None` when it is no longer held (its case destroyed) or no longer the same.
    async fn released_file_bytes(
        &self,
        cases: &[(String, String)],
        case_reference: &str,
        document: &Value,
    ) -> Result<Option<Vec<u8>>, CaseError> {
        use sha2::{Digest, Sha256};
        let source = document
            .get("source")
            .and_then(Value::as_str)
            .and_then(FileSource::parse);
        let expected = document.get("sha256").and_then(Value::as_str);
        let (Some(source), Some(expected)) = (source, expected) else {
            return Ok(None);
        };
        let Some((referral_id, _)) = cases.iter().find(|(_, r)| r == case_reference) else {
            return Ok(None);
        };
        let bytes = match source {
            FileSource::Attachment(id) => {
                let held = self.storage.referral_attachments(referral_id).await?;
                if !held.iter().any(|a| a.id == id) {
                    return Ok(None);
                }
                self.storage.attachment_content(&id).await?.to_vec()
            }
            FileSource::OnwardExport(id) => {
                match self.storage.onward_export_content(referral_id, &id).await? {
                    Some(bytes) => bytes.to_vec(),
                    None => return Ok(None),
                }
            }
        };
        Ok((hex::encode(Sha256::digest(&bytes)) == expected).then_some(bytes))
    }

    /// A released request's export as `json`, `pdf` or `zip` (the PDF, the JSON and every
    /// released file), made from its release record; audited `subject_access.downloaded`
    /// (the format and, for the bundle, how many files: no content).
    pub async fn subject_access_file(
        &self,
        staff: &Staff,
        id: &str,
        format: &str,
        now: DateTime<Utc>,
    ) -> Result<ExportFile, CaseError> {
        let request = self.request(staff, id).await?;
        let Some(record) = request.release_record.clone() else {
            return Err(CaseError::NotFound);
        };
        let stem = format!("subject-access-{}", request.received_on);
        let mut file_count = 0usize;
        let file = match format {
            "json" => ExportFile {
                file_name: format!("{stem}.json"),
                content_type: "application/json",
                bytes: serde_json::to_vec_pretty(&public_record(&record))
                    .map_err(|e| CaseError::Internal(e.to_string()))?,
            },
            "pdf" => ExportFile {
                file_name: format!("{stem}.pdf"),
                content_type: "application/pdf",
                bytes: render_pdf(&record).await?,
            },
            "zip" => {
                let cases = self.storage.references_of(&request.cases).await?;
                let mut files = Vec::new();
                let mut missing = Vec::new();
                for case in record
                    .get("cases")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let reference = case
                        .get("reference")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    for document in case
                        .get("documents")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        let Some(path) = document.get("path").and_then(Value::as_str) else {
                            continue;
                        };
                        match self
                            .released_file_bytes(&cases, reference, document)
                            .await?
                        {
                            Some(bytes) => files.push((path.to_owned(), bytes)),
                            None => missing.push(path.to_owned()),
                        }
                    }
                }
                let pdf = render_pdf(&record).await?;
                let json = serde_json::to_vec_pretty(&public_record(&record))
                    .map_err(|e| CaseError::Internal(e.to_string()))?;
                file_count = files.len();
                let stem_in = stem.clone();
                let bytes = tokio::task::spawn_blocking(move || {
                    bundle(&stem_in, &pdf, &json, &files, &missing)
                })
                .await
                .map_err(|e| CaseError::Internal(e.to_string()))??;
                ExportFile {
                    file_name: format!("{stem}.zip"),
                    content_type: "application/zip",
                    bytes,
                }
            }
            _ => return Err(CaseError::NotFound),
        };
        let mut entry = AuditEntry::new(
            now,
            staff.actor(),
            "subject_access.downloaded",
            "subject_access",
            &request.id,
        );
        entry.reason = Some(if format == "zip" {
            format!("zip files:{file_count}")
        } else {
            format.to_owned()
        });
        self.storage.append_audit(&entry).await?;
        Ok(file)
    }
}

/// The PDF of a release record, made on a blocking thread.
async fn render_pdf(record: &Value) -> Result<Vec<u8>, CaseError> {
    let document = export_document(record);
    tokio::task::spawn_blocking(move || {
        crate::documents::pdf::render(&crate::documents::writable(&document))
    })
    .await
    .map_err(|e| CaseError::Internal(e.to_string()))?
    .map_err(|e| CaseError::Internal(e.to_string()))
}

/// The record as handed to the requester: where each file is kept inside Haven left out.
pub fn public_record(record: &Value) -> Value {
    let mut record = record.clone();
    if let Some(cases) = record.get_mut("cases").and_then(Value::as_array_mut) {
        for case in cases {
            if let Some(documents) = case.get_mut("documents").and_then(Value::as_array_mut) {
                for document in documents {
                    if let Some(map) = document.as_object_mut() {
                        map.remove("source");
                    }
                }
            }
        }
    }
    record
}

/// The release bundle: `README.txt`, the PDF, the JSON and the files at their paths.
fn bundle(
    stem: &str,
    pdf: &[u8],
    json: &[u8],
    files: &[(String, Vec<u8>)],
    missing: &[String],
) -> Result<Vec<u8>, CaseError> {
    use std::io::Write;
    use zip::write::SimpleFileOptions;
    let fail = |e: &dyn std::fmt::Display| CaseError::Internal(format!("bundle: {e}"));
    let mut readme = format!(
        "This is the information we hold about you, in answer to your subject access request.\r\n\r\n\
         {stem}.pdf: the information, to read or print.\r\n\
         {stem}.json: the same information as data, with each file's name, type, size and SHA-256.\r\n\
         files/: the files we hold, one folder per case.\r\n\r\n\
         Some information may have been withheld: the PDF's last section lists each item and why.\r\n"
    );
    if !missing.is_empty() {
        readme.push_str("\r\nThese files were released but are no longer held, so they are not in this bundle:\r\n");
        for path in missing {
            readme.push_str(&format!("{path}\r\n"));
        }
    }
    let deflated =
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let mut add = |name: &str, bytes: &[u8]| -> Result<(), CaseError> {
        zip.start_file(name, deflated).map_err(|e| fail(&e))?;
        zip.write_all(bytes).map_err(|e| fail(&e))
    };
    add("README.txt", readme.as_bytes())?;
    add(&format!("{stem}.pdf"), pdf)?;
    add(&format!("{stem}.json"), json)?;
    for (path, bytes) in files {
        add(path, bytes)?;
    }
    Ok(zip.finish().map_err(|e| fail(&e))?.into_inner())
}

/// The machine-readable export: the request, each case's answers (by stage), notes,
/// messages and documents without what is withheld (each file with its name, type, size,
/// SHA-256 and path in the bundle, from `files`), and every withheld item with its reason
/// (and every third-party item released, with why).
pub fn export_json(
    view: &RequestView,
    files: &std::collections::BTreeMap<String, FileFacts>,
    now: DateTime<Utc>,
) -> Value {
    let cases: Vec<Value> = view
        .cases
        .iter()
        .map(|case| {
            let shown = |kind: ItemKind| -> Vec<Value> {
                case.items
                    .iter()
                    .filter(|i| i.kind == kind && i.withheld.is_none())
                    .map(|i| match kind {
                        ItemKind::Answer => {
                            json!({ "stage": i.section, "question": i.label, "answer": i.text })
                        }
                        ItemKind::Document => {
                            let mut d = json!({ "question": i.label, "file": i.text });
                            if let (Some(file), Some(facts), Some(map)) =
                                (&i.file, files.get(&i.id), d.as_object_mut())
                            {
                                map.insert("file_name".into(), json!(file.file_name));
                                map.insert("media_type".into(), json!(file.media_type));
                                map.insert("size_bytes".into(), json!(facts.size_bytes));
                                map.insert("sha256".into(), json!(facts.sha256));
                                map.insert("path".into(), json!(facts.path));
                                map.insert("source".into(), json!(file.source.key()));
                            }
                            d
                        }
                        _ => json!({ "heading": i.label, "text": i.text }),
                    })
                    .collect()
            };
            json!({
                "reference": case.reference,
                "service": case.service_name,
                "received_on": case.received_on.to_string(),
                "answers": shown(ItemKind::Answer),
                "notes": shown(ItemKind::Note),
                "messages": shown(ItemKind::Message),
                "documents": shown(ItemKind::Document),
            })
        })
        .collect();
    let withheld: Vec<Value> = view
        .cases
        .iter()
        .flat_map(|c| c.items.iter().map(move |i| (c, i)))
        .filter_map(|(c, i)| {
            i.withheld.as_ref().map(|reason| {
                json!({
                    "case": c.reference, "kind": i.kind.as_str(), "where": i.section,
                    "item": i.label, "reason": reason,
                    "exemption": i.decision.as_ref().is_some_and(|(d, _)| d == "withhold"),
                })
            })
        })
        .collect();
    let disclosed: Vec<Value> = view
        .cases
        .iter()
        .flat_map(|c| c.items.iter().map(move |i| (c, i)))
        .filter_map(|(c, i)| match &i.decision {
            Some((d, reason)) if d == "disclose" => Some(json!({
                "case": c.reference, "kind": i.kind.as_str(), "item": i.label, "reason": reason,
            })),
            _ => None,
        })
        .collect();
    json!({
        "format": "haven-subject-access-v1",
        "request": {
            "received_on": view.request.received_on.to_string(),
            "due_on": view.request.due_on.to_string(),
            "released_on": london_date(now).to_string(),
        },
        "cases": cases,
        "withheld": withheld,
        "third_party_released": disclosed,
    })
}

/// The PDF's content, from the release record ([`export_json`]).
pub fn export_document(record: &Value) -> CaseDocument {
    let text = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let date = |v: &Value, k: &str| {
        let t = text(v, k);
        NaiveDate::parse_from_str(&t, "%Y-%m-%d").map_or(t, day_in_words)
    };
    let list = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let request = record.get("request").cloned().unwrap_or(Value::Null);
    let mut blocks = vec![Block::Paragraph(
        "This is the information we hold about you, in answer to your subject access request. \
         Some information has been withheld: the last section lists each item and why."
            .to_owned(),
    )];
    for case in list(record, "cases") {
        blocks.push(Block::Heading(format!(
            "{}: case {} (received {})",
            text(&case, "service"),
            text(&case, "reference"),
            date(&case, "received_on")
        )));
        for answer in list(&case, "answers") {
            blocks.push(Block::Row {
                label: text(&answer, "question"),
                value: text(&answer, "answer"),
            });
        }
        for (key, title) in [("notes", "Case notes"), ("messages", "Messages")] {
            let entries = list(&case, key);
            if entries.is_empty() {
                continue;
            }
            blocks.push(Block::Heading(title.to_owned()));
            for e in entries {
                blocks.push(Block::Row {
                    label: text(&e, "heading"),
                    value: text(&e, "text"),
                });
            }
        }
        let documents = list(&case, "documents");
        if !documents.is_empty() {
            blocks.push(Block::Heading("Documents we hold".to_owned()));
            for d in documents {
                let path = text(&d, "path");
                blocks.push(Block::Row {
                    label: text(&d, "question"),
                    value: if path.is_empty() {
                        text(&d, "file")
                    } else {
                        format!("{} (in the bundle: {path})", text(&d, "file"))
                    },
                });
            }
        }
    }
    let withheld = list(record, "withheld");
    blocks.push(Block::Heading("Information withheld and why".to_owned()));
    if withheld.is_empty() {
        blocks.push(Block::Paragraph("Nothing was withheld.".to_owned()));
    }
    for w in withheld {
        blocks.push(Block::Row {
            label: format!(
                "{} ({}, case {})",
                text(&w, "item"),
                text(&w, "where"),
                text(&w, "case")
            ),
            value: text(&w, "reason"),
        });
    }
    blocks.push(Block::Paragraph(format!(
        "Request received on {}. Released on {}.",
        date(&request, "received_on"),
        date(&request, "released_on")
    )));
    CaseDocument {
        title: "Your information: subject access request".to_owned(),
        subtitle: None,
        blocks,
    }
}
