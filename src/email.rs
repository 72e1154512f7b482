//! Email syntax, checked the way pydantic's `EmailStr` (python-email-validator 2, no
//! deliverability check) checks it, with its messages. The address itself is stored
//! verbatim: the FastAPI app kept whatever the client sent.
//!
//! The checks follow python-email-validator's order: the split at the first unquoted `@`
//! (or `<`), the local part, the domain, the length. Characters that are unsafe to show,
//! invisible or direction-changing ones included (format, control, separator, private use
//! and unassigned code points, and a combining mark in first position), are refused in
//! both parts by their Unicode general category, named as Python's `unicodedata` names
//! them. Internationalized domains are checked as far as that is possible without IDNA's
//! tables: letters, digits and marks pass, other symbols are refused with IDNA's message.
//! `tests/fixtures/email_cases.json` holds python-email-validator's own verdicts, which a
//! test compares with these.

use unicode_general_category::{GeneralCategory, get_general_category};

const SPECIAL_USE_DOMAINS: &[&str] = &["arpa", "invalid", "local", "localhost", "onion", "test"];
const MAX_ADDRESS: usize = 254;
const MAX_LOCAL: usize = 64;
const MAX_DOMAIN: usize = 255;
const MAX_LABEL: usize = 63;
/// RFC 5322 `atext`, without the dot.
const ATEXT: &str = "!#$%&'*+-/=?^_`{|}~";

/// `Err(reason)` in python-email-validator's words.
pub fn check(address: &str) -> Result<(), String> {
    let (local, domain) = split(address)?;
    if local.is_empty() {
        return Err("There must be something before the @-sign.".into());
    }
    if local.len() >= 2 && local.starts_with('"') && local.ends_with('"') {
        return Err("Quoting the part before the @-sign is not allowed here.".into());
    }
    if domain.is_empty() {
        return Err("There must be something after the @-sign.".into());
    }
    // A deliberate limit (RFC 5321's), which python-email-validator applies only in its
    // strict mode.
    let local_length = local.chars().count();
    if local_length > MAX_LOCAL {
        return Err(format!(
            "The email address is too long before the @-sign {}.",
            too_many(local_length - MAX_LOCAL)
        ));
    }
    check_local(local)?;
    if domain.starts_with('[') && domain.ends_with(']') {
        return Err("A bracketed IP address after the @-sign is not allowed here.".into());
    }
    check_domain(domain)?;
    let length = address.chars().count();
    if length > MAX_ADDRESS {
        return Err(format!(
            "The email address is too long {}.",
            too_many(length - MAX_ADDRESS)
        ));
    }
    Ok(())
}

/// `(1 character too many)`, `(2 characters too many)`.
fn too_many(n: usize) -> String {
    let s = if n == 1 { "" } else { "s" };
    format!("({n} character{s} too many)")
}

/// Splits at the first `@` (or `<`) outside quotes. A `<` followed by U+0338 is not one:
/// Unicode composes the two into `≮`.
fn split(address: &str) -> Result<(&str, &str), String> {
    let chars: Vec<(usize, char)> = address.char_indices().collect();
    let (mut quoted, mut escaped) = (false, false);
    for (n, &(at, c)) in chars.iter().enumerate() {
        let composed = c == '<' && chars.get(n + 1).is_some_and(|&(_, next)| next == '\u{338}');
        if composed {
            continue;
        }
        if quoted {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => quoted = false,
                _ => escaped = false,
            }
        } else if c == '"' {
            quoted = true;
        } else if c == '<' {
            return Err(if address.trim_end().ends_with('>') {
                "A display name and angle brackets around the email address are not permitted here."
            } else {
                "An open angle bracket at the start of the email address has to be followed by a close angle bracket at the end."
            }
            .into());
        } else if c == '@' {
            return Ok((&address[..at], &address[at + 1..]));
        }
    }
    Err(if address.contains('＠') {
        "The email address has the \"full-width\" at-sign (@) character instead of a regular at-sign."
    } else if address.contains('﹫') {
        "The email address has the \"small commercial at\" character instead of a regular at-sign."
    } else {
        "An email address must have an @-sign."
    }
    .into())
}

