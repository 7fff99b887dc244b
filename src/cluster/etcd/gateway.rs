//! The client of etcd's v3 JSON gateway: blocking HTTP POSTs of the
//! [`messages`](super::messages) to `/v3/kv/*` and `/v3/lease/*`.
//!
//! Every call is bounded by a [`Deadline`]: the store gives each of its
//! operations one deadline of the budget's `max_loop` seconds (07 §10.1)
//! and every request of the operation — on every endpoint tried — has to
//! finish before it. That is what keeps "last successful renewal" and
//! "last watchdog update" within `max_loop` of each other.
//!
//! Endpoints are tried in order, starting with the last one that
//! answered; a connection error, a timeout with time left, or a member
//! that says it cannot serve (gRPC "unavailable": no leader, stopping)
//! moves on to the next. Any other answer — success or a refusal — is
//! final.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::messages::{
    stream_error_text, Compare, DeleteRequest, Empty, ErrorBody, KeyValue, LeaseRequest,
    LeaseResponse, PutRequest, RangeRequest, RangeResponse, RequestOp, StreamItem, TxnRequest,
    TxnResponse, CODE_UNAVAILABLE,
};

/// The largest answer read: above etcd's default request limit
/// (1.5 MiB, base64 adds a third) with room to spare.
const MAX_BODY: u64 = 16 * 1024 * 1024;

/// Why a request to etcd failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EtcdError {
    /// No endpoint is configured.
    #[error("no etcd endpoint configured")]
    NoEndpoints,
    /// The operation's time ran out (07 §10.1 `max_loop`).
    #[error("etcd request timed out")]
    Timeout,
    /// No endpoint could be reached or served; the last reason.
    #[error("etcd unreachable ({endpoint}: {reason})")]
    Unreachable {
        /// The last endpoint tried.
        endpoint: String,
        /// What went wrong there.
        reason: String,
    },
    /// etcd refused the request (its gRPC status text and code).
    #[error("{message}")]
    Server {
        /// The gRPC status text (`etcdserver: requested lease not found`).
        message: String,
        /// The gRPC status code.
        code: i64,
    },
    /// The answer was not the JSON expected.
    #[error("bad answer from etcd: {0}")]
    Decode(String),
}

/// The point in time by which one store operation must be done.
#[derive(Debug, Clone, Copy)]
pub struct Deadline(Instant);

impl Deadline {
    /// `timeout` from now.
    pub fn after(timeout: Duration) -> Deadline {
        Deadline(Instant::now() + timeout)
    }

    /// The time left; `None` once it has passed.
    pub fn remaining(&self) -> Option<Duration> {
        self.0
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
    }
}

/// One attempt's failure: final, or worth trying the next endpoint.
enum Attempt {
    Retry(String),
    Final(EtcdError),
}

/// The gateway client: the endpoints (`http://host:port`) and one HTTP
/// agent whose connections are reused between requests.
pub struct Gateway {
    endpoints: Vec<String>,
    agent: ureq::Agent,
    /// The endpoint that answered last; tried first next time, so a dead
    /// first endpoint does not cost a connection attempt per request.
    preferred: AtomicUsize,
}

