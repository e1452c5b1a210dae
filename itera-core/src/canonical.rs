//! The canonical JSON writer behind [`crate::hash::canonical_json`]: object keys sorted at every
//! depth, no whitespace, scalars exactly as `serde_json` prints the `Value` it would build —
//! written straight from `Serialize`, without building that `Value` tree. The tree cost a few
//! dozen allocations per journal line, and encoding was the largest part of appending a line
//! (issue #17). Each object's members are written into one buffer, then emitted in key order;
//! a repeated key keeps its last value, as the tree's map did. The bytes are the same as the
//! tree's for every value (`tests::the_direct_writer_equals_the_value_tree`), so no hash changes.

use serde::ser::{self, Error as _, Serialize};
use std::borrow::Cow;

type Error = serde_json::Error;

/// Writes the canonical JSON of `value` into `out`.
pub(crate) fn write<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<(), Error> {
    #[cfg(test)]
    crate::hash::ENCODINGS.with(|c| c.set(c.get() + 1));
    value.serialize(Canon { out, finite: false })
}

/// [`write`], refusing a NaN or infinite number instead of writing it as `null`: JSON cannot
/// carry one, so a journal line holding it would read back as another value (journal/chain.rs).
pub(crate) fn write_finite<T: Serialize + ?Sized>(
    value: &T,
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    #[cfg(test)]
    crate::hash::ENCODINGS.with(|c| c.set(c.get() + 1));
    value.serialize(Canon { out, finite: true })
}

/// The error [`write_finite`] returns; its text names the cause.
pub(crate) const NON_FINITE: &str = "a NaN or infinite number";

/// Serializes one value into `out`.
struct Canon<'o> {
    out: &'o mut Vec<u8>,
    /// Refuse a non-finite number ([`write_finite`]).
    finite: bool,
}

/// An object being written: its members' values side by side in `buf`, keys apart.
struct Object<'o> {
    out: &'o mut Vec<u8>,
    buf: Vec<u8>,
    members: Vec<(Cow<'static, str>, usize, usize)>,
    /// The key given by `serialize_key`, waiting for its value.
    key: Option<String>,
    /// `Some(variant)`: an enum's struct variant, written as `{"variant":{…}}`.
    variant: Option<&'static str>,
    finite: bool,
}

/// An array being written straight into `out`.
struct Array<'o> {
    out: &'o mut Vec<u8>,
    first: bool,
    /// `Some(variant)`: a tuple variant, written as `{"variant":[…]}`.
    variant: Option<&'static str>,
    finite: bool,
}

fn string(out: &mut Vec<u8>, s: &str) -> Result<(), Error> {
    serde_json::to_writer(out, s)
}

impl<'o> Object<'o> {
    fn new(
        out: &'o mut Vec<u8>,
        len: Option<usize>,
        variant: Option<&'static str>,
        finite: bool,
    ) -> Self {
        Object {
            finite,
            out,
            buf: Vec::with_capacity(64 * len.unwrap_or(4)),
            members: Vec::with_capacity(len.unwrap_or(4)),
            key: None,
            variant,
        }
    }

    fn member<T: Serialize + ?Sized>(
        &mut self,
        key: Cow<'static, str>,
        value: &T,
    ) -> Result<(), Error> {
        let start = self.buf.len();
        value.serialize(Canon {
            out: &mut self.buf,
            finite: self.finite,
        })?;
        self.members.push((key, start, self.buf.len()));
        Ok(())
    }

    fn finish(mut self) -> Result<(), Error> {
        // Stable: among repeated keys the last one written is last; it is the one kept.
        self.members
            .sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        if let Some(v) = self.variant {
            self.out.push(b'{');
            string(self.out, v)?;
            self.out.push(b':');
        }
        self.out.push(b'{');
        let mut first = true;
        for (i, (key, start, end)) in self.members.iter().enumerate() {
            if self.members.get(i + 1).is_some_and(|next| next.0 == *key) {
                continue;
            }
            if !first {
                self.out.push(b',');
            }
            first = false;
            string(self.out, key)?;
            self.out.push(b':');
            self.out.extend_from_slice(&self.buf[*start..*end]);
        }
        self.out.push(b'}');
        if self.variant.is_some() {
            self.out.push(b'}');
        }
        Ok(())
    }
}

