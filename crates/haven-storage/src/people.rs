//! The person index (`person_records`, `person_tokens`, `person_links`): keyed blind tokens
//! of each referral's normalised young person, their sealed identity, and staff decisions
//! on possible links.
//!
//! Nothing here is plaintext: a token is HMAC-SHA256 (16 bytes, hex) of a blocking or
//! search key (`haven_core::people`) under a key derived from the server secret key for this
//! purpose only; the identity is sealed under the case key and opened only to score a
//! candidate, in memory.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use haven_core::people::{Identity, Params};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::{Any, AssertSqlSafe, Row, Transaction, query};
use tracing::instrument;
use zeroize::Zeroizing;

use super::audit::{AuditEntry, append_in};
use super::referrals::{placeholders, statement_chunks};
use super::{Storage, StorageError, timestamp};
use crate::crypto::SecretKey;
use crate::crypto::sealed::CaseKey;

const INDEX_KEY_LABEL: &[u8] = b"haven person index v1";

/// The row of `match_params` the person matcher's weights are stored in.
const MATCHER: &str = "person";

/// Referrals a token may be held by and still find candidates (see
/// [`Storage::person_candidates`]): above the few hundred children born on one day of a
/// million-person index, below a common first name's phonetic code (tens of thousands).
pub const COMMON_TOKEN: i64 = 2000;

/// Most referrals found through rarer tokens whose common tokens are then counted (see
/// [`Storage::person_candidates`]), and the sample of each token when all are common.
const SHORTLIST: i64 = 100;

/// How long fitted weights read from the database are used before they are read again.
const PARAMS_FRESH_FOR: Duration = Duration::from_secs(60);

/// The fitted weights as last read, and when (see [`Storage::match_params`]).
pub type ParamsCache = crate::fresh::Fresh<Params>;

/// What probing found of each token: held by more than [`COMMON_TOKEN`] referrals or not,
/// remembered so that later queries need not read up to two thousand index entries again
/// to learn it.
///
/// A token only loses holders when a case is destroyed, so one found common stays common for
/// any purpose here (were it to fall under the line, it would only count for a shortlist
/// instead of finding one). A token found rare may become common as referrals arrive, so
/// those are forgotten every [`RARE_FRESH_FOR`]: until then it is read in full, a few
/// thousand entries at worst. Both sets are bounded; once full, further tokens are probed
/// each time.
#[derive(Debug, Default)]
pub struct CommonTokens(Mutex<TokenClasses>);

#[derive(Debug, Default)]
struct TokenClasses {
    common: std::collections::HashSet<String>,
    rare: std::collections::HashSet<String>,
    rare_since: Option<Instant>,
}

/// The most common tokens remembered (about 3 MB): those of a million-person index are the
/// popular names' codes and their combinations, far fewer.
const COMMON_TOKENS_HELD: usize = 50_000;
/// The most rare tokens remembered (about 10 MB): the dates of birth, postcodes and names
/// searched and matched lately.
const RARE_TOKENS_HELD: usize = 100_000;
/// How long a token found rare is taken to be so.
const RARE_FRESH_FOR: Duration = Duration::from_secs(600);

impl CommonTokens {
    /// Of `tokens`, those known to be common, and those not known either way.
    fn classify(&self, tokens: &[String]) -> (Vec<String>, Vec<String>) {
        let Ok(mut held) = self.0.lock() else {
            return (Vec::new(), tokens.to_vec());
        };
        if held
            .rare_since
            .is_some_and(|since| since.elapsed() >= RARE_FRESH_FOR)
        {
            held.rare.clear();
            held.rare_since = None;
        }
        let mut common = Vec::new();
        let mut unknown = Vec::new();
        for token in tokens {
            if held.common.contains(token) {
                common.push(token.clone());
            } else if !held.rare.contains(token) {
                unknown.push(token.clone());
            }
        }
        (common, unknown)
    }

