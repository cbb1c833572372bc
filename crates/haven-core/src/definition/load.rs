//! Parsing a definition file and checking what serde cannot: that every key is unique and
//! well formed, every reference (audience, question, signpost, band, state) names something
//! real, and every question has what its type needs. All problems are reported at once, each
//! with the file's line, so a broken definition stops start-up with a useful message.

use std::collections::{BTreeSet, HashSet};
use std::fmt;

use super::workflow::MAX_INVITE_VALID_DAYS;
use super::{
    Casework, Condition, DataClass, Page, Question, QuestionKind, ServiceDefinition, Stage,
    StageAccess, screening::ScreeningRules, workflow::Workflow,
};

/// Staff roles a workflow may name.
pub const ROLES: [&str; 5] = ["triage", "caseworker", "manager", "admin", "auditor"];

/// Bank-holiday calendars an SLA may name.
pub const CALENDARS: [&str; 3] = ["england-and-wales", "scotland", "northern-ireland"];

/// One problem in a definition file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinitionProblem {
    pub line: usize,
    pub reason: String,
}

/// Why a definition file could not be loaded: every problem found, with the file's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DefinitionError {
    pub file: String,
    pub problems: Vec<DefinitionProblem>,
}

impl fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}:{}: {}", self.file, p.line, p.reason)?;
        }
        Ok(())
    }
}

/// Parses and checks one definition. `file` names the source in error messages.
pub fn parse_definition(file: &str, source: &str) -> Result<ServiceDefinition, DefinitionError> {
    let definition: ServiceDefinition = toml::from_str(source).map_err(|e| DefinitionError {
        file: file.to_owned(),
        problems: vec![DefinitionProblem {
            line: e.span().map_or(1, |span| line_of(source, span.start)),
            reason: e.message().trim().to_owned(),
        }],
    })?;
    let mut checker = Checker {
        source,
        problems: Vec::new(),
    };
    checker.check(&definition);
    if checker.problems.is_empty() {
        Ok(definition)
    } else {
        checker.problems.sort_by_key(|p| p.line);
        Err(DefinitionError {
            file: file.to_owned(),
            problems: checker.problems,
        })
    }
}

/// 1-based line of a byte offset.
pub fn line_of(source: &str, offset: usize) -> usize {
    source
        .get(..offset.min(source.len()))
        .map_or(1, |before| before.matches('\n').count() + 1)
}

struct Checker<'a> {
    source: &'a str,
    problems: Vec<DefinitionProblem>,
}

