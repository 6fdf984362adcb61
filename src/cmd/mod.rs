//! One module per subcommand.

pub mod alert;
pub mod config;
pub mod cost;
pub mod doctor;
pub mod gen;
pub mod status;
pub mod stuck;
pub mod tick;
