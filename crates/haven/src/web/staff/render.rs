//! The staff pages' templates (`crates/haven/templates/staff/`), embedded in the binary and
//! HTML auto-escaped: every value shown is escaped unless a template marks it safe (only the
//! server-made QR code SVG is).

use std::sync::LazyLock;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;

const TEMPLATES: &[(&str, &str)] = &[
    (
        "layout.html",
        include_str!("../../../templates/staff/layout.html"),
    ),
    (
        "macros.html",
        include_str!("../../../templates/staff/macros.html"),
    ),
    (
        "moj.html",
        include_str!("../../../templates/staff/moj.html"),
    ),
    (
        "error.html",
        include_str!("../../../templates/staff/error.html"),
    ),
    (
        "sign_in.html",
        include_str!("../../../templates/staff/sign_in.html"),
    ),
    (
        "code.html",
        include_str!("../../../templates/staff/code.html"),
    ),
    (
        "enrol.html",
        include_str!("../../../templates/staff/enrol.html"),
    ),
    (
        "recovery_codes.html",
        include_str!("../../../templates/staff/recovery_codes.html"),
    ),
    (
        "password.html",
        include_str!("../../../templates/staff/password.html"),
    ),
    (
        "queue.html",
        include_str!("../../../templates/staff/queue.html"),
    ),
    (
        "case.html",
        include_str!("../../../templates/staff/case.html"),
    ),
    (
        "people_panel.html",
        include_str!("../../../templates/staff/people_panel.html"),
    ),
    (
        "search.html",
        include_str!("../../../templates/staff/search.html"),
    ),
    (
        "case_layout.html",
        include_str!("../../../templates/staff/case_layout.html"),
    ),
    (
        "case_referral.html",
        include_str!("../../../templates/staff/case_referral.html"),
    ),
    (
        "case_screening.html",
        include_str!("../../../templates/staff/case_screening.html"),
    ),
    (
        "case_meetings.html",
        include_str!("../../../templates/staff/case_meetings.html"),
    ),
    (
        "case_onward.html",
        include_str!("../../../templates/staff/case_onward.html"),
    ),
    (
        "case_documents.html",
        include_str!("../../../templates/staff/case_documents.html"),
    ),
    (
        "case_chronology.html",
        include_str!("../../../templates/staff/case_chronology.html"),
    ),
    (
        "case_form.html",
        include_str!("../../../templates/staff/case_form.html"),
    ),
    (
        "legal_hold.html",
        include_str!("../../../templates/staff/legal_hold.html"),
    ),
    (
        "subject_access.html",
        include_str!("../../../templates/staff/subject_access.html"),
    ),
    (
        "plan_form.html",
        include_str!("../../../templates/staff/plan_form.html"),
    ),
    (
        "onward_form.html",
        include_str!("../../../templates/staff/onward_form.html"),
    ),
    (
        "lone_working.html",
        include_str!("../../../templates/staff/lone_working.html"),
    ),
    (
        "meeting.html",
        include_str!("../../../templates/staff/meeting.html"),
    ),
    (
        "plan.html",
        include_str!("../../../templates/staff/plan.html"),
    ),
    (
        "onward.html",
        include_str!("../../../templates/staff/onward.html"),
    ),
    (
        "family.html",
        include_str!("../../../templates/staff/family.html"),
    ),
    (
        "new_user.html",
        include_str!("../../../templates/staff/new_user.html"),
    ),
    (
        "set_up_link.html",
        include_str!("../../../templates/staff/set_up_link.html"),
    ),
    (
        "set_up.html",
        include_str!("../../../templates/staff/set_up.html"),
    ),
    (
        "tokens.html",
        include_str!("../../../templates/staff/tokens.html"),
    ),
    (
        "users.html",
        include_str!("../../../templates/staff/users.html"),
    ),
    (
        "user.html",
        include_str!("../../../templates/staff/user.html"),
    ),
    (
        "inbox.html",
        include_str!("../../../templates/staff/inbox.html"),
    ),
    (
        "sharing.html",
        include_str!("../../../templates/staff/sharing.html"),
    ),
    (
        "inbox_item.html",
        include_str!("../../../templates/staff/inbox_item.html"),
    ),
    (
        "inbox_complete.html",
        include_str!("../../../templates/staff/inbox_complete.html"),
    ),
    (
        "inbox_reject.html",
        include_str!("../../../templates/staff/inbox_reject.html"),
    ),
    (
        "dashboard.html",
        include_str!("../../../templates/staff/dashboard.html"),
    ),
    (
        "follow_up_start.html",
        include_str!("../../../templates/staff/follow_up_start.html"),
    ),
    (
        "follow_up.html",
        include_str!("../../../templates/staff/follow_up.html"),
    ),
];

