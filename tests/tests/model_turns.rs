//! Model turns end to end, the way an operator runs them: a `worker-runtime` process and a
//! `workspace-backend` process, both with an `openai` profile pointed at a scripted model server. Deltas
//! reach a Browser WebSocket, the reply is recorded with its usage, a cancel closes the provider's
//! connection and keeps the partial reply, and neither the key nor the provider's address reaches the
//! Browser or any log line.

use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};
use tests::harness::LoggedProcess;
use tests::model_server::{Behaviour, ModelServer, error_object};
use tokio_tungstenite::tungstenite::Message;

const KEY: &str = "sk-canary-model-key-5e1f";
const KEY_VAR: &str = "YOI_TEST_MODEL_KEY_CANARY";
/// Everything, so a library that logs an address at some level would be caught too.
const LOGS: &str = "trace";

/// Two processes sharing one profiles file (`local-llm`: openai, key from the environment), the backend
/// serving the runtime as `dev` and the same profiles on its embedded runtime.
struct Setup {
    model: ModelServer,
    runtime: LoggedProcess,
    backend: LoggedProcess,
    _dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let model = ModelServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let profiles = format!(
        "[[profiles]]\nname = \"local-llm\"\nexecutor = \"openai\"\nbase_url = \"{}\"\nmodel = \"qwen2.5:0.5b\"\n\
         api_key_ref = \"env:{KEY_VAR}\"\nsystem_prompt = \"You are a concise assistant.\"\n\
         description = \"Small local model\"\nmax_retries = 0\n",
        model.base_url()
    );
    std::fs::create_dir_all(dir.path().join(".yoi")).unwrap();
    std::fs::write(dir.path().join(".yoi/profiles.toml"), &profiles).unwrap();
    let with_key = |command: &mut std::process::Command| {
        command.env(KEY_VAR, KEY);
    };
    let runtime = LoggedProcess::start(
        "worker-runtime",
        ["--runtime-id", "gpu-box", "--log", LOGS, "--profiles"]
            .map(std::ffi::OsString::from)
            .into_iter()
            .chain([dir.path().join(".yoi/profiles.toml").into_os_string()]),
        with_key,
    );
    std::fs::write(
        dir.path().join(".yoi/workspace-backend.toml"),
        format!("[[runtimes.remote]]\nid = \"dev\"\nendpoint = \"{}\"\ndisplay_name = \"Dev\"\n", runtime.base),
    )
    .unwrap();
    let backend = LoggedProcess::start(
        "workspace-backend",
        [std::ffi::OsString::from("--log"), LOGS.into(), "--no-auth".into(), "--workspace".into(), dir.path().into()],
        with_key,
    );
    Setup { model, runtime, backend, _dir: dir }
}

impl Setup {
    fn api(&self, path: &str) -> String {
        format!("{}/api/runtimes/{path}", self.backend.base)
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let response = reqwest::Client::new().post(self.api(path)).json(&body).send().await.unwrap();
        assert!(response.status().is_success(), "{path}: {}", response.status());
        response.json().await.unwrap()
    }

