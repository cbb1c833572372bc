//! API tokens (`api_tokens`): stored as SHA-256 hashes, revocable.

use chrono::Utc;
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

impl Storage {
    /// Stores a token and audits it (`token.created`).
    #[instrument(skip_all)]
    pub async fn create_token(&self, new: &NewApiToken<'_>) -> Result<(), StorageError> {
        let now = Utc::now();
        let mut tx = self.begin_write().await?;
        query(
            "INSERT INTO api_tokens (id, user_id, name, token_hash, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&new.id)
        .bind(new.user_id)
        .bind(new.name)
        .bind(&new.token_hash)
        .bind(timestamp(now))
        .bind(timestamp(now))
        .execute(&mut *tx)
        .await
        .map_err(StorageError::from_write)?;
        let entry = AuditEntry::new(now, new.actor, "token.created", "api_token", &new.id);
        append_in(&mut tx, self.kind, &entry).await?;
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
        let row = query(
            "SELECT u.id, u.email, u.role, u.team, u.disabled, u.created_at, t.id
             FROM api_tokens t JOIN staff_users u ON u.id = t.user_id
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.disabled = 0",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let user = user_from_row(&row)?;
        let token_id: String = row.try_get(6)?;
        query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(timestamp(Utc::now()))
            .bind(token_id)
            .execute(&self.pool)
            .await?;
        Ok(Some(user))
    }

    /// Revokes a token by its hash and audits it (`token.revoked`); returns whether a live
    /// token was revoked. `actor` is who revokes it (`cli`, `user:<id>`).
    #[instrument(skip_all)]
    pub async fn revoke_token(&self, token_hash: &str, actor: &str) -> Result<bool, StorageError> {
        let now = Utc::now();
        let mut tx = self.begin_write().await?;
        let row = query("SELECT id FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL")
            .bind(token_hash)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(false);
        };
        let token_id: String = row.try_get(0)?;
        query("UPDATE api_tokens SET revoked_at = $1, updated_at = $2 WHERE id = $3")
            .bind(timestamp(now))
            .bind(timestamp(now))
            .bind(&token_id)
            .execute(&mut *tx)
            .await?;
        let entry = AuditEntry::new(now, actor, "token.revoked", "api_token", &token_id);
        append_in(&mut tx, self.kind, &entry).await?;
        tx.commit().await?;
        Ok(true)
    }
}
