//! Matching many records at once: the candidate pairs blocking gives (the same rule the
//! person index uses for one referral), fitting the weights to them, one-to-one assignment,
//! precision and recall against known truth, and records in the FEBRL column layout (the
//! benchmark data sets of `haven match bench`). Pure: tokens in, pairs out.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;

use super::compare::Field;
use super::score::{FLOOR, PRIOR_FLOOR, Params, estimate};
use super::{Comparison, IdentifierKind, Identity};

/// Most candidates one record is scored against: the same limit as the person index's
/// query for one referral (most shared tokens first).
pub const CANDIDATES_PER_RECORD: usize = 50;

/// Fewest candidate pairs the weights are fitted to; with fewer, the defaults stay.
pub const MIN_FIT_PAIRS: usize = 50;

/// Most EM rounds.
pub const FIT_ITERATIONS: usize = 200;

/// The candidate pairs of two sets of records (`right: Some`, linking: `(left, right)`
/// indexes) or of one set (`right: None`, deduplicating: `(i, j)` with `i < j`). Each record
/// is paired with the records sharing at least one of its tokens, at most `per_record` of
/// them, those sharing most tokens first (ties: the earlier record), exactly as the person
/// index chooses a referral's candidates. Each pair appears once.
pub fn candidate_pairs<T: Hash + Eq>(
    left: &[Vec<T>],
    right: Option<&[Vec<T>]>,
    per_record: usize,
) -> Vec<(u32, u32)> {
    let other = right.unwrap_or(left);
    let mut index: HashMap<&T, Vec<u32>> = HashMap::new();
    for (i, tokens) in other.iter().enumerate() {
        for t in tokens {
            index.entry(t).or_default().push(i as u32);
        }
    }
    let mut pairs = Vec::new();
    let mut counts: HashMap<u32, u32> = HashMap::new();
    let mut ranked: Vec<(u32, u32)> = Vec::new();
    for (i, tokens) in left.iter().enumerate() {
        let i = i as u32;
        counts.clear();
        for t in tokens {
            if let Some(ids) = index.get(t) {
                for &j in ids {
                    if right.is_none() && j == i {
                        continue;
                    }
                    *counts.entry(j).or_default() += 1;
                }
            }
        }
        ranked.clear();
        ranked.extend(counts.iter().map(|(&j, &n)| (j, n)));
        ranked.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        for &(j, _) in ranked.iter().take(per_record) {
            pairs.push(if right.is_none() && j < i {
                (j, i)
            } else {
                (i, j)
            });
        }
    }
    if right.is_none() {
        pairs.sort_unstable();
        pairs.dedup();
    }
    pairs
}

/// How many matching pairs' worth of the starting `m` is mixed into the fitted `m`.
pub const M_PRIOR_PAIRS: f64 = 10.0;

/// Random pairs compared to learn `u` (how often different people agree by chance).
pub const U_SAMPLE_PAIRS: usize = 20_000;

/// Up to `count` pairs drawn at random (the same ones every time: a fixed seed) from all the
/// pairs of two sets of records (`right: Some(len)`, `(left, right)` indexes) or of one set
/// (`(i, j)`, `i < j`); every pair when there are no more than `count`.
pub fn random_pairs(left: usize, right: Option<usize>, count: usize) -> Vec<(u32, u32)> {
    let total = all_pairs(left, right);
    if total <= count as f64 {
        return match right {
            Some(r) => (0..left as u32)
                .flat_map(|i| (0..r as u32).map(move |j| (i, j)))
                .collect(),
            None => (0..left as u32)
                .flat_map(|i| (i + 1..left as u32).map(move |j| (i, j)))
                .collect(),
        };
    }
    // splitmix64: a small, well-mixed generator; pure and repeatable.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = |below: usize| -> u32 {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z % below as u64) as u32
    };
    let mut pairs = Vec::with_capacity(count);
    while pairs.len() < count {
        let i = next(left);
        match right {
            Some(r) => pairs.push((i, next(r))),
            None => {
                let j = next(left);
                if i != j {
                    pairs.push((i.min(j), i.max(j)));
                }
            }
        }
    }
    pairs
}

