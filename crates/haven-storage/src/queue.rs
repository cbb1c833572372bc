//! The work queue: referrals a member of staff may see, filtered, urgent first, then by due
//! date. Reads metadata columns, and for the staff page each listed row's small sealed young
//! person summary (`referrals.person`), never the whole answers of a row that has one.

use chrono::NaiveDate;
use sqlx::{AssertSqlSafe, Row, query};
use tracing::instrument;

use super::{Storage, StorageError, parse_date, parse_timestamp};

/// Which referrals to list. Every field narrows the list; `None` means "any".
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    /// Teams whose cases may be listed; `None` for every team (admins, auditors). An empty
    /// list lists nothing.
    pub teams: Option<Vec<String>>,
    pub service: Option<String>,
    pub status: Option<String>,
    /// The confirmed band, or the suggested one while none is confirmed.
    pub band: Option<String>,
    pub urgent: Option<bool>,
    /// Only cases whose SLA is not met and whose due date is before `today`.
    pub overdue: bool,
    /// Only cases whose SLA is not met and falls due `today`.
    pub due_today: bool,
    pub assignee: Option<String>,
    /// Only cases with a plan action not done past its due date (before `today`); with
    /// `assignee`, those allocated to that worker or with an overdue action they own.
    pub plan_overdue: bool,
    /// Only cases holding information from the referrer no one who works cases has opened.
    pub new_information: bool,
    /// Only open cases: none in a terminal state of its service's workflow (`queue_open`,
    /// kept from the definitions' terminal states in `service_states`). The caller sets it
    /// for the default queue, and with a `status` that is not terminal, so the partial order
    /// indexes of open cases apply.
    pub open_only: bool,
    /// Today in Europe/London, for `overdue` and `due_today`.
    pub today: Option<NaiveDate>,
    /// Open each listed row's sealed young person summary ([`QueueItem::person`]) read in
    /// the same statement (the page's rows only, with their case keys: one read, no query
    /// per row); a row stored before summaries existed, not yet filled in, gives its answers
    /// instead ([`QueueItem::answers`]). For the staff queue's name and age; the caller
    /// checked the person may see every row listed.
    pub open_person: bool,
    /// Exactly this reference (the staff queue's search box; the unique index finds it).
    pub reference: Option<String>,
    /// Only these references (the results of a search by name, date of birth, …; a few
    /// dozen at most, each found by the unique index). An empty list lists nothing.
    pub references: Option<Vec<String>>,
    /// The order of the page (the queue's priority order unless asked otherwise).
    pub order: QueueOrder,
    pub limit: u32,
    pub offset: u32,
}

/// What a queue page is sorted by. Each is the key list of an index (see [`QueueOrder::sql`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum QueueSort {
    /// Urgent first, then new information, then band (most severe first), then due date, then
    /// received (`referrals_queue_idx`, `referrals_queue_team_idx` and the partial ones).
    #[default]
    Priority,
    /// Oldest received first (`referrals_queue_received_idx`, one team's queue).
    Received,
    /// Earliest due date first, cases without one last (`referrals_queue_due_idx`, one
    /// team's queue).
    Due,
}

/// A queue page's order: what it is sorted by, and whether the other way round (the most
/// routine first, the newest first, the latest due date first). Both ways are read from the
/// same index, forwards or backwards.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueOrder {
    pub sort: QueueSort,
    pub reversed: bool,
}

