//! Decoding input messages into articles.
//!
//! A message is a JSON object `{"id", "url"?, "source"?, "language"?, "published_at"?,
//! "title"?, "text"}` (simd-json, borrowing strings from the message buffer, which it rewrites in
//! place), or, when it does not start with `{`, plain article text whose id and date the caller
//! supplies (from a Kafka key and timestamp, or a file name). A leading UTF-8 byte-order mark is
//! not part of the message.
//!
//! Every way a message can be unusable has an [`ErrorClass`]: it is a counted, dead-lettered
//! error with a message that says what is wrong and where (field, byte), never a panic, and
//! never echoes control characters (they are escaped: the message goes to terminals and Kafka
//! headers). Unknown JSON fields are ignored, so producers can add fields without breaking
//! lexwire; numbers too large for a 64-bit integer are read as floats, so a big number in a
//! field lexwire ignores never rejects an article.
//!
//! `published_at` is strict RFC 3339 ([`parse_published_at`]): a value that is not is an error,
//! not an article without a date.

use std::borrow::Cow;
use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::Deserialize;

/// The default largest message lexwire accepts: 4 MiB.
pub const DEFAULT_MAX_BYTES: usize = 4 * 1024 * 1024;

/// An article, borrowing from the message it was decoded from where it can.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Article<'a> {
    pub id: Cow<'a, str>,
    pub url: Option<Cow<'a, str>>,
    pub source: Option<Cow<'a, str>>,
    /// The language the producer claims, as given (`"en"`, `"fr"`, `"ar"`...).
    pub language: Option<Cow<'a, str>>,
    /// The publication time as given, checked by [`parse_published_at`] (RFC 3339 date-time
    /// or full-date, years 0001-9999); extraction parses it again.
    pub published_at: Option<Cow<'a, str>>,
    pub title: Option<Cow<'a, str>>,
    pub text: Cow<'a, str>,
}

impl Article<'_> {
    /// The article with its fields copied out of the message buffer, to outlive it.
    pub fn into_owned(self) -> Article<'static> {
        let own = |c: Cow<'_, str>| Cow::Owned(c.into_owned());
        Article {
            id: own(self.id),
            url: self.url.map(own),
            source: self.source.map(own),
            language: self.language.map(own),
            published_at: self.published_at.map(own),
            title: self.title.map(own),
            text: own(self.text),
        }
    }
}

/// What kind of bad input a message is. The names are stable: they are metric label values and
/// dead-letter header values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorClass {
    /// Not valid UTF-8.
    InvalidUtf8,
    /// Starts like JSON but does not parse.
    InvalidJson,
    /// Valid JSON, but not an article: not an object, no `id`, a field of the wrong type.
    InvalidArticle,
    /// No text, or only whitespace.
    NoText,
    /// Larger than the configured limit.
    Oversize,
    /// `published_at` (or, for an article without one, the message timestamp) is not an RFC 3339
    /// date-time or date with a year from 0001 to 9999.
    InvalidPublishedAt,
}

impl ErrorClass {
    pub const ALL: [ErrorClass; 6] = [
        ErrorClass::InvalidUtf8,
        ErrorClass::InvalidJson,
        ErrorClass::InvalidArticle,
        ErrorClass::NoText,
        ErrorClass::Oversize,
        ErrorClass::InvalidPublishedAt,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::InvalidUtf8 => "invalid_utf8",
            ErrorClass::InvalidJson => "invalid_json",
            ErrorClass::InvalidArticle => "invalid_article",
            ErrorClass::NoText => "no_text",
            ErrorClass::Oversize => "oversize",
            ErrorClass::InvalidPublishedAt => "invalid_published_at",
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a message is not an article.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{class}: {message}")]
pub struct DecodeError {
    pub class: ErrorClass,
    pub message: String,
}

impl DecodeError {
    fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        DecodeError { class, message: message.into() }
    }
}

/// What the caller knows about a message besides its bytes, for plain-text messages.
#[derive(Debug, Clone, Default)]
pub struct Envelope<'a> {
    /// The id of a plain-text article (Kafka key, file name).
    pub id: Option<&'a str>,
    /// The publication time of a plain-text article, and of a JSON article without
    /// `published_at` (Kafka timestamp, RFC 3339).
    pub published_at: Option<String>,
}

/// The UTF-8 byte-order mark some editors and exporters put at the start of a file.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// `bytes` without a leading UTF-8 byte-order mark.
pub fn strip_bom(bytes: &mut [u8]) -> &mut [u8] {
    if bytes.starts_with(BOM) { &mut bytes[BOM.len()..] } else { bytes }
}

