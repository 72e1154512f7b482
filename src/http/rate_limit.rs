//! Rate limits on the endpoints that spend a password hash: sign-up (per client IP, and a
//! cap for the whole instance) and token rotation (per user and per client IP). A request
//! over a limit is `429 {"detail": ...}` with `Retry-After`. The limits are per instance:
//! behind a load balancer with N instances, a client may get up to N times as much.
//!
//! The client IP is the peer's address, or, only with `TRUST_PROXY_HEADERS=true`, the
//! entry of `X-Forwarded-For` that the last trusted proxy wrote: counted from the right by
//! `TRUSTED_PROXIES` (behind an AWS ALB the last entry, behind Google's load balancer the
//! second to last). The leftmost entry is whatever the client wrote, so it is never used.
//! IPv6 addresses count per /64, the block one subscriber usually holds.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota};

use super::AppState;
use super::error::ApiError;
use crate::config::{ProxyTrust, Rate, RateLimitSettings};

/// The rate limiters of one instance.
pub struct RateLimits {
    signup_per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    signup_total: Option<DefaultDirectRateLimiter>,
    token_per_user: Option<DefaultKeyedRateLimiter<i64>>,
    token_per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
}

/// How often keys whose limits have recovered are dropped, so that the state does not grow
/// with the number of clients ever seen.
const CLEANUP_INTERVAL: Duration = Duration::from_secs(60);

/// A limiter's quota: `count` per `per`, all of them allowed in a burst.
fn quota(rate: Rate) -> Quota {
    let every = rate.per / rate.count.get();
    Quota::with_period(every.max(Duration::from_nanos(1)))
        .expect("a positive period")
        .allow_burst(rate.count)
}

fn keyed<K: std::hash::Hash + Eq + Clone>(
    rate: Option<Rate>,
) -> Option<DefaultKeyedRateLimiter<K>> {
    rate.map(|r| DefaultKeyedRateLimiter::keyed(quota(r)))
}

impl RateLimits {
    pub fn new(settings: RateLimitSettings) -> Arc<Self> {
        let limits = Arc::new(Self {
            signup_per_ip: keyed(settings.signup_per_ip),
            signup_total: settings
                .signup_total
                .map(|r| DefaultDirectRateLimiter::direct(quota(r))),
            token_per_user: keyed(settings.token_per_user),
            token_per_ip: keyed(settings.token_per_ip),
        });
        // The cleanup holds only a weak reference: it ends with the state it cleans.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let weak = Arc::downgrade(&limits);
            runtime.spawn(async move {
                let mut tick = tokio::time::interval(CLEANUP_INTERVAL);
                loop {
                    tick.tick().await;
                    let Some(limits) = weak.upgrade() else { return };
                    limits.retain_recent();
                }
            });
        }
        limits
    }

    fn retain_recent(&self) {
        for limiter in [&self.signup_per_ip, &self.token_per_ip]
            .into_iter()
            .flatten()
        {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        if let Some(limiter) = &self.token_per_user {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    /// A sign-up from `ip` (unknown when the peer is, which only in-process tests see).
    pub fn check_signup(&self, ip: Option<IpAddr>) -> Result<(), ApiError> {
        if let (Some(limiter), Some(ip)) = (&self.signup_per_ip, ip) {
            limiter.check_key(&ip).map_err(refused)?;
        }
        if let Some(limiter) = &self.signup_total {
            limiter.check().map_err(refused)?;
        }
        Ok(())
    }

    /// A token rotation by `user_id` from `ip`.
    pub fn check_token_rotation(&self, user_id: i64, ip: Option<IpAddr>) -> Result<(), ApiError> {
        if let Some(limiter) = &self.token_per_user {
            limiter.check_key(&user_id).map_err(refused)?;
        }
        if let (Some(limiter), Some(ip)) = (&self.token_per_ip, ip) {
            limiter.check_key(&ip).map_err(refused)?;
        }
        Ok(())
    }
}

fn refused(not_until: governor::NotUntil<<DefaultClock as Clock>::Instant>) -> ApiError {
    let wait = not_until.wait_time_from(DefaultClock::default().now());
    ApiError::RateLimited {
        retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
    }
}

/// The client's address (see the module doc); IPv6 reduced to its /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            request_client_ip(parts, state).map(per_subscriber),
        ))
    }
}

