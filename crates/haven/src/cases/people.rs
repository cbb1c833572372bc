//! Linked people: possible links between referrals of the same young person, staff decisions
//! on them, "known to another service", and the staff search.
//!
//! The index holds only blind tokens and sealed identities (`storage::people`). Candidates
//! come from shared tokens (blocking); their identities are opened in memory to be scored
//! (`haven_core::people`) and dropped. Another team's case is never described: only its
//! service's name and contact, and only to roles with `see_known_elsewhere`.

use chrono::{DateTime, Utc};
use haven_core::definition::ServiceDefinition;
use haven_core::people::{Explanation, Identity, Params, compare, explain, query_identity};

use super::{CaseError, Cases};
use crate::access::Staff;
use crate::policy::{Action, CaseScope};
use crate::storage::Storage;
use crate::storage::audit::AuditEntry;
use crate::storage::referrals::Referral;

/// Possible links at or above this probability are shown.
pub const SHOW_AT: f64 = 0.5;
/// Another service's case at or above this probability makes the young person "known
/// elsewhere".
pub const KNOWN_AT: f64 = 0.9;
/// Most candidates one referral is scored against.
const CANDIDATES: i64 = 50;

/// A possible link to a case the member of staff may open.
#[derive(Debug, Clone)]
pub struct PossibleLink {
    pub reference: String,
    pub service_name: String,
    pub status: String,
    pub received_at: DateTime<Utc>,
    pub explanation: Explanation,
    /// A staff decision: `Some(true)` confirmed (the same young person).
    pub confirmed: Option<bool>,
}

/// A young person known to a service of another team: that service and its contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownElsewhere {
    pub service_name: String,
    pub contact: Option<String>,
    /// The other service's case is still open (the "known elsewhere" alert).
    pub open: bool,
}

/// What the case summary shows.
#[derive(Debug, Clone, Default)]
pub struct Links {
    pub possible: Vec<PossibleLink>,
    pub elsewhere: Vec<KnownElsewhere>,
}

/// The young person of a case as its definition reads them, from every stage received
/// (the first answer of each kind wins, the first stage first).
pub async fn identity_of(
    storage: &Storage,
    def: &ServiceDefinition,
    referral: &Referral,
) -> Result<Option<Identity>, CaseError> {
    let Some(mut identity) = def.identity(&referral.answers) else {
        return Ok(None);
    };
    for stage in storage.referral_stages(&referral.id).await? {
        if let Some(more) = def.identity(&stage.answers) {
            merge(&mut identity, more);
        }
    }
    Ok(Some(identity))
}

fn merge(into: &mut Identity, more: Identity) {
    for g in more.given {
        if !into.given.contains(&g) {
            into.given.push(g);
        }
    }
    into.family = into.family.take().or(more.family);
    into.date_of_birth = into.date_of_birth.or(more.date_of_birth);
    into.postcode = into.postcode.take().or(more.postcode);
    into.address = into.address.take().or(more.address);
    into.school = into.school.take().or(more.school);
    for (list, extra) in [
        (&mut into.phones, more.phones),
        (&mut into.emails, more.emails),
        (&mut into.handles, more.handles),
    ] {
        for v in extra {
            if !list.contains(&v) {
                list.push(v);
            }
        }
    }
}

/// Indexes (again) one case's young person from its answers (after a later stage, or by
/// `haven match reindex`). A service without `[people]` removes any entry.
pub async fn reindex_case(
    storage: &Storage,
    def: &ServiceDefinition,
    referral: &Referral,
    now: DateTime<Utc>,
) -> Result<(), CaseError> {
    let identity = identity_of(storage, def, referral)
        .await?
        .unwrap_or_default();
    storage.index_person(&referral.id, &identity, now).await?;
    Ok(())
}

/// Most indexed people the weights are fitted to (the first by referral id, which is
/// random, so a sample of a larger index). Their identities are opened in memory.
pub const FIT_RECORDS: usize = 200_000;

/// What fitting the weights did.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    /// Indexed people read.
    pub records: usize,
    /// Candidate pairs among them (each person's candidates as for a link: the people
    /// sharing most blocking tokens, at most 50).
    pub pairs: usize,
    /// The fitted weights, stored; `None`: too few pairs, the stored weights (or the
    /// defaults) stay.
    pub params: Option<Params>,
}

