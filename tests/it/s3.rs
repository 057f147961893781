//! A real S3 API server for the object-store tests, on 127.0.0.1 only.
//!
//! `WASNAKER_TEST_S3_ENDPOINT` (set by `.ci/run`, which starts moto) names
//! the server. Without it the tests start `moto_server` themselves when it is
//! on PATH (killed when the test process ends), and otherwise fail with a
//! message saying how to get one — unless `WASNAKER_SKIP_S3_TESTS=1`, which
//! skips them (each says so on stderr).
//!
//! On a moto server the harness creates the test bucket and an IAM user with
//! an `s3:*` policy through moto's API. Request authentication is switched
//! on (`/moto-api/reset-auth`) only while [`authenticated`] is held, which
//! waits for every other S3 test to end: moto 5.2 computes a wrong signature
//! for requests whose query holds an encoded `/` (every prefix listing, with
//! boto3 too), so it cannot stay on. Another server needs
//! `WASNAKER_TEST_S3_ACCESS_KEY_ID`, `WASNAKER_TEST_S3_SECRET_ACCESS_KEY` and
//! an existing bucket `WASNAKER_TEST_S3_BUCKET` (default `wasnaker-test`).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use wasnaker::storage::{Location, RetryOptions, S3Options, StorageOptions};

/// Environment variables the test configs name for the credentials.
pub const KEY_ID_ENV: &str = "WASNAKER_TEST_S3_ACCESS_KEY_ID";
pub const SECRET_ENV: &str = "WASNAKER_TEST_S3_SECRET_ACCESS_KEY";
/// Holds a secret that is wrong for the server's user.
pub const WRONG_SECRET_ENV: &str = "WASNAKER_TEST_S3_WRONG_SECRET";
pub const WRONG_SECRET: &str = "wrong-secret-Zq8vY1kP0sT3uW6xA9cD2fG5hJ8kL1mN";

/// The server the tests use.
#[derive(Debug)]
pub struct S3Server {
    pub endpoint: String,
    pub bucket: String,
    /// A moto the harness set up (authentication can be switched on).
    pub moto: bool,
    /// The moto process the tests started themselves, if any.
    _own: Option<OwnServer>,
}

/// A moto started by the tests: killed when its stdin closes, i.e. when the
/// test process ends, however it ends.
#[derive(Debug)]
struct OwnServer {
    _child: Mutex<Child>,
    _stdin: Mutex<ChildStdin>,
}

static SERVER: OnceLock<S3Server> = OnceLock::new();
static PREFIXES: AtomicUsize = AtomicUsize::new(0);
/// Read: an S3 test runs; write: authentication is on.
static AUTH: RwLock<()> = RwLock::new(());

/// The S3 server for one test (held until the test ends), or `None` when
/// `WASNAKER_SKIP_S3_TESTS=1` (`what` names the skipped test on stderr).
pub fn server(what: &str) -> Option<S3Test> {
    let server = get(what)?;
    Some(S3Test {
        server,
        _running: AUTH.read().unwrap_or_else(|e| e.into_inner()),
    })
}

fn get(what: &str) -> Option<&'static S3Server> {
    if std::env::var("WASNAKER_SKIP_S3_TESTS").as_deref() == Ok("1") {
        eprintln!("skipped (WASNAKER_SKIP_S3_TESTS=1): {what}");
        return None;
    }
    Some(SERVER.get_or_init(|| set_up().unwrap_or_else(|e| panic!("{e}"))))
}

/// The server while one test uses it.
pub struct S3Test {
    server: &'static S3Server,
    _running: RwLockReadGuard<'static, ()>,
}

impl std::ops::Deref for S3Test {
    type Target = S3Server;
    fn deref(&self) -> &S3Server {
        self.server
    }
}

/// The server with request authentication on, alone (every other S3 test
/// waits); off again when dropped.
pub fn authenticated(what: &str) -> Option<Authenticated> {
    let server = get(what)?;
    let exclusive = AUTH.write().unwrap_or_else(|e| e.into_inner());
    if server.moto {
        set_moto_auth(&server.endpoint, "0").unwrap_or_else(|e| panic!("turning authentication on at {}: {e}", server.endpoint));
    }
    Some(Authenticated {
        server,
        _exclusive: exclusive,
    })
}

