//! When a read is tried again (docs/exit-codes.md, "Retries").
//!
//! Only reads come here (every request of [`super::live::Reader`] is a
//! GET), so asking again cannot change anything in the cluster. A read is
//! tried again when the failure says the server or the path to it is
//! momentarily unable to answer, never when the answer is a decision:
//!
//! - HTTP 429 (the API server's flow control, or a proxy's rate limit),
//!   502, 503 and 504, and a 500 that carries `Retry-After`;
//! - a connection that broke before or in the middle of the answer (reset,
//!   closed early, cut mid-body).
//!
//! Not tried again: any other status (401, 403, 404, 500 without
//! `Retry-After`: asking again gets the same answer), a refused connection,
//! a name that does not resolve or a TLS failure (a wrong address or
//! certificate does not heal in seconds), and `--request-timeout` (the
//! user's bound on one request).
//!
//! At most [`ATTEMPTS`] attempts; between them [`FIRST_DELAY`] doubling up
//! to [`MAX_DELAY`], with up to a fifth more at random so that many clients
//! do not come back at once, or the server's `Retry-After` when it is
//! longer. A `Retry-After` over [`MAX_RETRY_AFTER`] is not waited for: the
//! read fails at once and says what the server asked.

use std::time::Duration;

/// Attempts of one read, the first included.
pub const ATTEMPTS: u32 = 5;
/// Wait before the second attempt.
pub const FIRST_DELAY: Duration = Duration::from_millis(250);
/// Longest wait of the doubling backoff.
pub const MAX_DELAY: Duration = Duration::from_secs(4);
/// Longest `Retry-After` waited for.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);

/// A failure worth another attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transient {
    /// An HTTP status that asks to come back, with the server's
    /// `Retry-After` when it sent one.
    Status {
        code: u16,
        retry_after: Option<Duration>,
    },
    /// The connection broke before or during the answer.
    Broken,
}

/// Whether an HTTP error status is worth another attempt.
pub fn transient_status(code: u16, retry_after: Option<Duration>) -> bool {
    match code {
        429 | 502..=504 => true,
        // A plain 500 is the server's answer; with Retry-After it says to
        // come back (client-go reads it the same way).
        500 => retry_after.is_some(),
        _ => false,
    }
}

/// A `Retry-After` header's value: whole seconds, as the API server sends
/// it. The HTTP-date form is not used by Kubernetes and counts as absent.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Why a read stops being tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUp {
    /// [`ATTEMPTS`] attempts were made.
    Exhausted,
    /// The server asked for a wait over [`MAX_RETRY_AFTER`].
    TooLong(Duration),
}

/// The wait before the next attempt after `made` attempts (1-based) ended
/// in `t`, or why there is none. `jitter` in `[0, 1)` adds up to a fifth of
/// the backoff.
pub fn next_delay(t: Transient, made: u32, jitter: f64) -> Result<Duration, GiveUp> {
    let asked = match t {
        Transient::Status { retry_after, .. } => retry_after,
        Transient::Broken => None,
    };
    if let Some(asked) = asked
        && asked > MAX_RETRY_AFTER
    {
        return Err(GiveUp::TooLong(asked));
    }
    if made >= ATTEMPTS {
        return Err(GiveUp::Exhausted);
    }
    let doubled = FIRST_DELAY.saturating_mul(1 << made.saturating_sub(1).min(16));
    let backoff = doubled.min(MAX_DELAY);
    let backoff = backoff.mul_f64(1.0 + 0.2 * jitter.clamp(0.0, 1.0));
    Ok(backoff.max(asked.unwrap_or_default()))
}

/// How a retried operation failed for good.
pub struct Failure<E> {
    /// The last attempt's error.
    pub error: E,
    /// Attempts made, the last included.
    pub made: u32,
    /// Why it stopped being tried; `None` when the error was not worth
    /// another attempt.
    pub gave_up: Option<GiveUp>,
}

impl GiveUp {
    /// Why the attempts stopped, for the end of a message. No time in it:
    /// alike failures are told once, grouped.
    pub fn describe(self, made: u32) -> String {
        match self {
            GiveUp::Exhausted => format!("gave up after {made} attempts"),
            GiveUp::TooLong(asked) => format!(
                "the server asked to retry after {}s, longer than the {}s this tool waits",
                asked.as_secs(),
                MAX_RETRY_AFTER.as_secs()
            ),
        }
    }
}

/// Run `attempt` until it succeeds, fails in a way `transient` does not
/// call passing, or [`next_delay`] gives up; `on_retry` hears each failure
/// that is tried again, with the attempts made and the wait.
pub async fn retrying<T, E>(
    mut attempt: impl AsyncFnMut() -> Result<T, E>,
    transient: impl Fn(&E) -> Option<Transient>,
    mut on_retry: impl FnMut(&E, u32, Duration),
) -> Result<(T, u32), Failure<E>> {
    let mut made = 0;
    loop {
        made += 1;
        let error = match attempt().await {
            Ok(v) => return Ok((v, made)),
            Err(e) => e,
        };
        let Some(t) = transient(&error) else {
            return Err(Failure {
                error,
                made,
                gave_up: None,
            });
        };
        match next_delay(t, made, jitter()) {
            Ok(wait) => {
                on_retry(&error, made, wait);
                tokio::time::sleep(wait).await;
            }
            Err(why) => {
                return Err(Failure {
                    error,
                    made,
                    gave_up: Some(why),
                });
            }
        }
    }
}

