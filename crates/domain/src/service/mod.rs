//! Use cases, generic over the ports, tested with the testkit's in-memory adapters.

pub mod orgs;
pub mod reference;
pub mod users;
