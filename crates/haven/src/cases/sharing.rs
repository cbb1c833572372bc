//! The information-sharing register (issue 17): every onward share of the services a member
//! of staff answers for (`view_sharing_register`: managers their team's, auditors every
//! team's), with recipient, lawful basis, consent, the date sent, what was shared, the files
//! handed over and their SHA-256; filtered (service, kind of recipient, lawful basis, consent,
//! the date sent from/to), a page at a time, and exported as CSV (cells made safe for
//! spreadsheets by `haven_core::export::csv::csv_safe`). Each page view is one audit entry
//! naming the filter and the references shown; each export one naming the filter and the row
//! count, never content.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use haven_core::answer_words::day_in_words;
use haven_core::casework::input::date_from_parts;
use haven_core::definition::ServiceDefinition;
use haven_core::definition::onward::recipient_kind_words;
use haven_core::export::csv::csv_safe;
use serde::{Deserialize, Serialize};

use super::{CaseError, Cases};
use crate::access::Staff;
use crate::documents::Format;
use crate::policy::{Action, CaseScope, Decision};
use crate::services::Registry;
use crate::storage::audit::AuditEntry;
use crate::storage::sharing::{SharingFilter, SharingRow};

/// Rows per page of the register.
pub const PAGE_SIZE: u32 = 50;
/// Rows read at a time for the CSV export.
const CSV_BATCH: u32 = 500;

/// The register's filters as the form sends them (blank = any). Every field is text, so a
/// bad value is a problem naming its field, never a refused request.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct RegisterQuery {
    #[serde(default)]
    pub service: String,
    /// A `recipient_kind` of the services' onward referral kinds (`police`).
    #[serde(default)]
    pub recipient_kind: String,
    #[serde(default)]
    pub lawful_basis: String,
    /// `sought`, `not_sought` or blank.
    #[serde(default)]
    pub consent: String,
    #[serde(default, rename = "from-day")]
    pub from_day: String,
    #[serde(default, rename = "from-month")]
    pub from_month: String,
    #[serde(default, rename = "from-year")]
    pub from_year: String,
    #[serde(default, rename = "to-day")]
    pub to_day: String,
    #[serde(default, rename = "to-month")]
    pub to_month: String,
    #[serde(default, rename = "to-year")]
    pub to_year: String,
    #[serde(default)]
    pub page: String,
}

impl RegisterQuery {
    /// The filter as a query string (for pagination links and the CSV link), page left out.
    pub fn query_string(&self) -> String {
        let mut copy = self.clone();
        copy.page = String::new();
        serde_urlencoded::to_string(&copy).unwrap_or_default()
    }

    /// The page asked for (1 when blank or not a number).
    pub fn page_number(&self) -> u32 {
        self.page
            .trim()
            .parse::<u32>()
            .unwrap_or(1)
            .clamp(1, 100_000)
    }

    /// The filter in an audit entry's reason: keys and days only, never content.
    fn audit_words(&self) -> String {
        format!(
            "service={} recipient_kind={} lawful_basis={} consent={} from={}-{}-{} to={}-{}-{}",
            short(&self.service),
            short(&self.recipient_kind),
            short(&self.lawful_basis),
            short(&self.consent),
            short(&self.from_year),
            short(&self.from_month),
            short(&self.from_day),
            short(&self.to_year),
            short(&self.to_month),
            short(&self.to_day),
        )
    }
}

/// At most 40 characters of a filter value, letters, digits, `_` and `-` only (an audit
/// reason never carries free text).
fn short(value: &str) -> String {
    value
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .take(40)
        .collect()
}

/// A filter value the page can offer: key and words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Choice {
    pub key: String,
    pub label: String,
}

/// What the register's filter offers this member of staff.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RegisterChoices {
    /// The services they may see the register of (shown as a filter when more than one).
    pub services: Vec<Choice>,
    pub recipient_kinds: Vec<Choice>,
    pub lawful_bases: Vec<Choice>,
}

