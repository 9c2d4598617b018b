//! Field rules shared by the resources. Each check names the field at fault
//! (`cidrs[1]`, `allow[0]`) so the client can point at it.

use sb_dialplan::NumberPattern;
use sb_switch::IpPrefix;

use crate::error::ApiError;

/// Longest description or display name accepted.
const MAX_TEXT: usize = 256;

/// Names of groups, ACLs, trunks, contexts and admin accounts: 1–64 of
/// `[A-Za-z0-9_.-]`.
pub(crate) fn name(field: &str, value: &str) -> Result<(), ApiError> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid_field(
            field,
            format!("{field}: `{value}` is not a valid name (1 to 64 of letters, digits, _ . -)"),
        ))
    }
}

/// Every item of a list of names.
pub(crate) fn names(field: &str, values: &[String]) -> Result<(), ApiError> {
    for (i, value) in values.iter().enumerate() {
        name(&format!("{field}[{i}]"), value)?;
    }
    if let Some(i) = (1..values.len()).find(|&i| values[..i].contains(&values[i])) {
        return Err(ApiError::invalid_field(
            format!("{field}[{i}]"),
            format!("{field}: `{}` is listed twice", values[i]),
        ));
    }
    Ok(())
}

/// An extension: 1–15 of digits, `*` and `#`.
pub(crate) fn extension(field: &str, value: &str) -> Result<(), ApiError> {
    let ok = (1..=15).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#');
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid_field(
            field,
            format!("{field}: `{value}` is not an extension (1 to 15 digits, * or #)"),
        ))
    }
}

/// Free text (descriptions, display names): at most 256 bytes, no control characters.
pub(crate) fn text(field: &str, value: &str) -> Result<(), ApiError> {
    if value.len() > MAX_TEXT {
        Err(ApiError::invalid_field(
            field,
            format!("{field}: at most {MAX_TEXT} bytes"),
        ))
    } else if value.chars().any(char::is_control) {
        Err(ApiError::invalid_field(
            field,
            format!("{field}: control characters are not allowed"),
        ))
    } else {
        Ok(())
    }
}

/// Dialplan number patterns (`_00.`, `_+.`, `911`), as call permissions use them.
pub(crate) fn patterns(field: &str, values: &[String]) -> Result<(), ApiError> {
    for (i, value) in values.iter().enumerate() {
        if let Err(error) = NumberPattern::parse(value) {
            return Err(ApiError::invalid_field(
                format!("{field}[{i}]"),
                format!("{field}[{i}]: `{value}` is not a number pattern: {error}"),
            ));
        }
    }
    Ok(())
}

/// Address prefixes (`192.0.2.0/24`, `2001:db8::1`), returned in their written form.
pub(crate) fn cidrs(field: &str, values: &[String]) -> Result<(), ApiError> {
    for (i, value) in values.iter().enumerate() {
        if let Err(error) = value.parse::<IpPrefix>() {
            return Err(ApiError::invalid_field(
                format!("{field}[{i}]"),
                format!("{field}[{i}]: {error}"),
            ));
        }
    }
    Ok(())
}

/// A gateway: `host` or `host:port`, the host a domain name, an IPv4 address or a
/// bracketed IPv6 address.
pub(crate) fn gateway(field: &str, value: &str) -> Result<(), ApiError> {
    let invalid = |why: &str| {
        Err(ApiError::invalid_field(
            field,
            format!("{field}: `{value}` {why} (expected host:port)"),
        ))
    };
    let (host, port) = if let Some(rest) = value.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return invalid("has an unclosed [");
        };
        if v6.parse::<std::net::Ipv6Addr>().is_err() {
            return invalid("has an invalid IPv6 address");
        }
        match after {
            "" => (v6, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (v6, Some(port)),
                None => return invalid("has text after the address"),
            },
        }
    } else {
        match value.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (value, None),
        }
    };
    if let Some(port) = port
        && !port.parse::<u16>().is_ok_and(|p| p > 0)
    {
        return invalid("has an invalid port");
    }
    if !value.starts_with('[') {
        let host_ok = !host.is_empty()
            && host.len() <= 253
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !host_ok {
            return invalid("has an invalid host");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_lists() {
        assert!(name("name", "carrier-1.east_2").is_ok());
        assert!(name("name", "").is_err());
        assert!(name("name", "a b").is_err());
        assert!(name("name", &"a".repeat(65)).is_err());
        let e = names("groups", &["sales".into(), "bad name".into()]).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("groups[1]"));
        let e = names("groups", &["a".into(), "b".into(), "a".into()]).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("groups[2]"));
    }

    #[test]
    fn extensions_and_text() {
        assert!(extension("extension", "201").is_ok());
        assert!(extension("extension", "*97#").is_ok());
        assert!(extension("extension", "").is_err());
        assert!(extension("extension", "12a").is_err());
        assert!(extension("extension", &"1".repeat(16)).is_err());
        assert!(text("description", "Main carrier, east").is_ok());
        assert!(text("description", "line\nbreak").is_err());
    }

    #[test]
    fn cidrs_name_the_bad_item() {
        assert!(cidrs("cidrs", &["192.0.2.0/24".into(), "2001:db8::1".into()]).is_ok());
        let e = cidrs("cidrs", &["192.0.2.0/24".into(), "192.0.2.0/33".into()]).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("cidrs[1]"));
        assert!(cidrs("cidrs", &["example.com".into()]).is_err());
    }

    #[test]
    fn patterns_name_the_bad_item() {
        assert!(patterns("allow", &["_00.".into(), "_+.".into(), "911".into()]).is_ok());
        let e = patterns("deny", &["_9X".into(), "_1[".into()]).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("deny[1]"));
    }

    #[test]
    fn gateways() {
        for ok in [
            "gw.example.com",
            "gw.example.com:5060",
            "192.0.2.1:5080",
            "[2001:db8::1]:5060",
            "[2001:db8::1]",
        ] {
            assert!(gateway("gateway", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "gw:0",
            "gw:99999",
            "gw..example.com",
            "[2001:db8::1",
            "2001:db8::1:5060:x",
            "[::1]x",
            "gw example",
        ] {
            assert!(gateway("gateway", bad).is_err(), "{bad}");
        }
    }
}
