//! The young people of `haven dev seed`: drawn so that the person index looks like a real
//! one at scale. Given and family names follow a long-tailed popularity (the commonest
//! names, and their phonetic codes, shared by thousands of children in a large index, most
//! names by few), a third of family names are rare; dates of birth span eight school years;
//! addresses have UK-shaped postcodes; about one referral in eight is about a child already
//! seeded, often written slightly differently (a nickname or typo, day and month swapped, a
//! new address, no date of birth).

use chrono::{Duration, NaiveDate};
use rand::Rng;
use rand::seq::IndexedRandom;
use serde_json::Value;

/// Most popular first, from the names of children born in England and Wales 2008–2016.
const GIVEN: [&str; 96] = [
    "Oliver",
    "Amelia",
    "Jack",
    "Olivia",
    "Harry",
    "Emily",
    "Jacob",
    "Isla",
    "Charlie",
    "Ava",
    "Thomas",
    "Jessica",
    "George",
    "Isabella",
    "Oscar",
    "Lily",
    "James",
    "Sophie",
    "William",
    "Ruby",
    "Noah",
    "Chloe",
    "Alfie",
    "Grace",
    "Joshua",
    "Evie",
    "Muhammad",
    "Sophia",
    "Henry",
    "Mia",
    "Leo",
    "Ella",
    "Archie",
    "Poppy",
    "Ethan",
    "Scarlett",
    "Joseph",
    "Freya",
    "Freddie",
    "Daisy",
    "Samuel",
    "Phoebe",
    "Alexander",
    "Erin",
    "Logan",
    "Holly",
    "Daniel",
    "Millie",
    "Isaac",
    "Lucy",
    "Max",
    "Amber",
    "Mohammed",
    "Megan",
    "Benjamin",
    "Ellie",
    "Mason",
    "Hannah",
    "Lucas",
    "Eva",
    "Edward",
    "Katie",
    "Harrison",
    "Imogen",
    "Jake",
    "Summer",
    "Dylan",
    "Lola",
    "Riley",
    "Maisie",
    "Finley",
    "Layla",
    "Theo",
    "Zara",
    "Sebastian",
    "Aisha",
    "Adam",
    "Leah",
    "Reece",
    "Jasmine",
    "Kai",
    "Caitlin",
    "Tyler",
    "Abigail",
    "Callum",
    "Maya",
    "Kacper",
    "Zainab",
    "Jayden",
    "Amira",
    "Ryan",
    "Niamh",
    "Jordan",
    "Keira",
    "Aaron",
    "Paige",
];

/// Most common first, from surnames in England and Wales.
const FAMILY: [&str; 100] = [
    "Smith",
    "Jones",
    "Williams",
    "Taylor",
    "Brown",
    "Davies",
    "Evans",
    "Wilson",
    "Thomas",
    "Johnson",
    "Roberts",
    "Robinson",
    "Thompson",
    "Wright",
    "Walker",
    "White",
    "Edwards",
    "Hughes",
    "Green",
    "Hall",
    "Lewis",
    "Harris",
    "Clarke",
    "Patel",
    "Jackson",
    "Wood",
    "Turner",
    "Martin",
    "Cooper",
    "Hill",
    "Ward",
    "Morris",
    "Moore",
    "Clark",
    "Lee",
    "King",
    "Baker",
    "Harrison",
    "Morgan",
    "Allen",
    "James",
    "Scott",
    "Phillips",
    "Watson",
    "Davis",
    "Parker",
    "Price",
    "Bennett",
    "Young",
    "Griffiths",
    "Mitchell",
    "Kelly",
    "Cook",
    "Carter",
    "Richardson",
    "Bailey",
    "Collins",
    "Bell",
    "Shaw",
    "Murphy",
    "Miller",
    "Cox",
    "Richards",
    "Khan",
    "Marshall",
    "Anderson",
    "Simpson",
    "Ellis",
    "Adams",
    "Singh",
    "Begum",
    "Wilkinson",
    "Foster",
    "Chapman",
    "Powell",
    "Webb",
    "Rogers",
    "Gray",
    "Mason",
    "Ali",
    "Hunt",
    "Hussain",
    "Campbell",
    "Matthews",
    "Owen",
    "Palmer",
    "Holmes",
    "Mills",
    "Barnes",
    "Knight",
    "Lloyd",
    "Butler",
    "Russell",
    "Barker",
    "Fisher",
    "Stevens",
    "Jenkins",
    "Murray",
    "Dixon",
    "Nowak",
];

