//! `haven match bench`: the matching engine on CSV files in the FEBRL column layout, linking
//! two files (`--left A.csv --right B.csv`) or deduplicating one (`--input A.csv`), with
//! precision, recall and F1 at a match probability (0.9), wall time and peak memory.
//!
//! It runs the production path in memory: each row becomes an `Identity` through the same
//! normalisation as a referral's answers (`FebrlRecord::identity`: names, date of birth,
//! address, postcode; never `soc_sec_id`), its blocking keys become blind tokens through the
//! same HMAC as the person index (`PersonIndexKey`, under a fixed benchmark key), each record's
//! candidates are the records sharing most tokens (at most 50, as the index's query), pairs
//! are compared and the weights fitted by EM (`linkage::fit`) and used to score. The
//! database round trip (sealing, SQL) is not part of it. Linking assigns one-to-one (each
//! record in at most one pair, the most probable first); deduplicating keeps every pair at
//! or above the threshold.
//!
//! Truth: `--truth T.csv` (a header, then two record ids a line), else from FEBRL record ids
//! (`rec-12-org`, `rec-12-dup-0`: the same person `12`).

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use haven_core::people::linkage::{
    self, Accuracy, CANDIDATES_PER_RECORD, FebrlRecord, accuracy, candidate_pairs, one_to_one,
};
use haven_core::people::{Identity, Params, compare};

use super::CliError;
use crate::crypto::SecretKey;
use crate::storage::people::PersonIndexKey;

/// The benchmark's blind-index key: fixed, so runs are repeatable (never a server's key).
/// ("haven match benchmark key public" in hex.)
const BENCH_KEY: &str = "686176656e206d617463682062656e63686d61726b206b6579207075626c6963";

#[derive(Debug, Args)]
pub(super) struct BenchArgs {
    /// Link two files: the first (FEBRL columns).
    #[arg(
        long,
        value_name = "A.csv",
        requires = "right",
        conflicts_with = "input"
    )]
    left: Option<PathBuf>,
    /// Link two files: the second.
    #[arg(long, value_name = "B.csv", requires = "left")]
    right: Option<PathBuf>,
    /// Deduplicate one file (FEBRL columns).
    #[arg(long, value_name = "A.csv", required_unless_present = "left")]
    input: Option<PathBuf>,
    /// The true pairs: a header line, then two record ids a line. Without it, from FEBRL
    /// record ids (`rec-12-org` and `rec-12-dup-0` are the same person).
    #[arg(long, value_name = "T.csv")]
    truth: Option<PathBuf>,
    /// The match probability at which a pair counts as a match.
    #[arg(long, default_value_t = 0.9)]
    threshold: f64,
    /// One JSON line instead of words.
    #[arg(long)]
    json: bool,
}

/// What one run measured.
struct Outcome {
    mode: &'static str,
    records: (usize, usize),
    pairs: usize,
    /// True pairs among the candidate pairs (blocking's recall).
    blocked: usize,
    fitted: bool,
    accuracy: Accuracy,
    seconds: f64,
    peak_mb: Option<f64>,
}

