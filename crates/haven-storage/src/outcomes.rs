//! Anonymous statistics of reports that were not accepted (`outcome_counts`): a day, the
//! service, the audience and the concern keys — never free text or identifiers.

use chrono::NaiveDate;
use sqlx::{Row, query};
use tracing::instrument;

use super::{Storage, StorageError, timestamp};

impl Storage {
    /// Counts one not-accepted report. `concerns` are option keys; they are sorted and
    /// joined so the same set always lands in the same row. `signposts` are the keys of the
    /// signposts it was given, each counted in `signpost_counts` in the same transaction.
    #[instrument(skip_all)]
    pub async fn count_not_accepted(
        &self,
        day: NaiveDate,
        service: &str,
        audience: &str,
        concerns: &[&str],
        signposts: &[&str],
    ) -> Result<(), StorageError> {
        let mut keys: Vec<&str> = concerns.to_vec();
        keys.sort_unstable();
        keys.dedup();
        let mut given: Vec<&str> = signposts.to_vec();
        given.sort_unstable();
        given.dedup();
        let now = timestamp(self.now());
        let day = day.format("%Y-%m-%d").to_string();
        let mut tx = self.begin_write().await?;
        for signpost in given {
            query(
                "INSERT INTO signpost_counts (day, service, signpost, count, created_at, updated_at)
                 VALUES ($1, $2, $3, 1, $4, $5)
                 ON CONFLICT (day, service, signpost)
                 DO UPDATE SET count = signpost_counts.count + 1, updated_at = excluded.updated_at",
            )
            .bind(&day)
            .bind(service)
            .bind(signpost)
            .bind(&now)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        }
        query(
            "INSERT INTO outcome_counts (day, service, audience, concerns, count, created_at, updated_at)
             VALUES ($1, $2, $3, $4, 1, $5, $6)
             ON CONFLICT (day, service, audience, concerns)
             DO UPDATE SET count = outcome_counts.count + 1, updated_at = excluded.updated_at",
        )
        .bind(&day)
        .bind(service)
        .bind(audience)
        .bind(keys.join(","))
        .bind(&now)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The count for one day, service, audience and concern set.
    #[instrument(skip_all)]
    pub async fn not_accepted_count(
        &self,
        day: NaiveDate,
        service: &str,
        audience: &str,
        concerns: &str,
    ) -> Result<i64, StorageError> {
        let row = query(
            "SELECT count FROM outcome_counts
             WHERE day = $1 AND service = $2 AND audience = $3 AND concerns = $4",
        )
        .bind(day.format("%Y-%m-%d").to_string())
        .bind(service)
        .bind(audience)
        .bind(concerns)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            Some(row) => row.try_get(0)?,
            None => 0,
        })
    }
}
