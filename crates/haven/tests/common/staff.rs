//! Staff-side helpers: accounts with real passwords, a cookie-keeping client for the staff
//! pages, and reading CSRF tokens and TOTP secrets out of pages.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use haven::access::Role;
use haven::auth::{password, totp};
use haven::crypto;
use haven::storage::sessions::SessionStage;
use haven::storage::users::NewStaffUser;
use haven::web::staff::session::{SESSION_COOKIE, new_session_id, session_hash};

use super::{TestApp, TestResponse};

/// Creates an account whose password is `password`; returns `(user id, email)`.
pub async fn account(app: &TestApp, role: Role, team: Option<&str>, pw: &str) -> (String, String) {
    let id = crypto::new_id();
    let email = format!("{}@example.org", crypto::random_symbols(8).to_lowercase());
    app.storage
        .create_user(&NewStaffUser {
            id: id.clone(),
            email: &email,
            role,
            team,
            password_hash: password::hash(pw).unwrap(),
            actor: "test",
        })
        .await
        .unwrap();
    (id, email)
}

/// A client that keeps cookies, as a browser would.
#[derive(Default, Clone)]
pub struct Browser {
    pub cookies: Vec<(String, String)>,
}

impl Browser {
    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, response: &TestResponse) {
        for value in response.headers.get_all(header::SET_COOKIE) {
            let text = value.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.retain(|(k, _)| k != name);
            if !value.is_empty() && !text.contains("Max-Age=0") {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    pub async fn get(&mut self, app: &TestApp, path: &str) -> TestResponse {
        let request = Request::get(path)
            .header(header::COOKIE, self.cookie_header())
            .body(Body::empty())
            .unwrap();
        let response = app.request(request).await;
        self.keep(&response);
        response
    }

    pub async fn post(&mut self, app: &TestApp, path: &str, form: &[(&str, &str)]) -> TestResponse {
        let body = form
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::COOKIE, self.cookie_header())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        let response = app.request(request).await;
        self.keep(&response);
        response
    }

    /// A browser already signed in as `user_id` (a session row made directly).
    pub async fn signed_in(app: &TestApp, user_id: &str) -> Self {
        let id = new_session_id();
        app.storage
            .create_session(
                &session_hash(&id),
                user_id,
                SessionStage::Active,
                app.state.staff.clock.now(),
            )
            .await
            .unwrap();
        Browser {
            cookies: vec![(SESSION_COOKIE.to_owned(), id)],
        }
    }

    /// The CSRF token of the page at `path`.
    pub async fn csrf(&mut self, app: &TestApp, path: &str) -> String {
        let page = self.get(app, path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.text());
        csrf_of(&page.text())
    }
}

/// Form encoding of one value.
pub fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The value of the first `name="csrf"` field of a page.
pub fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a CSRF field");
    let rest = &html[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// The TOTP secret shown on the enrolment page.
pub fn secret_of(html: &str) -> String {
    let at = html.find("id=\"totp-secret\">").expect("the secret");
    let rest = &html[at + "id=\"totp-secret\">".len()..];
    rest[..rest.find('<').unwrap()].replace(' ', "")
}

/// The code an authenticator app shows now (on the app's clock).
pub fn code_now(app: &TestApp, secret: &str) -> String {
    totp::code_at(secret, app.state.staff.clock.now()).unwrap()
}

/// Where a redirect goes.
pub fn location(response: &TestResponse) -> &str {
    response.header("location").unwrap_or_default()
}

/// A browser signed in as a new account of this role and team.
pub async fn signed_in(app: &TestApp, role: Role, team: Option<&str>) -> Browser {
    let (id, _) = account(app, role, team, "a-password-for-tests").await;
    Browser::signed_in(app, &id).await
}
