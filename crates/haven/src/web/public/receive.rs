//! Reading a question page's `multipart/form-data` post as it arrives: text fields kept as
//! form pairs, each file part streamed into storage ([`uploads::store_one`]).
//!
//! The form's CSRF token is its first field (`question.html`), so it is checked before the
//! first file part is read: a post without the session's token is refused (403) with nothing
//! read past that point and nothing stored. The first refused file ends the reading at once;
//! the files this post stored are then deleted, so a refused post keeps nothing.

use std::net::IpAddr;

use axum::extract::Multipart;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use haven_core::answers::FieldError;
use haven_core::definition::{Question, QuestionKind, ServiceDefinition};

use super::draft::{self, Loaded};
use super::respond::{self, Reply};
use super::session::FormSession;
use super::uploads::{self, Refusal, Stored};
use crate::storage::attachments::Owner;
use crate::web::AppState;

/// A question page's post, read.
pub enum Received {
    /// Every field read; `stored` are the files kept, in the order sent.
    Done {
        form: Vec<(String, String)>,
        stored: Vec<Stored>,
    },
    /// A file was refused: reading stopped there and nothing of this post was kept.
    Refused {
        form: Vec<(String, String)>,
        errors: Vec<FieldError>,
    },
}

/// What [`receive`] needs about the page and the person.
pub struct Page<'a> {
    pub def: &'a ServiceDefinition,
    pub session: &'a FormSession,
    /// The questions shown on the page (only their file questions take files).
    pub shown: &'a [&'a Question],
    pub ip: Option<IpAddr>,
    pub now: DateTime<Utc>,
}

/// Reads the post; see the module documentation. Errors are the page to answer (400/413 for
/// a broken body, 403 without the CSRF token, 429 past the address's upload quota).
pub async fn receive(
    state: &AppState,
    page: &Page<'_>,
    loaded: &mut Loaded,
    mut multipart: Multipart,
) -> Result<Received, Reply> {
    let def = page.def;
    let mut form: Vec<(String, String)> = Vec::new();
    let mut stored: Vec<Stored> = Vec::new();
    // Bytes already attached to the draft, read once (before this post's first file).
    let mut draft_bytes: Option<u64> = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return Err(undo(state, &stored, respond::error(Some(def), e.status())).await),
        };
        let name = field.name().unwrap_or_default().to_owned();
        if field.file_name().is_none() {
            match field.text().await {
                Ok(text) => form.push((name, text)),
                Err(e) => {
                    return Err(undo(state, &stored, respond::error(Some(def), e.status())).await);
                }
            }
            continue;
        }
        // A file part: the token must have come first.
        if !page.session.csrf_ok(&state.key, &form) {
            let forbidden =
                respond::error(Some(def), StatusCode::FORBIDDEN).with_session(page.session);
            return Err(undo(state, &stored, forbidden).await);
        }
        if field.file_name().is_some_and(str::is_empty) {
            continue; // the browser sends an empty part when no file was chosen
        }
        let refuse = |message: String| Received::Refused {
            form: form.clone(),
            errors: vec![FieldError::new(&name, message)],
        };
        let Some(q) = page
            .shown
            .iter()
            .copied()
            .find(|q| q.key == name && q.kind == QuestionKind::File)
        else {
            let refused = refuse("This question does not take a file".to_owned());
            discard_all(state, &stored).await;
            return Ok(refused);
        };
        let max = uploads::max_items(q);
        if stored.iter().filter(|s| s.question == q.key).count() >= max {
            let refused = refuse(format!(
                "You can attach up to {max} files for \u{201c}{}\u{201d}",
                q.label
            ));
            discard_all(state, &stored).await;
            return Ok(refused);
        }
        let draft_id = match loaded.id.clone() {
            Some(id) => id,
            None => draft::store(state, page.session, def, loaded, page.now).await?,
        };
        let before = match draft_bytes {
            Some(b) => b,
            None => {
                let b = state
                    .storage
                    .draft_bytes(&draft_id)
                    .await
                    .map_err(|e| respond::storage_failed(Some(def), &e))?;
                draft_bytes = Some(b);
                b
            }
        };
        let so_far: u64 = stored.iter().map(|s| s.size).sum();
        let room = state
            .uploads
            .per_draft_bytes
            .saturating_sub(before.saturating_add(so_far));
        match uploads::store_one(state, field, q, Owner::Draft(&draft_id), room, page.ip).await {
            Ok(file) => stored.push(file),
            Err(Refusal::Field(error)) => {
                discard_all(state, &stored).await;
                return Ok(Received::Refused {
                    form,
                    errors: vec![error],
                });
            }
            Err(Refusal::TooMany(secs)) => {
                return Err(undo(state, &stored, respond::too_many(Some(def), secs)).await);
            }
            Err(Refusal::Broken(status)) => {
                return Err(undo(state, &stored, respond::error(Some(def), status)).await);
            }
            Err(Refusal::Storage(e)) => {
                let failed = respond::storage_failed(Some(def), &e);
                return Err(undo(state, &stored, failed).await);
            }
        }
    }
    Ok(Received::Done { form, stored })
}

/// Deletes the files this post stored.
pub async fn discard_all(state: &AppState, stored: &[Stored]) {
    for file in stored {
        uploads::discard(state, &file.id).await;
    }
}

/// Deletes the files this post stored, then gives back `reply`.
async fn undo(state: &AppState, stored: &[Stored], reply: Reply) -> Reply {
    discard_all(state, stored).await;
    reply
}