/// A file handed over, as the register shows it.
#[derive(Debug, Clone)]
pub struct SharedFile {
    pub file_name: String,
    /// "PDF" or "Word".
    pub format: &'static str,
    /// Hex SHA-256 of the file.
    pub sha256: String,
    pub made_at: DateTime<Utc>,
    /// Who took it (name, else email).
    pub by: String,
}

/// One onward share, in words.
#[derive(Debug, Clone)]
pub struct RegisterEntry {
    pub id: String,
    pub reference: String,
    pub service: String,
    /// The kind's label ("Police intelligence sharing").
    pub kind: String,
    /// The kind of organisation ("Police").
    pub recipient_kind: String,
    /// `None` when the case's sealed values could not be opened.
    pub recipient: Option<String>,
    pub lawful_basis: String,
    pub consent_sought: bool,
    pub consent_reason: Option<String>,
    pub sent_on: NaiveDate,
    /// Who recorded it (name, else email).
    pub by: String,
    /// What the document holds: its title and section headings, and whether the referrer's
    /// identity and third-party information may be in it.
    pub shared: String,
    pub files: Vec<SharedFile>,
}

/// A page of the register.
#[derive(Debug, Clone)]
pub struct RegisterPage {
    pub entries: Vec<RegisterEntry>,
    pub page: u32,
    pub more: bool,
    pub choices: RegisterChoices,
}

/// The CSV export: its file name and bytes.
pub struct RegisterCsv {
    pub file_name: String,
    pub bytes: Vec<u8>,
    pub rows: usize,
}

/// What a document of `kind` of `def` holds, in words.
pub fn shared_words(registry: &Registry, def: &ServiceDefinition, kind: &str) -> String {
    let Some(k) = def.onward_kind(kind) else {
        return "Not known (this kind of referral is no longer defined)".to_owned();
    };
    let mut words = match registry.template(&def.id, &k.key) {
        Some(t) => {
            let sections: Vec<&str> = t.sections.iter().map(|s| s.heading.as_str()).collect();
            format!("{}: {}", t.title, sections.join(", "))
        }
        None => k.label.clone(),
    };
    words.push_str(if k.referrer_identity {
        ". With the referrer's identity"
    } else {
        ". Without the referrer's identity"
    });
    words.push_str(if k.third_party {
        " and with third-party information"
    } else if k.third_party_questions.is_empty() {
        " and without third-party information"
    } else {
        " and with some third-party information"
    });
    words
}

/// A document's download name (`SEC-AB12-CD34-police-intelligence.pdf`).
pub fn file_name(reference: &str, kind: &str, format: &str) -> String {
    let format = Format::parse(format).map_or(format, |f| f.as_str());
    format!("{reference}-{}.{format}", kind.replace('_', "-"))
}

/// The checked filter, or every problem by field.
struct Checked {
    filter: SharingFilter,
}