#[derive(Deserialize)]
struct RawArticle<'a> {
    #[serde(borrow, deserialize_with = "borrowed")]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    url: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    source: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    language: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    published_at: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    title: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    text: Option<Cow<'a, str>>,
}

/// An optional string borrowed from the message where the parser can (simd-json unescapes in
/// place, so always). `#[serde(borrow)]` alone does not reach through the `Option`: serde's own
/// `Option<Cow<str>>` copies every string (a text's allocation and copy for every article).
fn borrowed<'de: 'a, 'a, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Cow<'a, str>>, D::Error> {
    #[derive(Deserialize)]
    struct Borrowed<'a>(#[serde(borrow)] Cow<'a, str>);
    Ok(Option::<Borrowed<'a>>::deserialize(d)?.map(|b| b.0))
}

/// Decodes one message. JSON when its first non-blank byte is `{`; plain text otherwise,
/// with the id and date of `envelope`. The buffer is rewritten by the JSON parser.
///
/// # Errors
/// A [`DecodeError`] whose class says what is wrong: over `max_bytes`, not UTF-8, broken JSON,
/// not an article, no text.
///
/// # Examples
/// ```
/// use lexwire::article::{decode, Envelope, ErrorClass};
/// let mut msg = br#"{"id": "a1", "text": "Clashes near Hajin."}"#.to_vec();
/// let article = decode(&mut msg, &Envelope::default(), 4096).unwrap();
/// assert_eq!(article.id, "a1");
/// let mut bad = b"{\"id\": \"a1\", \"text\": ".to_vec();
/// assert_eq!(decode(&mut bad, &Envelope::default(), 4096).unwrap_err().class, ErrorClass::InvalidJson);
/// ```
pub fn decode<'a>(value: &'a mut [u8], envelope: &Envelope<'_>, max_bytes: usize) -> Result<Article<'a>, DecodeError> {
    if value.len() > max_bytes {
        return Err(DecodeError::new(
            ErrorClass::Oversize,
            format!("message of {} bytes is over the {max_bytes}-byte limit", value.len()),
        ));
    }
    let value = strip_bom(value);
    if let Err(e) = std::str::from_utf8(value) {
        return Err(DecodeError::new(ErrorClass::InvalidUtf8, format!("invalid UTF-8 at byte {}", e.valid_up_to())));
    }
    let from_envelope = || -> Result<Option<Cow<'a, str>>, DecodeError> {
        match &envelope.published_at {
            Some(t) => match parse_published_at(t) {
                Ok(_) => Ok(Some(Cow::Owned(t.clone()))),
                Err(e) => Err(DecodeError::new(ErrorClass::InvalidPublishedAt, format!("message timestamp {e}"))),
            },
            None => Ok(None),
        }
    };
    let first = value.iter().position(|b| !b.is_ascii_whitespace()).map(|i| value[i]);
    if first == Some(b'{') {
        let mut article = decode_json(value)?;
        if article.published_at.is_none() {
            article.published_at = from_envelope()?;
        }
        return Ok(article);
    }
    let text = std::str::from_utf8(value).expect("checked above");
    if text.trim().is_empty() {
        return Err(DecodeError::new(ErrorClass::NoText, "empty message"));
    }
    let id = envelope
        .id
        .filter(|id| !id.is_empty())
        .ok_or_else(|| DecodeError::new(ErrorClass::InvalidArticle, "plain-text message without an id (no key)"))?;
    Ok(Article {
        id: Cow::Owned(id.to_string()),
        url: None,
        source: None,
        language: None,
        published_at: from_envelope()?,
        title: None,
        text: Cow::Borrowed(text),
    })
}

/// Decodes a JSON object message.
///
/// # Errors
/// See [`decode`].
pub fn decode_json(value: &mut [u8]) -> Result<Article<'_>, DecodeError> {
    decode_json_with(value, &mut simd_json::Buffers::new(value.len()))
}

