//! Tables of inputs that several front doors must judge alike (the API, the command
//! line, the use cases), each with whether it is accepted.

/// Queue names and whether `domain::counsel::QueueName::parse` accepts them: trimmed,
/// 1 to 100 characters, no control character.
pub const QUEUE_NAMES: &[(&str, bool)] = &[
    ("아웃바운드 1", true),
    ("  padded  ", true),
    ("AS 검토 (2팀)", true),
    (
        "가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가",
        true,
    ),
    (
        "가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가가",
        false,
    ),
    ("", false),
    ("   ", false),
    ("bell\u{7}name", false),
    ("tab\tname", false),
    ("line\nbreak", false),
];