impl<'a> Cases<'a> {
    /// The services whose register `staff` may see (their team's, or every team's for roles
    /// of all teams, as the policy allows per service).
    fn register_services(&self, staff: &Staff) -> Vec<&'a ServiceDefinition> {
        self.registry
            .definitions()
            .filter(|d| {
                self.policy
                    .decide(
                        staff,
                        Action::ViewSharingRegister,
                        Some(CaseScope {
                            service: &d.id,
                            team: &d.team,
                        }),
                    )
                    .allowed()
            })
            .collect()
    }

    /// What the filter offers.
    fn register_choices(&self, services: &[&ServiceDefinition]) -> RegisterChoices {
        let mut recipient_kinds: Vec<Choice> = Vec::new();
        let mut lawful_bases: Vec<Choice> = Vec::new();
        for def in services {
            for kind in &def.onward_referrals {
                if !recipient_kinds.iter().any(|c| c.key == kind.recipient_kind) {
                    recipient_kinds.push(Choice {
                        key: kind.recipient_kind.clone(),
                        label: recipient_kind_words(&kind.recipient_kind),
                    });
                }
                for basis in &kind.lawful_bases {
                    if !lawful_bases.iter().any(|c| c.key == basis.key) {
                        lawful_bases.push(Choice {
                            key: basis.key.clone(),
                            label: basis.label.clone(),
                        });
                    }
                }
            }
        }
        recipient_kinds.sort_by(|a, b| a.label.cmp(&b.label));
        lawful_bases.sort_by(|a, b| a.label.cmp(&b.label));
        RegisterChoices {
            services: services
                .iter()
                .map(|d| Choice {
                    key: d.id.clone(),
                    label: d.name.clone(),
                })
                .collect(),
            recipient_kinds,
            lawful_bases,
        }
    }

    /// The query checked against what `staff` may see: the storage filter, or every problem
    /// by field (`service`, `recipient_kind`, `lawful_basis`, `consent`, `from`, `to`).
    fn check_register_query(
        &self,
        staff: &Staff,
        services: &[&ServiceDefinition],
        query: &RegisterQuery,
    ) -> Result<Checked, CaseError> {
        let mut problems: Vec<(String, String)> = Vec::new();
        let service = query.service.trim();
        let chosen: Vec<&ServiceDefinition> = if service.is_empty() {
            services.to_vec()
        } else {
            match services.iter().find(|d| d.id == service) {
                Some(d) => vec![*d],
                None => {
                    problems.push((
                        "service".to_owned(),
                        "Choose a service from the list".to_owned(),
                    ));
                    Vec::new()
                }
            }
        };
        let recipient_kind = query.recipient_kind.trim();
        let kinds = if recipient_kind.is_empty() {
            None
        } else {
            let pairs: Vec<(String, String)> = chosen
                .iter()
                .flat_map(|d| {
                    d.onward_referrals
                        .iter()
                        .filter(|k| k.recipient_kind == recipient_kind)
                        .map(|k| (d.id.clone(), k.key.clone()))
                })
                .collect();
            let known = services.iter().any(|d| {
                d.onward_referrals
                    .iter()
                    .any(|k| k.recipient_kind == recipient_kind)
            });
            if !known {
                problems.push((
                    "recipient_kind".to_owned(),
                    "Choose a kind of recipient from the list".to_owned(),
                ));
            }
            Some(pairs)
        };
        let lawful_basis = query.lawful_basis.trim();
        if !lawful_basis.is_empty()
            && !services.iter().any(|d| {
                d.onward_referrals
                    .iter()
                    .any(|k| k.lawful_basis(lawful_basis).is_some())
            })
        {
            problems.push((
                "lawful_basis".to_owned(),
                "Choose a lawful basis from the list".to_owned(),
            ));
        }
        let consent_sought = match query.consent.trim() {
            "" => None,
            "sought" => Some(true),
            "not_sought" => Some(false),
            _ => {
                problems.push((
                    "consent".to_owned(),
                    "Choose whether consent was sought, not sought, or either".to_owned(),
                ));
                None
            }
        };
        let from = date_from_parts(
            &mut problems,
            "from",
            "the date sent from",
            &query.from_day,
            &query.from_month,
            &query.from_year,
        );
        let to = date_from_parts(
            &mut problems,
            "to",
            "the date sent to",
            &query.to_day,
            &query.to_month,
            &query.to_year,
        );
        if let (Some(from), Some(to)) = (from, to)
            && to < from
        {
            problems.push((
                "to".to_owned(),
                "The date sent to must be the same as or after the date sent from".to_owned(),
            ));
        }
        if !problems.is_empty() {
            return Err(CaseError::invalid_fields(problems));
        }
        let teams = if self.policy.all_teams(staff.role) {
            None
        } else {
            Some(staff.team.iter().cloned().collect())
        };
        Ok(Checked {
            filter: SharingFilter {
                teams,
                services: chosen.iter().map(|d| d.id.clone()).collect(),
                kinds,
                lawful_basis: Some(lawful_basis.to_owned()).filter(|b| !b.is_empty()),
                consent_sought,
                sent_from: from,
                sent_to: to,
                after: None,
                limit: PAGE_SIZE,
                offset: 0,
            },
        })
    }

    /// Refuses a role without `view_sharing_register` on any service (403).
    fn may_see_register(&self, staff: &Staff) -> Result<Vec<&'a ServiceDefinition>, CaseError> {
        let services = self.register_services(staff);
        if services.is_empty()
            && self.policy.decide(staff, Action::ViewSharingRegister, None) != Decision::Allow
        {
            return Err(CaseError::Forbidden(
                "Your role may not see the information-sharing register".to_owned(),
            ));
        }
        Ok(services)
    }

    /// What the register's filter offers `staff` (for the page shown with errors).
    pub fn sharing_choices(&self, staff: &Staff) -> Result<RegisterChoices, CaseError> {
        let services = self.may_see_register(staff)?;
        Ok(self.register_choices(&services))
    }

    /// A page of the register as `staff` may see it; audited `sharing.listed` (the filter and
    /// the references shown). Bad filters: [`CaseError::Invalid`] naming each field.
    pub async fn sharing_register(
        &self,
        staff: &Staff,
        query: &RegisterQuery,
        now: DateTime<Utc>,
    ) -> Result<RegisterPage, CaseError> {
        let services = self.may_see_register(staff)?;
        let choices = self.register_choices(&services);
        let mut checked = self.check_register_query(staff, &services, query)?;
        let page = query.page_number();
        checked.filter.offset = (page - 1).saturating_mul(PAGE_SIZE);
        // One more than a page says whether there is a next one, with no count of the rest.
        checked.filter.limit = PAGE_SIZE + 1;
        let mut rows = self.storage.sharing_register(&checked.filter).await?;
        let more = rows.len() > PAGE_SIZE as usize;
        rows.truncate(PAGE_SIZE as usize);
        let entries = self.register_entries(&rows).await?;
        let shown: Vec<&str> = entries.iter().map(|e| e.reference.as_str()).collect();
        let mut entry = AuditEntry::new(now, staff.actor(), "sharing.listed", "sharing", "");
        entry.record_id = None;
        entry.reason = Some(format!(
            "{} page={page} shown={}",
            query.audit_words(),
            shown.join(",")
        ));
        self.storage.append_audit(&entry).await?;
        Ok(RegisterPage {
            entries,
            page,
            more,
            choices,
        })
    }

    /// The whole filtered register as CSV (every page), audited `sharing.exported` with the
    /// filter and the row count. Every cell goes through `csv_safe`.
    pub async fn sharing_csv(
        &self,
        staff: &Staff,
        query: &RegisterQuery,
        now: DateTime<Utc>,
    ) -> Result<RegisterCsv, CaseError> {
        let services = self.may_see_register(staff)?;
        let mut checked = self.check_register_query(staff, &services, query)?;
        checked.filter.limit = CSV_BATCH;
        let mut writer = csv::Writer::from_writer(Vec::new());
        let header = [
            "Reference",
            "Service",
            "Onward referral",
            "Kind of recipient",
            "Recipient",
            "Lawful basis",
            "Consent sought",
            "Why consent was not sought",
            "Date sent",
            "Recorded by",
            "What was shared",
            "Files handed over",
            "SHA-256 of each file",
            "When each file was made",
        ];
        let csv_error = |e: csv::Error| CaseError::Internal(format!("writing the CSV: {e}"));
        writer.write_record(header).map_err(csv_error)?;
        let mut count = 0usize;
        loop {
            let rows = self.storage.sharing_register(&checked.filter).await?;
            let Some(last) = rows.last() else {
                break;
            };
            checked.filter.after = Some(last.cursor());
            let full = rows.len() == CSV_BATCH as usize;
            for e in self.register_entries(&rows).await? {
                let files = |f: &dyn Fn(&SharedFile) -> String| {
                    e.files.iter().map(f).collect::<Vec<_>>().join("; ")
                };
                let record = [
                    e.reference.clone(),
                    e.service.clone(),
                    e.kind.clone(),
                    e.recipient_kind.clone(),
                    e.recipient
                        .clone()
                        .unwrap_or_else(|| "Not available".to_owned()),
                    e.lawful_basis.clone(),
                    if e.consent_sought { "Yes" } else { "No" }.to_owned(),
                    e.consent_reason.clone().unwrap_or_default(),
                    day_in_words(e.sent_on),
                    e.by.clone(),
                    e.shared.clone(),
                    files(&|f: &SharedFile| f.file_name.clone()),
                    files(&|f: &SharedFile| f.sha256.clone()),
                    files(&|f: &SharedFile| {
                        f.made_at
                            .with_timezone(&chrono_tz::Europe::London)
                            .format("%-d %B %Y %H:%M")
                            .to_string()
                    }),
                ];
                writer
                    .write_record(record.iter().map(|cell| csv_safe(cell).into_owned()))
                    .map_err(csv_error)?;
                count += 1;
            }
            if !full {
                break;
            }
        }
        let bytes = writer
            .into_inner()
            .map_err(|e| CaseError::Internal(format!("writing the CSV: {e}")))?;
        let mut entry = AuditEntry::new(now, staff.actor(), "sharing.exported", "sharing", "");
        entry.record_id = None;
        entry.reason = Some(format!("{} rows={count}", query.audit_words()));
        self.storage.append_audit(&entry).await?;
        Ok(RegisterCsv {
            file_name: format!(
                "sharing-register-{}.csv",
                haven_core::calendar::london_date(now).format("%Y-%m-%d")
            ),
            bytes,
            rows: count,
        })
    }

    /// Rows in words: the definitions' labels, people by name (one read of the accounts).
    async fn register_entries(&self, rows: &[SharingRow]) -> Result<Vec<RegisterEntry>, CaseError> {
        let names: HashMap<String, String> = self
            .storage
            .all_staff()
            .await?
            .into_iter()
            .map(|u| (format!("user:{}", u.id), u.name().to_owned()))
            .collect();
        let name = |actor: &str| {
            names
                .get(actor)
                .cloned()
                .unwrap_or_else(|| actor.to_owned())
        };
        Ok(rows
            .iter()
            .map(|r| {
                let def = self.registry.get(&r.service);
                let kind = def.and_then(|d| d.onward_kind(&r.kind));
                RegisterEntry {
                    id: r.id.clone(),
                    reference: r.reference.clone(),
                    service: def.map_or_else(|| r.service.clone(), |d| d.name.clone()),
                    kind: kind.map_or_else(|| r.kind.clone(), |k| k.label.clone()),
                    recipient_kind: kind.map_or_else(String::new, |k| k.recipient_kind_words()),
                    recipient: r.recipient.clone(),
                    lawful_basis: kind
                        .and_then(|k| k.lawful_basis(&r.lawful_basis))
                        .map_or_else(|| r.lawful_basis.clone(), |b| b.label.clone()),
                    consent_sought: r.consent_sought,
                    consent_reason: r.consent_reason.clone(),
                    sent_on: r.sent_on,
                    by: name(&r.actor),
                    shared: def
                        .map_or_else(String::new, |d| shared_words(self.registry, d, &r.kind)),
                    files: r
                        .exports
                        .iter()
                        .map(|e| SharedFile {
                            file_name: file_name(&r.reference, &r.kind, &e.format),
                            format: if e.format == "pdf" { "PDF" } else { "Word" },
                            sha256: e.sha256.clone(),
                            made_at: e.created_at,
                            by: name(&e.created_by),
                        })
                        .collect(),
                }
            })
            .collect())
    }
}
