//! What every page needs besides its own content: the CSRF token, where assets live, the
//! phase banner, and the service's emergency message and help line.

use haven_core::definition::ServiceDefinition;
use serde::Serialize;

use crate::urls;

/// Per-request settings of a page, filled in by the server.
#[derive(Debug, Clone, Serialize)]
pub struct PageContext {
    /// Value of the hidden `csrf_token` field of every form.
    pub csrf_token: String,
    /// Prefix of the static assets, ending in `/` (`/assets/`).
    pub asset_path: String,
    /// Phase banner tag ("Beta"); none when `None`.
    pub phase: Option<String>,
    /// Offer "Save and come back later" on question pages and check answers (SECOS).
    pub save_and_return: bool,
    /// Where `haven.js` sends free text for the live anonymity check; `None` turns it off.
    pub anonymity_check_url: Option<String>,
    /// Where "Exit this page" goes: a plain navigation, so Haven's CSP (`'self'`) allows it.
    pub exit_url: String,
    /// Links in the footer (privacy notice, accessibility statement…).
    pub footer_links: Vec<Link>,
    /// The follow-up page's full address (`{public_url}/follow-up`), written out on the
    /// confirmation so it can be noted down; the footer links to `/follow-up` on every page.
    pub follow_up_url: String,
}

/// A link: text and address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    pub text: String,
    pub href: String,
}

impl PageContext {
    /// Defaults for Haven's public pages with this CSRF token.
    pub fn new(csrf_token: impl Into<String>) -> Self {
        Self {
            csrf_token: csrf_token.into(),
            asset_path: "/assets/".to_owned(),
            phase: None,
            save_and_return: false,
            anonymity_check_url: Some("/api/v1/anonymity-check".to_owned()),
            exit_url: "https://www.bbc.co.uk/weather".to_owned(),
            footer_links: Vec::new(),
            follow_up_url: urls::FOLLOW_UP.to_owned(),
        }
    }
}

/// The NSPCC helpline, offered on every page to someone not ready to report.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Helpline {
    pub label: String,
    pub contact: String,
    pub tel: Option<String>,
    pub url: Option<String>,
}

/// The built-in NSPCC helpline, used when a service has no `nspcc_helpline` signpost.
const NSPCC_NUMBER: &str = "0808 800 5000";
const NSPCC_URL: &str =
    "https://www.nspcc.org.uk/keeping-children-safe/our-services/nspcc-helpline/";

pub(crate) fn helpline(def: Option<&ServiceDefinition>) -> Helpline {
    match def.and_then(|d| d.signpost("nspcc_helpline")) {
        Some(s) => Helpline {
            label: s.label.clone(),
            contact: s.contact.clone(),
            tel: tel_link(&s.contact),
            url: s.url.clone(),
        },
        None => Helpline {
            label: "NSPCC helpline".to_owned(),
            contact: NSPCC_NUMBER.to_owned(),
            tel: tel_link(NSPCC_NUMBER),
            url: Some(NSPCC_URL.to_owned()),
        },
    }
}

/// `tel:` address of a contact that is a phone number ("0808 800 5000", "999").
pub(crate) fn tel_link(contact: &str) -> Option<String> {
    let digits: String = contact.chars().filter(|c| !c.is_whitespace()).collect();
    let is_phone = !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit() || c == '+')
        && digits.len() >= 3;
    is_phone.then(|| format!("tel:{digits}"))
}

/// The layout's data, serialised for `layout.html`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Layout {
    pub ctx: PageContext,
    pub title: String,
    pub has_errors: bool,
    pub service_name: String,
    pub service_url: String,
    pub emergency_message: Option<String>,
    pub back_link: Option<String>,
    pub helpline: Helpline,
}

impl Layout {
    pub(crate) fn new(
        ctx: &PageContext,
        def: Option<&ServiceDefinition>,
        page_title: &str,
    ) -> Self {
        let service_name = def.map_or_else(|| "Haven".to_owned(), |d| d.name.clone());
        let title = if page_title.is_empty() || page_title == service_name {
            service_name.clone()
        } else {
            format!("{page_title} \u{2013} {service_name}")
        };
        Self {
            ctx: ctx.clone(),
            title,
            has_errors: false,
            service_url: def.map_or_else(|| "/".to_owned(), |d| urls::start(&d.id)),
            service_name,
            emergency_message: def.and_then(|d| d.emergency_message.clone()),
            back_link: None,
            helpline: helpline(def),
        }
    }

    pub(crate) fn with_errors(mut self, has_errors: bool) -> Self {
        self.has_errors = has_errors;
        self
    }

    pub(crate) fn with_back(mut self, href: Option<String>) -> Self {
        self.back_link = href;
        self
    }
}