/// As [`decode_json`], with the parser's working buffers reused from one message to the next
/// (they grow to the largest message seen).
///
/// # Errors
/// See [`decode`].
pub fn decode_json_with<'a>(value: &'a mut [u8], buffers: &mut simd_json::Buffers) -> Result<Article<'a>, DecodeError> {
    let value = strip_bom(value);
    // Parsing builds the whole tape first, so every syntax error surfaces here, and only
    // errors about the article's shape surface in `deserialize`.
    let mut parsed = simd_json::Deserializer::from_slice_with_buffers(value, buffers).map_err(|e| json_error(&e))?;
    // The path names the field of a wrong type; simd-json's own error has no position for it.
    // Tracking it costs on every field: it is found on a second reading of the tape, on error.
    let raw = match RawArticle::deserialize(&mut parsed) {
        Ok(raw) => Ok(raw),
        Err(_) => {
            parsed.restart();
            serde_path_to_error::deserialize::<_, RawArticle<'_>>(&mut parsed)
        }
    };
    let raw: RawArticle<'_> = raw.map_err(|e| {
        // Map keys show quoted in the path's own display.
        let field = e.path().to_string().replace('"', "");
        let message = match e.inner().error() {
            simd_json::ErrorType::ExpectedString => "must be a string or null".to_string(),
            simd_json::ErrorType::ExpectedMap => "the message must be a JSON object".to_string(),
            other => describe_error_type(other),
        };
        if field.is_empty() || field == "." {
            DecodeError::new(ErrorClass::InvalidArticle, message)
        } else {
            // The path holds only RawArticle's own keys: errors in other fields cannot arise.
            DecodeError::new(ErrorClass::InvalidArticle, format!("field `{field}` {message}"))
        }
    })?;
    let id = match raw.id {
        None => return Err(DecodeError::new(ErrorClass::InvalidArticle, "missing field `id`")),
        Some(id) if id.trim().is_empty() => {
            return Err(DecodeError::new(ErrorClass::InvalidArticle, "field `id` is empty"));
        }
        Some(id) => id,
    };
    let text = raw.text.filter(|t| !t.trim().is_empty()).ok_or_else(|| {
        DecodeError::new(ErrorClass::NoText, format!("article {} has no text", escape_for_message(&id)))
    })?;
    if let Some(p) = &raw.published_at {
        parse_published_at(p)
            .map_err(|e| DecodeError::new(ErrorClass::InvalidPublishedAt, format!("field `published_at` {e}")))?;
    }
    Ok(Article {
        id,
        url: raw.url,
        source: raw.source,
        language: raw.language,
        published_at: raw.published_at,
        title: raw.title,
        text,
    })
}

/// Why a publication time is not usable; displays as `"<value>" is not ...`, to follow the name
/// of where the value came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishedAtError {
    #[error("{0} is not an RFC 3339 date-time (2021-02-11T08:00:00Z) or date (2021-02-11): {1}")]
    Syntax(String, String),
    #[error("{0} is outside the years 0001 to 9999 (in UTC)")]
    Year(String),
}

/// The first and last days lexwire reads and writes: RFC 3339's four-digit years, without year
/// 0000 (which most consumers, and ISO 8601 without agreement, do not accept).
pub fn first_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(1, 1, 1).expect("a valid date")
}

/// See [`first_date`].
pub fn last_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(9999, 12, 31).expect("a valid date")
}

/// Parses a publication time strictly: an RFC 3339 date-time (`2021-02-26T08:00:00Z`,
/// `2021-02-26T08:00:00.5+03:00`; its date is taken in UTC) or an RFC 3339 full-date
/// (`2021-02-26`), whose UTC date is in the years 0001 to 9999. No surrounding blanks, no
/// other forms (`2021-2-6`, epoch seconds, `-2021-02-23`, hour 25 are errors).
///
/// # Errors
/// [`PublishedAtError`] naming the value (escaped) and what is wrong with it.
///
/// # Examples
/// ```
/// use lexwire::article::parse_published_at;
/// assert_eq!(parse_published_at("2021-02-26T01:30:00+03:00").unwrap().to_string(), "2021-02-25");
/// assert!(parse_published_at("2021-02-30").is_err());
/// assert!(parse_published_at("2021-02-23T25:00:00Z").is_err());
/// ```
pub fn parse_published_at(s: &str) -> Result<NaiveDate, PublishedAtError> {
    let shown = || escape_for_message(s);
    let b = s.as_bytes();
    // chrono's `%Y` takes a sign and any number of digits: check the shape first.
    let shape_ok = b.len() >= 10 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[7] == b'-';
    if !shape_ok {
        return Err(PublishedAtError::Syntax(shown(), "expected YYYY-MM-DD at the start".into()));
    }
    let date = if b.len() == 10 {
        if !(b[5..7].iter().all(u8::is_ascii_digit) && b[8..10].iter().all(u8::is_ascii_digit)) {
            return Err(PublishedAtError::Syntax(shown(), "expected YYYY-MM-DD".into()));
        }
        let field = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap_or(0);
        NaiveDate::from_ymd_opt(field(0..4) as i32, field(5..7), field(8..10))
            .ok_or_else(|| PublishedAtError::Syntax(shown(), "no such date".into()))?
    } else {
        chrono::DateTime::parse_from_rfc3339(s)
            .map_err(|e| PublishedAtError::Syntax(shown(), e.to_string()))?
            .with_timezone(&chrono::Utc)
            .date_naive()
    };
    if !(1..=9999).contains(&date.year()) {
        return Err(PublishedAtError::Year(shown()));
    }
    Ok(date)
}