/// The shortest time one endpoint is given within a call.
const MIN_ATTEMPT: Duration = Duration::from_millis(300);
/// A TCP connection to a live etcd member on the cluster network takes
/// milliseconds; an address that does not answer is given up after this.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("endpoints", &self.endpoints)
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// A client of these endpoints (trailing slashes ignored).
    pub fn new(endpoints: &[String]) -> Result<Gateway, EtcdError> {
        let endpoints: Vec<String> = endpoints
            .iter()
            .map(|e| e.trim().trim_end_matches('/').to_string())
            .filter(|e| !e.is_empty())
            .collect();
        if endpoints.is_empty() {
            return Err(EtcdError::NoEndpoints);
        }
        let agent = ureq::Agent::config_builder()
            // Error statuses carry etcd's reason in the body.
            .http_status_as_error(false)
            // etcd is reached directly on the cluster network, never
            // through a proxy named in the environment.
            .proxy(None)
            .build()
            .into();
        Ok(Gateway {
            endpoints,
            agent,
            preferred: AtomicUsize::new(0),
        })
    }

    /// The configured endpoints.
    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }

    /// POSTs `body` to `path` on the first endpoint that serves it and
    /// returns the answer's bytes.
    fn post_raw(&self, path: &str, body: &[u8], deadline: Deadline) -> Result<Vec<u8>, EtcdError> {
        let n = self.endpoints.len();
        let first = self.preferred.load(Ordering::Relaxed) % n;
        let mut last = None;
        for i in 0..n {
            let idx = (first + i) % n;
            let Some(left) = deadline.remaining() else {
                return Err(EtcdError::Timeout);
            };
            // A dead member (its address no longer answers ARP) or one
            // cut from its leader would otherwise eat the whole deadline:
            // each endpoint gets its share of what is left, so the others
            // are still tried within the same call.
            let share = (left / u32::try_from(n - i).unwrap_or(1))
                .max(MIN_ATTEMPT)
                .min(left);
            let endpoint = &self.endpoints[idx];
            match self.attempt(endpoint, path, body, share) {
                Ok(bytes) => {
                    self.preferred.store(idx, Ordering::Relaxed);
                    return Ok(bytes);
                }
                Err(Attempt::Final(e)) => {
                    self.preferred.store(idx, Ordering::Relaxed);
                    return Err(e);
                }
                Err(Attempt::Retry(reason)) => {
                    // The next call starts with the next endpoint.
                    self.preferred.store((idx + 1) % n, Ordering::Relaxed);
                    last = Some((endpoint.clone(), reason));
                }
            }
        }
        match last {
            Some(_) if deadline.remaining().is_none() => Err(EtcdError::Timeout),
            Some((endpoint, reason)) => Err(EtcdError::Unreachable { endpoint, reason }),
            None => Err(EtcdError::NoEndpoints),
        }
    }

    fn attempt(
        &self,
        endpoint: &str,
        path: &str,
        body: &[u8],
        timeout: Duration,
    ) -> Result<Vec<u8>, Attempt> {
        let mut resp = self
            .agent
            .post(format!("{endpoint}{path}"))
            .header("Content-Type", "application/json")
            .config()
            .timeout_global(Some(timeout))
            .timeout_connect(Some(timeout.min(CONNECT_TIMEOUT)))
            .build()
            .send(body)
            .map_err(|e| Attempt::Retry(e.to_string()))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(|e| Attempt::Retry(e.to_string()))?;
        if status == 200 {
            return Ok(bytes);
        }
        let err: ErrorBody = serde_json::from_slice(&bytes).unwrap_or_default();
        let message = if err.text().is_empty() {
            format!("HTTP status {status}")
        } else {
            err.text().to_string()
        };
        if err.code == CODE_UNAVAILABLE || status == 503 {
            Err(Attempt::Retry(message))
        } else {
            Err(Attempt::Final(EtcdError::Server {
                message,
                code: err.code,
            }))
        }
    }

    /// A unary call: request and answer as JSON.
    fn call<Q: Serialize, A: DeserializeOwned>(
        &self,
        path: &str,
        req: &Q,
        deadline: Deadline,
    ) -> Result<A, EtcdError> {
        let body = serde_json::to_vec(req).map_err(|e| EtcdError::Decode(e.to_string()))?;
        let bytes = self.post_raw(path, &body, deadline)?;
        serde_json::from_slice(&bytes).map_err(|e| EtcdError::Decode(e.to_string()))
    }

    /// The pair stored under `key`, read linearizably (through the
    /// leader, so never stale) or, with `serializable`, from the
    /// member's own copy.
    pub fn get(
        &self,
        key: &[u8],
        serializable: bool,
        deadline: Deadline,
    ) -> Result<Option<KeyValue>, EtcdError> {
        let req = RangeRequest {
            key: key.to_vec(),
            serializable,
            ..RangeRequest::default()
        };
        let resp: RangeResponse = self.call("/v3/kv/range", &req, deadline)?;
        Ok(resp.kvs.into_iter().find(|kv| kv.key == key))
    }

    /// Every pair whose key starts with `prefix` (keys only: values are
    /// not fetched), read as [`Gateway::get`] reads.
    pub fn keys_with_prefix(
        &self,
        prefix: &[u8],
        serializable: bool,
        deadline: Deadline,
    ) -> Result<Vec<Vec<u8>>, EtcdError> {
        let req = RangeRequest {
            key: prefix.to_vec(),
            range_end: prefix_end(prefix),
            serializable,
            keys_only: true,
            ..RangeRequest::default()
        };
        let resp: RangeResponse = self.call("/v3/kv/range", &req, deadline)?;
        Ok(resp.kvs.into_iter().map(|kv| kv.key).collect())
    }

    /// Whether a member answers at all (a serializable count, which needs
    /// no leader).
    pub fn ping(&self, key: &[u8], deadline: Deadline) -> Result<(), EtcdError> {
        let req = RangeRequest {
            key: key.to_vec(),
            serializable: true,
            count_only: true,
            ..RangeRequest::default()
        };
        self.call::<_, RangeResponse>("/v3/kv/range", &req, deadline)
            .map(|_| ())
    }

    /// Stores `value` under `key` (no lease).
    pub fn put(&self, key: &[u8], value: &[u8], deadline: Deadline) -> Result<(), EtcdError> {
        let req = PutRequest {
            key: key.to_vec(),
            value: value.to_vec(),
            lease: 0,
        };
        self.call::<_, Empty>("/v3/kv/put", &req, deadline)
            .map(|_| ())
    }

    /// Deletes `key` (a missing key is no error).
    pub fn delete(&self, key: &[u8], deadline: Deadline) -> Result<(), EtcdError> {
        let req = DeleteRequest { key: key.to_vec() };
        self.call::<_, Empty>("/v3/kv/deleterange", &req, deadline)
            .map(|_| ())
    }

    /// Runs `success` if every comparison holds; whether they held.
    pub fn txn(
        &self,
        compare: Vec<Compare>,
        success: Vec<RequestOp>,
        deadline: Deadline,
    ) -> Result<bool, EtcdError> {
        let req = TxnRequest { compare, success };
        let resp: TxnResponse = self.call("/v3/kv/txn", &req, deadline)?;
        Ok(resp.succeeded)
    }

    /// Grants a lease of `ttl` seconds; its id.
    pub fn lease_grant(&self, ttl: i64, deadline: Deadline) -> Result<i64, EtcdError> {
        let resp: LeaseResponse =
            self.call("/v3/lease/grant", &LeaseRequest { id: 0, ttl }, deadline)?;
        if !resp.error.is_empty() {
            return Err(EtcdError::Server {
                message: resp.error,
                code: 0,
            });
        }
        if resp.id == 0 || resp.ttl <= 0 {
            return Err(EtcdError::Decode(format!(
                "lease grant without id or TTL (ID {}, TTL {})",
                resp.id, resp.ttl
            )));
        }
        Ok(resp.id)
    }

    /// One keep-alive of lease `id`: the TTL it was renewed to, 0 when the
    /// lease no longer exists. The gateway streams the answer; the first
    /// message is the one to this request.
    pub fn lease_keepalive(&self, id: i64, deadline: Deadline) -> Result<i64, EtcdError> {
        let body = serde_json::to_vec(&LeaseRequest { id, ttl: 0 })
            .map_err(|e| EtcdError::Decode(e.to_string()))?;
        let bytes = self.post_raw("/v3/lease/keepalive", &body, deadline)?;
        let first = serde_json::Deserializer::from_slice(&bytes)
            .into_iter::<StreamItem<LeaseResponse>>()
            .next()
            .ok_or_else(|| EtcdError::Decode("empty keep-alive answer".to_string()))?
            .map_err(|e| EtcdError::Decode(e.to_string()))?;
        match (first.result, first.error) {
            (_, Some(err)) => Err(EtcdError::Server {
                message: stream_error_text(&err),
                code: err.get("grpc_code").and_then(|c| c.as_i64()).unwrap_or(0),
            }),
            (Some(r), None) => Ok(r.ttl.max(0)),
            (None, None) => Err(EtcdError::Decode("keep-alive answer without result".into())),
        }
    }

    /// Revokes lease `id`, deleting every key bound to it.
    pub fn lease_revoke(&self, id: i64, deadline: Deadline) -> Result<(), EtcdError> {
        self.call::<_, Empty>("/v3/lease/revoke", &LeaseRequest { id, ttl: 0 }, deadline)
            .map(|_| ())
    }

    /// The seconds lease `id` has left; `None` once it is gone.
    pub fn lease_time_to_live(
        &self,
        id: i64,
        deadline: Deadline,
    ) -> Result<Option<i64>, EtcdError> {
        let resp: LeaseResponse = self.call(
            "/v3/lease/timetolive",
            &LeaseRequest { id, ttl: 0 },
            deadline,
        )?;
        Ok((resp.ttl > 0).then_some(resp.ttl))
    }
}