    fn remember(&self, probed: &[String], common: &[String]) {
        let Ok(mut held) = self.0.lock() else {
            return;
        };
        for token in probed {
            if common.contains(token) {
                if held.common.len() < COMMON_TOKENS_HELD {
                    held.common.insert(token.clone());
                }
            } else if held.rare.len() < RARE_TOKENS_HELD {
                held.rare_since.get_or_insert_with(Instant::now);
                held.rare.insert(token.clone());
            }
        }
    }
}

/// Fitted weights as stored, with when and on how many candidate pairs they were fitted.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredParams {
    pub params: Params,
    pub pairs: i64,
    pub fitted_at: DateTime<Utc>,
}

/// The blind-index key, derived from the server secret key. A new server secret gives a new
/// key (and key id): `haven match reindex` rebuilds the records made under another.
#[derive(Clone)]
pub struct PersonIndexKey {
    /// HMAC-SHA256 already keyed: cloning it skips hashing the key pads again, which halves
    /// the cost of each token (a referral has dozens; `haven match bench` hashes 100,000s).
    keyed: Hmac<Sha256>,
    id: String,
}

impl std::fmt::Debug for PersonIndexKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersonIndexKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl PersonIndexKey {
    pub fn derive(secret: &SecretKey) -> Self {
        let key = Zeroizing::new(secret.derive(INDEX_KEY_LABEL));
        let keyed = keyed_mac(&key);
        let id = hex::encode(&mac(&keyed, b"haven person index key id")[..8]);
        Self { keyed, id }
    }

    /// The key's fingerprint, stored with each record.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The token of one plaintext key (`gf:JTN:ANL`).
    pub fn token(&self, plain: &str) -> String {
        hex::encode(&mac(&self.keyed, plain.as_bytes())[..16])
    }
}

/// HMAC-SHA256 keyed with `key`: a key shorter than SHA-256's 64-byte block is padded with
/// zeros by HMAC's definition, so the block is given padded (no fallible key length).
fn keyed_mac(key: &[u8; 32]) -> Hmac<Sha256> {
    let mut block = Zeroizing::new([0u8; 64]);
    block[..32].copy_from_slice(key);
    <Hmac<Sha256> as hmac::digest::KeyInit>::new((&*block).into())
}

fn mac(keyed: &Hmac<Sha256>, data: &[u8]) -> [u8; 32] {
    let mut m = keyed.clone();
    m.update(data);
    m.finalize().into_bytes().into()
}

/// A referral's index entry, made before its transaction (tokens computed, identity sealed).
pub(crate) struct PersonRow {
    pub key_id: String,
    pub identity: Vec<u8>,
    pub tokens: Vec<String>,
}

/// A referral that shares tokens with another: a candidate to score.
#[derive(Debug, Clone)]
pub struct PersonCandidate {
    pub referral_id: String,
    pub reference: String,
    pub service: String,
    pub team: String,
    pub status: String,
    pub received_at: DateTime<Utc>,
    /// How many of the asked tokens it has.
    pub shared: i64,
}

/// A staff decision on a pair of referrals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonLink {
    /// The other referral of the pair.
    pub other: String,
    pub confirmed: bool,
    pub decided_by: String,
    pub decided_at: DateTime<Utc>,
}

impl Storage {
    /// The blind-index key.
    pub fn person_index_key(&self) -> &PersonIndexKey {
        &self.people_key
    }

    /// The tokens of plaintext keys under the current key.
    pub fn person_tokens(&self, plain: &[String]) -> Vec<String> {
        let mut tokens: Vec<String> = plain.iter().map(|p| self.people_key.token(p)).collect();
        tokens.sort();
        tokens.dedup();
        tokens
    }

    /// The index entry of a referral's identity (tokens of its blocking and search keys,
    /// the identity sealed under the case key), or `None` when it has nothing to index.
    pub(crate) fn person_row(
        &self,
        case: &CaseKey,
        referral_id: &str,
        identity: &Identity,
    ) -> Result<Option<PersonRow>, StorageError> {
        if identity.is_empty() {
            return Ok(None);
        }
        let mut plain = identity.blocking_keys();
        plain.extend(identity.search_keys());
        let json = serde_json::to_value(identity).map_err(|e| StorageError::Corrupt {
            column: "identity",
            reason: e.to_string(),
        })?;
        let sealed =
            self.seal_json_in_case(case, "person_records", "identity", referral_id, &json)?;
        Ok(Some(PersonRow {
            key_id: self.people_key.id().to_owned(),
            identity: sealed,
            tokens: self.person_tokens(&plain),
        }))
    }