pub struct Authenticated {
    server: &'static S3Server,
    _exclusive: RwLockWriteGuard<'static, ()>,
}

impl std::ops::Deref for Authenticated {
    type Target = S3Server;
    fn deref(&self) -> &S3Server {
        self.server
    }
}

impl Drop for Authenticated {
    fn drop(&mut self) {
        if self.server.moto {
            let _ = set_moto_auth(&self.server.endpoint, "inf");
        }
    }
}

/// After `count` more requests moto checks every request's signature ("inf": never).
fn set_moto_auth(endpoint: &str, count: &str) -> Result<(), String> {
    request(
        endpoint,
        "POST",
        "/moto-api/reset-auth",
        &[("Content-Type", "text/plain")],
        count.as_bytes(),
    )
    .and_then(|(status, body)| {
        if status == 200 {
            Ok(())
        } else {
            Err(format!("HTTP {status}: {body}"))
        }
    })
}

fn set_up() -> Result<S3Server, String> {
    let (endpoint, own) = match std::env::var("WASNAKER_TEST_S3_ENDPOINT") {
        Ok(e) if !e.is_empty() => (e.trim_end_matches('/').to_string(), None),
        _ => {
            let (endpoint, own) = start_moto()?;
            (endpoint, Some(own))
        }
    };
    let bucket = std::env::var("WASNAKER_TEST_S3_BUCKET").unwrap_or_else(|_| "wasnaker-test".into());
    let given = std::env::var(KEY_ID_ENV).is_ok() && std::env::var(SECRET_ENV).is_ok();
    let moto = if given {
        false
    } else {
        let (key_id, secret) = moto_bootstrap(&endpoint, &bucket)?;
        // SAFETY: set once, inside the OnceLock, before any test reads them;
        // std's own environment accesses are serialised by its lock.
        unsafe {
            std::env::set_var(KEY_ID_ENV, key_id);
            std::env::set_var(SECRET_ENV, secret);
        }
        true
    };
    // SAFETY: as above.
    unsafe { std::env::set_var(WRONG_SECRET_ENV, WRONG_SECRET) };
    Ok(S3Server {
        endpoint,
        bucket,
        moto,
        _own: own,
    })
}

