//! `haven migrate`: apply database migrations and exit.

use super::{CliError, Context};

pub(super) async fn run(ctx: &Context) -> Result<(), CliError> {
    let storage = ctx.storage().await?;
    storage.close().await;
    eprintln!("Database migrations are up to date.");
    Ok(())
}