/// Fits the matcher's weights by EM to the candidate pairs of the person index and stores
/// them (`match_params`, audited `person_index.fitted`), so links and search score with
/// weights learnt from this service's data. Run by `haven match reindex` and `haven match
/// fit`; `progress` hears the number of people read so far.
pub async fn fit_params(
    storage: &Storage,
    actor: &str,
    now: DateTime<Utc>,
    mut progress: impl FnMut(usize),
) -> Result<Fitted, CaseError> {
    use haven_core::people::linkage::{
        CANDIDATES_PER_RECORD, U_SAMPLE_PAIRS, all_pairs, candidate_pairs, fit, random_pairs,
    };
    let mut people: Vec<Identity> = Vec::new();
    let mut after = String::new();
    while people.len() < FIT_RECORDS {
        let (page, last) = storage.person_identity_page(&after, 1000).await?;
        let Some(last) = last else {
            break;
        };
        after = last;
        people.extend(page.into_iter().map(|(_, identity)| identity));
        progress(people.len());
    }
    people.truncate(FIT_RECORDS);
    let tokens: Vec<Vec<String>> = people
        .iter()
        .map(|p| storage.person_tokens(&p.blocking_keys()))
        .collect();
    let pairs = candidate_pairs(&tokens, None, CANDIDATES_PER_RECORD);
    let compare_all = |pairs: &[(u32, u32)]| -> Vec<_> {
        pairs
            .iter()
            .map(|&(i, j)| compare(&people[i as usize], &people[j as usize]))
            .collect()
    };
    let random = random_pairs(people.len(), None, U_SAMPLE_PAIRS);
    let params = fit(
        &compare_all(&pairs),
        &compare_all(&random),
        all_pairs(people.len(), None),
    );
    if let Some(params) = &params {
        storage
            .save_match_params(params, pairs.len(), actor, now)
            .await?;
    }
    Ok(Fitted {
        records: people.len(),
        pairs: pairs.len(),
        params,
    })
}

/// Possible links of a case and where else the young person is known. The caller has
/// checked the member of staff may open `referral`. Audited (`person_index.compared`): the
/// identities of other cases were opened to score them.
pub async fn links(
    cases: &Cases<'_>,
    staff: &Staff,
    referral: &Referral,
    now: DateTime<Utc>,
) -> Result<Links, CaseError> {
    let storage = cases.storage;
    let mut found = storage
        .person_identities(std::slice::from_ref(&referral.id))
        .await?;
    let Some((_, identity)) = found.pop() else {
        return Ok(Links::default());
    };
    let tokens = storage.person_tokens(&identity.blocking_keys());
    let candidates = storage
        .person_candidates(&tokens, Some(&referral.id), CANDIDATES)
        .await?;
    let decisions = storage.person_links(&referral.id).await?;
    let ids: Vec<String> = candidates.iter().map(|c| c.referral_id.clone()).collect();
    let identities = storage.person_identities(&ids).await?;
    let params = storage.match_params().await?;
    let mut out = Links::default();
    for candidate in &candidates {
        let Some((_, other)) = identities
            .iter()
            .find(|(id, _)| *id == candidate.referral_id)
        else {
            continue;
        };
        let explanation = explain(&params, &compare(&identity, other));
        let decision = decisions
            .iter()
            .find(|d| d.other == candidate.referral_id)
            .map(|d| d.confirmed);
        let Some(def) = cases.registry.get(&candidate.service) else {
            continue;
        };
        let scope = CaseScope {
            service: &candidate.service,
            team: &candidate.team,
        };
        let may_open = cases
            .policy
            .decide(staff, Action::ViewCase, Some(scope))
            .allowed();
        if candidate.team == referral.team && may_open {
            if explanation.probability >= SHOW_AT && decision != Some(false)
                || decision == Some(true)
            {
                out.possible.push(PossibleLink {
                    reference: candidate.reference.clone(),
                    service_name: def.name.clone(),
                    status: candidate.status.clone(),
                    received_at: candidate.received_at,
                    explanation,
                    confirmed: decision,
                });
            }
        } else if candidate.team != referral.team
            && explanation.probability >= KNOWN_AT
            && cases
                .policy
                .decide(
                    staff,
                    Action::SeeKnownElsewhere,
                    Some(CaseScope {
                        service: &referral.service,
                        team: &referral.team,
                    }),
                )
                .allowed()
        {
            let known = KnownElsewhere {
                service_name: def.name.clone(),
                contact: def
                    .people
                    .as_ref()
                    .and_then(|p| p.contact.clone())
                    .or_else(|| def.duty_email.clone()),
                open: !super::is_closed(def, &candidate.status),
            };
            match out
                .elsewhere
                .iter_mut()
                .find(|k| k.service_name == known.service_name)
            {
                Some(k) => k.open |= known.open,
                None => out.elsewhere.push(known),
            }
        }
    }
    out.possible.sort_by(|a, b| {
        b.explanation
            .probability
            .total_cmp(&a.explanation.probability)
    });
    storage
        .append_audit(&AuditEntry::new(
            now,
            staff.actor(),
            "person_index.compared",
            "referral",
            &referral.id,
        ))
        .await?;
    Ok(out)
}

