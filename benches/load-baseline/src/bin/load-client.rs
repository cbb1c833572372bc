//! The load generator of `benches/load.sh`: POSTs a submission at fixed concurrency for a
//! fixed time, each request naming a DIFFERENT young person (name, date of birth, address),
//! and prints created per second (201 answers only), p50 and p99 latency and the statuses.
//!
//! Usage: `load-client URL[,URL…] BODY_FILE SECONDS CONCURRENCY`: with several URLs (servers
//! sharing one database) the workers are spread over them in turn.
//!
//! `hey` (used before) sends one body again and again, so every referral named the same
//! child: Haven's background "known elsewhere" matcher then compared each new referral with
//! all the earlier ones of that child (thousands by the end of a run), which real intake never
//! does, and the benchmark measured the matcher instead of intake. No packaged load generator
//! varies a JSON body per request, hence this small one.
#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

const FIRST_NAMES: [&str; 24] = [
    "Chloe", "Amelia", "Olivia", "Isla", "Ava", "Mia", "Ruby", "Grace", "Freya", "Ella", "Poppy",
    "Evie", "Oliver", "Jack", "Harry", "Noah", "Leo", "Charlie", "George", "Oscar", "Alfie",
    "Jacob", "Thomas", "Kai",
];
const LAST_NAMES: [&str; 24] = [
    "Marsh", "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies",
    "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
    "Wood", "Jackson", "Clarke", "Hughes", "Patel", "Khan",
];
const TOWNS: [(&str, &str); 6] = [
    ("Middlesbrough", "TS1"),
    ("Stockton-on-Tees", "TS18"),
    ("Hartlepool", "TS24"),
    ("Redcar", "TS10"),
    ("Darlington", "DL1"),
    ("Guisborough", "TS14"),
];

/// The `n`th child: a name, a date of birth and an address, spread so that names repeat
/// (as they do) but the same person (name, birth date and postcode) almost never does.
fn child(n: u64) -> (String, String, String) {
    let mix = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let pick = |shift: u32, len: usize| ((mix >> shift) as usize) % len;
    let name = format!(
        "{} {}",
        FIRST_NAMES[pick(0, FIRST_NAMES.len())],
        LAST_NAMES[pick(8, LAST_NAMES.len())]
    );
    let born = format!(
        "{}-{:02}-{:02}",
        2008 + pick(16, 8),
        1 + pick(24, 12),
        1 + pick(32, 28)
    );
    let (town, area) = TOWNS[pick(40, TOWNS.len())];
    let address = format!(
        "{} {} Street, {town} {area} {}{}",
        1 + pick(44, 180),
        LAST_NAMES[pick(52, LAST_NAMES.len())],
        1 + pick(56, 9),
        ["AB", "CD", "EF", "GH", "JL", "NP"][pick(60, 6)]
    );
    (name, born, address)
}

fn body_for(template: &Value, n: u64) -> Result<Bytes, serde_json::Error> {
    let mut body = template.clone();
    if let Some(person) = body
        .pointer_mut("/answers/young_person")
        .and_then(Value::as_object_mut)
    {
        let (name, born, address) = child(n);
        person.insert("name".to_owned(), Value::String(name));
        person.insert("date_of_birth".to_owned(), Value::String(born));
        person.insert("address".to_owned(), Value::String(address));
    }
    serde_json::to_vec(&body).map(Bytes::from)
}

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u64>,
    statuses: std::collections::BTreeMap<u16, u64>,
    failures: u64,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, body_file, seconds, concurrency] = args.as_slice() else {
        return Err("usage: load-client URL[,URL...] BODY_FILE SECONDS CONCURRENCY".into());
    };
    let uris = url
        .split(',')
        .map(str::parse)
        .collect::<Result<Vec<hyper::Uri>, _>>()?;
    let template: Value = serde_json::from_str(&std::fs::read_to_string(body_file)?)?;
    let duration = Duration::from_secs_f64(seconds.parse()?);
    let concurrency: u64 = concurrency.parse()?;
    let client = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(concurrency as usize)
        .build_http::<Full<Bytes>>();

    let started = Instant::now();
    let deadline = started + duration;
    let mut workers = Vec::new();
    for worker in 0..concurrency {
        let uri = uris[worker as usize % uris.len()].clone();
        let (client, template) = (client.clone(), template.clone());
        workers.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let mut n = worker;
            while Instant::now() < deadline {
                let body = match body_for(&template, n) {
                    Ok(body) => body,
                    Err(_) => break,
                };
                n += concurrency;
                let request = match Request::builder()
                    .method(Method::POST)
                    .uri(uri.clone())
                    .header("content-type", "application/json")
                    .body(Full::new(body))
                {
                    Ok(request) => request,
                    Err(_) => break,
                };
                let sent = Instant::now();
                match client.request(request).await {
                    Ok(response) => {
                        let status = response.status();
                        // The whole answer is read, as a real client would.
                        let read = response.into_body().collect().await.is_ok();
                        tally.latencies_us.push(sent.elapsed().as_micros() as u64);
                        if read {
                            *tally.statuses.entry(status.as_u16()).or_default() += 1;
                        } else {
                            tally.failures += 1;
                        }
                    }
                    Err(_) => tally.failures += 1,
                }
            }
            tally
        }));
    }
    let mut all = Tally::default();
    for worker in workers {
        let tally = worker.await?;
        all.latencies_us.extend(tally.latencies_us);
        for (status, count) in tally.statuses {
            *all.statuses.entry(status).or_default() += count;
        }
        all.failures += tally.failures;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.latencies_us.sort_unstable();
    let quantile = |q: f64| -> f64 {
        if all.latencies_us.is_empty() {
            return 0.0;
        }
        let at = ((all.latencies_us.len() - 1) as f64 * q).round() as usize;
        all.latencies_us[at] as f64 / 1000.0
    };
    let created = all
        .statuses
        .get(&StatusCode::CREATED.as_u16())
        .copied()
        .unwrap_or(0);
    println!(
        "{:.1} created/s   p50 {:.2} ms   p99 {:.2} ms   statuses {:?}   failed {}",
        created as f64 / elapsed,
        quantile(0.50),
        quantile(0.99),
        all.statuses,
        all.failures
    );
    Ok(())
}
