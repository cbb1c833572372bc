//! Writes every public page of the built-in services, filled with the sample answers, as
//! static files under a directory (default `target/pages-preview`), laid out like the server's
//! addresses (`services/ceop/report/pages/danger/index.html`), with `assets/` copied beside.
//! Serve the directory with any static server to look at the pages or run a browser check:
//!
//!   cargo run -p haven-pages --example preview -- /tmp/preview
//!   python3 -m http.server -d /tmp/preview 8099
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, TimeZone, Utc};
use haven_core::answers::FieldError;
use haven_core::definition::load::parse_definition;
use haven_pages::{PageContext, PageState, StageRequest};
use serde_json::{Value, json};

fn write(root: &Path, url: &str, html: &str) -> std::io::Result<()> {
    let dir = root.join(url.trim_start_matches('/'));
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("index.html"), html)
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let path = entry?.path();
        let target = to.join(path.file_name().unwrap_or_default());
        if path.is_dir() {
            copy_dir(&path, &target)?;
        } else {
            std::fs::copy(&path, &target)?;
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = std::env::args()
        .nth(1)
        .map_or_else(|| root_dir.join("target/pages-preview"), PathBuf::from);
    copy_dir(&root_dir.join("assets"), &out.join("assets"))?;
    let today = NaiveDate::from_ymd_opt(2026, 11, 23).ok_or("date")?;
    let mut ctx = PageContext::new("preview-token");
    ctx.phase = Some("Beta".to_owned());
    // (service, stage, audience, sample answers)
    let samples = [
        ("ceop", "report", "parent_carer", "ceop-report-parent.json"),
        (
            "cyber-choices",
            "enquiry",
            "professional",
            "cyber-choices-enquiry.json",
        ),
        (
            "cyber-choices",
            "referral",
            "professional",
            "cyber-choices-referral.json",
        ),
        ("secos", "referral", "professional", "secos-referral.json"),
    ];
    for (id, stage_key, audience, sample) in samples {
        let file = root_dir.join("services").join(format!("{id}.toml"));
        let def = parse_definition(
            &file.display().to_string(),
            &std::fs::read_to_string(&file)?,
        )?;
        let stage = def.stage(stage_key).ok_or("stage")?;
        let answers: Value = serde_json::from_str(&std::fs::read_to_string(
            root_dir.join("services/samples").join(sample),
        )?)?;
        ctx.save_and_return = id == "secos";
        write(
            &out,
            &haven_pages::urls::start(id),
            &haven_pages::start_page(&ctx, &def)?,
        )?;
        write(
            &out,
            &haven_pages::urls::audience(id, stage_key),
            &haven_pages::audience_page(&ctx, &def, stage, Some(audience), None)?,
        )?;
        let req = StageRequest {
            def: &def,
            stage,
            audience,
            answers: &answers,
            today,
        };
        for page in &stage.pages {
            let html = haven_pages::question_page(&ctx, &req.page(page), &PageState::default())?;
            write(
                &out,
                &haven_pages::urls::page(id, stage_key, &page.key),
                &html,
            )?;
        }
        write(
            &out,
            &haven_pages::urls::check_answers(id, stage_key),
            &haven_pages::check_answers_page(&ctx, &req, &[])?,
        )?;
        write(
            &out,
            &haven_pages::urls::confirmation(id, stage_key),
            &haven_pages::confirmation_page(
                &ctx,
                &def,
                stage,
                "CEOP-7K3M-9QXD",
                "RC-4H7K-2M9P-XW3T-8NQA",
                &[],
            )?,
        )?;
        let reason = def
            .screening
            .as_ref()
            .and_then(|s| s.scope.as_ref())
            .map_or_else(String::new, |s| s.out_of_scope_reason.clone());
        let keys: Vec<String> = def
            .signposts
            .iter()
            .map(|s| s.key.clone())
            .take(3)
            .collect();
        write(
            &out,
            &haven_pages::urls::other_help(id, stage_key),
            &haven_pages::signpost_page(&ctx, &def, stage, &keys, &reason)?,
        )?;
        let expires = Utc
            .with_ymd_and_hms(2026, 12, 21, 17, 0, 0)
            .single()
            .ok_or("time")?;
        write(
            &out,
            &haven_pages::urls::saved(id, stage_key),
            &haven_pages::saved_page(&ctx, &def, stage, "K7QM-2XWD-9HTA", expires)?,
        )?;
        write(
            &out,
            &haven_pages::urls::resume(id),
            &haven_pages::resume_page(&ctx, &def, "", None)?,
        )?;
        // Anonymous stages: each page with its free text's first word shown as a finding.
        if stage.anonymous {
            for page in &stage.pages {
                let findings: Vec<haven_pages::QuestionFindings> = page
                    .questions
                    .iter()
                    .filter(|q| q.checks_anonymity())
                    .filter_map(|q| {
                        let text = haven_core::definition::condition::lookup(&answers, &q.key)?
                            .as_str()?;
                        let end = text.find(' ').unwrap_or(text.len());
                        Some(haven_pages::QuestionFindings {
                            question: q.key.clone(),
                            text: text.to_owned(),
                            findings: vec![haven_pages::Finding {
                                kind: "name".to_owned(),
                                start: 0,
                                end,
                            }],
                        })
                    })
                    .collect();
                if findings.is_empty() {
                    continue;
                }
                let errors: Vec<FieldError> = findings
                    .iter()
                    .map(|f| FieldError::new(&f.question, "This looks like it includes a name. Remove it, or confirm it is not a person's details"))
                    .collect();
                let state = PageState {
                    errors: &errors,
                    findings: &findings,
                    ..PageState::default()
                };
                let html = haven_pages::question_page(&ctx, &req.page(page), &state)?;
                write(
                    &out,
                    &format!(
                        "{}/findings",
                        haven_pages::urls::page(id, stage_key, &page.key)
                    ),
                    &html,
                )?;
            }
        }
        // Every question page once more with every question in error, and empty answers.
        let empty = json!({});
        let req = StageRequest {
            def: &def,
            stage,
            audience,
            answers: &empty,
            today,
        };
        for page in &stage.pages {
            let errors: Vec<FieldError> = page
                .questions
                .iter()
                .map(|q| FieldError::new(&q.key, format!("Enter {}", q.label.to_lowercase())))
                .collect();
            let state = PageState {
                errors: &errors,
                ..PageState::default()
            };
            let html = haven_pages::question_page(&ctx, &req.page(page), &state)?;
            write(
                &out,
                &format!(
                    "{}/errors",
                    haven_pages::urls::page(id, stage_key, &page.key)
                ),
                &html,
            )?;
        }
    }
    write(
        &out,
        "/not-found",
        &haven_pages::error_page(
            &ctx,
            None,
            404,
            "If you typed the web address, check it is correct.",
        )?,
    )?;
    println!("{}", out.display());
    Ok(())
}
