//! The staff workspace: server-rendered pages under `/staff/…` (GOV.UK Design System markup,
//! no JavaScript needed) for sign-in with a second factor, the queue, the case file, and
//! administration of staff accounts and tokens.
//!
//! - Sessions live in the database (`storage::sessions`); the cookie holds a random id whose
//!   SHA-256 is the key, so a copied database cannot be used to sign in ([`session`]).
//! - Every state-changing form carries a CSRF token derived from the session id under the
//!   server key, checked in constant time; before sign-in a double-submit cookie does the
//!   same for the sign-in form ([`session::check_csrf`]).
//! - What a role may see or do comes from `policy/access.toml` through
//!   [`crate::policy::Policy::decide`] only.
//! - Every response says `Cache-Control: no-store`.

pub mod account_admin;
pub mod answers;
pub mod attachments;
pub mod attempts;
pub mod case;
pub mod case_actions;
pub mod casework;
pub mod charts;
pub mod dashboard;
pub mod dashboard_view;
pub mod error;
pub mod inbox;
mod invisible;
pub mod legal_hold;
pub mod onward;
pub mod people;
pub mod queue;
pub mod render;
pub mod second_factor;
pub mod session;
pub mod set_up;
pub mod sharing;
pub mod sign_in;
pub mod subject_access;
pub mod tokens;
pub mod users;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::routing::{get, post};
use chrono::TimeDelta;
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;

use super::AppState;
use crate::auth::{Clock, Throttle};
use crate::policy::Policy;

/// Wrong second-factor codes allowed per account per window (only someone who knows the
/// password gets that far).
pub const ACCOUNT_FAILURES: u32 = 5;
/// Failed password attempts allowed per client address (any accounts) per window.
pub const ADDRESS_FAILURES: u32 = 30;
/// Password attempts per account per window from all addresses together: a ceiling far
/// above what one address may do, so that only a distributed attack reaches it.
pub const ACCOUNT_CEILING: u32 = 100;
/// Failed password attempts per (account, address) before each further attempt from that
/// address has to wait ([`pair_delay_secs`]).
pub const PAIR_FREE_FAILURES: i64 = 5;
/// The first wait, doubled for each further failure, up to [`PAIR_MAX_DELAY_SECS`].
pub const PAIR_FIRST_DELAY_SECS: i64 = 30;
pub const PAIR_MAX_DELAY_SECS: i64 = 3600;

/// Seconds the next attempt from one address on one account must wait after its `n`th
/// failure not yet taken back by a success: none for the first [`PAIR_FREE_FAILURES`], then
/// 30 s, 1 min, 2 min, … up to an hour.
pub fn pair_delay_secs(n: i64) -> i64 {
    if n < PAIR_FREE_FAILURES {
        return 0;
    }
    let doublings = u32::try_from(n - PAIR_FREE_FAILURES)
        .unwrap_or(u32::MAX)
        .min(16);
    PAIR_FIRST_DELAY_SECS
        .saturating_mul(1_i64 << doublings)
        .min(PAIR_MAX_DELAY_SECS)
}
/// Wrong receipt codes allowed per client address per window.
pub const RECEIPT_FAILURES: u32 = 10;
/// The window failures are counted in.
pub const FAILURE_WINDOW_MINUTES: i64 = 15;

/// Shared state of the staff side. Sign-in attempts are counted in the database (shared by
/// every server, [`attempts`]); wrong receipt codes in memory here.
#[derive(Debug)]
pub struct StaffRuntime {
    pub policy: Policy,
    pub clock: Clock,
    pub receipt_throttle: Throttle,
}

impl StaffRuntime {
    pub fn new() -> Self {
        Self::with_clock(Clock::default())
    }

    /// The staff side reading `clock` (the storage's, so both stamp the same time).
    pub fn with_clock(clock: Clock) -> Self {
        let window = TimeDelta::minutes(FAILURE_WINDOW_MINUTES);
        Self {
            // The built-in policy is checked by a unit test; an empty policy (deny all) is
            // the safe fallback should it ever fail to parse.
            policy: Policy::builtin().unwrap_or_else(|e| {
                tracing::error!(error = %e, "the access policy did not load; denying everything");
                Policy::deny_all()
            }),
            clock,
            receipt_throttle: Throttle::new(RECEIPT_FAILURES, window),
        }
    }
}

