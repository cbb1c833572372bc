//! Every page of every stage of every built-in service (`services/*.toml`) renders for every
//! audience, empty, filled with the sample answers, and with an error on every question; and
//! every page keeps Haven's rules (CSP, quick exit, 999 message, help line, labels, CSRF).
mod common;

use chrono::{TimeZone, Utc};
use haven_core::answers::FieldError;
use haven_core::definition::{QuestionKind, ServiceDefinition, Stage};
use haven_pages::{PageContext, PageState, StageRequest};
use serde_json::{Value, json};

/// Checks a page's rules and the service's own: its emergency message first in the main
/// content, and never a file input on a stage that forbids uploads.
fn check(def: &ServiceDefinition, stage: Option<&Stage>, what: &str, html: &str) {
    let problems = common::page_rule_problems(html);
    assert!(problems.is_empty(), "{} {what}: {problems:#?}", def.id);
    if let Some(message) = &def.emergency_message {
        let doc = scraper::Html::parse_document(html);
        let selector = scraper::Selector::parse("main > .govuk-warning-text").unwrap();
        let first = doc
            .select(&selector)
            .next()
            .map(|w| w.text().collect::<String>())
            .unwrap_or_default();
        assert!(
            first.contains(message.as_str()),
            "{} {what}: emergency message not first in main",
            def.id
        );
    }
    if stage.is_some_and(|s| s.uploads_forbidden) {
        assert!(
            !html.contains("type=\"file\""),
            "{} {what}: a file input on a stage that forbids uploads",
            def.id
        );
        assert!(
            !html.contains("multipart/form-data"),
            "{} {what}: a multipart form on a stage that forbids uploads",
            def.id
        );
    }
}

fn sample(def: &ServiceDefinition, stage: &str) -> Value {
    let name = format!("{}-{}", def.id, stage);
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../services/samples");
    std::fs::read_dir(dir)
        .ok()
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&name))
        })
        .and_then(|p| serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok())
        .unwrap_or_else(|| json!({}))
}

/// An error on every question shown (and on every field of each repeatable's first item).
fn every_error(req: &StageRequest<'_>, page: &str) -> Vec<FieldError> {
    let page = req.stage.pages.iter().find(|p| p.key == page).unwrap();
    let mut errors = Vec::new();
    for q in haven_pages::nav::shown_questions(page, req.audience, req.answers, req.today) {
        errors.push(FieldError::new(&q.key, format!("Enter {}", q.label)));
        if q.kind == QuestionKind::Repeatable {
            for f in &q.fields {
                errors.push(FieldError::new(
                    format!("{}[0].{}", q.key, f.key),
                    format!("Enter {}", f.label),
                ));
            }
        }
    }
    errors
}

#[test]
fn every_page_of_every_service_renders_and_keeps_the_rules() {
    let mut pages = 0;
    let mut services = common::services();
    services.push(common::demo());
    assert!(services.len() >= 4, "the built-in services are missing");
    for def in &services {
        for save in [false, true] {
            let mut ctx = PageContext::new("token-123");
            ctx.save_and_return = save;
            ctx.phase = Some("Beta".to_owned());
            check(
                def,
                None,
                "start",
                &haven_pages::start_page(&ctx, def).unwrap(),
            );
            check(
                def,
                None,
                "resume",
                &haven_pages::resume_page(&ctx, def, "<b>", Some("Enter your resume code"))
                    .unwrap(),
            );
            check(
                def,
                None,
                "error",
                &haven_pages::error_page(&ctx, Some(def), 404, "Not here.").unwrap(),
            );
            for stage in &def.stages {
                let s = Some(stage);
                check(
                    def,
                    s,
                    "audience",
                    &haven_pages::audience_page(&ctx, def, stage, None, None).unwrap(),
                );
                let error = FieldError::new("audience", "Select who you are");
                check(
                    def,
                    s,
                    "audience error",
                    &haven_pages::audience_page(&ctx, def, stage, None, Some(&error)).unwrap(),
                );
                let steps = vec!["We will call you.".to_owned()];
                check(
                    def,
                    s,
                    "confirmation",
                    &haven_pages::confirmation_page(&ctx, def, stage, "ABC-1234", "RC-XYZ", &steps)
                        .unwrap(),
                );
                let keys: Vec<String> = def.signposts.iter().map(|s| s.key.clone()).collect();
                check(
                    def,
                    s,
                    "signposts",
                    &haven_pages::signpost_page(&ctx, def, stage, &keys, "Not for us.").unwrap(),
                );
                let expires = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
                check(
                    def,
                    s,
                    "saved",
                    &haven_pages::saved_page(&ctx, def, stage, "K7QM", expires).unwrap(),
                );
                let filled = sample(def, &stage.key);
                for audience in &stage.audiences {
                    for answers in [json!({}), filled.clone()] {
                        let req = StageRequest {
                            def,
                            stage,
                            audience,
                            answers: &answers,
                            today: common::today(),
                        };
                        for page in &stage.pages {
                            let what = format!("{}/{}/{audience}", stage.key, page.key);
                            let html = haven_pages::question_page(
                                &ctx,
                                &req.page(page),
                                &PageState::default(),
                            )
                            .unwrap();
                            check(def, s, &what, &html);
                            let errors = every_error(&req, &page.key);
                            let state = PageState {
                                errors: &errors,
                                ..PageState::default()
                            };
                            let html =
                                haven_pages::question_page(&ctx, &req.page(page), &state).unwrap();
                            check(def, s, &format!("{what} with errors"), &html);
                            pages += 2;
                        }
                        check(
                            def,
                            s,
                            "check answers",
                            &haven_pages::check_answers_page(&ctx, &req, &[]).unwrap(),
                        );
                    }
                }
            }
        }
    }
    eprintln!("{pages} question pages checked");
    assert!(pages > 100);
}

