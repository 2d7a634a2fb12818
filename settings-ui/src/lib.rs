//! The web UI of the Workspace Backend: plain HTML, CSS and ES modules with no build step, embedded in the
//! binary so the backend serves them without reading files at run time.
//!
//! The page talks only to the backend's own API (same origin), never to a runtime, and holds no token.

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// Path it is served at.
    pub path: &'static str,
    /// `Content-Type` header value.
    pub content_type: &'static str,
    /// The file's bytes.
    pub body: &'static [u8],
}

macro_rules! assets {
    ($($path:literal => $file:literal, $type:expr;)*) => {
        /// Every embedded file.
        pub static ASSETS: &[Asset] = &[
            $(Asset { path: $path, content_type: $type, body: include_bytes!(concat!("../static/", $file)) },)*
        ];
    };
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

assets! {
    "/" => "index.html", HTML;
    "/app.js" => "app.js", JS;
    "/api.js" => "api.js", JS;
    "/dom.js" => "dom.js", JS;
    "/format.js" => "format.js", JS;
    "/labels.js" => "labels.js", JS;
    "/poller.js" => "poller.js", JS;
    "/health.js" => "health.js", JS;
    "/workers.js" => "workers.js", JS;
    "/workers-table.js" => "workers-table.js", JS;
    "/create-dialog.js" => "create-dialog.js", JS;
    "/worker-view.js" => "worker-view.js", JS;
    "/event-stream.js" => "event-stream.js", JS;
    "/transcript-view.js" => "transcript-view.js", JS;
    "/message.js" => "message.js", JS;
    "/composer.js" => "composer.js", JS;
    "/confirm-dialog.js" => "confirm-dialog.js", JS;
    "/runtimes.js" => "runtimes.js", JS;
    "/connections.js" => "connections.js", JS;
    "/connection-row.js" => "connection-row.js", JS;
    "/connection-form.js" => "connection-form.js", JS;
    "/test-report.js" => "test-report.js", JS;
    "/token-hint.js" => "token-hint.js", JS;
    "/reload-button.js" => "reload-button.js", JS;
    "/sign-in.js" => "sign-in.js", JS;
    "/style.css" => "style.css", CSS;
}

/// The file served at `path`, if there is one.
pub fn asset(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|asset| asset.path == path)
}

/// Content-Security-Policy of every page: scripts, styles and connections only from the backend itself, no
/// inline script or style, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_and_its_files_are_served() {
        let page = asset("/").expect("the index page");
        assert_eq!(page.content_type, HTML);
        let text = std::str::from_utf8(page.body).unwrap();
        assert!(text.contains(r#"src="/app.js""#), "the page loads its script from a file");
        assert_eq!(asset("/app.js").map(|a| a.content_type), Some(JS));
        assert_eq!(asset("/style.css").map(|a| a.content_type), Some(CSS));
        assert!(asset("/secret").is_none());
    }

    #[test]
    fn no_page_carries_an_inline_script_or_handler() {
        for asset in ASSETS.iter().filter(|a| a.content_type == HTML) {
            let text = std::str::from_utf8(asset.body).unwrap().to_ascii_lowercase();
            for script in text.match_indices("<script").map(|(at, _)| &text[at..]) {
                let tag = &script[..script.find('>').unwrap()];
                assert!(tag.contains("src="), "{}: an inline script would be refused by the CSP", asset.path);
            }
            assert!(!text.contains(" onclick="), "{}: inline handlers are refused by the CSP", asset.path);
        }
    }
}
