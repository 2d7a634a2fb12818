//! End-to-end tests of the loader: real files in a temporary workspace, environment variables passed explicitly.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::load::load_from;
use super::*;

/// The remote entries of `config`, in file order.
fn remotes(config: &BackendConfig) -> Vec<&RemoteSpec> {
    config.runtimes.iter().filter_map(|spec| spec.as_connection()).collect()
}

/// The local-compat entries of `config`, in file order.
fn views(config: &BackendConfig) -> Vec<&LocalCompatSpec> {
    config
        .runtimes
        .iter()
        .filter_map(|spec| match spec {
            SourceSpec::LocalCompat(view) => Some(view),
            _ => None,
        })
        .collect()
}

/// A temporary workspace directory with a `.yoi/` folder.
struct Workspace {
    /// Removed on drop.
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".yoi")).unwrap();
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes the shared file and returns its path.
    fn base(&self, text: &str) -> PathBuf {
        self.write(CONFIG_FILE, text)
    }

    /// Writes the personal file and returns its path.
    fn local(&self, text: &str) -> PathBuf {
        self.write(LOCAL_CONFIG_FILE, text)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn load(&self, vars: &[(&str, &str)], cli: &CliOverrides) -> Result<BackendConfig, ConfigError> {
        load_from(self.path(), cli, vars.iter().map(|(k, v)| (k.to_string(), v.to_string())), None)
    }

    fn load_ok(&self) -> BackendConfig {
        self.load(&[], &CliOverrides::default()).unwrap()
    }

    /// The problems of a load that must fail, one string each.
    fn problems(&self, vars: &[(&str, &str)], cli: &CliOverrides) -> Vec<String> {
        match self.load(vars, cli) {
            Ok(config) => panic!("expected problems, loaded {config:?}"),
            Err(err) => {
                let problems: Vec<String> = err.problems().iter().map(ToString::to_string).collect();
                assert_eq!(err.to_string(), problems.join("\n"));
                problems
            }
        }
    }
}

fn bind(s: &str) -> Option<SocketAddr> {
    Some(s.parse().unwrap())
}

/// The example from SPEC §7 and the module's file-format documentation.
const EXAMPLE: &str = r#"[server]
bind = "127.0.0.1:8780"
allowed_hosts = ["backend.example"]
allowed_origins = ["https://ui.example"]
access_token_ref = "env:YOI_BACKEND_ACCESS_TOKEN"
request_timeout_secs = 60
body_limit_bytes = 262144

[embedded]
store = "fs"
data_dir = ".yoi/runtime-data"
profiles_file = ".yoi/profiles.toml"

[[runtimes.remote]]
id = "example"
endpoint = "http://127.0.0.1:8790"
display_name = "Example Runtime"
token_ref = "env:EXAMPLE_RUNTIME_TOKEN"

[[runtimes.local_compat]]
id = "old-runtime"
display_name = "Old runtime (read-only)"
path = "/var/lib/yoi/old-runtime"
"#;

#[test]
fn defaults_apply_when_no_files_exist() {
    let ws = Workspace::new();
    let config = ws.load_ok();
    assert_eq!(config.workspace, ws.path());
    assert_eq!(config.server.bind, "127.0.0.1:8780".parse().unwrap());
    assert!(config.server.allowed_hosts.is_empty());
    assert!(config.server.allowed_origins.is_empty());
    assert!(config.server.access_token_ref.is_none());
    assert_eq!(config.server.request_timeout, Duration::from_secs(60));
    assert_eq!(config.server.body_limit_bytes, 262_144);
    assert_eq!(config.server.request_head_timeout, Duration::from_secs(30));
    assert_eq!(config.server.request_body_timeout, Duration::from_secs(30));
    assert_eq!(config.server.body_timeout(), Duration::from_secs(30));
    assert_eq!(config.server.max_connections, 8192);
    assert_eq!(config.embedded.store, StoreKind::Memory);
    assert_eq!(config.embedded.data_dir, None);
    assert_eq!(config.embedded.profiles_file, None);
    assert!(config.runtimes.is_empty());
    assert!(views(&config).is_empty());
}

