//! Permission changes to staff accounts: role and team, deactivation and reactivation. Each
//! ends every session of the account at once, and is audited in the same transaction; the
//! free-text reason given on the admin page is sealed in `staff_permission_changes` (the
//! audit entry names that row, `change:<id>`, so the audit log itself holds no free text).

use chrono::{DateTime, Utc};
use sqlx::{Row, query};
use tracing::instrument;

use super::audit::{AuditEntry, append_in};
use super::users::{StaffUser, user_from_row};
use super::{Storage, StorageError, flag, parse_timestamp, timestamp};
use crate::crypto;
use haven_core::role::Role;

/// What changes about an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessChange<'a> {
    /// A new role and team (`None`: no team, for roles that see every team).
    Role { role: Role, team: Option<&'a str> },
    /// Deactivated (`false`: cannot sign in, tokens stop working) or reactivated (`true`).
    Active(bool),
}

impl AccessChange<'_> {
    /// The audit action.
    pub fn action(&self) -> &'static str {
        match self {
            AccessChange::Role { .. } => "user.role_changed",
            AccessChange::Active(false) => "user.deactivated",
            AccessChange::Active(true) => "user.reactivated",
        }
    }

    /// The change as a short code (the audit entry's reason, and the history's "what").
    pub fn code(&self) -> String {
        match self {
            AccessChange::Role { role, team } => {
                format!("{role} {}", team.unwrap_or("all teams"))
            }
            AccessChange::Active(false) => "deactivated".to_owned(),
            AccessChange::Active(true) => "reactivated".to_owned(),
        }
    }
}

/// One recorded permission change with its reason (opened).
#[derive(Debug, Clone)]
pub struct PermissionChange {
    pub id: String,
    /// Who made it (`user:<id>`, `cli`).
    pub actor: String,
    /// [`AccessChange::code`].
    pub what: String,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// An account as the admin page lists it.
#[derive(Debug, Clone)]
pub struct AccountSummary {
    pub user: StaffUser,
    /// Whether an authenticator app is set up.
    pub second_factor: bool,
}

impl Storage {
    /// Applies `change` to the account `user_id`, ends all its sessions, records `reason`
    /// (sealed) when given, and audits it, all in one transaction. `false` when there is no
    /// such account (nothing is written).
    #[instrument(skip_all)]
    pub async fn change_access(
        &self,
        user_id: &str,
        change: &AccessChange<'_>,
        reason: Option<&str>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let change_id = crypto::new_id();
        let sealed_reason = reason
            .map(|r| self.seal_text("staff_permission_changes", "reason", &change_id, r))
            .transpose()?;
        let mut tx = self.begin_write().await?;
        let changed = match change {
            AccessChange::Role { role, team } => {
                query("UPDATE staff_users SET role = $1, team = $2, updated_at = $3 WHERE id = $4")
                    .bind(role.as_str())
                    .bind(*team)
                    .bind(timestamp(now))
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?
            }
            AccessChange::Active(active) => {
                query("UPDATE staff_users SET disabled = $1, updated_at = $2 WHERE id = $3")
                    .bind(flag(!active))
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
        // Sessions end at once: the next request signs in again under the new rules.
        query("DELETE FROM staff_sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        // A token scoped to the old role or team is revoked for good: setting the role back
        // must not bring back a token that stopped working when it changed (the same reason
        // as deactivation below). Tokens already scoped to the new role and team stay.
        if let AccessChange::Role { role, team } = change {
            query(
                "UPDATE api_tokens SET revoked_at = $1, updated_at = $2
                 WHERE user_id = $3 AND revoked_at IS NULL
                   AND (scope_role IS NULL OR scope_role <> $4
                        OR COALESCE(scope_team, '') <> $5)",
            )
            .bind(timestamp(now))
            .bind(timestamp(now))
            .bind(user_id)
            .bind(role.as_str())
            .bind(team.unwrap_or(""))
            .execute(&mut *tx)
            .await?;
        }
        // A deactivated account's API tokens are revoked for good: reactivating the account
        // must not bring back a token that may have been copied while it was away.
        if matches!(change, AccessChange::Active(false)) {
            query(
                "UPDATE api_tokens SET revoked_at = $1, updated_at = $1
                 WHERE user_id = $2 AND revoked_at IS NULL",
            )
            .bind(timestamp(now))
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        }
        let mut code = change.code();
        if let Some(sealed) = sealed_reason {
            query(
                "INSERT INTO staff_permission_changes (id, user_id, actor, what, reason, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&change_id)
            .bind(user_id)
            .bind(actor)
            .bind(&code)
            .bind(sealed)
            .bind(timestamp(now))
            .bind(timestamp(now))
            .execute(&mut *tx)
            .await
            .map_err(StorageError::from_write)?;
            code = format!("{code} change:{change_id}");
        }
        let mut entry = AuditEntry::new(now, actor, change.action(), "staff_user", user_id);
        entry.reason = Some(code);
        append_in(&mut tx, &self.audit, &entry).await?;
        tx.commit().await?;
        self.staff_changed();
        Ok(true)
    }

    /// The permission changes made to `user_id` from the admin page, newest first.
    #[instrument(skip_all)]
    pub async fn permission_changes(
        &self,
        user_id: &str,
    ) -> Result<Vec<PermissionChange>, StorageError> {
        let rows = query(
            "SELECT id, actor, what, reason, created_at FROM staff_permission_changes
             WHERE user_id = $1 ORDER BY created_at DESC, id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get(0)?;
                let reason: Vec<u8> = row.try_get(3)?;
                Ok(PermissionChange {
                    reason: self.open_text("staff_permission_changes", "reason", &id, &reason)?,
                    actor: row.try_get(1)?,
                    what: row.try_get(2)?,
                    at: parse_timestamp("created_at", &row.try_get::<String, _>(4)?)?,
                    id,
                })
            })
            .collect()
    }

    /// Every staff account with whether it has a second factor, by email.
    #[instrument(skip_all)]
    pub async fn account_summaries(&self) -> Result<Vec<AccountSummary>, StorageError> {
        let rows = query(
            "SELECT id, email, role, team, disabled, created_at,
                    CAST(CASE WHEN totp_secret IS NULL THEN 0 ELSE 1 END AS BIGINT),
                    display_name, phone
             FROM staff_users ORDER BY email",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AccountSummary {
                    user: user_from_row(row)?,
                    second_factor: row.try_get::<i64, _>(6)? != 0,
                })
            })
            .collect()
    }

    /// The account with this id.
    #[instrument(skip_all)]
    pub async fn account_summary(
        &self,
        user_id: &str,
    ) -> Result<Option<AccountSummary>, StorageError> {
        let row = query(
            "SELECT id, email, role, team, disabled, created_at,
                    CAST(CASE WHEN totp_secret IS NULL THEN 0 ELSE 1 END AS BIGINT),
                    display_name, phone
             FROM staff_users WHERE id = $1",
        )
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(AccountSummary {
                user: user_from_row(&row)?,
                second_factor: row.try_get::<i64, _>(6)? != 0,
            })
        })
        .transpose()
    }
}