impl Default for StaffRuntime {
    fn default() -> Self {
        Self::new()
    }
}

/// The staff pages' compiled stylesheet (`assets/staff.min.css`: govuk-frontend and the
/// MOJ design system's components, `tools/build-assets/src/staff.scss`), embedded, at a staff
/// path of its own so the staff pages do not depend on how public assets are served.
async fn stylesheet() -> impl axum::response::IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../../../../../assets/staff.min.css"),
    )
}

/// The staff pages' script (`assets/staff.min.js`, `tools/build-assets/src/staff.js`): MOJ's
/// button menu and filter toggle, bundled with the govuk-frontend code they build on.
async fn script() -> impl axum::response::IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../../../../../assets/staff.min.js"),
    )
}

/// Every staff page route, and the public follow-up page.
pub fn router() -> Router<AppState> {
    let staff = Router::new()
        .route(
            "/staff",
            get(|| async { axum::response::Redirect::to("/staff/queue") }),
        )
        .route("/staff/sign-in", get(sign_in::show).post(sign_in::submit))
        .route("/staff/sign-out", post(sign_in::sign_out))
        .route(
            "/staff/sign-in/code",
            get(second_factor::show_verify).post(second_factor::verify),
        )
        .route(
            "/staff/sign-in/set-up",
            get(second_factor::show_enrol).post(second_factor::enrol),
        )
        .route(
            "/staff/password",
            get(sign_in::show_change_password).post(sign_in::change_password),
        )
        .route("/staff/queue", get(queue::show))
        // The information-sharing register (issue 17) and its CSV.
        .route("/staff/sharing", get(sharing::show))
        .route("/staff/sharing.csv", get(sharing::csv))
        // The team's email inbox (issue 15).
        // The service dashboards (issue 17).
        .route("/staff/dashboard", get(dashboard::show))
        .route("/staff/dashboard.csv", get(dashboard::csv))
        .route("/staff/dashboard/chart/{name}", get(dashboard::chart))
        .route("/staff/inbox", get(inbox::list))
        .route("/staff/inbox/{id}", get(inbox::show))
        .route(
            "/staff/inbox/{id}/attachments/{index}",
            get(inbox::attachment),
        )
        .route(
            "/staff/inbox/{id}/complete",
            get(inbox::complete_form).post(inbox::complete),
        )
        .route(
            "/staff/inbox/{id}/reject",
            get(inbox::reject_form).post(inbox::reject),
        )
        .route(
            "/staff/assets/staff.min.css",
            // Gzipped like the public assets: 120 KB of CSS is about 14 KB sent, which keeps
            // every staff page under the 150 KB budget.
            get(stylesheet).layer(CompressionLayer::new()),
        )
        .route(
            "/staff/assets/staff.min.js",
            get(script).layer(CompressionLayer::new()),
        )
        // A case: its pages (sub navigation), then one form per page (GET shows it, POST
        // does it).
        .route("/staff/cases/{reference}", get(case::show))
        .route("/staff/cases/{reference}/links", post(people::decide))
        .route("/staff/search", get(people::search_page))
        .route("/staff/cases/{reference}/referral", get(case::referral))
        .route(
            "/staff/cases/{reference}/screening",
            get(case::screening_page),
        )
        .route(
            "/staff/cases/{reference}/documents",
            get(case::documents_page),
        )
        .route(
            "/staff/cases/{reference}/chronology",
            get(case::chronology_page),
        )
        .route("/staff/cases/{reference}/family", get(case::family_copy))
        .route(
            "/staff/cases/{reference}/attachments/{attachment_id}",
            get(attachments::download),
        )
        .route(
            "/staff/cases/{reference}/band",
            get(case_actions::band_form).post(case_actions::band),
        )
        .route(
            "/staff/cases/{reference}/transitions",
            post(case_actions::transition),
        )
        .route(
            "/staff/cases/{reference}/transitions/{to}",
            get(case_actions::transition_form),
        )
        .route("/staff/cases/{reference}/notes", post(case_actions::note))
        .route(
            "/staff/cases/{reference}/legal-hold",
            get(legal_hold::form).post(legal_hold::place),
        )
        .route(
            "/staff/cases/{reference}/legal-hold/lift",
            post(legal_hold::lift),
        )
        // Subject access requests (issue 17).
        .route(
            "/staff/cases/{reference}/subject-access",
            get(subject_access::new_form).post(subject_access::create),
        )
        .route("/staff/subject-access", get(subject_access::list))
        .route("/staff/subject-access/{id}", get(subject_access::show))
        .route(
            "/staff/subject-access/{id}/items/{item}",
            get(subject_access::item_form).post(subject_access::decide_item),
        )
        .route(
            "/staff/subject-access/{id}/export/{format}",
            get(subject_access::export),
        )
        .route(
            "/staff/subject-access/{id}/{action}",
            get(subject_access::action_form).post(subject_access::action),
        )
        .route(
            "/staff/cases/{reference}/notes/new",
            get(case_actions::note_form),
        )
        .route(
            "/staff/cases/{reference}/allocation",
            get(case_actions::allocation_form).post(case_actions::allocate),
        )
        .route(
            "/staff/cases/{reference}/messages",
            post(case_actions::message),
        )
        .route(
            "/staff/cases/{reference}/messages/new",
            get(case_actions::message_form),
        )
        .route(
            "/staff/cases/{reference}/actions/{key}",
            get(case_actions::required_action_form).post(case_actions::required_action),
        )
        .route(
            "/staff/cases/{reference}/meetings/new",
            get(casework::new_meeting),
        )
        .route(
            "/staff/cases/{reference}/meetings",
            get(case::meetings).post(casework::record_meeting),
        )
        .route("/staff/cases/{reference}/plan", get(casework::show_plan))
        .route(
            "/staff/cases/{reference}/plan/goals",
            post(casework::add_goal),
        )
        .route(
            "/staff/cases/{reference}/plan/goals/new",
            get(casework::new_goal),
        )
        .route(
            "/staff/cases/{reference}/plan/actions",
            post(casework::add_action),
        )
        .route(
            "/staff/cases/{reference}/plan/actions/new",
            get(casework::new_action),
        )
        .route(
            "/staff/cases/{reference}/plan/actions/{id}",
            get(casework::change_action).post(casework::update_action),
        )
        .route(
            "/staff/cases/{reference}/plan/reviews",
            post(casework::add_review),
        )
        .route(
            "/staff/cases/{reference}/plan/reviews/new",
            get(casework::new_review),
        )
        .route(
            "/staff/cases/{reference}/onward-referrals",
            get(case::onward_referrals).post(onward::create),
        )
        .route(
            "/staff/cases/{reference}/onward-referrals/new/{kind}",
            get(onward::new_form),
        )
        .route(
            "/staff/cases/{reference}/onward-referrals/{id}/documents/{format}",
            get(onward::document),
        )
        .route(
            "/staff/cases/{reference}/onward-referrals/{id}/exports/{export_id}",
            get(onward::export_copy),
        )
        .route("/staff/admin/tokens", get(tokens::show))
        .route("/staff/admin/tokens/{id}/revoke", post(tokens::revoke))
        .route("/staff/admin/users", get(users::list))
        .route(
            "/staff/admin/users/new",
            get(account_admin::new_account).post(account_admin::create_account),
        )
        .route("/staff/admin/users/{id}", get(users::show))
        .route(
            "/staff/admin/users/{id}/details",
            post(account_admin::change_details),
        )
        .route("/staff/admin/users/{id}/reset", post(account_admin::reset))
        .route(
            "/staff/set-up/{token}",
            get(set_up::show).post(set_up::submit),
        )
        .route("/staff/admin/users/{id}/role", post(users::change_role))
        .route(
            "/staff/admin/users/{id}/deactivate",
            post(users::deactivate),
        )
        .route(
            "/staff/admin/users/{id}/reactivate",
            post(users::reactivate),
        )
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    let public = Router::new().route(
        "/follow-up",
        get(super::follow_up::show_start).post(super::follow_up::submit),
    );
    // Every error of these HTML routes is answered as the GOV.UK error page.
    staff
        .merge(public)
        .layer(axum::middleware::from_fn(error::html_errors))
}
