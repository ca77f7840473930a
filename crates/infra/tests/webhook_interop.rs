//! Our webhook signatures verify with an independent implementation of the Standard
//! Webhooks specification (the `standardwebhooks` crate), not only with our own code
//! (issue #16): one secret, the two secrets of a rotation, and the refusals.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use http::{HeaderMap, HeaderValue};
use infra::webhook_signature::{WebhookSecret, sign, signature_header};
use standardwebhooks::Webhook;

fn headers(id: &str, timestamp: i64, signature: &str) -> HeaderMap {
    let mut map = HeaderMap::new();
    map.insert("webhook-id", HeaderValue::from_str(id).unwrap());
    map.insert("webhook-timestamp", HeaderValue::from_str(&timestamp.to_string()).unwrap());
    map.insert("webhook-signature", HeaderValue::from_str(signature).unwrap());
    map
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

const BODY_TEXT: &str = r#"{"id":"evt_01JF","type":"lead.assigned","createdAt":"2026-12-03T11:25:30.525Z","orgCode":"mohom","data":{"leadId":"0192f5c2-0000-7000-8000-000000000001","name":"홍*동","phone":"010-****-5678"}}"#;
const BODY: &[u8] = BODY_TEXT.as_bytes();

#[test]
fn a_delivery_verifies_with_the_standardwebhooks_crate() {
    let secret = WebhookSecret::generate().unwrap();
    let verifier = Webhook::new(&secret.expose()).expect("the crate reads our secret's text");
    let at = now();
    let signature = sign(&secret, "evt_01JF", at, BODY);
    verifier.verify(BODY, &headers("evt_01JF", at, &signature)).expect("verified independently");

    // The same verifier refuses what it must: another body, another id, another secret.
    assert!(verifier.verify(b"{}", &headers("evt_01JF", at, &signature)).is_err(), "another body");
    assert!(verifier.verify(BODY, &headers("evt_01JG", at, &signature)).is_err(), "another id");
    let other = WebhookSecret::generate().unwrap();
    let forged = sign(&other, "evt_01JF", at, BODY);
    assert!(verifier.verify(BODY, &headers("evt_01JF", at, &forged)).is_err(), "another secret");
    // A delivery signed an hour ago is outside the crate's replay tolerance.
    let stale = sign(&secret, "evt_01JF", at - 3_600, BODY);
    assert!(verifier.verify(BODY, &headers("evt_01JF", at - 3_600, &stale)).is_err(), "a replay");
}

#[test]
fn during_a_rotation_a_receiver_with_either_secret_verifies() {
    let (new, old) = (WebhookSecret::generate().unwrap(), WebhookSecret::generate().unwrap());
    let at = now();
    let header = signature_header(&[&new, &old], "evt_02", at, BODY);
    assert_eq!(header.split(' ').count(), 2, "{header}");
    for secret in [&new, &old] {
        let verifier = Webhook::new(&secret.expose()).unwrap();
        verifier.verify(BODY, &headers("evt_02", at, &header)).expect("either secret verifies");
    }
    let stranger = Webhook::new(&WebhookSecret::generate().unwrap().expose()).unwrap();
    assert!(stranger.verify(BODY, &headers("evt_02", at, &header)).is_err());
}
