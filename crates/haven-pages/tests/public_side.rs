//! The public side on the built-in definitions: the follow-up page reachable from every page
//! and written out in full on the confirmation, conditional questions shown under the answer
//! they depend on (and only when they apply), SECOS's start page naming the file it cannot
//! do without, the date a referrer completed the form starting at today, Cyber Choices
//! asking who someone is once, and the invitation page's sentence.
mod common;

use haven_core::definition::{Page, ServiceDefinition};
use haven_pages::{PageContext, PageState, StageRequest};
use scraper::{Html, Selector};
use serde_json::{Value, json};

fn select<'a>(doc: &'a Html, css: &str) -> Vec<scraper::ElementRef<'a>> {
    doc.select(&Selector::parse(css).unwrap()).collect()
}

fn page_of<'d>(def: &'d ServiceDefinition, stage: &str, question: &str) -> &'d Page {
    def.stage(stage)
        .unwrap()
        .pages
        .iter()
        .find(|p| p.questions.iter().any(|q| q.key == question))
        .unwrap()
}

fn render(
    def: &ServiceDefinition,
    stage: &str,
    page: &Page,
    audience: &str,
    answers: &Value,
) -> String {
    let req = StageRequest {
        def,
        stage: def.stage(stage).unwrap(),
        audience,
        answers,
        today: common::today(),
    };
    let html = haven_pages::question_page(
        &PageContext::new("tok"),
        &req.page(page),
        &PageState::default(),
    )
    .unwrap();
    let problems = common::page_rule_problems(&html);
    assert!(problems.is_empty(), "{problems:#?}");
    html
}

#[test]
fn every_public_page_links_the_follow_up_page_and_the_confirmation_gives_its_full_address() {
    let def = common::service("secos");
    let stage = def.stage("referral").unwrap();
    let mut ctx = PageContext::new("tok");
    ctx.follow_up_url = "https://haven.example.org/follow-up".to_owned();
    let pages = [
        haven_pages::start_page(&ctx, &def).unwrap(),
        haven_pages::audience_page(&ctx, &def, stage, None, None).unwrap(),
        render(
            &def,
            "referral",
            &stage.pages[0],
            "professional",
            &json!({}),
        ),
        haven_pages::error_page(&ctx, Some(&def), 404, "Not here.").unwrap(),
        haven_pages::confirmation_page(&ctx, &def, stage, "SEC-AAAA-BBBB", "CODE", &[]).unwrap(),
    ];
    for html in &pages {
        let doc = Html::parse_document(html);
        let links = select(&doc, "footer a[href=\"/follow-up\"]");
        assert_eq!(links.len(), 1, "no follow-up link in the footer: {html}");
    }
    let doc = Html::parse_document(&pages[4]);
    let address = select(&doc, "#follow-up-address a");
    assert_eq!(address.len(), 1, "{}", pages[4]);
    assert_eq!(
        address[0].value().attr("href"),
        Some("https://haven.example.org/follow-up")
    );
    assert_eq!(
        address[0].text().collect::<String>(),
        "https://haven.example.org/follow-up"
    );
}

#[test]
fn a_question_that_depends_on_a_yes_waits_hidden_under_that_yes() {
    let def = common::service("secos");
    let page = page_of(&def, "referral", "lone_working.details");
    let html = render(&def, "referral", page, "professional", &json!({}));
    let doc = Html::parse_document(&html);
    assert_eq!(
        select(
            &doc,
            ".govuk-radios__conditional--hidden #lone_working\\.details"
        )
        .len(),
        1,
        "the details wait hidden under the yes: {html}"
    );
    let yes = select(&doc, "input[name=\"lone_working.concerns\"][value=yes]");
    assert!(yes[0].value().attr("data-aria-controls").is_some());
    let no = select(&doc, "input[name=\"lone_working.concerns\"][value=no]");
    assert!(no[0].value().attr("data-aria-controls").is_none());
    // GOV.UK: conditional reveal is never used with inline radios.
    assert!(select(&doc, ".govuk-radios--inline #lone_working\\.concerns").is_empty());

    let answered = json!({ "lone_working": { "concerns": true, "details": "Dog at the house." } });
    let html = render(&def, "referral", page, "professional", &answered);
    let doc = Html::parse_document(&html);
    assert!(
        select(&doc, ".govuk-radios__conditional--hidden").is_empty(),
        "{html}"
    );
    let details = select(&doc, ".govuk-radios__conditional textarea");
    assert_eq!(details[0].text().collect::<String>(), "Dog at the house.");
}

