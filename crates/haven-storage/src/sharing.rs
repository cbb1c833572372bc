//! The information-sharing register (issue 17): every onward referral of the services a
//! reader may see, newest sent first, filtered in SQL by team, service, kind, lawful basis,
//! consent and the date sent, with the files handed over for each.
//!
//! Each row carries its case's `service` and `team` (migration 34), so a page is one range of
//! `onward_referrals_team_sent_idx` (one team) or `onward_referrals_sent_idx` (every team),
//! read backwards and stopped at the page's end. The sealed recipient and consent reason are
//! opened for the page's rows only, with their case keys read in the same statement
//! (correlated on the primary key of `case_keys`); the page's exports are one more query.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{AssertSqlSafe, Row, query};
use tracing::instrument;

use super::onward::Export;
use super::{Storage, StorageError, parse_date, parse_timestamp};

const TABLE: &str = "onward_referrals";

/// Where a page of the register starts, after the last row of the one before (the CSV
/// export reads the whole register this way, a batch at a time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharingCursor {
    sent_on: String,
    created_at: String,
    id: String,
}

/// Which rows of the register.
#[derive(Debug, Clone, Default)]
pub struct SharingFilter {
    /// Only these teams' rows; `None`: every team (roles of every team).
    pub teams: Option<Vec<String>>,
    /// Only these services' rows (the ones the reader may see the register of): empty lists
    /// nothing.
    pub services: Vec<String>,
    /// Only these kinds, as (service, kind) pairs; `None`: any.
    pub kinds: Option<Vec<(String, String)>>,
    /// Only this lawful basis key.
    pub lawful_basis: Option<String>,
    /// Only referrals where consent was (true) or was not (false) sought.
    pub consent_sought: Option<bool>,
    /// Sent on or after this day.
    pub sent_from: Option<NaiveDate>,
    /// Sent on or before this day.
    pub sent_to: Option<NaiveDate>,
    /// Rows after this one (keyset), else from the newest.
    pub after: Option<SharingCursor>,
    pub limit: u32,
    pub offset: u32,
}

/// One onward referral in the register.
#[derive(Clone)]
pub struct SharingRow {
    pub id: String,
    pub referral_id: String,
    pub reference: String,
    pub service: String,
    pub team: String,
    /// The definition's onward referral kind.
    pub kind: String,
    pub lawful_basis: String,
    pub consent_sought: bool,
    /// `None` when it could not be opened (see `unreadable`).
    pub recipient: Option<String>,
    pub consent_reason: Option<String>,
    /// Its sealed values could not be opened (a destroyed or damaged key).
    pub unreadable: bool,
    pub sent_on: NaiveDate,
    /// `user:<id>` of whoever recorded it.
    pub actor: String,
    pub created_at: DateTime<Utc>,
    /// The files handed over for it, oldest first.
    pub exports: Vec<Export>,
    cursor: SharingCursor,
}

impl SharingRow {
    /// Where the next page starts when this is the last row of one.
    pub fn cursor(&self) -> SharingCursor {
        self.cursor.clone()
    }
}

impl std::fmt::Debug for SharingRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharingRow")
            .field("id", &self.id)
            .field("reference", &self.reference)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Placeholders and their values, numbered as they are added.
#[derive(Default)]
struct Binds {
    values: Vec<String>,
}

impl Binds {
    fn mark(&mut self, value: impl Into<String>) -> String {
        self.values.push(value.into());
        format!("${}", self.values.len())
    }