/// The end of the key range of every key starting with `prefix`: the
/// prefix with its last byte below 0xff incremented (etcd's rule; `\0`,
/// "to the end", when every byte is 0xff).
fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_trimmed_and_required() {
        let g = Gateway::new(&[" http://127.0.0.1:2379/ ".to_string(), String::new()]);
        assert_eq!(
            g.map(|g| g.endpoints().to_vec()).unwrap_or_default(),
            vec!["http://127.0.0.1:2379".to_string()]
        );
        assert_eq!(Gateway::new(&[]).err(), Some(EtcdError::NoEndpoints));
    }

    #[test]
    fn a_passed_deadline_fails_without_a_request() {
        let Ok(g) = Gateway::new(&["http://127.0.0.1:9".to_string()]) else {
            panic!("gateway")
        };
        let d = Deadline::after(Duration::ZERO);
        assert_eq!(g.put(b"k", b"v", d), Err(EtcdError::Timeout));
    }

    /// A loopback port nobody listens on (bound, then released).
    fn closed_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or(9)
    }

    #[test]
    fn refused_connections_fail_over_and_report_the_last() {
        let (a, b) = (closed_port(), closed_port());
        let second = format!("http://127.0.0.1:{b}");
        let Ok(g) = Gateway::new(&[format!("http://127.0.0.1:{a}"), second.clone()]) else {
            panic!("gateway")
        };
        let err = g.put(b"k", b"v", Deadline::after(Duration::from_secs(5)));
        match err {
            Err(EtcdError::Unreachable { endpoint, .. }) => assert_eq!(endpoint, second),
            other => panic!("{other:?}"),
        }
    }

    /// A one-shot stand-in for an etcd member: answers each of `replies`
    /// (status, body) in turn, recording the request paths and bodies.
    fn fake_member(
        replies: Vec<(u16, &'static str)>,
    ) -> (String, std::thread::JoinHandle<Vec<(String, String)>>) {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let url = format!(
            "http://{}",
            server
                .server_addr()
                .to_ip()
                .map(|a| a.to_string())
                .unwrap_or_default()
        );
        let handle = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for (status, body) in replies {
                let Ok(Some(mut req)) = server.recv_timeout(Duration::from_secs(5)) else {
                    break;
                };
                let mut text = String::new();
                let _ = std::io::Read::read_to_string(req.as_reader(), &mut text);
                seen.push((req.url().to_string(), text));
                let _ =
                    req.respond(tiny_http::Response::from_string(body).with_status_code(status));
            }
            seen
        });
        (url, handle)
    }

    #[test]
    fn an_unavailable_member_fails_over_and_the_next_one_is_preferred() {
        let (a, ha) = fake_member(vec![(
            503,
            r#"{"error":"etcdserver: no leader","message":"etcdserver: no leader","code":14}"#,
        )]);
        let (b, hb) = fake_member(vec![
            (
                200,
                "{\"result\":{\"header\":{},\"ID\":\"7\",\"TTL\":\"20\"}}\n",
            ),
            (200, r#"{"result":{"header":{},"ID":"7"}}"#),
        ]);
        let Ok(g) = Gateway::new(&[a, b]) else {
            panic!("gateway")
        };
        let d = || Deadline::after(Duration::from_secs(5));
        assert_eq!(g.lease_keepalive(7, d()), Ok(20));
        // The second call goes straight to the member that answered.
        assert_eq!(g.lease_keepalive(7, d()), Ok(0));
        let seen_a = ha.join().unwrap_or_default();
        let seen_b = hb.join().unwrap_or_default();
        assert_eq!(seen_a.len(), 1);
        assert_eq!(seen_b.len(), 2);
        assert_eq!(seen_b[0].0, "/v3/lease/keepalive");
        assert_eq!(seen_b[0].1, r#"{"ID":"7"}"#);
    }

    #[test]
    fn a_refusal_is_final_and_typed() {
        let (a, ha) = fake_member(vec![(
            404,
            r#"{"error":"etcdserver: requested lease not found","message":"etcdserver: requested lease not found","code":5}"#,
        )]);
        let Ok(g) = Gateway::new(&[a]) else {
            panic!("gateway")
        };
        assert_eq!(
            g.lease_revoke(9, Deadline::after(Duration::from_secs(5))),
            Err(EtcdError::Server {
                message: "etcdserver: requested lease not found".to_string(),
                code: 5
            })
        );
        assert_eq!(ha.join().map(|s| s.len()).unwrap_or(0), 1);
    }
}
