//! Who may talk to the simulator's HTTP API. Without a check any web page
//! the user visits could post to `127.0.0.1:8480` and power nodes off
//! (cross-site requests), or reach the API through a DNS name that a
//! hostile server rebinds to 127.0.0.1 (DNS rebinding). The rule:
//!
//! * loopback listen: the `Host` header, and `Origin` when present (an
//!   `http://` origin), must name the listen address, `127.0.0.1`,
//!   `localhost` or `[::1]`, on any port (so `ssh -L` forwards keep
//!   working); otherwise 403, on every method;
//! * non-loopback or wildcard listen: a token is required (`?token=` or
//!   `Authorization: Bearer`), 401 without it; any `Host` is accepted, but
//!   `Origin`, when present, must be `http://` + `Host` (403);
//! * a request with a body other than `GET`/`HEAD` must say
//!   `Content-Type: application/json` (415): browsers only send that type
//!   cross-site after a preflight, which this server never grants.
//!
//! [`check`] is a pure function of the policy and the request head, so the
//! whole table of cases is tested without sockets.

use std::io::Read;
use std::net::{IpAddr, SocketAddr};

use super::actions::ApiError;

/// Host names a loopback listen always answers to.
const LOOPBACK_NAMES: &[&str] = &["127.0.0.1", "localhost", "[::1]"];

/// Bytes of randomness in a generated token (printed as hex).
const TOKEN_BYTES: usize = 16;

/// Files of the page that carry no cluster data: served without a token,
/// since the page loads them by relative URL (without its `?token=`).
const PUBLIC_ASSETS: &[&str] = &["/app.js", "/style.css", "/favicon.ico"];

/// Which `Host`/`Origin` values are acceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostRule {
    /// Loopback listen: these host names (lower case, IPv6 in brackets),
    /// on any port.
    Loopback(Vec<String>),
    /// Non-loopback listen: any `Host`; `Origin` must match it.
    SameOrigin,
}

/// The access policy of one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    hosts: HostRule,
    token: Option<String>,
}

/// What the check needs to know of a request.
#[derive(Debug, Clone, Copy)]
pub struct Head<'a> {
    /// `GET`, `POST`, …
    pub method: &'a str,
    /// Path and query, as sent.
    pub url: &'a str,
    /// Header names and values, in any case.
    pub headers: &'a [(String, String)],
    /// Whether the request has a body (non-empty).
    pub has_body: bool,
}

impl Head<'_> {
    /// The first value of header `name` (names compare case-insensitively).
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    }
}

/// A host as it appears in `Host`/`Origin`: an IP address, bracketed if
/// IPv6.
fn host_text(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => format!("[{a}]"),
    }
}

impl Policy {
    /// The policy for a server listening on `addr`: loopback addresses get
    /// the host rule (and the token only if one is given); any other
    /// address, the wildcard included, needs a token — `token`, or a new
    /// random one.
    pub fn for_listen(addr: SocketAddr, token: Option<String>) -> std::io::Result<Policy> {
        if addr.ip().is_loopback() {
            let mut names: Vec<String> = LOOPBACK_NAMES.iter().map(|s| s.to_string()).collect();
            let own = host_text(addr.ip());
            if !names.contains(&own) {
                names.push(own);
            }
            return Ok(Policy {
                hosts: HostRule::Loopback(names),
                token,
            });
        }
        let token = match token {
            Some(t) => t,
            None => random_token()?,
        };
        Ok(Policy {
            hosts: HostRule::SameOrigin,
            token: Some(token),
        })
    }

    /// The token requests must carry, if any.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }
}

/// The host part of `host[:port]` in lower case (`[::1]:8480` → `[::1]`).
fn host_of(authority: &str) -> String {
    let a = authority.trim();
    let host = if a.starts_with('[') {
        match a.find(']') {
            Some(i) => &a[..=i],
            None => a,
        }
    } else {
        match a.rsplit_once(':') {
            Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => a,
        }
    };
    host.to_ascii_lowercase()
}

/// The `host[:port]` of an `http://` origin; `None` for any other scheme,
/// for `null` and for anything with a path.
fn origin_authority(origin: &str) -> Option<&str> {
    let scheme = origin.get(..7)?;
    if !scheme.eq_ignore_ascii_case("http://") {
        return None;
    }
    let rest = origin[7..].strip_suffix('/').unwrap_or(&origin[7..]);
    if rest.is_empty() || rest.contains(['/', '?', '#', '@']) {
        return None;
    }
    Some(rest)
}

