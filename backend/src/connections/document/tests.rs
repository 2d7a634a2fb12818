use super::*;
use crate::connections::rules::ConnectionDraft;

fn connection(id: &str, token_ref: Option<&str>) -> CheckedConnection {
    ConnectionDraft {
        id: id.into(),
        endpoint: "http://127.0.0.1:8790".into(),
        display_name: format!("{id} runtime"),
        token_ref: token_ref.map(Into::into),
    }
    .check()
    .unwrap()
}

fn add(text: &str, id: &str) -> String {
    let mut doc = ConfigDocument::parse(text).unwrap();
    doc.add_remote(&connection(id, None)).unwrap();
    doc.render()
}

fn remove(text: &str, id: &str) -> String {
    let mut doc = ConfigDocument::parse(text).unwrap();
    assert!(doc.remove_remote(id), "{id} was there");
    doc.render()
}

const OPERATOR_FILE: &str = r#"# my own note: keep me
[server]
bind   = "127.0.0.1:8780"   # aligned on purpose
future_knob = true

[unknown.section]
z = 1
a = 2
"#;

#[test]
fn adding_to_an_empty_file_writes_one_entry() {
    let text = add("", "dev");
    assert_eq!(
        text,
        "[[runtimes.remote]]\nid = \"dev\"\nendpoint = \"http://127.0.0.1:8790\"\ndisplay_name = \"dev runtime\"\n"
    );
    let parsed: toml::Table = text.parse().unwrap();
    assert_eq!(parsed["runtimes"]["remote"][0]["id"].as_str(), Some("dev"));
}

#[test]
fn adding_keeps_everything_the_operator_wrote() {
    let text = add(OPERATOR_FILE, "dev");
    assert!(text.starts_with(OPERATOR_FILE), "the old text is untouched:\n{text}");
    assert!(
        text.ends_with(
            "[[runtimes.remote]]\nid = \"dev\"\nendpoint = \"http://127.0.0.1:8790\"\ndisplay_name = \"dev runtime\"\n"
        ),
        "{text}"
    );
}

#[test]
fn removing_what_was_added_gives_back_the_original_text() {
    let with_two = add(&add(OPERATOR_FILE, "dev"), "prod");
    assert_eq!(remove(&remove(&with_two, "dev"), "prod"), OPERATOR_FILE);
    assert_eq!(remove(&remove(&with_two, "prod"), "dev"), OPERATOR_FILE);
}

#[test]
fn removing_keeps_comments_above_the_entry_and_unknown_keys_of_others() {
    let text = r#"# top
[[runtimes.remote]]
id = "a"
endpoint = "http://a:1"
extra = "unknown key"   # kept

# about b, written by hand
[[runtimes.remote]]
id = "b"
endpoint = "http://b:1"

# trailing note
"#;
    let after = remove(text, "b");
    assert!(after.contains("# about b, written by hand"), "{after}");
    assert!(after.contains("extra = \"unknown key\"   # kept"), "{after}");
    assert!(after.contains("# trailing note"), "{after}");
    assert!(!after.contains("id = \"b\""), "{after}");
    let after = remove(text, "a");
    assert!(after.starts_with("# top\n"), "{after}");
    assert!(after.contains("# about b, written by hand\n[[runtimes.remote]]\nid = \"b\""), "{after}");
}

#[test]
fn ids_are_read_from_both_lists() {
    let text = "[[runtimes.remote]]\nid = \"a\"\n[[runtimes.local_compat]]\nid = \"old\"\npath = \"x\"\n";
    let doc = ConfigDocument::parse(text).unwrap();
    assert_eq!(doc.remote_ids(), ["a"]);
    assert_eq!(doc.local_compat_ids(), ["old"]);
}

