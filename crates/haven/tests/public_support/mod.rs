//! A tiny browser without JavaScript for the public pages: keeps the form-session cookie,
//! reads the CSRF token from each page, posts forms (urlencoded or multipart) and follows
//! a stage's pages the way a person would, answering from a sample answers document.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::Utc;
use haven_core::definition::{QuestionKind, ServiceDefinition};
use haven_pages::{naming, nav};
use serde_json::Value;

use crate::common::{TestApp, TestResponse};

/// One browser (one cookie jar).
pub struct Browser<'a> {
    pub app: &'a TestApp,
    pub cookie: Option<String>,
    /// The CSRF token of the last page that had a form.
    pub csrf: Option<String>,
}

/// A file to post.
pub struct File<'a> {
    pub field: &'a str,
    pub name: &'a str,
    pub content_type: &'a str,
    pub content: &'a [u8],
}

/// The smallest file `infer` sniffs as a PDF.
pub const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";
/// A PNG header: sniffed as `image/png` whatever the name says.
pub const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            cookie: None,
            csrf: None,
        }
    }

    fn remember(&mut self, response: &TestResponse) {
        if let Some(set) = response.header("set-cookie") {
            let pair = set.split(';').next().unwrap_or_default().to_owned();
            self.cookie = Some(pair);
        }
        if let Some(token) = csrf_in(&response.text()) {
            self.csrf = Some(token);
        }
    }

    fn request(&self, method: Method, path: &str) -> axum::http::request::Builder {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "127.0.0.1:8080");
        if let Some(cookie) = &self.cookie {
            builder = builder.header(header::COOKIE, cookie);
        }
        builder
    }

    pub async fn get(&mut self, path: &str) -> TestResponse {
        let response = self
            .app
            .request(self.request(Method::GET, path).body(Body::empty()).unwrap())
            .await;
        self.remember(&response);
        response
    }

    /// Follows an emailed invitation link as a person does: its page, then its "Start the
    /// form" button. The button's answer; the page's when it has no button (a spent link).
    pub async fn open_link(&mut self, link: &str) -> TestResponse {
        let page = self.get(link).await;
        if page.status != axum::http::StatusCode::OK || !page.text().contains("Start the form") {
            return page;
        }
        self.post(link, &[]).await
    }

    /// Posts `pairs` plus the current CSRF token.
    pub async fn post(&mut self, path: &str, pairs: &[(String, String)]) -> TestResponse {
        let mut all: Vec<(String, String)> = vec![(
            naming::CSRF_FIELD.to_owned(),
            self.csrf.clone().unwrap_or_default(),
        )];
        all.extend(pairs.iter().cloned());
        self.post_raw(path, &all).await
    }

    /// Posts exactly `pairs` (no CSRF token added).
    pub async fn post_raw(&mut self, path: &str, pairs: &[(String, String)]) -> TestResponse {
        let body = serde_urlencoded::to_string(pairs).unwrap();
        let response = self
            .app
            .request(
                self.request(Method::POST, path)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await;
        self.remember(&response);
        response
    }

    /// Posts a multipart form: `pairs` (plus the CSRF token) and files.
    pub async fn post_multipart(
        &mut self,
        path: &str,
        pairs: &[(String, String)],
        files: &[File<'_>],
    ) -> TestResponse {
        let boundary = "----haven-test-boundary-7MA4YWxkTrZu0gW";
        let mut body: Vec<u8> = Vec::new();
        let mut all: Vec<(String, String)> = vec![(
            naming::CSRF_FIELD.to_owned(),
            self.csrf.clone().unwrap_or_default(),
        )];
        all.extend(pairs.iter().cloned());
        for (name, value) in &all {
            body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes());
        }
        for f in files {
            body.extend(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\nContent-Type: {}\r\n\r\n",
                    f.field, f.name, f.content_type
                )
                .as_bytes(),
            );
            body.extend(f.content);
            body.extend(b"\r\n");
        }
        body.extend(format!("--{boundary}--\r\n").as_bytes());
        let response = self
            .app
            .request(
                self.request(Method::POST, path)
                    .header(
                        header::CONTENT_TYPE,
                        format!("multipart/form-data; boundary={boundary}"),
                    )
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await;
        self.remember(&response);
        response
    }

    /// Chooses the audience (when the stage asks) and answers every page from `answers`,
    /// attaching `files` on the page of their question, until check answers. Returns the
    /// check answers page.
    pub async fn fill_stage(
        &mut self,
        def: &ServiceDefinition,
        stage_key: &str,
        audience: &str,
        answers: &Value,
        files: &[File<'_>],
    ) -> TestResponse {
        let today = haven_pages::london_today(Utc::now());
        let stage = def.stage(stage_key).unwrap();
        let entry = haven_pages::urls::audience(&def.id, stage_key);
        let mut response = self.get(&entry).await;
        if response.status == StatusCode::OK {
            response = self
                .post(
                    &entry,
                    &[(naming::AUDIENCE_FIELD.to_owned(), audience.to_owned())],
                )
                .await;
        }
        let check = haven_pages::urls::check_answers(&def.id, stage_key);
        for _ in 0..60 {
            assert_eq!(
                response.status,
                StatusCode::SEE_OTHER,
                "{}",
                response.text()
            );
            let location = response.header("location").unwrap().to_owned();
            if location == check {
                return self.get(&check).await;
            }
            let page_key = location.rsplit('/').next().unwrap();
            let page = stage.pages.iter().find(|p| p.key == page_key).unwrap();
            let shown = nav::shown_questions(page, audience, answers, today);
            let page_response = self.get(&location).await;
            assert_eq!(
                page_response.status,
                StatusCode::OK,
                "{location}: {}",
                page_response.text()
            );
            let mut pairs = haven_pages::answers_to_form(shown.iter().copied(), answers);
            let confirmed = answers[naming::ANONYMITY_CONFIRMED]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for key in confirmed.iter().filter_map(Value::as_str) {
                if shown.iter().any(|q| q.key == key) {
                    pairs.push((naming::ANONYMITY_CONFIRMED.to_owned(), key.to_owned()));
                }
            }
            pairs.push((
                naming::ACTION_FIELD.to_owned(),
                naming::action::CONTINUE.to_owned(),
            ));
            let page_files: Vec<&File<'_>> = files
                .iter()
                .filter(|f| shown.iter().any(|q| q.key == f.field))
                .collect();
            let takes_files = shown.iter().any(|q| q.kind == QuestionKind::File);
            response = if takes_files {
                let owned: Vec<File<'_>> = page_files.iter().map(|f| File { ..**f }).collect();
                self.post_multipart(&location, &pairs, &owned).await
            } else {
                self.post(&location, &pairs).await
            };
            if response.status == StatusCode::OK {
                // New questions revealed on the same page: answer them too.
                response = self.post(&location, &pairs).await;
            }
        }
        panic!("the stage never reached check answers");
    }
}

impl Clone for File<'_> {
    fn clone(&self) -> Self {
        File { ..*self }
    }
}

/// The CSRF token in a page.
pub fn csrf_in(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf_token\" value=\"")? + "name=\"csrf_token\" value=\"".len();
    Some(html[at..].split('"').next()?.to_owned())
}

/// The text between `<strong>` and `</strong>` after `marker`.
pub fn strong_after(html: &str, marker: &str) -> Option<String> {
    let at = html.find(marker)?;
    let rest = &html[at..];
    let start = rest.find("<strong>")? + "<strong>".len();
    Some(rest[start..].split("</strong>").next()?.trim().to_owned())
}

/// A sample answers document from `services/samples`.
pub fn sample(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../services/samples")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// How many referrals are stored.
pub async fn referral_count(app: &TestApp) -> i64 {
    use sqlx::Row;
    sqlx::query("SELECT COUNT(*) FROM referrals")
        .fetch_one(app.storage.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

/// The text of the element `id="ID">…<` (receipt and resume codes).
pub fn text_of_id(html: &str, id: &str) -> Option<String> {
    let marker = format!("id=\"{id}\">");
    let at = html.find(&marker)? + marker.len();
    Some(html[at..].split('<').next()?.trim().to_owned())
}
