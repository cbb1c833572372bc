//! Onward referrals: the kinds of referral a team makes to another organisation about a case
//! (SECOS: the VEMT panel, police intelligence, Children's Services; CEOP: local children's
//! social care, the police child protection unit), and the document template each is sent
//! with.
//!
//! Each kind names who receives it, the lawful bases staff may record for sharing, whether
//! the recipient may receive the referrer's identity and third-party information, and its
//! template: `templates/<service id>/<template>.toml` beside the definitions (format:
//! [`DocumentTemplate`]). Haven generates the document as PDF and Word from the template
//! filled from the case, with the recipient's exclusions applied to the data before the
//! template sees it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Choice;

/// One kind of onward referral.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OnwardReferralKind {
    /// Stable key (`police_intelligence`); a required action of the same purpose usually
    /// shares it.
    pub key: String,
    /// What staff see: "Police intelligence sharing".
    pub label: String,
    /// The screening's required action this referral fulfils (recording it can mark the
    /// action done). None: a referral staff make when needed (CEOP's).
    #[serde(default)]
    pub action: Option<String>,
    /// Who receives it, by default (staff may name the team or person when recording).
    pub recipient: String,
    /// What kind of organisation: `police`, `childrens_services`, `multi_agency_panel`, …
    pub recipient_kind: String,
    /// The lawful bases staff choose from when recording the referral.
    pub lawful_bases: Vec<Choice>,
    /// The recipient may receive the referrer's identity (the `referrer_questions`).
    #[serde(default)]
    pub referrer_identity: bool,
    /// The recipient may receive every third-party question (`data_class = "third_party"`).
    /// "Third party" means "never for the young person or family"; a recipient that may not
    /// have all of it can still be given the ones it needs: see `third_party_questions`.
    #[serde(default)]
    pub third_party: bool,
    /// With `third_party = false`: the third-party questions this recipient does receive
    /// (the police: the CSE intelligence details). Each must be a third-party question of
    /// the service; anything else is refused when the definition loads.
    #[serde(default)]
    pub third_party_questions: Vec<String>,
    /// The document template: `templates/<service id>/<template>.toml`.
    pub template: String,
}

/// A document template: a title and sections of labelled rows and paragraphs. Row values and
/// paragraphs are MiniJinja templates over the case context (documented in
/// `docs/service-definitions.md`); `answer` rows name a question by key and show its answer
/// in words. Only data the recipient may receive is ever in the context.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentTemplate {
    /// Heading of the document.
    pub title: String,
    /// A line under the title (the form it replaces, a protective marking).
    #[serde(default)]
    pub subtitle: Option<String>,
    /// Paragraphs before the first section (templates).
    #[serde(default)]
    pub intro: Vec<String>,
    pub sections: Vec<TemplateSection>,
}

/// One section of a document.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateSection {
    pub heading: String,
    /// Label and value rows.
    #[serde(default)]
    pub rows: Vec<TemplateRow>,
    /// Paragraphs after the rows (templates); an empty result is left out.
    #[serde(default)]
    pub paragraphs: Vec<String>,
}

/// One row: a label and either a question's answer or a templated value.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateRow {
    pub label: String,
    /// A question key (`young_person.name`): its answer in words, or "Not given".
    #[serde(default)]
    pub answer: Option<String>,
    /// A template (`{{ case.reference }}`).
    #[serde(default)]
    pub value: Option<String>,
}

impl OnwardReferralKind {
    /// Whether this recipient receives the third-party question `key`.
    pub fn receives_third_party(&self, key: &str) -> bool {
        self.third_party || self.third_party_questions.iter().any(|k| k == key)
    }

    pub fn lawful_basis(&self, key: &str) -> Option<&Choice> {
        self.lawful_bases.iter().find(|b| b.key == key)
    }

    /// The kind of organisation it goes to, in words ("Police", "Children's services").
    pub fn recipient_kind_words(&self) -> String {
        recipient_kind_words(&self.recipient_kind)
    }
}

