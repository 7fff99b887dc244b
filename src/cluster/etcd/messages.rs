//! The messages of etcd's v3 JSON gateway (grpc-gateway over the gRPC
//! API) that the backend uses, as serde types. The gateway's JSON mapping
//! has two quirks every field below follows: keys and values are base64
//! (`bytes` in protobuf), and 64-bit integers travel as JSON strings
//! (accepted as numbers too). Fields at their zero value are left out of
//! responses, hence the defaults. Pure: no I/O here.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// Serde for protobuf `bytes`: base64 text.
mod b64 {
    use super::*;

    pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(v))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

/// Serde for protobuf `int64`: a JSON string on output, a string or a
/// number on input.
mod i64_text {
    use super::*;

    pub fn serialize<S: serde::Serializer>(v: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Text(String),
        Number(i64),
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        match Either::deserialize(d)? {
            Either::Number(n) => Ok(n),
            Either::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// `/v3/kv/range`: one key, or with `range_end` every key in
/// `[key, range_end)`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RangeRequest {
    /// The key (or the range's start).
    #[serde(with = "b64")]
    pub key: Vec<u8>,
    /// End of the range (exclusive); empty for a single key.
    #[serde(with = "b64", skip_serializing_if = "Vec::is_empty")]
    pub range_end: Vec<u8>,
    /// Read this member's local copy without asking the leader (may be
    /// stale, but answers without a quorum).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub serializable: bool,
    /// Count only, return no pairs.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub count_only: bool,
    /// Return the keys without their values.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub keys_only: bool,
}

/// One stored pair.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct KeyValue {
    /// The key.
    #[serde(with = "b64")]
    pub key: Vec<u8>,
    /// The value (absent from the JSON when empty).
    #[serde(with = "b64", default)]
    pub value: Vec<u8>,
    /// Revision of the key's creation.
    #[serde(with = "i64_text", default)]
    pub create_revision: i64,
    /// The lease the key is bound to; 0 for none.
    #[serde(with = "i64_text", default)]
    pub lease: i64,
}

/// The answer to a [`RangeRequest`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct RangeResponse {
    /// The pairs found.
    #[serde(default)]
    pub kvs: Vec<KeyValue>,
    /// How many keys matched.
    #[serde(with = "i64_text", default)]
    pub count: i64,
}

/// `/v3/kv/put`, also an operation of a transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PutRequest {
    /// The key.
    #[serde(with = "b64")]
    pub key: Vec<u8>,
    /// The value.
    #[serde(with = "b64")]
    pub value: Vec<u8>,
    /// Bind the key to this lease (0: none).
    #[serde(with = "i64_text", skip_serializing_if = "is_zero")]
    pub lease: i64,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// `/v3/kv/deleterange` for one key, also an operation of a transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeleteRequest {
    /// The key.
    #[serde(with = "b64")]
    pub key: Vec<u8>,
}

/// Any answer whose content the backend does not need beyond "it
/// worked" (put, delete, revoke).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Empty {}

/// What a transaction compares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "target", rename_all = "UPPERCASE")]
pub enum Target {
    /// The key's creation revision; 0 means "the key does not exist".
    Create {
        /// The revision to compare with.
        #[serde(with = "i64_text")]
        create_revision: i64,
    },
    /// The lease the key is bound to (0 also when the key is missing).
    Lease {
        /// The lease to compare with.
        #[serde(with = "i64_text")]
        lease: i64,
    },
}

/// One condition of a transaction: `target(key) == value`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Compare {
    /// Always `EQUAL` here.
    pub result: &'static str,
    /// The key.
    #[serde(with = "b64")]
    pub key: Vec<u8>,
    /// What is compared, and with what.
    #[serde(flatten)]
    pub target: Target,
}

impl Compare {
    /// `target(key) == value`.
    pub fn equal(key: Vec<u8>, target: Target) -> Compare {
        Compare {
            result: "EQUAL",
            key,
            target,
        }
    }
}

/// One operation of a transaction branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestOp {
    /// A put.
    RequestPut(PutRequest),
    /// A delete of one key.
    RequestDeleteRange(DeleteRequest),
}