#[test]
fn connection_limits_are_read_from_files_and_variables_and_checked() {
    let ws = Workspace::new();
    ws.base("[server]\nrequest_head_timeout_secs = 5\nrequest_body_timeout_secs = 120\nrequest_timeout_secs = 20\n");
    let vars = [("YOI_BACKEND_SERVER__MAX_CONNECTIONS", "100")];
    let config = ws.load(&vars, &CliOverrides::default()).unwrap();
    assert_eq!(config.server.request_head_timeout, Duration::from_secs(5));
    assert_eq!(config.server.request_body_timeout, Duration::from_secs(120));
    assert_eq!(config.server.body_timeout(), Duration::from_secs(20), "a body never outlasts the backstop");
    assert_eq!(config.server.max_connections, 100);
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);

    let base =
        ws.base("[server]\nrequest_head_timeout_secs = 0\nrequest_body_timeout_secs = 3601\nmax_connections = 0\n");
    let problems = ws.problems(&[], &CliOverrides::default());
    let b = base.display();
    let expected = [
        format!("{b}:2: server.request_head_timeout_secs: must be between 1 and 3600"),
        format!("{b}:3: server.request_body_timeout_secs: must be between 1 and 3600"),
        format!("{b}:4: server.max_connections: must be between 1 and 1000000"),
    ];
    assert_eq!(problems, expected);
}

#[test]
fn missing_yoi_folder_is_fine_and_missing_workspace_is_not() {
    let dir = tempfile::tempdir().unwrap();
    assert!(load_from(dir.path(), &CliOverrides::default(), [], None).is_ok());
    let err = load_from(&dir.path().join("nope"), &CliOverrides::default(), [], None).unwrap_err();
    assert!(matches!(err, ConfigError::Workspace { .. }), "{err}");
}

#[test]
fn example_config_loads() {
    let ws = Workspace::new();
    ws.base(EXAMPLE);
    let config = ws.load_ok();
    assert_eq!(config.server.allowed_hosts, ["backend.example"]);
    assert_eq!(config.server.allowed_origins, ["https://ui.example"]);
    assert_eq!(config.server.access_token_ref, Some(SecretRef::Env("YOI_BACKEND_ACCESS_TOKEN".into())));
    assert_eq!(config.embedded.store, StoreKind::Fs);
    assert_eq!(config.embedded.data_dir, Some(ws.path().join(".yoi/runtime-data")));
    assert_eq!(config.embedded.profiles_file, Some(ws.path().join(".yoi/profiles.toml")));
    let remotes = remotes(&config);
    let [remote] = remotes.as_slice() else { panic!("{:?}", config.runtimes) };
    assert_eq!(remote.id.as_str(), "example");
    assert_eq!(remote.endpoint.as_str(), "http://127.0.0.1:8790/");
    assert_eq!(remote.display_name, "Example Runtime");
    assert_eq!(remote.token_ref, Some(SecretRef::Env("EXAMPLE_RUNTIME_TOKEN".into())));
    let views = views(&config);
    let [local] = views.as_slice() else { panic!("{:?}", config.runtimes) };
    assert_eq!(local.id.as_str(), "old-runtime");
    assert_eq!(local.path, Path::new("/var/lib/yoi/old-runtime"));
}

#[test]
fn base_then_local_then_env_then_command_line_take_precedence() {
    let ws = Workspace::new();
    ws.base(
        r#"
[server]
bind = "127.0.0.1:1001"
request_timeout_secs = 10
body_limit_bytes = 2048

[embedded]
store = "fs"
"#,
    );
    ws.local(
        r#"
[server]
bind = "127.0.0.1:1002"
request_timeout_secs = 20
"#,
    );
    let vars = [("YOI_BACKEND_SERVER__BIND", "127.0.0.1:1003"), ("YOI_BACKEND_SERVER__REQUEST_TIMEOUT_SECS", "30")];

    let config = ws.load(&vars[..1], &CliOverrides::default()).unwrap();
    assert_eq!(config.server.bind, "127.0.0.1:1003".parse().unwrap());
    assert_eq!(config.server.request_timeout, Duration::from_secs(20), "local beats base");
    assert_eq!(config.server.body_limit_bytes, 2048, "base beats default");
    assert_eq!(config.embedded.store, StoreKind::Fs);

    let config = ws.load(&vars, &CliOverrides { bind: bind("127.0.0.1:1004"), ..Default::default() }).unwrap();
    assert_eq!(config.server.bind, "127.0.0.1:1004".parse().unwrap(), "command line beats env");
    assert_eq!(config.server.request_timeout, Duration::from_secs(30), "env beats local");
}

