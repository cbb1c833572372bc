//! `haven admin …`: staff accounts and API tokens.

use anyhow::Context as _;
use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, SaltString};
use clap::Subcommand;

use super::{CliError, Context};
use crate::access::Role;
use crate::crypto;
use crate::storage::StorageError;
use crate::storage::permissions::AccessChange;
use crate::storage::tokens::NewApiToken;
use crate::storage::users::{NewStaffUser, normalise_email};

#[derive(Debug, Subcommand)]
pub(super) enum AdminCommand {
    /// Create a staff account; prints a one-time password.
    CreateUser {
        /// Sign-in email (stored lower-case).
        #[arg(long)]
        email: String,
        /// triage, caseworker, manager, admin or auditor.
        #[arg(long)]
        role: String,
        /// The team whose cases the account works on (a service's `team`); required except
        /// for admin and auditor, who see every team.
        #[arg(long)]
        team: Option<String>,
    },
    /// Create an API token for a staff account; prints it once.
    CreateToken {
        /// The account's email.
        #[arg(long)]
        email: String,
        /// What the token is for (shown when listing tokens).
        #[arg(long, default_value = "api")]
        name: String,
    },
    /// Change an account's role and team; ends every session of the account (its API
    /// tokens, scoped to the old role and team, stop working too).
    SetRole {
        #[arg(long)]
        email: String,
        /// triage, caseworker, manager, admin or auditor.
        #[arg(long)]
        role: String,
        /// Required except for admin and auditor.
        #[arg(long)]
        team: Option<String>,
        /// Why (kept sealed with the change, as the admin page asks).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Revoke an API token: its id (from the staff admin page), or the token itself read
    /// from standard input (never put a live token on a command line, where other users can
    /// see it in the process list).
    RevokeToken {
        /// The token (`hvn_…`); prefer standard input.
        #[arg(long, conflicts_with = "id")]
        token: Option<String>,
        /// The token's id.
        #[arg(long)]
        id: Option<String>,
    },
}

pub(super) async fn run(ctx: &Context, cmd: AdminCommand) -> Result<(), CliError> {
    match cmd {
        AdminCommand::CreateUser { email, role, team } => {
            create_user(ctx, &email, &role, team.as_deref()).await
        }
        AdminCommand::CreateToken { email, name } => create_token(ctx, &email, &name).await,
        AdminCommand::RevokeToken { token, id } => revoke_token(ctx, token, id).await,
        AdminCommand::SetRole {
            email,
            role,
            team,
            reason,
        } => set_role(ctx, &email, &role, team.as_deref(), reason.as_deref()).await,
    }
}

async fn create_user(
    ctx: &Context,
    email: &str,
    role: &str,
    team: Option<&str>,
) -> Result<(), CliError> {
    let email = normalise_email(email);
    check_email(&email)?;
    let (role, team) = role_and_team(ctx, role, team)?;
    let storage = ctx.storage().await?;
    let password = crypto::new_password();
    let hash = hash_password(password.clone()).await?;
    let new = NewStaffUser {
        id: crypto::new_id(),
        email: &email,
        role,
        team,
        password_hash: hash,
        actor: "cli",
    };
    let created = storage.create_user(&new).await;
    storage.close().await;
    match created {
        Ok(user) => {
            eprintln!(
                "Created {} account {} (team: {}). One-time password, shown only now:",
                user.role,
                user.email,
                user.team.as_deref().unwrap_or("all")
            );
            println!("{password}");
            Ok(())
        }
        Err(StorageError::Conflict) => Err(CliError::bad(format!(
            "--email: an account for {email} already exists"
        ))),
        Err(e) => Err(e.into()),
    }
}

async fn create_token(ctx: &Context, email: &str, name: &str) -> Result<(), CliError> {
    let email = normalise_email(email);
    let name = name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(CliError::bad("--name: must be 1 to 100 characters"));
    }
    let storage = ctx.storage().await?;
    let user = storage
        .find_user_by_email(&email)
        .await?
        .ok_or_else(|| CliError::bad(format!("--email: there is no staff account {email}")))?;
    if user.disabled {
        return Err(CliError::bad(format!(
            "--email: the account {email} is disabled"
        )));
    }
    let token = crypto::new_api_token();
    let new = NewApiToken {
        id: crypto::new_id(),
        user_id: &user.id,
        name,
        token_hash: crypto::token_hash(&token),
        actor: "cli",
    };
    let created = storage.create_token(&new).await;
    storage.close().await;
    created?;
    eprintln!("API token `{name}` for {email}, shown only now:");
    println!("{token}");
    Ok(())
}

