//! `haven admin …`: staff accounts and API tokens.

use anyhow::Context as _;
use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, SaltString};
use clap::Subcommand;

use super::{CliError, Context};
use crate::access::Role;
use crate::crypto;
use chrono::{TimeDelta, Utc};

use crate::storage::StorageError;
use crate::storage::accounts::{
    CheckedDetails, NewSetupLink, SETUP_LINK_HOURS, SetupPurpose, StaffDetails, checked_details,
};
use crate::storage::permissions::AccessChange;
use crate::storage::tokens::NewApiToken;
use crate::storage::users::{NewStaffUser, normalise_email, valid_email};

#[derive(Debug, Subcommand)]
pub(super) enum AdminCommand {
    /// Create a staff account; prints a one-time password, or with `--set-up-link` a
    /// one-time set-up link (the person chooses their own password with it).
    CreateUser {
        /// Sign-in email (stored lower-case).
        #[arg(long)]
        email: String,
        /// The person's name as documents and emails show it ("Sam Taylor").
        #[arg(long)]
        name: Option<String>,
        /// A work phone number shown in documents.
        #[arg(long)]
        phone: Option<String>,
        /// Print a one-time set-up link (valid 48 hours) instead of a one-time password.
        #[arg(long)]
        set_up_link: bool,
        /// Why (kept sealed with the account's changes, as the admin page asks).
        #[arg(long)]
        reason: Option<String>,
        /// triage, caseworker, manager, admin or auditor.
        #[arg(long)]
        role: String,
        /// The team whose cases the account works on (a service's `team`); required except
        /// for admin and auditor, who see every team.
        #[arg(long)]
        team: Option<String>,
    },
    /// Reset an account's password: it stops working, the account's sessions end, and a
    /// one-time set-up link (valid 48 hours) is printed for the person to choose a new one.
    ResetPassword {
        #[arg(long)]
        email: String,
        /// Why (required: kept sealed with the change).
        #[arg(long)]
        reason: String,
    },
    /// Reset an account's second factor (authenticator app and recovery codes): the
    /// account's sessions end, and a one-time set-up link (valid 48 hours) is printed; with
    /// it and their password the person sets up a new authenticator app.
    ResetSecondFactor {
        #[arg(long)]
        email: String,
        /// Why (required: kept sealed with the change).
        #[arg(long)]
        reason: String,
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
        AdminCommand::CreateUser {
            email,
            name,
            phone,
            set_up_link,
            reason,
            role,
            team,
        } => {
            let details = checked_details(
                name.as_deref().unwrap_or_default(),
                phone.as_deref().unwrap_or_default(),
            );
            if let Some((field, why)) = details.errors.first() {
                let flag = if *field == "phone" {
                    "--phone"
                } else {
                    "--name"
                };
                return Err(CliError::bad(format!("{flag}: {why}")));
            }
            let new = NewAccount {
                email: &email,
                role: &role,
                team: team.as_deref(),
                details: &details,
                reason: reason.as_deref(),
            };
            if set_up_link {
                create_user_with_link(ctx, &new).await
            } else {
                create_user(ctx, &new).await
            }
        }
        AdminCommand::ResetPassword { email, reason } => {
            reset(ctx, &email, SetupPurpose::ResetPassword, &reason).await
        }
        AdminCommand::ResetSecondFactor { email, reason } => {
            reset(ctx, &email, SetupPurpose::ResetSecondFactor, &reason).await
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

/// `create-user`'s arguments.
struct NewAccount<'a> {
    email: &'a str,
    role: &'a str,
    team: Option<&'a str>,
    details: &'a CheckedDetails,
    reason: Option<&'a str>,
}

fn details_of(details: &CheckedDetails) -> StaffDetails<'_> {
    StaffDetails {
        display_name: details.display_name.as_deref(),
        phone: details.phone.as_deref(),
    }
}

/// The set-up link for `token`, at the configured public address.
fn set_up_url(ctx: &Context, token: &str) -> String {
    format!("{}/staff/set-up/{token}", ctx.settings.public_url)
}

async fn create_user(ctx: &Context, new: &NewAccount<'_>) -> Result<(), CliError> {
    let email = normalise_email(new.email);
    check_email(&email)?;
    let (role, team) = role_and_team(ctx, new.role, new.team)?;
    let storage = ctx.storage().await?;
    let password = crypto::new_password();
    let hash = hash_password(password.clone()).await?;
    let user = NewStaffUser {
        id: crypto::new_id(),
        email: &email,
        role,
        team,
        password_hash: hash,
        actor: "cli",
    };
    let created = async {
        let created = storage.create_user(&user).await?;
        if new.details.display_name.is_some() || new.details.phone.is_some() {
            storage
                .set_staff_details(&created.id, details_of(new.details), "cli", Utc::now())
                .await?;
        }
        Ok::<_, StorageError>(created)
    }
    .await;
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

async fn create_user_with_link(ctx: &Context, new: &NewAccount<'_>) -> Result<(), CliError> {
    let email = normalise_email(new.email);
    check_email(&email)?;
    let (role, team) = role_and_team(ctx, new.role, new.team)?;
    let storage = ctx.storage().await?;
    // A password nobody is told: only the set-up link opens the account.
    let hash = hash_password(crypto::new_password()).await?;
    let now = Utc::now();
    let (link, token) = NewSetupLink::generate(now + TimeDelta::hours(SETUP_LINK_HOURS));
    let user = NewStaffUser {
        id: crypto::new_id(),
        email: &email,
        role,
        team,
        password_hash: hash,
        actor: "cli",
    };
    let created = storage
        .create_account(&user, details_of(new.details), &link, new.reason, now)
        .await;
    storage.close().await;
    match created {
        Ok(user) => {
            eprintln!(
                "Created {} account {} (team: {}). One-time set-up link, shown only now, \
                 working once until {}:",
                user.role,
                user.email,
                user.team.as_deref().unwrap_or("all"),
                link.expires_at.format("%-d %B %Y %H:%M UTC"),
            );
            println!("{}", set_up_url(ctx, &token));
            Ok(())
        }
        Err(StorageError::Conflict) => Err(CliError::bad(format!(
            "--email: an account for {email} already exists"
        ))),
        Err(e) => Err(e.into()),
    }
}

async fn reset(
    ctx: &Context,
    email: &str,
    purpose: SetupPurpose,
    reason: &str,
) -> Result<(), CliError> {
    let email = normalise_email(email);
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 1_000 {
        return Err(CliError::bad("--reason: must be 1 to 1,000 characters"));
    }
    let unknown = if purpose == SetupPurpose::ResetPassword {
        hash_password(crypto::new_password()).await?
    } else {
        String::new()
    };
    let now = Utc::now();
    let (link, token) = NewSetupLink::generate(now + TimeDelta::hours(SETUP_LINK_HOURS));
    let storage = ctx.storage().await?;
    let result = async {
        let user = storage
            .find_user_by_email(&email)
            .await?
            .ok_or_else(|| CliError::bad(format!("--email: there is no staff account {email}")))?;
        if user.disabled {
            return Err(CliError::bad(format!(
                "--email: the account {email} is deactivated: reactivate it first"
            )));
        }
        storage
            .reset_account(&user.id, purpose, &unknown, &link, Some(reason), "cli", now)
            .await?;
        Ok::<_, CliError>(())
    }
    .await;
    storage.close().await;
    result?;
    let what = match purpose {
        SetupPurpose::ResetPassword => "password",
        _ => "authenticator app and recovery codes",
    };
    eprintln!(
        "Reset the {what} of {email}; their sessions have ended. One-time set-up link, shown \
         only now, working once until {}:",
        link.expires_at.format("%-d %B %Y %H:%M UTC"),
    );
    println!("{}", set_up_url(ctx, &token));
    Ok(())
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

/// The address must be one the mailer can send to ([`valid_email`]).
fn check_email(email: &str) -> Result<(), CliError> {
    if valid_email(email) {
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