#[test]
fn remote_runtimes_from_both_files_are_concatenated() {
    let ws = Workspace::new();
    ws.base(
        r#"
[[runtimes.remote]]
id = "team-a"
endpoint = "http://10.0.0.1:8790"

[[runtimes.remote]]
id = "team-b"
endpoint = "https://b.example"
"#,
    );
    ws.local(
        r#"
[[runtimes.remote]]
id = "mine"
endpoint = "http://127.0.0.1:8790"
display_name = "Mine"

[[runtimes.local_compat]]
id = "old"
path = "old-data"
"#,
    );
    let config = ws.load_ok();
    let ids: Vec<&str> = remotes(&config).iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["team-a", "team-b", "mine"]);
    assert_eq!(remotes(&config)[0].display_name, "team-a", "display name defaults to the id");
    assert_eq!(remotes(&config)[2].display_name, "Mine");
    assert_eq!(views(&config)[0].display_name, "old");
    assert_eq!(views(&config)[0].path, ws.path().join("old-data"));
}

#[test]
fn unknown_keys_in_a_file_load_with_a_warning_naming_file_line_and_field() {
    let ws = Workspace::new();
    let local =
        ws.local("# personal\n[server]\nbind = \"127.0.0.1:8780\"\nbind_adress = \"0.0.0.0:1\"\n[tool.other]\nx = 1\n");
    let config = ws.load_ok();
    let warnings: Vec<String> = config.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    let expected = format!("{}:4: server.bind_adress: unknown key `bind_adress`, ignored", local.display());
    assert!(warnings[0].starts_with(&expected), "{warnings:?}");
    assert!(warnings[1].contains(":5: tool: unknown key `tool`"), "{warnings:?}");
    assert_eq!(config.server.bind.to_string(), "127.0.0.1:8780", "the known keys still apply");
}

#[test]
fn unknown_key_in_the_environment_is_a_warning_naming_the_variable() {
    let ws = Workspace::new();
    let config = ws.load(&[("YOI_BACKEND_EMBEDDED__STOR", "fs")], &CliOverrides::default()).unwrap();
    let warnings: Vec<String> = config.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        [
            "environment variable YOI_BACKEND_EMBEDDED__STOR: embedded.stor: unknown key `stor`, ignored; did you mean `store`?"
        ]
    );
}

#[test]
fn environment_variables_can_set_lists_and_problems_in_them_name_the_variable() {
    let ws = Workspace::new();
    ws.base("[server]\nallowed_hosts = [\"replaced.example\"]\n");
    let vars = [("YOI_BACKEND_SERVER__ALLOWED_HOSTS", "[a.example, B.example]")];
    let config = ws.load(&vars, &CliOverrides::default()).unwrap();
    assert_eq!(config.server.allowed_hosts, ["a.example", "b.example"]);

    let remotes = r#"[{id = "env-one", endpoint = "http://10.0.0.1:1"}, {id = "env-two", endpoint = "http://u@h"}]"#;
    let problems = ws.problems(&[("YOI_BACKEND_RUNTIMES__REMOTE", remotes)], &CliOverrides::default());
    assert_eq!(
        problems,
        ["environment variable YOI_BACKEND_RUNTIMES__REMOTE: runtimes.remote[1].endpoint: \
             endpoint must not contain user info"]
    );
}

#[test]
fn variables_without_a_nested_key_are_not_configuration() {
    let ws = Workspace::new();
    let vars = [("YOI_BACKEND_ACCESS_TOKEN", "t0ken"), ("YOI_BACKEND_WORKSPACE", "/elsewhere")];
    assert!(ws.load(&vars, &CliOverrides::default()).is_ok());
}

#[test]
fn bad_endpoints_are_rejected_with_file_line_and_field() {
    let cases = [
        ("http://user:pw@127.0.0.1:8790", "endpoint must not contain user info"),
        ("http://127.0.0.1:8790/?x=1", "endpoint must not contain a query"),
        ("http://127.0.0.1:8790/#top", "endpoint must not contain a fragment"),
        ("ftp://127.0.0.1:8790", "endpoint scheme must be http or https"),
        ("http://", "endpoint must have a host"),
        ("http://127.0.0.1:8790/v1", "endpoint must not contain a path"),
    ];
    for (endpoint, message) in cases {
        let ws = Workspace::new();
        let text = format!(
            r#"[server]
bind = "127.0.0.1:8780"

[[runtimes.remote]]
id = "example"

endpoint = "{endpoint}"
"#
        );
        let local = ws.local(&text);
        let problems = ws.problems(&[], &CliOverrides::default());
        let expected = format!("{}:7: runtimes.remote[0].endpoint: {message}", local.display());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with(&expected), "{endpoint}: {problems:?}");
        assert!(!problems[0].contains(endpoint), "the endpoint must not be echoed: {problems:?}");
    }
}

