//! A backend driving a real `worker-runtime` over the remote-http source: workers on it behave as on the
//! embedded runtime, a remote that is down is listed and recovers, and event streams survive its restart.

use std::collections::BTreeSet;
use std::time::Duration;

use backend::api::views::RuntimeView;
use backend::health::HealthState;
use futures::StreamExt;
use runtime_api::{ErrorCode, EventBody, InputRequest, RuntimeSource, RuntimeStatus, StreamFrame, WhenBusy};
use tests::browser::BrowserClient;
use tests::fault_proxy::FaultProxy;
use tests::harness::{NOTHING_LISTENS, RuntimeProcess, eventually, serve_backend_with};

fn remote_config(base: &str, token_env: Option<&str>) -> String {
    let token = token_env.map(|name| format!("token_ref = \"env:{name}\"\n")).unwrap_or_default();
    format!("[[runtimes.remote]]\nid = \"dev\"\nendpoint = \"{base}\"\ndisplay_name = \"Dev runtime\"\n{token}")
}

async fn view(base: &str) -> RuntimeView {
    reqwest::get(format!("{base}/api/runtimes/dev")).await.unwrap().json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_down_at_start_is_listed_and_works_once_it_comes_up() {
    // The backend's endpoint is a proxy this test holds, in front of nothing at first; the runtime comes up
    // behind it later. (Starting the runtime on a port picked and released before would race.)
    let proxy = FaultProxy::start(NOTHING_LISTENS.parse().unwrap()).await;
    let port = proxy.addr().port();
    let base = format!("http://{}", proxy.addr());
    let served = serve_backend_with(&remote_config(&base, None), |b| b).await;
    // The monitor probes a new runtime at once; until that probe has failed there is no error to show.
    let down = eventually("the first probe to fail", || async {
        Some(view(&served.base).await).filter(|view| view.health.as_ref().is_some_and(|h| h.last_error.is_some()))
    })
    .await;
    assert_eq!((down.status, down.active), (RuntimeStatus::Unavailable, true));
    let error = down.health.and_then(|health| health.last_error).expect("the failure is shown");
    assert_eq!(error.code, ErrorCode::RuntimeUnavailable);
    assert!(!error.message.contains(&port.to_string()), "{error}");

    // Once it comes up, the health monitor's next probe finds it: no backend restart is needed.
    let runtime = RuntimeProcess::start(Vec::<String>::new());
    proxy.set_upstream(runtime.addr());
    let up = eventually("the remote becoming ready", || async {
        Some(view(&served.base).await).filter(|view| view.status == RuntimeStatus::Ready)
    })
    .await;
    assert_eq!(up.health.map(|health| health.status), Some(HealthState::Ready));
    let client = BrowserClient::connect(&served.base, "dev").await;
    let worker = client.create(Default::default()).await.unwrap().summary.worker_id;
    assert_eq!(client.get(&worker).await.unwrap().summary.runtime_id.as_str(), "dev");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_stream_through_the_backend_survives_a_remote_restart_without_gap_or_repeat() {
    let data = tempfile::tempdir().unwrap();
    let mut runtime =
        RuntimeProcess::start(["--store".into(), "fs".into(), "--data-dir".into(), data.path().as_os_str().to_owned()]);
    let served = serve_backend_with(&remote_config(&runtime.base, None), |b| b).await;
    let client = BrowserClient::connect(&served.base, "dev").await;
    let worker = client.create(Default::default()).await.unwrap().summary.worker_id;
    let mut stream = client.subscribe(Default::default()).await.unwrap();
    let StreamFrame::Snapshot(snapshot) = stream.next().await.unwrap() else { panic!("snapshot first") };

    let mut seen = Vec::new();
    let mut send_and_collect = async |content: &str, seen: &mut Vec<runtime_api::Event>| {
        let input = InputRequest::user(content).when_busy(WhenBusy::Queue);
        let ack = client.input(&worker, input).await.unwrap();
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(20), stream.next()).await.unwrap().unwrap();
            if let StreamFrame::Event { event } = frame {
                let done = matches!(event.body, EventBody::TurnCompleted { turn_id, .. } if turn_id == ack.turn_id);
                seen.push(event);
                if done {
                    return;
                }
            }
        }
    };
    send_and_collect("before", &mut seen).await;
    runtime.restart();
    // After a restart the client's first call may find the remote still coming up: retry briefly.
    for _ in 0..50 {
        if client.summary().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    send_and_collect("after", &mut seen).await;

    let seqs: Vec<u64> = seen.iter().map(|e| e.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order, no repeat: {seqs:?}");
    // Every durable event the runtime holds since the snapshot reached the Browser, once: the replay is read
    // up to the last one delivered, not until a silence.
    let delivered: BTreeSet<u64> = seen.iter().filter(|e| e.is_durable()).map(|e| e.seq).collect();
    let last = *delivered.last().expect("durable events were delivered");
    let mut replay =
        client.subscribe(runtime_api::SubscribeRequest { after: Some(snapshot.seq), worker_id: None }).await.unwrap();
    let mut durable = BTreeSet::new();
    while durable.last().is_none_or(|seq| *seq < last) {
        let frame = tokio::time::timeout(Duration::from_secs(20), replay.next()).await.unwrap().unwrap();
        if let StreamFrame::Event { event } = frame {
            durable.insert(event.seq);
        }
    }
    assert_eq!(durable, delivered, "every durable event arrived once");
}
