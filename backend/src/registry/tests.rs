use std::time::Duration;

use futures::StreamExt;
use runtime_api::{ErrorCode, SourceKind, StreamFrame};

use super::*;

fn descriptor(id: &str) -> SourceDescriptor {
    SourceDescriptor {
        runtime_id: RuntimeId::parse(id).unwrap(),
        display_name: id.into(),
        kind: SourceKind::RemoteHttp,
    }
}

fn registry() -> RuntimeRegistry {
    RuntimeRegistry::new(StackSettings::default(), Arc::new(Metrics::new()))
}

#[test]
fn ids_are_unique_and_order_is_kept() {
    let registry = registry();
    registry.register_inactive(descriptor("b"), "not yet").unwrap();
    registry.register_inactive(descriptor("a"), "not yet").unwrap();
    assert!(matches!(registry.register_inactive(descriptor("a"), "again"), Err(RegistryError::Duplicate(_))));
    let ids: Vec<_> = registry.list().iter().map(|e| e.runtime_id().to_string()).collect();
    assert_eq!(ids, ["b", "a"]);
    assert_eq!(registry.get(&RuntimeId::parse("zz").unwrap()).err().unwrap().code, ErrorCode::RuntimeNotFound);
}

#[tokio::test]
async fn inactive_runtimes_answer_unavailable_with_their_reason() {
    let registry = registry();
    let entry = registry.register_inactive(descriptor("later"), "remote runtimes arrive in a later build").unwrap();
    let error = entry.summary().await.unwrap_err();
    assert_eq!(error.code, ErrorCode::RuntimeUnavailable);
    assert!(error.message.contains("remote runtimes arrive in a later build"), "{error}");
    assert_eq!(error.runtime_id.as_ref().map(RuntimeId::as_str), Some("later"));
}

#[tokio::test]
async fn removing_a_runtime_closes_its_streams_with_a_typed_frame() {
    let registry = registry();
    let source = crate::testing::PendingStreamSource::new("leaving");
    let entry = registry.register(Arc::new(source), Sanitizer::new()).unwrap();
    let mut stream = entry.subscribe(Default::default()).await.unwrap();
    assert!(matches!(stream.next().await, Some(StreamFrame::Snapshot(_))));
    registry.remove(entry.runtime_id()).unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(5), stream.next()).await.unwrap();
    assert!(matches!(closed, Some(StreamFrame::Closed { reason: CloseReason::SourceRemoved, .. })), "{closed:?}");
    assert!(stream.next().await.is_none());
    assert!(registry.get(&RuntimeId::parse("leaving").unwrap()).is_err());
}
