//! Question pages of the test service (one question of every type): labels, values shown
//! back, parsing round trips, GOV.UK error messages and links, escaping, conditions,
//! repeatable items without JavaScript, and anonymity findings.
mod common;

use haven_core::definition::ServiceDefinition;
use haven_pages::{
    FormAction, PageContext, PageInput, PageState, QuestionFindings, StageRequest, apply_patch,
    parse_page_form,
};
use scraper::{Html, Selector};
use serde_json::{Value, json};

fn request<'a>(
    def: &'a ServiceDefinition,
    audience: &'a str,
    answers: &'a Value,
) -> StageRequest<'a> {
    StageRequest {
        def,
        stage: def.stage("form").unwrap(),
        audience,
        answers,
        today: common::today(),
    }
}

fn render(
    def: &ServiceDefinition,
    audience: &str,
    page: &str,
    answers: &Value,
    state: &PageState<'_>,
) -> String {
    let req = request(def, audience, answers);
    let page = req.stage.pages.iter().find(|p| p.key == page).unwrap();
    let html =
        haven_pages::question_page(&PageContext::new("tok"), &req.page(page), state).unwrap();
    let problems = common::page_rule_problems(&html);
    assert!(problems.is_empty(), "{problems:#?}");
    html
}

fn parse(
    def: &ServiceDefinition,
    audience: &str,
    page: &str,
    answers: &Value,
    form: &[(String, String)],
) -> PageInput {
    let req = request(def, audience, answers);
    let page = req.stage.pages.iter().find(|p| p.key == page).unwrap();
    parse_page_form(&req.page(page), form)
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn select<'a>(doc: &'a Html, css: &str) -> Vec<scraper::ElementRef<'a>> {
    doc.select(&Selector::parse(css).unwrap()).collect()
}

