//! Email syntax, checked the way pydantic's `EmailStr` (python-email-validator, no
//! deliverability check) words its complaints. The address itself is stored verbatim: the
//! FastAPI app kept whatever the client sent, and clients compare it field for field.

const SPECIAL_USE_DOMAINS: &[&str] = &["arpa", "invalid", "local", "localhost", "onion", "test"];
const MAX_ADDRESS: usize = 254;
const MAX_LOCAL: usize = 64;

/// `Err(reason)` in python-email-validator's words.
pub fn check(address: &str) -> Result<(), String> {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return Err("An email address must have an @-sign.".into());
    };
    if local.is_empty() {
        return Err("There must be something before the @-sign.".into());
    }
    if domain.is_empty() {
        return Err("There must be something after the @-sign.".into());
    }
    let length = address.chars().count();
    if length > MAX_ADDRESS {
        return Err(format!(
            "The email address is too long ({} characters too many).",
            length - MAX_ADDRESS
        ));
    }
    let local_length = local.chars().count();
    if local_length > MAX_LOCAL {
        return Err(format!(
            "The email address is too long before the @-sign ({} characters too many).",
            local_length - MAX_LOCAL
        ));
    }
    check_local(local)?;
    check_domain(domain)
}

fn invalid_chars(bad: impl Iterator<Item = char>) -> String {
    let mut seen: Vec<char> = Vec::new();
    for c in bad {
        if !seen.contains(&c) {
            seen.push(c);
        }
    }
    seen.iter()
        .map(|c| format!("'{c}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn check_local(local: &str) -> Result<(), String> {
    // RFC 5322 atext, plus the internationalized (non-ASCII) letters SMTPUTF8 allows.
    let allowed = |c: char| {
        c.is_ascii_alphanumeric()
            || "!#$%&'*+-/=?^_`{|}~.".contains(c)
            || (!c.is_ascii() && !c.is_control() && !c.is_whitespace())
    };
    if local.chars().any(|c| !allowed(c)) {
        return Err(format!(
            "The email address contains invalid characters before the @-sign: {}.",
            invalid_chars(local.chars().filter(|&c| !allowed(c)))
        ));
    }
    if local.starts_with('.') {
        return Err("An email address cannot start with a period.".into());
    }
    if local.ends_with('.') {
        return Err("An email address cannot have a period immediately before the @-sign.".into());
    }
    if local.contains("..") {
        return Err("An email address cannot have two periods in a row.".into());
    }
    Ok(())
}

fn check_domain(domain: &str) -> Result<(), String> {
    let allowed = |c: char| {
        c.is_ascii_alphanumeric() || c == '-' || c == '.' || (!c.is_ascii() && c.is_alphanumeric())
    };
    if domain.chars().any(|c| !allowed(c)) {
        return Err(format!(
            "The part after the @-sign contains invalid characters: {}.",
            invalid_chars(domain.chars().filter(|&c| !allowed(c)))
        ));
    }
    if domain.starts_with('.') {
        return Err("An email address cannot have a period immediately after the @-sign.".into());
    }
    if domain.ends_with('.') {
        return Err("An email address cannot end with a period.".into());
    }
    if domain.contains("..") {
        return Err("An email address cannot have two periods in a row.".into());
    }
    for label in domain.split('.') {
        if label.starts_with('-') || label.ends_with('-') {
            return Err("The part after the @-sign is not valid: a label cannot start or end with a hyphen.".into());
        }
        if label.chars().count() > 63 {
            return Err(
                "The part after the @-sign is not valid: a label is longer than 63 characters."
                    .into(),
            );
        }
    }
    let Some((_, tld)) = domain.rsplit_once('.') else {
        return Err("The part after the @-sign is not valid. It should have a period.".into());
    };
    let lower = domain.to_lowercase();
    if SPECIAL_USE_DOMAINS
        .iter()
        .any(|s| lower == *s || lower.ends_with(&format!(".{s}")))
    {
        return Err("The part after the @-sign is a special-use or reserved name that cannot be used with email.".into());
    }
    if tld.chars().all(|c| c.is_ascii_digit()) {
        return Err(
            "The part after the @-sign is not valid. It is not within a valid top-level domain."
                .into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn accepts_ordinary_and_international_addresses() {
        for ok in [
            "a@example.com",
            "deadpool@example.com",
            "first.last+tag@sub.example.co.jp",
            "ユーザー@例え.jp",
            "A@Example.COM",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_with_email_validator_wording() {
        let cases = [
            ("plainaddress", "An email address must have an @-sign."),
            ("@example.com", "There must be something before the @-sign."),
            ("a@", "There must be something after the @-sign."),
            (
                "a b@example.com",
                "The email address contains invalid characters before the @-sign: ' '.",
            ),
            (
                ".a@example.com",
                "An email address cannot start with a period.",
            ),
            (
                "a.@example.com",
                "An email address cannot have a period immediately before the @-sign.",
            ),
            (
                "a..b@example.com",
                "An email address cannot have two periods in a row.",
            ),
            (
                "a@localhost",
                "The part after the @-sign is not valid. It should have a period.",
            ),
            (
                "a@host.test",
                "The part after the @-sign is a special-use or reserved name that cannot be used with email.",
            ),
            (
                "a@exa mple.com",
                "The part after the @-sign contains invalid characters: ' '.",
            ),
            (
                "a@1.2.3.4",
                "The part after the @-sign is not valid. It is not within a valid top-level domain.",
            ),
        ];
        for (address, reason) in cases {
            assert_eq!(check(address), Err(reason.to_owned()), "{address}");
        }
        let long = format!("{}@example.com", "a".repeat(65));
        assert_eq!(
            check(&long),
            Err("The email address is too long before the @-sign (1 characters too many).".into())
        );
    }
}
