//! The staff queue: referrals' metadata (never their answers) filtered and ordered urgent
//! first, then by due date, then oldest first.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{Row, query};
use tracing::instrument;

use super::{Storage, StorageError, parse_timestamp};

/// What the queue is filtered by; `None` is "any".
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    /// Only this team's cases (`None`: every team, for roles that see all teams).
    pub team: Option<String>,
    pub service: Option<String>,
    pub status: Option<String>,
    /// The confirmed band, or the suggested one while none is confirmed.
    pub band: Option<String>,
    pub urgent: Option<bool>,
    /// Due before this day (the caller also leaves out finished cases).
    pub due_before: Option<NaiveDate>,
    /// `user:<id>`-style worker id, or `""` for unallocated cases.
    pub assignee: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

/// One row of the queue.
#[derive(Debug, Clone)]
pub struct QueueRow {
    pub reference: String,
    pub service: String,
    pub team: String,
    pub status: String,
    pub received_at: DateTime<Utc>,
    pub urgent: bool,
    pub suggested_band: Option<String>,
    pub confirmed_band: Option<String>,
    pub due_by: Option<NaiveDate>,
    pub assignee: Option<String>,
}

impl Storage {
    /// One page of the queue (one query; indexes `referrals_team_due_idx` and friends).
    #[instrument(skip_all)]
    pub async fn staff_queue(&self, filter: &QueueFilter) -> Result<Vec<QueueRow>, StorageError> {
        let due_before = filter.due_before.map(|d| d.format("%Y-%m-%d").to_string());
        let urgent = filter.urgent.map(i64::from);
        let rows = query(
            "SELECT reference, service, team, status, received_at, urgent, suggested_band,
                    confirmed_band, due_by, assignee
             FROM referrals
             WHERE (CAST($1 AS TEXT) IS NULL OR team = $1)
               AND (CAST($2 AS TEXT) IS NULL OR service = $2)
               AND (CAST($3 AS TEXT) IS NULL OR status = $3)
               AND (CAST($4 AS TEXT) IS NULL OR COALESCE(confirmed_band, suggested_band) = $4)
               AND (CAST($5 AS BIGINT) IS NULL OR urgent = $5)
               AND (CAST($6 AS TEXT) IS NULL OR (due_by IS NOT NULL AND due_by < $6))
               AND (CAST($7 AS TEXT) IS NULL OR COALESCE(assignee, '') = $7)
             ORDER BY urgent DESC, CASE WHEN due_by IS NULL THEN 1 ELSE 0 END, due_by,
                      received_at, reference
             LIMIT $8 OFFSET $9",
        )
        .bind(filter.team.as_deref())
        .bind(filter.service.as_deref())
        .bind(filter.status.as_deref())
        .bind(filter.band.as_deref())
        .bind(urgent)
        .bind(due_before)
        .bind(filter.assignee.as_deref())
        .bind(filter.limit)
        .bind(filter.offset)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let due_by = row
                    .try_get::<Option<String>, _>(8)?
                    .map(|t| {
                        NaiveDate::parse_from_str(&t, "%Y-%m-%d").map_err(|e| {
                            StorageError::Corrupt {
                                column: "due_by",
                                reason: e.to_string(),
                            }
                        })
                    })
                    .transpose()?;
                Ok(QueueRow {
                    reference: row.try_get(0)?,
                    service: row.try_get(1)?,
                    team: row.try_get(2)?,
                    status: row.try_get(3)?,
                    received_at: parse_timestamp("received_at", &row.try_get::<String, _>(4)?)?,
                    urgent: row.try_get::<i64, _>(5)? != 0,
                    suggested_band: row.try_get(6)?,
                    confirmed_band: row.try_get(7)?,
                    due_by,
                    assignee: row.try_get(9)?,
                })
            })
            .collect()
    }
}