/// Confirms (`confirm`) or rejects a possible link between two cases. The member of staff
/// must be allowed to open and link this case (404 / 403 otherwise); another case they may
/// not open or link is refused exactly like a missing one (a field error on `other`), so
/// references of other teams cannot be probed.
pub async fn decide_link(
    cases: &Cases<'_>,
    staff: &Staff,
    referral: &Referral,
    other_reference: &str,
    confirm: bool,
    now: DateTime<Utc>,
) -> Result<(), CaseError> {
    let allowed = |case: &Referral, action: Action| {
        let scope = CaseScope {
            service: &case.service,
            team: &case.team,
        };
        cases.policy.decide(staff, action, Some(scope)).allowed()
    };
    if !allowed(referral, Action::ViewCase) {
        return Err(CaseError::NotFound);
    }
    if !allowed(referral, Action::LinkPeople) {
        return Err(CaseError::Forbidden(
            "Your role may not confirm or reject links between cases".to_owned(),
        ));
    }
    let other = cases
        .storage
        .find_referral(other_reference.trim())
        .await?
        .filter(|o| allowed(o, Action::ViewCase) && allowed(o, Action::LinkPeople))
        .ok_or_else(|| CaseError::invalid("other", "No case you may link has that reference"))?;
    if other.id == referral.id {
        return Err(CaseError::invalid("other", "Choose a different case"));
    }
    cases
        .storage
        .decide_person_link(&referral.id, &other.id, confirm, &staff.actor(), now)
        .await?;
    Ok(())
}

/// One search result: a case the member of staff may open.
#[derive(Debug, Clone)]
pub struct SearchHit {
    pub reference: String,
    pub service_name: String,
    pub status: String,
    pub received_at: DateTime<Utc>,
    /// How well it matched, 0 to 1.
    pub score: f64,
    /// Which fields matched, in words ("Last name: spelt almost the same").
    pub matched: Vec<String>,
}

/// Most search results.
pub const SEARCH_LIMIT: usize = 25;

/// How many of the candidates a search finds (those sharing the most tokens with what was
/// typed, of the cases the user may see) are opened and scored: a few more than the hits
/// shown (some score nothing), since opening sealed identities is most of a search's time.
const SEARCH_OPENED: usize = SEARCH_LIMIT + 7;

/// How many candidates a search asks the index for (of every team; those the user may not
/// see are then left out): the most tokens shared with what was typed first.
const SEARCH_CANDIDATES: i64 = 64;