/// Rare family names are made of two parts ("Ashworth", "Brightley").
const FAMILY_START: [&str; 30] = [
    "Ash", "Brad", "Bright", "Cal", "Car", "Crom", "Dal", "Elm", "Fair", "Gold", "Green", "Hal",
    "Hart", "Hol", "Kings", "Lang", "Mar", "Mid", "New", "Nor", "Ox", "Pen", "Red", "Rad", "Stan",
    "Thorn", "Wal", "Wes", "Whit", "Wood",
];
const FAMILY_END: [&str; 20] = [
    "worth", "ley", "ton", "field", "ford", "well", "bury", "wick", "combe", "more", "dale",
    "hurst", "stead", "by", "ham", "lock", "wood", "croft", "ridge", "shaw",
];

const AREAS: [(&str, &str); 16] = [
    ("TS", "Middlesbrough"),
    ("LS", "Leeds"),
    ("M", "Manchester"),
    ("B", "Birmingham"),
    ("NE", "Newcastle"),
    ("S", "Sheffield"),
    ("L", "Liverpool"),
    ("BD", "Bradford"),
    ("HU", "Hull"),
    ("DL", "Darlington"),
    ("SR", "Sunderland"),
    ("YO", "York"),
    ("BS", "Bristol"),
    ("NG", "Nottingham"),
    ("LE", "Leicester"),
    ("CF", "Cardiff"),
];
const STREETS: [&str; 12] = [
    "Station Road",
    "Church Street",
    "Park Avenue",
    "Victoria Road",
    "Green Lane",
    "Manor Road",
    "Mill Lane",
    "Queens Road",
    "New Street",
    "Grange Road",
    "School Lane",
    "Albert Street",
];
const UNIT_LETTERS: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";

/// A seeded child as a referrer writes them.
#[derive(Debug, Clone)]
pub(super) struct Child {
    given: String,
    family: String,
    born: Option<NaiveDate>,
    /// House number, street, town, postcode.
    address: Option<(u32, &'static str, &'static str, String)>,
    phone: Option<String>,
    handle: String,
}

/// Children already seeded that a later referral may be about again.
#[derive(Debug, Default)]
pub(super) struct People {
    seen: Vec<Child>,
}

/// How many earlier children are kept to be referred again.
const REMEMBERED: usize = 50_000;

/// A choice from a most-popular-first list, the `rank`-th with weight 1/(rank + `flat`):
/// a long tail like real name frequencies, flatter as `flat` grows.
fn popular<'a>(list: &[&'a str], flat: f64, rng: &mut impl Rng) -> &'a str {
    let total: f64 = (0..list.len()).map(|r| 1.0 / (r as f64 + flat)).sum();
    let mut pick = rng.random_range(0.0..total);
    for (r, name) in list.iter().enumerate() {
        pick -= 1.0 / (r as f64 + flat);
        if pick <= 0.0 {
            return name;
        }
    }
    list[0]
}

fn postcode(rng: &mut impl Rng) -> (&'static str, String) {
    let (area, town) = AREAS
        .choose(rng)
        .copied()
        .unwrap_or(("TS", "Middlesbrough"));
    let unit: String = (0..2)
        .map(|_| char::from(*UNIT_LETTERS.choose(rng).unwrap_or(&b'A')))
        .collect();
    let code = format!(
        "{area}{} {}{unit}",
        rng.random_range(1..=20),
        rng.random_range(0..=9)
    );
    (town, code)
}

