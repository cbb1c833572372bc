//! API tokens (`api_tokens`): stored as SHA-256 hashes, revocable.

use sqlx::{Row, query};
use tracing::instrument;

use super::audit::{AuditEntry, append_in};
use super::users::{StaffUser, user_from_row};
use super::{Storage, StorageError, timestamp};

/// A token to create (its hash; the token itself is shown once and never stored).
pub struct NewApiToken<'a> {
    pub id: String,
    pub user_id: &'a str,
    pub name: &'a str,
    pub token_hash: String,
    /// Who creates it, for the audit log.
    pub actor: &'a str,
}

/// A token as the admin page lists it (never the token or its hash).
#[derive(Debug, Clone)]
pub struct TokenSummary {
    pub id: String,
    pub name: String,
    pub email: String,
    pub scope_role: Option<String>,
    pub scope_team: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// How stale a token's `last_used_at` may be before a request records it again.
const LAST_USED_EVERY: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

impl Storage {
    /// Stores a token and audits it (`token.created`). The token is scoped to the account's
    /// role and team as they are now; it stops working if either changes.
    #[instrument(skip_all)]
    pub async fn create_token(&self, new: &NewApiToken<'_>) -> Result<(), StorageError> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        query(
            "INSERT INTO api_tokens (id, user_id, name, token_hash, created_at, updated_at,
                scope_role, scope_team)
             SELECT $1, $2, $3, $4, $5, $6, u.role, u.team FROM staff_users u WHERE u.id = $7",
        )
        .bind(&new.id)
        .bind(new.user_id)
        .bind(new.name)
        .bind(&new.token_hash)
        .bind(timestamp(now))
        .bind(timestamp(now))
        .bind(new.user_id)
        .execute(&mut *tx)
        .await
        .map_err(StorageError::from_write)?;
        let entry = AuditEntry::new(now, new.actor, "token.created", "api_token", &new.id);
        append_in(&mut tx, &self.audit, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The account a live token belongs to: `None` when the token is unknown or revoked, or
    /// the account is disabled. Records when the token was last used.
    #[instrument(skip_all)]
    pub async fn authenticate_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<StaffUser>, StorageError> {
        // Every API request starts here: retried once on a lost connection (the update
        // of `last_used_at` is idempotent too).
        self.read_retrying(move || self.authenticate_token_once(token_hash))
            .await
    }

    async fn authenticate_token_once(
        &self,
        token_hash: &str,
    ) -> Result<Option<StaffUser>, StorageError> {
        let row = query(
            "SELECT u.id, u.email, u.role, u.team, u.disabled, u.created_at, t.id,
                    u.display_name, u.phone, t.last_used_at
             FROM api_tokens t JOIN staff_users u ON u.id = t.user_id
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.disabled = 0
               AND (t.scope_role IS NULL
                    OR (t.scope_role = u.role AND COALESCE(t.scope_team, '') = COALESCE(u.team, '')))",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let user = user_from_row(&row)?;
        let token_id: String = row.try_get(6)?;
        // "Last used" to the minute: a write on every API request was a disk flush (on
        // SQLite, a turn at the write lock) for a request that otherwise only reads.
        let now = self.now();
        let stale = match row.try_get::<Option<String>, _>(9)? {
            Some(last) => match super::parse_timestamp("last_used_at", &last) {
                Ok(last) => now - last >= LAST_USED_EVERY,
                Err(_) => true,
            },
            None => true,
        };
        if stale {
            query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(timestamp(now))
                .bind(token_id)
                .execute(&self.pool)
                .await?;
        }
        Ok(Some(user))
    }

    /// Every token with its owner's email, newest first (the admin page).
    #[instrument(skip_all)]
    pub async fn list_tokens(&self) -> Result<Vec<TokenSummary>, StorageError> {
        let rows = query(
            "SELECT t.id, t.name, u.email, t.scope_role, t.scope_team, t.created_at,
                    t.last_used_at, t.revoked_at
             FROM api_tokens t JOIN staff_users u ON u.id = t.user_id
             ORDER BY t.created_at DESC, t.id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(TokenSummary {
                    id: row.try_get(0)?,
                    name: row.try_get(1)?,
                    email: row.try_get(2)?,
                    scope_role: row.try_get(3)?,
                    scope_team: row.try_get(4)?,
                    created_at: row.try_get(5)?,
                    last_used_at: row.try_get(6)?,
                    revoked_at: row.try_get(7)?,
                })
            })
            .collect()
    }

    /// Revokes a token by its id and audits it; returns whether a live token was revoked.
    #[instrument(skip_all)]
    pub async fn revoke_token_by_id(&self, id: &str, actor: &str) -> Result<bool, StorageError> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let done = query(
            "UPDATE api_tokens SET revoked_at = $1, updated_at = $2 WHERE id = $3 AND revoked_at IS NULL",
        )
        .bind(timestamp(now))
        .bind(timestamp(now))
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if done > 0 {
            let entry = AuditEntry::new(now, actor, "token.revoked", "api_token", id);
            append_in(&mut tx, &self.audit, &entry).await?;
        }
        tx.commit().await?;
        Ok(done > 0)
    }

    /// Revokes a token by its hash, audited as `actor` (`cli`, `user:<id>`); returns whether
    /// a live token was revoked.
    #[instrument(skip_all)]
    pub async fn revoke_token(&self, token_hash: &str, actor: &str) -> Result<bool, StorageError> {
        let row = query("SELECT id FROM api_tokens WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => {
                self.revoke_token_by_id(&row.try_get::<String, _>(0)?, actor)
                    .await
            }
            None => Ok(false),
        }
    }
}
