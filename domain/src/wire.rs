//! Closed sets of string values on the wire (kinds, statuses, grades …):
//! one macro makes the enum, its text, its parser and the list of its
//! values, which the API uses to state the set in the OpenAPI document.

/// An enum whose values travel as fixed strings.
pub trait WireEnum: Copy + Sized + 'static {
    /// Every value's text, in declaration order.
    const NAMES: &'static [&'static str];
    fn as_str(self) -> &'static str;
}

/// `wire_enum!(Name { Variant => "text", … })`: the enum (serde as the
/// texts), `ALL`, `as_str`, `FromStr` (the error lists the allowed values),
/// `Display` and [`WireEnum`].
#[macro_export]
macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize)]
        pub enum $name { $($(#[$vm])* #[serde(rename = $s)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }
        }

        impl $crate::wire::WireEnum for $name {
            const NAMES: &'static [&'static str] = &[$($s),+];
            fn as_str(self) -> &'static str {
                $name::as_str(self)
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($s => Ok($name::$variant),)+
                    _ => Err(format!("must be one of: {}", [$($s),+].join(", "))),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::WireEnum;

    crate::wire_enum!(Fruit { Melon => "melon", SweetPotato => "sweet_potato" });

    #[test]
    fn texts_parse_back_and_serde_agrees() {
        for f in Fruit::ALL {
            assert_eq!(f.as_str().parse::<Fruit>(), Ok(*f));
            assert_eq!(
                serde_json::to_string(f).ok(),
                Some(format!("\"{}\"", f.as_str()))
            );
        }
        assert_eq!(Fruit::NAMES, &["melon", "sweet_potato"]);
        assert_eq!(
            "apple".parse::<Fruit>(),
            Err("must be one of: melon, sweet_potato".to_owned())
        );
    }
}