/// Searches the cases the member of staff may see by name, date of birth, postcode, phone,
/// email, handle or reference, tolerating misspellings (phonetic tokens, Jaro–Winkler).
/// Audited (`person_index.searched`, without the words searched for).
pub async fn search(
    cases: &Cases<'_>,
    staff: &Staff,
    q: &str,
    now: DateTime<Utc>,
) -> Result<Vec<SearchHit>, CaseError> {
    if !cases
        .policy
        .decide(staff, Action::ViewQueue, None)
        .allowed()
    {
        return Err(CaseError::Forbidden(
            "Your role may not search cases".to_owned(),
        ));
    }
    let q = q.trim();
    if q.is_empty() {
        return Err(CaseError::invalid(
            "q",
            "Enter a name, date of birth, postcode, reference, phone, email or handle",
        ));
    }
    if q.chars().count() > 200 {
        return Err(CaseError::invalid(
            "q",
            "Search must be 200 characters or fewer",
        ));
    }
    let storage = cases.storage;
    let may_see = |service: &str, team: &str| {
        cases
            .policy
            .decide(staff, Action::ViewCase, Some(CaseScope { service, team }))
            .allowed()
    };
    let mut hits = Vec::new();
    // A reference, exactly.
    if !q.contains(' ')
        && q.contains('-')
        && let Some(r) = storage.find_referral(&q.to_uppercase()).await?
        && may_see(&r.service, &r.team)
    {
        hits.push(SearchHit {
            service_name: service_name(cases, &r.service),
            reference: r.reference,
            status: r.status,
            received_at: r.received_at,
            score: 1.0,
            matched: vec!["Reference: the same".to_owned()],
        });
    }
    let wanted = query_identity(q);
    let mut keys = wanted.search_keys();
    keys.extend(combined_keys(&wanted));
    let tokens = storage.person_tokens(&keys);
    let candidates = storage
        .person_candidates(&tokens, None, SEARCH_CANDIDATES)
        .await?;
    let visible: Vec<_> = candidates
        .into_iter()
        .filter(|c| may_see(&c.service, &c.team))
        .filter(|c| hits.iter().all(|h| h.reference != c.reference))
        .take(SEARCH_OPENED)
        .collect();
    let ids: Vec<String> = visible.iter().map(|c| c.referral_id.clone()).collect();
    let identities = storage.person_identities(&ids).await?;
    let params = storage.match_params().await?;
    for c in &visible {
        let Some((_, identity)) = identities.iter().find(|(id, _)| *id == c.referral_id) else {
            continue;
        };
        if let Some((score, matched)) = search_score(&params, &wanted, identity) {
            hits.push(SearchHit {
                reference: c.reference.clone(),
                service_name: service_name(cases, &c.service),
                status: c.status.clone(),
                received_at: c.received_at,
                score,
                matched,
            });
        }
    }
    hits.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(b.received_at.cmp(&a.received_at))
    });
    hits.truncate(SEARCH_LIMIT);
    storage
        .append_audit(&AuditEntry::new(
            now,
            staff.actor(),
            "person_index.searched",
            "search",
            &hits.len().to_string(),
        ))
        .await?;
    Ok(hits)
}

/// The index's combined keys (as `Identity::blocking_keys` makes them) of what was typed:
/// each two of the first name words (`nn:`), and each name word with the date of birth
/// (`df:`, `dg:`) and with the postcode (`pf:`, `pg:`), either reading of a word (given or
/// family name). A popular name with a date of birth or another name is held by far fewer
/// people than the name alone, and the storage finds candidates only through tokens that
/// are not over-common, so these find the person a popular name is typed for.
fn combined_keys(wanted: &Identity) -> Vec<String> {
    use haven_core::people::normalise::{canonical_given, date_unordered, phonetic};
    let codes: Vec<Vec<String>> = wanted
        .given
        .iter()
        .take(4)
        .map(|word| {
            let mut codes = phonetic(&canonical_given(word));
            for code in phonetic(word) {
                if !codes.contains(&code) {
                    codes.push(code);
                }
            }
            codes
        })
        .collect();
    let mut keys = Vec::new();
    for (i, one) in codes.iter().enumerate() {
        for other in &codes[i + 1..] {
            for a in one {
                for b in other {
                    let (a, b) = if a <= b { (a, b) } else { (b, a) };
                    keys.push(format!("nn:{a}:{b}"));
                }
            }
        }
    }
    let date = wanted.date_of_birth.map(date_unordered);
    for code in codes.iter().flatten() {
        if let Some(date) = &date {
            keys.push(format!("df:{date}:{code}"));
            keys.push(format!("dg:{date}:{code}"));
        }
        if let Some(pc) = &wanted.postcode {
            keys.push(format!("pf:{pc}:{code}"));
            keys.push(format!("pg:{pc}:{code}"));
        }
    }
    keys
}

