//! One value of a snapshot document, as the snapshot reader dispatches on it.
//!
//! A JSON object is kept as its text ([`RawValue`], a slice of the input)
//! with the few fields the reader dispatches on read from it (`kind`,
//! `apiVersion`, `metadata.name`/`namespace`/`uid`, `items`): the object is
//! then decoded straight from its text into its API type, and no JSON tree
//! of the input is ever built. A list's items are slices too, so only one
//! object is decoded at a time.
//!
//! Everything else is a [`Value`] tree: YAML documents, JSON that is not an
//! object (null, a number, …), and the rare JSON object whose head cannot be
//! read from its text (a duplicated `kind` or `metadata` key, a string
//! escape that is no Unicode): they are read as before, by the tree.

use std::borrow::Cow;

use std::fmt;

use serde::de::value::MapAccessDeserializer;
use serde::de::{DeserializeOwned, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use serde_json::value::RawValue;

/// A value of a snapshot document: an object's text, or a tree.
pub(super) enum Node<'a> {
    Raw(Box<RawObject<'a>>),
    Tree(Value),
}

/// A JSON object's text and the fields the reader dispatches on.
pub(super) struct RawObject<'a> {
    text: &'a RawValue,
    kind: Option<Cow<'a, str>>,
    api_version: Option<Cow<'a, str>>,
    /// `Some` when `metadata` is a mapping.
    metadata: Option<Meta<'a>>,
    /// `items` as written: missing or null (`None`), a list, or else.
    items: Option<Field<Vec<&'a RawValue>>>,
}

#[derive(Default)]
struct Meta<'a> {
    name: Option<Cow<'a, str>>,
    namespace: Option<Cow<'a, str>>,
    uid: Option<Cow<'a, str>>,
}

/// The fields of an object the reader dispatches on, read in one pass over
/// its text; the rest of the object is skipped without being built.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(borrow)]
    kind: Option<&'a RawValue>,
    #[serde(borrow, rename = "apiVersion")]
    api_version: Option<&'a RawValue>,
    #[serde(borrow)]
    metadata: Option<Field<MetaHead<'a>>>,
    #[serde(borrow)]
    items: Option<Field<Vec<&'a RawValue>>>,
}

/// The scalar `visit_*` methods of a [`Field`] visitor: another value.
macro_rules! other_values {
    () => {
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Field::Other)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok(Field::Other)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok(Field::Other)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(Field::Other)
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok(Field::Other)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(Field::Other)
        }
    };
}

/// A field of the expected shape (`metadata` a mapping, `items` a list), or
/// another value, skipped.
enum Field<T> {
    Is(T),
    Other,
}

impl<'de: 'a, 'a> Deserialize<'de> for Field<MetaHead<'a>> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MetaVisitor;
        impl<'de> Visitor<'de> for MetaVisitor {
            type Value = Field<MetaHead<'de>>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                MetaHead::deserialize(MapAccessDeserializer::new(map)).map(Field::Is)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                skip_seq(seq)
            }
            other_values!();
        }
        d.deserialize_any(MetaVisitor)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Field<Vec<&'a RawValue>> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ItemsVisitor;
        impl<'de> Visitor<'de> for ItemsVisitor {
            type Value = Field<Vec<&'de RawValue>>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Field::Is(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Field::Other)
            }
            other_values!();
        }
        d.deserialize_any(ItemsVisitor)
    }
}

fn skip_seq<'de, A: SeqAccess<'de>, T>(mut seq: A) -> Result<Field<T>, A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(Field::Other)
}

#[derive(Deserialize)]
struct MetaHead<'a> {
    #[serde(borrow)]
    name: Option<&'a RawValue>,
    #[serde(borrow)]
    namespace: Option<&'a RawValue>,
    #[serde(borrow)]
    uid: Option<&'a RawValue>,
}

/// A list's `items`.
pub(super) enum Items<'a> {
    List(Vec<Node<'a>>),
    /// `items` is missing or null: an empty list.
    Missing,
    /// `items` is something else.
    NotAList,
}

