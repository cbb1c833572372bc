//! Compact screening (issue 11; migration `20250101000026_compact_screening.sql`).
//!
//! What intake showed for a referral (its screening: band, reasons, required actions,
//! signposts, explanation) is a pure function of the answers, the day the referral was
//! received (in the UK) and the definition that screened it. So a new referral does not
//! store a sealed copy of the result: it names the definition in `screening_rules` (one row
//! per distinct definition, keyed by the SHA-256 of its JSON, so an edit without a new
//! `screening.version` is a new row) and the result is rebuilt from the answers whenever
//! the referral is read, with those very rules.
//!
//! Exactness is checked when writing, not assumed: [`Storage::sealed_row`] rebuilds the
//! result from the stored definition and the answers as they will be read back, and keeps
//! the full sealed result whenever the two differ (or the definition could not be stored).
//! Referrals written before compaction keep their sealed result and read as before.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use haven_core::calendar::london_date;
use haven_core::definition::ServiceDefinition;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{Row, query};

use super::{Storage, StorageError, timestamp};

/// The definitions that screen referrals, parsed once per process: by row id, the row id of
/// each digest, and the row id this process uses for each (service, rules version) it
/// screened with (so a submission neither serialises nor hashes its definition again).
#[derive(Debug, Default)]
pub(crate) struct RulesCache {
    by_id: Mutex<HashMap<i64, Arc<ServiceDefinition>>>,
    by_digest: Mutex<HashMap<String, i64>>,
    by_version: Mutex<HashMap<(String, String), i64>>,
}

impl RulesCache {
    fn get(&self, id: i64) -> Option<Arc<ServiceDefinition>> {
        self.by_id
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .cloned()
    }

    fn put(&self, id: i64, digest: String, def: ServiceDefinition) {
        self.by_id
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, Arc::new(def));
        self.by_digest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(digest, id);
    }

    fn id_of_version(&self, service: &str, version: &str) -> Option<i64> {
        self.by_version
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(service.to_owned(), version.to_owned()))
            .copied()
    }

    fn remember_version(&self, service: &str, version: &str, id: i64) {
        self.by_version
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((service.to_owned(), version.to_owned()), id);
    }

    fn id_of(&self, digest: &str) -> Option<i64> {
        self.by_digest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(digest)
            .copied()
    }
}

fn corrupt(reason: impl ToString) -> StorageError {
    StorageError::Corrupt {
        column: "screening",
        reason: reason.to_string(),
    }
}

/// The screening of `answers` received at `received_at` under `def`, as the API's
/// `screening` object (what intake computed and showed).
pub(crate) fn screen(
    def: &ServiceDefinition,
    answers: &Value,
    received_at: DateTime<Utc>,
) -> Result<Value, StorageError> {
    let result = haven_core::screening::screen(def, answers, london_date(received_at))
        .map_err(|errors| corrupt(format!("{} answers no longer screen", errors.len())))?;
    serde_json::to_value(result).map_err(corrupt)
}

impl Storage {
    /// The `screening_rules` row of this definition (stored on first use, then remembered),
    /// for [`crate::referrals::NewReferral::screening_rules`]. `None` for a definition
    /// without screening rules, or one that does not read back as itself (its referrals then
    /// keep their full sealed screening).
    ///
    /// Within one process the row is remembered by service and rules version, since the
    /// loaded definitions do not change while it runs. Were two different definitions with
    /// the same version used by one process (tests do), the second's referrals would be
    /// checked against the first's rules when written ([`Storage::sealed_row`]) and kept
    /// whole wherever the two differ: what is read back is still what intake showed.
    pub async fn screening_rules_id(
        &self,
        def: &ServiceDefinition,
    ) -> Result<Option<i64>, StorageError> {
        let Some(rules) = &def.screening else {
            return Ok(None);
        };
        if let Some(id) = self.screening_rules.id_of_version(&def.id, &rules.version) {
            return Ok(Some(id));
        }
        let json = serde_json::to_string(def).map_err(corrupt)?;
        let digest = hex::encode(Sha256::digest(json.as_bytes()));
        if let Some(id) = self.screening_rules.id_of(&digest) {
            self.screening_rules
                .remember_version(&def.id, &rules.version, id);
            return Ok(Some(id));
        }
        let Ok(parsed) = serde_json::from_str::<ServiceDefinition>(&json) else {
            tracing::warn!(service = %def.id, "definition does not read back: screening stored in full");
            return Ok(None);
        };
        let mut tx = self.begin_write().await?;
        query(
            "INSERT INTO screening_rules (service, rules_version, digest, definition, created_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (digest) DO NOTHING",
        )
        .bind(&def.id)
        .bind(&rules.version)
        .bind(&digest)
        .bind(&json)
        .bind(timestamp(self.now()))
        .execute(&mut *tx)
        .await
        .map_err(StorageError::from_write)?;
        let id: i64 = query("SELECT id FROM screening_rules WHERE digest = $1")
            .bind(&digest)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        tx.commit().await?;
        self.screening_rules.put(id, digest, parsed);
        self.screening_rules
            .remember_version(&def.id, &rules.version, id);
        Ok(Some(id))
    }

    /// Makes sure the definition of `screening_rules` row `id` is parsed and remembered
    /// (before reading a referral that names it).
    pub(crate) async fn load_screening_rules(&self, id: i64) -> Result<(), StorageError> {
        if self.screening_rules.get(id).is_some() {
            return Ok(());
        }
        let row = query("SELECT digest, definition FROM screening_rules WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| corrupt(format!("screening rules {id} missing")))?;
        let digest: String = row.try_get(0)?;
        let json: String = row.try_get(1)?;
        let def: ServiceDefinition = serde_json::from_str(&json).map_err(corrupt)?;
        self.screening_rules.put(id, digest, def);
        Ok(())
    }

    /// The screening of a referral stored compactly: rebuilt from its answers with the
    /// rules it names (loaded by [`Storage::load_screening_rules`]).
    pub(crate) fn rebuilt_screening(
        &self,
        rules_id: i64,
        answers: &Value,
        received_at: DateTime<Utc>,
    ) -> Result<Value, StorageError> {
        let def = self
            .screening_rules
            .get(rules_id)
            .ok_or_else(|| corrupt(format!("screening rules {rules_id} not loaded")))?;
        screen(&def, answers, received_at)
    }

    /// Whether `screening` (what intake computed) is exactly what reading the referral will
    /// rebuild from `answers` with the rules of row `rules_id`: both compared as they are
    /// read back (JSON text parsed again), so a compact row can never show other words.
    pub(crate) fn rebuilds_exactly(
        &self,
        rules_id: i64,
        answers: &Value,
        received_at: DateTime<Utc>,
        screening: &Value,
    ) -> bool {
        let Some(def) = self.screening_rules.get(rules_id) else {
            return false;
        };
        let read_back = |v: &Value| serde_json::from_str::<Value>(&v.to_string()).ok();
        let (Some(answers), Some(shown)) = (read_back(answers), read_back(screening)) else {
            return false;
        };
        // Timestamps are stored with microseconds: the day is the one read back.
        let received_at = super::parse_timestamp("received_at", &timestamp(received_at));
        let Ok(received_at) = received_at else {
            return false;
        };
        screen(&def, &answers, received_at).is_ok_and(|rebuilt| rebuilt == shown)
    }
}