/// A number in `[0, 1)` that differs from call to call and from process
/// to process: enough to spread clients apart, no more.
pub fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    // The top 53 bits as a fraction of 2^53.
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Whether an error from sending a request, or from reading its answer,
/// is a connection that broke (worth another attempt) rather than one that
/// never worked (refused, unresolvable, TLS).
pub fn broken_connection(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            match io.kind() {
                K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
                    return true;
                }
                K::ConnectionRefused | K::NotFound | K::TimedOut => return false,
                _ => {}
            }
        }
        if let Some(h) = err.downcast_ref::<hyper::Error>()
            && (h.is_incomplete_message() || h.is_closed() || h.is_canceled())
        {
            return true;
        }
        cur = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16, secs: Option<u64>) -> Transient {
        Transient::Status {
            code,
            retry_after: secs.map(Duration::from_secs),
        }
    }

    #[test]
    fn only_statuses_that_ask_to_come_back_are_tried_again() {
        for code in [429, 502, 503, 504] {
            assert!(transient_status(code, None), "{code}");
        }
        for code in [400, 401, 403, 404, 409, 410, 422, 500, 501] {
            assert!(!transient_status(code, None), "{code}");
        }
        assert!(transient_status(500, Some(Duration::from_secs(1))));
        assert!(!transient_status(403, Some(Duration::from_secs(1))));
    }

    #[test]
    fn the_backoff_doubles_up_to_its_cap_and_stops_after_the_last_attempt() {
        let waits: Vec<_> = (1..ATTEMPTS)
            .map(|made| next_delay(Transient::Broken, made, 0.0).unwrap())
            .collect();
        assert_eq!(
            waits,
            [250, 500, 1000, 2000].map(Duration::from_millis).to_vec()
        );
        assert_eq!(
            next_delay(Transient::Broken, ATTEMPTS, 0.0),
            Err(GiveUp::Exhausted)
        );
        // Far past the cap (had there been more attempts) it stays capped.
        assert!(FIRST_DELAY.saturating_mul(1 << 16) > MAX_DELAY);
    }

    #[test]
    fn jitter_adds_at_most_a_fifth() {
        let w = next_delay(Transient::Broken, 2, 0.999_999).unwrap();
        assert!(
            w > Duration::from_millis(500) && w < Duration::from_millis(600),
            "{w:?}"
        );
        for _ in 0..1000 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j), "{j}");
        }
    }

    #[test]
    fn retry_after_is_honoured_when_longer_than_the_backoff() {
        assert_eq!(
            next_delay(status(429, Some(3)), 1, 0.0),
            Ok(Duration::from_secs(3))
        );
        // Shorter than the backoff: the backoff wins.
        assert_eq!(
            next_delay(status(503, Some(1)), 4, 0.0),
            Ok(Duration::from_secs(2))
        );
        assert_eq!(
            next_delay(status(429, Some(11)), 1, 0.0),
            Err(GiveUp::TooLong(Duration::from_secs(11)))
        );
        // The last attempt is the last, whatever the server asks.
        assert_eq!(
            next_delay(status(429, Some(1)), ATTEMPTS, 0.0),
            Err(GiveUp::Exhausted)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn retrying_stops_at_success_at_a_final_error_or_after_the_last_attempt() {
        let broken = |_: &&str| Some(Transient::Broken);
        // Passing failures, then success: the attempts are counted.
        let mut left = 2;
        let mut heard = Vec::new();
        let r = retrying(
            async || {
                if left == 0 {
                    return Ok("answer");
                }
                left -= 1;
                Err("cut")
            },
            broken,
            |_, made, wait| heard.push((made, wait)),
        )
        .await;
        assert_eq!(r.ok(), Some(("answer", 3)));
        assert_eq!(
            heard.iter().map(|h| h.0).collect::<Vec<_>>(),
            [1, 2],
            "{heard:?}"
        );
        // A final error: one attempt, nothing given up.
        let r = retrying(async || Err::<(), _>("403"), |_| None, |_, _, _| {}).await;
        let f = r.err().unwrap();
        assert_eq!((f.made, f.gave_up), (1, None));
        // Always passing: the policy's attempts, then given up.
        let r = retrying(async || Err::<(), _>("cut"), broken, |_, _, _| {}).await;
        let f = r.err().unwrap();
        assert_eq!((f.made, f.gave_up), (ATTEMPTS, Some(GiveUp::Exhausted)));
        assert_eq!(GiveUp::Exhausted.describe(5), "gave up after 5 attempts");
    }

    #[test]
    fn retry_after_is_whole_seconds() {
        assert_eq!(parse_retry_after("1"), Some(Duration::from_secs(1)));
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }

    #[test]
    fn a_broken_connection_is_told_from_one_that_never_worked() {
        use std::io::{Error, ErrorKind};
        #[derive(Debug, thiserror::Error)]
        #[error("request failed")]
        struct Wrapped(#[source] Error);
        for kind in [
            ErrorKind::ConnectionReset,
            ErrorKind::BrokenPipe,
            ErrorKind::UnexpectedEof,
        ] {
            assert!(broken_connection(&Wrapped(Error::from(kind))), "{kind:?}");
        }
        for kind in [ErrorKind::ConnectionRefused, ErrorKind::NotFound] {
            assert!(!broken_connection(&Wrapped(Error::from(kind))), "{kind:?}");
        }
        assert!(!broken_connection(&Error::other("certificate unknown")));
    }
}