fn service_name(cases: &Cases<'_>, service: &str) -> String {
    cases
        .registry
        .get(service)
        .map_or_else(|| service.to_owned(), |d| d.name.clone())
}

/// How well an identity answers a search: each name word typed is matched against every
/// name of the person (given or family), the other fields compared as for a link. `None`
/// when something typed plainly disagrees or nothing agrees.
pub fn search_score(
    params: &Params,
    wanted: &Identity,
    person: &Identity,
) -> Option<(f64, Vec<String>)> {
    use haven_core::people::Field;
    use haven_core::people::compare::name_level;
    let mut names: Vec<&str> = person.given.iter().map(String::as_str).collect();
    names.extend(person.family.as_deref());
    let mut total = 0.0;
    let mut parts = 0usize;
    let mut matched = Vec::new();
    for word in &wanted.given {
        parts += 1;
        let canonical = haven_core::people::normalise::canonical_given_str(word);
        let (level, field) = names
            .iter()
            .map(|name| {
                let field = if Some(*name) == person.family.as_deref() {
                    Field::FamilyName
                } else {
                    Field::GivenName
                };
                let level = if haven_core::people::normalise::canonical_given_str(name) == canonical
                {
                    3
                } else {
                    name_level(word, name)
                };
                (level, field)
            })
            .max_by_key(|(l, _)| *l)?;
        if level == 0 {
            return None;
        }
        total += params.weight(field, level);
        matched.push(format!("{}: {}", field.label(), field.level_label(level)));
    }
    let others = Identity {
        given: Vec::new(),
        family: None,
        ..wanted.clone()
    };
    let person_others = Identity {
        given: Vec::new(),
        family: None,
        ..person.clone()
    };
    let c = compare(&others, &person_others);
    for field in Field::ALL {
        if let Some(level) = c.level(field) {
            parts += 1;
            // A date or postcode typed must be near (transposed or one part off at most).
            if level == 0 {
                return None;
            }
            total += params.weight(field, level);
            matched.push(format!("{}: {}", field.label(), field.level_label(level)));
        }
    }
    if parts == 0 || matched.is_empty() {
        return None;
    }
    // A logistic of the mean weight: 1 when everything typed agrees exactly.
    let mean = total / parts as f64;
    Some((1.0 / (1.0 + (-(mean - 1.0)).exp2()), matched))
}

/// How many index records one pass of the "known elsewhere" matcher takes.
const MATCH_BATCH: i64 = 20;
/// How often the matcher looks for new records when it found none.
pub const MATCH_IDLE: std::time::Duration = std::time::Duration::from_secs(2);

/// One pass of the "known elsewhere" matcher: each index record not yet matched (a new
/// referral, a later stage, `haven people reindex`) is scored against the cases of other
/// teams that share its tokens; every one at or above [`KNOWN_AT`] that is open records an
/// alert on both cases (`known_elsewhere`, no content), audited `known_elsewhere.recorded`
/// (actor `system`). Returns how many records were matched (0: nothing waiting). Runs in
/// the background (`haven serve`, [`run_matcher`]): intake never waits for it.
pub async fn match_pending(
    storage: &Storage,
    registry: &crate::services::Registry,
    now: DateTime<Utc>,
) -> Result<usize, CaseError> {
    let pending = storage.unmatched_people(MATCH_BATCH).await?;
    if pending.is_empty() {
        return Ok(0);
    }
    let ids: Vec<String> = pending.iter().map(|p| p.referral_id.clone()).collect();
    let identities = storage.person_identities(&ids).await?;
    let params = storage.match_params().await?;
    let mut matched = Vec::with_capacity(pending.len());
    for p in pending {
        let mut others: Vec<(String, String)> = Vec::new();
        // A record whose case key was destroyed opens no identity: nothing to match.
        if let Some((_, identity)) = identities.iter().find(|(id, _)| *id == p.referral_id) {
            let tokens = storage.person_tokens(&identity.blocking_keys());
            let candidates: Vec<_> = storage
                .person_candidates(&tokens, Some(&p.referral_id), CANDIDATES)
                .await?
                .into_iter()
                .filter(|c| c.team != p.team)
                .filter(|c| {
                    registry
                        .get(&c.service)
                        .is_some_and(|def| !super::is_closed(def, &c.status))
                })
                .collect();
            let ids: Vec<String> = candidates.iter().map(|c| c.referral_id.clone()).collect();
            let theirs = storage.person_identities(&ids).await?;
            for c in &candidates {
                let Some((_, other)) = theirs.iter().find(|(id, _)| *id == c.referral_id) else {
                    continue;
                };
                if explain(&params, &compare(identity, other)).probability >= KNOWN_AT {
                    others.push((c.referral_id.clone(), c.service.clone()));
                }
            }
        }
        matched.push((p, others));
    }
    // One write for the whole pass: under load the matcher adds one transaction per
    // `MATCH_BATCH` referrals.
    storage.record_known_elsewhere(&matched, now).await?;
    Ok(matched.len())
}

