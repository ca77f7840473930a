//! Identifiers: UUIDv7, made by the application before a row is inserted, so that
//! time-ordered ids can be bound into ciphertexts and logs before the write.

use uuid::Uuid;

/// A fresh UUIDv7 (time-ordered).
#[must_use]
pub fn new_id() -> Uuid {
    Uuid::now_v7()
}
