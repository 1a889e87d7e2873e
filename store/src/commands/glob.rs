//! `KEYS` patterns, matched as Redis's `stringmatchlen` (util.c) matches
//! them: `*` any run of bytes, `?` one byte, `[abc]` one of a set, `[^abc]`
//! one byte not in it, `[a-z]` a range (either way round), and `\x` the byte
//! `x` itself, inside or outside a set. `!` is not a negation (only `^` is),
//! and an unclosed `[` runs to the end of the pattern, as in Redis.

/// Whether `text` matches `pattern`.
pub(super) fn matches(pattern: &[u8], text: &[u8]) -> bool {
    let mut give_up = false;
    match_from(pattern, text, &mut give_up)
}

/// `give_up` is Redis's `skipLongerMatches`: once a `*` has tried every
/// suffix without a match, an outer `*` trying longer runs cannot match
/// either, so the search stops instead of going exponential.
fn match_from(pattern: &[u8], text: &[u8], give_up: &mut bool) -> bool {
    let (mut p, mut s) = (0, 0);
    while p < pattern.len() && s < text.len() {
        match pattern[p] {
            b'*' => {
                while pattern.get(p + 1) == Some(&b'*') {
                    p += 1;
                }
                if p + 1 == pattern.len() {
                    return true;
                }
                while s < text.len() {
                    if match_from(&pattern[p + 1..], &text[s..], give_up) {
                        return true;
                    }
                    if *give_up {
                        return false;
                    }
                    s += 1;
                }
                *give_up = true;
                return false;
            }
            b'?' => {}
            b'[' => {
                let (found, end) = class(pattern, p + 1, text[s]);
                if !found {
                    return false;
                }
                p = end;
            }
            b'\\' if p + 1 < pattern.len() => {
                p += 1;
                if pattern[p] != text[s] {
                    return false;
                }
            }
            literal => {
                if literal != text[s] {
                    return false;
                }
            }
        }
        p += 1;
        s += 1;
        if s == text.len() {
            while pattern.get(p) == Some(&b'*') {
                p += 1;
            }
            break;
        }
    }
    p == pattern.len() && s == text.len()
}

/// Whether `byte` is in the set starting at `pattern[p]` (just after `[`),
/// and where the set ends: its `]`, or the pattern's last byte if unclosed.
fn class(pattern: &[u8], mut p: usize, byte: u8) -> (bool, usize) {
    let negated = pattern.get(p) == Some(&b'^');
    if negated {
        p += 1;
    }
    let mut found = false;
    loop {
        match pattern.get(p..).unwrap_or_default() {
            [b'\\', escaped, ..] => {
                p += 1;
                found |= *escaped == byte;
            }
            [b']', ..] => break,
            [] => {
                p -= 1;
                break;
            }
            [from, b'-', to, ..] => {
                let (low, high) = if from <= to { (from, to) } else { (to, from) };
                found |= (*low..=*high).contains(&byte);
                p += 2;
            }
            [literal, ..] => found |= *literal == byte,
        }
        p += 1;
    }
    (found != negated, p)
}

#[cfg(test)]
mod tests {
    use super::matches;

    fn yes(pattern: &str, text: &str) {
        assert!(
            matches(pattern.as_bytes(), text.as_bytes()),
            "{pattern:?} should match {text:?}"
        );
    }

    fn no(pattern: &str, text: &str) {
        assert!(
            !matches(pattern.as_bytes(), text.as_bytes()),
            "{pattern:?} should not match {text:?}"
        );
    }

    #[test]
    fn literals_and_wildcards() {
        yes("abc", "abc");
        no("abc", "abd");
        no("abc", "abcd");
        no("abcd", "abc");
        yes("", "");
        no("", "a");
        yes("a*", "a");
        yes("a*", "abc");
        yes("*c", "abc");
        yes("a*c", "abbbc");
        no("a*c", "abcd");
        yes("a**c", "ac");
        yes("*:*:*", "ss:user:7");
        no("*:*:*", "ss:user");
        yes("h?llo", "hello");
        no("h?llo", "hllo");
        no("?", "");
    }

    #[test]
    fn sets_ranges_and_negation() {
        yes("h[ae]llo", "hallo");
        yes("h[ae]llo", "hello");
        no("h[ae]llo", "hillo");
        yes("h[^e]llo", "hallo");
        no("h[^e]llo", "hello");
        yes("h[a-b]llo", "hbllo");
        no("h[a-b]llo", "hcllo");
        // A reversed range still counts.
        yes("h[b-a]llo", "hallo");
        yes("[0-9x]", "x");
        yes("[0-9x]", "5");
        no("[^0-9]", "5");
        // `!` is a member, not a negation.
        yes("[!a]", "!");
        no("[!a]", "b");
        // `a-]` is a range from `]` to `a` (and leaves the set unclosed), as
        // in Redis: `-` is not in it, `_` is.
        no("x[a-]", "x-");
        yes("x[a-]", "x_");
    }

    #[test]
    fn escapes_and_unclosed_sets() {
        yes("a\\*", "a*");
        no("a\\*", "ab");
        yes("a\\?", "a?");
        no("a\\?", "ab");
        yes("\\[x]", "[x]");
        yes("[\\]]", "]");
        yes("[\\-a]", "-");
        no("[\\-a]", "b");
        // A trailing backslash is itself.
        yes("a\\", "a\\");
        // An unclosed set runs to the end of the pattern.
        yes("a[bc", "ab");
        yes("a[bc", "ac");
        no("a[bc", "ad");
        no("a[", "ab");
    }

    #[test]
    fn many_stars_do_not_take_exponential_time() {
        let text = "a".repeat(60);
        no(&format!("{}b", "a*".repeat(30)), &text);
    }
}