#[test]
fn why_no_assessment_is_asked_only_when_none_is_attached() {
    let def = common::service("secos");
    let stage = def.stage("referral").unwrap();
    let assessments = page_of(&def, "referral", "assessments.assessment_document");
    let html = render(&def, "referral", assessments, "professional", &json!({}));
    assert!(
        !html.contains("Why is no Early Help"),
        "asked while attaching one: {html}"
    );
    let next = |answers: &Value| {
        haven_pages::next_url(
            &StageRequest {
                def: &def,
                stage,
                audience: "professional",
                answers,
                today: common::today(),
            }
            .page(assessments),
        )
    };
    let none = json!({ "assessments": { "risk_assessment_tool": "att_1" } });
    assert!(
        next(&none).ends_with("/pages/no_assessment_attached"),
        "{}",
        next(&none)
    );
    let attached = json!({ "assessments": { "risk_assessment_tool": "att_1", "assessment_document": "att_2" } });
    assert!(
        !next(&attached).ends_with("/pages/no_assessment_attached"),
        "{}",
        next(&attached)
    );
    // A referral with an assessment attached is valid without the reason.
    let sample: Value = serde_json::from_str(include_str!(
        "../../../services/samples/secos-referral.json"
    ))
    .unwrap();
    assert!(haven_core::answers::validate(stage, "professional", &sample, common::today()).is_ok());
}

#[test]
fn the_secos_start_page_says_the_risk_tool_must_be_attached() {
    let def = common::service("secos");
    let html = haven_pages::start_page(&PageContext::new("tok"), &def).unwrap();
    let doc = Html::parse_document(&html);
    let said = select(&doc, "#required-files");
    assert_eq!(said.len(), 1, "{html}");
    assert!(
        html.contains("Tees-wide CSE risk assessment tool"),
        "{html}"
    );
    // A service whose form needs no file says nothing of the kind.
    let cyber = common::service("cyber-choices");
    let html = haven_pages::start_page(&PageContext::new("tok"), &cyber).unwrap();
    assert!(!html.contains("required-files"), "{html}");
}

#[test]
fn the_date_the_referral_was_completed_starts_at_today() {
    let def = common::service("secos");
    let page = page_of(&def, "referral", "referrer.date_completed");
    let html = render(&def, "referral", page, "professional", &json!({}));
    let fields = common::form_fields(&html);
    let value = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    // common::today() is 23 November 2026.
    assert_eq!(value("referrer.date_completed-day"), "23");
    assert_eq!(value("referrer.date_completed-month"), "11");
    assert_eq!(value("referrer.date_completed-year"), "2026");
    // An answer already given is shown, not today.
    let answered = json!({ "referrer": { "date_completed": "2026-11-02" } });
    let html = render(&def, "referral", page, "professional", &answered);
    let fields = common::form_fields(&html);
    assert!(
        fields.contains(&("referrer.date_completed-day".to_owned(), "2".to_owned())),
        "{fields:?}"
    );
}

#[test]
fn cyber_choices_asks_a_parent_who_they_are_once_and_old_drafts_stay_valid() {
    let def = common::service("cyber-choices");
    let stage = def.stage("enquiry").unwrap();
    let page = page_of(&def, "enquiry", "referrer_role");
    let parent = render(&def, "enquiry", page, "parent_carer", &json!({}));
    assert!(
        !parent.contains("referrer_role"),
        "a parent is asked again: {parent}"
    );
    let professional = render(&def, "enquiry", page, "professional", &json!({}));
    assert!(professional.contains("Which best describes your role?"));
    // A parent's draft saved before, with the old answer, still sends.
    let mut sample: Value = serde_json::from_str(include_str!(
        "../../../services/samples/cyber-choices-enquiry.json"
    ))
    .unwrap();
    sample["referrer_role"] = json!("parent_carer");
    sample.as_object_mut().unwrap().remove("organisation");
    let valid = haven_core::answers::validate(stage, "parent_carer", &sample, common::today());
    assert!(valid.is_ok(), "{valid:?}");
}

#[test]
fn the_invitation_page_reads_as_a_sentence() {
    let def = common::service("cyber-choices");
    let html = haven_pages::invitation_page(
        &PageContext::new("tok"),
        &def,
        "Referral",
        "5:30pm on 15 December 2026",
        "/x",
    )
    .unwrap();
    assert!(
        html.contains("because you contacted Cyber Choices. It opens"),
        "{html}"
    );
    assert!(!html.contains("?."), "{html}");
}
