//! One module per subcommand.

pub mod alert;
pub mod cbackup;
pub mod clidocs;
pub mod config;
pub mod cost;
pub mod doctor;
pub mod gateway;
pub mod ratelimit;
pub mod sessions;
pub mod status;
pub mod stuck;
pub mod tick;
pub mod tunnel;