    fn list(&mut self, values: &[String]) -> String {
        values
            .iter()
            .map(|v| self.mark(v.clone()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Storage {
    /// A page of the register: `filter.limit` rows at most, newest sent first.
    #[instrument(skip_all)]
    pub async fn sharing_register(
        &self,
        filter: &SharingFilter,
    ) -> Result<Vec<SharingRow>, StorageError> {
        if filter.services.is_empty() || filter.kinds.as_ref().is_some_and(Vec::is_empty) {
            return Ok(Vec::new());
        }
        let mut b = Binds::default();
        let mut conditions: Vec<String> = Vec::new();
        match &filter.teams {
            Some(teams) if teams.is_empty() => return Ok(Vec::new()),
            Some(teams) if teams.len() == 1 => {
                conditions.push(format!("o.team = {}", b.mark(teams[0].clone())));
            }
            Some(teams) => conditions.push(format!("o.team IN ({})", b.list(teams))),
            None => {}
        }
        conditions.push(format!("o.service IN ({})", b.list(&filter.services)));
        if let Some(kinds) = &filter.kinds {
            let pairs: Vec<String> = kinds
                .iter()
                .map(|(service, kind)| {
                    format!(
                        "(o.service = {} AND o.kind = {})",
                        b.mark(service.clone()),
                        b.mark(kind.clone())
                    )
                })
                .collect();
            conditions.push(format!("({})", pairs.join(" OR ")));
        }
        if let Some(basis) = &filter.lawful_basis {
            conditions.push(format!("o.lawful_basis = {}", b.mark(basis.clone())));
        }
        if let Some(sought) = filter.consent_sought {
            // A literal 0/1: both engines compare it with the integer column.
            conditions.push(format!("o.consent_sought = {}", i64::from(sought)));
        }
        if let Some(from) = filter.sent_from {
            let day = b.mark(from.format("%Y-%m-%d").to_string());
            conditions.push(format!("o.sent_on >= {day}"));
        }
        if let Some(to) = filter.sent_to {
            let day = b.mark(to.format("%Y-%m-%d").to_string());
            conditions.push(format!("o.sent_on <= {day}"));
        }
        if let Some(after) = &filter.after {
            let (s1, c1, s2, c2, i) = (
                b.mark(after.sent_on.clone()),
                b.mark(after.created_at.clone()),
                b.mark(after.sent_on.clone()),
                b.mark(after.created_at.clone()),
                b.mark(after.id.clone()),
            );
            conditions.push(format!(
                "(o.sent_on < {s1} OR (o.sent_on = {s2} AND (o.created_at < {c1} \
                 OR (o.created_at = {c2} AND o.id < {i}))))"
            ));
        }
        let sql = format!(
            "SELECT o.id, o.referral_id, \
                (SELECT r.reference FROM referrals r WHERE r.id = o.referral_id) AS reference, \
                o.service, o.team, o.kind, o.lawful_basis, o.consent_sought, o.recipient, \
                o.consent_reason, o.sent_on, o.actor, o.created_at, \
                (SELECT k.key_id FROM case_keys k WHERE k.referral_id = o.referral_id) AS case_key_id, \
                (SELECT k.wrapped FROM case_keys k WHERE k.referral_id = o.referral_id) AS case_wrapped \
             FROM onward_referrals o WHERE {} \
             ORDER BY o.sent_on DESC, o.created_at DESC, o.id DESC LIMIT {} OFFSET {}",
            conditions.join(" AND "),
            filter.limit,
            filter.offset
        );
        let mut q = query(AssertSqlSafe(sql));
        for value in b.values {
            q = q.bind(value);
        }
        let rows = q.fetch_all(&self.pool).await?;
        let mut items = Vec::with_capacity(rows.len());
        for row in &rows {
            items.push(self.sharing_row(row)?);
        }
        self.attach_exports(&mut items).await?;
        Ok(items)
    }

    fn sharing_row(&self, row: &sqlx::any::AnyRow) -> Result<SharingRow, StorageError> {
        let id: String = row.try_get("id")?;
        let referral_id: String = row.try_get("referral_id")?;
        let sent_on: String = row.try_get("sent_on")?;
        let created_at: String = row.try_get("created_at")?;
        let opened = (|| -> Result<(String, Option<String>), StorageError> {
            let case = match (
                row.try_get::<Option<String>, _>("case_key_id")?,
                row.try_get::<Option<Vec<u8>>, _>("case_wrapped")?,
            ) {
                (Some(key_id), Some(wrapped)) => {
                    Some(self.unwrap_case_key(&referral_id, &key_id, &wrapped)?)
                }
                _ => None,
            };
            let recipient = self.open_text_in_case(
                case.as_ref(),
                TABLE,
                "recipient",
                &id,
                &row.try_get::<Vec<u8>, _>("recipient")?,
            )?;
            let reason = row
                .try_get::<Option<Vec<u8>>, _>("consent_reason")?
                .map(|v| self.open_text_in_case(case.as_ref(), TABLE, "consent_reason", &id, &v))
                .transpose()?;
            Ok((recipient, reason))
        })();
        // One row that cannot be opened never takes the register down: it is listed as such.
        let (recipient, consent_reason, unreadable) = match opened {
            Ok((recipient, reason)) => (Some(recipient), reason, false),
            Err(e) => {
                tracing::warn!(error = %e, "a register row's recipient could not be opened");
                (None, None, true)
            }
        };
        Ok(SharingRow {
            referral_id,
            reference: row.try_get("reference")?,
            service: row.try_get("service")?,
            team: row.try_get("team")?,
            kind: row.try_get("kind")?,
            lawful_basis: row.try_get("lawful_basis")?,
            consent_sought: row.try_get::<i64, _>("consent_sought")? != 0,
            recipient,
            consent_reason,
            unreadable,
            sent_on: parse_date(&sent_on)?,
            actor: row.try_get("actor")?,
            created_at: parse_timestamp("onward_referrals.created_at", &created_at)?,
            exports: Vec::new(),
            cursor: SharingCursor {
                sent_on,
                created_at,
                id: id.clone(),
            },
            id,
        })
    }

    /// The exports of `rows`, in one query.
    async fn attach_exports(&self, rows: &mut [SharingRow]) -> Result<(), StorageError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut b = Binds::default();
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let sql = format!(
            "SELECT id, onward_referral_id, format, sha256, created_by, created_at \
             FROM onward_exports WHERE onward_referral_id IN ({}) ORDER BY created_at, id",
            b.list(&ids)
        );
        let mut q = query(AssertSqlSafe(sql));
        for value in b.values {
            q = q.bind(value);
        }
        let found = q.fetch_all(&self.pool).await?;
        let mut by_referral: HashMap<String, Vec<Export>> = HashMap::new();
        for row in &found {
            let export = super::onward::export_from_row(row)?;
            by_referral
                .entry(export.onward_referral_id.clone())
                .or_default()
                .push(export);
        }
        for row in rows {
            row.exports = by_referral.remove(&row.id).unwrap_or_default();
        }
        Ok(())
    }
}