pub(super) fn run(args: BenchArgs) -> Result<(), CliError> {
    if !(0.0..=1.0).contains(&args.threshold) {
        return Err(CliError::bad("--threshold: give a probability from 0 to 1"));
    }
    let start = Instant::now();
    let key = SecretKey::from_hex(BENCH_KEY)
        .map(|secret| PersonIndexKey::derive(&secret))
        .ok_or_else(|| CliError::Failed(anyhow::anyhow!("the benchmark key is not hex")))?;
    let outcome = match (&args.left, &args.right, &args.input) {
        (Some(left), Some(right), _) => {
            let left = read_febrl(left)?;
            let right = read_febrl(right)?;
            let truth = match &args.truth {
                Some(path) => read_truth(path, &left, Some(&right))?,
                None => linkage::febrl_truth(&left, Some(&right)),
            };
            let (l, r) = (identities(&left), identities(&right));
            let pairs = candidate_pairs(
                &tokens(&key, &l),
                Some(&tokens(&key, &r)),
                CANDIDATES_PER_RECORD,
            );
            let random = linkage::random_pairs(l.len(), Some(r.len()), linkage::U_SAMPLE_PAIRS);
            let total = linkage::all_pairs(l.len(), Some(r.len()));
            let (scored, fitted) = score(&pairs, &random, total, &l, &r);
            let predicted = one_to_one(&scored, args.threshold);
            Outcome {
                mode: "link",
                records: (left.len(), right.len()),
                blocked: pairs.iter().filter(|p| truth.contains(p)).count(),
                pairs: pairs.len(),
                fitted,
                accuracy: accuracy(&predicted, &truth),
                seconds: start.elapsed().as_secs_f64(),
                peak_mb: peak_memory_mb(),
            }
        }
        (_, _, Some(input)) => {
            let records = read_febrl(input)?;
            let truth = match &args.truth {
                Some(path) => read_truth(path, &records, None)?,
                None => linkage::febrl_truth(&records, None),
            };
            let all = identities(&records);
            let pairs = candidate_pairs(&tokens(&key, &all), None, CANDIDATES_PER_RECORD);
            let random = linkage::random_pairs(all.len(), None, linkage::U_SAMPLE_PAIRS);
            let total = linkage::all_pairs(all.len(), None);
            let (scored, fitted) = score(&pairs, &random, total, &all, &all);
            let predicted: Vec<(u32, u32)> = scored
                .iter()
                .filter(|(_, _, p)| *p >= args.threshold)
                .map(|(i, j, _)| (*i, *j))
                .collect();
            Outcome {
                mode: "dedupe",
                records: (records.len(), 0),
                blocked: pairs.iter().filter(|p| truth.contains(p)).count(),
                pairs: pairs.len(),
                fitted,
                accuracy: accuracy(&predicted, &truth),
                seconds: start.elapsed().as_secs_f64(),
                peak_mb: peak_memory_mb(),
            }
        }
        _ => {
            return Err(CliError::bad(
                "give --left A.csv --right B.csv (link) or --input A.csv (dedupe)",
            ));
        }
    };
    print(&outcome, args.threshold, args.json);
    Ok(())
}

fn identities(records: &[FebrlRecord]) -> Vec<Identity> {
    records.iter().map(FebrlRecord::identity).collect()
}

/// Each identity's blocking keys as blind tokens, as the person index stores them.
fn tokens(key: &PersonIndexKey, identities: &[Identity]) -> Vec<Vec<String>> {
    identities
        .iter()
        .map(|identity| {
            identity
                .blocking_keys()
                .iter()
                .map(|plain| key.token(plain))
                .collect()
        })
        .collect()
}

/// Compares every candidate pair, fits the weights to them (EM), and scores each pair.
fn score(
    pairs: &[(u32, u32)],
    random: &[(u32, u32)],
    total_pairs: f64,
    left: &[Identity],
    right: &[Identity],
) -> (Vec<(u32, u32, f64)>, bool) {
    let compare_all = |pairs: &[(u32, u32)]| -> Vec<_> {
        pairs
            .iter()
            .map(|&(i, j)| compare(&left[i as usize], &right[j as usize]))
            .collect()
    };
    let comparisons = compare_all(pairs);
    let fitted = linkage::fit(&comparisons, &compare_all(random), total_pairs);
    let is_fitted = fitted.is_some();
    let params = fitted.unwrap_or_default();
    let scored = pairs
        .iter()
        .zip(&comparisons)
        .map(|(&(i, j), c)| (i, j, Params::probability(&params, c)))
        .collect();
    (scored, is_fitted)
}

/// Reads a CSV file with the FEBRL columns (by header name; `soc_sec_id` is not read).
fn read_febrl(path: &Path) -> Result<Vec<FebrlRecord>, CliError> {
    let shown = path.display();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(|e| CliError::bad(format!("{shown}: {e}")))?;
    let headers = reader
        .headers()
        .map_err(|e| CliError::bad(format!("{shown}: {e}")))?
        .clone();
    let column = |name: &str| -> Result<usize, CliError> {
        headers
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| CliError::bad(format!("{shown}: no column {name}")))
    };
    let cols = [
        column("rec_id")?,
        column("given_name")?,
        column("surname")?,
        column("street_number")?,
        column("address_1")?,
        column("address_2")?,
        column("suburb")?,
        column("postcode")?,
        column("state")?,
        column("date_of_birth")?,
    ];
    let mut out = Vec::new();
    for (n, row) in reader.records().enumerate() {
        let row = row.map_err(|e| CliError::bad(format!("{shown}: line {}: {e}", n + 2)))?;
        let get = |i: usize| row.get(cols[i]).unwrap_or("").trim().to_owned();
        out.push(FebrlRecord {
            rec_id: get(0),
            given_name: get(1),
            surname: get(2),
            street_number: get(3),
            address_1: get(4),
            address_2: get(5),
            suburb: get(6),
            postcode: get(7),
            state: get(8),
            date_of_birth: get(9),
        });
    }
    Ok(out)
}

