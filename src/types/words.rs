//! The `word_enum!` macro: one mechanism for every enum whose values are
//! on-disk words. `Display`, `FromStr` and serde all use exactly the word
//! upstream writes, so no state is ever compared as a bare string.

use std::fmt;
use std::str::FromStr;

/// A word that is not one of an enum's on-disk values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} '{word}'")]
pub struct UnknownWord {
    /// What kind of word was expected (for example `service state`).
    pub kind: &'static str,
    /// The word as it was read.
    pub word: String,
}

/// Declares an enum of on-disk words.
///
/// Each variant is written `Variant => "word"`; extra accepted spellings
/// (aliases such as `enabled` for `started`) follow after `|`. The macro
/// derives the usual traits and implements `as_str`, `ALL`, `Display`,
/// `FromStr` and serde (as a plain string).
#[macro_export]
macro_rules! word_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($kind:literal) {
            $( $(#[$vmeta:meta])* $variant:ident => $word:literal $(| $alias:literal)* ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The on-disk word.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::types::words::UnknownWord;
            fn from_str(s: &str) -> Result<Self, $crate::types::words::UnknownWord> {
                match s {
                    $( $word $(| $alias)* => Ok($name::$variant), )+
                    _ => Err($crate::types::words::UnknownWord {
                        kind: $kind,
                        word: s.to_string(),
                    }),
                }
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(::serde::de::Error::custom)
            }
        }
    };
}

/// A word read from a status file that may be one this version does not
/// know. Status files are written by other nodes (possibly newer or older
/// versions), so readers keep the unknown word and let the consumer decide
/// how to report it (02 §3.12: `unknown service state '<state>'`) instead
/// of failing the whole file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OrUnknown<T> {
    /// One of the enum's words.
    Known(T),
    /// Anything else, kept verbatim.
    Unknown(String),
}

impl<T> OrUnknown<T> {
    /// The known value, if any.
    pub fn known(&self) -> Option<&T> {
        match self {
            OrUnknown::Known(v) => Some(v),
            OrUnknown::Unknown(_) => None,
        }
    }
}

impl<T> From<T> for OrUnknown<T> {
    fn from(v: T) -> Self {
        OrUnknown::Known(v)
    }
}

impl<T: fmt::Display> fmt::Display for OrUnknown<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OrUnknown::Known(v) => v.fmt(f),
            OrUnknown::Unknown(s) => f.write_str(s),
        }
    }
}

impl<T: FromStr> FromStr for OrUnknown<T> {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.parse() {
            Ok(v) => OrUnknown::Known(v),
            Err(_) => OrUnknown::Unknown(s.to_string()),
        })
    }
}

impl<T: fmt::Display> serde::Serialize for OrUnknown<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de, T: FromStr> serde::Deserialize<'de> for OrUnknown<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        Ok(match s.parse() {
            Ok(v) => OrUnknown::Known(v),
            Err(_) => OrUnknown::Unknown(s.into_owned()),
        })
    }
}
