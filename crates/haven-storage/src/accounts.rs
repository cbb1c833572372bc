//! Staff accounts managed by an admin (the pages and `haven admin`): creating an account with
//! its display name and phone, resetting a password or second factor, and the one-time
//! set-up links (`staff_setup_links`) that hand an account over without any secret passing
//! through the admin.
//!
//! Every change here ends the account's sessions, is audited in the same transaction, and
//! keeps the admin's free-text reason sealed in `staff_permission_changes` (the audit entry
//! names that row, `change:<id>`, as [`super::permissions`] does). Only the SHA-256 of a
//! link's token is stored: the token has 256 random bits, so no key or salt is needed.

use chrono::{DateTime, Utc};
use sqlx::{Any, Row, Transaction, query};
use tracing::instrument;

use super::audit::{AuditEntry, append_in};
use super::users::{NewStaffUser, StaffUser, normalise_email};
use super::{Storage, StorageError, parse_timestamp, timestamp};
use crate::crypto;

/// Why a set-up link was made (what the admin did).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetupPurpose {
    /// A new account: choose a password, then set up an authenticator app.
    NewAccount,
    /// The password was reset: choose a new one (the authenticator app stays).
    ResetPassword,
    /// The second factor (app and recovery codes) was reset: enter the password, then set up
    /// a new authenticator app.
    ResetSecondFactor,
}

impl SetupPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            SetupPurpose::NewAccount => "new_account",
            SetupPurpose::ResetPassword => "reset_password",
            SetupPurpose::ResetSecondFactor => "reset_second_factor",
        }
    }

    fn parse(text: &str) -> Result<Self, StorageError> {
        match text {
            "new_account" => Ok(SetupPurpose::NewAccount),
            "reset_password" => Ok(SetupPurpose::ResetPassword),
            "reset_second_factor" => Ok(SetupPurpose::ResetSecondFactor),
            other => Err(StorageError::Corrupt {
                column: "purpose",
                reason: format!("unknown set-up link purpose `{other}`"),
            }),
        }
    }

    /// The audit action of the change that made the link.
    fn action(self) -> &'static str {
        match self {
            SetupPurpose::NewAccount => "user.created",
            SetupPurpose::ResetPassword => "user.password_reset",
            SetupPurpose::ResetSecondFactor => "user.second_factor_reset",
        }
    }

    /// The change in words, as the account page's history shows it.
    fn what(self) -> &'static str {
        match self {
            SetupPurpose::NewAccount => "Account created",
            SetupPurpose::ResetPassword => "Password reset",
            SetupPurpose::ResetSecondFactor => "Authenticator app and recovery codes reset",
        }
    }
}

/// A display name and work phone number (each optional, already trimmed and checked).
#[derive(Debug, Clone, Copy, Default)]
pub struct StaffDetails<'a> {
    pub display_name: Option<&'a str>,
    pub phone: Option<&'a str>,
}

/// How long a set-up link works.
pub const SETUP_LINK_HOURS: i64 = 48;

/// Longest display name, in characters.
pub const MAX_DISPLAY_NAME: usize = 100;
/// Longest phone number, in characters.
pub const MAX_PHONE: usize = 30;

/// A display name and phone as entered, trimmed and checked.
#[derive(Debug, Clone, Default)]
pub struct CheckedDetails {
    /// `None` when left empty.
    pub display_name: Option<String>,
    /// `None` when left empty.
    pub phone: Option<String>,
    /// `(field, message)` for each refused value.
    pub errors: Vec<(&'static str, &'static str)>,
}

/// Checks a display name (up to 100 characters, no control characters: it is printed in
/// documents) and a phone number (digits, spaces and `+ ( ) -`, at least 6 digits).
pub fn checked_details(display_name: &str, phone: &str) -> CheckedDetails {
    let mut checked = CheckedDetails::default();
    let name = display_name.trim();
    if name.chars().count() > MAX_DISPLAY_NAME {
        checked
            .errors
            .push(("display_name", "Name must be 100 characters or fewer"));
    } else if name.chars().any(char::is_control) {
        checked
            .errors
            .push(("display_name", "Name must be on one line"));
    } else if !name.is_empty() {
        checked.display_name = Some(name.to_owned());
    }
    let phone = phone.trim();
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    if phone.is_empty() {
    } else if phone.chars().count() > MAX_PHONE
        || digits < 6
        || !phone
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '(' | ')' | '-'))
    {
        checked.errors.push((
            "phone",
            "Enter a phone number, like 01642 123456 or +44 1642 123456",
        ));
    } else {
        checked.phone = Some(phone.to_owned());
    }
    checked
}