impl QueueOrder {
    /// The `ORDER BY` keys: every key reversed together, so an index still gives the order.
    fn sql(self) -> String {
        let keys: &[(&str, bool)] = match self.sort {
            // (column, descending in the natural order)
            QueueSort::Priority => &[
                ("urgent", true),
                ("queue_news", false),
                ("band_rank", false),
                ("queue_due", false),
                ("received_at", false),
                ("reference", false),
            ],
            QueueSort::Received => &[("received_at", false), ("reference", false)],
            QueueSort::Due => &[
                ("queue_due", false),
                ("received_at", false),
                ("reference", false),
            ],
        };
        keys.iter()
            .map(|(column, descending)| {
                if *descending != self.reversed {
                    format!("{column} DESC")
                } else {
                    (*column).to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// One line of the queue.
#[derive(Debug, Clone)]
pub struct QueueItem {
    pub reference: String,
    pub service: String,
    pub stage: String,
    pub status: String,
    pub team: String,
    pub urgent: bool,
    pub suggested_band: Option<String>,
    pub confirmed_band: Option<String>,
    pub received_at: chrono::DateTime<chrono::Utc>,
    pub due_by: Option<NaiveDate>,
    pub sla_met: bool,
    pub assignee: Option<String>,
    /// Plan actions not done past their due date (0 without `QueueFilter::today`).
    pub plan_overdue: i64,
    /// The referrer added information that no one who works cases has opened yet.
    pub new_information: bool,
    /// The young person summary, opened, when [`QueueFilter::open_person`] asked for it.
    pub person: Option<serde_json::Value>,
    /// The whole answers, opened, when [`QueueFilter::open_person`] asked and the row has no
    /// summary yet (stored before them, and not yet filled in at start-up).
    pub answers: Option<serde_json::Value>,
    /// [`QueueFilter::open_person`] asked, but this row's summary could not be opened.
    pub answers_unreadable: bool,
    /// With [`QueueFilter::open_person`]: the young person matched someone in another case
    /// (a `known_elsewhere` row), open or not. Only such rows need the alert's second look
    /// (whether that case is open, and whether the reader may see the alert): on a page
    /// where no row matched, that look is skipped.
    pub matched_elsewhere: bool,
}

/// What was opened of a queue row for its young person.
enum Opened {
    Person(serde_json::Value),
    Answers(serde_json::Value),
}

/// A page of the queue and how many match in all.
#[derive(Debug, Clone)]
pub struct QueuePage {
    pub items: Vec<QueueItem>,
    pub total: i64,
}

/// A WHERE clause under construction: conditions joined by AND, with `$n` placeholders
/// numbered as values are pushed. Values are always bound, never spliced into the text.
#[derive(Default)]
struct Conditions {
    sql: Vec<String>,
    values: Vec<String>,
}

impl Conditions {
    fn placeholder(&mut self, value: impl Into<String>) -> String {
        self.values.push(value.into());
        format!("${}", self.values.len())
    }

    fn push(&mut self, condition: String) {
        self.sql.push(condition);
    }

    fn clause(&self) -> String {
        if self.sql.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.sql.join(" AND "))
        }
    }
}

/// Which table the conditions are written for: the referrals themselves, or the maintained
/// counts (`referral_counts`, one row per combination of the columns filtered on), whose
/// columns hold the same facts under other names.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Referrals,
    Counts,
}

/// The referrals with a plan action not done and due before `today_placeholder`: the
/// earliest open action's due date is kept on the row (`plan_due_on`), so the test is made
/// inside a partial index without reading actions or rows. Counting, the date is a range of
/// `referrals_plan_overdue_count_idx` (team, open, date); listing, the queue's order comes
/// from `referrals_plan_due_idx` and the date is tested on each entry as an expression, which
/// offers the count index no range (with one, SQLite chose it and sorted every overdue case).
fn overdue_actions(today_placeholder: &str, counting: bool) -> String {
    if counting {
        format!("plan_due_on < {today_placeholder}")
    } else {
        format!("plan_due_on IS NOT NULL AND COALESCE(plan_due_on, '') < {today_placeholder}")
    }
}

/// The `queue_open` of a referral row whose status is (or is about to be) `status_sql`, for
/// the statements that write a status: 0 in a terminal state of its service, 1 otherwise
/// (also for a state `service_states` does not know, so a case is never hidden by a gap).
/// In an UPDATE pass the new status's placeholder: SET expressions see the old row.
pub(crate) fn queue_open_for(status_sql: &str) -> String {
    format!(
        "COALESCE((SELECT 1 - ss.terminal FROM service_states ss \
         WHERE ss.service = referrals.service AND ss.status = {status_sql}), 1)"
    )
}

/// The statement that keeps a case's `plan_due_on` (the earliest due date of its plan actions
/// not done) after one of its actions was added, changed or ticked off; `$1` is the case.
pub(crate) const REFRESH_PLAN_DUE: &str = "UPDATE referrals SET plan_due_on = \
    (SELECT MIN(pa.due_on) FROM plan_actions pa WHERE pa.referral_id = $1 AND pa.done = 0) \
    WHERE id = $1";

/// The filter's conditions on `target`, in a statement whose earlier parts already bind
/// `preceding` (their placeholders are numbered after those, their values follow them);
/// `None` when nothing can match (no teams). Callers use `Target::Counts` only when
/// [`QueueFilter::time_dependent`] is false. `counting`: for counting the rows, where the
/// team is tested as itself, so the date filters' count indexes (team first) read one
/// team's range, and overdue plan actions are a range of their count index.
fn conditions(
    filter: &QueueFilter,
    target: Target,
    counting: bool,
    preceding: Vec<String>,
) -> Option<Conditions> {
    let mut c = Conditions {
        sql: Vec::new(),
        values: preceding,
    };
    // With a due-date filter the small index range of that filter must drive the query; a
    // plain `team = $1` lets SQLite walk the whole team's queue in order instead (0.8 s at
    // 200,000 referrals for a team with no due dates). `team || ''` keeps the term off the
    // index. (Overdue plan actions have an index of their own keyed by team first.)
    // The same for new information: SQLite 3.51 (sqlx's) read a team's whole open queue
    // through the (team, status) index and sorted it (21 ms at a million) instead of the
    // news index's 1,500 entries (3 ms).
    let small_index = filter.sla_dated() || filter.new_information;
    let team_column = if target == Target::Referrals && small_index && !counting {
        "team || ''"
    } else {
        "team"
    };
    if let Some(teams) = &filter.teams {
        match teams.as_slice() {
            [] => return None,
            // One team (every worker's case): an equality, so the team's index gives the order.
            [team] => {
                let p = c.placeholder(team.as_str());
                c.push(format!("{team_column} = {p}"));
            }
            _ => {
                let list: Vec<String> = teams.iter().map(|t| c.placeholder(t.as_str())).collect();
                c.push(format!("{team_column} IN ({})", list.join(", ")));
            }
        }
    }
    if let Some(reference) = &filter.reference {
        if target == Target::Counts {
            // Never counted by reference: `queue_total` counts the (one) row instead.
            return None;
        }
        let p = c.placeholder(reference.as_str());
        c.push(format!("reference = {p}"));
    }
    if let Some(references) = &filter.references {
        if target == Target::Counts {
            return None;
        }
        if references.is_empty() {
            c.push("1 = 0".to_owned());
        } else {
            let list: Vec<String> = references
                .iter()
                .map(|r| c.placeholder(r.as_str()))
                .collect();
            c.push(format!("reference IN ({})", list.join(", ")));
        }
    }
    if let Some(service) = &filter.service {
        let p = c.placeholder(service.as_str());
        c.push(format!("service = {p}"));
    }
    if let Some(status) = &filter.status {
        let p = c.placeholder(status.as_str());
        c.push(format!("status = {p}"));
    }
    // The counts keep statuses, not the open flag: `Storage::queue_total` subtracts the
    // terminal ones' counts itself.
    if filter.open_only && target == Target::Referrals {
        c.push("queue_open = 1".to_owned());
    }
    if let Some(band) = &filter.band {
        let p = c.placeholder(band.as_str());
        let column = match target {
            Target::Referrals => "queue_band",
            Target::Counts => "band",
        };
        c.push(format!("{column} = {p}"));
    }
    if let Some(urgent) = filter.urgent {
        c.push(format!("urgent = {}", i64::from(urgent)));
    }
    let today = filter.today.map(|t| t.format("%Y-%m-%d").to_string());
    match (
        &filter.assignee,
        today.as_deref().filter(|_| filter.plan_overdue),
    ) {
        (Some(assignee), Some(today)) => {
            let (a, t) = (c.placeholder(assignee.as_str()), c.placeholder(today));
            c.push(format!(
                "(id IN (SELECT pa.referral_id FROM plan_actions pa \
                   WHERE pa.owner = {a} AND pa.done = 0 AND pa.due_on < {t}) \
                 OR (assignee = {a} AND {}))",
                overdue_actions(&t, counting)
            ));
        }
        (Some(assignee), None) => {
            let p = c.placeholder(assignee.as_str());
            c.push(format!("assignee = {p}"));
        }
        (None, Some(today)) => {
            let t = c.placeholder(today);
            c.push(overdue_actions(&t, counting));
        }
        (None, None) => {}
    }
    if filter.new_information {
        c.push(
            match target {
                // The generated column, so the index `referrals_queue_news_idx` applies.
                Target::Referrals => "queue_news = 0",
                Target::Counts => "news = 1",
            }
            .to_owned(),
        );
    }
    if let Some(today) = today {
        // `queue_due` is `due_by` with no date read as 9999-12-31, so these are the due-date
        // tests themselves, written on the column the partial index
        // `referrals_queue_unmet_order_idx` holds: cases that do not match are skipped inside
        // the index, without reading their rows.
        if filter.overdue {
            let p = c.placeholder(today.as_str());
            c.push(format!("sla_met_at IS NULL AND queue_due < {p}"));
        }
        if filter.due_today {
            let p = c.placeholder(today.as_str());
            c.push(format!("sla_met_at IS NULL AND queue_due = {p}"));
        }
    }
    Some(c)
}

impl QueueFilter {
    /// Whether a filter tests the first-contact due date (overdue, due today): its page is read
    /// from the small index of unmet cases in the queue's order, with the team tested inside it.
    fn sla_dated(&self) -> bool {
        self.today.is_some() && (self.overdue || self.due_today)
    }

    /// Whether a filter depends on today's date (overdue, due today, overdue plan actions):
    /// those cannot be kept in a count, and are counted from their own (small) index ranges.
    fn time_dependent(&self) -> bool {
        self.today.is_some() && (self.overdue || self.due_today || self.plan_overdue)
    }
}

/// The tables of per-service rules synced from the loaded definitions at start-up.
#[derive(Clone, Copy)]
enum RuleTable {
    /// `service_bands`: each band's rank, most severe first.
    Bands,
    /// `service_states`: whether each workflow state is terminal.
    States,
}

impl RuleTable {
    /// The table and its key and value columns (fixed names, never input).
    fn columns(self) -> (&'static str, &'static str, &'static str) {
        match self {
            RuleTable::Bands => ("service_bands", "band", "band_rank"),
            RuleTable::States => ("service_states", "status", "terminal"),
        }
    }
}

/// How many referrals match `filter` in all, as one scalar expression for a statement that
/// already binds `preceding`, and all the statement's values (`preceding`, then its own);
/// `None` when nothing can match. From the maintained counts (`referral_counts`) for filters
/// on stored facts, or by counting the (small) index range of a date-dependent filter or a
/// reference.
fn total_expression(filter: &QueueFilter, preceding: Vec<String>) -> Option<(String, Vec<String>)> {
    if filter.time_dependent() || filter.reference.is_some() || filter.references.is_some() {
        let c = conditions(filter, Target::Referrals, true, preceding)?;
        return Some((
            format!("(SELECT COUNT(*) FROM referrals{})", c.clause()),
            c.values,
        ));
    }
    let mut counts = conditions(filter, Target::Counts, false, preceding)?;
    let all = counts.clause();
    // Open = all − those in a terminal state (as `service_states` records them), so a status
    // no definition knows counts as open, as the list's `queue_open` does. The terminal
    // ranges are read by the key (team, service, status): a test of each of the team's rows
    // against `service_states` cost 0.7 ms of every page at a million referrals.
    let terminal = if filter.open_only {
        counts.push(
            "(service, status) IN (SELECT service, status FROM service_states WHERE terminal = 1)"
                .to_owned(),
        );
        format!(
            " - (SELECT COALESCE(SUM(n), 0) FROM referral_counts{})",
            counts.clause()
        )
    } else {
        String::new()
    };
    Some((
        format!("CAST((SELECT COALESCE(SUM(n), 0) FROM referral_counts{all}){terminal} AS BIGINT)"),
        counts.values,
    ))
}

/// The columns of a queue row, in [`ListedRow`]'s order (the sealed ones follow).
const LISTED_COLUMNS: &str = "reference, service, stage, status, team, urgent, suggested_band, \
     confirmed_band, received_at, due_by, sla_met_at, assignee, plan_overdue, new_information_at";

/// One row of a queue page as the list's statement gives it: an array, in the order of
/// [`LISTED_COLUMNS`] then the sealed columns (hex) when the young person is opened.
#[derive(Debug, serde::Deserialize)]
struct ListedRow {
    reference: String,
    service: String,
    stage: String,
    status: String,
    team: String,
    urgent: i64,
    suggested_band: Option<String>,
    confirmed_band: Option<String>,
    received_at: String,
    due_by: Option<String>,
    sla_met_at: Option<String>,
    assignee: Option<String>,
    plan_overdue: i64,
    new_information_at: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    person: Option<String>,
    #[serde(default)]
    answers: Option<String>,
    #[serde(default)]
    case_key_id: Option<String>,
    #[serde(default)]
    case_wrapped: Option<String>,
    #[serde(default)]
    matched_elsewhere: i64,
}

/// A sealed column as the list's statement gives it, in hex; `None` for NULL (SQLite's
/// `hex(NULL)` is the empty text).
fn unhex(column: &'static str, text: &Option<String>) -> Result<Option<Vec<u8>>, StorageError> {
    match text.as_deref() {
        None | Some("") => Ok(None),
        Some(text) => hex::decode(text)
            .map(Some)
            .map_err(|e| StorageError::Corrupt {
                column,
                reason: e.to_string(),
            }),
    }
}

/// The engine's names for building JSON in a statement (the SQL standard's differ from both).
struct JsonFunctions {
    group_array: &'static str,
    array: &'static str,
    hex_template: &'static str,
}

impl JsonFunctions {
    fn of(kind: crate::config::DatabaseKind) -> Self {
        match kind {
            crate::config::DatabaseKind::Postgres => Self {
                group_array: "json_agg",
                array: "json_build_array",
                hex_template: "encode(COLUMN, 'hex')",
            },
            crate::config::DatabaseKind::Sqlite => Self {
                group_array: "json_group_array",
                array: "json_array",
                hex_template: "hex(COLUMN)",
            },
        }
    }

    fn hex(&self, column: &str) -> String {
        self.hex_template.replace("COLUMN", column)
    }
}

impl Storage {
    /// One page of the queue, in `filter.order`: by default urgent first, then cases with
    /// unread information from the referrer, then by band (most severe first, as the case's
    /// definition orders its bands), then the earliest due date (cases without one last),
    /// then the oldest; or by date received or due date ([`QueueSort`]), either way round.
    ///
    /// `total` is exact: from the maintained counts (`referral_counts`) for filters on stored
    /// facts, or by counting the (small) index range of a date-dependent filter.
    #[instrument(skip_all)]
    pub async fn queue(&self, filter: &QueueFilter) -> Result<QueuePage, StorageError> {
        let Some((list_sql, values)) = self.queue_statement(filter) else {
            return Ok(QueuePage {
                items: Vec::new(),
                total: 0,
            });
        };
        let mut list = query(AssertSqlSafe(list_sql));
        for value in values {
            list = list.bind(value);
        }
        let row = list.fetch_one(&self.pool).await?;
        let total: i64 = row.try_get("queue_total")?;
        let listed: Option<String> = row.try_get("listed")?;
        let rows: Vec<ListedRow> = match listed.as_deref() {
            Some(text) => serde_json::from_str(text).map_err(|e| StorageError::Corrupt {
                column: "queue page",
                reason: e.to_string(),
            })?,
            // PostgreSQL's aggregate of no rows is NULL (SQLite's is `[]`).
            None => Vec::new(),
        };
        let mut items = Vec::with_capacity(rows.len());
        for row in rows {
            // A case whose summary cannot be opened (its key destroyed on erasure, a damaged
            // value) is listed without it: one such row never takes the queue down.
            let (opened, answers_unreadable) = if filter.open_person {
                match self.queue_row_person(&row) {
                    Ok(opened) => (Some(opened), false),
                    Err(e) => {
                        tracing::warn!(error = %e, "a queue row's young person could not be opened");
                        (None, true)
                    }
                }
            } else {
                (None, false)
            };
            let (person, answers) = match opened {
                Some(Opened::Person(p)) => (Some(p), None),
                Some(Opened::Answers(a)) => (None, Some(a)),
                None => (None, None),
            };
            items.push(QueueItem {
                person,
                answers,
                answers_unreadable,
                matched_elsewhere: filter.open_person && row.matched_elsewhere != 0,
                received_at: parse_timestamp("received_at", &row.received_at)?,
                due_by: row.due_by.as_deref().map(parse_date).transpose()?,
                sla_met: row.sla_met_at.is_some(),
                urgent: row.urgent != 0,
                new_information: row.new_information_at.is_some(),
                reference: row.reference,
                service: row.service,
                stage: row.stage,
                status: row.status,
                team: row.team,
                suggested_band: row.suggested_band,
                confirmed_band: row.confirmed_band,
                assignee: row.assignee,
                plan_overdue: row.plan_overdue,
            });
        }
        Ok(QueuePage { items, total })
    }

    /// How the database means to run one queue page's statement (SQLite's `EXPLAIN QUERY
    /// PLAN` details, PostgreSQL's `EXPLAIN` lines), for the tests that hold each view to its
    /// index; empty when the filter can match nothing.
    pub async fn queue_query_plan(
        &self,
        filter: &QueueFilter,
    ) -> Result<Vec<String>, StorageError> {
        let Some((sql, values)) = self.queue_statement(filter) else {
            return Ok(Vec::new());
        };
        let sqlite = self.kind == crate::config::DatabaseKind::Sqlite;
        let explain = if sqlite {
            "EXPLAIN QUERY PLAN"
        } else {
            "EXPLAIN"
        };
        let mut plan = query(AssertSqlSafe(format!("{explain} {sql}")));
        for value in values {
            plan = plan.bind(value);
        }
        let column = if sqlite { "detail" } else { "QUERY PLAN" };
        plan.fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| row.try_get::<String, _>(column).map_err(StorageError::from))
            .collect()
    }

    /// One queue page's statement and its values: the total and the page's rows as one JSON
    /// array, in one row; `None` when the filter can match nothing.
    fn queue_statement(&self, filter: &QueueFilter) -> Option<(String, Vec<String>)> {
        let c = conditions(filter, Target::Referrals, false, Vec::new())?;
        let clause = c.clause();

        // The overdue-actions marker of each row: one correlated count in the same statement
        // (index plan_actions_referral_idx), never a query per row, and only for a row whose
        // earliest open action (`plan_due_on`, kept with every action's write) is overdue.
        let mut values = c.values.clone();
        let marker = match filter.today {
            Some(today) => {
                values.push(today.format("%Y-%m-%d").to_string());
                let p = values.len();
                format!(
                    "CASE WHEN referrals.plan_due_on < ${p} THEN \
                     (SELECT COUNT(*) FROM plan_actions pa WHERE pa.referral_id = referrals.id \
                     AND pa.done = 0 AND pa.due_on < ${p}) ELSE 0 END"
                )
            }
            None => "CAST(0 AS BIGINT)".to_owned(),
        };
        // The sealed summary (the answers only where there is none) and the case key, read
        // for the page's rows only (correlated on the primary key of `case_keys`, after the
        // LIMIT has chosen them).
        let sealed = if filter.open_person {
            ", id, person, CASE WHEN person IS NULL THEN answers END AS answers, \
             (SELECT key_id FROM case_keys WHERE referral_id = referrals.id) AS case_key_id, \
             (SELECT wrapped FROM case_keys WHERE referral_id = referrals.id) AS case_wrapped, \
             CAST(CASE WHEN EXISTS (SELECT 1 FROM known_elsewhere k \
                 WHERE k.referral_id = referrals.id) THEN 1 ELSE 0 END AS BIGINT) AS matched_elsewhere"
        } else {
            ""
        };
        // The total rides in the same statement (one scalar subquery, evaluated once).
        let total_column = match total_expression(filter, values.clone()) {
            Some((total, all_values)) => {
                values = all_values;
                total
            }
            None => "CAST(0 AS BIGINT)".to_owned(),
        };
        // The page's rows come back as ONE value, a JSON array of rows in the queue's order:
        // on SQLite every row of a result is a separate hand-off between the driver's thread
        // and the request's task (about four system calls and two thread switches each), which
        // cost more than reading the fifty rows themselves. The inner query keeps its plan
        // (an index read in order, stopped by the LIMIT); the order is restated in the
        // aggregate so that it is guaranteed, not incidental.
        let json = JsonFunctions::of(self.kind);
        let order = filter.order.sql();
        let hex = |column: &str| json.hex(column);
        let elements = if filter.open_person {
            format!(
                "{LISTED_COLUMNS}, id, {}, {}, case_key_id, {}, matched_elsewhere",
                hex("person"),
                hex("answers"),
                hex("case_wrapped")
            )
        } else {
            LISTED_COLUMNS.to_owned()
        };
        let list_sql = format!(
            "SELECT {total_column} AS queue_total, \
             (SELECT CAST({group}({array}({elements}) ORDER BY {order}) AS TEXT) FROM \
               (SELECT reference, service, stage, status, team, urgent, suggested_band, \
                confirmed_band, received_at, due_by, sla_met_at, assignee, \
                {marker} AS plan_overdue, new_information_at, queue_news, band_rank, \
                queue_due{sealed} \
                FROM referrals{clause} \
                ORDER BY {order} \
                LIMIT {} OFFSET {}) listed) AS listed",
            filter.limit,
            filter.offset,
            group = json.group_array,
            array = json.array,
        );
        Some((list_sql, values))
    }

    /// The opened summary of a queue row read with [`QueueFilter::open_person`], or its
    /// answers when it has none yet.
    fn queue_row_person(&self, row: &ListedRow) -> Result<Opened, StorageError> {
        let id = row.id.as_deref().unwrap_or_default();
        let case = match (&row.case_key_id, unhex("case_wrapped", &row.case_wrapped)?) {
            (Some(key_id), Some(wrapped)) => Some(self.unwrap_case_key(id, key_id, &wrapped)?),
            _ => None,
        };
        if let Some(person) = unhex("person", &row.person)? {
            return self
                .open_json_in_case(case.as_ref(), "referrals", "person", id, &person)
                .map(Opened::Person);
        }
        let answers = unhex("answers", &row.answers)?.ok_or(StorageError::Corrupt {
            column: "answers",
            reason: "a referral with neither a summary nor answers".to_owned(),
        })?;
        self.open_json_in_case(case.as_ref(), "referrals", "answers", id, &answers)
            .map(Opened::Answers)
    }

    /// Records each service's bands, most severe first, from the loaded definitions (each
    /// `bands` list is written lowest first), and re-ranks the stored referrals whose
    /// `band_rank` no longer matches. Called at start-up; the re-ranking reads the table only
    /// when a definition's bands changed (or on the first start after the migration).
    #[instrument(skip_all)]
    pub async fn sync_band_ranks(
        &self,
        services: &[(String, Vec<String>)],
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StorageError> {
        let mut wanted: Vec<(String, String, i64)> = Vec::new();
        for (service, bands) in services {
            for (index, band) in bands.iter().enumerate() {
                let rank = i64::try_from(bands.len() - 1 - index).unwrap_or(i64::MAX);
                wanted.push((service.clone(), band.clone(), rank));
            }
        }
        let loaded: Vec<&String> = services.iter().map(|(s, _)| s).collect();
        self.sync_service_rules(
            RuleTable::Bands,
            &loaded,
            wanted,
            at,
            "UPDATE referrals SET band_rank = COALESCE((SELECT sb.band_rank FROM service_bands sb
                 WHERE sb.service = referrals.service AND sb.band = referrals.queue_band), 0)
             WHERE band_rank <> COALESCE((SELECT sb.band_rank FROM service_bands sb
                 WHERE sb.service = referrals.service AND sb.band = referrals.queue_band), 0)",
        )
        .await
    }

