//! Fellegi–Sunter scoring: for each field and level, `m` (how often records of the same
//! person are at that level) and `u` (how often records of different people are); a field's
//! weight is log2(m/u) and the match probability follows from the prior odds and the sum of
//! weights. [`estimate`] fits m, u and the prior to candidate pairs by expectation
//! maximisation, so the weights come from the data, not from guesses.

use serde::{Deserialize, Serialize};

use super::compare::{Comparison, Field};

/// Smallest probability a level keeps, so no weight is infinite.
pub(crate) const FLOOR: f64 = 1e-5;

/// Smallest prior a pair's probability starts from: the prior is the share of all pairs of
/// an index that are the same person, about one in the number of people indexed.
pub(crate) const PRIOR_FLOOR: f64 = 1e-12;

/// The m and u probabilities of every field's levels, and the prior probability that a
/// compared (blocked) pair is a match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Params {
    pub prior: f64,
    /// `m[field][level]`, in [`Field::ALL`] order.
    pub m: Vec<Vec<f64>>,
    pub u: Vec<Vec<f64>>,
}

impl Default for Params {
    /// Starting values (and what is used before any data has been fitted): matches mostly
    /// agree exactly, non-matches mostly differ. Level order: different, …, the same.
    fn default() -> Self {
        let m = vec![
            vec![0.03, 0.07, 0.10, 0.80], // given name
            vec![0.03, 0.07, 0.10, 0.80], // family name
            vec![0.03, 0.05, 0.04, 0.88], // date of birth
            vec![0.05, 0.03, 0.04, 0.88], // postcode
            vec![0.08, 0.10, 0.12, 0.70], // address
            vec![0.15, 0.85],             // school
            vec![0.30, 0.70],             // contact
        ];
        let u = vec![
            vec![0.90, 0.06, 0.03, 0.01],
            vec![0.93, 0.05, 0.015, 0.005],
            vec![0.96, 0.03, 0.005, 0.005],
            vec![0.80, 0.12, 0.05, 0.03],
            vec![0.90, 0.08, 0.015, 0.005],
            vec![0.90, 0.10],
            vec![0.995, 0.005],
        ];
        Params { prior: 0.01, m, u }
    }
}

/// One field's part of a match decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    pub field: Field,
    pub level: u8,
    /// log2(m/u): positive for evidence of the same person, negative against.
    pub weight: f64,
}

impl Reason {
    /// "Date of birth: day and month swapped".
    pub fn words(&self) -> String {
        format!(
            "{}: {}",
            self.field.label(),
            self.field.level_label(self.level)
        )
    }

    /// How strongly this field speaks for or against the same young person, in words for
    /// staff ("strong agreement", "disagrees"), from its weight (log2 of the likelihood
    /// ratio: 3 bits is 8 times likelier, 1 bit twice as likely).
    pub fn strength_words(&self) -> &'static str {
        strength_words(self.weight)
    }
}

/// A field's weight (log2(m/u)) in words: "strong agreement" (8 times likelier or more for
/// the same person), "agreement" (twice or more), "weak agreement", "says little either
/// way", "weak disagreement", "disagrees" (half as likely or less), "strongly disagrees".
pub fn strength_words(weight: f64) -> &'static str {
    if weight >= 3.0 {
        "strong agreement"
    } else if weight >= 1.0 {
        "agreement"
    } else if weight >= 0.25 {
        "weak agreement"
    } else if weight > -0.25 {
        "says little either way"
    } else if weight > -1.0 {
        "weak disagreement"
    } else if weight > -3.0 {
        "disagrees"
    } else {
        "strongly disagrees"
    }
}

/// A match probability and why: every field both records had, its level and weight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub probability: f64,
    /// Sum of the weights plus the prior's log2 odds.
    pub total: f64,
    pub reasons: Vec<Reason>,
}

impl Params {
    /// Whether these parameters fit the comparison levels of today's fields (stored
    /// parameters from an older level layout do not, and are not used).
    pub fn is_well_formed(&self) -> bool {
        let probabilities = |rows: &[Vec<f64>]| {
            rows.len() == Field::ALL.len()
                && Field::ALL.iter().zip(rows).all(|(f, row)| {
                    row.len() == f.levels() && row.iter().all(|p| p.is_finite() && *p >= 0.0)
                })
        };
        self.prior.is_finite()
            && self.prior > 0.0
            && self.prior < 1.0
            && probabilities(&self.m)
            && probabilities(&self.u)
    }

    /// The weight of a field at a level.
    pub fn weight(&self, field: Field, level: u8) -> f64 {
        let f = field as usize;
        let l = usize::from(level);
        match (
            self.m.get(f).and_then(|m| m.get(l)),
            self.u.get(f).and_then(|u| u.get(l)),
        ) {
            (Some(m), Some(u)) => (m.max(FLOOR) / u.max(FLOOR)).log2(),
            _ => 0.0,
        }
    }

    /// The match probability of a comparison.
    pub fn probability(&self, c: &Comparison) -> f64 {
        explain(self, c).probability
    }
}

/// The probability and explanation of one comparison.
pub fn explain(params: &Params, c: &Comparison) -> Explanation {
    let prior = params.prior.clamp(PRIOR_FLOOR, 1.0 - FLOOR);
    let mut total = (prior / (1.0 - prior)).log2();
    let mut reasons = Vec::new();
    for field in Field::ALL {
        if let Some(level) = c.level(field) {
            let weight = params.weight(field, level);
            total += weight;
            reasons.push(Reason {
                field,
                level,
                weight,
            });
        }
    }
    Explanation {
        probability: 1.0 / (1.0 + (-total).exp2()),
        total,
        reasons,
    }
}