/// `--role` and `--team`, checked: the role exists, and the team is one a service names
/// (required unless the role sees every team).
fn role_and_team<'a>(
    ctx: &Context,
    role: &str,
    team: Option<&'a str>,
) -> Result<(Role, Option<&'a str>), CliError> {
    let role: Role = role
        .parse()
        .map_err(|e: crate::access::UnknownRole| CliError::bad(format!("--role: {e}")))?;
    let team = team.map(str::trim).filter(|t| !t.is_empty());
    match team {
        None if !crate::policy::Policy::builtin()
            .map_err(CliError::bad)?
            .all_teams(role) =>
        {
            return Err(CliError::bad(format!(
                "--team: required for role {role} (the team whose cases they work on)"
            )));
        }
        Some(team) => {
            let registry = ctx.registry()?;
            let teams: Vec<&str> = registry.definitions().map(|d| d.team.as_str()).collect();
            if !teams.is_empty() && !teams.contains(&team) {
                return Err(CliError::bad(format!(
                    "--team: no service has team `{team}` (teams: {})",
                    teams.join(", ")
                )));
            }
        }
        None => {}
    }
    Ok((role, team))
}

async fn set_role(
    ctx: &Context,
    email: &str,
    role: &str,
    team: Option<&str>,
    reason: Option<&str>,
) -> Result<(), CliError> {
    let email = normalise_email(email);
    let (role, team) = role_and_team(ctx, role, team)?;
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    let storage = ctx.storage().await?;
    let result = async {
        let user = storage
            .find_user_by_email(&email)
            .await?
            .ok_or_else(|| CliError::bad(format!("--email: there is no staff account {email}")))?;
        let change = AccessChange::Role { role, team };
        storage
            .change_access(&user.id, &change, reason, "cli", chrono::Utc::now())
            .await?;
        Ok::<_, CliError>(())
    }
    .await;
    storage.close().await;
    result?;
    eprintln!(
        "{email} is now {role} (team: {}); their sessions have ended.",
        team.unwrap_or("all")
    );
    Ok(())
}

async fn revoke_token(
    ctx: &Context,
    token: Option<String>,
    id: Option<String>,
) -> Result<(), CliError> {
    let storage = ctx.storage().await?;
    let revoked = match (token, id) {
        (Some(token), _) => {
            storage
                .revoke_token(&crypto::token_hash(&token), "cli")
                .await
        }
        (None, Some(id)) => storage.revoke_token_by_id(id.trim(), "cli").await,
        (None, None) => {
            let mut line = String::new();
            let read = std::io::stdin().read_line(&mut line);
            let token = line.trim();
            if read.is_err() || !token.starts_with("hvn_") {
                storage.close().await;
                return Err(CliError::bad(
                    "stdin: expected an API token starting with hvn_ (or give --id)",
                ));
            }
            storage
                .revoke_token(&crypto::token_hash(token), "cli")
                .await
        }
    };
    storage.close().await;
    if revoked? {
        eprintln!("Token revoked.");
        Ok(())
    } else {
        Err(CliError::bad(
            "--token/--id: no live token matches (unknown or already revoked)",
        ))
    }
}

/// The address must be one the mailer can send to (lettre's `Address` parsing: staff are
/// emailed sign-in links and alerts), with a dot in its domain.
fn check_email(email: &str) -> Result<(), CliError> {
    let ok = email.len() <= 254
        && email.parse::<lettre::Address>().is_ok()
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if ok {
        Ok(())
    } else {
        Err(CliError::bad(format!(
            "--email: `{email}` is not an email address like name@example.org"
        )))
    }
}

/// Argon2id with the crate's defaults (m=19 MiB, t=2, p=1, OWASP's minimum), on a blocking
/// thread: it is deliberately slow.
pub(crate) async fn hash_password(password: String) -> Result<String, CliError> {
    tokio::task::spawn_blocking(move || {
        // 16 random bytes from rand's CSPRNG (argon2's own generator needs a feature that
        // would pull in a second `getrandom`).
        let bytes: [u8; 16] = rand::random();
        let salt = SaltString::encode_b64(&bytes)
            .map_err(|e| anyhow::anyhow!("could not encode the salt: {e}"))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| anyhow::anyhow!("could not hash the password: {e}"))
    })
    .await
    .context("the password hashing task failed")?
    .map_err(CliError::Failed)
}