/// `/v3/kv/txn`: if every comparison holds, `success` runs, else nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TxnRequest {
    /// The conditions.
    pub compare: Vec<Compare>,
    /// Run when all hold.
    pub success: Vec<RequestOp>,
}

/// The answer to a [`TxnRequest`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct TxnResponse {
    /// Whether the comparisons held (absent from the JSON when false).
    #[serde(default)]
    pub succeeded: bool,
}

/// `/v3/lease/grant`, `/v3/lease/keepalive`, `/v3/lease/revoke` and
/// `/v3/lease/timetolive` all name a lease the same way (grant with ID 0:
/// the server chooses).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LeaseRequest {
    /// The lease.
    #[serde(rename = "ID", with = "i64_text")]
    pub id: i64,
    /// Time to live in seconds (grant only).
    #[serde(rename = "TTL", with = "i64_text", skip_serializing_if = "is_zero")]
    pub ttl: i64,
}

/// The answer of a lease grant, keep-alive or time-to-live request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct LeaseResponse {
    /// The lease.
    #[serde(rename = "ID", with = "i64_text", default)]
    pub id: i64,
    /// Remaining (time-to-live) or granted (grant, keep-alive) seconds;
    /// absent, i.e. 0 or -1, when the lease does not exist.
    #[serde(rename = "TTL", with = "i64_text", default)]
    pub ttl: i64,
    /// A grant's refusal, if the server put it in the body.
    #[serde(default)]
    pub error: String,
}

/// One message of a streamed answer (the keep-alive is a gRPC stream;
/// the gateway wraps each message as `{"result": …}` or `{"error": …}`).
#[derive(Debug, Clone, Deserialize)]
pub struct StreamItem<T> {
    /// The message.
    pub result: Option<T>,
    /// The stream's error.
    pub error: Option<serde_json::Value>,
}

/// The gateway's error body of a failed unary call:
/// `{"error": …, "message": …, "code": <gRPC code>}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ErrorBody {
    /// The gRPC status text.
    #[serde(default)]
    pub message: String,
    /// The same text, in older gateways the only one.
    #[serde(default)]
    pub error: String,
    /// The gRPC status code.
    #[serde(default)]
    pub code: i64,
}

impl ErrorBody {
    /// The text to report.
    pub fn text(&self) -> &str {
        if self.message.is_empty() {
            &self.error
        } else {
            &self.message
        }
    }
}

/// The message text of a stream's error object (`{"message": …}`), or
/// its JSON when it has none.
pub fn stream_error_text(v: &serde_json::Value) -> String {
    v.get("message")
        .and_then(serde_json::Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string())
}