#[test]
fn endpoint_problem_in_the_second_file_is_traced_to_its_own_line() {
    let ws = Workspace::new();
    ws.base("[[runtimes.remote]]\nid = \"a\"\nendpoint = \"http://10.0.0.1:1\"\n");
    let local = ws.local("[[runtimes.remote]]\nid = \"b\"\nendpoint = \"http://u@10.0.0.2:1\"\n");
    let problems = ws.problems(&[], &CliOverrides::default());
    let expected = format!("{}:3: runtimes.remote[1].endpoint: endpoint must not contain user info", local.display());
    assert_eq!(problems, [expected]);
}

#[test]
fn duplicate_id_across_files_names_both_places() {
    let ws = Workspace::new();
    let base = ws.base("[[runtimes.remote]]\nid = \"dev\"\nendpoint = \"http://10.0.0.1:1\"\n");
    let local = ws.local("\n[[runtimes.local_compat]]\nid = \"dev\"\npath = \"/old\"\n");
    let problems = ws.problems(&[], &CliOverrides::default());
    let expected = format!(
        "{}:3: runtimes.local_compat[0].id: runtime id `dev` is already used by runtimes.remote[0].id ({}:2)",
        local.display(),
        base.display()
    );
    assert_eq!(problems, [expected]);
}

#[test]
fn embedded_runtime_id_is_reserved() {
    let ws = Workspace::new();
    let base = ws.base("[[runtimes.remote]]\nid = \"backend-internal\"\nendpoint = \"http://10.0.0.1:1\"\n");
    let problems = ws.problems(&[], &CliOverrides::default());
    let expected = format!(
        "{}:2: runtimes.remote[0].id: runtime id `backend-internal` is reserved for the embedded runtime",
        base.display()
    );
    assert_eq!(problems, [expected]);
}

#[test]
fn every_problem_is_reported() {
    let ws = Workspace::new();
    let base = ws.base(
        r#"[server]
request_timeout_secs = 0
body_limit_bytes = 17000000
allowed_origins = ["https://ui.example/app"]
[embedded]
data_dir = ""
"#,
    );
    let local = ws.local(
        r#"[[runtimes.remote]]
id = "Bad Id"
endpoint = "http://h#f"
display_name = "two\nlines"
token_ref = "vault:x"

[[runtimes.remote]]
display_name = "no id"

[[runtimes.local_compat]]
id = "old"
"#,
    );
    let problems = ws.problems(&[("YOI_BACKEND_SERVER__BIND", "not-an-address")], &CliOverrides::default());
    let (b, l) = (base.display(), local.display());
    let expected = [
        "environment variable YOI_BACKEND_SERVER__BIND: server.bind: \
         expected an ip address and port such as 127.0.0.1:8780"
            .to_owned(),
        format!("{b}:4: server.allowed_origins[0]: origin must not contain a path, query or fragment"),
        format!("{b}:2: server.request_timeout_secs: must be between 1 and 3600"),
        format!("{b}:3: server.body_limit_bytes: must be between 1024 and 16777216"),
        format!("{b}:6: embedded.data_dir: path must not be empty"),
        format!("{l}:2: runtimes.remote[0].id: runtime id may contain only lowercase letters, digits, '-' and '_'"),
        format!("{l}:3: runtimes.remote[0].endpoint: endpoint must not contain a fragment"),
        format!("{l}:4: runtimes.remote[0].display_name: display name must not contain control characters"),
        format!("{l}:5: runtimes.remote[0].token_ref: secret reference must start with `env:` or `file:`"),
        format!("{l}:7: runtimes.remote[1].id: id is required"),
        format!("{l}:7: runtimes.remote[1].endpoint: endpoint is required"),
        format!("{l}:10: runtimes.local_compat[0].path: path is required"),
    ];
    assert_eq!(problems, expected);
}

#[test]
fn non_loopback_bind_requires_an_access_token_reference() {
    let ws = Workspace::new();
    let base = ws.base("[server]\nbind = \"0.0.0.0:8780\"\n");
    let problems = ws.problems(&[], &CliOverrides::default());
    let expected = format!(
        "{}:2: server.access_token_ref: required because server.bind (0.0.0.0:8780) is not a loopback address",
        base.display()
    );
    assert_eq!(problems, [expected]);

    let ws = Workspace::new();
    let problems = ws.problems(&[], &CliOverrides { bind: bind("[::]:9000"), ..Default::default() });
    assert_eq!(
        problems,
        ["command line: server.access_token_ref: required because server.bind ([::]:9000) is not a loopback address"]
    );

    let ws = Workspace::new();
    ws.local("[server]\naccess_token_ref = \"file:.yoi/secrets/access-token\"\n");
    let config = ws.load(&[("YOI_BACKEND_SERVER__BIND", "0.0.0.0:9000")], &CliOverrides::default()).unwrap();
    assert_eq!(config.server.access_token_ref, Some(SecretRef::File(ws.path().join(".yoi/secrets/access-token"))));
    let config = ws.load(&[], &CliOverrides { bind: bind("[::1]:9000"), ..Default::default() }).unwrap();
    assert!(config.server.bind.ip().is_loopback());
}