/// How long intake must have been quiet (no new referral stored by this server) before the
/// matcher takes a pass.
pub const MATCH_YIELD: std::time::Duration = std::time::Duration::from_millis(250);
/// The longest the matcher gives way to intake before it takes a pass anyway, so a
/// sustained burst delays alerts by at most this much per pass instead of stopping them.
pub const MATCH_DEFER_AT_MOST: std::time::Duration = std::time::Duration::from_secs(30);

/// Whether the matcher should wait rather than take a pass now: referrals are arriving
/// (the last stored under [`MATCH_YIELD`] ago) and it has not yet waited
/// [`MATCH_DEFER_AT_MOST`]. Matching is an alert for staff, intake is a child's referral
/// being kept: on two cores a pass is CPU every waiting submission competes for, so during
/// a burst the matcher falls behind and catches up when it ends.
pub fn matcher_gives_way(
    intake_quiet_for: std::time::Duration,
    waited: std::time::Duration,
) -> bool {
    intake_quiet_for < MATCH_YIELD && waited < MATCH_DEFER_AT_MOST
}

/// The matcher of [`match_pending`], for ever: a pass, then another at once while records
/// were waiting, else after [`MATCH_IDLE`]; it gives way to intake ([`matcher_gives_way`]).
/// Several servers may run it: a record matched twice records the same alerts.
pub async fn run_matcher(
    storage: Storage,
    registry: crate::services::Registry,
    clock: crate::auth::Clock,
) {
    let mut waiting_since: Option<std::time::Instant> = None;
    loop {
        let waited = waiting_since.map_or(std::time::Duration::ZERO, |since| since.elapsed());
        if matcher_gives_way(storage.intake_quiet_for(), waited) {
            waiting_since.get_or_insert_with(std::time::Instant::now);
            tokio::time::sleep(MATCH_YIELD).await;
            continue;
        }
        waiting_since = None;
        match match_pending(&storage, &registry, clock.now()).await {
            Ok(0) => tokio::time::sleep(MATCH_IDLE).await,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "matching young people for the known elsewhere alert");
                tokio::time::sleep(MATCH_IDLE).await;
            }
        }
    }
}

/// Of the cases with these `(reference, service, team)`, those with a "known elsewhere"
/// alert `staff` may see: the young person matched an open case of another team (read now:
/// closing that case clears the alert), and the role has `see_known_elsewhere` for the
/// case's scope. One query for them all.
pub async fn alerted(
    cases: &Cases<'_>,
    staff: &Staff,
    rows: &[(&str, &str, &str)],
) -> Result<std::collections::HashSet<String>, CaseError> {
    let visible: Vec<String> = rows
        .iter()
        .filter(|(_, service, team)| {
            cases
                .policy
                .decide(
                    staff,
                    Action::SeeKnownElsewhere,
                    Some(CaseScope { service, team }),
                )
                .allowed()
        })
        .map(|(reference, _, _)| (*reference).to_owned())
        .collect();
    let found = cases.storage.known_elsewhere_of(&visible).await?;
    Ok(found
        .into_iter()
        .filter(|k| {
            cases
                .registry
                .get(&k.other_service)
                .is_some_and(|def| !super::is_closed(def, &k.other_status))
        })
        .map(|k| k.reference)
        .collect())
}