    async fn get(&self, path: &str) -> Value {
        reqwest::get(self.api(path)).await.unwrap().json().await.unwrap()
    }
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The Browser's event stream of one worker.
async fn subscribe(setup: &Setup, runtime: &str, worker: &str) -> Socket {
    let url = format!("{}?worker_id={worker}", setup.api(&format!("{runtime}/events")).replacen("http", "ws", 1));
    tokio_tungstenite::connect_async(url).await.expect("the Browser stream opens").0
}

/// Frames up to and including the first event of `kind`, as JSON.
async fn frames_until(socket: &mut Socket, kind: &str) -> Vec<Value> {
    let mut frames = Vec::new();
    loop {
        let message = tokio::time::timeout(Duration::from_secs(20), socket.next()).await.expect("a frame in time");
        let Some(Ok(Message::Text(text))) = message else { panic!("the stream ended: {message:?}") };
        let frame: Value = serde_json::from_str(&text).unwrap();
        let done = frame["event"]["kind"] == kind;
        frames.push(frame);
        if done {
            return frames;
        }
    }
}

fn deltas(frames: &[Value]) -> String {
    frames.iter().filter(|f| f["event"]["kind"] == "turn_delta").filter_map(|f| f["event"]["delta"].as_str()).collect()
}

async fn model_worker(setup: &Setup, runtime: &str) -> String {
    let created = setup.post(&format!("{runtime}/workers"), json!({"profile": "local-llm"})).await;
    assert_eq!((created["executor"].as_str(), created["model"].as_str()), (Some("openai"), Some("qwen2.5:0.5b")));
    created["worker_id"].as_str().unwrap().to_owned()
}

/// Runs one turn and returns its frames and the worker's transcript.
async fn turn(setup: &Setup, runtime: &str, worker: &str, input: &str, ends_with: &str) -> (Vec<Value>, Vec<Value>) {
    let mut socket = subscribe(setup, runtime, worker).await;
    setup.post(&format!("{runtime}/workers/{worker}/input"), json!({"content": input})).await;
    let frames = frames_until(&mut socket, ends_with).await;
    let transcript = setup.get(&format!("{runtime}/workers/{worker}/transcript")).await;
    (frames, transcript["entries"].as_array().unwrap().clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_model_turn_streams_to_the_browser_records_usage_and_a_cancel_closes_the_provider() {
    let setup = setup().await;
    let worker = model_worker(&setup, "dev").await;

    let (frames, entries) = turn(&setup, "dev", &worker, "hello model", "turn_completed").await;
    assert_eq!(deltas(&frames), "You said: hello model");
    let completed = frames.last().unwrap();
    // The scripted server counts words: 5 of system prompt and 2 of input; 4 pieces of reply.
    assert_eq!(completed["event"]["usage"], json!({"prompt_tokens": 7, "completion_tokens": 4, "total_tokens": 11}));
    let reply = &entries[1];
    assert_eq!((reply["role"].as_str(), reply["content"].as_str()), (Some("assistant"), Some("You said: hello model")));
    assert_eq!((reply["executor"].as_str(), reply["model"].as_str()), (Some("openai"), Some("scripted-model")));
    assert_eq!(reply["usage"], completed["event"]["usage"]);
    assert!(reply["first_token_ms"].is_u64() && reply["duration_ms"].is_u64());
    let request = &setup.model.requests()[0];
    assert_eq!(request.header("authorization"), Some(format!("Bearer {KEY}").as_str()));
    assert_eq!(request.body["messages"][0], json!({"role": "system", "content": "You are a concise assistant."}));
    let detail = setup.get(&format!("dev/workers/{worker}")).await;
    assert_eq!(detail["usage"]["total_tokens"], 11);

    // A second turn sends the first exchange as history.
    turn(&setup, "dev", &worker, "and again", "turn_completed").await;
    let history: Vec<_> = setup.model.requests()[1].body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(history, ["You are a concise assistant.", "hello model", "You said: hello model", "and again"]);

    // Cancel mid-stream: the slow reply would take two seconds.
    let mut socket = subscribe(&setup, "dev", &worker).await;
    let words = "slow a b c d e f g h i j k l m n o p q r s";
    setup.post(&format!("dev/workers/{worker}/input"), json!({"content": words})).await;
    let mut streamed = frames_until(&mut socket, "turn_delta").await;
    let cancelled_at = tokio::time::Instant::now();
    setup.post(&format!("dev/workers/{worker}/cancel"), json!({"reason": "enough"})).await;
    assert!(setup.model.wait_closed(2, Duration::from_secs(1)).await, "the provider's connection closes");
    assert!(setup.model.client_closed_early(2), "closed by the runtime, before the reply ended");
    let close = setup.model.closed_at(2).unwrap().saturating_duration_since(cancelled_at);
    assert!(close < Duration::from_secs(1), "closed {close:?} after the cancel");
    streamed.extend(frames_until(&mut socket, "turn_cancelled").await);
    let transcript = setup.get(&format!("dev/workers/{worker}/transcript")).await;
    let entries = transcript["entries"].as_array().unwrap();
    let partial = &entries[entries.len() - 2];
    assert_eq!((partial["role"].as_str(), partial["outcome"].as_str()), (Some("assistant"), Some("cancelled")));
    assert_eq!(partial["content"].as_str().unwrap(), deltas(&streamed));
    assert!(partial["content"].as_str().unwrap().len() < "You said: ".len() + words.len());
    assert_eq!(entries.last().unwrap()["content"], "turn 3 cancelled: enough");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiles_are_listed_for_embedded_and_remote_runtimes_without_address_or_key() {
    let setup = setup().await;
    for runtime in ["dev", "backend-internal"] {
        let list = setup.get(&format!("{runtime}/profiles")).await;
        let profiles = list["profiles"].as_array().unwrap();
        let names: Vec<_> = profiles.iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["default", "local-llm"], "{runtime}");
        assert_eq!(
            profiles[1],
            json!({"name": "local-llm", "executor": "openai", "model": "qwen2.5:0.5b", "description": "Small local model"})
        );
    }
    // The backend's own embedded runtime runs model turns too.
    let worker = model_worker(&setup, "backend-internal").await;
    let (frames, _) = turn(&setup, "backend-internal", &worker, "embedded", "turn_completed").await;
    assert_eq!(deltas(&frames), "You said: embedded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_model_turns_are_typed_and_no_key_or_provider_address_reaches_the_browser_or_a_log() {
    let setup = setup().await;
    let worker = model_worker(&setup, "dev").await;
    let base_url = setup.model.base_url();
    let echo = format!("no model at {base_url} for key {KEY}");
    setup.model.push(Behaviour::Status { status: 400, headers: Vec::new(), body: error_object(&echo, "invalid") });
    setup.model.push(Behaviour::Status { status: 401, headers: Vec::new(), body: error_object(&echo, "auth") });
    let mut seen = String::new();
    let mut reasons = Vec::new();
    for input in ["first", "second"] {
        let (frames, entries) = turn(&setup, "dev", &worker, input, "turn_failed").await;
        reasons.push(frames.last().unwrap()["event"]["reason"].as_str().unwrap().to_owned());
        seen.push_str(&serde_json::to_string(&frames).unwrap());
        seen.push_str(&serde_json::to_string(&entries).unwrap());
    }
    assert_eq!(reasons, ["provider_bad_request", "provider_auth_failed"]);
    assert!(seen.contains("no model at <provider url> for key <api key>"), "the provider's words, scrubbed: {seen}");
    for path in ["dev", "dev/profiles", "backend-internal/profiles", &format!("dev/workers/{worker}")] {
        seen.push_str(&setup.get(path).await.to_string());
    }
    seen.push_str(&reqwest::get(format!("{}/metrics", setup.backend.base)).await.unwrap().text().await.unwrap());

    let Setup { model, runtime, backend, _dir } = setup;
    let logged = format!("{}\n{}", runtime.stop(), backend.stop());
    assert!(logged.contains("model turn failed"), "the failures were logged: {logged}");
    let port = model.addr().port().to_string();
    for (place, text) in [("the Browser's answers", &seen), ("the logs", &logged)] {
        for canary in [KEY, KEY_VAR, base_url.as_str(), &format!("127.0.0.1:{port}")] {
            assert!(!text.contains(canary), "{canary} leaked into {place}");
        }
    }
}

/// SPEC §9's profiles file, verbatim.
const SPEC_PROFILES: &str = include_str!("../../runtime-core/tests/fixtures/spec-profiles.toml");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_binaries_start_with_the_specs_profiles_file_and_a_missing_key_fails_only_the_turn() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".yoi")).unwrap();
    let file = dir.path().join(".yoi/profiles.toml");
    std::fs::write(&file, SPEC_PROFILES).unwrap();
    let no_key = |command: &mut std::process::Command| {
        command.env_remove("OPENAI_API_KEY");
    };
    let runtime = LoggedProcess::start(
        "worker-runtime",
        [std::ffi::OsString::from("--profiles"), file.clone().into_os_string()],
        no_key,
    );
    std::fs::write(
        dir.path().join(".yoi/workspace-backend.toml"),
        format!("[[runtimes.remote]]\nid = \"dev\"\nendpoint = \"{}\"\n", runtime.base),
    )
    .unwrap();
    let args = ["--no-auth".as_ref(), "--workspace".as_ref(), dir.path().as_os_str()];
    let backend = LoggedProcess::start("workspace-backend", args, no_key);
    let setup = Setup { model: ModelServer::start().await, runtime, backend, _dir: dir };
    for runtime in ["dev", "backend-internal"] {
        let worker = model_worker(&setup, runtime).await;
        let (frames, entries) = turn(&setup, runtime, &worker, "hello", "turn_failed").await;
        let failed = &frames.last().unwrap()["event"];
        assert_eq!(failed["reason"], "provider_credentials_missing", "{runtime}: {failed}");
        assert!(!failed["error"].as_str().unwrap().contains("OPENAI_API_KEY"), "{failed}");
        assert_eq!(entries.last().unwrap()["role"], "notice");
        let summary = setup.get(runtime).await;
        assert_eq!(summary["status"], "ready", "{runtime} keeps serving");
    }
}