/// A `recipient_kind` key in words: the known kinds by name, any other with its
/// underscores as spaces and a capital first letter.
pub fn recipient_kind_words(key: &str) -> String {
    match key {
        "police" => "Police".to_owned(),
        "childrens_services" => "Children's services".to_owned(),
        "multi_agency_panel" => "Multi-agency panel".to_owned(),
        "health" => "Health".to_owned(),
        "education" => "Education".to_owned(),
        other => {
            let spaced = other.replace('_', " ");
            let mut chars = spaced.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect()
            })
        }
    }
}

/// Parses and checks a document template for `kind` of `def`: every `answer` names a
/// question of the service, and none names information the recipient may not receive
/// (third-party questions, or the referrer's identity). `file` names the source in errors.
/// (The data is filtered as well when a document is made; this check makes a template that
/// asks for it fail at start-up instead of silently showing "Not given".)
pub fn parse_template(
    file: &str,
    source: &str,
    def: &super::ServiceDefinition,
    kind: &OnwardReferralKind,
) -> Result<DocumentTemplate, super::load::DefinitionError> {
    use super::load::{DefinitionError, DefinitionProblem, line_of};
    let template: DocumentTemplate = toml::from_str(source).map_err(|e| DefinitionError {
        file: file.to_owned(),
        problems: vec![DefinitionProblem {
            line: e.span().map_or(1, |span| line_of(source, span.start)),
            reason: e.message().trim().to_owned(),
        }],
    })?;
    let line = |needle: &str| {
        source
            .find(needle)
            .map_or(1, |offset| line_of(source, offset))
    };
    let mut problems = Vec::new();
    if template.sections.is_empty() {
        problems.push(DefinitionProblem {
            line: 1,
            reason: "a template needs at least one of `sections`".to_owned(),
        });
    }
    for section in &template.sections {
        for row in &section.rows {
            let at = line(&format!("\"{}\"", row.label));
            match (&row.answer, &row.value) {
                (Some(_), Some(_)) | (None, None) => problems.push(DefinitionProblem {
                    line: at,
                    reason: format!(
                        "row `{}` needs exactly one of `answer` or `value`",
                        row.label
                    ),
                }),
                _ => {}
            }
            let Some(key) = &row.answer else { continue };
            let at = line(&format!("\"{key}\""));
            let Some(question) = def.question(key) else {
                problems.push(DefinitionProblem {
                    line: at,
                    reason: format!("row `{}` names unknown question `{key}`", row.label),
                });
                continue;
            };
            if question.data_class == super::DataClass::ThirdParty
                && !kind.receives_third_party(key)
            {
                problems.push(DefinitionProblem {
                    line: at,
                    reason: format!(
                        "question `{key}` is third-party information, which `{}` may not receive (third_party = false, not in third_party_questions)",
                        kind.key
                    ),
                });
            }
            if def.referrer_questions.iter().any(|q| q == key) && !kind.referrer_identity {
                problems.push(DefinitionProblem {
                    line: at,
                    reason: format!(
                        "question `{key}` identifies the referrer, which `{}` may not receive (referrer_identity = false)",
                        kind.key
                    ),
                });
            }
        }
    }
    if problems.is_empty() {
        Ok(template)
    } else {
        problems.sort_by_key(|p| p.line);
        Err(DefinitionError {
            file: file.to_owned(),
            problems,
        })
    }
}

impl DocumentTemplate {
    /// Every templated text (row values, paragraphs, the intro), for syntax checks.
    pub fn texts(&self) -> Vec<&str> {
        let mut out: Vec<&str> = vec![self.title.as_str()];
        out.extend(self.subtitle.as_deref());
        out.extend(self.intro.iter().map(String::as_str));
        for section in &self.sections {
            out.push(section.heading.as_str());
            out.extend(section.rows.iter().filter_map(|r| r.value.as_deref()));
            out.extend(section.paragraphs.iter().map(String::as_str));
        }
        out
    }
}

#[cfg(test)]
mod words_tests {
    use super::recipient_kind_words;

    #[test]
    fn recipient_kinds_in_words() {
        assert_eq!(recipient_kind_words("police"), "Police");
        assert_eq!(
            recipient_kind_words("childrens_services"),
            "Children's services"
        );
        assert_eq!(
            recipient_kind_words("youth_offending_team"),
            "Youth offending team"
        );
        assert_eq!(recipient_kind_words(""), "");
    }
}