/// A set-up link to store: the SHA-256 of its token, and when it stops working.
pub struct NewSetupLink {
    pub id: String,
    pub token_hash: String,
    pub expires_at: DateTime<Utc>,
}

// Hand-written: even the token's hash stays out of logs.
impl std::fmt::Debug for NewSetupLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSetupLink")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl NewSetupLink {
    /// A fresh link valid until `expires_at`, and its token (to print or show once).
    pub fn generate(expires_at: DateTime<Utc>) -> (Self, String) {
        let token = new_setup_token();
        let link = NewSetupLink {
            id: crypto::new_id(),
            token_hash: setup_token_hash(&token),
            expires_at,
        };
        (link, token)
    }
}

/// A new set-up token: 52 Crockford symbols (260 random bits), lower-case for the URL.
pub fn new_setup_token() -> String {
    crypto::random_symbols(52).to_ascii_lowercase()
}

/// The stored form of a set-up token.
pub fn setup_token_hash(token: &str) -> String {
    crypto::sha256_hex(format!("staff-setup:{}", token.trim().to_ascii_lowercase()).as_bytes())
}

/// A stored set-up link with what its page needs to know about the account.
#[derive(Debug, Clone)]
pub struct SetupLink {
    pub id: String,
    pub purpose: SetupPurpose,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub user: StaffUser,
    /// The account's password is one nobody knows (new account, reset password): the link's
    /// page asks for a new one rather than the current one.
    pub needs_new_password: bool,
    /// Whether an authenticator app is set up (if not, setting one up comes next).
    pub has_second_factor: bool,
}

/// Why a set-up link cannot be used now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetupLinkState {
    Usable,
    Used,
    Expired,
    /// The account was deactivated since.
    Deactivated,
}

impl SetupLink {
    pub fn state(&self, now: DateTime<Utc>) -> SetupLinkState {
        if self.used_at.is_some() {
            SetupLinkState::Used
        } else if self.expires_at <= now {
            SetupLinkState::Expired
        } else if self.user.disabled {
            SetupLinkState::Deactivated
        } else {
            SetupLinkState::Usable
        }
    }
}

impl Storage {
    /// Creates an account whose password nobody knows (`new.password_hash` is a hash of a
    /// random one), with its details and a set-up link, audited (`user.created`) with the
    /// sealed reason. A taken email is [`StorageError::Conflict`].
    #[instrument(skip_all)]
    pub async fn create_account(
        &self,
        new: &NewStaffUser<'_>,
        details: StaffDetails<'_>,
        link: &NewSetupLink,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<StaffUser, StorageError> {
        let email = normalise_email(new.email);
        let change_id = crypto::new_id();
        let sealed = self.seal_reason(&change_id, reason)?;
        let mut tx = self.begin_write().await?;
        query(
            "INSERT INTO staff_users (id, email, role, team, password_hash, must_change_password,
                disabled, display_name, phone, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, 1, 0, $6, $7, $8, $9)",
        )
        .bind(&new.id)
        .bind(&email)
        .bind(new.role.as_str())
        .bind(new.team)
        .bind(&new.password_hash)
        .bind(details.display_name)
        .bind(details.phone)
        .bind(timestamp(now))
        .bind(timestamp(now))
        .execute(&mut *tx)
        .await
        .map_err(StorageError::from_write)?;
        let what = format!(
            "{} as {} ({})",
            SetupPurpose::NewAccount.what(),
            new.role,
            new.team.unwrap_or("all teams")
        );
        insert_link(
            &mut tx,
            &new.id,
            SetupPurpose::NewAccount,
            link,
            new.actor,
            now,
        )
        .await?;
        self.record_change(
            &mut tx,
            &new.id,
            SetupPurpose::NewAccount.action(),
            &what,
            (&change_id, sealed),
            new.actor,
            now,
        )
        .await?;
        tx.commit().await?;
        self.staff_changed();
        Ok(StaffUser {
            id: new.id.clone(),
            email,
            role: new.role,
            team: new.team.map(str::to_owned),
            disabled: false,
            created_at: now,
            display_name: details.display_name.map(str::to_owned),
            phone: details.phone.map(str::to_owned),
        })
    }