static ENVIRONMENT: LazyLock<Result<Environment<'static>, String>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Lenient);
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    // Text from outside (answers, messages): isolated, invisible characters marked.
    env.add_filter("user_text", |v: minijinja::Value| {
        super::invisible::user_text(&v)
    });
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .map_err(|e| format!("template {name}: {e}"))?;
    }
    Ok(env)
});

/// What the layout needs on every signed-in page: the CSRF token (signing out is a form),
/// who is signed in, and whether the navigation shows the administration pages (only to a
/// role the policy lets manage staff).
pub fn chrome(
    state: &crate::web::AppState,
    session: &super::session::CurrentSession,
) -> serde_json::Map<String, serde_json::Value> {
    let staff = session.staff();
    let may_manage = state
        .staff
        .policy
        .decide(&staff, crate::policy::Action::ManageUsers, None)
        .allowed();
    let mut map = serde_json::Map::new();
    map.insert("csrf".to_owned(), session.csrf.clone().into());
    map.insert("signed_in".to_owned(), true.into());
    map.insert("email".to_owned(), staff.email.clone().into());
    map.insert("may_manage".to_owned(), may_manage.into());
    map.insert("may_inbox".to_owned(), may_inbox(state, &staff).into());
    let may_subject_access = state
        .staff
        .policy
        .decide(&staff, crate::policy::Action::SubjectAccess, None)
        .allowed();
    map.insert("may_subject_access".to_owned(), may_subject_access.into());
    map.insert("may_sharing".to_owned(), may_sharing(state, &staff).into());
    map.insert(
        "may_dashboard".to_owned(),
        may_dashboard(state, &staff).into(),
    );
    map
}

/// Whether the navigation links the information-sharing register: roles the policy lets
/// see it.
pub fn may_sharing(state: &crate::web::AppState, staff: &crate::access::Staff) -> bool {
    state
        .staff
        .policy
        .decide(staff, crate::policy::Action::ViewSharingRegister, None)
        .allowed()
}

/// Whether the navigation links the email inbox: roles the policy lets see it.
pub fn may_inbox(state: &crate::web::AppState, staff: &crate::access::Staff) -> bool {
    state
        .staff
        .policy
        .decide(staff, crate::policy::Action::ViewInbox, None)
        .allowed()
}

/// Whether the navigation links the dashboards: roles the policy lets see them.
pub fn may_dashboard(state: &crate::web::AppState, staff: &crate::access::Staff) -> bool {
    state
        .staff
        .policy
        .decide(staff, crate::policy::Action::ViewDashboard, None)
        .allowed()
}

/// Renders `template` with `context` to HTML (an error names the template; never input).
pub fn render<S: Serialize>(template: &str, context: S) -> Result<String, String> {
    let env = ENVIRONMENT.as_ref().map_err(Clone::clone)?;
    env.get_template(template)
        .and_then(|t| t.render(minijinja::Value::from(minijinja::value::Serde(&context))))
        .map_err(|e| format!("{template}: {e:#}"))
}

/// An HTML response.
pub fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// Renders a page as a response, or the error page when a template fails.
pub fn page<S: Serialize>(status: StatusCode, template: &str, context: S) -> Response {
    match render(template, context) {
        Ok(body) => html(status, body),
        Err(e) => super::error::StaffError::Internal(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_template_compiles() {
        assert!(
            super::ENVIRONMENT.as_ref().is_ok(),
            "{:?}",
            super::ENVIRONMENT.as_ref().err()
        );
    }
}