impl Checker<'_> {
    /// Finds the line of `needle` at or after the line where `key = "anchor"` is written
    /// (the item the problem belongs to), falling back to the anchor's line, then line 1.
    fn line(&self, anchor: &str, needle: Option<&str>) -> usize {
        let anchor_at = [
            format!("key = \"{anchor}\""),
            format!("id = \"{anchor}\""),
            format!("\"{anchor}\""),
        ]
        .iter()
        .find_map(|pattern| self.source.find(pattern.as_str()));
        let start = anchor_at.unwrap_or(0);
        let at = needle
            .and_then(|n| {
                self.source
                    .get(start..)
                    .and_then(|rest| rest.find(n))
                    .map(|i| start + i)
            })
            .or(anchor_at);
        at.map_or(1, |offset| line_of(self.source, offset))
    }

    fn problem(&mut self, anchor: &str, needle: Option<&str>, reason: impl Into<String>) {
        let line = self.line(anchor, needle);
        self.problems.push(DefinitionProblem {
            line,
            reason: reason.into(),
        });
    }

    fn check(&mut self, def: &ServiceDefinition) {
        let id = def.id.as_str();
        if !is_slug(id) {
            self.problem(
                id,
                None,
                format!("id `{id}` must be lower-case letters, digits and hyphens"),
            );
        }
        if def.reference_prefix.is_empty()
            || def.reference_prefix.len() > 5
            || !def.reference_prefix.chars().all(|c| c.is_ascii_uppercase())
        {
            self.problem(
                id,
                Some("reference_prefix"),
                "reference_prefix must be 1 to 5 capital letters",
            );
        }
        let audiences: BTreeSet<&str> = def.audiences.iter().map(|a| a.key.as_str()).collect();
        self.unique(id, def.audiences.iter().map(|a| a.key.as_str()), "audience");
        self.unique(id, def.stages.iter().map(|s| s.key.as_str()), "stage");
        self.unique(id, def.signposts.iter().map(|s| s.key.as_str()), "signpost");
        if def.stages.is_empty() {
            self.problem(id, None, "a service needs at least one stage");
        }
        for stage in &def.stages {
            self.check_stage(stage, &audiences);
        }
        let signposts: BTreeSet<&str> = def.signposts.iter().map(|s| s.key.as_str()).collect();
        let all_questions: BTreeSet<&str> =
            def.questions().map(|(_, _, q)| q.key.as_str()).collect();
        if let Some(screening) = &def.screening {
            self.check_screening(id, screening, &all_questions, &signposts);
        }
        if let Some(workflow) = &def.workflow {
            self.check_workflow(id, workflow);
            self.check_invitations(def, workflow);
        }
        for key in &def.referrer_email {
            let is_email = def
                .questions()
                .any(|(_, _, q)| &q.key == key && q.kind == QuestionKind::Email);
            if !is_email {
                self.problem(
                    id,
                    Some(&format!("\"{key}\"")),
                    format!("referrer_email names no email question `{key}`"),
                );
            }
        }
        if let Some(duty) = &def.duty_email {
            let (local, domain) = duty.trim().rsplit_once('@').unwrap_or_default();
            if local.is_empty() || !domain.contains('.') || duty.trim() != duty {
                self.problem(
                    id,
                    Some("duty_email"),
                    format!("duty_email `{duty}` is not an email address"),
                );
            }
            // Urgent emailed referrals (`intake_addresses`) alert it too.
            if def.screening.as_ref().is_none_or(|s| s.urgent.is_none())
                && def.intake_addresses.is_empty()
            {
                self.problem(
                    id,
                    Some("duty_email"),
                    "duty_email is set but neither [screening.urgent] nor intake_addresses is: nothing would ever be urgent",
                );
            }
        }
        let identity = [
            ("young_person_name", &def.young_person_name, None),
            (
                "young_person_date_of_birth",
                &def.young_person_date_of_birth,
                Some(QuestionKind::Date),
            ),
            (
                "young_person_age",
                &def.young_person_age,
                Some(QuestionKind::Number),
            ),
        ];
        for (field, keys, kind) in identity {
            for key in keys {
                let found = def
                    .questions()
                    .any(|(_, _, q)| &q.key == key && kind.as_ref().is_none_or(|k| &q.kind == k));
                if !found {
                    let what = match kind {
                        Some(QuestionKind::Date) => "date question",
                        Some(_) => "number question",
                        None => "question",
                    };
                    self.problem(
                        id,
                        Some(&format!("\"{key}\"")),
                        format!("{field} names no {what} `{key}`"),
                    );
                }
            }
        }
        if let Some(people) = &def.people {
            use crate::people::IdentifierKind;
            for (key, kind) in &people.identifiers {
                let question = def.questions().find(|(_, _, q)| &q.key == key);
                match question {
                    None => self.problem(
                        id,
                        Some(&format!("\"{key}\"")),
                        format!("[people] identifiers names no question `{key}`"),
                    ),
                    Some((_, _, q))
                        if *kind == IdentifierKind::DateOfBirth && q.kind != QuestionKind::Date =>
                    {
                        self.problem(
                            id,
                            Some(&format!("\"{key}\"")),
                            format!("[people] identifiers: `{key}` is a date of birth but not a date question"),
                        );
                    }
                    Some(_) => {}
                }
            }
        }
        for address in &def.intake_addresses {
            if !crate::answers::is_email_address(address) {
                self.problem(
                    id,
                    Some(&format!("\"{address}\"")),
                    format!("intake_addresses: `{address}` is not an email address"),
                );
            }
        }
        let mut seen_intake = HashSet::new();
        for address in &def.intake_addresses {
            if !seen_intake.insert(address.trim().to_lowercase()) {
                self.problem(
                    id,
                    Some(&format!("\"{address}\"")),
                    format!("intake_addresses: `{address}` is listed twice"),
                );
            }
        }
        if let Some(casework) = &def.casework {
            self.check_casework(def, casework);
        }
        if let Some(retention) = &def.retention {
            self.check_retention(def, retention);
        }
        self.check_onward(def, &all_questions);
        self.unique(id, def.slas.iter().map(|s| s.key.as_str()), "SLA");
        for sla in &def.slas {
            if !CALENDARS.contains(&sla.calendar.as_str()) {
                self.problem(
                    &sla.key,
                    Some("calendar"),
                    format!(
                        "calendar `{}` is not one of {}",
                        sla.calendar,
                        CALENDARS.join(", ")
                    ),
                );
            }
            if let Some(stage) = &sla.starts_on
                && def.stage(stage).is_none()
            {
                self.problem(
                    &sla.key,
                    Some("starts_on"),
                    format!("starts_on names no stage `{stage}`"),
                );
            }
            for state in &sla.met_by {
                let known = def
                    .workflow
                    .as_ref()
                    .is_some_and(|w| w.states.iter().any(|s| &s.key == state));
                if !known {
                    self.problem(
                        &sla.key,
                        Some(state),
                        format!("met_by names no workflow state `{state}`"),
                    );
                }
            }
        }
    }

    fn unique<'k>(&mut self, anchor: &str, keys: impl Iterator<Item = &'k str>, what: &str) {
        let mut seen = HashSet::new();
        for key in keys {
            if !seen.insert(key) {
                self.problem(
                    anchor,
                    Some(&format!("key = \"{key}\"")),
                    format!("{what} key `{key}` is used twice"),
                );
            }
        }
    }

    fn check_stage(&mut self, stage: &Stage, audiences: &BTreeSet<&str>) {
        for a in &stage.audiences {
            if !audiences.contains(a.as_str()) {
                self.problem(
                    &stage.key,
                    Some(a),
                    format!("stage `{}` names unknown audience `{a}`", stage.key),
                );
            }
        }
        if stage.pages.is_empty() {
            self.problem(
                &stage.key,
                None,
                format!("stage `{}` has no pages", stage.key),
            );
        }
        self.unique(
            &stage.key,
            stage.pages.iter().map(|p| p.key.as_str()),
            "page",
        );
        let keys: Vec<&str> = stage.questions().map(|(_, q)| q.key.as_str()).collect();
        self.unique(&stage.key, keys.iter().copied(), "question");
        // A key that is a path prefix of another would make one answer both a value and an object.
        for a in &keys {
            for b in &keys {
                if b.len() > a.len() && b.starts_with(a) && b.as_bytes().get(a.len()) == Some(&b'.')
                {
                    self.problem(
                        b,
                        None,
                        format!("question `{b}` sits inside question `{a}`"),
                    );
                }
            }
        }
        let known: BTreeSet<&str> = keys.iter().copied().collect();
        for page in &stage.pages {
            self.check_page(stage, page, audiences, &known);
        }
    }

    fn check_page(
        &mut self,
        stage: &Stage,
        page: &Page,
        audiences: &BTreeSet<&str>,
        known: &BTreeSet<&str>,
    ) {
        for a in page.audiences.iter().chain(page.titles.keys()) {
            if !stage.allows_audience(a) {
                self.problem(
                    &page.key,
                    Some(a),
                    format!(
                        "page `{}` names audience `{a}`, which stage `{}` does not have",
                        page.key, stage.key
                    ),
                );
            }
        }
        if let Some(when) = &page.when {
            self.check_condition(&page.key, when, false, known);
        }
        if let Some(stop) = &page.stop {
            let found = super::stop::problems(
                &page.key,
                stop,
                !page.questions.is_empty(),
                page.when.is_some(),
            );
            for reason in found {
                self.problem(&page.key, None, reason);
            }
        } else if page.questions.is_empty() {
            self.problem(
                &page.key,
                None,
                format!("page `{}` has no questions", page.key),
            );
        }
        for q in &page.questions {
            self.check_question(stage, q, audiences, known, true);
        }
    }

    fn check_question(
        &mut self,
        stage: &Stage,
        q: &Question,
        audiences: &BTreeSet<&str>,
        known: &BTreeSet<&str>,
        top_level: bool,
    ) {
        let key = q.key.as_str();
        let well_formed = if top_level {
            is_dotted_key(key)
        } else {
            is_word(key)
        };
        if !well_formed {
            self.problem(
                key,
                None,
                format!(
                    "question key `{key}` must be lower-case words joined by `_`{}",
                    if top_level { " and `.`" } else { "" }
                ),
            );
        }
        for a in q.audiences.iter().chain(q.labels.keys()) {
            if !audiences.contains(a.as_str()) || !stage.allows_audience(a) {
                self.problem(
                    key,
                    Some(a),
                    format!(
                        "question `{key}` names audience `{a}`, which stage `{}` does not have",
                        stage.key
                    ),
                );
            }
        }
        let needs_options = matches!(
            q.kind,
            QuestionKind::Choice | QuestionKind::MultipleChoice | QuestionKind::IndicatorMatrix
        );
        if needs_options && q.options.is_empty() {
            self.problem(key, None, format!("question `{key}` needs `options`"));
        }
        if !needs_options && !q.options.is_empty() {
            self.problem(
                key,
                Some("options"),
                format!("question `{key}` is not a choice: `options` do nothing"),
            );
        }
        self.unique(key, q.options.iter().map(|o| o.key.as_str()), "option");
        self.unique(key, q.columns.iter().map(|o| o.key.as_str()), "column");
        for o in q.options.iter().chain(q.columns.iter()) {
            if !is_word(&o.key) {
                self.problem(
                    key,
                    Some(&o.key),
                    format!(
                        "option key `{}` must be lower-case words joined by `_`",
                        o.key
                    ),
                );
            }
        }
        match q.kind {
            QuestionKind::IndicatorMatrix if q.columns.is_empty() => {
                self.problem(
                    key,
                    None,
                    format!("indicator matrix `{key}` needs `columns`"),
                );
            }
            QuestionKind::IndicatorMatrix if q.columns.iter().any(|c| c.key == "both") => {
                self.problem(
                    key,
                    Some("both"),
                    "`both` is reserved in an indicator matrix (it ticks every column)",
                );
            }
            QuestionKind::Repeatable if q.fields.is_empty() => {
                self.problem(
                    key,
                    None,
                    format!("repeatable question `{key}` needs `fields`"),
                );
            }
            QuestionKind::File if q.allowed_types.is_empty() => {
                self.problem(
                    key,
                    None,
                    format!("file question `{key}` needs `allowed_types`"),
                );
            }
            _ => {}
        }
        if q.kind != QuestionKind::Repeatable && !q.fields.is_empty() {
            self.problem(
                key,
                Some("fields"),
                format!("question `{key}` is not repeatable: `fields` do nothing"),
            );
        }
        if q.kind == QuestionKind::File && stage.uploads_forbidden {
            self.problem(
                key,
                None,
                format!(
                    "stage `{}` forbids uploads but question `{key}` is a file",
                    stage.key
                ),
            );
        }
        if let (Some(min), Some(max)) = (q.min, q.max)
            && min > max
        {
            self.problem(
                key,
                Some("min"),
                format!("question `{key}` has min greater than max"),
            );
        }
        if let (Some(min), Some(max)) = (q.min_items, q.max_items)
            && min > max
        {
            self.problem(
                key,
                Some("min_items"),
                format!("question `{key}` has min_items greater than max_items"),
            );
        }
        if !top_level && (q.when.is_some() || q.required_when.is_some()) {
            self.problem(
                key,
                Some("when"),
                format!("field `{key}` of a repeatable cannot be conditional"),
            );
        }
        for cond in q.when.iter().chain(q.required_when.iter()) {
            self.check_condition(key, cond, false, known);
        }
        self.unique(key, q.fields.iter().map(|f| f.key.as_str()), "field");
        for f in &q.fields {
            if f.kind == QuestionKind::Repeatable {
                self.problem(
                    &f.key,
                    None,
                    format!("field `{}` of `{key}` cannot itself be repeatable", f.key),
                );
            }
            self.check_question(stage, f, audiences, known, false);
        }
    }

    fn check_condition(
        &mut self,
        anchor: &str,
        cond: &Condition,
        facts_allowed: bool,
        known: &BTreeSet<&str>,
    ) {
        if let Err(reason) = cond.check_shape(facts_allowed) {
            self.problem(
                anchor,
                None,
                format!("in a condition of `{anchor}`: {reason}"),
            );
        }
        for q in cond.questions() {
            if !known.contains(q) {
                self.problem(
                    anchor,
                    Some(&format!("\"{q}\"")),
                    format!("a condition of `{anchor}` names unknown question `{q}`"),
                );
            }
        }
    }

    fn check_screening(
        &mut self,
        id: &str,
        s: &ScreeningRules,
        questions: &BTreeSet<&str>,
        signposts: &BTreeSet<&str>,
    ) {
        let bands: BTreeSet<&str> = s.bands.iter().map(String::as_str).collect();
        let check_band = |this: &mut Self, band: &str| {
            if !bands.contains(band) {
                this.problem(
                    id,
                    Some(&format!("\"{band}\"")),
                    format!("screening names band `{band}`, which is not in `bands`"),
                );
            }
        };
        let mut conditions: Vec<(&str, &Condition)> = Vec::new();
        if let Some(e) = &s.eligibility {
            conditions.push(("eligibility", &e.when));
            for q in &e.indicators {
                if !questions.contains(q.as_str()) {
                    self.problem(
                        id,
                        Some(&format!("\"{q}\"")),
                        format!("eligibility names unknown question `{q}`"),
                    );
                }
            }
        }
        for rule in &s.band_rules {
            check_band(self, &rule.band);
            if let Some(q) = &rule.question
                && !questions.contains(q.as_str())
            {
                self.problem(
                    id,
                    Some(&format!("\"{q}\"")),
                    format!("band rule names unknown question `{q}`"),
                );
            }
            if rule.question.is_none() && rule.when.is_none() {
                self.problem(
                    id,
                    Some(&rule.reason),
                    "a band rule needs `question` or `when`",
                );
            }
            if let Some(when) = &rule.when {
                conditions.push(("band_rules", when));
            }
        }
        if let Some(scoring) = &s.scoring {
            for p in &scoring.points {
                if !questions.contains(p.question.as_str()) {
                    self.problem(
                        id,
                        Some(&format!("\"{}\"", p.question)),
                        format!("scoring names unknown question `{}`", p.question),
                    );
                }
            }
            for t in &scoring.thresholds {
                check_band(self, &t.band);
            }
        }
        if let Some(scope) = &s.scope {
            conditions.push(("scope", &scope.in_scope_when));
            for reason in &scope.reasons {
                conditions.push(("scope", &reason.when));
            }
        }
        if let Some(urgent) = &s.urgent {
            conditions.push(("urgent", &urgent.when));
        }
        for f in &s.flags {
            conditions.push(("flags", &f.when));
        }
        self.unique(id, s.actions.iter().map(|a| a.key.as_str()), "action");
        for a in &s.actions {
            conditions.push(("actions", &a.when));
        }
        for r in &s.signpost_rules {
            conditions.push(("signpost_rules", &r.when));
        }
        for key in s
            .signpost_rules
            .iter()
            .flat_map(|r| r.signposts.iter())
            .chain(s.always_signpost.iter())
        {
            if !signposts.contains(key.as_str()) {
                self.problem(
                    id,
                    Some(&format!("\"{key}\"")),
                    format!("screening names unknown signpost `{key}`"),
                );
            }
        }
        for (section, cond) in conditions {
            if let Err(reason) = cond.check_shape(true) {
                self.problem(
                    id,
                    Some(&format!("[screening.{section}")),
                    format!("in screening.{section}: {reason}"),
                );
            }
            for q in cond.questions() {
                if !questions.contains(q) {
                    self.problem(
                        id,
                        Some(&format!("\"{q}\"")),
                        format!("screening.{section} names unknown question `{q}`"),
                    );
                }
            }
            for band in condition_bands(cond) {
                check_band(self, band);
            }
        }
    }

    fn check_workflow(&mut self, id: &str, w: &Workflow) {
        let states: BTreeSet<&str> = w.states.iter().map(|s| s.key.as_str()).collect();
        self.unique(id, w.states.iter().map(|s| s.key.as_str()), "state");
        if !states.contains(w.initial.as_str()) {
            self.problem(
                id,
                Some("initial"),
                format!("workflow.initial names no state `{}`", w.initial),
            );
        }
        for t in &w.transitions {
            for s in t.from.iter().chain(std::iter::once(&t.to)) {
                if !states.contains(s.as_str()) {
                    self.problem(
                        id,
                        Some(&format!("\"{s}\"")),
                        format!("transition `{}` names unknown state `{s}`", t.label),
                    );
                }
            }
            let terminal = |key: &str| w.states.iter().any(|s| s.key == key && s.terminal);
            if t.reopen {
                if t.from.iter().any(|from| !terminal(from)) || terminal(&t.to) {
                    self.problem(
                        id,
                        Some(&t.label),
                        format!(
                            "transition `{}` has reopen = true: it must leave only terminal states, into one that is not terminal",
                            t.label
                        ),
                    );
                }
                if t.on_stage_received.is_some() || t.on_decision.is_some() {
                    self.problem(
                        id,
                        Some(&t.label),
                        format!(
                            "transition `{}` reopens a case: a person does that, never by itself",
                            t.label
                        ),
                    );
                }
            }
            for from in &t.from {
                if !t.reopen && terminal(from) {
                    self.problem(
                        id,
                        Some(&t.label),
                        format!(
                            "transition `{}` leaves terminal state `{from}` (only a transition with reopen = true may)",
                            t.label
                        ),
                    );
                }
            }
            if t.roles.is_empty() {
                self.problem(
                    id,
                    Some(&t.label),
                    format!("transition `{}` names no role", t.label),
                );
            }
            for role in &t.roles {
                if !ROLES.contains(&role.as_str()) {
                    self.problem(
                        id,
                        Some(&t.label),
                        format!("transition `{}` names unknown role `{role}`", t.label),
                    );
                }
            }
            for d in &t.reason_required_for {
                if !t.decisions.iter().any(|c| &c.key == d) {
                    self.problem(
                        id,
                        Some(&t.label),
                        format!(
                            "transition `{}`: reason_required_for names no decision `{d}`",
                            t.label
                        ),
                    );
                }
            }
            self.unique(id, t.guards.iter().map(|g| g.key.as_str()), "guard");
            for g in &t.guards {
                if let Err(reason) = g.when.check_shape(true) {
                    self.problem(
                        id,
                        Some(&format!("\"{}\"", g.key)),
                        format!("guard `{}`: {reason}", g.key),
                    );
                }
            }
        }
    }
}