    /// Resets the account's password (to `unknown_password_hash`, a hash of a random password
    /// nobody knows) or its second factor (the authenticator app's secret and every recovery
    /// code), ends its sessions, replaces any unused set-up link with `link`, and audits it
    /// with the sealed reason. `false` when there is no such account (nothing is written).
    #[instrument(skip_all)]
    #[allow(clippy::too_many_arguments)] // each is one fact about the reset, named at the call
    pub async fn reset_account(
        &self,
        user_id: &str,
        purpose: SetupPurpose,
        unknown_password_hash: &str,
        link: &NewSetupLink,
        reason: Option<&str>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let change_id = crypto::new_id();
        let sealed = self.seal_reason(&change_id, reason)?;
        let mut tx = self.begin_write().await?;
        let changed = match purpose {
            SetupPurpose::ResetSecondFactor => {
                query(
                    "UPDATE staff_users SET totp_secret = NULL, totp_last_step = NULL,
                        updated_at = $1 WHERE id = $2",
                )
                .bind(timestamp(now))
                .bind(user_id)
                .execute(&mut *tx)
                .await?
            }
            SetupPurpose::ResetPassword | SetupPurpose::NewAccount => {
                query(
                    "UPDATE staff_users SET password_hash = $1, must_change_password = 1,
                        updated_at = $2 WHERE id = $3",
                )
                .bind(unknown_password_hash)
                .bind(timestamp(now))
                .bind(user_id)
                .execute(&mut *tx)
                .await?
            }
        }
        .rows_affected();
        if changed == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        if purpose == SetupPurpose::ResetSecondFactor {
            query("DELETE FROM staff_recovery_codes WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
        }
        // Whoever holds a session (perhaps the person who took the phone) is signed out.
        query("DELETE FROM staff_sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        insert_link(&mut tx, user_id, purpose, link, actor, now).await?;
        self.record_change(
            &mut tx,
            user_id,
            purpose.action(),
            purpose.what(),
            (&change_id, sealed),
            actor,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Sets the account's display name and phone (audited, `user.details_changed`). `false`
    /// when there is no such account.
    #[instrument(skip_all)]
    pub async fn set_staff_details(
        &self,
        user_id: &str,
        details: StaffDetails<'_>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let mut tx = self.begin_write().await?;
        let changed = query(
            "UPDATE staff_users SET display_name = $1, phone = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(details.display_name)
        .bind(details.phone)
        .bind(timestamp(now))
        .bind(user_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        let entry = AuditEntry::new(now, actor, "user.details_changed", "staff_user", user_id);
        append_in(&mut tx, &self.audit, &entry).await?;
        tx.commit().await?;
        self.staff_changed();
        Ok(true)
    }

    /// The set-up link whose token has this hash, with its account.
    #[instrument(skip_all)]
    pub async fn find_setup_link(
        &self,
        token_hash: &str,
    ) -> Result<Option<SetupLink>, StorageError> {
        let row = query(
            "SELECT u.id, u.email, u.role, u.team, u.disabled, u.created_at,
                    l.id, l.purpose, l.expires_at, l.used_at, u.must_change_password,
                    CAST(CASE WHEN u.totp_secret IS NULL THEN 0 ELSE 1 END AS BIGINT),
                    u.display_name, u.phone
             FROM staff_setup_links l JOIN staff_users u ON u.id = l.user_id
             WHERE l.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some(SetupLink {
            user: super::users::user_from_row(&row)?,
            id: row.try_get(6)?,
            purpose: SetupPurpose::parse(&row.try_get::<String, _>(7)?)?,
            expires_at: parse_timestamp("expires_at", &row.try_get::<String, _>(8)?)?,
            used_at: row
                .try_get::<Option<String>, _>(9)?
                .map(|t| parse_timestamp("used_at", &t))
                .transpose()?,
            needs_new_password: row.try_get::<i64, _>(10)? != 0,
            has_second_factor: row.try_get::<i64, _>(11)? != 0,
        }))
    }

    /// Uses the link `link_id` once: only if it is unused, unexpired and its account active.
    /// With `new_password_hash`, the account's password becomes that (no longer one to
    /// change). Ends the account's other sessions and audits it. `false` when the link could
    /// not be used (another request used it first, or it expired meanwhile).
    #[instrument(skip_all)]
    pub async fn use_setup_link(
        &self,
        link_id: &str,
        user_id: &str,
        new_password_hash: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let mut tx = self.begin_write().await?;
        let used = query(
            "UPDATE staff_setup_links SET used_at = $1, updated_at = $1
             WHERE id = $2 AND user_id = $3 AND used_at IS NULL AND expires_at > $1
               AND EXISTS (SELECT 1 FROM staff_users u WHERE u.id = $3 AND u.disabled = 0)",
        )
        .bind(timestamp(now))
        .bind(link_id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if used == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        if let Some(hash) = new_password_hash {
            query(
                "UPDATE staff_users SET password_hash = $1, must_change_password = 0,
                    updated_at = $2 WHERE id = $3",
            )
            .bind(hash)
            .bind(timestamp(now))
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        }
        query("DELETE FROM staff_sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let actor = format!("user:{user_id}");
        let mut entry =
            AuditEntry::new(now, &actor, "user.set_up_link_used", "staff_user", user_id);
        entry.reason = Some(format!("link:{link_id}"));
        append_in(&mut tx, &self.audit, &entry).await?;
        if new_password_hash.is_some() {
            let entry =
                AuditEntry::new(now, &actor, "user.password_changed", "staff_user", user_id);
            append_in(&mut tx, &self.audit, &entry).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    fn seal_reason(
        &self,
        change_id: &str,
        reason: Option<&str>,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        reason
            .map(|r| self.seal_text("staff_permission_changes", "reason", change_id, r))
            .transpose()
    }

    /// Records the change (with its sealed reason, when given) and its audit entry.
    #[allow(clippy::too_many_arguments)] // one row and one audit entry, each field named
    async fn record_change(
        &self,
        tx: &mut Transaction<'static, Any>,
        user_id: &str,
        action: &str,
        what: &str,
        (change_id, sealed_reason): (&str, Option<Vec<u8>>),
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let mut entry = AuditEntry::new(now, actor, action, "staff_user", user_id);
        if let Some(sealed) = sealed_reason {
            query(
                "INSERT INTO staff_permission_changes (id, user_id, actor, what, reason, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(change_id)
            .bind(user_id)
            .bind(actor)
            .bind(what)
            .bind(sealed)
            .bind(timestamp(now))
            .bind(timestamp(now))
            .execute(&mut **tx)
            .await
            .map_err(StorageError::from_write)?;
            entry.reason = Some(format!("change:{change_id}"));
        }
        append_in(tx, &self.audit, &entry).await?;
        Ok(())
    }
}

/// Stores `link` for the account, first marking any older unused link used: only the newest
/// link an admin handed out works.
async fn insert_link(
    tx: &mut Transaction<'static, Any>,
    user_id: &str,
    purpose: SetupPurpose,
    link: &NewSetupLink,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    query(
        "UPDATE staff_setup_links SET used_at = $1, updated_at = $1
         WHERE user_id = $2 AND used_at IS NULL",
    )
    .bind(timestamp(now))
    .bind(user_id)
    .execute(&mut **tx)
    .await?;
    query(
        "INSERT INTO staff_setup_links (id, user_id, purpose, token_hash, expires_at, created_by,
            created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&link.id)
    .bind(user_id)
    .bind(purpose.as_str())
    .bind(&link.token_hash)
    .bind(timestamp(link.expires_at))
    .bind(actor)
    .bind(timestamp(now))
    .bind(timestamp(now))
    .execute(&mut **tx)
    .await
    .map_err(StorageError::from_write)?;
    Ok(())
}