fn is_mark(c: char) -> bool {
    matches!(
        get_general_category(c),
        GeneralCategory::NonspacingMark
            | GeneralCategory::SpacingMark
            | GeneralCategory::EnclosingMark
    )
}

/// A character as python-email-validator shows it in a message: in quotes when it is a
/// letter, number, punctuation or symbol; otherwise by its Unicode name (or `U+XXXX`).
fn display(c: char) -> String {
    if c == '\\' {
        return "\"\\\"".into();
    }
    if is_visible(c) {
        // Python's repr of a one-character string.
        return if c == '\'' {
            "\"'\"".into()
        } else {
            format!("'{c}'")
        };
    }
    match unicode_names2::name(c) {
        Some(name) => name.to_string(),
        None if u32::from(c) < 0xFFFF => format!("U+{:04X}", u32::from(c)),
        None => format!("U+{:08X}", u32::from(c)),
    }
}

/// Letters, numbers, punctuation and symbols (general categories L, N, P, S).
fn is_visible(c: char) -> bool {
    use GeneralCategory::*;
    matches!(
        get_general_category(c),
        UppercaseLetter
            | LowercaseLetter
            | TitlecaseLetter
            | ModifierLetter
            | OtherLetter
            | DecimalNumber
            | LetterNumber
            | OtherNumber
            | ConnectorPunctuation
            | DashPunctuation
            | OpenPunctuation
            | ClosePunctuation
            | InitialPunctuation
            | FinalPunctuation
            | OtherPunctuation
            | MathSymbol
            | CurrencySymbol
            | ModifierSymbol
            | OtherSymbol
    )
}

/// The characters of `chars` that fail `allowed`, each shown once, sorted as Python sorts
/// their displayed forms.
fn listing(chars: impl Iterator<Item = char>) -> String {
    let mut shown: Vec<String> = chars.map(display).collect();
    shown.sort();
    shown.dedup();
    shown.join(", ")
}

/// python-email-validator's `check_unsafe_chars`: refuses, by general category, what is
/// invisible, changes the direction of text, breaks lines, or combines with what precedes
/// the address.
fn check_unsafe(text: &str) -> Result<(), String> {
    let mut unsafe_chars: Vec<char> = text
        .chars()
        .enumerate()
        .filter(|&(n, c)| !is_visible(c) && (!is_mark(c) || n == 0))
        .map(|(_, c)| c)
        .collect();
    if unsafe_chars.is_empty() {
        return Ok(());
    }
    unsafe_chars.sort_unstable();
    unsafe_chars.dedup();
    let shown: Vec<String> = unsafe_chars.into_iter().map(display).collect();
    Err(format!(
        "The email address contains unsafe characters: {}.",
        shown.join(", ")
    ))
}

fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || ATEXT.contains(c)
}

fn check_dot_atom(text: &str, starts: &str, ends: &str, hostname: bool) -> Result<(), String> {
    if text.ends_with('.') {
        return Err(ends.replace("{}", "period"));
    }
    if text.starts_with('.') {
        return Err(starts.replace("{}", "period"));
    }
    if text.contains("..") {
        return Err("An email address cannot have two periods in a row.".into());
    }
    if hostname {
        if text.ends_with('-') {
            return Err(ends.replace("{}", "hyphen"));
        }
        if text.starts_with('-') {
            return Err(starts.replace("{}", "hyphen"));
        }
        if text.contains(".-") || text.contains("-.") {
            return Err(
                "An email address cannot have a period and a hyphen next to each other.".into(),
            );
        }
    }
    Ok(())
}