impl<'a> Node<'a> {
    /// One JSON value of the input. `Err` when it is no valid JSON after
    /// all (a string escape that is no Unicode, which the text's syntax
    /// check lets through).
    pub(super) fn json(text: &'a RawValue) -> Result<Node<'a>, serde_json::Error> {
        if text.get().starts_with('{')
            && let Some(raw) = RawObject::new(text)
        {
            return Ok(Node::Raw(Box::new(raw)));
        }
        serde_json::from_str(text.get()).map(Node::Tree)
    }

    pub(super) fn is_null(&self) -> bool {
        matches!(self, Node::Tree(Value::Null))
    }

    /// `kind`, when it is a string.
    pub(super) fn kind(&self) -> Option<&str> {
        match self {
            Node::Raw(r) => r.kind.as_deref(),
            Node::Tree(v) => v.get("kind").and_then(Value::as_str),
        }
    }

    /// `apiVersion`, when it is a string.
    pub(super) fn api_version(&self) -> Option<&str> {
        match self {
            Node::Raw(r) => r.api_version.as_deref(),
            Node::Tree(v) => v.get("apiVersion").and_then(Value::as_str),
        }
    }

    /// `metadata.name`, when it is a string.
    pub(super) fn name(&self) -> Option<&str> {
        self.meta("name")
    }

    /// `metadata.namespace`, when it is a string.
    pub(super) fn namespace(&self) -> Option<&str> {
        self.meta("namespace")
    }

    /// `metadata.uid`, when it is a string.
    pub(super) fn uid(&self) -> Option<&str> {
        self.meta("uid")
    }

    fn meta(&self, key: &str) -> Option<&str> {
        match self {
            Node::Raw(r) => {
                let m = r.metadata.as_ref()?;
                match key {
                    "name" => m.name.as_deref(),
                    "namespace" => m.namespace.as_deref(),
                    _ => m.uid.as_deref(),
                }
            }
            Node::Tree(v) => v.get("metadata")?.get(key)?.as_str(),
        }
    }

    /// A Kubernetes object: `kind` and (`apiVersion` or `metadata`), or a
    /// list with `items`.
    pub(super) fn is_object(&self) -> bool {
        let Some(kind) = self.kind().filter(|k| !k.is_empty()) else {
            return false;
        };
        match self {
            Node::Raw(r) => {
                r.api_version.is_some()
                    || r.metadata.is_some()
                    || (kind.ends_with("List") && matches!(r.items, Some(Field::Is(_))))
            }
            Node::Tree(v) => {
                v.get("apiVersion").is_some_and(Value::is_string)
                    || v.get("metadata").is_some_and(Value::is_object)
                    || (kind.ends_with("List") && v.get("items").is_some_and(Value::is_array))
            }
        }
    }

    /// Take the list's items out (a tree's are moved, not copied).
    pub(super) fn take_items(&mut self) -> Result<Items<'a>, serde_json::Error> {
        match self {
            Node::Raw(r) => match r.items.take() {
                None => Ok(Items::Missing),
                Some(Field::Is(texts)) => {
                    let items = texts
                        .into_iter()
                        .map(Node::json)
                        .collect::<Result<_, _>>()?;
                    Ok(Items::List(items))
                }
                Some(Field::Other) => {
                    r.items = Some(Field::Other);
                    Ok(Items::NotAList)
                }
            },
            Node::Tree(v) => Ok(match v.get_mut("items").map(Value::take) {
                Some(Value::Array(items)) => {
                    Items::List(items.into_iter().map(Node::Tree).collect())
                }
                Some(Value::Null) | None => Items::Missing,
                Some(_) => Items::NotAList,
            }),
        }
    }

    /// Decode into an API type: straight from the text, or from the tree.
    /// The error names the field path and what is wrong (see [`super::snapshot`]).
    pub(super) fn decode<T: DeserializeOwned>(self) -> Result<T, DecodeError> {
        match self {
            Node::Raw(r) => {
                let text = r.text.get();
                // The plain path first; tracking the field path costs on
                // every object, so it runs only again for one that failed.
                if let Ok(t) = serde_json::from_str(text) {
                    return Ok(t);
                }
                let mut de = serde_json::Deserializer::from_str(text);
                serde_path_to_error::deserialize(&mut de).map_err(|e| DecodeError {
                    path: e.path().to_string(),
                    message: without_position(e.inner()),
                })
            }
            Node::Tree(v) => {
                if let Ok(t) = T::deserialize(&v) {
                    return Ok(t);
                }
                serde_path_to_error::deserialize(v).map_err(|e| DecodeError {
                    path: e.path().to_string(),
                    message: e.inner().to_string(),
                })
            }
        }
    }

    /// The value as a tree, for describing what it is.
    pub(super) fn tree(&self) -> Cow<'_, Value> {
        match self {
            Node::Raw(r) => Cow::Owned(serde_json::from_str(r.text.get()).unwrap_or(Value::Null)),
            Node::Tree(v) => Cow::Borrowed(v),
        }
    }
}

