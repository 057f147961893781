//! One line of a JSON Lines extract, read straight into the table's columns.
//!
//! Building a `serde_json::Value` per line (an ordered map, an owned string
//! per key and per value) was most of the cost of reading a large JSONL
//! extract. Here `serde_json`'s own parser drives a visitor that puts each
//! value in its column's slot and borrows strings from the line when they
//! hold no escapes. Every value — of unknown keys and nested ones too — is
//! still parsed in full through `deserialize_any`, exactly as for a `Value`,
//! so the same lines are refused as invalid JSON, with the same error
//! position; and as in a `serde_json::Map`, a key given twice keeps its last
//! value.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::validate::Json;
use crate::contract::Table;

/// Unknown keys remembered for the file's warning.
pub const MAX_UNKNOWN: usize = 20;

/// Reads the lines of one file; remembers where each key was found.
pub struct LineReader {
    names: Vec<&'static str>,
    index: foldhash::HashMap<&'static str, usize>,
    /// Column of the key at each position of the previous line (`usize::MAX`
    /// for an unknown key): the lines of an extract list their keys in the
    /// same order, so one comparison usually finds the column.
    guess: Vec<usize>,
}

/// What a line holds.
#[derive(Debug, PartialEq)]
pub enum Line<'a> {
    /// A JSON object: one value per contract column (`Null` when absent),
    /// and its keys that are no contract column, not yet in `known`, in
    /// order of first appearance.
    Object { fields: Vec<Json<'a>>, unknown: Vec<String> },
    /// Valid JSON, but not an object.
    NotObject,
}

/// Positions of the keys remembered per line (a longer line is looked up by name).
const GUESSED_KEYS: usize = 128;

impl LineReader {
    pub fn new(table: &Table) -> Self {
        let names: Vec<&'static str> = table.columns.iter().map(|c| c.name).collect();
        // First column of a name wins, like `Table::column`.
        let mut index = foldhash::HashMap::default();
        for (i, n) in names.iter().enumerate() {
            index.entry(*n).or_insert(i);
        }
        LineReader {
            names,
            index,
            guess: Vec::new(),
        }
    }

    /// Parse one line (without its newline). `known` are the unknown keys
    /// already reported for the file: they are not returned again, and none
    /// are once there are [`MAX_UNKNOWN`] of them.
    pub fn read<'a>(&mut self, text: &'a str, known: &[String]) -> Result<Line<'a>, serde_json::Error> {
        // As `serde_json::from_str`: the value, then nothing but whitespace.
        let mut de = serde_json::Deserializer::from_str(text);
        let line = LineSeed { reader: self, known }.deserialize(&mut de)?;
        de.end()?;
        Ok(line)
    }

    fn column(&mut self, pos: usize, key: &str) -> Option<usize> {
        if let Some(&g) = self.guess.get(pos)
            && self.names.get(g).is_some_and(|n| *n == key)
        {
            return Some(g);
        }
        let found = self.index.get(key).copied();
        let g = found.unwrap_or(usize::MAX);
        match pos.cmp(&self.guess.len()) {
            std::cmp::Ordering::Less => self.guess[pos] = g,
            std::cmp::Ordering::Equal if pos < GUESSED_KEYS => self.guess.push(g),
            _ => {}
        }
        found
    }
}

struct LineSeed<'r> {
    reader: &'r mut LineReader,
    known: &'r [String],
}

impl<'de> DeserializeSeed<'de> for LineSeed<'_> {
    type Value = Line<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Line<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LineSeed<'_> {
    type Value = Line<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Line<'de>, E> {
        Ok(Line::NotObject)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Line<'de>, E> {
        Ok(Line::NotObject)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Line<'de>, E> {
        Ok(Line::NotObject)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Line<'de>, E> {
        Ok(Line::NotObject)
    }
    fn visit_str<E>(self, _: &str) -> Result<Line<'de>, E> {
        Ok(Line::NotObject)
    }
    fn visit_unit<E>(self) -> Result<Line<'de>, E> {
        Ok(Line::NotObject)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Line<'de>, A::Error> {
        // Parsed to the end all the same: a broken array is invalid JSON.
        while seq.next_element_seed(JsonSeed)?.is_some() {}
        Ok(Line::NotObject)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Line<'de>, A::Error> {
        let mut fields = vec![Json::Null; self.reader.names.len()];
        let mut unknown: Vec<String> = Vec::new();
        let mut pos = 0;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match self.reader.column(pos, &key) {
                Some(i) => fields[i] = map.next_value_seed(JsonSeed)?,
                None => {
                    if self.known.len() < MAX_UNKNOWN && !self.known.iter().chain(&unknown).any(|u| *u == *key) {
                        unknown.push(key.into_owned());
                    }
                    map.next_value_seed(JsonSeed)?;
                }
            }
            pos += 1;
        }
        Ok(Line::Object { fields, unknown })
    }
}

