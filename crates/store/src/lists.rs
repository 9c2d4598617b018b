//! Short lists (group names, number patterns, CIDRs) stored as one TEXT column each,
//! newline-separated; the empty list is the empty text.

use crate::StoreError;

/// Joins `items` with `\n` for storage.
///
/// # Errors
/// [`StoreError::InvalidInput`] naming `field` when an item is empty or contains a line
/// break (either would not read back as the same list).
pub(crate) fn encode(field: &'static str, items: &[String]) -> Result<String, StoreError> {
    let mut text = String::with_capacity(items.iter().map(|i| i.len() + 1).sum());
    for (i, item) in items.iter().enumerate() {
        if item.is_empty() {
            return Err(StoreError::InvalidInput {
                field,
                reason: "list items must not be empty",
            });
        }
        if item.contains(['\n', '\r']) {
            return Err(StoreError::InvalidInput {
                field,
                reason: "list items must not contain line breaks",
            });
        }
        if i > 0 {
            text.push('\n');
        }
        text.push_str(item);
    }
    Ok(text)
}

/// Splits a stored list.
pub(crate) fn decode(text: &str) -> Vec<String> {
    if text.is_empty() {
        Vec::new()
    } else {
        text.split('\n').map(str::to_owned).collect()
    }
}

/// A LIKE pattern (ESCAPE '\') matching `'\n' || column || '\n'` when `item` is one of
/// the column's items.
pub(crate) fn member_pattern(item: &str) -> String {
    let mut pattern = String::with_capacity(item.len() + 4);
    pattern.push_str("%\n");
    for c in item.chars() {
        if matches!(c, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push_str("\n%");
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn round_trips() {
        for items in [list(&[]), list(&["a"]), list(&["_00.", "911", "+1 5"])] {
            let text = encode("call_allow", &items).expect("valid");
            assert_eq!(decode(&text), items);
        }
        assert_eq!(encode("x", &list(&["a", "b"])).expect("valid"), "a\nb");
    }

    #[test]
    fn refuses_items_that_would_not_read_back() {
        for bad in [
            list(&[""]),
            list(&["a", ""]),
            list(&["a\nb"]),
            list(&["a\r"]),
        ] {
            assert!(matches!(
                encode("groups", &bad),
                Err(StoreError::InvalidInput {
                    field: "groups",
                    ..
                })
            ));
        }
    }

    #[test]
    fn member_pattern_escapes_wildcards() {
        assert_eq!(member_pattern("sales"), "%\nsales\n%");
        assert_eq!(member_pattern("a_b%c\\"), "%\na\\_b\\%c\\\\\n%");
    }
}
