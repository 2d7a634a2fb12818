//! Why loading the configuration failed, with the place every problem came from.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Loading the configuration failed; the backend must not start.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The `--workspace` path is not a directory.
    #[error("workspace {} is not a directory", path.display())]
    Workspace {
        /// The path as made absolute.
        path: PathBuf,
    },
    /// A configuration file exists but cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why reading failed.
        #[source]
        source: io::Error,
    },
    /// The configuration has one or more problems, listed one per line.
    #[error("{}", list(problems))]
    Invalid {
        /// Every problem found, in the order found.
        problems: Vec<Problem>,
    },
}

/// One problem in the configuration: `location: field: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where the offending value was set.
    pub location: Location,
    /// The field as a path such as `runtimes.remote[0].endpoint`, when the problem concerns one field.
    pub field: Option<String>,
    /// What is wrong, lowercase; never the value of an endpoint or secret reference.
    pub message: String,
}

/// Where a configuration value was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// Not set anywhere: a built-in default.
    Default,
    /// A configuration file.
    File {
        /// The file (absolute).
        path: PathBuf,
        /// The 1-based line, when known.
        line: Option<usize>,
    },
    /// An environment variable.
    Env {
        /// The variable's name.
        var: String,
    },
    /// A command-line flag.
    CommandLine,
}

impl ConfigError {
    /// The problems of an [`ConfigError::Invalid`] error; empty for the other kinds.
    pub fn problems(&self) -> &[Problem] {
        match self {
            Self::Invalid { problems } => problems,
            Self::Workspace { .. } | Self::Read { .. } => &[],
        }
    }
}

/// One problem per line, in the order found.
fn list(problems: &[Problem]) -> String {
    problems.iter().map(Problem::to_string).collect::<Vec<_>>().join("\n")
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{}: {field}: {}", self.location, self.message),
            None => write!(f, "{}: {}", self.location, self.message),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Default => f.write_str("built-in default"),
            Self::File { path, line: Some(line) } => write!(f, "{}:{line}", path.display()),
            Self::File { path, line: None } => write!(f, "{}", path.display()),
            Self::Env { var } => write!(f, "environment variable {var}"),
            Self::CommandLine => f.write_str("command line"),
        }
    }
}