impl Checker<'_> {
    /// Casework lists have unique keys, lone-working sources name real questions of the
    /// right type, and the closure state is a terminal state of the workflow.
    fn check_casework(&mut self, def: &ServiceDefinition, c: &Casework) {
        let id = def.id.as_str();
        self.unique(
            id,
            c.meeting_kinds.iter().map(|o| o.key.as_str()),
            "meeting kind",
        );
        self.unique(
            id,
            c.meeting_places.iter().map(|o| o.key.as_str()),
            "meeting place",
        );
        if c.meeting_kinds.is_empty() != c.meeting_places.is_empty() {
            self.problem(
                id,
                Some("[casework]"),
                "casework needs both meeting_kinds and meeting_places, or neither",
            );
        }
        if c.plan_review_days.is_some_and(|d| !(1..=366).contains(&d)) {
            self.problem(
                id,
                Some("plan_review_days"),
                "plan_review_days must be from 1 to 366",
            );
        }
        for l in &c.lone_working {
            let Some(stage) = def.stage(&l.stage) else {
                self.problem(
                    id,
                    Some("[[casework.lone_working]]"),
                    format!("casework.lone_working names no stage `{}`", l.stage),
                );
                continue;
            };
            if l.concerns.is_none() && l.details.is_none() {
                self.problem(
                    id,
                    Some("[[casework.lone_working]]"),
                    "casework.lone_working needs `concerns` or `details`",
                );
            }
            let wanted = [
                (&l.concerns, &[QuestionKind::YesNo][..], "a yes_no question"),
                (
                    &l.details,
                    &[QuestionKind::Text, QuestionKind::LongText][..],
                    "a text or long_text question",
                ),
            ];
            for (key, kinds, what) in wanted {
                let Some(key) = key else { continue };
                match stage.question(key) {
                    Some(q) if kinds.contains(&q.kind) => {}
                    Some(_) => self.problem(
                        id,
                        Some(&format!("\"{key}\"")),
                        format!("casework.lone_working: `{key}` must be {what}"),
                    ),
                    None => self.problem(
                        id,
                        Some(&format!("\"{key}\"")),
                        format!(
                            "casework.lone_working names no question `{key}` in stage `{}`",
                            l.stage
                        ),
                    ),
                }
            }
        }
        if let Some(closure) = &c.closure {
            let terminal = def
                .workflow
                .iter()
                .flat_map(|w| w.states.iter())
                .any(|s| s.key == closure.state && s.terminal);
            if !terminal {
                self.problem(
                    id,
                    Some("[casework.closure]"),
                    format!(
                        "casework.closure.state `{}` is not a terminal workflow state",
                        closure.state
                    ),
                );
            }
            if closure.outcomes.is_empty() {
                self.problem(
                    id,
                    Some("[casework.closure]"),
                    "casework.closure needs at least one outcome",
                );
            }
            self.unique(
                id,
                closure.outcomes.iter().map(|o| o.key.as_str()),
                "closure outcome",
            );
        }
    }

    /// Retention rules name real closed states, decisions and outcomes, and each says how long.
    fn check_retention(&mut self, def: &ServiceDefinition, r: &crate::retention::Retention) {
        let workflow = def.workflow.iter();
        let states: Vec<&str> = workflow
            .clone()
            .flat_map(|w| w.states.iter().map(|s| s.key.as_str()))
            .collect();
        let decisions: Vec<&str> = workflow
            .flat_map(|w| w.transitions.iter())
            .flat_map(|t| t.decisions.iter().map(|d| d.key.as_str()))
            .collect();
        let outcomes: Vec<&str> = def
            .casework
            .iter()
            .flat_map(|c| c.closure.iter())
            .flat_map(|c| c.outcomes.iter().map(|o| o.key.as_str()))
            .collect();
        for (needle, reason) in crate::retention::problems(r, &states, &decisions, &outcomes) {
            self.problem(&def.id, Some(&needle), reason);
        }
    }

    /// `invite_stage`, `on_stage_received`, `on_decision` and `share_reason_for` name real
    /// things.
    fn check_invitations(&mut self, def: &ServiceDefinition, w: &Workflow) {
        for t in &w.transitions {
            if let Some(stage) = &t.invite_stage
                && def.stage(stage).map(|s| s.access) != Some(StageAccess::Invited)
            {
                self.problem(
                    &def.id,
                    Some(&t.label),
                    format!(
                        "transition `{}`: invite_stage names no `invited` stage `{stage}`",
                        t.label
                    ),
                );
            }
            if let Some(days) = t.invite_valid_days
                && (days == 0 || days > MAX_INVITE_VALID_DAYS)
            {
                self.problem(
                    &def.id,
                    Some(&t.label),
                    format!(
                        "transition `{}`: invite_valid_days must be 1 to {MAX_INVITE_VALID_DAYS}",
                        t.label
                    ),
                );
            }
            if let Some(stage) = &t.on_stage_received
                && def.stage(stage).is_none()
            {
                self.problem(
                    &def.id,
                    Some(&t.label),
                    format!(
                        "transition `{}`: on_stage_received names no stage `{stage}`",
                        t.label
                    ),
                );
            }
            if let Some(decision) = &t.on_decision {
                let follows = w.transitions.iter().any(|before| {
                    t.from.contains(&before.to)
                        && before.decisions.iter().any(|c| &c.key == decision)
                });
                let problem = if !follows {
                    Some(format!(
                        "on_decision names no decision `{decision}` of a transition into its `from` state"
                    ))
                } else if !t.decisions.is_empty() || t.reason_required {
                    Some("a transition made by itself (on_decision) cannot ask for a decision or a reason".to_owned())
                } else {
                    None
                };
                if let Some(problem) = problem {
                    self.problem(
                        &def.id,
                        Some(&t.label),
                        format!("transition `{}`: {problem}", t.label),
                    );
                }
            }
            for d in &t.share_reason_for {
                if !t.decisions.iter().any(|c| &c.key == d) {
                    self.problem(
                        &def.id,
                        Some(&t.label),
                        format!(
                            "transition `{}`: share_reason_for names no decision `{d}`",
                            t.label
                        ),
                    );
                }
            }
        }
    }
    fn check_onward(&mut self, def: &ServiceDefinition, questions: &BTreeSet<&str>) {
        let id = def.id.as_str();
        for q in &def.referrer_questions {
            if !questions.contains(q.as_str()) {
                self.problem(
                    id,
                    Some(&format!("\"{q}\"")),
                    format!("referrer_questions names unknown question `{q}`"),
                );
            }
        }
        for q in &def.contact_wishes {
            if !questions.contains(q.as_str()) {
                self.problem(
                    id,
                    Some(&format!("\"{q}\"")),
                    format!("contact_wishes names unknown question `{q}`"),
                );
            }
        }
        self.unique(
            id,
            def.onward_referrals.iter().map(|k| k.key.as_str()),
            "onward referral",
        );
        let actions: BTreeSet<&str> = def
            .screening
            .iter()
            .flat_map(|s| s.actions.iter())
            .map(|a| a.key.as_str())
            .collect();
        for kind in &def.onward_referrals {
            let key = kind.key.as_str();
            if !is_word(key) {
                self.problem(
                    key,
                    None,
                    format!("onward referral key `{key}` must be lower-case words joined by `_`"),
                );
            }
            if !is_word(&kind.template) {
                self.problem(
                    key,
                    Some("template"),
                    format!(
                        "onward referral `{key}`: template `{}` must be lower-case words joined by `_` (the file templates/{id}/<template>.toml)",
                        kind.template
                    ),
                );
            }
            if let Some(action) = &kind.action
                && !actions.contains(action.as_str())
            {
                self.problem(
                    key,
                    Some("action"),
                    format!("onward referral `{key}` names no required action `{action}`"),
                );
            }
            if kind.lawful_bases.is_empty() {
                self.problem(
                    key,
                    Some("lawful_bases"),
                    format!("onward referral `{key}` needs at least one of `lawful_bases`"),
                );
            }
            self.unique(
                key,
                kind.lawful_bases.iter().map(|b| b.key.as_str()),
                "lawful basis",
            );
            for q in &kind.third_party_questions {
                match def.question(q) {
                    None => self.problem(
                        key,
                        Some(&format!("\"{q}\"")),
                        format!(
                            "onward referral `{key}`: third_party_questions names unknown question `{q}`"
                        ),
                    ),
                    Some(question) if question.data_class != DataClass::ThirdParty => self
                        .problem(
                            key,
                            Some(&format!("\"{q}\"")),
                            format!(
                                "onward referral `{key}`: third_party_questions names `{q}`, which is not a third-party question (data_class = \"third_party\")"
                            ),
                        ),
                    Some(_) => {}
                }
            }
        }
        if let Some(key) = def
            .statistics
            .as_ref()
            .and_then(|s| s.concern_question.as_ref())
        {
            let problem = match def.question(key) {
                None => Some(format!(
                    "statistics.concern_question names unknown question `{key}`"
                )),
                Some(q)
                    if !matches!(q.kind, QuestionKind::Choice | QuestionKind::MultipleChoice) =>
                {
                    Some(format!(
                        "statistics.concern_question `{key}` must be a choice or multiple_choice question: only option keys are kept in the clear"
                    ))
                }
                Some(q)
                    if matches!(q.data_class, DataClass::ThirdParty | DataClass::Identifying) =>
                {
                    Some(format!(
                        "statistics.concern_question `{key}` is third-party or identifying information, which is never kept in the clear"
                    ))
                }
                Some(_) => None,
            };
            if let Some(problem) = problem {
                self.problem(id, Some(&format!("\"{key}\"")), problem);
            }
        }
        if let Some(family) = &def.family_copy {
            for q in &family.questions {
                match def.question(q) {
                    None => self.problem(
                        id,
                        Some(&format!("\"{q}\"")),
                        format!("family_copy.questions names unknown question `{q}`"),
                    ),
                    Some(question) if question.data_class == DataClass::ThirdParty => self
                        .problem(
                            id,
                            Some(&format!("\"{q}\"")),
                            format!(
                                "family_copy.questions names `{q}`, which is third-party information: never for the young person or family"
                            ),
                        ),
                    Some(_) => {}
                }
            }
        }
    }
}

