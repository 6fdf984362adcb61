//! One module per subcommand.

pub mod config;
pub mod cost;
pub mod status;
