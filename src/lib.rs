//! lexwire: a streaming conflict-event tagger.
pub mod article;
pub mod dictionary;
pub mod encode;
pub mod extract;
pub mod language;
pub mod matcher;
pub mod normalize;
pub mod offline;
pub mod tag;
