//! Escaping for XHTML narrative and the printable page, and reading text back out of narrative.

/// Escapes text for HTML / XHTML content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// The text of a fragment of narrative: tags dropped, the five entities decoded (the result is
/// raw text again, to be escaped by whoever renders it).
pub(crate) fn text_of(fragment: &str) -> String {
    let mut plain = String::with_capacity(fragment.len());
    let mut in_tag = false;
    for c in fragment.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => plain.push(c),
            _ => {}
        }
    }
    plain
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// The `<li>` items of a narrative list: (class attribute, text).
pub(crate) fn list_items(div: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = div;
    while let Some(start) = rest.find("<li") {
        let after = &rest[start + 3..];
        let Some(open_end) = after.find('>') else {
            break;
        };
        let open = &after[..open_end];
        let body = &after[open_end + 1..];
        let end = body.find("</li>").unwrap_or(body.len());
        let class = open
            .split_once("class=\"")
            .and_then(|(_, v)| v.split_once('"'))
            .map(|(v, _)| v.to_owned())
            .unwrap_or_default();
        out.push((class, text_of(&body[..end])));
        rest = &body[end..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_reads_back() {
        let nasty = "<script>alert('x')</script> & \"q\"";
        let escaped = escape(nasty);
        assert!(!escaped.contains('<') && !escaped.contains('"'));
        assert_eq!(text_of(&escaped), nasty);
        let div =
            format!("<div><ul><li class=\"stale\">{escaped}</li><li>b<b>old</b></li></ul></div>");
        let items = list_items(&div);
        assert_eq!(items[0], ("stale".to_owned(), nasty.to_owned()));
        assert_eq!(items[1], (String::new(), "bold".to_owned()));
        assert!(list_items("<li class=\"x\"").is_empty());
    }
}