    /// Indexes (again) one referral's young person: its old tokens go, the new ones and its
    /// sealed identity are written, in one transaction. An empty identity only removes.
    #[instrument(skip_all)]
    pub async fn index_person(
        &self,
        referral_id: &str,
        identity: &Identity,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let case = self.case_key(referral_id).await?;
        let row = match &case {
            Some(case) => self.person_row(case, referral_id, identity)?,
            None => None,
        };
        let mut tx = self.begin_write().await?;
        query("DELETE FROM person_tokens WHERE referral_id = $1")
            .bind(referral_id)
            .execute(&mut *tx)
            .await?;
        query("DELETE FROM person_records WHERE referral_id = $1")
            .bind(referral_id)
            .execute(&mut *tx)
            .await?;
        if let Some(row) = &row {
            let indexed_at = timestamp(now);
            insert_people(&mut tx, &[(referral_id, row, indexed_at.as_str())], false).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Ids of referrals after `after` (id order), `limit` at a time, with whether each is
    /// indexed under the current key: the reindex command's pages.
    pub async fn person_reindex_page(
        &self,
        after: &str,
        limit: i64,
    ) -> Result<Vec<(String, bool)>, StorageError> {
        let rows = query(
            "SELECT r.id, p.key_id FROM referrals r
             LEFT JOIN person_records p ON p.referral_id = r.id
             WHERE r.id > $1 ORDER BY r.id LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let key: Option<String> = row.try_get(1)?;
                Ok((
                    row.try_get(0)?,
                    key.as_deref() == Some(self.people_key.id()),
                ))
            })
            .collect()
    }

    /// `n` indexed referrals drawn at random (`haven dev match-latency`'s samples).
    pub async fn person_sample(&self, n: i64) -> Result<Vec<String>, StorageError> {
        query("SELECT referral_id FROM person_records ORDER BY random() LIMIT $1")
            .bind(n)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| Ok(row.try_get(0)?))
            .collect()
    }

