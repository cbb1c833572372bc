// `sqlx::migrate!` embeds the migration files it finds when this crate compiles; a new file
// in the folders is not a change Cargo sees by itself, so say that the folders matter.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations/sqlite");
    println!("cargo:rerun-if-changed=../../migrations/postgres");
}
