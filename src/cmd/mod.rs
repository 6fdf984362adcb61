//! One module per subcommand.

pub mod alert;
pub mod config;
pub mod status;
pub mod tick;