/// The client's full address for this request: its peer, or with trusted proxies the
/// address `X-Forwarded-For` names.
pub fn request_client_ip(parts: &Parts, state: &AppState) -> Option<IpAddr> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip());
    client_ip(&parts.headers, peer, state.proxy_trust)
}

/// The client's address from the peer and, when trusted, `X-Forwarded-For`.
pub fn client_ip(headers: &HeaderMap, peer: Option<IpAddr>, trust: ProxyTrust) -> Option<IpAddr> {
    if !trust.trust_headers {
        return peer;
    }
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    // The trusted proxies appended the last `trusted_proxies` entries; the first of those is
    // the address the outermost trusted proxy saw.
    let from_right = trust.trusted_proxies.max(1);
    entries
        .len()
        .checked_sub(from_right)
        .and_then(|n| entries[n].parse::<IpAddr>().ok())
        .or(peer)
}

pub fn per_subscriber(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append("x-forwarded-for", v.parse().unwrap());
        }
        headers
    }

    #[test]
    fn the_client_ip_is_the_entry_the_trusted_proxy_wrote() {
        let peer: IpAddr = "10.0.1.5".parse().unwrap();
        let spoofed = xff(&["6.6.6.6, 203.0.113.7"]);
        let off = ProxyTrust::default();
        assert_eq!(
            client_ip(&spoofed, Some(peer), off),
            Some(peer),
            "headers not trusted"
        );
        let alb = ProxyTrust {
            trust_headers: true,
            trusted_proxies: 1,
        };
        assert_eq!(
            client_ip(&spoofed, Some(peer), alb),
            "203.0.113.7".parse().ok()
        );
        let google = ProxyTrust {
            trust_headers: true,
            trusted_proxies: 2,
        };
        let via_google = xff(&["6.6.6.6, 198.51.100.9", "34.120.0.1"]);
        assert_eq!(
            client_ip(&via_google, Some(peer), google),
            "198.51.100.9".parse().ok()
        );
        assert_eq!(
            client_ip(&xff(&[]), Some(peer), google),
            Some(peer),
            "no header"
        );
        assert_eq!(client_ip(&xff(&["garbage"]), Some(peer), alb), Some(peer));
    }

    #[test]
    fn ipv6_clients_count_per_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(per_subscriber(a), per_subscriber(b));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(
            per_subscriber(mapped),
            "192.0.2.1".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn rates_parse_and_limits_refuse_with_a_wait() {
        assert_eq!(Rate::parse("off"), Ok(None));
        assert!(Rate::parse("ten/minute").is_err());
        assert!(Rate::parse("0/minute").is_err());
        assert!(Rate::parse("5/fortnight").is_err());
        let rate = Rate::parse("2/minute").unwrap();
        let limits = RateLimits::new(RateLimitSettings {
            signup_per_ip: rate,
            signup_total: None,
            token_per_user: rate,
            token_per_ip: None,
        });
        let ip = Some("192.0.2.1".parse().unwrap());
        assert!(limits.check_signup(ip).is_ok());
        assert!(limits.check_signup(ip).is_ok());
        match limits.check_signup(ip) {
            Err(ApiError::RateLimited { retry_after_secs }) => {
                assert!((1..=30).contains(&retry_after_secs), "{retry_after_secs}")
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(
            limits
                .check_signup(Some("192.0.2.2".parse().unwrap()))
                .is_ok(),
            "per IP"
        );
        assert!(limits.check_token_rotation(7, ip).is_ok());
        assert!(limits.check_token_rotation(7, ip).is_ok());
        assert!(limits.check_token_rotation(7, ip).is_err());
        assert!(limits.check_token_rotation(8, ip).is_ok(), "per user");
    }
}