fn condition_bands(cond: &Condition) -> Vec<&str> {
    let mut out: Vec<&str> = cond.band_at_least.iter().map(String::as_str).collect();
    for c in cond.all.iter().chain(cond.any.iter()).flatten() {
        out.extend(condition_bands(c));
    }
    if let Some(not) = &cond.not {
        out.extend(condition_bands(not));
    }
    out
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn is_word(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && s.starts_with(|c: char| c.is_ascii_lowercase())
}

fn is_dotted_key(s: &str) -> bool {
    s.split('.').all(is_word)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
id = "demo"
name = "Demo"
version = 1
summary = "A demo."
team = "demo"
reference_prefix = "DEM"

[[audiences]]
key = "professional"
label = "I am a professional"

[[stages]]
key = "referral"
label = "Referral"
access = "public"
audiences = ["professional"]

[[stages.pages]]
key = "about"
title = "About"

[[stages.pages.questions]]
key = "young_person.age"
type = "number"
label = "Age"
"#;

    #[test]
    fn a_minimal_definition_loads() {
        let def = parse_definition("demo.toml", MINIMAL);
        assert!(def.is_ok(), "{def:?}");
    }

    #[test]
    fn syntax_errors_name_file_and_line() {
        let broken = MINIMAL.replace("type = \"number\"", "type = \"numbr\"");
        let err = parse_definition("demo.toml", &broken)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.starts_with("demo.toml:25: "), "{err}");
    }

    #[test]
    fn unknown_references_are_reported_with_their_line() {
        let broken = MINIMAL.replace(
            "label = \"Age\"",
            "label = \"Age\"\nwhen = { question = \"nope\", answered = true }",
        );
        let err = parse_definition("demo.toml", &broken)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains(
                "demo.toml:27: a condition of `young_person.age` names unknown question `nope`"
            ),
            "{err}"
        );
    }

    #[test]
    fn intake_addresses_must_be_email_addresses() {
        let source = include_str!("../../../../services/secos.toml").replace(
            "intake_addresses = [\"secos.project@secos.cjsm.net\"]",
            "intake_addresses = [\"secos.project\", \"a@b.example\", \"a@b.example\"]",
        );
        let problems = parse_definition("secos.toml", &source)
            .unwrap_err()
            .to_string();
        assert!(
            problems.contains("intake_addresses: `secos.project` is not an email address"),
            "{problems}"
        );
        assert!(
            problems.contains("intake_addresses: `a@b.example` is listed twice"),
            "{problems}"
        );
        assert!(!problems.contains("`a@b.example` is not"), "{problems}");
    }

    #[test]
    fn invitations_and_referrer_email_must_name_real_things() {
        let source = include_str!("../../../../services/cyber-choices.toml")
            .replace("invite_stage = \"referral\"", "invite_stage = \"enquiry\"")
            .replace("invite_valid_days = 14", "invite_valid_days = 0")
            .replace(
                "on_stage_received = \"referral\"",
                "on_stage_received = \"nope\"",
            )
            .replace(
                "share_reason_for = [\"not_suitable\"]",
                "share_reason_for = [\"maybe\"]",
            )
            .replace("on_decision = \"suitable\"", "on_decision = \"perhaps\"")
            .replace(
                "referrer_email = [\"referrer.email\", \"contact_email\"]",
                "referrer_email = [\"summary\"]",
            );
        let problems = parse_definition("cc.toml", &source)
            .unwrap_err()
            .to_string();
        for expected in [
            "invite_stage names no `invited` stage `enquiry`",
            "invite_valid_days must be 1 to 90",
            "on_stage_received names no stage `nope`",
            "share_reason_for names no decision `maybe`",
            "on_decision names no decision `perhaps` of a transition into its `from` state",
            "referrer_email names no email question `summary`",
        ] {
            assert!(problems.contains(expected), "{expected}: {problems}");
        }
    }

    #[test]
    fn recipients_and_the_family_copy_name_real_questions_of_the_right_kind() {
        let source = include_str!("../../../../services/secos.toml")
            .replace(
                "third_party_questions = [\"screening.cse_intelligence_details\"]",
                "third_party_questions = [\"screening.intel\", \"young_person.name\"]",
            )
            .replace(
                "  \"family_strengths\",\n]",
                "  \"family_strengths\", \"nope\", \"lone_working.details\",\n]",
            );
        let problems = parse_definition("secos.toml", &source)
            .unwrap_err()
            .to_string();
        for expected in [
            "onward referral `police_intelligence`: third_party_questions names unknown question `screening.intel`",
            "onward referral `police_intelligence`: third_party_questions names `young_person.name`, which is not a third-party question",
            "family_copy.questions names unknown question `nope`",
            "family_copy.questions names `lone_working.details`, which is third-party information",
        ] {
            assert!(problems.contains(expected), "{expected}: {problems}");
        }
    }

    #[test]
    fn a_concern_question_is_a_choice_never_free_text_third_party_or_identifying() {
        let ceop = include_str!("../../../../services/ceop.toml");
        assert!(parse_definition("ceop.toml", ceop).is_ok());
        for (question, expected) in [
            (
                "nope",
                "statistics.concern_question names unknown question `nope`",
            ),
            (
                "concerns_other",
                "statistics.concern_question `concerns_other` must be a choice or multiple_choice question",
            ),
            (
                "reporter.name",
                "statistics.concern_question `reporter.name` must be a choice",
            ),
        ] {
            let source = ceop.replace(
                "concern_question = \"concerns\"",
                &format!("concern_question = \"{question}\""),
            );
            let problems = parse_definition("ceop.toml", &source)
                .unwrap_err()
                .to_string();
            assert!(problems.contains(expected), "{expected}: {problems}");
        }
        // A choice question of the wrong data class: SECOS's third-party sheet has none, so
        // one is made so.
        let source = include_str!("../../../../services/secos.toml").replace(
            "[people]",
            "[statistics]\nconcern_question = \"young_person.sex\"\n\n[people]",
        );
        let source = source.replacen(
            "key = \"young_person.sex\"\n",
            "key = \"young_person.sex\"\ndata_class = \"identifying\"\n",
            1,
        );
        let problems = parse_definition("secos.toml", &source)
            .unwrap_err()
            .to_string();
        assert!(
            problems.contains("`young_person.sex` is third-party or identifying information"),
            "{problems}"
        );
    }

    #[test]
    fn every_problem_is_reported_together() {
        let broken = MINIMAL
            .replace(
                "audiences = [\"professional\"]",
                "audiences = [\"teacher\"]",
            )
            .replace("reference_prefix = \"DEM\"", "reference_prefix = \"dem\"");
        let err = parse_definition("demo.toml", &broken)
            .err()
            .map(|e| e.problems.len())
            .unwrap_or_default();
        assert_eq!(err, 2);
    }
}
