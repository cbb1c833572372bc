//! Filling a document template from a case, with the recipient's exclusions applied first.

use chrono::{DateTime, NaiveDate, Utc};
use haven_core::definition::{DocumentTemplate, OnwardReferralKind, ServiceDefinition};
use serde_json::{Value, json};

use super::{DocumentError, environment};
use crate::storage::referrals::Referral;
use haven_core::answer_words::{STAFF, answer_in_words, day_in_words};
use haven_core::disclosure::{remove_answer, without_third_party_but};

/// A filled document, ready to be written as PDF or Word.
#[derive(Clone)]
pub struct CaseDocument {
    pub title: String,
    pub subtitle: Option<String>,
    pub blocks: Vec<Block>,
}

impl std::fmt::Debug for CaseDocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaseDocument")
            .field("blocks", &self.blocks.len())
            .finish_non_exhaustive()
    }
}

/// One piece of a document, in order.
#[derive(Clone)]
pub enum Block {
    Heading(String),
    Row { label: String, value: String },
    Paragraph(String),
}

/// What a document is made from.
pub struct FillInput<'a> {
    pub def: &'a ServiceDefinition,
    pub kind: &'a OnwardReferralKind,
    pub template: &'a DocumentTemplate,
    pub referral: &'a Referral,
    /// The onward referral as recorded.
    pub recipient: &'a str,
    pub lawful_basis: &'a str,
    pub consent_sought: bool,
    pub consent_not_sought_reason: Option<&'a str>,
    pub sent_on: NaiveDate,
    /// Email of whoever recorded the referral (the worker).
    pub recorded_by: &'a str,
    pub notes: Option<&'a str>,
    pub today: DateTime<Utc>,
}

fn at<'v>(answers: &'v Value, key: &str) -> Option<&'v Value> {
    key.split('.')
        .try_fold(answers, |value, part| value.get(part))
        .filter(|v| !v.is_null())
}

/// The answers this recipient may receive, and the referrer's own words to withhold from
/// any free text that still quotes them.
fn recipient_answers(input: &FillInput<'_>) -> (Value, Vec<String>) {
    let referral = input.referral;
    // Third-party answers only as the recipient's kind allows: all (`third_party`), or
    // just its `third_party_questions` (the police: the intelligence details).
    let mut answers = if input.kind.third_party {
        referral.answers.clone()
    } else {
        without_third_party_but(input.def, &referral.stage, &referral.answers, |key| {
            input.kind.receives_third_party(key)
        })
    };
    let mut withheld = Vec::new();
    if !input.kind.referrer_identity {
        for key in &input.def.referrer_questions {
            if let Some(Value::String(text)) = at(&referral.answers, key) {
                let text = text.trim();
                if text.chars().count() >= 3 {
                    withheld.push(text.to_owned());
                }
            }
            remove_answer(&mut answers, key);
        }
    }
    // Longest first, so a full name is withheld before a part of it.
    withheld.sort_by_key(|w| std::cmp::Reverse(w.len()));
    (answers, withheld)
}