/// A small slip in a name: two letters swapped or one left out.
fn misspell(name: &str, rng: &mut impl Rng) -> String {
    let mut chars: Vec<char> = name.chars().collect();
    if chars.len() < 4 {
        return name.to_owned();
    }
    let at = rng.random_range(1..chars.len() - 1);
    if rng.random_bool(0.5) {
        chars.swap(at, at + 1);
    } else {
        chars.remove(at);
    }
    chars.into_iter().collect()
}

impl People {
    /// The young person of the next seeded referral.
    pub(super) fn draw(&mut self, rng: &mut impl Rng, today: NaiveDate) -> Child {
        if !self.seen.is_empty() && rng.random_bool(0.12) {
            let mut child = self.seen[rng.random_range(0..self.seen.len())].clone();
            match rng.random_range(0..10) {
                0 | 1 => child.given = misspell(&child.given, rng),
                2 => child.family = misspell(&child.family, rng),
                3 => {
                    if let Some(born) = child.born {
                        child.born = NaiveDate::from_ymd_opt(
                            chrono::Datelike::year(&born),
                            chrono::Datelike::day(&born),
                            chrono::Datelike::month(&born),
                        )
                        .or(Some(born));
                    }
                }
                4 | 5 => {
                    let (town, code) = postcode(rng);
                    child.address = Some((rng.random_range(1..200), street(rng), town, code));
                }
                6 => child.born = None,
                _ => {}
            }
            return child;
        }
        let family = if rng.random_bool(0.35) {
            let start = FAMILY_START.choose(rng).copied().unwrap_or("Ash");
            let end = FAMILY_END.choose(rng).copied().unwrap_or("worth");
            format!("{start}{end}")
        } else {
            popular(&FAMILY, 8.0, rng).to_owned()
        };
        let given = popular(&GIVEN, 6.0, rng).to_owned();
        let (town, code) = postcode(rng);
        let child = Child {
            handle: format!("{}{}", given.to_lowercase(), rng.random_range(1..10_000)),
            born: Some(today - Duration::days(rng.random_range(10 * 365..18 * 365))),
            address: rng
                .random_bool(0.85)
                .then(|| (rng.random_range(1..200), street(rng), town, code)),
            phone: rng
                .random_bool(0.5)
                .then(|| format!("07700 9{:05}", rng.random_range(0..100_000))),
            given,
            family,
        };
        if self.seen.len() < REMEMBERED {
            self.seen.push(child.clone());
        } else {
            let at = rng.random_range(0..REMEMBERED);
            self.seen[at] = child.clone();
        }
        child
    }
}

fn street(rng: &mut impl Rng) -> &'static str {
    STREETS.choose(rng).copied().unwrap_or("Station Road")
}

impl Child {
    /// Writes this child into the answers of a seeded referral of `service`, where that
    /// service's form asks about them (Cyber Choices' enquiry is anonymous: nothing).
    pub(super) fn write_into(&self, service: &str, answers: &mut Value) {
        let name = Value::String(format!("{} {}", self.given, self.family));
        let born = self
            .born
            .map(|d| Value::String(d.format("%Y-%m-%d").to_string()));
        let address = self
            .address
            .as_ref()
            .map(|(n, street, town, code)| Value::String(format!("{n} {street}, {town} {code}")));
        let section = match service {
            "secos" => "young_person",
            "ceop" => "child",
            _ => return,
        };
        let Some(Value::Object(person)) = answers.get_mut(section) else {
            return;
        };
        person.insert("name".to_owned(), name);
        match born {
            Some(born) => person.insert("date_of_birth".to_owned(), born),
            None => person.remove("date_of_birth"),
        };
        let place = if service == "ceop" {
            "location"
        } else {
            "address"
        };
        match address {
            Some(address) => person.insert(place.to_owned(), address),
            None => person.remove(place),
        };
        if service == "ceop" {
            person.insert(
                "online_names".to_owned(),
                Value::String(self.handle.clone()),
            );
        } else {
            match &self.phone {
                Some(phone) => person.insert(
                    "contact_details".to_owned(),
                    Value::String(format!("Mobile {phone}")),
                ),
                None => person.remove("contact_details"),
            };
        }
    }
}