fn is_dot_atom(text: &str, char_ok: impl Fn(char) -> bool) -> bool {
    !text.is_empty()
        && text
            .split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(&char_ok))
}

fn check_local(local: &str) -> Result<(), String> {
    if is_dot_atom(local, is_atext) {
        return Ok(());
    }
    // Internationalized: the same pattern with every non-ASCII character allowed, then the
    // unsafe ones refused.
    let intl = |c: char| is_atext(c) || !c.is_ascii();
    if is_dot_atom(local, intl) {
        return check_unsafe(local);
    }
    if local.chars().any(|c| !intl(c) && c != '.') {
        return Err(format!(
            "The email address contains invalid characters before the @-sign: {}.",
            listing(local.chars().filter(|&c| !intl(c) && c != '.'))
        ));
    }
    check_dot_atom(
        local,
        "An email address cannot start with a {}.",
        "An email address cannot have a {} immediately before the @-sign.",
        false,
    )?;
    Err("The email address contains invalid characters before the @-sign.".into())
}

fn check_domain(domain: &str) -> Result<(), String> {
    let length = domain.chars().count();
    if length > MAX_DOMAIN {
        return Err(format!(
            "The email address is too long after the @-sign {}.",
            too_many(length - MAX_DOMAIN)
        ));
    }
    let hostname_char =
        |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.' || !c.is_ascii();
    if domain.chars().any(|c| !hostname_char(c)) {
        return Err(format!(
            "The part after the @-sign contains invalid characters: {}.",
            listing(domain.chars().filter(|&c| !hostname_char(c)))
        ));
    }
    check_unsafe(domain)?;
    // UTS-46 maps case; the checks below see the lowercase form.
    let domain = domain.to_lowercase();
    check_dot_atom(
        &domain,
        "An email address cannot have a {} immediately after the @-sign.",
        "An email address cannot end with a {}.",
        true,
    )?;
    for label in domain.split('.') {
        let bytes = label.as_bytes();
        if bytes.len() >= 4 && &bytes[2..4] == b"--" && !label.starts_with("xn") {
            return Err("An email address cannot have two letters followed by two dashes immediately after the @-sign or after a period, except Punycode.".into());
        }
        check_idna_label(label)?;
        if label.is_ascii() && label.len() > MAX_LABEL {
            return Err(format!(
                "After the @-sign, periods cannot be separated by so many characters {}.",
                too_many(label.len() - MAX_LABEL)
            ));
        }
    }
    if !domain.contains('.') {
        return Err("The part after the @-sign is not valid. It should have a period.".into());
    }
    if !domain
        .chars()
        .last()
        .is_some_and(|c| c.is_ascii_alphabetic() || !c.is_ascii())
    {
        return Err(
            "The part after the @-sign is not valid. It is not within a valid top-level domain."
                .into(),
        );
    }
    if SPECIAL_USE_DOMAINS
        .iter()
        .any(|s| domain == *s || domain.ends_with(&format!(".{s}")))
    {
        return Err("The part after the @-sign is a special-use or reserved name that cannot be used with email.".into());
    }
    Ok(())
}