#[test]
fn the_cyber_choices_999_message_is_on_every_page() {
    let def = common::service("cyber-choices");
    let ctx = PageContext::new("t");
    let message = "If any person is at immediate risk you MUST dial 999 and ask for Police";
    let mut htmls = vec![
        haven_pages::start_page(&ctx, &def).unwrap(),
        haven_pages::resume_page(&ctx, &def, "", None).unwrap(),
    ];
    for stage in &def.stages {
        let answers = sample(&def, &stage.key);
        for audience in &stage.audiences {
            let req = StageRequest {
                def: &def,
                stage,
                audience,
                answers: &answers,
                today: common::today(),
            };
            htmls.push(haven_pages::audience_page(&ctx, &def, stage, None, None).unwrap());
            htmls.extend(stage.pages.iter().map(|p| {
                haven_pages::question_page(&ctx, &req.page(p), &PageState::default()).unwrap()
            }));
            htmls.push(haven_pages::check_answers_page(&ctx, &req, &[]).unwrap());
        }
        htmls.push(haven_pages::confirmation_page(&ctx, &def, stage, "CYB-1", "RC", &[]).unwrap());
        htmls.push(haven_pages::signpost_page(&ctx, &def, stage, &[], "").unwrap());
    }
    htmls.push(haven_pages::error_page(&ctx, Some(&def), 500, "Sorry.").unwrap());
    for html in &htmls {
        assert!(html.contains(message), "missing 999 message");
    }
}

#[test]
fn ceop_never_offers_an_upload_and_points_to_iwf_and_report_remove() {
    let def = common::service("ceop");
    let ctx = PageContext::new("t");
    let stage = def.stage("report").unwrap();
    let answers = sample(&def, "report");
    let req = StageRequest {
        def: &def,
        stage,
        audience: "parent_carer",
        answers: &answers,
        today: common::today(),
    };
    let page = stage
        .pages
        .iter()
        .find(|p| p.key == "what_happened")
        .unwrap();
    let html = haven_pages::question_page(&ctx, &req.page(page), &PageState::default()).unwrap();
    assert!(!html.contains("type=\"file\""));
    assert!(html.contains("Do not send us pictures or videos of abuse"));
    let doc = scraper::Html::parse_document(&html);
    let links: Vec<&str> = doc
        .select(&scraper::Selector::parse("main a[href]").unwrap())
        .filter_map(|a| a.value().attr("href"))
        .collect();
    assert!(
        links.contains(&"https://report.iwf.org.uk"),
        "IWF not linked: {links:?}"
    );
    assert!(html.contains("Report Remove"), "Report Remove not named");
    let check = haven_pages::check_answers_page(&ctx, &req, &[]).unwrap();
    assert!(check.contains("Do not send us pictures or videos of abuse"));
}

#[test]
fn a_typical_page_is_light() {
    // HTML + CSS + JS, uncompressed; the server also gzips, which makes it about 30 KB.
    let assets = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../assets");
    let asset_bytes: u64 = [
        "haven.min.css",
        "govuk-frontend.min.js",
        "haven.js",
        "images/favicon.svg",
    ]
    .iter()
    .map(|f| std::fs::metadata(assets.join(f)).map(|m| m.len()).unwrap())
    .sum();
    let def = common::service("secos");
    let stage = def.stage("referral").unwrap();
    let answers = sample(&def, "referral");
    let req = StageRequest {
        def: &def,
        stage,
        audience: "professional",
        answers: &answers,
        today: common::today(),
    };
    let largest = stage
        .pages
        .iter()
        .map(|p| {
            haven_pages::question_page(&PageContext::new("t"), &req.page(p), &PageState::default())
                .unwrap()
                .len()
        })
        .max()
        .unwrap();
    let total = asset_bytes + largest as u64;
    eprintln!("assets {asset_bytes} B + largest SECOS page {largest} B = {total} B");
    assert!(total < 150 * 1024, "{total} bytes");
}
