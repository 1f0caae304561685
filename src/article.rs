//! Decoding input messages into articles.
//!
//! A message is a JSON object `{"id", "url"?, "source"?, "language"?, "published_at"?,
//! "title"?, "text"}` (simd-json, borrowing strings from the message buffer, which it rewrites in
//! place), or, when it does not start with `{`, plain article text whose id and date the caller
//! supplies (from a Kafka key and timestamp, or a file name).
//!
//! Every way a message can be unusable has an [`ErrorClass`]: it is a counted, dead-lettered
//! error with a message that says what is wrong, never a panic. Unknown JSON fields are ignored,
//! so producers can add fields without breaking lexwire.

use std::borrow::Cow;
use std::fmt;

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
    /// The publication time as given (RFC 3339 or `YYYY-MM-DD`); extraction parses it.
    pub published_at: Option<Cow<'a, str>>,
    pub title: Option<Cow<'a, str>>,
    pub text: Cow<'a, str>,
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
}

impl ErrorClass {
    pub const ALL: [ErrorClass; 5] = [
        ErrorClass::InvalidUtf8,
        ErrorClass::InvalidJson,
        ErrorClass::InvalidArticle,
        ErrorClass::NoText,
        ErrorClass::Oversize,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::InvalidUtf8 => "invalid_utf8",
            ErrorClass::InvalidJson => "invalid_json",
            ErrorClass::InvalidArticle => "invalid_article",
            ErrorClass::NoText => "no_text",
            ErrorClass::Oversize => "oversize",
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
    /// The publication time of a plain-text article (Kafka timestamp, RFC 3339).
    pub published_at: Option<String>,
}

#[derive(Deserialize)]
struct RawArticle<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    url: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    source: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    language: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    published_at: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    title: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
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
    if let Err(e) = std::str::from_utf8(value) {
        return Err(DecodeError::new(ErrorClass::InvalidUtf8, format!("invalid UTF-8 at byte {}", e.valid_up_to())));
    }
    let first = value.iter().position(|b| !b.is_ascii_whitespace()).map(|i| value[i]);
    if first == Some(b'{') {
        return decode_json(value);
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
        published_at: envelope.published_at.clone().map(Cow::Owned),
        title: None,
        text: Cow::Borrowed(text),
    })
}

/// Decodes a JSON object message.
///
/// # Errors
/// See [`decode`].
pub fn decode_json(value: &mut [u8]) -> Result<Article<'_>, DecodeError> {
    // Parsing builds the whole tape first, so every syntax error surfaces here, and only
    // errors about the article's shape surface in `deserialize`.
    let mut parsed = simd_json::Deserializer::from_slice(value).map_err(|e| {
        let class = match e.error() {
            simd_json::ErrorType::InvalidUtf8 => ErrorClass::InvalidUtf8,
            _ => ErrorClass::InvalidJson,
        };
        DecodeError::new(class, e.to_string())
    })?;
    let raw = RawArticle::deserialize(&mut parsed)
        .map_err(|e| DecodeError::new(ErrorClass::InvalidArticle, e.to_string()))?;
    let id = raw
        .id
        .filter(|id| !id.trim().is_empty())
        .ok_or_else(|| DecodeError::new(ErrorClass::InvalidArticle, "missing field `id`"))?;
    let text = raw
        .text
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| DecodeError::new(ErrorClass::NoText, format!("article {id:?} has no text")))?;
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
