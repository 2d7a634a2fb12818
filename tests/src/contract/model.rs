//! Model turns (the `model` profile, an `openai` executor pointed at a scripted model server): deltas stream,
//! the reply is recorded with its facts, a cancel keeps the partial reply, and profiles are listed without
//! the provider's address.

use runtime_api::{EventBody, InputRequest, LifecycleRequest, Role, TurnOutcome, WorkerState};

use super::setup;
use super::support::{Source, completes, deltas, kinds, new_worker, subscribe, transcript};

pub(crate) async fn model_turns_stream_deltas_and_record_the_reply_with_its_facts(source: Source) {
    let detail = source
        .create(runtime_api::CreateWorkerRequest { profile: Some(setup::MODEL_PROFILE.into()), ..Default::default() })
        .await
        .expect("create");
    let worker = detail.summary.worker_id.clone();
    assert_eq!(detail.summary.executor, "openai");
    assert_eq!(detail.summary.model.as_deref(), Some(setup::MODEL));

    let mut frames = subscribe(&source, Some(&worker), None).await;
    source.input(&worker, InputRequest::user("hello world")).await.expect("input");
    let events = frames.events_until(|e| completes(e, &worker, 1)).await;
    assert_eq!(kinds(&events), ["input_accepted", "turn_started", "turn_completed"]);
    // The scripted server answers "You said: <input>" one word per chunk.
    assert_eq!(deltas(&events, 1), "You said: hello world");
    let Some(EventBody::TurnCompleted { usage: Some(usage), .. }) = events.last().map(|e| &e.body) else {
        panic!("turn_completed carries usage: {:?}", events.last());
    };
    // Prompt: the system prompt's 3 words and the input's 2; completion: 4 pieces.
    assert_eq!((usage.prompt_tokens, usage.completion_tokens, usage.total_tokens), (5, 4, 9));

    let entries = transcript(&source, &worker).await;
    let reply = entries.iter().find(|e| e.role == Role::Assistant).expect("the reply is recorded");
    assert_eq!(reply.content, "You said: hello world");
    assert_eq!((reply.outcome, reply.executor.as_deref()), (Some(TurnOutcome::Completed), Some("openai")));
    assert_eq!((reply.model.as_deref(), reply.finish_reason.as_deref()), (Some("scripted-model"), Some("stop")));
    assert_eq!(reply.usage.as_ref(), Some(usage));
    assert!(reply.first_token_ms.unwrap() <= reply.duration_ms.unwrap());
    let detail = source.get(&worker).await.expect("get");
    assert_eq!((detail.summary.state, detail.usage), (WorkerState::Idle, *usage));
}

pub(crate) async fn cancelling_a_model_turn_keeps_the_partial_reply_marked_cancelled(source: Source) {
    let worker = new_worker(&source, setup::MODEL_PROFILE).await;
    let mut frames = subscribe(&source, Some(&worker), None).await;
    // Inputs starting with "hang" are answered "You said: " and then never finished.
    source.input(&worker, InputRequest::user("hang on")).await.expect("input");
    let mut streamed = frames.events_until(|e| matches!(e.body, EventBody::TurnDelta { .. })).await;
    source.cancel(&worker, LifecycleRequest { reason: Some("enough".into()) }).await.expect("cancel");
    streamed.extend(frames.events_until(|e| matches!(e.body, EventBody::TurnCancelled { .. })).await);
    let Some(EventBody::TurnCancelled { reply_seq: Some(reply_seq), .. }) = streamed.last().map(|e| &e.body) else {
        panic!("turn_cancelled names the kept reply: {:?}", streamed.last());
    };

    let entries = transcript(&source, &worker).await;
    let reply = &entries[(*reply_seq - 1) as usize];
    assert_eq!((reply.role, reply.outcome), (Role::Assistant, Some(TurnOutcome::Cancelled)));
    assert_eq!(reply.content, deltas(&streamed, 1), "exactly what streamed is kept");
    assert!("You said: ".starts_with(&reply.content) && !reply.content.is_empty(), "{:?}", reply.content);
    assert_eq!(entries.last().map(|e| e.content.as_str()), Some("turn 1 cancelled: enough"));
}

pub(crate) async fn profiles_name_executor_and_model_but_never_where_the_model_lives(source: Source) {
    let list = source.profiles().await.expect("profiles");
    let names: Vec<_> = list.profiles.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["default", "fast", setup::MODEL_PROFILE, "slow"]);
    let model = list.profiles.iter().find(|p| p.name == setup::MODEL_PROFILE).unwrap();
    assert_eq!((model.executor.as_str(), model.model.as_deref()), ("openai", Some(setup::MODEL)));
    assert_eq!(model.description.as_deref(), Some(setup::MODEL_DESCRIPTION));
    let echo = list.profiles.iter().find(|p| p.name == "fast").unwrap();
    assert_eq!((echo.executor.as_str(), echo.model.as_deref()), ("echo", None));
    let json = serde_json::to_string(&list).unwrap();
    for hidden in ["http", "127.0.0.1", "/v1", "api_key"] {
        assert!(!json.contains(hidden), "{hidden} in {json}");
    }
}
