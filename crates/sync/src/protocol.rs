//! The messages of `POST /sync/v1/sync`, as JSON. Automerge bytes travel as standard base64;
//! change hashes as lower-case hex. Every message carries the protocol version so either end can
//! refuse one it does not speak.

use serde::{Deserialize, Serialize};

/// The protocol this build speaks.
pub const PROTOCOL: u32 = 1;

/// The most cases a device pushes in one request, and the server sends in one page.
pub const MAX_BATCH: usize = 200;

/// One sync round trip from a device: what it has changed, and where its pull left off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncRequest {
    pub protocol: u32,
    /// A fresh id per batch (UUID). The server keeps its answer to each batch, so a batch sent
    /// again after a cut connection gets the same answer and changes nothing.
    pub batch_id: String,
    /// Where this request's pull starts: the server sends the cases it may see with a higher
    /// sequence number (0 at first). Unless `applied` says otherwise, sending it also confirms
    /// that the device holds everything pulled up to it.
    pub since: u64,
    /// The highest server sequence number this device has durably applied, when that is below
    /// `since`: a device that asks for the next page while it still writes the previous one
    /// sends that page's `next_since` as `since` and what it has written as `applied`, so the
    /// server confirms only pages the device holds. Absent, it is `since` (the form every
    /// request took before it existed). Never above `since` (422 `invalid_applied`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied: Option<u64>,
    /// Cases changed on this device since the server last acknowledged them.
    pub push: Vec<PushedCase>,
    /// How many cases the device wants in this response's pull page (at most [`MAX_BATCH`]).
    pub page_size: u32,
}

impl SyncRequest {
    /// The highest server sequence the device holds every pulled page up to: `applied`, or
    /// `since` when it is absent.
    pub fn applied(&self) -> u64 {
        self.applied.unwrap_or(self.since)
    }
}

/// A case's changes the server has not acknowledged yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushedCase {
    pub case_id: String,
    /// The heads the server last acknowledged for this case (empty for a case the server has
    /// never seen): the changes are everything after them.
    pub base_heads: Vec<String>,
    /// `save_after(base_heads)` of the device's document, base64.
    #[serde(with = "b64")]
    pub changes: Vec<u8>,
    /// The device's heads for the case with these changes: once stored, the server knows the
    /// device holds them, and later pulls send only what comes after.
    pub heads: Vec<String>,
}

/// The server's answer: what it kept, what it refused, and a page of what the device lacks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncResponse {
    pub protocol: u32,
    pub batch_id: String,
    /// One per pushed case the server now holds: `heads` are the pushed heads, now on the
    /// server (the device's next push for the case starts from them).
    pub acks: Vec<Ack>,
    /// Pushed cases the server refused; nothing of them was kept.
    pub refused: Vec<RefusedCase>,
    /// Cases the device may see that changed after `since`, oldest change first.
    pub pull: Vec<PulledCase>,
    /// The sequence to send as `since` next time (the last pulled case's, or `since` again).
    pub next_since: u64,
    /// Cases still to pull after this page; 0 when the device is up to date.
    pub remaining: u64,
    /// All cases to pull in this sync, counted when it started (`since`): for a progress bar.
    pub total: u64,
    /// Cases the device holds that changed after `since` (up to `next_since`) so that this
    /// person may no longer see them: reassigned to someone else. The device removes each once
    /// it has nothing of it left to push.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub departed: Vec<Departed>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Departed {
    pub case_id: String,
    /// The server sequence of the change that took it away.
    pub seq: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ack {
    pub case_id: String,
    pub heads: Vec<String>,
    pub seq: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefusedCase {
    pub case_id: String,
    /// Stable and machine-readable: see [`crate::Refusal::code`].
    pub code: String,
    /// For people.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PulledCase {
    pub case_id: String,
    pub seq: u64,
    /// The changes the device lacks (after the heads the server knows it has), or the whole
    /// document when the server knows of none; base64. Loading them twice is harmless.
    #[serde(with = "b64")]
    pub changes: Vec<u8>,
    /// The case's heads on the server after these changes.
    pub heads: Vec<String>,
    /// Who wrote the case's changes: each automerge actor with its device and person, so the
    /// device's history can name them.
    #[serde(default)]
    pub actors: Vec<ActorInfo>,
}

/// An automerge actor (hex) and the device and person behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActorInfo {
    pub actor: String,
    pub device_id: String,
    pub person_id: String,
    pub person_name: String,
}

/// A refusal of the whole request (4xx), as `{code, message}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
}

mod b64 {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        STANDARD
            .decode(text.as_bytes())
            .map_err(|e| serde::de::Error::custom(format!("not base64: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_travel_as_base64_and_unknown_fields_are_refused() {
        let p = PushedCase {
            case_id: "c".into(),
            base_heads: vec![],
            changes: vec![0, 1, 2, 255],
            heads: vec![],
        };
        let json = serde_json::to_value(&p).unwrap_or_default();
        assert_eq!(json["changes"], "AAEC/w==");
        let back: PushedCase = serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, p);
        let bad =
            serde_json::json!({"case_id": "c", "base_heads": [], "changes": "!!", "heads": []});
        assert!(serde_json::from_value::<PushedCase>(bad).is_err());
        let extra = serde_json::json!({"case_id": "c", "base_heads": [], "changes": "", "heads": [], "x": 1});
        assert!(serde_json::from_value::<PushedCase>(extra).is_err());
    }

    #[test]
    fn applied_is_optional_and_left_out_when_absent() {
        let old = serde_json::json!({
            "protocol": 1, "batch_id": "b", "since": 7, "push": [], "page_size": 100
        });
        let req: SyncRequest =
            serde_json::from_value(old.clone()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((req.applied, req.applied()), (None, 7));
        assert_eq!(serde_json::to_value(&req).ok(), Some(old));
        let prefetch = SyncRequest {
            applied: Some(3),
            ..req
        };
        let json = serde_json::to_value(&prefetch).unwrap_or_default();
        assert_eq!(json["applied"], 3);
        assert_eq!(prefetch.applied(), 3);
    }
}
