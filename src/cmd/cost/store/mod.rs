//! The cost jobs' queries, one file a job: every SQL statement of cost-track, budget check,
//! the digest, the price tables and the report lives here, with typed rows.

pub mod budget;
pub mod digest;
pub mod pricing;
pub mod report;
pub mod track;
