//! The counsel use cases.
