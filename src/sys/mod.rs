//! Thin wrappers over the C library that more than one front end needs
//! (local time, OS error texts). Nothing here is used by the pure layers.

pub mod errno;
pub mod localtime;