/// gRPC's "unavailable" code: the member cannot serve (no leader, being
/// stopped); another endpoint may.
pub const CODE_UNAVAILABLE: i64 = 14;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn to_json<T: Serialize>(v: &T) -> serde_json::Value {
        serde_json::to_value(v).unwrap_or_default()
    }

    #[test]
    fn range_request_is_base64_and_omits_defaults() {
        let r = RangeRequest {
            key: b"/pve-ha/ha/resources.cfg".to_vec(),
            ..RangeRequest::default()
        };
        assert_eq!(
            to_json(&r),
            json!({"key": "L3B2ZS1oYS9oYS9yZXNvdXJjZXMuY2Zn"})
        );
        let r = RangeRequest {
            key: b"a".to_vec(),
            range_end: b"b".to_vec(),
            serializable: true,
            count_only: true,
            keys_only: false,
        };
        assert_eq!(
            to_json(&r),
            json!({"key": "YQ==", "range_end": "Yg==", "serializable": true, "count_only": true})
        );
    }

    #[test]
    fn range_response_decodes_strings_defaults_and_binary() {
        let text = r#"{"header":{"revision":"3"},"kvs":[{"key":"bG9jaw==","create_revision":"3",
            "mod_revision":"3","version":"1","value":"AP8=","lease":"4111120476560994573"},
            {"key":"ZQ==","create_revision":7}],"count":"2"}"#;
        let r: RangeResponse = serde_json::from_str(text).unwrap_or_default();
        assert_eq!(r.count, 2);
        assert_eq!(r.kvs[0].key, b"lock");
        assert_eq!(r.kvs[0].value, vec![0, 0xff]);
        assert_eq!(r.kvs[0].lease, 4_111_120_476_560_994_573);
        assert_eq!(r.kvs[1].value, b"");
        assert_eq!(r.kvs[1].lease, 0);
        assert_eq!(r.kvs[1].create_revision, 7);
        let empty: RangeResponse = serde_json::from_str(r#"{"header":{}}"#).unwrap_or_default();
        assert!(empty.kvs.is_empty());
        assert!(serde_json::from_str::<RangeResponse>(r#"{"kvs":[{"key":"!!"}]}"#).is_err());
    }

    #[test]
    fn txn_put_if_absent_with_lease() {
        let key = b"k".to_vec();
        let t = TxnRequest {
            compare: vec![Compare::equal(
                key.clone(),
                Target::Create { create_revision: 0 },
            )],
            success: vec![RequestOp::RequestPut(PutRequest {
                key,
                value: b"n1".to_vec(),
                lease: 42,
            })],
        };
        assert_eq!(
            to_json(&t),
            json!({
                "compare": [{"result": "EQUAL", "target": "CREATE", "key": "aw==", "create_revision": "0"}],
                "success": [{"request_put": {"key": "aw==", "value": "bjE=", "lease": "42"}}]
            })
        );
    }

    #[test]
    fn txn_delete_if_bound_to_lease() {
        let t = TxnRequest {
            compare: vec![Compare::equal(b"k".to_vec(), Target::Lease { lease: 7 })],
            success: vec![RequestOp::RequestDeleteRange(DeleteRequest {
                key: b"k".to_vec(),
            })],
        };
        assert_eq!(
            to_json(&t),
            json!({
                "compare": [{"result": "EQUAL", "target": "LEASE", "key": "aw==", "lease": "7"}],
                "success": [{"request_delete_range": {"key": "aw=="}}]
            })
        );
        let ok: TxnResponse =
            serde_json::from_str(r#"{"succeeded":true,"responses":[]}"#).unwrap_or_default();
        assert!(ok.succeeded);
        let no: TxnResponse =
            serde_json::from_str(r#"{"header":{"revision":"3"}}"#).unwrap_or_default();
        assert!(!no.succeeded);
    }

    #[test]
    fn put_without_lease_omits_it() {
        let p = PutRequest {
            key: b"k".to_vec(),
            value: Vec::new(),
            lease: 0,
        };
        assert_eq!(to_json(&p), json!({"key": "aw==", "value": ""}));
    }

    #[test]
    fn lease_messages() {
        assert_eq!(
            to_json(&LeaseRequest { id: 0, ttl: 20 }),
            json!({"ID": "0", "TTL": "20"})
        );
        assert_eq!(to_json(&LeaseRequest { id: 5, ttl: 0 }), json!({"ID": "5"}));
        let grant: LeaseResponse =
            serde_json::from_str(r#"{"header":{},"ID":"4111120476560994565","TTL":"3"}"#)
                .unwrap_or_default();
        assert_eq!((grant.id, grant.ttl), (4_111_120_476_560_994_565, 3));
        // A keep-alive of an unknown or expired lease: TTL left out.
        let item: StreamItem<LeaseResponse> = serde_json::from_str(
            r#"{"result":{"header":{},"ID":"12345"}}"#,
        )
        .unwrap_or(StreamItem {
            result: None,
            error: None,
        });
        assert_eq!(item.result.map(|r| r.ttl), Some(0));
        let err: StreamItem<LeaseResponse> = serde_json::from_str(
            r#"{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader"}}"#,
        )
        .unwrap_or(StreamItem {
            result: None,
            error: None,
        });
        assert_eq!(
            err.error.as_ref().map(stream_error_text).as_deref(),
            Some("etcdserver: no leader")
        );
    }

    #[test]
    fn error_body_text() {
        let e: ErrorBody = serde_json::from_str(
            r#"{"error":"etcdserver: requested lease not found","message":"etcdserver: requested lease not found","code":5}"#,
        )
        .unwrap_or_default();
        assert_eq!(e.text(), "etcdserver: requested lease not found");
        assert_eq!(e.code, 5);
        let old: ErrorBody = serde_json::from_str(r#"{"error":"x","code":14}"#).unwrap_or_default();
        assert_eq!(old.text(), "x");
    }
}