/// One event of a case's chronology joined with those of its linked cases.
#[derive(Debug, Clone)]
pub struct LinkedEvent {
    /// The case the event belongs to.
    pub reference: String,
    pub service: String,
    /// Whether it is the case being viewed.
    pub own: bool,
    pub entry: crate::storage::triage::ChronologyEntry,
}

/// A chronology across linked cases.
#[derive(Debug, Clone)]
pub struct LinkedChronology {
    /// Oldest first.
    pub events: Vec<LinkedEvent>,
    /// The references of the linked cases shown (or that would be, with `include_linked`).
    pub linked: Vec<String>,
}

/// The chronology of `referral` with those of every case confirmed as about the same young
/// person that belongs to the same team and that `staff` may open, oldest first, each event
/// labelled with its case. The caller has checked `staff` may open `referral`; its own
/// events are `own` (already read with the case). The linked cases' events are read in one
/// query and audited once (`referral.chronology_viewed`, the reason `linked:` and their
/// references). Rejected links and other teams' cases never appear. Without
/// `include_linked` ("this case only") only the linked cases' references are read.
pub async fn linked_chronology(
    cases: &Cases<'_>,
    staff: &Staff,
    referral: &Referral,
    own: &[crate::storage::triage::ChronologyEntry],
    include_linked: bool,
    now: DateTime<Utc>,
) -> Result<LinkedChronology, CaseError> {
    let linked: Vec<_> = cases
        .storage
        .confirmed_links(&referral.id)
        .await?
        .into_iter()
        .filter(|l| l.team == referral.team)
        .filter(|l| {
            cases
                .policy
                .decide(
                    staff,
                    Action::ViewCase,
                    Some(CaseScope {
                        service: &l.service,
                        team: &l.team,
                    }),
                )
                .allowed()
        })
        .collect();
    let mut events: Vec<LinkedEvent> = own
        .iter()
        .map(|e| LinkedEvent {
            reference: referral.reference.clone(),
            service: referral.service.clone(),
            own: true,
            entry: e.clone(),
        })
        .collect();
    let linked_references: Vec<String> = linked.iter().map(|l| l.reference.clone()).collect();
    if linked.is_empty() || !include_linked {
        return Ok(LinkedChronology {
            events,
            linked: linked_references,
        });
    }
    let ids: Vec<String> = linked.iter().map(|l| l.referral_id.clone()).collect();
    let mut entry = AuditEntry::new(
        now,
        staff.actor(),
        "referral.chronology_viewed",
        "referral",
        &referral.id,
    );
    let references: Vec<&str> = linked.iter().map(|l| l.reference.as_str()).collect();
    entry.reason = Some(format!("linked:{}", references.join(",")));
    // Audited before the events are read and shown.
    cases.storage.append_audit(&entry).await?;
    for (id, e) in cases.storage.chronologies(&ids).await? {
        if let Some(l) = linked.iter().find(|l| l.referral_id == id) {
            events.push(LinkedEvent {
                reference: l.reference.clone(),
                service: l.service.clone(),
                own: false,
                entry: e,
            });
        }
    }
    // Stable: each case's own order kept for events at the same time.
    events.sort_by_key(|a| a.entry.at);
    Ok(LinkedChronology {
        events,
        linked: linked_references,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_matcher_gives_way_while_referrals_arrive_but_not_for_ever() {
        // A referral stored 10 ms ago: wait, until the wait reaches its bound.
        assert!(matcher_gives_way(Duration::from_millis(10), Duration::ZERO));
        assert!(matcher_gives_way(
            Duration::from_millis(10),
            MATCH_DEFER_AT_MOST - Duration::from_millis(1)
        ));
        assert!(!matcher_gives_way(
            Duration::from_millis(10),
            MATCH_DEFER_AT_MOST
        ));
        // Intake quiet (or nothing stored since start): match now.
        assert!(!matcher_gives_way(MATCH_YIELD, Duration::ZERO));
        assert!(!matcher_gives_way(Duration::MAX, Duration::ZERO));
    }
}