impl<'o> Array<'o> {
    fn new(
        out: &'o mut Vec<u8>,
        variant: Option<&'static str>,
        finite: bool,
    ) -> Result<Self, Error> {
        if let Some(v) = variant {
            out.push(b'{');
            string(out, v)?;
            out.push(b':');
        }
        out.push(b'[');
        Ok(Array {
            out,
            first: true,
            variant,
            finite,
        })
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        value.serialize(Canon {
            out: self.out,
            finite: self.finite,
        })
    }

    fn finish(self) -> Result<(), Error> {
        self.out.push(b']');
        if self.variant.is_some() {
            self.out.push(b'}');
        }
        Ok(())
    }
}

impl<'o> ser::Serializer for Canon<'o> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Array<'o>;
    type SerializeTuple = Array<'o>;
    type SerializeTupleStruct = Array<'o>;
    type SerializeTupleVariant = Array<'o>;
    type SerializeMap = Object<'o>;
    type SerializeStruct = Object<'o>;
    type SerializeStructVariant = Object<'o>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        serde_json::to_writer(self.out, &v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        serde_json::to_writer(self.out, &v)
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        // As the tree does: a number when it fits in 64 bits.
        serde_json::to_writer(self.out, &serde_json::to_value(v)?)
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        serde_json::to_writer(self.out, &serde_json::to_value(v)?)
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        // The tree widens an f32 to f64 before printing it.
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        // A non-finite number is `null` in the tree; the journal refuses it (write_finite).
        if self.finite && !v.is_finite() {
            return Err(Error::custom(NON_FINITE));
        }
        serde_json::to_writer(self.out, &serde_json::Value::from(v))
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        string(self.out, v.encode_utf8(&mut [0u8; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        string(self.out, v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        let mut a = Array::new(self.out, None, self.finite)?;
        for b in v {
            a.element(b)?;
        }
        a.finish()
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, v: &'static str) -> Result<(), Error> {
        string(self.out, v)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.out.push(b'{');
        string(self.out, variant)?;
        self.out.push(b':');
        value.serialize(Canon {
            out: self.out,
            finite: self.finite,
        })?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Array<'o>, Error> {
        Array::new(self.out, None, self.finite)
    }
    fn serialize_tuple(self, _: usize) -> Result<Array<'o>, Error> {
        Array::new(self.out, None, self.finite)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Array<'o>, Error> {
        Array::new(self.out, None, self.finite)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Array<'o>, Error> {
        Array::new(self.out, Some(variant), self.finite)
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Object<'o>, Error> {
        Ok(Object::new(self.out, len, None, self.finite))
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Object<'o>, Error> {
        Ok(Object::new(self.out, Some(len), None, self.finite))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Object<'o>, Error> {
        Ok(Object::new(self.out, Some(len), Some(variant), self.finite))
    }
}

impl ser::SerializeSeq for Array<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeTuple for Array<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeTupleStruct for Array<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeTupleVariant for Array<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeMap for Object<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        // Keys as the tree makes them: strings, and numbers (or bools, chars) as their text.
        let key = match serde_json::to_value(key)? {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            _ => return Err(Error::custom("key must be a string")),
        };
        self.key = Some(key);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let key = self
            .key
            .take()
            .ok_or_else(|| Error::custom("serialize_value called before serialize_key"))?;
        self.member(Cow::Owned(key), value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeStruct for Object<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.member(Cow::Borrowed(key), value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeStructVariant for Object<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.member(Cow::Borrowed(key), value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

#[cfg(test)]
#[path = "canonical_tests.rs"]
pub(crate) mod tests;
