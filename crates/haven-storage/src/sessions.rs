//! Staff sign-in state: password hashes, the TOTP secret (sealed at rest, like a pending one
//! being enrolled) and last accepted step, recovery codes (keyed hashes), and server-side
//! sessions (`staff_sessions`, keyed by a hash of the session id).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Row, query};
use tracing::instrument;

use super::audit::{AuditEntry, append_in};
use super::permissions::AccessChange;
use super::users::{StaffUser, normalise_email, user_from_row};
use super::{Storage, StorageError, parse_timestamp, timestamp};
use crate::crypto;
use haven_core::role::Role;

/// How far sign-in has got in a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStage {
    /// Password accepted; the TOTP code (or a recovery code) is next.
    SecondFactor,
    /// Both factors done (or no TOTP yet), but the one-time password must be changed.
    ChangePassword,
    /// The account has no second factor yet: enrolment is next.
    Enrol,
    /// Signed in.
    Active,
}

impl SessionStage {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStage::SecondFactor => "second_factor",
            SessionStage::ChangePassword => "change_password",
            SessionStage::Enrol => "enrol",
            SessionStage::Active => "active",
        }
    }

    fn parse(text: &str) -> Result<Self, StorageError> {
        Ok(match text {
            "second_factor" => SessionStage::SecondFactor,
            "change_password" => SessionStage::ChangePassword,
            "enrol" => SessionStage::Enrol,
            "active" => SessionStage::Active,
            other => {
                return Err(StorageError::Corrupt {
                    column: "stage",
                    reason: format!("unknown stage `{other}`"),
                });
            }
        })
    }
}

/// What sign-in needs to know about an account.
pub struct LoginRecord {
    pub user: StaffUser,
    pub password_hash: String,
    pub must_change_password: bool,
    pub totp_secret: Option<String>,
    pub totp_last_step: Option<i64>,
}

// Hand-written: the hash and the TOTP secret never reach a log line.
impl std::fmt::Debug for LoginRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRecord")
            .field("user", &self.user.id)
            .finish_non_exhaustive()
    }
}

/// A stored session with its account.
pub struct SessionRecord {
    pub login: LoginRecord,
    pub stage: SessionStage,
    pub pending_totp_secret: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// Failed password attempts on the account between its previous sign-in and this one.
    pub signin_notice: Option<super::throttle::FailedSignins>,
}

impl std::fmt::Debug for SessionRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionRecord")
            .field("user", &self.login.user.id)
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}

macro_rules! login_columns {
    () => {
        "u.id, u.email, u.role, u.team, u.disabled, u.created_at, u.password_hash, \
         u.must_change_password, u.totp_secret, u.totp_last_step"
    };
}

impl Storage {
    /// Reads a login record, opening the sealed TOTP secret.
    fn login_from_row(&self, row: &AnyRow) -> Result<LoginRecord, StorageError> {
        let user = user_from_row(row)?;
        let totp_secret = row
            .try_get::<Option<Vec<u8>>, _>(8)?
            .map(|stored| self.open_text("staff_users", "totp_secret", &user.id, &stored))
            .transpose()?;
        Ok(LoginRecord {
            user,
            password_hash: row.try_get(6)?,
            must_change_password: row.try_get::<i64, _>(7)? != 0,
            totp_secret,
            totp_last_step: row.try_get(9)?,
        })
    }

    /// The sign-in record of the account with this email.
    #[instrument(skip_all)]
    pub async fn find_login(&self, email: &str) -> Result<Option<LoginRecord>, StorageError> {
        let row = query(concat!(
            "SELECT ",
            login_columns!(),
            ", u.display_name, u.phone FROM staff_users u WHERE u.email = $1"
        ))
        .bind(normalise_email(email))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(|row| self.login_from_row(row)).transpose()
    }

