//! Just enough `multipart/form-data` (RFC 7578) to read what teloxide sends with uploads
//! (sendPhoto, sendVideo): text fields as values, files as their name and size.

use serde_json::{Map, Value, json};

/// Fields that stay strings even when they look like JSON or a number.
const TEXT_FIELDS: &[&str] =
    &["text", "caption", "parse_mode", "business_connection_id", "message_effect_id", "photo", "video", "thumbnail"];

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|window| window == needle)
}

/// A `key=value` (or `key="value"`) parameter of a header value such as
/// `form-data; name="chat_id"`.
fn header_param<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    header.split(';').skip(1).find_map(|param| {
        let (name, value) = param.trim().split_once('=')?;
        name.trim().eq_ignore_ascii_case(key).then(|| value.trim().trim_matches('"'))
    })
}

/// A text field's value: JSON when it parses as a number, boolean, object or array (teloxide
/// sends `chat_id` as digits and `reply_markup` as JSON text), otherwise the string.
fn field_value(name: &str, text: &str) -> Value {
    let parsed = (!TEXT_FIELDS.contains(&name)).then(|| serde_json::from_str::<Value>(text).ok()).flatten();
    parsed.filter(|value| !value.is_string() && !value.is_null()).unwrap_or_else(|| json!(text))
}

/// The form's fields as a JSON object; `None` when the body is not valid multipart.
pub(super) fn parse(content_type: &str, body: &[u8]) -> Option<Map<String, Value>> {
    let boundary = header_param(content_type, "boundary").filter(|b| !b.is_empty())?;
    let delimiter = format!("--{boundary}").into_bytes();
    let separator = [b"\r\n".as_slice(), &delimiter].concat();
    let mut rest = body.get(find(body, &delimiter)? + delimiter.len()..)?;
    let mut fields = Map::new();
    loop {
        if rest.starts_with(b"--") {
            return Some(fields);
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let end = find(rest, &separator)?;
        let part = rest.get(..end)?;
        rest = rest.get(end + separator.len()..)?;
        let header_end = find(part, b"\r\n\r\n")?;
        let headers = std::str::from_utf8(part.get(..header_end)?).ok()?;
        let content = part.get(header_end + 4..)?;
        let disposition = headers.split("\r\n").find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim().eq_ignore_ascii_case("content-disposition").then_some(value)
        })?;
        let name = header_param(disposition, "name")?.to_owned();
        let value = match header_param(disposition, "filename") {
            // A small JSON or text file (a settings export) keeps its text, for the tests to read.
            Some(file_name) => match std::str::from_utf8(content) {
                Ok(text)
                    if content.len() <= 64 * 1024 && (file_name.ends_with(".json") || file_name.ends_with(".txt")) =>
                {
                    json!({ "file_name": file_name, "size": content.len(), "text": text })
                }
                _ => json!({ "file_name": file_name, "size": content.len() }),
            },
            None => field_value(&name, &String::from_utf8_lossy(content)),
        };
        fields.insert(name, value);
    }
}