fn start_moto() -> Result<(String, OwnServer), String> {
    let on_path = std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("moto_server").is_file()));
    if !on_path {
        return Err(
            "the S3 tests need an S3 API server on 127.0.0.1: run them with `.ci/run` (which installs and starts one), \
                    or `pip install 'moto[server]'` so that `moto_server` is on PATH, or set WASNAKER_TEST_S3_ENDPOINT; \
                    WASNAKER_SKIP_S3_TESTS=1 skips them"
                .into(),
        );
    }
    let port = free_port();
    let log = std::env::temp_dir().join(format!("wasnaker-test-moto-{}.log", std::process::id()));
    // `read` returns when the test process's end of the pipe closes; then moto is killed.
    let script =
        format!("moto_server -H 127.0.0.1 -p {port} >{log:?} 2>&1 & pid=$!; read _ignored; kill $pid 2>/dev/null; wait $pid 2>/dev/null");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting moto_server: {e}"))?;
    let stdin = child.stdin.take().ok_or("no stdin for moto_server")?;
    let endpoint = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while request(&endpoint, "GET", "/moto-api/", &[], b"").is_err() {
        if started.elapsed() > Duration::from_secs(60) {
            return Err(format!(
                "moto_server did not answer on {endpoint} within 60 s; see {}",
                log.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok((
        endpoint,
        OwnServer {
            _child: Mutex::new(child),
            _stdin: Mutex::new(stdin),
        },
    ))
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port on 127.0.0.1: {e}"))
}

/// Through moto's API, with authentication off: the bucket, a user allowed
/// `s3:*` and its access key.
fn moto_bootstrap(endpoint: &str, bucket: &str) -> Result<(String, String), String> {
    let fail = |what: &str, e: String| {
        format!(
            "{endpoint} is not a moto server the tests can set up ({what}: {e}); for another S3 server set \
             {KEY_ID_ENV}, {SECRET_ENV} and WASNAKER_TEST_S3_BUCKET (an existing bucket)"
        )
    };
    set_moto_auth(endpoint, "inf").map_err(|e| fail("reset-auth", e))?;
    let auth = |service: &str| {
        format!("AWS4-HMAC-SHA256 Credential=AKIAWASNAKERSETUP/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=00")
    };
    let s3 = auth("s3");
    let (status, body) =
        request(endpoint, "PUT", &format!("/{bucket}"), &[("Authorization", &s3)], b"").map_err(|e| fail("create bucket", e))?;
    if status != 200 && !body.contains("BucketAlready") {
        return Err(fail("create bucket", format!("HTTP {status}: {body}")));
    }
    let iam = auth("iam");
    let user = format!("wasnaker-test-{}-{}", std::process::id(), nanos());
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
    let mut key = None;
    for action in [
        format!("Action=CreateUser&UserName={user}"),
        format!(
            "Action=PutUserPolicy&UserName={user}&PolicyName=s3&PolicyDocument={}",
            encode(policy)
        ),
        format!("Action=CreateAccessKey&UserName={user}"),
    ] {
        let body = format!("{action}&Version=2010-05-08");
        let (status, text) = request(
            endpoint,
            "POST",
            "/",
            &[("Authorization", &iam), ("Content-Type", "application/x-www-form-urlencoded")],
            body.as_bytes(),
        )
        .map_err(|e| fail("IAM", e))?;
        if status != 200 {
            return Err(fail("IAM", format!("HTTP {status}: {text}")));
        }
        if let (Some(id), Some(secret)) = (between(&text, "<AccessKeyId>", "</"), between(&text, "<SecretAccessKey>", "</")) {
            key = Some((id.to_string(), secret.to_string()));
        }
    }
    key.ok_or_else(|| fail("IAM", "no access key in the answer".into()))
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// One HTTP/1.1 request (setup calls only): status and body.
fn request(endpoint: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Result<(u16, String), String> {
    let url = url::Url::parse(endpoint).map_err(|e| e.to_string())?;
    let host = url.host_str().ok_or("no host")?;
    let port = url.port_or_known_default().ok_or("no port")?;
    let mut s = TcpStream::connect((host, port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(30))).map_err(|e| e.to_string())?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())
        .and_then(|()| s.write_all(body))
        .map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("not an HTTP answer: {text:.80}"))?;
    let body = text.split_once("\r\n\r\n").map_or(String::new(), |(_, b)| b.to_string());
    Ok((status, body))
}

impl S3Server {
    /// A fresh prefix in the test bucket, e.g. `s3://wasnaker-test/e2e-123-4`.
    pub fn url(&self, name: &str) -> String {
        format!(
            "s3://{}/{name}-{}-{}-{}",
            self.bucket,
            std::process::id(),
            nanos() % 1_000_000_000,
            PREFIXES.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// `[storage]` for this server: path style, plain http, the test
    /// credentials' variables, and few quick retries.
    pub fn options(&self) -> StorageOptions {
        self.options_for(&self.endpoint)
    }

    pub fn options_for(&self, endpoint: &str) -> StorageOptions {
        StorageOptions {
            s3: S3Options {
                endpoint: Some(endpoint.to_string()),
                region: Some("us-east-1".into()),
                allow_http: true,
                virtual_hosted_style: false,
                access_key_id_env: Some(KEY_ID_ENV.into()),
                secret_access_key_env: Some(SECRET_ENV.into()),
                session_token_env: None,
            },
            retry: RetryOptions {
                max_retries: 2,
                retry_timeout: Duration::from_secs(5),
                request_timeout: Duration::from_secs(30),
                connect_timeout: Duration::from_secs(2),
            },
            ..Default::default()
        }
    }

    /// The same settings as TOML, for a config file.
    pub fn toml(&self, endpoint: &str) -> String {
        format!(
            "[storage]\nmax_retries = 2\nretry_timeout = \"5s\"\nconnect_timeout = \"2s\"\n\n[storage.s3]\nendpoint = {endpoint:?}\n\
             region = \"us-east-1\"\nallow_http = true\naccess_key_id_env = {KEY_ID_ENV:?}\nsecret_access_key_env = {SECRET_ENV:?}\n"
        )
    }

    pub fn open(&self, url: &str) -> Location {
        Location::open(url, &self.options()).unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    /// The secret the harness uses, to check it never shows.
    pub fn secret(&self) -> String {
        std::env::var(SECRET_ENV).unwrap_or_default()
    }
}

/// A TCP relay in front of the server that can go down: it stops accepting
/// (connection refused) and cuts every open connection, like a crashed
/// server — on request, or by itself when a given request arrives.
pub struct Relay {
    pub addr: SocketAddr,
    target: SocketAddr,
    state: Arc<RelayState>,
}

#[derive(Default)]
struct RelayState {
    down: AtomicBool,
    /// Requests forwarded so far, by method.
    counts: Mutex<std::collections::HashMap<String, usize>>,
    /// Go down when request number `n + 1` of this method arrives.
    cut: Mutex<Option<(String, usize)>>,
    conns: Mutex<Vec<TcpStream>>,
}

impl RelayState {
    fn cut_all(&self) {
        self.down.store(true, Ordering::SeqCst);
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(std::net::Shutdown::Both);
        }
    }

    /// Count a request; `false` when it must not go through.
    fn admit(&self, method: &str) -> bool {
        let mut counts = self.counts.lock().unwrap();
        let n = counts.entry(method.to_string()).or_default();
        *n += 1;
        match &*self.cut.lock().unwrap() {
            Some((m, limit)) if m == method && *n > *limit => false,
            _ => true,
        }
    }
}

impl Relay {
    pub fn start(endpoint: &str) -> Relay {
        let url = url::Url::parse(endpoint).unwrap();
        let target: SocketAddr = format!("{}:{}", url.host_str().unwrap(), url.port_or_known_default().unwrap())
            .parse()
            .unwrap();
        let relay = Relay {
            addr: SocketAddr::from(([127, 0, 0, 1], free_port())),
            target,
            state: Arc::new(RelayState::default()),
        };
        relay.listen();
        relay
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests of `method` forwarded so far.
    pub fn count(&self, method: &str) -> usize {
        self.state.counts.lock().unwrap().get(method).copied().unwrap_or(0)
    }

    /// Go down by itself when the `n + 1`-th request of `method` from now
    /// arrives (that request is not forwarded).
    pub fn cut_after(&self, method: &str, n: usize) {
        *self.state.cut.lock().unwrap() = Some((method.to_string(), self.count(method) + n));
    }

    pub fn is_down(&self) -> bool {
        self.state.down.load(Ordering::SeqCst)
    }

    /// Up again, on the same port.
    pub fn up(&self) {
        *self.state.cut.lock().unwrap() = None;
        self.state.down.store(false, Ordering::SeqCst);
        self.listen();
    }

    fn listen(&self) {
        let listener = bind_retrying(self.addr);
        listener.set_nonblocking(true).unwrap();
        let (state, target) = (self.state.clone(), self.target);
        std::thread::spawn(move || {
            while !state.down.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let Ok(server) = TcpStream::connect(target) else { continue };
                        client.set_nonblocking(false).ok();
                        for s in [&client, &server] {
                            if let Ok(c) = s.try_clone() {
                                state.conns.lock().unwrap().push(c);
                            }
                        }
                        let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                        let state2 = state.clone();
                        std::thread::spawn(move || pipe_requests(client, server, &state2));
                        std::thread::spawn(move || pipe(s2, c2));
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(5)),
                    Err(_) => break,
                }
            }
            // The listener is dropped here: new connections are refused.
        });
    }
}

fn bind_retrying(addr: SocketAddr) -> TcpListener {
    let started = Instant::now();
    loop {
        match TcpListener::bind(addr) {
            Ok(l) => return l,
            Err(e) if started.elapsed() > Duration::from_secs(5) => panic!("relay cannot listen on {addr}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// Client → server, counting requests by method (a read that starts with
/// an upper-case word and a space starts a request: HTTP/1.1 clients do
/// not pipeline).
fn pipe_requests(mut from: TcpStream, mut to: TcpStream, state: &RelayState) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let method: String = buf[..n.min(8)]
            .iter()
            .take_while(|b| b.is_ascii_uppercase())
            .map(|b| *b as char)
            .collect();
        let starts_request = !method.is_empty() && buf.get(method.len()) == Some(&b' ');
        if starts_request && !state.admit(&method) {
            state.cut_all();
            break;
        }
        if state.down.load(Ordering::SeqCst) || to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Both);
    let _ = from.shutdown(std::net::Shutdown::Both);
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let _ = std::io::copy(&mut from, &mut to);
    let _ = to.shutdown(std::net::Shutdown::Both);
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.state.cut_all();
    }
}