/// Why an object does not decode into its API type.
pub(super) struct DecodeError {
    /// `spec.containers[0].ports[0].containerPort`, or `.` for the object.
    pub path: String,
    /// What is wrong with the value there.
    pub message: String,
}

impl<'a> RawObject<'a> {
    /// `None` when a field the reader dispatches on is written twice, or
    /// is a string that does not decode.
    fn new(text: &'a RawValue) -> Option<RawObject<'a>> {
        let head: Head<'a> = serde_json::from_str(text.get()).ok()?;
        let metadata = match head.metadata {
            Some(Field::Is(m)) => Some(Meta {
                name: string(m.name)?,
                namespace: string(m.namespace)?,
                uid: string(m.uid)?,
            }),
            Some(Field::Other) | None => None,
        };
        Some(RawObject {
            text,
            kind: string(head.kind)?,
            api_version: string(head.api_version)?,
            metadata,
            items: head.items,
        })
    }
}

/// A field that is a string: `Some(Some(text))`; not a string, or missing:
/// `Some(None)`; a string that does not decode: `None`.
fn string(raw: Option<&RawValue>) -> Option<Option<Cow<'_, str>>> {
    let Some(text) = raw.map(RawValue::get).filter(|t| t.starts_with('"')) else {
        return Some(None);
    };
    if let Ok(s) = serde_json::from_str::<&str>(text) {
        return Some(Some(Cow::Borrowed(s)));
    }
    // With escapes: decoded into a new string.
    serde_json::from_str::<String>(text)
        .ok()
        .map(|s| Some(Cow::Owned(s)))
}

/// serde_json's message without the ` at line L column C` it appends for
/// text input (the field path says where).
fn without_position(e: &serde_json::Error) -> String {
    let message = e.to_string();
    if e.line() == 0 {
        return message;
    }
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    match message.strip_suffix(&suffix) {
        Some(m) => m.to_owned(),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(text: &str) -> Node<'_> {
        let raw: &RawValue = serde_json::from_str(text).unwrap();
        Node::json(raw).unwrap()
    }

    #[test]
    fn an_object_is_read_from_its_text_and_answers_as_its_tree() {
        for text in [
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"n","uid":"u"},"spec":{}}"#,
            r#"{"kind":"PodList","items":[{"metadata":{"name":"a"}}]}"#,
            r#"{"kind":"Pod","metadata":5,"apiVersion":7}"#,
            r#"{"kind":"P\u006fd","metadata":{"name":null,"namespace":["x"]}}"#,
            r#"{"kind":"List","items":null}"#,
            r#"{"kind":"List","items":{}}"#,
            r#"{"kind":""}"#,
            r#"{}"#,
        ] {
            let raw = node(text);
            assert!(matches!(raw, Node::Raw(_)), "{text}");
            let tree = Node::Tree(serde_json::from_str(text).unwrap());
            assert_eq!(raw.kind(), tree.kind(), "{text}");
            assert_eq!(raw.api_version(), tree.api_version(), "{text}");
            assert_eq!(raw.name(), tree.name(), "{text}");
            assert_eq!(raw.namespace(), tree.namespace(), "{text}");
            assert_eq!(raw.uid(), tree.uid(), "{text}");
            assert_eq!(raw.is_object(), tree.is_object(), "{text}");
        }
    }

    #[test]
    fn a_duplicated_head_field_and_other_values_are_trees() {
        let dup = node(r#"{"kind":"Pod","kind":"Service","apiVersion":"v1"}"#);
        assert!(matches!(dup, Node::Tree(_)));
        assert_eq!(
            dup.kind(),
            Some("Service"),
            "the last one, as the tree keeps"
        );
        for text in ["null", "5", "\"x\"", "[1]"] {
            assert!(matches!(node(text), Node::Tree(_)), "{text}");
        }
        assert!(node("null").is_null());
    }

    #[test]
    fn decoding_names_the_field_path_without_the_text_position() {
        let text = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},
            "spec":{"containers":[{"name":"c","ports":[{"containerPort":"eighty"}]}]}}"#;
        for n in [node(text), Node::Tree(serde_json::from_str(text).unwrap())] {
            let Err(e) = n.decode::<crate::source::wire::core::Pod>() else {
                panic!("decoded");
            };
            assert_eq!(e.path, "spec.containers[0].ports[0].containerPort");
            assert_eq!(e.message, "invalid type: string \"eighty\", expected i32");
        }
    }
}