fn label_for(doc: &Html, id: &str) -> String {
    select(doc, "label[for]")
        .into_iter()
        .find(|l| l.value().attr("for") == Some(id))
        .map(|l| {
            l.text()
                .collect::<String>()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// Every answer of the test service, one page at a time.
fn answers_by_page() -> Vec<(&'static str, Value)> {
    vec![
        (
            "about",
            json!({
                "person": { "name": "Alex <Smith>", "date_of_birth": "2010-03-05", "age": 16 },
                "story": "Line one\nLine two & more",
                "contact": { "email": "a@example.org", "phone": "07700 900 982" },
            }),
        ),
        ("about", json!({ "person": { "name": "Sam", "age": 12.5 } })),
        (
            "choices",
            json!({ "worried": true, "area": "south", "concerns": ["chat", "other"], "concerns_other": "Something" }),
        ),
        (
            "choices",
            json!({ "worried": false, "concerns": ["pictures"] }),
        ),
        (
            "matrix",
            json!({ "risk": { "missing": "both", "money": "prior" } }),
        ),
        (
            "people",
            json!({ "contacts": [
            { "name": "Jo", "dob": "1980-12-31", "role": "nurse", "consulted": false, "notes": "Two\nlines" },
            { "name": "Kim", "consulted": true },
        ] }),
        ),
        (
            "files",
            json!({ "evidence": "att_0123456789abcdef", "more_docs": ["att_aaaaaaaaaaaaaaaa", "att_bbbbbbbbbbbbbbbb"] }),
        ),
        ("later", json!({ "how_worried": 7 })),
    ]
}

#[test]
fn parsing_what_a_page_shows_gives_back_the_answers_for_every_type() {
    let def = common::demo();
    for (page, answers) in answers_by_page() {
        let context = json!({ "worried": true });
        let mut all = context.clone();
        apply_patch(&mut all, &flatten(&answers));
        let html = render(&def, "professional", page, &all, &PageState::default());
        let mut form = common::form_fields(&html);
        form.push(("action".to_owned(), "continue".to_owned()));
        let input = parse(&def, "professional", page, &all, &form);
        assert!(input.errors.is_empty(), "{page}: {:?}", input.errors);
        assert!(input.can_continue());
        let mut got = context.clone();
        apply_patch(&mut got, &input.answers_patch);
        assert_eq!(got, all, "{page}: patch {}", input.answers_patch);
    }
}

/// A nested answers object as a flat patch of its leaves' question keys.
fn flatten(answers: &Value) -> Value {
    let def = common::demo();
    let mut out = serde_json::Map::new();
    for stage in &def.stages {
        for (_, q) in stage.questions() {
            if let Some(v) = haven_core::definition::condition::lookup(answers, &q.key) {
                out.insert(q.key.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}

#[test]
fn every_question_type_has_a_label_tied_to_its_control() {
    let def = common::demo();
    let answers = json!({ "worried": true, "concerns": ["other"] });
    let doc = |page: &str| {
        Html::parse_document(&render(
            &def,
            "professional",
            page,
            &answers,
            &PageState::default(),
        ))
    };
    let about = doc("about");
    assert_eq!(label_for(&about, "person.name"), "Full name");
    assert_eq!(label_for(&about, "story"), "What happened?");
    assert_eq!(
        select(&about, "textarea#story[data-module]").len()
            + select(&about, "[data-module=govuk-character-count] textarea#story").len(),
        1
    );
    assert_eq!(label_for(&about, "contact.email"), "Email address");
    assert_eq!(select(&about, "input#contact\\.email[type=email]").len(), 1);
    assert_eq!(select(&about, "input#contact\\.phone[type=tel]").len(), 1);
    assert_eq!(label_for(&about, "person.date_of_birth-day"), "Day");
    assert_eq!(label_for(&about, "person.date_of_birth-month"), "Month");
    assert_eq!(label_for(&about, "person.date_of_birth-year"), "Year");
    let legends: Vec<String> = select(&about, "legend")
        .iter()
        .map(|l| l.text().collect::<String>().trim().to_owned())
        .collect();
    assert!(legends.contains(&"Date of birth".to_owned()), "{legends:?}");
    assert_eq!(label_for(&about, "person.age"), "Age");
    let choices = doc("choices");
    assert_eq!(label_for(&choices, "worried"), "Yes");
    assert_eq!(label_for(&choices, "worried-2"), "No");
    assert_eq!(label_for(&choices, "area-2"), "South");
    assert_eq!(label_for(&choices, "concerns"), "Chat");
    assert_eq!(label_for(&choices, "concerns_other"), "Tell us about it");
    let matrix = doc("matrix");
    // Each checkbox's accessible name is its row and column (the visible column name beside
    // it on narrow screens is aria-hidden).
    let hidden_label = |id: &str| {
        select(&matrix, "label[for]")
            .into_iter()
            .find(|l| l.value().attr("for") == Some(id))
            .and_then(|l| {
                l.select(&Selector::parse(".govuk-visually-hidden").unwrap())
                    .next()
            })
            .map(|s| s.text().collect::<String>())
            .unwrap_or_default()
    };
    assert_eq!(hidden_label("risk"), "Going missing \u{2014} Current");
    assert_eq!(
        hidden_label("risk.money.prior"),
        "Unexplained money \u{2014} Prior"
    );
    assert_eq!(select(&matrix, "table.haven-matrix th[scope=col]").len(), 3);
    let people = doc("people");
    assert_eq!(label_for(&people, "contacts[0].name"), "Name");
    assert_eq!(label_for(&people, "contacts[0].dob-day"), "Day");
    assert_eq!(label_for(&people, "contacts[0].role"), "Teacher");
    let files = doc("files");
    assert_eq!(label_for(&files, "evidence"), "Risk assessment");
    let evidence = select(&files, "input#evidence[type=file]");
    assert_eq!(evidence.len(), 1);
    let accept = evidence[0].value().attr("accept").unwrap_or_default();
    assert!(
        accept.contains("application/pdf") && accept.contains(".pdf"),
        "{accept}"
    );
    assert!(
        files
            .root_element()
            .text()
            .collect::<String>()
            .contains("Files must be PDF, up to 5 MB.")
    );
    assert_eq!(
        select(&files, "input#more_docs[type=file][multiple]").len(),
        1
    );
    assert_eq!(
        select(&files, "form[enctype='multipart/form-data']").len(),
        1
    );
}

#[test]
fn wording_follows_the_audience() {
    let def = common::demo();
    let answers = json!({});
    let young = Html::parse_document(&render(
        &def,
        "young_person",
        "about",
        &answers,
        &PageState::default(),
    ));
    assert_eq!(label_for(&young, "person.name"), "What is your name?");
    let young = Html::parse_document(&render(
        &def,
        "young_person",
        "choices",
        &answers,
        &PageState::default(),
    ));
    assert_eq!(label_for(&young, "concerns"), "Someone chatting to me");
}

#[test]
fn dates_and_numbers_get_gov_uk_messages_and_links_to_the_part_in_error() {
    let def = common::demo();
    let answers = json!({});
    let form = pairs(&[
        ("person.name", "Alex"),
        ("person.date_of_birth-day", "3"),
        ("person.date_of_birth-month", ""),
        ("person.date_of_birth-year", "2010"),
        ("person.age", "twelve"),
        ("contact.email", "not-an-email"),
        ("action", "continue"),
    ]);
    let input = parse(&def, "professional", "about", &answers, &form);
    let errors: Vec<(&str, &str)> = input
        .errors
        .iter()
        .map(|e| (e.field.as_str(), e.message.as_str()))
        .collect();
    assert_eq!(
        errors,
        vec![
            (
                "contact.email",
                "Enter an email address in the correct format, like name@example.com"
            ),
            ("person.date_of_birth", "Date of birth must include a month"),
            ("person.age", "Age must be a number"),
        ]
    );
    assert!(!input.can_continue());
    // What was typed wrongly is not stored: the answer before is kept.
    assert!(input.answers_patch.get("person.date_of_birth").is_none());
    assert_eq!(input.answers_patch["person.name"], "Alex");

    let html = render(
        &def,
        "professional",
        "about",
        &answers,
        &PageState {
            errors: &input.errors,
            submitted: Some(&form),
            ..PageState::default()
        },
    );
    let doc = Html::parse_document(&html);
    let links: Vec<(String, String)> = select(&doc, ".govuk-error-summary__list a")
        .iter()
        .map(|a| {
            (
                a.value().attr("href").unwrap_or_default().to_owned(),
                a.text().collect::<String>().trim().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        links[1],
        (
            "#person.date_of_birth-month".to_owned(),
            "Date of birth must include a month".to_owned()
        )
    );
    assert_eq!(links[2].0, "#person.age");
    assert!(
        html.contains("<title>Error: About the person"),
        "title must start with Error:"
    );
    // Only the missing part is highlighted; what was typed is shown back as typed.
    assert_eq!(
        select(&doc, "#person\\.date_of_birth-month.govuk-input--error").len(),
        1
    );
    assert_eq!(
        select(&doc, "#person\\.date_of_birth-day.govuk-input--error").len(),
        0
    );
    assert_eq!(select(&doc, "#person\\.age[value=twelve]").len(), 1);
    // Inline messages sit with their fields.
    assert_eq!(select(&doc, "#person\\.age-error").len(), 1);

    let cases = [
        (("30", "2", "2010"), "Date of birth must be a real date"),
        (("3", "4", "10"), "Year must include 4 numbers"),
        (
            ("3", "4", "2099"),
            "Date of birth must be today or in the past",
        ),
    ];
    for ((d, m, y), message) in cases {
        let form = pairs(&[
            ("person.name", "A"),
            ("person.date_of_birth-day", d),
            ("person.date_of_birth-month", m),
            ("person.date_of_birth-year", y),
        ]);
        let input = parse(&def, "professional", "about", &answers, &form);
        assert_eq!(
            input.errors.first().map(|e| e.message.as_str()),
            Some(message)
        );
    }
    let input = parse(
        &def,
        "professional",
        "about",
        &answers,
        &pairs(&[("person.name", "A"), ("person.age", "200")]),
    );
    assert_eq!(input.errors[0].message, "Age must be 120 or less");
    let input = parse(
        &def,
        "professional",
        "about",
        &answers,
        &pairs(&[("person.name", " ")]),
    );
    assert_eq!(input.errors[0].field, "person.name");
    assert_eq!(input.errors[0].message, "Enter \u{201c}Full name\u{201d}");
}

#[test]
fn answers_are_escaped_everywhere() {
    let def = common::demo();
    let evil = "<script>alert(1)</script>\"'";
    let answers = json!({
        "person": { "name": evil }, "story": evil, "worried": true,
        "contacts": [{ "name": evil }], "concerns": ["other"], "concerns_other": evil,
    });
    let ctx = PageContext::new("tok\"><script>");
    let req = request(&def, "professional", &answers);
    let mut htmls = vec![haven_pages::check_answers_page(&ctx, &req, &[]).unwrap()];
    let mut others = Vec::new();
    for page in &req.stage.pages {
        let html =
            haven_pages::question_page(&ctx, &req.page(page), &PageState::default()).unwrap();
        if ["about", "choices", "people"].contains(&page.key.as_str()) {
            htmls.push(html)
        } else {
            others.push(html)
        }
    }
    let submitted = pairs(&[
        ("person.name", evil),
        ("person.age", evil),
        ("person.date_of_birth-day", evil),
    ]);
    let errors = vec![haven_pages::FieldError::new("person.name", evil)];
    let page = &req.stage.pages[0];
    htmls.push(
        haven_pages::question_page(
            &ctx,
            &req.page(page),
            &PageState {
                errors: &errors,
                submitted: Some(&submitted),
                ..PageState::default()
            },
        )
        .unwrap(),
    );
    let stage = req.stage;
    htmls.push(haven_pages::signpost_page(&ctx, &def, stage, &[evil.to_owned()], evil).unwrap());
    htmls.push(
        haven_pages::confirmation_page(&ctx, &def, stage, evil, evil, &[evil.to_owned()]).unwrap(),
    );
    htmls.push(haven_pages::resume_page(&ctx, &def, evil, Some(evil)).unwrap());
    htmls.push(haven_pages::error_page(&ctx, Some(&def), 400, evil).unwrap());
    for html in &htmls {
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;"),
            "answer not shown escaped in {html}"
        );
    }
    for html in htmls.iter().chain(&others) {
        assert!(
            !html.contains("<script>alert"),
            "unescaped answer in {html}"
        );
        assert!(!html.contains("tok\"><script>"), "unescaped token");
        assert!(
            common::page_rule_problems(html)
                .iter()
                .all(|p| !p.contains("inline <script>"))
        );
    }
}

#[test]
fn conditional_questions_are_decided_on_the_server() {
    let def = common::demo();
    let none = json!({ "concerns": ["chat"] });
    let html = render(
        &def,
        "professional",
        "choices",
        &none,
        &PageState::default(),
    );
    // Not applicable yet: it waits, hidden, under the option that reveals it (GOV.UK's
    // conditional reveal; hidden with or without JavaScript until the option is chosen).
    let doc = Html::parse_document(&html);
    let hidden = select(
        &doc,
        ".govuk-checkboxes__conditional--hidden #concerns_other",
    );
    assert_eq!(
        hidden.len(),
        1,
        "question not waiting hidden under its option: {html}"
    );
    let option = select(&doc, "input[name=concerns][value=other]");
    let controls = option[0].value().attr("data-aria-controls").unwrap();
    assert_eq!(
        select(&doc, &format!("#{controls} #concerns_other")).len(),
        1,
        "the option controls the block holding the question"
    );
    let other = json!({ "concerns": ["other"] });
    let html = render(
        &def,
        "professional",
        "choices",
        &other,
        &PageState::default(),
    );
    assert!(
        html.contains("id=\"concerns_other\""),
        "applicable question not shown"
    );
    let doc = Html::parse_document(&html);
    assert!(
        select(
            &doc,
            ".govuk-checkboxes__conditional--hidden #concerns_other"
        )
        .is_empty(),
        "an applicable question is not hidden"
    );

    // With JavaScript the question was shown as soon as the option was ticked: what was
    // typed into it is kept and the person goes on.
    let input = parse(
        &def,
        "professional",
        "choices",
        &none,
        &pairs(&[
            ("worried", "no"),
            ("concerns", "other"),
            ("concerns_other", "A game chat"),
        ]),
    );
    assert!(input.revealed.is_empty(), "{:?}", input.revealed);
    assert!(input.errors.is_empty(), "{:?}", input.errors);
    assert_eq!(input.answers_patch["concerns_other"], json!("A game chat"));
    assert!(input.can_continue());

    // Ticking "Something else" reveals its question: show the page again, without an error for it.
    let input = parse(
        &def,
        "professional",
        "choices",
        &none,
        &pairs(&[("worried", "no"), ("concerns", "other")]),
    );
    assert_eq!(input.revealed, vec!["concerns_other".to_owned()]);
    assert!(input.errors.is_empty(), "{:?}", input.errors);
    assert!(!input.can_continue());
    // Next time round it is asked, and required.
    let input = parse(
        &def,
        "professional",
        "choices",
        &other,
        &pairs(&[("worried", "no"), ("concerns", "other")]),
    );
    assert!(input.revealed.is_empty());
    assert_eq!(input.errors[0].field, "concerns_other");
    // Unticking it removes its answer.
    let answered = json!({ "concerns": ["other"], "concerns_other": "x" });
    let input = parse(
        &def,
        "professional",
        "choices",
        &answered,
        &pairs(&[("worried", "no"), ("concerns", "chat")]),
    );
    assert_eq!(input.answers_patch["concerns_other"], Value::Null);
    assert!(input.can_continue());
}

#[test]
fn pages_follow_audience_and_conditions() {
    let def = common::demo();
    let stage = def.stage("form").unwrap();
    let today = common::today();
    let keys = |audience: &str, answers: &Value| -> Vec<String> {
        haven_pages::nav::applicable_pages(stage, audience, answers, today)
            .iter()
            .map(|p| p.key.clone())
            .collect()
    };
    assert_eq!(
        keys("professional", &json!({ "worried": true })),
        ["about", "choices", "matrix", "people", "files", "later"]
    );
    assert_eq!(
        keys("young_person", &json!({ "worried": false })),
        ["about", "choices", "matrix", "people"]
    );
    let answers = json!({ "worried": false });
    assert_eq!(
        haven_pages::nav::next_page(stage, "young_person", &answers, "people", today)
            .map(|p| p.key.as_str()),
        None
    );
    assert_eq!(
        haven_pages::nav::next_page(stage, "professional", &answers, "people", today)
            .map(|p| p.key.as_str()),
        Some("files")
    );
    assert_eq!(
        haven_pages::nav::previous_page(stage, "professional", &answers, "choices", today)
            .map(|p| p.key.as_str()),
        Some("about")
    );
    let req = request(&def, "young_person", &answers);
    let people = stage.pages.iter().find(|p| p.key == "people").unwrap();
    assert_eq!(
        haven_pages::next_url(&req.page(people)),
        "/services/demo/form/check-answers"
    );
    let about = &stage.pages[0];
    assert_eq!(
        haven_pages::back_url(&req.page(about)),
        "/services/demo/form/who-are-you"
    );
    // An answer to a page that no longer applies is not sent.
    let stale = json!({ "worried": false, "how_worried": 9, "person": { "name": "A" } });
    assert_eq!(
        haven_pages::nav::prune_inapplicable(stage, "professional", &stale, today),
        json!({ "worried": false, "person": { "name": "A" } })
    );
}

#[test]
fn repeatable_items_are_added_and_removed_without_javascript() {
    let def = common::demo();
    let answers = json!({});
    // The first button of the form is "Continue", so Enter in a field never removes an item.
    let html = render(
        &def,
        "professional",
        "people",
        &answers,
        &PageState::default(),
    );
    let doc = Html::parse_document(&html);
    let first = select(&doc, "form button")[0];
    assert_eq!(first.value().attr("value"), Some("continue"));
    assert_eq!(select(&doc, "button[value='add:contacts']").len(), 1);

    let form = pairs(&[
        ("contacts-items", "1"),
        ("contacts[0].name", "Jo"),
        ("action", "add:contacts"),
    ]);
    let input = parse(&def, "professional", "people", &answers, &form);
    assert_eq!(
        input.action,
        FormAction::Add {
            question: "contacts".to_owned()
        }
    );
    assert_eq!(
        input.answers_patch["contacts"],
        json!([{ "name": "Jo" }, {}])
    );
    assert!(input.errors.is_empty());
    let mut merged = answers.clone();
    apply_patch(&mut merged, &input.answers_patch);
    let html = render(
        &def,
        "professional",
        "people",
        &merged,
        &PageState::default(),
    );
    assert!(
        html.contains("id=\"contacts[1].name\""),
        "the added item is not shown"
    );

    let form = pairs(&[
        ("contacts-items", "2"),
        ("contacts[0].name", "Jo"),
        ("contacts[1].name", "Kim"),
        ("action", "remove:contacts:0"),
    ]);
    let input = parse(&def, "professional", "people", &answers, &form);
    assert_eq!(input.answers_patch["contacts"], json!([{ "name": "Kim" }]));

    // On continue, blank items are dropped and errors point at the item as shown.
    let form = pairs(&[
        ("contacts-items", "3"),
        ("contacts[1].dob-day", "1"),
        ("contacts[1].dob-month", "2"),
        ("contacts[1].dob-year", "2000"),
        ("action", "continue"),
    ]);
    let input = parse(&def, "professional", "people", &answers, &form);
    assert_eq!(
        input.answers_patch["contacts"],
        json!([{ "dob": "2000-02-01" }])
    );
    assert_eq!(input.errors.len(), 1);
    assert_eq!(input.errors[0].field, "contacts[1].name");
    let html = render(
        &def,
        "professional",
        "people",
        &answers,
        &PageState {
            errors: &input.errors,
            submitted: Some(&form),
            ..PageState::default()
        },
    );
    assert!(
        html.contains("href=\"#contacts[1].name\""),
        "error link does not go to the item shown"
    );
    // No more than max_items, whatever the form claims.
    let form = pairs(&[("contacts-items", "999"), ("action", "add:contacts")]);
    let input = parse(&def, "professional", "people", &answers, &form);
    assert_eq!(
        input.answers_patch["contacts"].as_array().map(Vec::len),
        Some(3)
    );
}

#[test]
fn anonymity_findings_are_marked_named_and_can_be_confirmed() {
    let def = common::demo();
    let stage = def.stage("enquiry").unwrap();
    let text = "Sam at Oakwood School is hacking";
    let answers = json!({ "summary": text });
    let findings = vec![QuestionFindings {
        question: "summary".to_owned(),
        text: text.to_owned(),
        findings: vec![
            haven_pages::Finding {
                kind: "name".to_owned(),
                start: 0,
                end: 3,
            },
            haven_pages::Finding {
                kind: "school".to_owned(),
                start: 7,
                end: 21,
            },
        ],
    }];
    let errors = vec![haven_pages::FieldError::new(
        "summary",
        "Summary looks like it includes a name and a school",
    )];
    let req = StageRequest {
        def: &def,
        stage,
        audience: "professional",
        answers: &answers,
        today: common::today(),
    };
    let page = &stage.pages[0];
    let html = haven_pages::question_page(
        &PageContext::new("t"),
        &req.page(page),
        &PageState {
            errors: &errors,
            findings: &findings,
            ..PageState::default()
        },
    )
    .unwrap();
    assert!(
        common::page_rule_problems(&html).is_empty(),
        "{:?}",
        common::page_rule_problems(&html)
    );
    let doc = Html::parse_document(&html);
    let marks: Vec<String> = select(&doc, "mark.haven-finding")
        .iter()
        .map(|m| m.text().collect())
        .collect();
    assert_eq!(marks, ["Sam", "Oakwood School"]);
    let text_shown = select(&doc, ".haven-findings__text")[0]
        .text()
        .collect::<String>();
    assert_eq!(
        text_shown,
        "Sam (a name) at Oakwood School (a school) is hacking"
    );
    assert_eq!(
        select(
            &doc,
            "input[name=anonymity_confirmed][value=summary][type=checkbox]"
        )
        .len(),
        1
    );
    assert_eq!(
        select(
            &doc,
            "textarea#summary[data-haven-anonymity-check='/api/v1/anonymity-check']"
        )
        .len(),
        1
    );
    // Typed text takes its direction from what is typed (a right-to-left name cannot
    // reorder the field), alongside the live check's hook.
    assert_eq!(select(&doc, "textarea#summary[dir=auto]").len(), 1);
    assert_eq!(select(&doc, "#summary-live[aria-live=polite]").len(), 1);

    let confirm = pairs(&[("summary", text), ("anonymity_confirmed", "summary")]);
    let input = parse_page_form(&req.page(page), &confirm);
    assert_eq!(
        input.answers_patch["anonymity_confirmed"],
        json!(["summary"])
    );
    assert!(input.can_continue(), "{:?}", input.errors);
    // A confirmation given while changing the text does not count for the new text.
    let changed = pairs(&[
        ("summary", "Someone at a school"),
        ("anonymity_confirmed", "summary"),
    ]);
    let input = parse_page_form(&req.page(page), &changed);
    assert_eq!(input.answers_patch["anonymity_confirmed"], Value::Null);
}

#[test]
fn audience_and_resume_forms() {
    let def = common::demo();
    let stage = def.stage("form").unwrap();
    assert_eq!(
        haven_pages::parse_audience_form(stage, &pairs(&[("audience", "young_person")])),
        Ok("young_person".to_owned())
    );
    assert!(haven_pages::parse_audience_form(stage, &pairs(&[("audience", "admin")])).is_err());
    assert_eq!(
        haven_pages::parse_resume_form(&pairs(&[("resume_code", " k7qm-2xwd ")])),
        Ok("K7QM2XWD".to_owned())
    );
    assert!(haven_pages::parse_resume_form(&pairs(&[])).is_err());
}

#[test]
fn check_answers_shows_answers_in_words_and_links_errors_to_their_page() {
    let def = common::demo();
    let answers = json!({
        "person": { "name": "Alex", "date_of_birth": "2010-03-05" },
        "worried": true, "area": "south", "concerns": ["chat", "pictures"],
        "risk": { "missing": "both" },
        "contacts": [{ "name": "Jo" }, { "name": "Kim", "consulted": true }],
    });
    let req = request(&def, "professional", &answers);
    let errors = vec![
        haven_pages::FieldError::new("contacts[1].name", "Enter a name"),
        haven_pages::FieldError::new(
            "person.date_of_birth",
            "Date of birth must be today or in the past",
        ),
    ];
    let html = haven_pages::check_answers_page(&PageContext::new("t"), &req, &errors).unwrap();
    assert!(
        common::page_rule_problems(&html)
            .iter()
            .all(|p| !p.contains("error summary")),
        "error links are not in-page"
    );
    let doc = Html::parse_document(&html);
    let links: Vec<&str> = select(&doc, ".govuk-error-summary__list a")
        .iter()
        .filter_map(|a| a.value().attr("href"))
        .collect();
    assert_eq!(
        links,
        [
            "/services/demo/form/pages/people#contacts[1].name",
            "/services/demo/form/pages/about#person.date_of_birth-day"
        ]
    );
    let text = doc.root_element().text().collect::<String>();
    for words in [
        "5 March 2010",
        "South",
        "Chat",
        "Pictures",
        "Going missing: Current and Prior",
        "Professionals involved (entry 2)",
        "Consulted?: Yes",
        "Not provided",
    ] {
        assert!(text.contains(words), "check answers lacks {words:?}");
    }
    let changes: Vec<&str> = select(&doc, ".govuk-summary-list__actions a")
        .iter()
        .filter_map(|a| a.value().attr("href"))
        .collect();
    assert!(
        changes.contains(&"/services/demo/form/pages/about#person.date_of_birth-day"),
        "{changes:?}"
    );
    assert!(
        changes.contains(&"/services/demo/form/pages/people#contacts[1].name"),
        "{changes:?}"
    );
    assert_eq!(
        select(&doc, "form[method=post] button[value=submit]").len(),
        1
    );
}
