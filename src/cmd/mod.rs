//! One module per subcommand.

pub mod config;
pub mod dev;
pub mod status;
