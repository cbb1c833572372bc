//! Management information (issue 17): the aggregate table `daily_stats` the dashboards read,
//! and what the folder reads to fill it: the days touched since its high-water mark
//! (`stats_cursors`, one row per folder, written only by the folder), one service's day of
//! referrals (clear, coded columns only) and that day's anonymous out-of-scope counts (by
//! concern and audience, `outcome_counts`, and by signpost, `signpost_counts`: both written
//! in one transaction, so `outcome_counts.updated_at` marks the day dirty for both).
//! A day is always recomputed whole and replaced, so folding twice changes nothing.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use haven_core::statistics::{DayCounts, OutOfScope, ReferralFacts, StatRow};
use sqlx::{AssertSqlSafe, Row, query};
use tracing::instrument;

use super::{Storage, StorageError, parse_date, parse_timestamp, timestamp};

/// Rows written by one INSERT.
const INSERT_BATCH: usize = 100;

/// A stored date or timestamp's calendar day (`due_by` is a day; older rows may hold a time).
fn day_of(text: &str) -> Option<NaiveDate> {
    text.get(..10)
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
}

impl Storage {
    /// The folder's high-water mark, as stored (`None` before its first fold).
    #[instrument(skip_all)]
    pub async fn stats_high_water(&self, folder: &str) -> Result<Option<String>, StorageError> {
        let row = query("SELECT high_water FROM stats_cursors WHERE folder = $1")
            .bind(folder)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => Some(row.try_get(0)?),
            None => None,
        })
    }

    /// Moves the folder's mark from `old` (as read) to `new`; `false` when another server
    /// moved it meanwhile (that server folded the same days: nothing is lost).
    #[instrument(skip_all)]
    pub async fn advance_stats_high_water(
        &self,
        folder: &str,
        old: Option<&str>,
        new: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let new = timestamp(new);
        let now = timestamp(self.now());
        let done = match old {
            None => query(
                "INSERT INTO stats_cursors (folder, high_water, updated_at) VALUES ($1, $2, $3)
                 ON CONFLICT (folder) DO NOTHING",
            )
            .bind(folder)
            .bind(&new)
            .bind(&now)
            .execute(&self.pool)
            .await?
            .rows_affected(),
            Some(old) => query(
                "UPDATE stats_cursors SET high_water = $1, updated_at = $2
                 WHERE folder = $3 AND high_water = $4",
            )
            .bind(&new)
            .bind(&now)
            .bind(folder)
            .bind(old)
            .execute(&self.pool)
            .await?
            .rows_affected(),
        };
        Ok(done == 1)
    }

    /// The `(service, London day)` pairs whose counts may have changed since `since`
    /// (every day with a referral or an out-of-scope count when `None`). A referral's UTC
    /// date gives two candidate London days (the same, or the next in summer time).
    #[instrument(skip_all)]
    pub async fn stats_dirty_days(
        &self,
        since: Option<DateTime<Utc>>,
    ) -> Result<BTreeSet<(String, NaiveDate)>, StorageError> {
        let mut utc_days: Vec<(String, String)> = Vec::new();
        let mut london_days: Vec<(String, String)> = Vec::new();
        let pairs = |rows: Vec<sqlx::any::AnyRow>| -> Result<Vec<(String, String)>, StorageError> {
            rows.iter()
                .map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<String, _>(1)?)))
                .collect()
        };
        match since {
            None => {
                utc_days.extend(pairs(
                    query("SELECT DISTINCT service, SUBSTR(received_at, 1, 10) FROM referrals")
                        .fetch_all(&self.pool)
                        .await?,
                )?);
                london_days.extend(pairs(
                    query("SELECT DISTINCT service, day FROM outcome_counts")
                        .fetch_all(&self.pool)
                        .await?,
                )?);
            }
            Some(since) => {
                let since = timestamp(since);
                for sql in [
                    "SELECT DISTINCT service, SUBSTR(received_at, 1, 10) FROM referrals
                     WHERE updated_at >= $1",
                    "SELECT DISTINCT r.service, SUBSTR(r.received_at, 1, 10)
                     FROM person_links l JOIN referrals r
                       ON r.id = l.referral_a OR r.id = l.referral_b
                     WHERE l.decided_at >= $1",
                    "SELECT DISTINCT r.service, SUBSTR(r.received_at, 1, 10)
                     FROM referral_events e JOIN referrals r ON r.id = e.referral_id
                     WHERE e.kind = 'received_by_email' AND e.at >= $1",
                ] {
                    utc_days.extend(pairs(query(sql).bind(&since).fetch_all(&self.pool).await?)?);
                }
                london_days.extend(pairs(
                    query(
                        "SELECT DISTINCT service, day FROM outcome_counts WHERE updated_at >= $1",
                    )
                    .bind(&since)
                    .fetch_all(&self.pool)
                    .await?,
                )?);
            }
        }
        let mut out = BTreeSet::new();
        for (service, day) in utc_days {
            if let Some(day) = day_of(&day) {
                out.insert((service.clone(), day));
                if let Some(next) = day.succ_opt() {
                    out.insert((service, next));
                }
            }
        }
        for (service, day) in london_days {
            if let Some(day) = day_of(&day) {
                out.insert((service, day));
            }
        }
        Ok(out)
    }

    /// The referrals of `service` received in `[from, to)`, their clear columns only
    /// (`closed` is left false: which states are closed is the definition's to say).
    #[instrument(skip_all)]
    pub async fn stats_referrals(
        &self,
        service: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ReferralFacts>, StorageError> {
        let sql = format!(
            "{FACTS_SELECT} WHERE r.service = $1 AND r.received_at >= $2 AND r.received_at < $3"
        );
        let rows = query(AssertSqlSafe(sql))
            .bind(service)
            .bind(timestamp(from))
            .bind(timestamp(to))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(facts_of_row).collect()
    }

    /// One referral's clear facts as [`Storage::stats_referrals`] reads them, with its
    /// service (`None` once it is gone): what it adds to the dashboards, kept when it is
    /// destroyed.
    #[instrument(skip_all)]
    pub async fn stats_facts_of(
        &self,
        referral_id: &str,
    ) -> Result<Option<(String, ReferralFacts)>, StorageError> {
        let sql = format!("{FACTS_SELECT} WHERE r.id = $1");
        let row = query(AssertSqlSafe(sql))
            .bind(referral_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| Ok((row.try_get(13)?, facts_of_row(&row)?)))
            .transpose()
    }

    /// The counts destroyed cases added to one service's day (`stats_retired`).
    #[instrument(skip_all)]
    pub async fn stats_retired(
        &self,
        service: &str,
        day: NaiveDate,
    ) -> Result<DayCounts, StorageError> {
        let rows = query(
            "SELECT dimension, value, count FROM stats_retired WHERE service = $1 AND day = $2",
        )
        .bind(service)
        .bind(day.format("%Y-%m-%d").to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok(((row.try_get(0)?, row.try_get(1)?), row.try_get(2)?)))
            .collect()
    }

    /// The anonymous out-of-scope counts of one service's day.
    #[instrument(skip_all)]
    pub async fn stats_out_of_scope(
        &self,
        service: &str,
        day: NaiveDate,
    ) -> Result<Vec<OutOfScope>, StorageError> {
        let rows = query(
            "SELECT audience, concerns, count FROM outcome_counts WHERE day = $1 AND service = $2",
        )
        .bind(day.format("%Y-%m-%d").to_string())
        .bind(service)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(OutOfScope {
                    audience: row.try_get(0)?,
                    concerns: row.try_get(1)?,
                    count: row.try_get(2)?,
                })
            })
            .collect()
    }

    /// The anonymous counts of one service's day by the signpost given (`signpost_counts`).
    #[instrument(skip_all)]
    pub async fn stats_signposts(
        &self,
        service: &str,
        day: NaiveDate,
    ) -> Result<Vec<(String, i64)>, StorageError> {
        let rows =
            query("SELECT signpost, count FROM signpost_counts WHERE day = $1 AND service = $2")
                .bind(day.format("%Y-%m-%d").to_string())
                .bind(service)
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect()
    }

    /// Replaces one service's day of counts (one short write transaction).
    #[instrument(skip_all)]
    pub async fn replace_stats_day(
        &self,
        service: &str,
        day: NaiveDate,
        counts: &DayCounts,
    ) -> Result<(), StorageError> {
        let day = day.format("%Y-%m-%d").to_string();
        let rows: Vec<(&(String, String), &i64)> = counts.iter().collect();
        let mut tx = self.begin_write().await?;
        query("DELETE FROM daily_stats WHERE service = $1 AND day = $2")
            .bind(service)
            .bind(&day)
            .execute(&mut *tx)
            .await?;
        for chunk in rows.chunks(INSERT_BATCH) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let b = i * 5;
                    format!(
                        "(${}, ${}, ${}, ${}, ${})",
                        b + 1,
                        b + 2,
                        b + 3,
                        b + 4,
                        b + 5
                    )
                })
                .collect();
            // Two servers folding the same day at once both write the same counts.
            let sql = format!(
                "INSERT INTO daily_stats (service, day, dimension, value, count) VALUES {}
                 ON CONFLICT (service, day, dimension, value) DO UPDATE SET count = excluded.count",
                values.join(", ")
            );
            let mut q = query(AssertSqlSafe(sql));
            for ((dimension, value), count) in chunk {
                q = q
                    .bind(service)
                    .bind(&day)
                    .bind(dimension.as_str())
                    .bind(value.as_str())
                    .bind(**count);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Forgets every count and every folder's mark (`haven stats rebuild` folds anew).
    #[instrument(skip_all)]
    pub async fn clear_stats(&self) -> Result<(), StorageError> {
        let mut tx = self.begin_write().await?;
        query("DELETE FROM daily_stats").execute(&mut *tx).await?;
        query("DELETE FROM stats_cursors").execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The aggregate rows of `service` from `from` to `to` (both included): all a dashboard
    /// reads, through the table's primary key.
    #[instrument(skip_all)]
    pub async fn stats_rows(
        &self,
        service: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<StatRow>, StorageError> {
        let rows = query(
            "SELECT day, dimension, value, count FROM daily_stats
             WHERE service = $1 AND day >= $2 AND day <= $3",
        )
        .bind(service)
        .bind(from.format("%Y-%m-%d").to_string())
        .bind(to.format("%Y-%m-%d").to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StatRow {
                    day: parse_date(&row.try_get::<String, _>(0)?)?,
                    dimension: row.try_get(1)?,
                    value: row.try_get(2)?,
                    count: row.try_get(3)?,
                })
            })
            .collect()
    }

    /// A dashboard's one read: the range's counts summed per dimension and value, and the
    /// counts over time (received, out of scope, and each value of
    /// `haven_core::statistics::OVER_TIME_DIMENSIONS`) per day, or per month when `monthly`
    /// (summed by the database to the month's first day: a three-year range reads a few
    /// hundred rows, not tens of thousands), both from `daily_stats` through its primary key.
    #[instrument(skip_all)]
    pub async fn stats_sums(
        &self,
        service: &str,
        from: NaiveDate,
        to: NaiveDate,
        monthly: bool,
    ) -> Result<(Vec<StatRow>, Vec<StatRow>), StorageError> {
        let (from, to) = (
            from.format("%Y-%m-%d").to_string(),
            to.format("%Y-%m-%d").to_string(),
        );
        let sums = query(
            "SELECT dimension, value, CAST(SUM(count) AS BIGINT) FROM daily_stats
             WHERE service = $1 AND day >= $2 AND day <= $3
             GROUP BY dimension, value",
        )
        .bind(service)
        .bind(&from)
        .bind(&to)
        .fetch_all(&self.pool)
        .await?;
        // Days are `YYYY-MM-DD` text on both engines, so a month is its first seven letters.
        let bucket = if monthly {
            "substr(day, 1, 7) || '-01'"
        } else {
            "day"
        };
        let over_time = haven_core::statistics::OVER_TIME_DIMENSIONS
            .iter()
            .map(|d| format!("'{d}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let daily = query(AssertSqlSafe(format!(
            "SELECT {bucket} AS bucket, dimension, value, CAST(SUM(count) AS BIGINT)
             FROM daily_stats
             WHERE service = $1 AND day >= $2 AND day <= $3
               AND ((dimension IN ('received', 'out_of_scope') AND value = 'all')
                    OR dimension IN ({over_time}))
             GROUP BY bucket, dimension, value"
        )))
        .bind(service)
        .bind(&from)
        .bind(&to)
        .fetch_all(&self.pool)
        .await?;
        let first = parse_date(&from)?;
        let sums = sums
            .iter()
            .map(|row| {
                Ok(StatRow {
                    day: first,
                    dimension: row.try_get(0)?,
                    value: row.try_get(1)?,
                    count: row.try_get(2)?,
                })
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        let daily = daily
            .iter()
            .map(|row| {
                Ok(StatRow {
                    day: parse_date(&row.try_get::<String, _>(0)?)?,
                    dimension: row.try_get(1)?,
                    value: row.try_get(2)?,
                    count: row.try_get(3)?,
                })
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        Ok((sums, daily))
    }
}

/// The clear columns the dashboards count of each referral (`r`), then its service, without
/// its `WHERE`.
const FACTS_SELECT: &str =
    "SELECT r.audience, r.suggested_band, r.confirmed_band, r.status, r.urgent,
                    r.received_at, r.sla_met_at, r.due_by, r.assignee,
                    (SELECT c.outcome FROM case_closures c WHERE c.referral_id = r.id),
                    CAST(CASE WHEN EXISTS (SELECT 1 FROM referral_events e
                        WHERE e.referral_id = r.id AND e.kind = 'received_by_email')
                        THEN 1 ELSE 0 END AS BIGINT),
                    CAST(CASE WHEN EXISTS (SELECT 1 FROM person_links l
                            WHERE l.referral_a = r.id AND l.decision = 'confirmed')
                        OR EXISTS (SELECT 1 FROM person_links l
                            WHERE l.referral_b = r.id AND l.decision = 'confirmed')
                        THEN 1 ELSE 0 END AS BIGINT),
                    r.concerns, r.service
             FROM referrals r";

/// One row of [`FACTS_SELECT`] (its last column, the service, is read by the caller that
/// needs it).
fn facts_of_row(row: &sqlx::any::AnyRow) -> Result<ReferralFacts, StorageError> {
    let sla_met_at: Option<String> = row.try_get(6)?;
    let due_by: Option<String> = row.try_get(7)?;
    Ok(ReferralFacts {
        audience: row.try_get(0)?,
        suggested_band: row.try_get(1)?,
        confirmed_band: row.try_get(2)?,
        status: row.try_get(3)?,
        closed: false,
        urgent: row.try_get::<i64, _>(4)? != 0,
        received_at: parse_timestamp("received_at", &row.try_get::<String, _>(5)?)?,
        sla_met_at: sla_met_at
            .map(|t| parse_timestamp("sla_met_at", &t))
            .transpose()?,
        due_by: due_by.as_deref().and_then(day_of),
        assignee: row.try_get(8)?,
        outcome: row.try_get(9)?,
        by_email: row.try_get::<i64, _>(10)? != 0,
        linked: row.try_get::<i64, _>(11)? != 0,
        concerns: row.try_get(12)?,
    })
}