    /// Records which of each service's workflow states are terminal (`service_states`), from
    /// the loaded definitions, and corrects `queue_open` of stored referrals whose flag no
    /// longer matches. Called at start-up; the correction reads the table only when a
    /// definition's terminal states changed (or on the first start after the migration, which
    /// left every case open).
    #[instrument(skip_all)]
    pub async fn sync_queue_states(
        &self,
        services: &[(String, Vec<(String, bool)>)],
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StorageError> {
        let wanted: Vec<(String, String, i64)> = services
            .iter()
            .flat_map(|(service, states)| {
                states.iter().map(move |(status, terminal)| {
                    (service.clone(), status.clone(), i64::from(*terminal))
                })
            })
            .collect();
        let loaded: Vec<&String> = services.iter().map(|(s, _)| s).collect();
        let open = queue_open_for("referrals.status");
        self.sync_service_rules(
            RuleTable::States,
            &loaded,
            wanted,
            at,
            &format!("UPDATE referrals SET queue_open = {open} WHERE queue_open <> {open}"),
        )
        .await
    }

    /// Replaces the rules of the `loaded` services in `table` by `wanted` (service, key,
    /// value) and runs `correction` (a statement that fixes the stored referrals the rules
    /// describe), in one transaction; nothing at all when the table already holds exactly
    /// `wanted`. Rows of services not loaded here (another server's definitions) stay.
    async fn sync_service_rules(
        &self,
        table: RuleTable,
        loaded: &[&String],
        mut wanted: Vec<(String, String, i64)>,
        at: chrono::DateTime<chrono::Utc>,
        correction: &str,
    ) -> Result<(), StorageError> {
        let (name, key, value) = table.columns();
        wanted.sort();
        let mut tx = self.begin_write().await?;
        let rows = query(AssertSqlSafe(format!(
            "SELECT service, {key}, {value} FROM {name}"
        )))
        .fetch_all(&mut *tx)
        .await?;
        let mut stored = Vec::with_capacity(rows.len());
        for row in rows {
            stored.push((
                row.try_get::<String, _>(0)?,
                row.try_get::<String, _>(1)?,
                row.try_get::<i64, _>(2)?,
            ));
        }
        stored.sort();
        stored.retain(|(s, _, _)| loaded.contains(&s));
        if stored == wanted {
            tx.rollback().await?;
            return Ok(());
        }
        let now = super::timestamp(at);
        for service in loaded {
            query(AssertSqlSafe(format!(
                "DELETE FROM {name} WHERE service = $1"
            )))
            .bind(service.as_str())
            .execute(&mut *tx)
            .await?;
        }
        for (service, k, v) in &wanted {
            query(AssertSqlSafe(format!(
                "INSERT INTO {name} (service, {key}, {value}, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $4)"
            )))
            .bind(service.as_str())
            .bind(k.as_str())
            .bind(*v)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        }
        query(AssertSqlSafe(correction.to_owned()))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Lets SQLite's planner know the table sizes, so a narrow filter (overdue, due today,
    /// overdue plan actions) reads its small index range instead of walking a team's whole
    /// queue in order: `PRAGMA optimize` analyses the tables that need it, each from a bounded
    /// sample (`analysis_limit`), so it stays quick at millions of rows. Called at start-up.
    /// PostgreSQL keeps its own statistics (autovacuum), so there it does nothing.
    #[instrument(skip_all)]
    pub async fn optimize_queue_plans(&self) -> Result<(), StorageError> {
        if self.kind != crate::config::DatabaseKind::Sqlite {
            return Ok(());
        }
        let mut conn = self.writer.acquire().await?;
        query("PRAGMA analysis_limit = 2000")
            .execute(&mut *conn)
            .await?;
        query("PRAGMA optimize = 0x10002")
            .execute(&mut *conn)
            .await?;
        Ok(())
    }
}