/// Reads true pairs of record ids (a header, then two ids a line) as index pairs: linking,
/// (left, right) whichever order the line gives them; deduplicating, (smaller, larger).
fn read_truth(
    path: &Path,
    left: &[FebrlRecord],
    right: Option<&[FebrlRecord]>,
) -> Result<HashSet<(u32, u32)>, CliError> {
    let shown = path.display();
    let index = |records: &[FebrlRecord]| -> HashMap<String, u32> {
        records
            .iter()
            .enumerate()
            .map(|(i, r)| (r.rec_id.clone(), i as u32))
            .collect()
    };
    let l = index(left);
    let r = right.map(index);
    let mut reader =
        csv::Reader::from_path(path).map_err(|e| CliError::bad(format!("{shown}: {e}")))?;
    let mut truth = HashSet::new();
    for (n, row) in reader.records().enumerate() {
        let line = n + 2;
        let row = row.map_err(|e| CliError::bad(format!("{shown}: line {line}: {e}")))?;
        let (Some(a), Some(b)) = (row.get(0).map(str::trim), row.get(1).map(str::trim)) else {
            return Err(CliError::bad(format!(
                "{shown}: line {line}: give two record ids"
            )));
        };
        let unknown = || CliError::bad(format!("{shown}: line {line}: unknown record id"));
        let pair = match &r {
            Some(r) => match (l.get(a), r.get(b), l.get(b), r.get(a)) {
                (Some(&i), Some(&j), _, _) | (_, _, Some(&i), Some(&j)) => (i, j),
                _ => return Err(unknown()),
            },
            None => match (l.get(a), l.get(b)) {
                (Some(&i), Some(&j)) if i != j => (i.min(j), i.max(j)),
                _ => return Err(unknown()),
            },
        };
        truth.insert(pair);
    }
    Ok(truth)
}

/// The process's peak resident memory (Linux `VmHWM`), in megabytes.
fn peak_memory_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn print(o: &Outcome, threshold: f64, json: bool) {
    let a = &o.accuracy;
    let mut out = std::io::stdout().lock();
    if json {
        let value = serde_json::json!({
            "tool": "Haven",
            "mode": o.mode,
            "records": [o.records.0, o.records.1],
            "candidate_pairs": o.pairs,
            "true_pairs_blocked": o.blocked,
            "fitted": o.fitted,
            "threshold": threshold,
            "true_positives": a.true_positives,
            "false_positives": a.false_positives,
            "false_negatives": a.false_negatives,
            "precision": a.precision,
            "recall": a.recall,
            "f1": a.f1,
            "seconds": o.seconds,
            "peak_mb": o.peak_mb,
        });
        let _ = writeln!(out, "{value}");
        return;
    }
    let records = if o.mode == "link" {
        format!("{} and {} records", o.records.0, o.records.1)
    } else {
        format!("{} records", o.records.0)
    };
    let weights = if o.fitted {
        "weights fitted by EM"
    } else {
        "too few pairs to fit: default weights"
    };
    let _ = writeln!(
        out,
        "haven match bench ({}): {records}, {} candidate pairs ({} of {} true pairs among them), {weights}",
        o.mode,
        o.pairs,
        o.blocked,
        a.true_positives + a.false_negatives
    );
    let _ = writeln!(
        out,
        "at match probability {threshold}: precision {:.4}, recall {:.4}, F1 {:.4} ({} right, {} wrong, {} missed)",
        a.precision, a.recall, a.f1, a.true_positives, a.false_positives, a.false_negatives
    );
    let memory = o
        .peak_mb
        .map_or_else(|| "unknown".to_owned(), |mb| format!("{mb:.1} MB"));
    let _ = writeln!(out, "wall time {:.3} s, peak memory {memory}", o.seconds);
}
