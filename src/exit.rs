//! Exit codes: the one table every job, the README and `--help` share.
//!
//! An error carries its exit code as a [`Fail`] somewhere in its `anyhow` chain; errors
//! without one are classified by their root cause (I/O, SQLite busy, bad JSON).

use std::fmt;

/// Documented exit codes (sysexits-style). Keep README and `cli::EXIT_CODES` in step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Ok = 0,
    /// A finding or alert: invalid config, stuck agent, budget passed, breaker open.
    Finding = 1,
    Usage = 2,
    DataErr = 65,
    NoInput = 66,
    Software = 70,
    IoErr = 74,
    TempFail = 75,
    Config = 78,
}

impl Code {
    pub fn as_u8(self) -> u8 {
        self as u8
    }
}

/// An error with a chosen exit code. Build with [`fail`].
#[derive(Debug)]
pub struct Fail {
    pub code: Code,
    pub message: String,
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Fail {}

/// `Err(fail(Code::NoInput, format!("{}: no such file", p.display())))?`
pub fn fail(code: Code, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Fail {
        code,
        message: message.into(),
    })
}

/// The exit code for an error: an explicit [`Fail`] wins, else the root cause decides.
pub fn code_of(err: &anyhow::Error) -> Code {
    // A Fail attached with `.context(...)` is only visible through anyhow's own downcast.
    if let Some(f) = err.downcast_ref::<Fail>() {
        return f.code;
    }
    for cause in err.chain() {
        if let Some(f) = cause.downcast_ref::<Fail>() {
            return f.code;
        }
    }
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<rusqlite::Error>() {
            if let rusqlite::Error::SqliteFailure(se, _) = e {
                match se.code {
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked => {
                        return Code::TempFail
                    }
                    // A damaged ledger or a file that is not a database is bad data, not I/O.
                    rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt => {
                        return Code::DataErr
                    }
                    _ => {}
                }
            }
            return Code::IoErr;
        }
        if let Some(e) = cause.downcast_ref::<std::io::Error>() {
            if crate::safefs::is_not_regular(e) {
                return Code::NoInput;
            }
            return match e.kind() {
                std::io::ErrorKind::NotFound => Code::NoInput,
                std::io::ErrorKind::InvalidData => Code::DataErr,
                _ => Code::IoErr,
            };
        }
        if cause.downcast_ref::<serde_json::Error>().is_some()
            || cause.downcast_ref::<crate::safefs::TooDeep>().is_some()
        {
            return Code::DataErr;
        }
    }
    Code::Software
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn explicit_fail_wins_over_io_cause() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
        let err = anyhow::Error::new(io).context(Fail {
            code: Code::Config,
            message: "bad".into(),
        });
        assert_eq!(code_of(&err), Code::Config);
    }

    #[test]
    fn io_kinds_map_to_sysexits() {
        let nf: anyhow::Result<()> =
            Err(std::io::Error::new(std::io::ErrorKind::NotFound, "x")).context("reading a");
        assert_eq!(code_of(&nf.unwrap_err()), Code::NoInput);
        let pd: anyhow::Result<()> = Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "x",
        ))
        .context("a");
        assert_eq!(code_of(&pd.unwrap_err()), Code::IoErr);
        assert_eq!(code_of(&anyhow::anyhow!("plain")), Code::Software);
    }
}
