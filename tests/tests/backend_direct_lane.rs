//! The backend answers a worker's detail without its router (the direct lane) exactly as the router does:
//! the same status, body and headers, the same errors and the same metric label. A path with a
//! percent-encoded id is left to the router, which decodes it to the same ids, so the two answers can be
//! compared request for request.

use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderMap};
use tests::harness::serve_backend;

/// What an answer says, apart from what differs per request (its id and date).
#[derive(Debug, PartialEq)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

async fn answer(http: &reqwest::Client, url: &str) -> Answer {
    let response = http.get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let headers = kept(response.headers());
    assert!(response.headers().contains_key("x-request-id"), "{url} has a request id");
    Answer { status, headers, body: response.text().await.unwrap() }
}

fn kept(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut kept: Vec<_> = headers
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "x-request-id" | "date"))
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
        .collect();
    kept.sort();
    kept
}

#[tokio::test]
async fn the_direct_lane_answers_as_the_router_does() {
    let served = serve_backend(|builder| builder).await;
    let http = reqwest::Client::new();
    let runtime = format!("{}/api/runtimes/backend-internal", served.base);
    let created: serde_json::Value =
        http.post(format!("{runtime}/workers")).send().await.unwrap().json().await.unwrap();
    let worker = created["worker_id"].as_str().unwrap().to_owned();
    // `%2D` is `-`: the router decodes it, the lane leaves such a path to the router.
    let routed_worker = worker.replacen('-', "%2D", 1);

    let cases = [
        (format!("{runtime}/workers/{worker}"), format!("{runtime}/workers/{routed_worker}"), 200),
        (format!("{runtime}/workers/w-nobody"), format!("{runtime}/workers/w%2Dnobody"), 404),
        (
            format!("{}/api/runtimes/nowhere/workers/{worker}", served.base),
            format!("{}/api/runtimes/nowher%65/workers/{worker}", served.base),
            404,
        ),
        (format!("{runtime}/workers/{worker}?any=query"), format!("{runtime}/workers/{routed_worker}?any=query"), 200),
    ];
    for (direct, routed, status) in &cases {
        let (direct_answer, routed_answer) = (answer(&http, direct).await, answer(&http, routed).await);
        assert_eq!(direct_answer.status, *status, "{direct}: {}", direct_answer.body);
        assert_eq!(direct_answer, routed_answer, "{direct} against {routed}");
    }
    let detail: serde_json::Value = serde_json::from_str(&answer(&http, &cases[0].0).await.body).unwrap();
    assert_eq!(
        (detail["worker_id"].as_str(), detail["runtime_id"].as_str()),
        (Some(&*worker), Some("backend-internal"))
    );

    // Each answer, whichever way it went, is counted under the detail route.
    let metrics = http.get(format!("{}/metrics", served.base)).send().await.unwrap().text().await.unwrap();
    let counted = |status: u16| {
        format!(
            r#"yoi_backend_http_requests_total{{method="GET",route="/api/runtimes/{{runtime_id}}/workers/{{worker_id}}",status="{status}"}} "#
        )
    };
    let count = |status: u16| -> u64 {
        let line =
            metrics.lines().find(|line| line.starts_with(&counted(status))).unwrap_or_else(|| panic!("{metrics}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert_eq!((count(200), count(404)), (5, 4));

    // A HEAD is the router's, which answers it as a GET without the body.
    let head = http.head(&cases[0].0).send().await.unwrap();
    assert_eq!(head.status().as_u16(), 200);
    assert_eq!(head.headers().get(CONTENT_TYPE).unwrap(), "application/json");
    assert_eq!(head.headers().get(CACHE_CONTROL).unwrap(), "no-store");
}