/// How many pairs two sets of records (or one) have.
pub fn all_pairs(left: usize, right: Option<usize>) -> f64 {
    match right {
        Some(r) => left as f64 * r as f64,
        None => left as f64 * left.saturating_sub(1) as f64 / 2.0,
    }
}

/// The weights for scoring, or `None` when there are fewer than [`MIN_FIT_PAIRS`] candidate
/// pairs (too few to say anything).
///
/// Candidate pairs alone cannot say how often *different* people agree: blocking chose them
/// for sharing names, dates and postcodes, so the different people among them agree far
/// more than people do at large, and EM on them alone learnt that an exact surname or date
/// of birth says little while the address said almost everything (a true pair with a
/// changed address was missed). So, as Splink does, `u` comes from `random` (comparisons of
/// random pairs of all the records: nearly all different people), `m` from EM on the
/// candidate pairs, and the prior is the share of all `total_pairs` pairs that are the same
/// person (EM's count of matches among the candidates, over every pair), which is what a
/// pair's probability starts from before its fields are compared.
pub fn fit(candidates: &[Comparison], random: &[Comparison], total_pairs: f64) -> Option<Params> {
    if candidates.len() < MIN_FIT_PAIRS {
        return None;
    }
    let defaults = Params::default();
    let mut params = estimate(candidates, &defaults, FIT_ITERATIONS);
    let matches = params.prior * candidates.len() as f64;
    // `m` as if the starting values had been seen in a few more matching pairs: a level no
    // matching candidate reached (no transposed date in the data fitted) keeps a little of
    // its starting belief instead of counting against the same person wherever it appears,
    // and a small index does not swing on a handful of pairs. Many matches outweigh it.
    for (m, start) in params.m.iter_mut().zip(&defaults.m) {
        for (p, s) in m.iter_mut().zip(start) {
            *p = (*p * matches + M_PRIOR_PAIRS * s) / (matches + M_PRIOR_PAIRS);
        }
    }
    if !random.is_empty() && total_pairs >= candidates.len() as f64 {
        for field in Field::ALL {
            let f = field as usize;
            let n = field.levels();
            let mut counts = vec![0.0; n];
            for c in random {
                if let Some(level) = c.level(field) {
                    counts[usize::from(level).min(n - 1)] += 1.0;
                }
            }
            let seen: f64 = counts.iter().sum();
            if seen > 0.0 {
                // Half a pair added to each level: a level no random pair reached is rare,
                // not impossible (its weight stays finite and near what the sample can say).
                let smoothed = seen + 0.5 * n as f64;
                params.u[f] = counts.iter().map(|x| (x + 0.5) / smoothed).collect();
            }
        }
        params.prior = (matches / total_pairs).clamp(PRIOR_FLOOR, 1.0 - FLOOR);
    }
    Some(params)
}

/// Pairs at or above `threshold`, each record in at most one (linking two lists in which
/// each person appears at most once): the most probable pairs first, greedily.
pub fn one_to_one(scored: &[(u32, u32, f64)], threshold: f64) -> Vec<(u32, u32)> {
    let mut sorted: Vec<&(u32, u32, f64)> =
        scored.iter().filter(|(_, _, p)| *p >= threshold).collect();
    sorted.sort_by(|a, b| b.2.total_cmp(&a.2).then((a.0, a.1).cmp(&(b.0, b.1))));
    let (mut used_l, mut used_r) = (HashSet::new(), HashSet::new());
    let mut out = Vec::new();
    for &&(l, r, _) in &sorted {
        if used_l.contains(&l) || used_r.contains(&r) {
            continue;
        }
        used_l.insert(l);
        used_r.insert(r);
        out.push((l, r));
    }
    out
}

/// Precision, recall and F1 of predicted pairs against true pairs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Accuracy {
    pub true_positives: usize,
    pub false_positives: usize,
    pub false_negatives: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// Compares predicted pairs with the truth (both as the same kind of pair: `(left, right)`
/// when linking, `(i, j)` with `i < j` when deduplicating).
pub fn accuracy(predicted: &[(u32, u32)], truth: &HashSet<(u32, u32)>) -> Accuracy {
    let predicted: HashSet<(u32, u32)> = predicted.iter().copied().collect();
    let tp = predicted.intersection(truth).count();
    let fp = predicted.len() - tp;
    let fn_ = truth.len() - tp;
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let precision = ratio(tp, tp + fp);
    let recall = ratio(tp, tp + fn_);
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    Accuracy {
        true_positives: tp,
        false_positives: fp,
        false_negatives: fn_,
        precision,
        recall,
        f1,
    }
}

