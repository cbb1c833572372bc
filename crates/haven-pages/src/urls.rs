//! The public pages' addresses. The server routes these; the pages link to them.
//!
//! | page | address |
//! |---|---|
//! | start | `/services/{service}` |
//! | "I am…" (audience) | `/services/{service}/{stage}/who-are-you` |
//! | question page | `/services/{service}/{stage}/pages/{page}` |
//! | check answers (POST: send) | `/services/{service}/{stage}/check-answers` |
//! | confirmation | `/services/{service}/{stage}/confirmation` |
//! | not accepted: who can help | `/services/{service}/{stage}/other-help` |
//! | saved (after "save and come back later") | `/services/{service}/{stage}/saved` |
//! | resume a saved form | `/services/{service}/resume` |
//! | follow-up (check on a report, send more information) | `/follow-up` |
//!
//! Service ids are slugs and stage/page keys come from the (trusted) definition; templates
//! still escape every address they write.

/// Where the public pages live.
pub const BASE: &str = "/services";

/// The reporter's follow-up page (receipt code: status, messages, more information).
pub const FOLLOW_UP: &str = "/follow-up";

/// The service's start page.
pub fn start(service: &str) -> String {
    format!("{BASE}/{service}")
}

/// The "I am…" page of a stage.
pub fn audience(service: &str, stage: &str) -> String {
    format!("{BASE}/{service}/{stage}/who-are-you")
}

/// A question page.
pub fn page(service: &str, stage: &str, page: &str) -> String {
    format!("{BASE}/{service}/{stage}/pages/{page}")
}

/// Check your answers (its form sends the submission).
pub fn check_answers(service: &str, stage: &str) -> String {
    format!("{BASE}/{service}/{stage}/check-answers")
}

/// The confirmation page after an accepted submission.
pub fn confirmation(service: &str, stage: &str) -> String {
    format!("{BASE}/{service}/{stage}/confirmation")
}

/// Who can help, when a submission is not accepted (out of scope).
pub fn other_help(service: &str, stage: &str) -> String {
    format!("{BASE}/{service}/{stage}/other-help")
}

/// The page showing a resume code after "save and come back later".
pub fn saved(service: &str, stage: &str) -> String {
    format!("{BASE}/{service}/{stage}/saved")
}

/// Where a resume code is entered.
pub fn resume(service: &str) -> String {
    format!("{BASE}/{service}/resume")
}
