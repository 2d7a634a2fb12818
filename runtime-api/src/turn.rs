//! What a turn produced and how it ended: token usage, outcomes and the typed reasons a turn fails.

use serde::{Deserialize, Serialize};

/// Tokens a provider counted for a turn (or, summed, for a worker).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Usage {
    /// Tokens of the messages sent.
    pub prompt_tokens: u64,
    /// Tokens of the reply.
    pub completion_tokens: u64,
    /// Both together, as the provider reports it.
    pub total_tokens: u64,
}

impl Usage {
    /// Adds `other` to this count, saturating rather than wrapping.
    pub fn add(&mut self, other: &Usage) {
        self.prompt_tokens = self.prompt_tokens.saturating_add(other.prompt_tokens);
        self.completion_tokens = self.completion_tokens.saturating_add(other.completion_tokens);
        self.total_tokens = self.total_tokens.saturating_add(other.total_tokens);
    }

    /// Whether nothing was counted.
    pub fn is_zero(&self) -> bool {
        *self == Usage::default()
    }
}

impl<'a> std::iter::Sum<&'a Usage> for Usage {
    fn sum<I: Iterator<Item = &'a Usage>>(counts: I) -> Usage {
        let mut total = Usage::default();
        counts.for_each(|count| total.add(count));
        total
    }
}

/// How the turn behind an assistant entry ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TurnOutcome {
    /// The executor finished the reply.
    Completed,
    /// Cancelled (by `cancel` or `stop`); the entry holds what was produced until then.
    Cancelled,
    /// Cut off by an input sent with `when_busy = interrupt`; the entry holds what was produced until then.
    Interrupted,
    /// The executor failed; the entry holds what was produced before the failure.
    Failed,
}

macro_rules! failure_reasons {
    ($($variant:ident = $code:literal: $doc:literal;)*) => {
        /// Why a turn failed, as a stable code a client can act on (SPEC §3).
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum FailureReason {
            $(#[doc = $doc] $variant,)*
            /// Any other executor failure; also what an event without a reason, or with one this build does not
            /// know (from a newer runtime), reads as.
            #[default]
            #[serde(other)]
            ExecutorFailed,
        }

        impl FailureReason {
            /// The code as it appears on the wire.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(FailureReason::$variant => $code,)*
                    FailureReason::ExecutorFailed => "executor_failed",
                }
            }
        }
    };
}

failure_reasons! {
    ProviderAuthFailed = "provider_auth_failed": "The provider refused the API key (401 or 403).";
    ProviderCredentialsMissing = "provider_credentials_missing": "The profile's API key reference could not be read.";
    ProviderModelNotFound = "provider_model_not_found": "The provider does not serve the profile's model (404).";
    ProviderBadRequest = "provider_bad_request": "The provider refused the request (400), with its own message.";
    ProviderRateLimited = "provider_rate_limited": "The provider kept answering 429 after every retry.";
    ProviderUnavailable = "provider_unavailable": "The provider could not be reached, answered 5xx, or dropped the stream.";
    ProviderTimeout = "provider_timeout": "No first token within `request_timeout_s`, or a pause longer than `idle_timeout_s`.";
    ProviderProtocolError = "provider_protocol_error": "The answer was not an event stream of chat completion chunks.";
    ProviderError = "provider_error": "The provider reported an error inside its stream.";
}

impl std::fmt::Display for FailureReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_reasons_serialize_as_their_codes() {
        for reason in [FailureReason::ProviderTimeout, FailureReason::ProviderError, FailureReason::ExecutorFailed] {
            assert_eq!(serde_json::to_value(reason).unwrap(), reason.as_str());
        }
    }

    #[test]
    fn an_unknown_reason_from_a_newer_runtime_reads_as_executor_failed() {
        let reason: FailureReason = serde_json::from_str("\"provider_on_fire\"").unwrap();
        assert_eq!(reason, FailureReason::ExecutorFailed);
        let known: FailureReason = serde_json::from_str("\"provider_timeout\"").unwrap();
        assert_eq!(known, FailureReason::ProviderTimeout);
    }

    #[test]
    fn usage_adds_without_wrapping() {
        let mut total = Usage { prompt_tokens: u64::MAX, completion_tokens: 1, total_tokens: 2 };
        total.add(&Usage { prompt_tokens: 5, completion_tokens: 2, total_tokens: 3 });
        assert_eq!(total, Usage { prompt_tokens: u64::MAX, completion_tokens: 3, total_tokens: 5 });
        assert!(Usage::default().is_zero());
    }
}
