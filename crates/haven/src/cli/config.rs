//! `haven config …`: settings.

use clap::Subcommand;

use super::CliError;

#[derive(Debug, Subcommand)]
pub(super) enum ConfigCommand {
    /// Print an example settings file with every default.
    Example,
}

pub(super) fn run(cmd: ConfigCommand) -> Result<(), CliError> {
    match cmd {
        ConfigCommand::Example => {
            print!("{}", crate::config::EXAMPLE);
            Ok(())
        }
    }
}