/// Fills `input.template` from the case.
pub fn fill(input: &FillInput<'_>) -> Result<CaseDocument, DocumentError> {
    let referral = input.referral;
    let (answers, withheld) = recipient_answers(input);
    let band = referral
        .confirmed_band
        .clone()
        .or_else(|| referral.suggested_band.clone());
    let consent = if input.consent_sought {
        "Yes".to_owned()
    } else {
        format!(
            "No: {}",
            input.consent_not_sought_reason.unwrap_or("no reason given")
        )
    };
    let lawful_basis = input
        .kind
        .lawful_basis(input.lawful_basis)
        .map_or_else(|| input.lawful_basis.to_owned(), |b| b.label.clone());
    let screening = referral.screening.clone().unwrap_or(Value::Null);
    // From the recipient's answers: a contact wish this recipient may not have is not passed on.
    let reported_by = haven_core::reporter::reported_by(input.def, &referral.audience, &answers);
    let context = json!({
        "reporter": {
            "about_self": reported_by.about_self,
            "words": reported_by.words,
        },
        "case": {
            "reference": referral.reference,
            "service": input.def.name,
            "received": day_in_words(haven_core::calendar::london_date(referral.received_at)),
            // In words: the state's label, the band without underscores ("very high").
            "status": input.def.workflow.as_ref()
                .and_then(|w| w.states.iter().find(|s| s.key == referral.status))
                .map_or_else(|| referral.status.replace('_', " "), |s| s.label.clone()),
            "band": band.map_or_else(|| "not banded".to_owned(), |b| b.replace('_', " ")),
            "suggested_band": referral.suggested_band,
            "confirmed_band": referral.confirmed_band,
            "worker": referral.assignee,
        },
        "onward": {
            "label": input.kind.label,
            "recipient": input.recipient,
            "recipient_kind": input.kind.recipient_kind,
            "lawful_basis": lawful_basis,
            "lawful_basis_key": input.lawful_basis,
            "consent_sought": input.consent_sought,
            "consent_not_sought_reason": input.consent_not_sought_reason,
            "consent": consent,
            "sent_on": day_in_words(input.sent_on),
            "recorded_by": input.recorded_by,
            "notes": input.notes.unwrap_or_default(),
        },
        "screening": {
            "reasons": screening.get("reasons").cloned().unwrap_or(json!([])),
            "required_actions": screening.get("required_actions").cloned().unwrap_or(json!([])),
        },
        "answers": answers,
        "generated_on": day_in_words(haven_core::calendar::london_date(input.today)),
    });
    let env = environment();
    let render = |text: &str| -> Result<String, DocumentError> {
        let out = env
            .render_str(
                text,
                minijinja::Value::from(minijinja::value::Serde(&context)),
            )
            .map_err(|e| DocumentError::Template(e.to_string()))?;
        Ok(withhold(out.trim(), &withheld))
    };
    let mut blocks = Vec::new();
    for text in &input.template.intro {
        let p = render(text)?;
        if !p.is_empty() {
            blocks.push(Block::Paragraph(p));
        }
    }
    // Every document says so, whatever its template: a reader must not look for a child
    // other than the reporter.
    if let Some(words) = &reported_by.words {
        blocks.push(Block::Paragraph(format!("{words}.")));
    }
    for section in &input.template.sections {
        blocks.push(Block::Heading(render(&section.heading)?));
        for row in &section.rows {
            let value = match (&row.answer, &row.value) {
                (Some(key), _) => {
                    let question = input.def.question(key);
                    match (question, at(&answers, key)) {
                        (Some(q), Some(v)) => withhold(&answer_in_words(q, v, STAFF), &withheld),
                        _ => "Not given".to_owned(),
                    }
                }
                (None, Some(value)) => render(value)?,
                (None, None) => String::new(),
            };
            blocks.push(Block::Row {
                label: render(&row.label)?,
                value: if value.is_empty() {
                    "Not given".to_owned()
                } else {
                    value
                },
            });
        }
        for text in &section.paragraphs {
            let p = render(text)?;
            if !p.is_empty() {
                blocks.push(Block::Paragraph(p));
            }
        }
    }
    // Contact wishes the template does not already show: a recipient who may have the
    // reporter's details must also know how to contact them safely.
    let unshown: Vec<_> = reported_by
        .contact_wishes
        .iter()
        .filter(|w| {
            !input
                .template
                .sections
                .iter()
                .flat_map(|s| s.rows.iter())
                .any(|r| r.answer.as_deref() == Some(w.key.as_str()))
        })
        .collect();
    if !unshown.is_empty() {
        blocks.push(Block::Heading("Contacting the reporter safely".to_owned()));
        for wish in unshown {
            blocks.push(Block::Row {
                label: wish.label.clone(),
                value: withhold(&wish.text, &withheld),
            });
        }
    }
    blocks.push(Block::Paragraph(format!(
        "Generated by Haven on {} for {}.",
        day_in_words(haven_core::calendar::london_date(input.today)),
        withhold(input.recipient, &withheld)
    )));
    Ok(CaseDocument {
        title: render(&input.template.title)?,
        subtitle: input
            .template
            .subtitle
            .as_deref()
            .map(render)
            .transpose()?
            .filter(|s| !s.is_empty()),
        blocks,
    })
}

/// `text` with every withheld phrase replaced (case-insensitively for ASCII letters).
fn withhold(text: &str, withheld: &[String]) -> String {
    let mut out = text.to_owned();
    for phrase in withheld {
        let lower_out = out.to_lowercase();
        let lower_phrase = phrase.to_lowercase();
        // Lower-casing can change byte lengths outside ASCII; fall back to exact matching then.
        if lower_out.len() == out.len() && lower_phrase.len() == phrase.len() {
            let mut result = String::with_capacity(out.len());
            let mut rest = 0;
            for (i, _) in lower_out.match_indices(&lower_phrase) {
                if i < rest {
                    continue;
                }
                result.push_str(out.get(rest..i).unwrap_or_default());
                result.push_str("[withheld]");
                rest = i + phrase.len();
            }
            result.push_str(out.get(rest..).unwrap_or_default());
            out = result;
        } else {
            out = out.replace(phrase.as_str(), "[withheld]");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::withhold;

    #[test]
    fn withheld_phrases_are_replaced_whatever_their_case() {
        let text = "Spoke to Ann Other-Smith; ann other-smith agreed. Zoë Ó'Brien too.";
        let out = withhold(
            text,
            &["Ann Other-Smith".to_owned(), "Zoë Ó'Brien".to_owned()],
        );
        assert_eq!(
            out,
            "Spoke to [withheld]; [withheld] agreed. [withheld] too."
        );
    }
}