    /// How many young people are indexed.
    pub async fn person_count(&self) -> Result<i64, StorageError> {
        Ok(query("SELECT COUNT(*) FROM person_records")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
    }

    /// Leaves one index record to be matched again by the "known elsewhere" matcher, as a
    /// new referral's is (`haven dev match-latency` times that match).
    pub async fn mark_person_unmatched(&self, referral_id: &str) -> Result<(), StorageError> {
        query("UPDATE person_records SET elsewhere_checked_at = NULL WHERE referral_id = $1")
            .bind(referral_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// How many referrals there are (the reindex command's progress).
    pub async fn referral_count(&self) -> Result<i64, StorageError> {
        Ok(query("SELECT COUNT(*) FROM referrals")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
    }

    /// Referrals holding any of `tokens` (other than `exclude`), most shared tokens first
    /// (ties: the most recently received), at most `limit` (ties at the limit are broken by
    /// id: arbitrary but stable).
    ///
    /// Candidates are found through the tokens held by at most [`COMMON_TOKEN`] referrals;
    /// a more common one (a frequent phonetic code, a popular first name with a popular
    /// family name) only adds to the count of shared tokens of those found, as record
    /// linkage tools skip over-large blocks. So one new referral or one search reads a few
    /// thousand index entries however large the index grows, instead of every posting of
    /// its most common token. Common tokens are counted only for a shortlist of those found
    /// (the most rare tokens shared, at least [`SHORTLIST`]). When every token is that
    /// common (one popular name searched alone) the first [`SHORTLIST`] postings of each are
    /// the candidates: an arbitrary but bounded sample.
    #[instrument(skip_all)]
    pub async fn person_candidates(
        &self,
        tokens: &[String],
        exclude: Option<&str>,
        limit: i64,
    ) -> Result<Vec<PersonCandidate>, StorageError> {
        if tokens.is_empty() {
            return Ok(Vec::new());
        }
        let tokens = &tokens[..tokens.len().min(200)];
        let common = self.common_person_tokens(tokens).await?;
        let (common, rare): (Vec<&String>, Vec<&String>) =
            tokens.iter().partition(|t| common.contains(t));
        let mut bound: Vec<&str> = Vec::with_capacity(tokens.len() + 2);
        let found = if rare.is_empty() {
            let slices: Vec<String> = common
                .iter()
                .enumerate()
                .map(|(i, _)| {
                    format!(
                        "SELECT referral_id FROM (SELECT referral_id FROM person_tokens
                         WHERE token = ${} LIMIT {SHORTLIST}) AS s{i}",
                        i + 1
                    )
                })
                .collect();
            bound.extend(common.iter().map(|t| t.as_str()));
            format!(
                "SELECT DISTINCT referral_id, 0 AS n FROM ({}) AS sampled",
                slices.join(" UNION ALL ")
            )
        } else {
            bound.extend(rare.iter().map(|t| t.as_str()));
            let grouped = format!(
                "SELECT referral_id, COUNT(*) AS n FROM person_tokens
                 WHERE token IN {} GROUP BY referral_id",
                placeholders(0, rare.len())
            );
            if common.is_empty() {
                grouped
            } else {
                // The common tokens are counted for a shortlist only: those sharing most
                // rare tokens (with a name typed or indexed, its combinations with the date
                // of birth and postcode are rare tokens, so the same child is among them).
                format!(
                    "SELECT referral_id, n FROM ({grouped}) g
                     ORDER BY n DESC, referral_id LIMIT {}",
                    limit.max(SHORTLIST)
                )
            }
        };
        // Common tokens count for the referrals found, each a lookup of the primary key:
        // on SQLite by a join (a correlated subquery took ten times as long there), on
        // PostgreSQL by a correlated subquery (a join may be planned as a hash join, which
        // reads every posting of the common tokens).
        let (shared, also, grouped) = if common.is_empty() {
            ("f.n".to_owned(), String::new(), "")
        } else {
            let list = placeholders(bound.len(), common.len());
            bound.extend(common.iter().map(|t| t.as_str()));
            if self.kind() == super::DatabaseKind::Postgres {
                (
                    format!(
                        "f.n + (SELECT COUNT(*) FROM person_tokens c
                               WHERE c.referral_id = f.referral_id AND c.token IN {list})"
                    ),
                    String::new(),
                    "",
                )
            } else {
                (
                    "f.n + COUNT(c.token)".to_owned(),
                    format!(
                        "LEFT JOIN person_tokens c
                         ON c.referral_id = f.referral_id AND c.token IN {list}"
                    ),
                    "GROUP BY f.referral_id, f.n",
                )
            }
        };
        // The best `limit` are chosen before the referrals are read, so only their rows are
        // (ties there by id, which is random; among those chosen, the most recent first).
        let sql = format!(
            "SELECT r.id, r.reference, r.service, r.team, r.status, r.received_at, m.shared
             FROM (SELECT f.referral_id, {shared} AS shared
                   FROM ({found}) f {also}
                   WHERE f.referral_id <> ${}
                   {grouped}
                   ORDER BY shared DESC, f.referral_id
                   LIMIT ${}) m
             JOIN referrals r ON r.id = m.referral_id
             ORDER BY m.shared DESC, r.received_at DESC",
            bound.len() + 1,
            bound.len() + 2
        );
        let mut q = query(AssertSqlSafe(sql));
        for token in bound {
            q = q.bind(token);
        }
        let rows = q
            .bind(exclude.unwrap_or(""))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(PersonCandidate {
                    referral_id: row.try_get(0)?,
                    reference: row.try_get(1)?,
                    service: row.try_get(2)?,
                    team: row.try_get(3)?,
                    status: row.try_get(4)?,
                    received_at: super::parse_timestamp(
                        "received_at",
                        &row.try_get::<String, _>(5)?,
                    )?,
                    shared: row.try_get(6)?,
                })
            })
            .collect()
    }

