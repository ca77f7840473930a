//! Tests of the [`Pii`] wrapper.

use std::fmt;

use serde::Serialize;
use serde::ser::{Error, Impossible, Serializer};

use super::*;

#[test]
fn debug_and_display_never_show_the_value() {
    let secret = Pii::new(String::from("010-1234-5678"));
    assert_eq!(format!("{secret:?}"), "Pii(***)");
    assert_eq!(format!("{secret:#?}"), "Pii(***)");
    assert_eq!(format!("{secret}"), "***");
    assert_eq!(format!("{:?}", Some(Pii::new(42))), "Some(Pii(***))");
}

#[test]
fn the_value_is_reached_only_explicitly() {
    let secret = Pii::new(String::from("홍길동"));
    assert_eq!(secret.expose(), "홍길동");
    assert_eq!(secret.clone(), Pii::from(String::from("홍길동")));
    assert_ne!(secret, Pii::new(String::from("김철수")));
    assert_eq!(secret.into_inner(), "홍길동");
}

#[test]
fn serializing_gives_the_redaction_marker() {
    assert_eq!(Pii::new("kim@example.com").serialize(StrSerializer), Ok(String::from("***")));
    assert_eq!(Pii::new(19_850_312_u32).serialize(StrSerializer), Ok(String::from("***")));
}

/// The error of [`StrSerializer`]: it only knows strings.
#[derive(Debug, PartialEq)]
struct NotAString;

impl fmt::Display for NotAString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a string")
    }
}

impl std::error::Error for NotAString {}

impl Error for NotAString {
    fn custom<T: fmt::Display>(_: T) -> Self {
        NotAString
    }
}

/// A serializer that returns the string it is given and refuses everything else.
struct StrSerializer;

macro_rules! refuse {
    ($($method:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $method(self, $(_: $arg),*) -> Result<String, NotAString> { Err(NotAString) })*
    };
}

impl Serializer for StrSerializer {
    type Ok = String;
    type Error = NotAString;
    type SerializeSeq = Impossible<String, NotAString>;
    type SerializeTuple = Impossible<String, NotAString>;
    type SerializeTupleStruct = Impossible<String, NotAString>;
    type SerializeTupleVariant = Impossible<String, NotAString>;
    type SerializeMap = Impossible<String, NotAString>;
    type SerializeStruct = Impossible<String, NotAString>;
    type SerializeStructVariant = Impossible<String, NotAString>;

    fn serialize_str(self, v: &str) -> Result<String, NotAString> {
        Ok(v.to_owned())
    }

    refuse!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    );

    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<String, NotAString> {
        Err(NotAString)
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, _: &'static str, _: &T) -> Result<String, NotAString> {
        Err(NotAString)
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<String, NotAString> {
        Err(NotAString)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, NotAString> {
        Err(NotAString)
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, NotAString> {
        Err(NotAString)
    }

    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, NotAString> {
        Err(NotAString)
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, NotAString> {
        Err(NotAString)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, NotAString> {
        Err(NotAString)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, NotAString> {
        Err(NotAString)
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, NotAString> {
        Err(NotAString)
    }
}
