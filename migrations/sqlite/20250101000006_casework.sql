-- Casework after triage (sqlite): meetings, the intervention plan (goals, actions, reviews) and
-- the outcome a case closes with. Keep in step with migrations/postgres (same file name, same
-- columns). Case content (places, who attended, notes, goals, actions, summaries, the closing
-- narrative) is sealed at rest (storage/vault.rs SEALED_COLUMNS); dates, kinds, owners and
-- flags stay clear because queues and guards read them.

-- A meeting or visit. `content` is sealed JSON: place, place details, who attended, the
-- informal/plain-clothes flag, notes. `meeting_on`/`meeting_time` are the UK date and time
-- the worker gave.
CREATE TABLE case_meetings (
    id                      TEXT PRIMARY KEY NOT NULL,
    referral_id             TEXT NOT NULL REFERENCES referrals (id),
    kind                    TEXT NOT NULL,
    meeting_on              TEXT NOT NULL,
    meeting_time            TEXT NOT NULL,
    home_visit              INTEGER NOT NULL DEFAULT 0 CHECK (home_visit IN (0, 1)),
    lone_working_confirmed  INTEGER NOT NULL DEFAULT 0 CHECK (lone_working_confirmed IN (0, 1)),
    content                 TEXT NOT NULL,
    recorded_by             TEXT NOT NULL,
    created_at              TEXT NOT NULL,
    updated_at              TEXT NOT NULL
);
CREATE INDEX case_meetings_referral_idx ON case_meetings (referral_id, meeting_on, meeting_time);

-- A goal of the plan (`body` sealed).
CREATE TABLE plan_goals (
    id           TEXT PRIMARY KEY NOT NULL,
    referral_id  TEXT NOT NULL REFERENCES referrals (id),
    body         TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX plan_goals_referral_idx ON plan_goals (referral_id, created_at);

-- An action of the plan (`body` sealed), owned by a worker of the case's team (their
-- email, as referrals.assignee), due on a UK date.
CREATE TABLE plan_actions (
    id           TEXT PRIMARY KEY NOT NULL,
    referral_id  TEXT NOT NULL REFERENCES referrals (id),
    goal_id      TEXT REFERENCES plan_goals (id),
    body         TEXT NOT NULL,
    owner        TEXT NOT NULL,
    due_on       TEXT NOT NULL,
    done         INTEGER NOT NULL DEFAULT 0 CHECK (done IN (0, 1)),
    done_at      TEXT,
    done_by      TEXT,
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
-- A case's open/overdue actions (the queue's marker and plan_overdue filter, case facts) and
-- a worker's own overdue actions (plan_overdue with assignee).
CREATE INDEX plan_actions_referral_idx ON plan_actions (referral_id, done, due_on);
CREATE INDEX plan_actions_owner_idx ON plan_actions (owner, done, due_on);

-- A review of the plan (`summary` sealed) and when the next one is due.
CREATE TABLE plan_reviews (
    id              TEXT PRIMARY KEY NOT NULL,
    referral_id     TEXT NOT NULL REFERENCES referrals (id),
    reviewed_on     TEXT NOT NULL,
    summary         TEXT NOT NULL,
    next_review_on  TEXT,
    created_by      TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX plan_reviews_referral_idx ON plan_reviews (referral_id, reviewed_on);

-- The outcome a case closed with (one of its definition's casework.closure.outcomes) and the
-- closing summary (`narrative` sealed), written in the transaction of the closing step.
CREATE TABLE case_closures (
    id           TEXT PRIMARY KEY NOT NULL,
    referral_id  TEXT NOT NULL UNIQUE REFERENCES referrals (id),
    outcome      TEXT NOT NULL,
    narrative    TEXT NOT NULL,
    closed_by    TEXT NOT NULL,
    closed_at    TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