/// One record in the FEBRL column layout (`rec_id, given_name, surname, street_number,
/// address_1, address_2, suburb, postcode, state, date_of_birth, soc_sec_id`). The social
/// security number is never read: a referral has no such field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FebrlRecord {
    pub rec_id: String,
    pub given_name: String,
    pub surname: String,
    pub street_number: String,
    pub address_1: String,
    pub address_2: String,
    pub suburb: String,
    pub postcode: String,
    pub state: String,
    pub date_of_birth: String,
}

impl FebrlRecord {
    /// The record as a referral's answers would give it: the given name, the family name,
    /// the date of birth (`YYYYMMDD`), the postcode, and the address written in one piece
    /// (number, street, locality, suburb, state), each through the same normalisation as an
    /// answer.
    pub fn identity(&self) -> Identity {
        let mut identity = Identity::default();
        identity.add(IdentifierKind::GivenName, &self.given_name);
        identity.add(IdentifierKind::FamilyName, &self.surname);
        identity.add(IdentifierKind::DateOfBirth, &self.date_of_birth);
        identity.add(IdentifierKind::Postcode, &self.postcode);
        let address = [
            &self.street_number,
            &self.address_1,
            &self.address_2,
            &self.suburb,
            &self.state,
        ]
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
        identity.add(IdentifierKind::Address, &address);
        identity
    }

    /// The person a FEBRL record is of: `rec-12-org` and `rec-12-dup-0` are both `12`.
    pub fn entity(&self) -> Option<&str> {
        let rest = self.rec_id.trim().strip_prefix("rec-")?;
        let (entity, kind) = rest.split_once('-')?;
        (kind == "org" || kind.starts_with("dup")).then_some(entity)
    }
}

