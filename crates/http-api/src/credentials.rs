//! Passwords and names: argon2id hashes for admin accounts, HA1 values for SIP users
//! (realm = the user's domain), and the rules for user names and domains shared with the
//! command line.
//!
//! Clear-text passwords exist only in the request being handled; nothing here stores or
//! logs them.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use sb_sip_auth::{Algorithm, compute_ha1};
use sb_store::{Ha1Md5, Ha1Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;

/// Shortest password the API accepts (admin accounts and SIP users).
pub const MIN_PASSWORD_LEN: usize = 8;
/// Longest password the API accepts (bounds the hashing work per request).
pub const MAX_PASSWORD_LEN: usize = 1024;

/// Hashes an admin password with argon2id (default parameters, random salt) into a PHC
/// string (`$argon2id$v=19$m=19456,t=2,p=1$…`). Takes tens of milliseconds: call it off
/// the async threads (`spawn_blocking`).
pub fn hash_password(password: &str) -> String {
    Argon2::default()
        .hash_password(password.as_bytes())
        .expect("argon2id with default parameters and an OS random salt does not fail")
        .to_string()
}

/// Whether `password` matches the PHC string `phc` (any argon2 variant and parameters
/// recorded in it). A malformed `phc` matches nothing.
pub fn verify_password(password: &str, phc: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .is_ok()
}

/// Both HA1 values of a SIP user for realm = `domain` (RFC 7616 §3.4.2).
pub fn user_secrets(username: &str, domain: &str, password: &str) -> (Ha1Md5, Ha1Sha256) {
    let md5 = compute_ha1(Algorithm::Md5, username, domain, password);
    let sha256 = compute_ha1(Algorithm::Sha256, username, domain, password);
    (
        Ha1Md5::from_hex(md5.expose_hex()).expect("an MD5 HA1 is 32 hex digits"),
        Ha1Sha256::from_hex(sha256.expose_hex()).expect("a SHA-256 HA1 is 64 hex digits"),
    )
}

/// Whether `password` is the one behind a stored MD5 HA1 for realm = `domain`; compares
/// in constant time.
pub fn check_user_password(username: &str, domain: &str, password: &str, stored: &Ha1Md5) -> bool {
    let ha1 = compute_ha1(Algorithm::Md5, username, domain, password);
    ha1.expose_hex()
        .as_bytes()
        .ct_eq(stored.as_hex().as_bytes())
        .into()
}

/// A SIP user part Switchboard accepts for accounts: letters, digits and `. _ - + ~ !`,
/// at most 64 characters (a subset of RFC 3261 §25.1 `user` that needs no escaping
/// anywhere).
///
/// # Errors
/// 400 `invalid_field` (field `username`) with a message naming the rule.
pub fn validate_username(name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-+~!".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid_field(
            "username",
            format!(
                "`{name}` is not a valid user name (letters, digits and . _ - + ~ !, at most 64)"
            ),
        ))
    }
}

/// A domain: dot-separated labels of letters, digits and `-`, at most 253 characters.
/// Returns it trimmed and lower-case.
///
/// # Errors
/// 400 `invalid_field` (field `domain`).
pub fn validate_domain(domain: &str) -> Result<String, ApiError> {
    let d = domain.trim().to_ascii_lowercase();
    let ok = !d.is_empty()
        && d.len() <= 253
        && d.split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    if ok {
        Ok(d)
    } else {
        Err(ApiError::invalid_field(
            "domain",
            format!("`{domain}` is not a valid domain"),
        ))
    }
}

/// A new password's length rule.
pub(crate) fn validate_password(password: &str) -> Result<(), ApiError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_LEN {
        Err(ApiError::invalid_field(
            "password",
            format!("the password must have at least {MIN_PASSWORD_LEN} characters"),
        ))
    } else if password.len() > MAX_PASSWORD_LEN {
        Err(ApiError::invalid_field(
            "password",
            format!("the password must have at most {MAX_PASSWORD_LEN} bytes"),
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_and_domains_are_validated() {
        assert!(validate_username("alice").is_ok());
        assert!(validate_username("1001").is_ok());
        assert!(validate_username("a.b-c_d+e").is_ok());
        assert!(validate_username("").is_err());
        assert!(validate_username("al ice").is_err());
        assert!(validate_username("al@ice").is_err());
        assert!(validate_username(&"a".repeat(65)).is_err());
        assert_eq!(validate_domain("Example.TEST").unwrap(), "example.test");
        assert!(validate_domain("bad domain").is_err());
        assert!(validate_domain("a..b").is_err());
        let e = validate_username("a b").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("username"));
    }

    #[test]
    fn argon2_round_trip() {
        let phc = hash_password("correct horse");
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("correct horsE", &phc));
        assert!(!verify_password("correct horse", "not a hash"));
        assert_ne!(phc, hash_password("correct horse"), "salted");
    }

    #[test]
    fn ha1_check_matches_the_stored_digest() {
        // RFC 2617 §3.5's example user, realm and password.
        let (md5, _) = user_secrets("Mufasa", "testrealm@host.com", "Circle Of Life");
        assert_eq!(md5.as_hex(), "939e7578ed9e3c518a452acee763bce9");
        assert!(check_user_password(
            "Mufasa",
            "testrealm@host.com",
            "Circle Of Life",
            &md5
        ));
        assert!(!check_user_password(
            "Mufasa",
            "testrealm@host.com",
            "circle of life",
            &md5
        ));
    }

    #[test]
    fn password_length() {
        assert!(validate_password("1234567").is_err());
        assert!(validate_password("12345678").is_ok());
        assert!(validate_password("ééééééé").is_err(), "counts characters");
        assert!(validate_password(&"x".repeat(1025)).is_err());
    }
}
