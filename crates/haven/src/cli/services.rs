//! `haven services …`: the loaded service definitions.

use clap::Subcommand;
use haven_core::definition::ServiceDefinition;

use super::{CliError, Context};

#[derive(Debug, Subcommand)]
pub(super) enum ServicesCommand {
    /// List the services: id, name, stages.
    List,
    /// Show one service: its stages, pages and question keys (or, with --json, the whole
    /// definition).
    Show {
        /// Service id.
        id: String,
        /// Print the full definition as JSON (questions, screening rules, workflow, SLAs).
        #[arg(long)]
        json: bool,
    },
}

pub(super) fn run(ctx: &Context, cmd: ServicesCommand) -> Result<(), CliError> {
    let registry = ctx.registry()?;
    match cmd {
        ServicesCommand::List => {
            for loaded in registry.iter() {
                let def = &loaded.definition;
                let stages: Vec<&str> = def.stages.iter().map(|s| s.key.as_str()).collect();
                println!("{}\t{}\t{}", def.id, def.name, stages.join(","));
            }
            Ok(())
        }
        ServicesCommand::Show { id, json } => {
            let def = registry.get(&id).ok_or_else(|| {
                let known: Vec<&str> = registry.definitions().map(|d| d.id.as_str()).collect();
                CliError::bad(format!(
                    "ID: there is no service `{id}` (loaded: {})",
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                ))
            })?;
            if json {
                let text =
                    serde_json::to_string_pretty(def).map_err(|e| CliError::Failed(e.into()))?;
                println!("{text}");
            } else {
                print_outline(def);
            }
            Ok(())
        }
    }
}

fn print_outline(def: &ServiceDefinition) {
    println!(
        "{} ({}), version {}, team {}",
        def.name, def.id, def.version, def.team
    );
    for stage in &def.stages {
        let access = serde_json::to_value(stage.access)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        println!("  stage {} [{access}]: {}", stage.key, stage.label);
        for page in &stage.pages {
            println!("    page {}: {}", page.key, page.title);
            for q in &page.questions {
                let kind = serde_json::to_value(q.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                let required = if q.required { " (required)" } else { "" };
                println!("      {} [{kind}]{required}", q.key);
            }
        }
    }
}