#[test]
fn inline_arrays_are_edited_in_place() {
    let text = "runtimes.remote = [{ id = \"a\", endpoint = \"http://a:1\" }]\n";
    let mut doc = ConfigDocument::parse(text).unwrap();
    doc.add_remote(&connection("b", Some("env:YOI_RUNTIME_TOKEN_B"))).unwrap();
    assert_eq!(doc.remote_ids(), ["a", "b"]);
    assert!(doc.remove_remote("a"));
    assert_eq!(doc.remote_ids(), ["b"]);
    let parsed: toml::Table = doc.render().parse().unwrap();
    assert_eq!(parsed["runtimes"]["remote"][0]["token_ref"].as_str(), Some("env:YOI_RUNTIME_TOKEN_B"));
}

#[test]
fn a_file_of_another_shape_is_refused_not_rewritten() {
    let mut doc = ConfigDocument::parse("runtimes = 3\n").unwrap();
    assert!(matches!(doc.add_remote(&connection("a", None)), Err(DocumentError::Shape("runtimes"))));
    let mut doc = ConfigDocument::parse("[runtimes]\nremote = \"x\"\n").unwrap();
    assert!(matches!(doc.add_remote(&connection("a", None)), Err(DocumentError::Shape("runtimes.remote"))));
    match ConfigDocument::parse("[server\nbind = 1\n") {
        Err(DocumentError::Syntax(message)) => assert!(message.starts_with("line 1: "), "{message}"),
        _ => panic!("a syntax error"),
    }
}

#[test]
fn removing_an_unknown_id_changes_nothing() {
    let mut doc = ConfigDocument::parse(OPERATOR_FILE).unwrap();
    assert!(!doc.remove_remote("nope"));
    assert_eq!(doc.render(), OPERATOR_FILE);
}

#[test]
fn a_comment_at_the_end_of_the_file_stays_where_it_was() {
    let original = "# top\n[server]\nbind = \"127.0.0.1:1\"\n# about the bind above\n";
    let added = add(original, "dev");
    assert!(added.starts_with(original), "the comment stays above the new entry:\n{added}");
    assert_eq!(remove(&added, "dev"), original);
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    const ORIGINALS: [&str; 3] = [
        "",
        OPERATOR_FILE,
        "# head\n[[runtimes.remote]]\nid = \"base\"\nendpoint = \"http://b:1\"   # keep\n\n[embedded]\nstore = \"memory\"\n# tail note\n",
    ];

    fn comment_lines(text: &str) -> Vec<String> {
        let mut lines: Vec<String> = text.lines().filter(|l| l.contains('#')).map(|l| l.trim().to_owned()).collect();
        lines.sort();
        lines
    }

    proptest! {
        /// Any sequence of adds and removes keeps every comment, leaves a file that parses with exactly the
        /// expected entries, and undoing every add gives back the original text.
        #[test]
        fn edits_keep_the_operators_text(original in 0..ORIGINALS.len(), ops in prop::collection::vec((any::<bool>(), 0..5u8), 0..12)) {
            let original = ORIGINALS[original];
            let mut doc = ConfigDocument::parse(original).unwrap();
            let mut model: Vec<String> = doc.remote_ids();
            let base = model.clone();
            for (adding, n) in ops {
                let id = format!("rt-{n}");
                if adding && !model.contains(&id) {
                    doc.add_remote(&connection(&id, None)).unwrap();
                    model.push(id);
                } else if !adding {
                    let removed = doc.remove_remote(&id);
                    prop_assert_eq!(removed, model.contains(&id));
                    model.retain(|m| m != &id);
                }
                let text = doc.render();
                prop_assert!(text.parse::<toml::Table>().is_ok(), "parses:\n{}", text);
                prop_assert_eq!(comment_lines(&text), comment_lines(original), "comments kept:\n{}", text);
                doc = ConfigDocument::parse(&text).unwrap();
                prop_assert_eq!(doc.remote_ids(), model.clone());
            }
            for id in model.clone() {
                if !base.contains(&id) {
                    doc.remove_remote(&id);
                }
            }
            prop_assert_eq!(doc.render(), original);
        }
    }
}
