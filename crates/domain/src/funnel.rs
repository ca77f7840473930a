//! The consumer funnel of seed 000 (`funnel.md`, issue #17): how a person meets the
//! platform through a partner's app. This module holds its vocabulary and rules:
//! identity verification ([`identity`]) and the terms a person consents to ([`terms`]).

pub mod coverage;
pub mod document;
pub mod health;
pub mod identity;
pub mod medical;
pub mod terms;
