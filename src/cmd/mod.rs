//! One module per subcommand.

pub mod cbackup;
pub mod config;
pub mod sessions;
pub mod status;