    /// Starts a session (`id_hash` is the SHA-256 of the cookie's session id).
    #[instrument(skip_all)]
    pub async fn create_session(
        &self,
        id_hash: &str,
        user_id: &str,
        stage: SessionStage,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        query(
            "INSERT INTO staff_sessions (id_hash, user_id, stage, created_at, last_seen_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id_hash)
        .bind(user_id)
        .bind(stage.as_str())
        .bind(timestamp(now))
        .bind(timestamp(now))
        .bind(timestamp(now))
        .execute(&self.writer)
        .await
        .map_err(StorageError::from_write)?;
        Ok(())
    }

    /// The session with this id hash, with its account.
    #[instrument(skip_all)]
    pub async fn find_session(&self, id_hash: &str) -> Result<Option<SessionRecord>, StorageError> {
        let row = query(concat!(
            "SELECT ",
            login_columns!(),
            ", s.stage, s.pending_totp_secret, s.created_at, s.last_seen_at, s.signin_notice,
               u.display_name, u.phone
             FROM staff_sessions s JOIN staff_users u ON u.id = s.user_id
             WHERE s.id_hash = $1"
        ))
        .bind(id_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let pending_totp_secret = row
            .try_get::<Option<Vec<u8>>, _>(11)?
            .map(|stored| self.open_text("staff_sessions", "pending_totp_secret", id_hash, &stored))
            .transpose()?;
        Ok(Some(SessionRecord {
            login: self.login_from_row(&row)?,
            stage: SessionStage::parse(&row.try_get::<String, _>(10)?)?,
            pending_totp_secret,
            created_at: parse_timestamp("created_at", &row.try_get::<String, _>(12)?)?,
            last_seen_at: parse_timestamp("last_seen_at", &row.try_get::<String, _>(13)?)?,
            signin_notice: super::throttle::FailedSignins::from_stored(
                row.try_get::<Option<String>, _>(14)?.as_deref(),
            ),
        }))
    }

    /// Records activity on a session (the idle timeout counts from here).
    #[instrument(skip_all)]
    pub async fn touch_session(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        query("UPDATE staff_sessions SET last_seen_at = $1, updated_at = $2 WHERE id_hash = $3")
            .bind(timestamp(now))
            .bind(timestamp(now))
            .bind(id_hash)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Moves a session to another sign-in stage (and sets or clears a pending TOTP secret,
    /// sealed at rest under the session's id hash).
    #[instrument(skip_all)]
    pub async fn set_session_stage(
        &self,
        id_hash: &str,
        stage: SessionStage,
        pending_totp_secret: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let pending_totp_secret = pending_totp_secret
            .map(|secret| self.seal_text("staff_sessions", "pending_totp_secret", id_hash, secret))
            .transpose()?;
        query(
            "UPDATE staff_sessions SET stage = $1, pending_totp_secret = $2, updated_at = $3
             WHERE id_hash = $4",
        )
        .bind(stage.as_str())
        .bind(pending_totp_secret)
        .bind(timestamp(now))
        .bind(id_hash)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Ends one session.
    #[instrument(skip_all)]
    pub async fn delete_session(&self, id_hash: &str) -> Result<(), StorageError> {
        query("DELETE FROM staff_sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Sets a new password, ends every session of the account, and audits it.
    #[instrument(skip_all)]
    pub async fn change_password(
        &self,
        user_id: &str,
        password_hash: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let mut tx = self.begin_write().await?;
        query(
            "UPDATE staff_users SET password_hash = $1, must_change_password = 0, updated_at = $2
             WHERE id = $3",
        )
        .bind(password_hash)
        .bind(timestamp(now))
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        query("DELETE FROM staff_sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let entry = AuditEntry::new(now, actor, "user.password_changed", "staff_user", user_id);
        append_in(&mut tx, &self.audit, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes an account's role and team, ends its sessions, and audits it (the command
    /// line's `set-role`; the admin page gives a reason through
    /// [`Storage::change_access`], the same code path).
    #[instrument(skip_all)]
    pub async fn change_role(
        &self,
        user_id: &str,
        role: Role,
        team: Option<&str>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        self.change_access(
            user_id,
            &AccessChange::Role { role, team },
            None,
            actor,
            now,
        )
        .await
    }

    /// Records that the code of `step` was used. `false` when that step (or a later one)
    /// was already used: the code is a replay and must be refused.
    #[instrument(skip_all)]
    pub async fn accept_totp_step(&self, user_id: &str, step: i64) -> Result<bool, StorageError> {
        let done = query(
            "UPDATE staff_users SET totp_last_step = $1
             WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $3)",
        )
        .bind(step)
        .bind(user_id)
        .bind(step)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Completes enrolment: the account's TOTP secret (sealed at rest), the step of the
    /// confirming code, and fresh recovery codes (keyed hashes; earlier codes are dropped).
    #[instrument(skip_all)]
    pub async fn enrol_totp(
        &self,
        user_id: &str,
        secret: &str,
        step: i64,
        recovery_hashes: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let sealed = self.seal_text("staff_users", "totp_secret", user_id, secret)?;
        let mut tx = self.begin_write().await?;
        query(
            "UPDATE staff_users SET totp_secret = $1, totp_last_step = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(sealed)
        .bind(step)
        .bind(timestamp(now))
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        query("DELETE FROM staff_recovery_codes WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        for hash in recovery_hashes {
            query(
                "INSERT INTO staff_recovery_codes (id, user_id, code_hash, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(crypto::new_id())
            .bind(user_id)
            .bind(hash)
            .bind(timestamp(now))
            .bind(timestamp(now))
            .execute(&mut *tx)
            .await
            .map_err(StorageError::from_write)?;
        }
        let entry = AuditEntry::new(
            now,
            format!("user:{user_id}"),
            "user.second_factor_enrolled",
            "staff_user",
            user_id,
        );
        append_in(&mut tx, &self.audit, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Uses up a recovery code; `false` when it is unknown or was used before.
    #[instrument(skip_all)]
    pub async fn use_recovery_code(
        &self,
        user_id: &str,
        code_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let done = query(
            "UPDATE staff_recovery_codes SET used_at = $1, updated_at = $2
             WHERE user_id = $3 AND code_hash = $4 AND used_at IS NULL",
        )
        .bind(timestamp(now))
        .bind(timestamp(now))
        .bind(user_id)
        .bind(code_hash)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Every staff account, by email (to name people in chronologies and to allocate).
    #[instrument(skip_all)]
    pub async fn all_staff(&self) -> Result<Vec<StaffUser>, StorageError> {
        let rows = query(
            "SELECT id, email, role, team, disabled, created_at, display_name, phone
             FROM staff_users ORDER BY email",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user_from_row).collect()
    }

    /// [`Storage::all_staff`] for naming people on a busy page (the queue: its workers filter
    /// and each row's allocated worker), read at most [`STAFF_DIRECTORY_FRESH_FOR`] ago. A
    /// change made through this process is seen at once; one made by another server or a CLI
    /// command within that time. Never for deciding what someone may do.
    pub async fn staff_directory(&self) -> Result<Arc<Vec<StaffUser>>, StorageError> {
        if let Some(staff) = self.staff_directory.get(STAFF_DIRECTORY_FRESH_FOR) {
            return Ok(staff);
        }
        let staff = Arc::new(self.all_staff().await?);
        self.staff_directory.set(staff.clone());
        Ok(staff)
    }

    /// Forgets the remembered [`Storage::staff_directory`]: an account was added or changed.
    pub(crate) fn staff_changed(&self) {
        self.staff_directory.forget();
    }
}

/// How out of date [`Storage::staff_directory`] may be for changes made elsewhere.
const STAFF_DIRECTORY_FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(10);