/// A value from a message, fit to be shown in an error message, a log line or a Kafka header:
/// quoted, with quotes, backslashes, control characters and bidirectional-text controls escaped
/// (`\u{1b}`), and cut after 120 characters (`...` and the full length follow).
pub fn escape_for_message(s: &str) -> String {
    const MAX_CHARS: usize = 120;
    let mut out = String::with_capacity(s.len().min(4 * MAX_CHARS) + 2);
    out.push('"');
    for (i, c) in s.chars().enumerate() {
        if i == MAX_CHARS {
            out.push_str(&format!("\"... ({} bytes)", s.len()));
            return out;
        }
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control()
                || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') =>
            {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The message of the errors simd-json finds in its first pass, which carry no position (and
/// the buffer is out of reach once the parser has borrowed it for the article's lifetime).
pub const UNLOCATED_STRING_ERROR: &str = "a string is not closed, or holds an unescaped control character (U+0000 to U+001F must be written as \\u0000 to \\u001f)";

/// A simd-json parse error as a message: what is wrong, in words, and at which byte, with the
/// offending character escaped.
fn json_error(e: &simd_json::Error) -> DecodeError {
    use simd_json::ErrorType as T;
    if let T::InvalidUtf8 = e.error() {
        // Callers check UTF-8 first and report its byte; this is a parser's second opinion.
        return DecodeError::new(ErrorClass::InvalidUtf8, "invalid UTF-8");
    }
    let located = match e.character() {
        // Errors found while building the tape carry the byte they stopped at.
        Some(c) => {
            let what = match e.error() {
                // Raised on any character that cannot come where it is.
                T::InternalError => format!("unexpected {}", escape_for_message(&c.to_string())),
                // Raised when the structure ends before the object closes.
                T::Syntax => {
                    return DecodeError::new(
                        ErrorClass::InvalidJson,
                        "unexpected end of input: an object or array is not closed",
                    );
                }
                other => {
                    format!("{} (found {})", describe_error_type(other), escape_for_message(&c.to_string()))
                }
            };
            Some(format!("{what} at byte {}", e.index()))
        }
        // The first pass (string scanning) reports no position: say what it looks for.
        None => match e.error() {
            T::Syntax => Some(UNLOCATED_STRING_ERROR.to_string()),
            T::Eof => Some("empty JSON".to_string()),
            _ => None,
        },
    };
    DecodeError::new(ErrorClass::InvalidJson, located.unwrap_or_else(|| describe_error_type(e.error())))
}

/// Where the first string problem of a JSON text is, for [`UNLOCATED_STRING_ERROR`]: the byte
/// of the first unescaped control character inside a string, or of the quote that opens a
/// string never closed. For callers that still hold the message's bytes (the parser rewrites
/// strings with escapes only after this first pass succeeded, so the bytes are intact).
///
/// # Examples
/// ```
/// use lexwire::article::locate_string_error;
/// let (at, what) = locate_string_error(b"{\"a\": \"x\x01\"}").unwrap();
/// assert_eq!((at, what.as_str()), (8, "unescaped control character U+0001 in a string"));
/// assert_eq!(locate_string_error(br#"{"a": "x"#).unwrap().0, 6);
/// ```
pub fn locate_string_error(json: &[u8]) -> Option<(usize, String)> {
    let mut open: Option<usize> = None;
    let mut escaped = false;
    for (i, &b) in json.iter().enumerate() {
        match open {
            None if b == b'"' => open = Some(i),
            None => {}
            Some(_) if escaped => escaped = false,
            Some(_) if b == b'\\' => escaped = true,
            Some(_) if b == b'"' => open = None,
            Some(_) if b < 0x20 => {
                return Some((i, format!("unescaped control character U+{b:04X} in a string")));
            }
            Some(_) => {}
        }
    }
    open.map(|at| (at, "string not closed".to_string()))
}

/// What a simd-json error type means, in lowercase words.
fn describe_error_type(t: &simd_json::ErrorType) -> String {
    use simd_json::ErrorType as T;
    match t {
        T::InvalidNumber | T::InvalidExponent => "invalid number".into(),
        T::InvalidEscape => "invalid escape sequence in a string".into(),
        T::InvalidUnicodeEscape | T::InvalidUnicodeCodepoint => "invalid \\u escape in a string".into(),
        T::InvalidUtf8 => "invalid UTF-8".into(),
        T::ExpectedObjectKey | T::KeyMustBeAString | T::BadKeyType => "expected a string as object key".into(),
        T::ExpectedObjectColon => "expected ':' after an object key".into(),
        T::ExpectedObjectContent | T::ExpectedMapComma => "expected ',' or '}' after an object value".into(),
        T::ExpectedArrayContent | T::ExpectedArrayComma => "expected ',' or ']' after an array element".into(),
        T::ExpectedTrue => "invalid literal (expected true)".into(),
        T::ExpectedFalse => "invalid literal (expected false)".into(),
        T::ExpectedNull => "invalid literal (expected null)".into(),
        T::TrailingData => "data after the end of the JSON object".into(),
        T::UnterminatedString => "unterminated string".into(),
        T::UnexpectedCharacter | T::InternalError => "unexpected character".into(),
        T::DepthLimitExceeded => "nested too deeply (over 1024 levels)".into(),
        T::Eof => "unexpected end of input".into(),
        T::ExpectedString => "expected a string".into(),
        T::ExpectedMap => "expected a JSON object".into(),
        T::Serde(message) => message.clone(),
        T::InputTooLarge => "message too large for the JSON parser (over 4 GiB)".into(),
        _ => "malformed JSON".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class_of(bytes: &[u8]) -> ErrorClass {
        let mut v = bytes.to_vec();
        decode(&mut v, &Envelope { id: Some("k"), published_at: None }, 64).unwrap_err().class
    }

    #[test]
    fn every_bad_message_has_its_class() {
        assert_eq!(class_of(b"{\"id\": \"a\", \"text\": \"x\xff\"}"), ErrorClass::InvalidUtf8);
        assert_eq!(class_of(b"{\"id\": \"a\", \"text\": "), ErrorClass::InvalidJson);
        assert_eq!(class_of(b"{\"id\": 7, \"text\": \"hello\"}"), ErrorClass::InvalidArticle);
        assert_eq!(class_of(b"{\"text\": \"hello\"}"), ErrorClass::InvalidArticle);
        assert_eq!(class_of(b"{\"id\": \"a\", \"text\": \"   \"}"), ErrorClass::NoText);
        assert_eq!(class_of(b"{\"id\": \"a\"}"), ErrorClass::NoText);
        assert_eq!(class_of(b"   "), ErrorClass::NoText);
        assert_eq!(class_of(&[b'x'; 65]), ErrorClass::Oversize);
        // Only an object is JSON input; "[Reuters] Clashes..." is plain text, like any other.
        let mut v = b"[Reuters] Clashes".to_vec();
        assert!(decode(&mut v, &Envelope { id: Some("k"), published_at: None }, 64).is_ok());
    }

    #[test]
    fn strings_are_borrowed_from_the_message_escaped_or_not() {
        let mut v = br#"{"id": "a1", "language": null, "title": "T", "text": "Clashes near \"Hajin\".\nMore \u00e9."}"#
            .to_vec();
        let a = decode_json(&mut v).unwrap();
        assert_eq!(a.text, "Clashes near \"Hajin\".\nMore \u{e9}.");
        assert_eq!((a.id.as_ref(), a.language.as_deref(), a.title.as_deref()), ("a1", None, Some("T")));
        let borrowed = |c: &Cow<'_, str>| matches!(c, Cow::Borrowed(_));
        assert!(borrowed(&a.id) && borrowed(&a.text) && a.title.as_ref().is_some_and(borrowed));
    }

    #[test]
    fn plain_text_takes_id_and_date_from_the_envelope() {
        let mut v = b"Clashes near Hajin.".to_vec();
        let env = Envelope { id: Some("key-1"), published_at: Some("2021-02-11T08:00:00Z".into()) };
        let a = decode(&mut v, &env, 1024).unwrap();
        assert_eq!((a.id.as_ref(), a.published_at.as_deref()), ("key-1", Some("2021-02-11T08:00:00Z")));
        let mut v = b"Clashes near Hajin.".to_vec();
        assert_eq!(decode(&mut v, &Envelope::default(), 1024).unwrap_err().class, ErrorClass::InvalidArticle);
    }

    #[test]
    fn escaped_strings_decode() {
        let mut v = br#"{"id": "a\u00e9", "text": "line\n\"quoted\" \u2019", "extra": [1, {"x": null}]}"#.to_vec();
        let a = decode(&mut v, &Envelope::default(), 1024).unwrap();
        assert_eq!(a.id, "aé");
        assert_eq!(a.text, "line\n\"quoted\" ’");
    }
}
