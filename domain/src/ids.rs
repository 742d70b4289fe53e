//! Typed identifiers. Every id is a UUID v7 (time ordered, so indexes stay
//! compact and cursors sort by creation time).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Declares a typed id newtype around [`Uuid`].
#[macro_export]
macro_rules! typed_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub uuid::Uuid);

        impl $name {
            /// A new time-ordered id.
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7())
            }

            pub fn as_uuid(&self) -> uuid::Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<uuid::Uuid> for $name {
            fn from(value: uuid::Uuid) -> Self {
                Self(value)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                uuid::Uuid::parse_str(s).map(Self)
            }
        }
    };
}

/// A request correlation id: accepted from `X-Request-Id` when it is sane,
/// generated otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestId(String);

impl RequestId {
    /// Longest request id we accept from a caller.
    pub const MAX_LEN: usize = 128;

    pub fn generate() -> Self {
        Self(Uuid::now_v7().to_string())
    }

    /// Accepts a caller-supplied id made of visible ASCII without spaces and
    /// at most [`Self::MAX_LEN`] bytes; anything else is refused so that log
    /// lines cannot be forged or bloated.
    pub fn parse(raw: &str) -> Option<Self> {
        let ok = !raw.is_empty()
            && raw.len() <= Self::MAX_LEN
            && raw.bytes().all(|b| b.is_ascii_graphic());
        ok.then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for RequestId {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    typed_id!(
        /// test id
        ThingId
    );

    #[test]
    fn typed_ids_are_time_ordered_v7() {
        let a = ThingId::new();
        let b = ThingId::new();
        assert_eq!(a.as_uuid().get_version_num(), 7);
        assert!(a <= b);
        assert_eq!(a.to_string().parse::<ThingId>().ok(), Some(a));
    }

    #[test]
    fn request_id_accepts_sane_values_only() {
        assert!(RequestId::parse("abc-123_XYZ.9").is_some());
        assert!(RequestId::parse("").is_none());
        assert!(RequestId::parse("has space").is_none());
        assert!(RequestId::parse("line\nbreak").is_none());
        assert!(RequestId::parse(&"a".repeat(129)).is_none());
        assert!(RequestId::parse(&"a".repeat(128)).is_some());
        assert_eq!(RequestId::generate().as_str().len(), 36);
    }
}
