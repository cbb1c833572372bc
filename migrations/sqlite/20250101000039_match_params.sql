-- The matcher's fitted weights (issue 16; sqlite). Keep in step with the other engine's file of
-- the same name.
--
-- One row per matcher (`person`: linked people and search). `params` is JSON: the prior and
-- the m and u probabilities of each field's comparison levels (haven_core::people::Params),
-- fitted by EM to the candidate pairs of the person index by `haven match reindex` or
-- `haven match fit`. Not personal data: frequencies of agreement levels only, no value of
-- anyone's name, date or postcode. `pairs`: how many candidate pairs it was fitted to.
CREATE TABLE match_params (
    matcher     TEXT PRIMARY KEY NOT NULL,
    params      TEXT NOT NULL,
    pairs       INTEGER NOT NULL,
    fitted_at   TEXT NOT NULL
);
