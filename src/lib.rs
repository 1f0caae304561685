//! lexwire: a streaming conflict-event tagger.
pub mod article;
pub mod dedup;
pub mod dictionary;
pub mod encode;
pub mod engine;
pub mod eval;
pub mod event;
pub mod extract;
pub mod json;
pub mod language;
pub mod matcher;
pub mod normalize;
pub mod offline;
pub mod service;
pub mod tag;
