//! Staff accounts (`staff_users`).

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Row, query};
use tracing::instrument;

use super::audit::{AuditEntry, append_in};
use super::{Storage, StorageError, parse_timestamp, timestamp};
use haven_core::role::Role;

/// A staff account (without its password hash or second-factor secret).
#[derive(Debug, Clone)]
pub struct StaffUser {
    pub id: String,
    /// Always lower-case.
    pub email: String,
    pub role: Role,
    pub team: Option<String>,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    /// How the person is named in documents and emails ("Sam Taylor"), when given.
    pub display_name: Option<String>,
    /// A work phone number for documents, when given.
    pub phone: Option<String>,
}

impl StaffUser {
    /// An active triage officer, caseworker or manager of `team`: who may be allocated its
    /// cases and own their plan actions.
    pub fn works_cases_of(&self, team: &str) -> bool {
        !self.disabled && self.team.as_deref() == Some(team) && self.role.works_cases()
    }

    /// The person's name for pages, emails and documents: the display name, or the email
    /// for an account that has none yet.
    pub fn name(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.email)
    }

    /// How a document signs off for this person: "Sam Taylor (sam@secos.test, 01642 000000)",
    /// or only the email (and phone) when there is no display name.
    pub fn signature(&self) -> String {
        let contact = match &self.phone {
            Some(phone) => format!("{}, {phone}", self.email),
            None => self.email.clone(),
        };
        match &self.display_name {
            Some(name) => format!("{name} ({contact})"),
            None if self.phone.is_some() => contact,
            None => self.email.clone(),
        }
    }
}

/// A staff account to create.
pub struct NewStaffUser<'a> {
    pub id: String,
    pub email: &'a str,
    pub role: Role,
    pub team: Option<&'a str>,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Who creates it, for the audit log (`cli`, `user:<id>`).
    pub actor: &'a str,
}

/// Emails are compared and stored lower-case and trimmed.
pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Whether `email` (already normalised) is one the mailer can send to (haven-core's address check:
/// staff are emailed alerts), with a dot in its domain.
pub fn valid_email(email: &str) -> bool {
    email.len() <= 254
        && haven_core::answers::is_email_address(email)
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
}

impl Storage {
    /// Creates a staff account and audits it (`user.created`). A taken email is
    /// [`StorageError::Conflict`].
    #[instrument(skip_all)]
    pub async fn create_user(&self, new: &NewStaffUser<'_>) -> Result<StaffUser, StorageError> {
        let now = self.now();
        let email = normalise_email(new.email);
        let mut tx = self.begin_write().await?;
        query(
            "INSERT INTO staff_users (id, email, role, team, password_hash, must_change_password,
                disabled, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, 1, 0, $6, $7)",
        )
        .bind(&new.id)
        .bind(&email)
        .bind(new.role.as_str())
        .bind(new.team)
        .bind(&new.password_hash)
        .bind(timestamp(now))
        .bind(timestamp(now))
        .execute(&mut *tx)
        .await
        .map_err(StorageError::from_write)?;
        let entry = AuditEntry::new(now, new.actor, "user.created", "staff_user", &new.id);
        append_in(&mut tx, &self.audit, &entry).await?;
        tx.commit().await?;
        self.staff_changed();
        Ok(StaffUser {
            id: new.id.clone(),
            email,
            role: new.role,
            team: new.team.map(str::to_owned),
            disabled: false,
            created_at: now,
            display_name: None,
            phone: None,
        })
    }

    /// The account with this email (any case).
    #[instrument(skip_all)]
    pub async fn find_user_by_email(&self, email: &str) -> Result<Option<StaffUser>, StorageError> {
        let row = query(
            "SELECT id, email, role, team, disabled, created_at, display_name, phone
             FROM staff_users WHERE email = $1",
        )
        .bind(normalise_email(email))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// How many staff accounts exist (zero on a fresh install).
    #[instrument(skip_all)]
    pub async fn count_users(&self) -> Result<i64, StorageError> {
        let row = query("SELECT COUNT(*) FROM staff_users")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get(0)?)
    }
}

/// Reads `id, email, role, team, disabled, created_at` (by position) and `display_name,
/// phone` (by name, wherever the query puts them).
pub(crate) fn user_from_row(row: &AnyRow) -> Result<StaffUser, StorageError> {
    let role: String = row.try_get(2)?;
    Ok(StaffUser {
        id: row.try_get(0)?,
        email: row.try_get(1)?,
        role: role
            .parse()
            .map_err(|e: haven_core::role::UnknownRole| StorageError::Corrupt {
                column: "role",
                reason: e.to_string(),
            })?,
        team: row.try_get(3)?,
        disabled: row.try_get::<i64, _>(4)? != 0,
        created_at: parse_timestamp("created_at", &row.try_get::<String, _>(5)?)?,
        display_name: row.try_get("display_name")?,
        phone: row.try_get("phone")?,
    })
}
