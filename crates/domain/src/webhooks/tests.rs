use proptest::prelude::*;
use time::macros::datetime;

use super::*;

#[test]
fn a_subscription_is_star_or_known_types() {
    assert_eq!(Subscription::parse(&["*"]), Ok(Subscription::All));
    let only = Subscription::parse(&["lead.assigned", "order.completed", "lead.assigned"]).unwrap();
    assert_eq!(only.names(), vec!["lead.assigned", "order.completed"]);
    assert_eq!(Subscription::from_stored(&only.stored()), Ok(only));
    assert_eq!(Subscription::parse::<&str>(&[]), Err(SubscriptionError::Empty));
    assert_eq!(Subscription::parse(&["lead.eaten"]), Err(SubscriptionError::Unknown("lead.eaten".into())));
    assert_eq!(Subscription::parse(&["*", "lead.assigned"]), Err(SubscriptionError::StarWithOthers));
    assert_eq!(Subscription::parse(&["ping"]), Err(SubscriptionError::NotSubscribable("ping")));
    assert!(!Subscription::All.includes(EventType::Ping));
    assert!(Subscription::All.includes(EventType::EndpointDisabled));
}

#[test]
fn each_response_is_judged_as_events_md_says() {
    let table = [
        (Response::Status(200), Verdict::Succeeded),
        (Response::Status(204), Verdict::Succeeded),
        (Response::Status(299), Verdict::Succeeded),
        (Response::Status(301), Verdict::Failed),
        (Response::Status(400), Verdict::Failed),
        (Response::Status(401), Verdict::Failed),
        (Response::Status(404), Verdict::Failed),
        (Response::Status(408), Verdict::Retry),
        (Response::Status(409), Verdict::Retry),
        (Response::Status(410), Verdict::Gone),
        (Response::Status(429), Verdict::Retry),
        (Response::Status(500), Verdict::Retry),
        (Response::Status(503), Verdict::Retry),
        (Response::Timeout, Verdict::Retry),
        (Response::Unreachable, Verdict::Retry),
    ];
    for (response, verdict) in table {
        assert_eq!(judge(response), verdict, "{response:?}");
    }
}

#[test]
fn the_schedule_without_jitter_ends_after_three_days() {
    let start = datetime!(2026-12-03 00:00 UTC);
    let mut now = start;
    let mut delays = vec![];
    let mut failures = 1;
    while let Some(due) = next_attempt(start, now, failures, 0.0) {
        delays.push(due - now);
        now = due;
        failures += 1;
    }
    assert_eq!(&delays[..8], &RETRY_SCHEDULE);
    assert!(delays[8..].iter().all(|d| *d == LATER_RETRY), "{delays:?}");
    // 10 h 42 min 35 s of schedule, then 12 h steps up to 72 h: five of them.
    assert_eq!(delays.len(), 13);
    assert!(now - start <= GIVE_UP_AFTER);
}

#[test]
fn an_endpoint_is_disabled_after_five_days_of_failures() {
    let now = datetime!(2026-12-10 00:00 UTC);
    assert!(!failing_too_long(None, now));
    assert!(!failing_too_long(Some(now - Duration::days(5) + Duration::seconds(1)), now));
    assert!(failing_too_long(Some(now - Duration::days(5)), now));
}

proptest! {
    #[test]
    fn every_delay_is_within_twenty_percent_and_never_past_three_days(
        failures in 1u32..40,
        jitter in -1.0f64..1.0,
        elapsed_secs in 0i64..(4 * 86_400),
    ) {
        let event_at = datetime!(2026-12-03 00:00 UTC);
        let now = event_at + Duration::seconds(elapsed_secs);
        let base = RETRY_SCHEDULE.get(failures as usize - 1).copied().unwrap_or(LATER_RETRY);
        match next_attempt(event_at, now, failures, jitter) {
            Some(due) => {
                let delay = due - now;
                prop_assert!(delay >= base * 0.8 - Duration::milliseconds(1));
                prop_assert!(delay <= base * 1.2 + Duration::milliseconds(1));
                prop_assert!(due <= event_at + GIVE_UP_AFTER);
            }
            // Given up exactly when the jittered delay would pass the three days.
            None => prop_assert!(now + base * (1.0 + jitter.clamp(-MAX_JITTER, MAX_JITTER)) > event_at + GIVE_UP_AFTER),
        }
    }

    #[test]
    fn a_status_is_retried_exactly_when_events_md_says(status in 100u16..600) {
        let verdict = judge(Response::Status(status));
        let expected = match status {
            200..=299 => Verdict::Succeeded,
            410 => Verdict::Gone,
            408 | 409 | 429 | 500..=599 => Verdict::Retry,
            _ => Verdict::Failed,
        };
        prop_assert_eq!(verdict, expected);
    }
}