    /// Which of `tokens` more than [`COMMON_TOKEN`] referrals hold, in one statement that
    /// reads at most that many index entries of each (whether its next one exists).
    async fn common_person_tokens(&self, tokens: &[String]) -> Result<Vec<String>, StorageError> {
        let (mut common, unknown) = self.common_tokens.classify(tokens);
        if unknown.is_empty() {
            return Ok(common);
        }
        let found = self.probe_common_tokens(&unknown).await?;
        self.common_tokens.remember(&unknown, &found);
        common.extend(found);
        Ok(common)
    }

    /// Which of `tokens` more than [`COMMON_TOKEN`] referrals hold, asked of the database.
    async fn probe_common_tokens(&self, tokens: &[String]) -> Result<Vec<String>, StorageError> {
        let probes: Vec<String> = (0..tokens.len())
            .map(|i| {
                format!(
                    "SELECT token FROM (SELECT token FROM person_tokens WHERE token = ${}
                     LIMIT 1 OFFSET {COMMON_TOKEN}) AS p{i}",
                    i + 1
                )
            })
            .collect();
        let mut q = query(AssertSqlSafe(probes.join(" UNION ALL ")));
        for token in tokens {
            q = q.bind(token);
        }
        q.fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| Ok(row.try_get(0)?))
            .collect()
    }

    /// The sealed identities of these referrals, opened in memory (a referral with none, or
    /// whose case key was destroyed, is left out).
    #[instrument(skip_all)]
    pub async fn person_identities(
        &self,
        referral_ids: &[String],
    ) -> Result<Vec<(String, Identity)>, StorageError> {
        if referral_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT p.referral_id, p.identity, k.key_id, k.wrapped
             FROM person_records p JOIN case_keys k ON k.referral_id = p.referral_id
             WHERE p.referral_id IN {}",
            placeholders(0, referral_ids.len())
        );
        let mut q = query(AssertSqlSafe(sql));
        for id in referral_ids {
            q = q.bind(id);
        }
        let rows = q.fetch_all(&self.pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let id: String = row.try_get(0)?;
            let (Some(key_id), Some(wrapped)) = (
                row.try_get::<Option<String>, _>(2)?,
                row.try_get::<Option<Vec<u8>>, _>(3)?,
            ) else {
                continue;
            };
            let case = self.unwrap_case_key(&id, &key_id, &wrapped)?;
            let json = self.open_json_in_case(
                Some(&case),
                "person_records",
                "identity",
                &id,
                &row.try_get::<Vec<u8>, _>(1)?,
            )?;
            let identity: Identity =
                serde_json::from_value(json).map_err(|e| StorageError::Corrupt {
                    column: "identity",
                    reason: e.to_string(),
                })?;
            out.push((id, identity));
        }
        Ok(out)
    }

    /// Records a staff decision on a possible link (replacing any earlier one), with an
    /// audit entry on each referral (`person_link.confirmed` / `person_link.rejected`).
    #[instrument(skip_all)]
    pub async fn decide_person_link(
        &self,
        one: &str,
        other: &str,
        confirmed: bool,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let (a, b) = if one < other {
            (one, other)
        } else {
            (other, one)
        };
        let decision = if confirmed { "confirmed" } else { "rejected" };
        let mut tx = self.begin_write().await?;
        query("DELETE FROM person_links WHERE referral_a = $1 AND referral_b = $2")
            .bind(a)
            .bind(b)
            .execute(&mut *tx)
            .await?;
        query(
            "INSERT INTO person_links (referral_a, referral_b, decision, decided_by, decided_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(a)
        .bind(b)
        .bind(decision)
        .bind(actor)
        .bind(timestamp(at))
        .execute(&mut *tx)
        .await
        .map_err(StorageError::from_write)?;
        let action = format!("person_link.{decision}");
        for id in [one, other] {
            let entry = AuditEntry::new(at, actor, &action, "referral", id);
            append_in(&mut tx, &self.audit, &entry).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The weights the matcher scores with: the fitted ones stored by `haven match reindex`
    /// (or `fit`), else `Params::default()`. Read from the database at most once a minute
    /// per server (one small row); a refit through this handle is used at once.
    pub async fn match_params(&self) -> Result<Params, StorageError> {
        if let Some(params) = self.match_params.get(PARAMS_FRESH_FOR) {
            return Ok(params);
        }
        let params = self
            .stored_match_params()
            .await?
            .map(|s| s.params)
            .unwrap_or_default();
        self.match_params.set(params.clone());
        Ok(params)
    }

    /// The stored fitted weights, if any (weights that do not fit today's comparison levels,
    /// stored by an older version, count as none).
    pub async fn stored_match_params(&self) -> Result<Option<StoredParams>, StorageError> {
        let row = query("SELECT params, pairs, fitted_at FROM match_params WHERE matcher = $1")
            .bind(MATCHER)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let params: Params = serde_json::from_str(&row.try_get::<String, _>(0)?).map_err(|e| {
            StorageError::Corrupt {
                column: "match_params.params",
                reason: e.to_string(),
            }
        })?;
        if !params.is_well_formed() {
            tracing::warn!(
                "stored matcher weights do not fit the comparison levels; using the defaults"
            );
            return Ok(None);
        }
        Ok(Some(StoredParams {
            params,
            pairs: row.try_get(1)?,
            fitted_at: super::parse_timestamp("fitted_at", &row.try_get::<String, _>(2)?)?,
        }))
    }

    /// Stores newly fitted weights (replacing any), audited `person_index.fitted` (the
    /// number of pairs only), and uses them at once through this handle.
    pub async fn save_match_params(
        &self,
        params: &Params,
        pairs: usize,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let json = serde_json::to_string(params).map_err(|e| StorageError::Corrupt {
            column: "match_params.params",
            reason: e.to_string(),
        })?;
        let pairs = i64::try_from(pairs).unwrap_or(i64::MAX);
        let mut tx = self.begin_write().await?;
        query("DELETE FROM match_params WHERE matcher = $1")
            .bind(MATCHER)
            .execute(&mut *tx)
            .await?;
        query(
            "INSERT INTO match_params (matcher, params, pairs, fitted_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(MATCHER)
        .bind(json)
        .bind(pairs)
        .bind(timestamp(at))
        .execute(&mut *tx)
        .await
        .map_err(StorageError::from_write)?;
        let entry = AuditEntry::new(
            at,
            actor,
            "person_index.fitted",
            "match_params",
            &pairs.to_string(),
        );
        append_in(&mut tx, &self.audit, &entry).await?;
        tx.commit().await?;
        self.match_params.set(params.clone());
        Ok(())
    }

    /// Indexed identities after `after` (referral id order), `limit` at a time, opened in
    /// memory: the pages weights are fitted from. Two statements a page.
    pub async fn person_identity_page(
        &self,
        after: &str,
        limit: i64,
    ) -> Result<(Vec<(String, Identity)>, Option<String>), StorageError> {
        let ids: Vec<String> = query(
            "SELECT referral_id FROM person_records WHERE referral_id > $1
             ORDER BY referral_id LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;
        let last = ids.last().cloned();
        Ok((self.person_identities(&ids).await?, last))
    }

    /// Staff decisions on links of this referral.
    pub async fn person_links(&self, referral_id: &str) -> Result<Vec<PersonLink>, StorageError> {
        let rows = query(
            "SELECT referral_a, referral_b, decision, decided_by, decided_at FROM person_links
             WHERE referral_a = $1 OR referral_b = $1",
        )
        .bind(referral_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let a: String = row.try_get(0)?;
                let b: String = row.try_get(1)?;
                Ok(PersonLink {
                    other: if a == referral_id { b } else { a },
                    confirmed: row.try_get::<String, _>(2)? == "confirmed",
                    decided_by: row.try_get(3)?,
                    decided_at: super::parse_timestamp(
                        "decided_at",
                        &row.try_get::<String, _>(4)?,
                    )?,
                })
            })
            .collect()
    }
}

/// A case linked to another by a confirmed staff decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedCase {
    pub referral_id: String,
    pub reference: String,
    pub service: String,
    pub team: String,
    pub status: String,
}

/// A referral whose young person still has to be matched for the "known elsewhere" alert.
#[derive(Debug, Clone)]
pub struct Unmatched {
    pub referral_id: String,
    pub reference: String,
    pub service: String,
    pub team: String,
    /// When its index record was written: the match is recorded only for that record.
    pub indexed_at: String,
}

/// A "known elsewhere" alert of a case: the other team's case it matched, by its service and
/// status (whether it is still open is the caller's to decide, from the definition).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownElsewhereRow {
    /// The reference of the case the alert is for.
    pub reference: String,
    pub other_service: String,
    pub other_team: String,
    pub other_status: String,
}

impl Storage {
    /// The cases confirmed (by a member of staff) as about the same young person as this
    /// one, in one query.
    #[instrument(skip_all)]
    pub async fn confirmed_links(
        &self,
        referral_id: &str,
    ) -> Result<Vec<LinkedCase>, StorageError> {
        let rows = query(
            "SELECT r.id, r.reference, r.service, r.team, r.status
             FROM person_links l
             JOIN referrals r ON r.id = CASE WHEN l.referral_a = $1 THEN l.referral_b
                                             ELSE l.referral_a END
             WHERE (l.referral_a = $1 OR l.referral_b = $1) AND l.decision = 'confirmed'
             ORDER BY r.received_at, r.id",
        )
        .bind(referral_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(LinkedCase {
                    referral_id: row.try_get(0)?,
                    reference: row.try_get(1)?,
                    service: row.try_get(2)?,
                    team: row.try_get(3)?,
                    status: row.try_get(4)?,
                })
            })
            .collect()
    }

    /// Index records not yet matched for the "known elsewhere" alert, oldest first, at most
    /// `limit` (the partial index `person_records_unchecked_idx` holds only those).
    #[instrument(skip_all)]
    pub async fn unmatched_people(&self, limit: i64) -> Result<Vec<Unmatched>, StorageError> {
        let rows = query(
            "SELECT p.referral_id, r.reference, r.service, r.team, p.indexed_at
             FROM person_records p JOIN referrals r ON r.id = p.referral_id
             WHERE p.elsewhere_checked_at IS NULL
             ORDER BY p.indexed_at, p.referral_id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Unmatched {
                    referral_id: row.try_get(0)?,
                    reference: row.try_get(1)?,
                    service: row.try_get(2)?,
                    team: row.try_get(3)?,
                    indexed_at: row.try_get(4)?,
                })
            })
            .collect()
    }

    /// Records, for each referral of a matcher's pass, the other teams' open cases its young
    /// person matched (each case's id and service), both ways, and marks its index record
    /// matched, all in one transaction (one write per pass, however many referrals), with
    /// an audit entry `known_elsewhere.recorded` (actor `system`) for each referral that
    /// matched any. A record indexed again meanwhile (`indexed_at` changed) stays unmatched,
    /// to be matched again. Recording the same match twice changes nothing.
    #[instrument(skip_all)]
    pub async fn record_known_elsewhere(
        &self,
        matched: &[(Unmatched, Vec<(String, String)>)],
        at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        if matched.is_empty() {
            return Ok(());
        }
        let now = timestamp(at);
        let mut tx = self.begin_write().await?;
        for (referral, others) in matched {
            for (other_id, other_service) in others {
                for (one, other, service) in [
                    (&referral.referral_id, other_id, other_service),
                    (other_id, &referral.referral_id, &referral.service),
                ] {
                    query(
                        "INSERT INTO known_elsewhere
                             (referral_id, other_referral_id, other_service, created_at)
                         VALUES ($1, $2, $3, $4)
                         ON CONFLICT (referral_id, other_referral_id) DO NOTHING",
                    )
                    .bind(one)
                    .bind(other)
                    .bind(service)
                    .bind(&now)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            query(
                "UPDATE person_records SET elsewhere_checked_at = $1
                 WHERE referral_id = $2 AND indexed_at = $3",
            )
            .bind(&now)
            .bind(&referral.referral_id)
            .bind(&referral.indexed_at)
            .execute(&mut *tx)
            .await?;
            if !others.is_empty() {
                let entry = AuditEntry::new(
                    at,
                    "system",
                    "known_elsewhere.recorded",
                    "referral",
                    &referral.referral_id,
                );
                append_in(&mut tx, &self.audit, &entry).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// The "known elsewhere" alerts of the cases with these references (a queue page's, or
    /// one case's), with each other case's service and status, in one query.
    #[instrument(skip_all)]
    pub async fn known_elsewhere_of(
        &self,
        references: &[String],
    ) -> Result<Vec<KnownElsewhereRow>, StorageError> {
        if references.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT r.reference, o.service, o.team, o.status
             FROM referrals r
             JOIN known_elsewhere k ON k.referral_id = r.id
             JOIN referrals o ON o.id = k.other_referral_id
             WHERE r.reference IN {}",
            placeholders(0, references.len())
        );
        let mut q = query(AssertSqlSafe(sql));
        for reference in references {
            q = q.bind(reference);
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                Ok(KnownElsewhereRow {
                    reference: row.try_get(0)?,
                    other_service: row.try_get(1)?,
                    other_team: row.try_get(2)?,
                    other_status: row.try_get(3)?,
                })
            })
            .collect()
    }
}

/// Writes referrals' index entries in the caller's transaction, a multi-row INSERT for the
/// records and another for all their tokens: `(referral id, entry, indexed at)`. With
/// `already_matched` (seeding) they count as matched for the "known elsewhere" alert when
/// indexed, as an index built up over the years would be.
pub(crate) async fn insert_people(
    tx: &mut Transaction<'static, Any>,
    people: &[(&str, &PersonRow, &str)],
    already_matched: bool,
) -> Result<(), StorageError> {
    const COLUMNS: usize = 4;
    for chunk in statement_chunks(people, ROWS_PER_INSERT) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let p = i * COLUMNS;
                let checked = if already_matched {
                    format!("${}", p + 4)
                } else {
                    "NULL".to_owned()
                };
                format!(
                    "(${}, ${}, ${}, ${}, {checked})",
                    p + 1,
                    p + 2,
                    p + 3,
                    p + 4
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO person_records (referral_id, key_id, identity, indexed_at,
                elsewhere_checked_at)
             VALUES {}",
            values.join(", ")
        );
        let mut insert = query(AssertSqlSafe(sql));
        for (id, person, indexed_at) in chunk {
            insert = insert
                .bind(*id)
                .bind(person.key_id.as_str())
                .bind(person.identity.as_slice())
                .bind(*indexed_at);
        }
        insert
            .execute(&mut **tx)
            .await
            .map_err(StorageError::from_write)?;
    }
    let tokens: Vec<(&str, &str)> = people
        .iter()
        .flat_map(|(id, person, _)| person.tokens.iter().map(move |t| (t.as_str(), *id)))
        .collect();
    for chunk in statement_chunks(&tokens, TOKENS_PER_INSERT) {
        let values: Vec<String> = (0..chunk.len()).map(|i| placeholders(i * 2, 2)).collect();
        let sql = format!(
            "INSERT INTO person_tokens (token, referral_id) VALUES {}",
            values.join(", ")
        );
        let mut insert = query(AssertSqlSafe(sql));
        for (token, id) in chunk {
            insert = insert.bind(*token).bind(*id);
        }
        insert.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Records per multi-row INSERT in [`insert_people`] (4 parameters each).
const ROWS_PER_INSERT: usize = 512;
/// Token pairs per multi-row INSERT (2 parameters each; both engines allow far more).
const TOKENS_PER_INSERT: usize = 2048;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_hmac_sha256_of_the_key_as_before() {
        let key = [7u8; 32];
        let Ok(mut plain) = <Hmac<Sha256> as Mac>::new_from_slice(&key) else {
            panic!("HMAC takes a 32-byte key");
        };
        plain.update(b"gf:JTN:ANL");
        let expected: [u8; 32] = plain.finalize().into_bytes().into();
        assert_eq!(mac(&keyed_mac(&key), b"gf:JTN:ANL"), expected);
        // The keyed state is reused: a second token is not affected by the first.
        let keyed = keyed_mac(&key);
        let _ = mac(&keyed, b"other");
        assert_eq!(mac(&keyed, b"gf:JTN:ANL"), expected);
    }
}