/// What IDNA 2008 would say of a label with non-ASCII characters, approximately: letters,
/// decimal digits and (not leading) non-enclosing combining marks are valid; other symbols
/// and numbers (`¼`, `★`, `€`) are not.
fn check_idna_label(label: &str) -> Result<(), String> {
    use GeneralCategory::*;
    if label.is_ascii() {
        return Ok(());
    }
    for (n, c) in label.chars().enumerate() {
        let valid = c.is_ascii_alphanumeric()
            || c == '-'
            || match get_general_category(c) {
                UppercaseLetter | LowercaseLetter | TitlecaseLetter | ModifierLetter
                | OtherLetter | DecimalNumber => true,
                NonspacingMark | SpacingMark => n > 0,
                _ => false,
            };
        if !valid {
            return Err(format!(
                "The part after the @-sign is invalid (Codepoint U+{:04X} at position {} of '{label}' not allowed).",
                u32::from(c),
                n + 1
            ));
        }
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
    fn rejects_invisible_and_direction_changing_characters_by_name() {
        let cases = [
            ("a\u{200B}@example.com", "ZERO WIDTH SPACE"),
            ("a@exa\u{200B}mple.com", "ZERO WIDTH SPACE"),
            ("a\u{202E}@example.com", "RIGHT-TO-LEFT OVERRIDE"),
            ("a\u{FEFF}@example.com", "ZERO WIDTH NO-BREAK SPACE"),
            ("a\u{AD}@example.com", "SOFT HYPHEN"),
            ("\u{301}a@example.com", "COMBINING ACUTE ACCENT"),
            ("a@\u{301}example.com", "COMBINING ACUTE ACCENT"),
            ("a\u{3000}@example.com", "IDEOGRAPHIC SPACE"),
            ("a@e\u{378}.com", "U+0378"),
        ];
        for (address, name) in cases {
            assert_eq!(
                check(address),
                Err(format!(
                    "The email address contains unsafe characters: {name}."
                )),
                "{address:?}"
            );
        }
        assert_eq!(
            check("ab\u{301}@example.com"),
            Ok(()),
            "a mark after a letter"
        );
    }

    /// python-email-validator's own verdicts (tests/fixtures/email_cases.py): the same
    /// accept or refuse for every address, and the same words, except where IDNA's tables
    /// would be needed to say exactly why a symbol is not allowed in a domain.
    #[test]
    fn agrees_with_python_email_validator() {
        let fixture: serde_json::Value =
            serde_json::from_str(include_str!("../tests/fixtures/email_cases.json")).unwrap();
        let mut disagreements = Vec::new();
        for case in fixture["cases"].as_array().unwrap() {
            let input = case["input"].as_str().unwrap();
            let expected = case["error"].as_str();
            let ours = check(input).err();
            let same = match (expected, ours.as_deref()) {
                (None, None) => true,
                (Some(theirs), Some(ours)) => {
                    theirs == ours
                        || (theirs.starts_with("The part after the @-sign is invalid (")
                            && ours.starts_with("The part after the @-sign "))
                }
                _ => false,
            };
            if !same {
                disagreements.push(format!("{input:?}: theirs {expected:?}, ours {ours:?}"));
            }
        }
        assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
    }

    #[test]
    fn rejects_with_email_validator_wording() {
        let cases = [
            ("plainaddress", "An email address must have an @-sign."),
            ("@example.com", "There must be something before the @-sign."),
            ("a@", "There must be something after the @-sign."),
            (
                "a b@example.com",
                "The email address contains invalid characters before the @-sign: SPACE.",
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
                "The part after the @-sign contains invalid characters: SPACE.",
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
            Err("The email address is too long before the @-sign (1 character too many).".into())
        );
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_an_answer_and_accepted_ones_have_one_at_sign_outside_quotes(text in "\\PC{0,40}") {
            if check(&text).is_ok() {
                proptest::prop_assert!(text.contains('@'));
                proptest::prop_assert!(!text.contains(char::is_whitespace));
            }
        }

        #[test]
        fn an_unsafe_character_anywhere_is_refused_by_name(
            local in "[a-z]{1,8}",
            domain in "[a-z]{1,8}",
            unsafe_char in proptest::sample::select(vec!['\u{200B}', '\u{202E}', '\u{FEFF}', '\u{AD}', '\u{2028}', '\u{3000}', '\u{E000}']),
            in_domain: bool,
        ) {
            let address = if in_domain {
                format!("{local}@{domain}{unsafe_char}.com")
            } else {
                format!("{local}{unsafe_char}@{domain}.com")
            };
            let refused = check(&address).unwrap_err();
            proptest::prop_assert!(refused.starts_with("The email address contains unsafe characters: "), "{refused}");
        }
    }
}
