//! The built-in `echo` executor: deterministic, labelled, and streamed in several pieces.

use std::time::Duration;

use async_trait::async_trait;

use super::{Executor, ExecutorError, TurnContext, TurnOutput};

/// Replies `[echo] <input>`, one word per delta, pausing between deltas.
///
/// The `[echo]` label keeps anyone from mistaking its replies for a model's.
#[derive(Debug, Clone)]
pub struct EchoExecutor {
    chunk_delay: Duration,
}

impl EchoExecutor {
    /// An echo that pauses `chunk_delay` between streamed pieces.
    pub fn new(chunk_delay: Duration) -> Self {
        EchoExecutor { chunk_delay }
    }

    /// The full reply to `input`.
    pub fn reply(input: &str) -> String {
        format!("[echo] {input}")
    }
}

#[async_trait]
impl Executor for EchoExecutor {
    async fn run(&self, turn: TurnContext, output: &mut dyn TurnOutput) -> Result<(), ExecutorError> {
        let reply = Self::reply(&turn.input.content);
        for (i, piece) in pieces(&reply).enumerate() {
            if i > 0 && !self.chunk_delay.is_zero() {
                tokio::time::sleep(self.chunk_delay).await;
            }
            output.delta(piece);
        }
        Ok(())
    }
}

/// Splits text into words, each keeping the whitespace after it, so the pieces join back to the text.
fn pieces(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let word_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let end = rest[word_end..].find(|c: char| !c.is_whitespace()).map_or(rest.len(), |n| word_end + n);
        let (piece, tail) = rest.split_at(end);
        rest = tail;
        Some(piece)
    })
}

#[cfg(test)]
mod tests {
    use runtime_api::{Role, WorkerId};

    use super::*;
    use crate::executor::Message;

    struct Collect(Vec<String>);

    impl TurnOutput for Collect {
        fn delta(&mut self, text: &str) {
            self.0.push(text.to_owned());
        }

        fn note(&mut self, _facts: crate::executor::ReplyFacts) {}
    }

    #[test]
    fn pieces_join_back_to_the_text() {
        for text in ["[echo] hello", "[echo]  two  spaces\n", "[echo] ", "one", "  lead"] {
            let parts: Vec<_> = pieces(text).collect();
            assert_eq!(parts.concat(), text);
            assert!(parts.iter().all(|p| !p.is_empty()));
        }
        assert_eq!(pieces("[echo] a b").collect::<Vec<_>>(), ["[echo] ", "a ", "b"]);
    }

    #[tokio::test(start_paused = true)]
    async fn echo_streams_a_labelled_reply_in_several_pieces() {
        let turn = TurnContext {
            worker_id: WorkerId::parse("w-1").unwrap(),
            turn_id: 1,
            system_prompt: None,
            history: Vec::new(),
            input: Message { role: Role::User, content: "hello there".into() },
        };
        let mut out = Collect(Vec::new());
        let started = tokio::time::Instant::now();
        EchoExecutor::new(Duration::from_millis(20)).run(turn, &mut out).await.unwrap();
        assert_eq!(out.0, ["[echo] ", "hello ", "there"]);
        assert_eq!(started.elapsed(), Duration::from_millis(40));
    }
}