/// Compares two secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The token a request carries: `Authorization: Bearer T` or `?token=T`.
fn carried_token(head: &Head<'_>) -> Option<String> {
    if let Some(auth) = head.header("authorization") {
        if let Some((scheme, t)) = auth.split_once(' ') {
            if scheme.eq_ignore_ascii_case("bearer") {
                return Some(t.trim().to_string());
            }
        }
    }
    let (_, query) = head.url.split_once('?')?;
    let raw = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "token")
        .map(|(_, v)| v)?;
    super::http::percent_decode(raw).ok()
}

/// Whether `head` may be answered under `policy`; the refusal otherwise.
pub fn check(policy: &Policy, head: &Head<'_>) -> Result<(), ApiError> {
    let host = head.header("host");
    let origin = head.header("origin");
    match &policy.hosts {
        HostRule::Loopback(names) => {
            let allowed = |h: &str| names.iter().any(|n| *n == host_of(h));
            match host {
                None => return Err(ApiError::Forbidden("missing Host header".into())),
                Some(h) if !allowed(h) => {
                    return Err(ApiError::Forbidden(format!(
                        "Host '{h}' refused: use 127.0.0.1, localhost or [::1]"
                    )))
                }
                Some(_) => {}
            }
            if let Some(o) = origin {
                if !origin_authority(o).is_some_and(allowed) {
                    return Err(ApiError::Forbidden(format!(
                        "cross-site request from Origin '{o}' refused"
                    )));
                }
            }
        }
        HostRule::SameOrigin => {
            if let Some(o) = origin {
                let same = match (origin_authority(o), host) {
                    (Some(a), Some(h)) => a.eq_ignore_ascii_case(h),
                    _ => false,
                };
                if !same {
                    return Err(ApiError::Forbidden(format!(
                        "cross-site request from Origin '{o}' refused"
                    )));
                }
            }
        }
    }
    let read = head.method == "GET" || head.method == "HEAD";
    if let Some(want) = policy.token() {
        let path = head.url.split('?').next().unwrap_or("");
        let public = read && PUBLIC_ASSETS.contains(&path);
        let ok = carried_token(head).is_some_and(|t| same_secret(&t, want));
        if !public && !ok {
            return Err(ApiError::Unauthorized(
                "missing or wrong token: open the address printed at start \
                 (…/?token=…) or send 'Authorization: Bearer <token>'"
                    .into(),
            ));
        }
    }
    if !read && head.has_body {
        let media = head.header("content-type").map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
        if media.as_deref() != Some("application/json") {
            return Err(ApiError::UnsupportedMediaType(
                "a request body needs 'Content-Type: application/json'".into(),
            ));
        }
    }
    Ok(())
}

