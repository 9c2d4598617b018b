//! Choosing the one final response the caller gets when every fork failed
//! (RFC 3261 §16.7 step 6, applied by the B2BUA to its B legs).

use sb_sip_message::StatusCode;

/// How much a failure response is preferred; higher wins. 6xx beat
/// everything (the callee said "nowhere"); otherwise the lowest class wins
/// (3xx over 4xx over 5xx). Within a class, responses that say something
/// about the callee (486 Busy Here, 403, 404…) beat the generic "could not
/// reach that device" ones: 480 Temporarily Unavailable and 408 Request
/// Timeout (a device that did not answer or could not be reached), then
/// 487 Request Terminated (a fork the switch cancelled itself). Then a
/// device's own answer beats one the switch made up for a step (no such
/// user, nobody registered, a trunk that is not available).
fn preference(status: StatusCode, system: bool) -> (u8, u8, bool, u16) {
    let code = status.as_u16();
    let class = match status.class() {
        6 => 4,
        3 => 3,
        4 => 2,
        _ => 1,
    };
    let within = match code {
        487 => 0,
        408 => 1,
        480 => 2,
        _ => 3,
    };
    // Ties: the lower code (more specific is usually lower).
    (class, within, !system, u16::MAX - code)
}

/// Whether `candidate` (`system`: decided by the switch, not a device)
/// should replace `best`.
pub(crate) fn better(
    candidate: StatusCode,
    system: bool,
    best: Option<(StatusCode, bool)>,
) -> bool {
    best.is_none_or(|(b, b_system)| preference(candidate, system) > preference(b, b_system))
}

/// The status the caller is sent for a chosen failure: a 503 from a device is
/// not the switch's overload and becomes 500 (RFC 3261 §16.7 step 6).
pub(crate) fn forwardable(status: StatusCode) -> StatusCode {
    if status == StatusCode::SERVICE_UNAVAILABLE {
        StatusCode::SERVER_INTERNAL_ERROR
    } else {
        status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(codes: &[u16]) -> u16 {
        pick_from(&codes.iter().map(|&c| (c, false)).collect::<Vec<_>>())
    }

    fn pick_from(codes: &[(u16, bool)]) -> u16 {
        let mut best = None;
        for &(c, system) in codes {
            let s = StatusCode::new(c).unwrap();
            if better(s, system, best) {
                best = Some((s, system));
            }
        }
        best.unwrap().0.as_u16()
    }

    #[test]
    fn selection_order() {
        assert_eq!(pick(&[480, 486]), 486);
        assert_eq!(pick(&[486, 480]), 486);
        assert_eq!(pick(&[408, 480]), 480);
        assert_eq!(pick(&[487, 408]), 408);
        assert_eq!(pick(&[500, 480]), 480);
        assert_eq!(pick(&[486, 603, 302]), 603);
        assert_eq!(pick(&[404, 302]), 302);
        assert_eq!(pick(&[503, 500]), 500);
        assert_eq!(pick(&[404, 403]), 403);
        // The switch's own 404 (no such user in one step) yields to a
        // device's answer of the same class.
        assert_eq!(pick_from(&[(404, true), (486, false)]), 486);
        assert_eq!(pick_from(&[(486, false), (404, true)]), 486);
        assert_eq!(pick_from(&[(404, true), (480, false)]), 404);
        assert_eq!(pick_from(&[(480, true), (480, false)]), 480);
        assert_eq!(forwardable(StatusCode::SERVICE_UNAVAILABLE).as_u16(), 500);
        assert_eq!(forwardable(StatusCode::BUSY_HERE).as_u16(), 486);
    }
}