/// Fits m, u and the prior to the comparisons of candidate pairs by expectation
/// maximisation, starting from `start`, for at most `iterations` rounds (it stops earlier
/// once the parameters settle). Fields no pair has keep their starting values.
pub fn estimate(pairs: &[Comparison], start: &Params, iterations: usize) -> Params {
    let mut params = start.clone();
    if pairs.is_empty() {
        return params;
    }
    for _ in 0..iterations {
        // E: the probability each pair is a match under the current parameters.
        let weights: Vec<f64> = pairs.iter().map(|c| params.probability(c)).collect();
        // M: m and u as weighted level frequencies, the prior as the mean.
        let mut next = params.clone();
        let total: f64 = weights.iter().sum();
        // Not capped at a half: tight blocking can give more matches than not.
        next.prior = (total / pairs.len() as f64).clamp(FLOOR, 1.0 - FLOOR);
        for field in Field::ALL {
            let f = field as usize;
            let n = field.levels();
            let mut m = vec![0.0; n];
            let mut u = vec![0.0; n];
            for (c, p) in pairs.iter().zip(&weights) {
                if let Some(level) = c.level(field) {
                    let l = usize::from(level).min(n - 1);
                    m[l] += p;
                    u[l] += 1.0 - p;
                }
            }
            let (sm, su): (f64, f64) = (m.iter().sum(), u.iter().sum());
            if sm > 0.0 {
                next.m[f] = m.iter().map(|x| (x / sm).max(FLOOR)).collect();
            }
            if su > 0.0 {
                next.u[f] = u.iter().map(|x| (x / su).max(FLOOR)).collect();
            }
        }
        let change = (next.prior - params.prior).abs()
            + next
                .m
                .iter()
                .flatten()
                .zip(params.m.iter().flatten())
                .map(|(a, b)| (a - b).abs())
                .sum::<f64>();
        params = next;
        if change < 1e-6 {
            break;
        }
    }
    params
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::people::{IdentifierKind, Identity, compare};
    use proptest::prelude::*;

    fn person(name: &str, dob: &str, postcode: &str) -> Identity {
        let mut p = Identity::default();
        p.add(IdentifierKind::FullName, name);
        p.add(IdentifierKind::DateOfBirth, dob);
        p.add(IdentifierKind::Postcode, postcode);
        p
    }

    #[test]
    fn weights_in_words() {
        assert_eq!(strength_words(6.2), "strong agreement");
        assert_eq!(strength_words(1.5), "agreement");
        assert_eq!(strength_words(0.5), "weak agreement");
        assert_eq!(strength_words(0.0), "says little either way");
        assert_eq!(strength_words(-0.5), "weak disagreement");
        assert_eq!(strength_words(-2.0), "disagrees");
        assert_eq!(strength_words(-7.0), "strongly disagrees");
    }

    #[test]
    fn same_child_misspelt_and_transposed_is_likely_a_match() {
        let params = Params::default();
        let a = person("Jayden O'Neil", "2011-03-07", "TS5 6AB");
        let b = person("Jaiden Oneill", "2011-07-03", "TS5 6AB");
        let e = explain(&params, &compare(&a, &b));
        assert!(e.probability > 0.9, "{e:?}");
        assert!(
            e.reasons
                .iter()
                .any(|r| r.field == Field::DateOfBirth && r.level == 2)
        );
        let c = person("Amira Khan", "2010-01-15", "TS1 2AA");
        assert!(params.probability(&compare(&a, &c)) < 0.01);
    }

    #[test]
    fn em_learns_from_data() {
        // 50 matching pairs (agree) and 500 non-matching pairs (differ).
        let same = Comparison {
            levels: [Some(3), Some(3), Some(3), Some(3), None, None, None],
        };
        let near = Comparison {
            levels: [Some(2), Some(3), Some(2), Some(3), None, None, None],
        };
        let other = Comparison {
            levels: [Some(0), Some(0), Some(0), Some(1), None, None, None],
        };
        let mut pairs = vec![same; 40];
        pairs.extend(vec![near; 10]);
        pairs.extend(vec![other; 500]);
        let fitted = estimate(&pairs, &Params::default(), 100);
        assert!(
            (fitted.prior - 50.0 / 550.0).abs() < 0.01,
            "{}",
            fitted.prior
        );
        assert!(fitted.probability(&near) > 0.99);
        assert!(fitted.probability(&other) < 0.01);
        // m of "date transposed" is learnt from the near pairs: 10 of 50.
        assert!((fitted.m[Field::DateOfBirth as usize][2] - 0.2).abs() < 0.02);
        assert!(fitted.is_well_formed() && Params::default().is_well_formed());
        let mut short = fitted.clone();
        short.m.pop();
        assert!(!short.is_well_formed());
    }

    proptest! {
        #[test]
        fn probability_is_a_probability_and_symmetric(
            a in "[A-Za-z]{1,8} [A-Za-z]{1,8}", b in "[A-Za-z]{1,8} [A-Za-z]{1,8}",
            da in 1u32..28, db in 1u32..28,
        ) {
            let x = person(&a, &format!("2010-03-{da:02}"), "TS1 1AA");
            let y = person(&b, &format!("2010-03-{db:02}"), "TS1 1AB");
            let p = Params::default().probability(&compare(&x, &y));
            let q = Params::default().probability(&compare(&y, &x));
            prop_assert!((0.0..=1.0).contains(&p));
            prop_assert!((p - q).abs() < 1e-9);
            let same = Params::default().probability(&compare(&x, &x));
            prop_assert!(same >= p - 1e-9);
        }
    }
}