/// An object key, borrowed from the line unless it holds escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Cow<'de, str>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string key")
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(s))
    }
    fn visit_str<E>(self, s: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(s.to_owned()))
    }
    fn visit_string<E>(self, s: String) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(s))
    }
}

/// Any JSON value, as [`Json`]; what `serde_json::Value`'s visitor does,
/// down to numbers (`i64`, `u64` and non-finite floats alike).
struct JsonSeed;

impl<'de> DeserializeSeed<'de> for JsonSeed {
    type Value = Json<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Json<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for JsonSeed {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any valid JSON value")
    }
    fn visit_bool<E>(self, b: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(b))
    }
    fn visit_i64<E>(self, i: i64) -> Result<Json<'de>, E> {
        // As `serde_json::Number::from(i64)`.
        Ok(match u64::try_from(i) {
            Ok(u) => Json::PosInt(u),
            Err(_) => Json::NegInt(i),
        })
    }
    fn visit_u64<E>(self, u: u64) -> Result<Json<'de>, E> {
        Ok(Json::PosInt(u))
    }
    fn visit_f64<E>(self, x: f64) -> Result<Json<'de>, E> {
        // A `Value` turns a non-finite float into null.
        Ok(if x.is_finite() { Json::Float } else { Json::Null })
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::Str(Cow::Borrowed(s)))
    }
    fn visit_str<E>(self, s: &str) -> Result<Json<'de>, E> {
        Ok(Json::Str(Cow::Owned(s.to_owned())))
    }
    fn visit_string<E>(self, s: String) -> Result<Json<'de>, E> {
        Ok(Json::Str(Cow::Owned(s)))
    }
    fn visit_unit<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }
    fn visit_none<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Json<'de>, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(JsonSeed)? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        while map.next_key_seed(KeySeed)?.is_some() {
            map.next_value_seed(JsonSeed)?;
        }
        Ok(Json::Object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::table;

    fn reader() -> (LineReader, &'static Table) {
        let t = table("employers").unwrap();
        (LineReader::new(t), t)
    }

    /// What the reader must match: `serde_json::Value` and the map lookups of before.
    fn reference(t: &Table, text: &str, known: &[String]) -> Result<Option<(Vec<Json<'static>>, Vec<String>)>, (String, usize)> {
        match serde_json::from_str::<serde_json::Value>(text) {
            Err(e) => Err((format!("{:?}", e.classify()), e.column())),
            Ok(serde_json::Value::Object(obj)) => {
                let fields = t
                    .columns
                    .iter()
                    .map(|c| obj.get(c.name).map_or(Json::Null, |v| owned(Json::from_value(v))))
                    .collect();
                let mut unknown: Vec<String> = known.to_vec();
                for k in obj.keys() {
                    if t.column(k).is_none() && !unknown.iter().any(|u| u == k) && unknown.len() < MAX_UNKNOWN {
                        unknown.push(k.clone());
                    }
                }
                Ok(Some((fields, unknown.split_off(known.len()))))
            }
            Ok(_) => Ok(None),
        }
    }

    fn owned(j: Json<'_>) -> Json<'static> {
        match j {
            Json::Str(s) => Json::Str(Cow::Owned(s.into_owned())),
            Json::Array(items) => Json::Array(items.into_iter().map(owned).collect()),
            Json::Null => Json::Null,
            Json::Bool(b) => Json::Bool(b),
            Json::PosInt(u) => Json::PosInt(u),
            Json::NegInt(i) => Json::NegInt(i),
            Json::Float => Json::Float,
            Json::Object => Json::Object,
        }
    }

    fn ours(r: &mut LineReader, text: &str, known: &[String]) -> Result<Option<(Vec<Json<'static>>, Vec<String>)>, (String, usize)> {
        match r.read(text, known) {
            Err(e) => Err((format!("{:?}", e.classify()), e.column())),
            Ok(Line::Object { fields, unknown }) => Ok(Some((fields.into_iter().map(owned).collect(), unknown))),
            Ok(Line::NotObject) => Ok(None),
        }
    }

    #[test]
    fn same_as_serde_json_value_on_every_kind_of_line() {
        let (mut r, t) = reader();
        let deep = format!("{{\"x\":{}{}}}", "[".repeat(200), "]".repeat(200));
        let lines = [
            r#"{"npp":"E1","employer_name":"PT Maju","registered_workers":25,"programs":["JKK","JP"],"active":true}"#,
            r#"{"employer_name":"PT A\"B\u00e9","npp":"E\u0031"}"#,
            r#"{"npp":"E1","npp":"E2"}"#,
            r#"{"npp":null,"employer_name":null,"programs":null}"#,
            r#"{"registered_workers":-3}"#,
            r#"{"registered_workers":-0}"#,
            r#"{"registered_workers":25.0}"#,
            r#"{"registered_workers":2.5e1}"#,
            r#"{"registered_workers":18446744073709551615}"#,
            r#"{"registered_workers":18446744073709551616}"#,
            r#"{"registered_workers":-9223372036854775809}"#,
            r#"{"registered_workers":"25"}"#,
            r#"{"registered_workers":1e400}"#,
            r#"{"zzz":1e400}"#,
            r#"{"programs":["JKK",["JP"],{"a":1},null,2]}"#,
            r#"{"employer_name":{"first":"A","n":[1,2,{"x":null}]},"extra":{"deep":[1]},"other":[],"extra":2}"#,
            r#"{"unknown_a":1,"b\u0041d":2,"unknown_a":3}"#,
            r#"{"employer_name":"\ud800"}"#,
            r#"{"zzz":"\ud83d\ude00"}"#,
            r#"{"npp":"E1"} trailing"#,
            r#"{"npp":"E1"}   "#,
            r#"{"npp":"E1""#,
            r#"{"npp":"E1",}"#,
            r#"{npp:"E1"}"#,
            r#"{"a":01}"#,
            r#"[1,2,3]"#,
            r#"[1,2,1e400]"#,
            r#"[1,2"#,
            r#""just a string""#,
            r#"42"#,
            r#"null"#,
            r#"{}"#,
            "{\"employer_name\":\"tab\there\"}",
            &deep,
        ];
        for text in lines {
            assert_eq!(ours(&mut r, text, &[]), reference(t, text, &[]), "{text}");
        }
        // Twice more, in another order, so that the remembered key positions are wrong.
        for text in lines.iter().rev().chain(lines.iter()) {
            assert_eq!(ours(&mut r, text, &[]), reference(t, text, &[]), "{text}");
        }
    }

    #[test]
    fn values_errors_and_unknown_keys() {
        let (mut r, t) = reader();
        let id = t.column_index("npp").unwrap();
        let name = t.column_index("employer_name").unwrap();
        let programs = t.column_index("programs").unwrap();

        // Escapes are decoded; strings without escapes are borrowed from the line.
        let Line::Object { fields, unknown } = r
            .read(r#"{"employer_name":"PT \"Jaya\" \u00c9","npp":"E1","note":1}"#, &[])
            .unwrap()
        else {
            panic!("an object")
        };
        assert_eq!(fields[name], Json::Str(Cow::Owned("PT \"Jaya\" É".into())));
        assert!(matches!(&fields[id], Json::Str(Cow::Borrowed("E1"))));
        assert_eq!(unknown, vec!["note".to_string()]);

        // A key given twice keeps its last value; an absent key is null.
        let Line::Object { fields, .. } = r.read(r#"{"npp":"E1","npp":"E2"}"#, &[]).unwrap() else {
            panic!("an object")
        };
        assert_eq!(fields[id], Json::Str(Cow::Borrowed("E2")));
        assert_eq!(fields[name], Json::Null);

        // Nested values are kept as kinds, numbers as serde_json classifies them.
        let Line::Object { fields, .. } = r
            .read(r#"{"employer_name":{"a":[1]},"programs":["JKK",["x"],{"y":1},null,-1,2.5]}"#, &[])
            .unwrap()
        else {
            panic!("an object")
        };
        assert_eq!(fields[name], Json::Object);
        assert_eq!(
            fields[programs],
            Json::Array(vec![
                Json::Str(Cow::Borrowed("JKK")),
                Json::Array(vec![Json::Str(Cow::Borrowed("x"))]),
                Json::Object,
                Json::Null,
                Json::NegInt(-1),
                Json::Float,
            ])
        );

        // Known unknown keys are not returned again; none past the limit.
        let known = vec!["note".to_string()];
        let Line::Object { unknown, .. } = r.read(r#"{"note":1,"x":2,"x":3,"y":{}}"#, &known).unwrap() else {
            panic!("an object")
        };
        assert_eq!(unknown, vec!["x".to_string(), "y".to_string()]);
        let full: Vec<String> = (0..MAX_UNKNOWN).map(|i| format!("k{i}")).collect();
        let Line::Object { unknown, .. } = r.read(r#"{"x":2}"#, &full).unwrap() else {
            panic!("an object")
        };
        assert!(unknown.is_empty());

        // Not an object, and invalid JSON (also inside an unknown key's value).
        assert_eq!(r.read("[1,2]", &[]).unwrap(), Line::NotObject);
        assert_eq!(r.read("null", &[]).unwrap(), Line::NotObject);
        use serde_json::error::Category;
        for (text, category) in [
            (r#"{"x":1e400}"#, Category::Syntax),
            (r#"{"employer_name":"\ud800"}"#, Category::Syntax),
            (r#"{"npp":"E1"} x"#, Category::Syntax),
            (r#"{"npp":"E1""#, Category::Eof),
        ] {
            let e = r.read(text, &[]).unwrap_err();
            let v = serde_json::from_str::<serde_json::Value>(text).unwrap_err();
            assert_eq!((e.classify(), e.line(), e.column()), (category, 1, v.column()), "{text}");
        }
    }
}