/// True pairs from FEBRL record ids, when no truth file is given: linking, every left and
/// right record of the same person; deduplicating, every two records of the same person.
pub fn febrl_truth(left: &[FebrlRecord], right: Option<&[FebrlRecord]>) -> HashSet<(u32, u32)> {
    let mut by_entity: HashMap<&str, Vec<u32>> = HashMap::new();
    for (j, r) in right.unwrap_or(left).iter().enumerate() {
        if let Some(e) = r.entity() {
            by_entity.entry(e).or_default().push(j as u32);
        }
    }
    let mut truth = HashSet::new();
    for (i, l) in left.iter().enumerate() {
        let i = i as u32;
        let Some(same) = l.entity().and_then(|e| by_entity.get(e)) else {
            continue;
        };
        for &j in same {
            match right {
                Some(_) => {
                    truth.insert((i, j));
                }
                None if i < j => {
                    truth.insert((i, j));
                }
                None => {}
            }
        }
    }
    truth
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, given: &str, surname: &str, dob: &str) -> FebrlRecord {
        FebrlRecord {
            rec_id: id.to_owned(),
            given_name: given.to_owned(),
            surname: surname.to_owned(),
            street_number: "12".to_owned(),
            address_1: "wilkins street".to_owned(),
            suburb: "bundaberg".to_owned(),
            postcode: "4670".to_owned(),
            state: "qld".to_owned(),
            date_of_birth: dob.to_owned(),
            ..FebrlRecord::default()
        }
    }

    #[test]
    fn febrl_records_become_identities_and_truth() {
        let a = record("rec-12-org", "thomas", "o'brien", "19820914");
        let b = record("rec-12-dup-0", "tom", "obrein", "19821409");
        let c = record("rec-7-org", "amy", "nguyen", "19700101");
        assert_eq!(a.entity(), Some("12"));
        assert_eq!(b.entity(), Some("12"));
        let ia = a.identity();
        assert_eq!(ia.given, ["THOMAS"]);
        assert_eq!(ia.family.as_deref(), Some("OBRIEN"));
        assert_eq!(ia.postcode.as_deref(), Some("4670"));
        assert_eq!(
            ia.address.as_deref(),
            Some("12 WILKINS STREET BUNDABERG QLD")
        );
        assert_eq!(b.identity().date_of_birth, None, "not a date");
        let truth = febrl_truth(&[a.clone(), b.clone(), c.clone()], None);
        assert_eq!(truth, HashSet::from([(0, 1)]));
        let truth = febrl_truth(&[a, c.clone()], Some(&[c, b]));
        assert_eq!(truth, HashSet::from([(0, 1), (1, 0)]));
    }

    #[test]
    fn candidates_share_a_token_most_shared_first() {
        let left = vec![vec!["x", "y"], vec!["z"]];
        let right = vec![vec!["y"], vec!["x", "y"], vec!["q"]];
        assert_eq!(
            candidate_pairs(&left, Some(&right), 50),
            [(0, 1), (0, 0)].to_vec()
        );
        assert_eq!(candidate_pairs(&left, Some(&right), 1), [(0, 1)].to_vec());
        let one = vec![vec!["a"], vec!["a", "b"], vec!["b"], vec!["c"]];
        assert_eq!(candidate_pairs(&one, None, 50), [(0, 1), (1, 2)].to_vec());
    }

    #[test]
    fn random_pairs_cover_small_sets_and_sample_large_ones() {
        assert_eq!(random_pairs(3, None, 10), [(0, 1), (0, 2), (1, 2)].to_vec());
        assert_eq!(random_pairs(2, Some(2), 10).len(), 4);
        let sample = random_pairs(1000, None, 500);
        assert_eq!(sample.len(), 500);
        assert!(sample.iter().all(|&(i, j)| i < j && j < 1000));
        assert_eq!(sample, random_pairs(1000, None, 500), "repeatable");
        let linked = random_pairs(100, Some(50), 200);
        assert!(linked.iter().all(|&(i, j)| i < 100 && j < 50));
        assert_eq!(all_pairs(4, None), 6.0);
        assert_eq!(all_pairs(4, Some(5)), 20.0);
    }

    #[test]
    fn u_comes_from_random_pairs_and_the_prior_from_all_pairs() {
        // Candidates, as blocking finds them: 40 of the same person, and 60 different people
        // who share a surname and a date of birth (so, among candidates, agreeing on them
        // says little).
        let same = Comparison {
            levels: [Some(3), Some(3), Some(3), Some(3), Some(3), None, None],
        };
        let alike = Comparison {
            levels: [Some(0), Some(3), Some(3), Some(0), Some(0), None, None],
        };
        let mut candidates = vec![same; 40];
        candidates.extend(vec![alike; 60]);
        // Random pairs: different people, who rarely share anything.
        let apart = Comparison {
            levels: [Some(0), Some(0), Some(0), Some(0), Some(0), None, None],
        };
        let mut random = vec![apart; 990];
        random.extend(vec![alike; 10]);
        let params = fit(&candidates, &random, 100_000.0).expect("enough pairs");
        let family = Field::FamilyName as usize;
        assert!((params.u[family][3] - 10.5 / 1002.0).abs() < 1e-9);
        assert!(params.weight(Field::FamilyName, 3) > 5.0);
        assert!((params.prior - 40.0 / 100_000.0).abs() < 1e-5);
        assert!(params.is_well_formed());
        // No pair had a transposed date: it still speaks for the same person, a little.
        assert!(params.weight(Field::DateOfBirth, 2) > 0.0);
        // The same person still scores as such from the prior of all pairs.
        assert!(params.probability(&same) > 0.99);
        assert!(params.probability(&alike) < 0.5);
    }

    #[test]
    fn one_to_one_keeps_the_best_pair_of_each_record() {
        let scored = [(0, 0, 0.95), (0, 1, 0.99), (1, 1, 0.97), (2, 2, 0.5)];
        assert_eq!(one_to_one(&scored, 0.9), [(0, 1)].to_vec());
        let truth = HashSet::from([(0, 0), (1, 1)]);
        let acc = accuracy(&[(0, 0), (2, 1)], &truth);
        assert_eq!((acc.true_positives, acc.false_positives), (1, 1));
        assert!((acc.precision - 0.5).abs() < 1e-9 && (acc.recall - 0.5).abs() < 1e-9);
        assert!((acc.f1 - 0.5).abs() < 1e-9);
        assert_eq!(fit(&[], &[], 0.0), None);
    }
}
