//! The direct canonical writer gives the bytes of the `serde_json::Value` tree it replaced, for
//! every shape a value can take (so no registration, data, commitment or chain hash changes).

use super::write;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The writer it replaced: the value tree, then keys sorted at every depth.
pub(crate) fn via_tree<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    fn canon(v: &Value, out: &mut Vec<u8>) {
        match v {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push(b'{');
                for (i, k) in keys.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    serde_json::to_writer(&mut *out, k).unwrap();
                    out.push(b':');
                    canon(&map[k.as_str()], out);
                }
                out.push(b'}');
            }
            Value::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    canon(item, out);
                }
                out.push(b']');
            }
            other => serde_json::to_writer(&mut *out, other).unwrap(),
        }
    }
    let mut out = Vec::new();
    canon(&serde_json::to_value(value).unwrap(), &mut out);
    out
}

pub(crate) fn direct<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    write(value, &mut out).unwrap();
    out
}

fn same<T: Serialize + ?Sized + std::fmt::Debug>(value: &T) {
    assert_eq!(
        String::from_utf8(direct(value)).unwrap(),
        String::from_utf8(via_tree(value)).unwrap(),
        "{value:?}"
    );
}

#[derive(Debug, Serialize)]
enum Shape {
    Unit,
    Newtype(f64),
    Tuple(u8, String),
    Struct { z: bool, a: Option<i32> },
}

#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
enum Tagged {
    Zeta { b: u32, a: Vec<Shape> },
    Alpha(Inner),
}

#[derive(Debug, Serialize)]
struct Inner {
    y: f32,
    x: char,
    #[serde(skip_serializing_if = "Option::is_none")]
    w: Option<String>,
    bytes: serde_bytes_like::Bytes,
    big: i128,
    unit: (),
    tuple: (u16, i8, &'static str),
}

mod serde_bytes_like {
    /// Serialized with `serialize_bytes`.
    #[derive(Debug)]
    pub struct Bytes(pub Vec<u8>);
    impl serde::Serialize for Bytes {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(&self.0)
        }
    }
}

/// Every scalar, container and enum shape serde has, nested, with keys out of order.
#[test]
fn the_direct_writer_equals_the_value_tree() {
    same(&json!({"b": 1, "a": [true, null, {"d": -0.0, "c": 1e300}], "é": "\"\\\n\u{1}"}));
    for x in [
        0.1,
        1.0,
        -2.5e-7,
        f64::MAX,
        f64::MIN_POSITIVE,
        0.0012330000000000002,
    ] {
        same(&x);
    }
    for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        same(&vec![x]);
    }
    same(&0.1f32);
    same(&u64::MAX);
    same(&i64::MIN);
    same(&'é');
    same(&());
    same(&Some("x"));
    same(&None::<u8>);
    let mut map = BTreeMap::new();
    map.insert(10u32, "ten");
    map.insert(9u32, "nine");
    same(&map);
    same(&vec![
        Tagged::Zeta {
            b: 7,
            a: vec![
                Shape::Unit,
                Shape::Newtype(3.25),
                Shape::Tuple(1, "t".into()),
                Shape::Struct { z: false, a: None },
                Shape::Struct {
                    z: true,
                    a: Some(-4),
                },
            ],
        },
        Tagged::Alpha(Inner {
            y: 0.3,
            x: 'q',
            w: None,
            bytes: serde_bytes_like::Bytes(vec![0, 255, 7]),
            big: -(1i128 << 62),
            unit: (),
            tuple: (65535, -128, "s"),
        }),
        Tagged::Alpha(Inner {
            y: -1.5,
            x: '"',
            w: Some("w".into()),
            bytes: serde_bytes_like::Bytes(Vec::new()),
            big: 42,
            unit: (),
            tuple: (0, 0, ""),
        }),
    ]);
}

/// An object with a repeated key keeps the last value, as the tree's map does.
#[test]
fn a_repeated_key_keeps_its_last_value() {
    struct Twice;
    impl Serialize for Twice {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let mut m = s.serialize_map(Some(3))?;
            m.serialize_entry("k", &1)?;
            m.serialize_entry("a", &0)?;
            m.serialize_entry("k", &2)?;
            m.end()
        }
    }
    impl std::fmt::Debug for Twice {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("Twice")
        }
    }
    same(&Twice);
    assert_eq!(direct(&Twice), br#"{"a":0,"k":2}"#);
}
