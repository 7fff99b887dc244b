//! Thin wrappers over the C library that more than one front end needs
//! (today: local time). Nothing here is used by the pure layers.

pub mod localtime;