/// A new random token: [`TOKEN_BYTES`] bytes from `/dev/urandom`, as hex.
pub fn random_token() -> std::io::Result<String> {
    let mut bytes = [0u8; TOKEN_BYTES];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Whether `t` can be used as a token: non-empty and only characters that
/// need no escaping in a URL.
pub fn valid_token(t: &str) -> bool {
    !t.is_empty()
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loopback() -> Policy {
        Policy::for_listen("127.0.0.1:8480".parse().unwrap(), None).unwrap()
    }

    fn token_mode() -> Policy {
        Policy::for_listen("0.0.0.0:8480".parse().unwrap(), Some("s3cret".into())).unwrap()
    }

    /// The status `check` gives (200 when accepted).
    fn status(p: &Policy, method: &str, url: &str, headers: &[(&str, &str)], body: bool) -> u16 {
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let head = Head {
            method,
            url,
            headers: &headers,
            has_body: body,
        };
        match check(p, &head) {
            Ok(()) => 200,
            Err(e) => e.status(),
        }
    }

    const JSON: (&str, &str) = ("Content-Type", "application/json");

    /// Method, URL, headers, whether there is a body, expected status.
    type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], bool, u16);

    #[test]
    fn loopback_listen_accepts_only_loopback_names() {
        let p = loopback();
        let cases: &[Case] = &[
            (
                "GET",
                "/api/state",
                &[("Host", "127.0.0.1:8480")],
                false,
                200,
            ),
            ("GET", "/api/state", &[("Host", "127.0.0.1")], false, 200),
            (
                "GET",
                "/api/state",
                &[("host", "LOCALHOST:9999")],
                false,
                200,
            ),
            ("GET", "/api/state", &[("HOST", "[::1]:8480")], false, 200),
            ("GET", "/api/state", &[("Host", "[::1]")], false, 200),
            ("GET", "/", &[("Host", "evil.example:8480")], false, 403),
            ("GET", "/", &[("Host", "127.0.0.1.nip.io")], false, 403),
            (
                "GET",
                "/",
                &[("Host", "localhost.evil.example")],
                false,
                403,
            ),
            ("GET", "/api/state", &[], false, 403),
            ("POST", "/api/save", &[("Host", "evil.example")], false, 403),
            // Origin: an http:// loopback origin on any port.
            (
                "POST",
                "/api/save",
                &[
                    ("Host", "127.0.0.1:8480"),
                    ("Origin", "http://127.0.0.1:8480"),
                ],
                false,
                200,
            ),
            (
                "POST",
                "/api/save",
                &[
                    ("Host", "localhost:1234"),
                    ("origin", "HTTP://localhost:1234"),
                ],
                false,
                200,
            ),
            (
                "POST",
                "/api/save",
                &[("Host", "[::1]:8480"), ("Origin", "http://[::1]:8480")],
                false,
                200,
            ),
            (
                "POST",
                "/api/save",
                &[
                    ("Host", "127.0.0.1:8480"),
                    ("Origin", "http://evil.example"),
                ],
                false,
                403,
            ),
            (
                "GET",
                "/api/state",
                &[("Host", "127.0.0.1:8480"), ("Origin", "null")],
                false,
                403,
            ),
            (
                "POST",
                "/api/save",
                &[
                    ("Host", "127.0.0.1:8480"),
                    ("Origin", "https://127.0.0.1:8480"),
                ],
                false,
                403,
            ),
            (
                "POST",
                "/api/save",
                &[("Host", "127.0.0.1"), ("Origin", "file://")],
                false,
                403,
            ),
            // Bodies need the JSON type; bodiless actions do not.
            (
                "POST",
                "/api/nodes/node1/power",
                &[("Host", "127.0.0.1:8480"), JSON],
                true,
                200,
            ),
            (
                "POST",
                "/api/nodes/node1/power",
                &[
                    ("Host", "127.0.0.1:8480"),
                    ("content-type", "Application/JSON; charset=utf-8"),
                ],
                true,
                200,
            ),
            (
                "POST",
                "/api/nodes/node1/power",
                &[("Host", "127.0.0.1:8480")],
                true,
                415,
            ),
            (
                "POST",
                "/api/nodes/node1/power",
                &[("Host", "127.0.0.1:8480"), ("Content-Type", "text/plain")],
                true,
                415,
            ),
            (
                "DELETE",
                "/api/services/vm:1",
                &[("Host", "127.0.0.1"), ("Content-Type", "text/plain")],
                true,
                415,
            ),
            (
                "DELETE",
                "/api/services/vm:1",
                &[("Host", "127.0.0.1")],
                false,
                200,
            ),
            (
                "POST",
                "/api/save",
                &[("Host", "127.0.0.1:8480")],
                false,
                200,
            ),
        ];
        for (method, url, headers, body, want) in cases {
            assert_eq!(
                status(&p, method, url, headers, *body),
                *want,
                "{method} {url} {headers:?} body={body}"
            );
        }
    }

    #[test]
    fn a_loopback_listen_also_answers_to_its_own_address() {
        let p = Policy::for_listen("127.0.0.2:80".parse().unwrap(), None).unwrap();
        assert_eq!(status(&p, "GET", "/", &[("Host", "127.0.0.2")], false), 200);
        assert_eq!(p.token(), None);
        let v6 = Policy::for_listen("[::1]:80".parse().unwrap(), None).unwrap();
        assert_eq!(status(&v6, "GET", "/", &[("Host", "[::1]:80")], false), 200);
        // A token given for a loopback listen is required as well.
        let both = Policy::for_listen("127.0.0.1:80".parse().unwrap(), Some("t".into())).unwrap();
        assert_eq!(
            status(&both, "GET", "/", &[("Host", "127.0.0.1")], false),
            401
        );
        assert_eq!(
            status(&both, "GET", "/?token=t", &[("Host", "127.0.0.1")], false),
            200
        );
    }

    #[test]
    fn other_listens_need_the_token_and_a_matching_origin() {
        let p = token_mode();
        let host = ("Host", "pve.example:8480");
        let bearer = ("Authorization", "Bearer s3cret");
        let cases: &[Case] = &[
            ("GET", "/api/state", &[host], false, 401),
            ("GET", "/api/state?token=wrong", &[host], false, 401),
            ("GET", "/api/state?token=s3cre", &[host], false, 401),
            ("GET", "/api/state?token=s3cret", &[host], false, 200),
            ("GET", "/?window=300&token=s3cret", &[host], false, 200),
            ("GET", "/api/state", &[host, bearer], false, 200),
            (
                "GET",
                "/api/state",
                &[host, ("authorization", "bearer s3cret")],
                false,
                200,
            ),
            (
                "GET",
                "/api/state",
                &[host, ("Authorization", "Basic s3cret")],
                false,
                401,
            ),
            (
                "GET",
                "/api/state",
                &[host, ("Authorization", "Bearer nope")],
                false,
                401,
            ),
            // Any Host; no Host at all.
            (
                "GET",
                "/api/state",
                &[("Host", "10.0.0.5:8480"), bearer],
                false,
                200,
            ),
            ("GET", "/api/state", &[bearer], false, 200),
            // The page's static parts are public, the page itself is not.
            ("GET", "/app.js", &[host], false, 200),
            ("GET", "/style.css", &[host], false, 200),
            ("GET", "/", &[host], false, 401),
            ("POST", "/app.js", &[host], false, 401),
            // Origin must be the Host.
            (
                "POST",
                "/api/save",
                &[host, bearer, ("Origin", "http://pve.example:8480")],
                false,
                200,
            ),
            (
                "POST",
                "/api/save",
                &[host, bearer, ("Origin", "http://pve.example:9000")],
                false,
                403,
            ),
            (
                "POST",
                "/api/save",
                &[host, bearer, ("Origin", "http://evil.example")],
                false,
                403,
            ),
            (
                "GET",
                "/api/state",
                &[host, bearer, ("Origin", "null")],
                false,
                403,
            ),
            (
                "POST",
                "/api/crs",
                &[host, bearer, ("Content-Type", "text/plain")],
                true,
                415,
            ),
            ("POST", "/api/crs", &[host, bearer, JSON], true, 200),
        ];
        for (method, url, headers, body, want) in cases {
            assert_eq!(
                status(&p, method, url, headers, *body),
                *want,
                "{method} {url} {headers:?} body={body}"
            );
        }
    }

    #[test]
    fn a_wildcard_listen_gets_a_random_token() {
        let a = Policy::for_listen("0.0.0.0:0".parse().unwrap(), None).unwrap();
        let b = Policy::for_listen("[::]:0".parse().unwrap(), None).unwrap();
        let (ta, tb) = (a.token().unwrap(), b.token().unwrap());
        assert_eq!(ta.len(), 2 * TOKEN_BYTES);
        assert!(ta.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(ta, tb);
        assert!(valid_token(ta));
        let given = Policy::for_listen("192.0.2.1:1".parse().unwrap(), Some("x".into())).unwrap();
        assert_eq!(given.token(), Some("x"));
    }

    #[test]
    fn helpers() {
        assert_eq!(host_of("127.0.0.1:8480"), "127.0.0.1");
        assert_eq!(host_of("LocalHost"), "localhost");
        assert_eq!(host_of("[::1]:8480"), "[::1]");
        assert_eq!(host_of("[::1]"), "[::1]");
        assert_eq!(origin_authority("http://a:1"), Some("a:1"));
        assert_eq!(origin_authority("http://a/"), Some("a"));
        assert_eq!(origin_authority("https://a"), None);
        assert_eq!(origin_authority("null"), None);
        assert_eq!(origin_authority("http://a/b"), None);
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
        assert!(valid_token("a-b_c.d~9"));
        for bad in ["", "a b", "a&b", "a?b", "ü"] {
            assert!(!valid_token(bad), "{bad}");
        }
    }
}