#[test]
fn auth_is_on_by_default_and_off_only_on_loopback() {
    let ws = Workspace::new();
    assert_eq!(ws.load(&[], &CliOverrides::default()).unwrap().server.auth, AuthMode::Token);
    let no_auth = CliOverrides { no_auth: true, ..Default::default() };
    assert_eq!(ws.load(&[], &no_auth).unwrap().server.auth, AuthMode::None);
    ws.local("[server]\nauth = \"none\"\n");
    assert_eq!(ws.load(&[], &CliOverrides::default()).unwrap().server.auth, AuthMode::None);

    let ws = Workspace::new();
    let wide = CliOverrides { bind: bind("0.0.0.0:9000"), no_auth: true };
    let problems = ws.problems(&[], &wide);
    assert!(
        problems.contains(
            &"command line: server.auth: \"none\" is allowed with a loopback bind only, and server.bind is 0.0.0.0:9000"
                .to_owned()
        ),
        "{problems:?}"
    );

    let ws = Workspace::new();
    let local = ws.local("[server]\nauth = \"none\"\naccess_token_ref = \"env:YOI_BACKEND_ACCESS_TOKEN\"\n");
    let problems = ws.problems(&[], &CliOverrides::default());
    let expected = format!(
        "{}:2: server.auth: \"none\" cannot be combined with server.access_token_ref; remove one",
        local.display()
    );
    assert_eq!(problems, [expected]);

    let ws = Workspace::new();
    ws.local("[server]\nauth = \"maybe\"\n");
    assert_eq!(ws.problems(&[], &CliOverrides::default()).len(), 1);
}

#[test]
fn fs_store_without_data_dir_gets_the_default() {
    let ws = Workspace::new();
    ws.base("[embedded]\nstore = \"fs\"\n");
    let config = ws.load_ok();
    assert_eq!(config.embedded.store, StoreKind::Fs);
    assert_eq!(config.embedded.data_dir, Some(ws.path().join(".yoi/runtime-data")));
}

#[test]
fn profiles_file_defaults_to_the_workspace_file_when_it_exists() {
    let ws = Workspace::new();
    assert_eq!(ws.load_ok().embedded.profiles_file, None);
    let profiles = ws.write(".yoi/profiles.toml", "[[profiles]]\nname = \"default\"\nexecutor = \"echo\"\n");
    assert_eq!(ws.load_ok().embedded.profiles_file, Some(profiles));
    ws.base("[embedded]\nprofiles_file = \"elsewhere/p.toml\"\n");
    assert_eq!(ws.load_ok().embedded.profiles_file, Some(ws.path().join("elsewhere/p.toml")));
}

#[test]
fn relative_secret_file_references_resolve_against_the_workspace() {
    let ws = Workspace::new();
    ws.base("[[runtimes.remote]]\nid = \"a\"\nendpoint = \"http://10.0.0.1:1\"\ntoken_ref = \"file:.yoi/secrets/a\"\n");
    let config = ws.load_ok();
    assert_eq!(remotes(&config)[0].token_ref, Some(SecretRef::File(ws.path().join(".yoi/secrets/a"))));
}

#[test]
fn debug_output_redacts_endpoints_secret_references_and_paths() {
    let ws = Workspace::new();
    ws.base(
        "[server]\naccess_token_ref = \"env:CANARY_ACCESS_VAR\"\n\
         [embedded]\nstore = \"fs\"\ndata_dir = \"/canary/data\"\nprofiles_file = \"/canary/profiles.toml\"\n\
         [[runtimes.remote]]\nid = \"remote-dev\"\nendpoint = \"http://canary-host.example:8790\"\n\
         token_ref = \"file:/canary/token\"\n\
         [[runtimes.local_compat]]\nid = \"old\"\npath = \"/canary/old-runtime\"\n",
    );
    let shown = format!("{:?}", ws.load_ok());
    for canary in ["canary", "CANARY"] {
        assert!(!shown.contains(canary), "{shown}");
    }
    assert!(shown.contains("remote-dev") && shown.contains("<redacted>"), "{shown}");
}
