//! One sample walked through the contract's types: each key must be a field of the interface
//! at that point, each value of the field's JSON kind (and of its enum's values), no `@readonly`
//! field sent, no required field missing. Also records the request fields sent, with the
//! contract's tags on them, for the limit check.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};
use wix_media_wire::contract::{Allowance, Difference};

use super::{Drift, Side};
use crate::dts::{Field, Module, Tags, Ty};

/// What a contract type asks of a JSON value.
#[derive(Debug)]
pub(super) enum Shape<'a> {
    /// A string; `Some` lists the values an enum allows.
    Str(Option<BTreeSet<String>>),
    Num,
    Bool,
    Any,
    Obj {
        name: String,
        fields: Vec<&'a Field>,
    },
    Map(&'a Ty),
    Arr(&'a Ty),
    Alts(Vec<Shape<'a>>),
    /// A type this checker can't judge, and why.
    Unknown(String),
}

impl Shape<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Shape::Str(_) => "string",
            Shape::Num => "number",
            Shape::Bool => "boolean",
            Shape::Obj { .. } | Shape::Map(_) => "object",
            Shape::Arr(_) => "array",
            Shape::Any | Shape::Alts(_) | Shape::Unknown(_) => "?",
        }
    }
}

/// Bounds alias and `extends` chains, so a cycle in the contract can't hang the check.
const MAX_DEPTH: usize = 32;

pub(super) fn shape<'a>(module: &'a Module, ty: &'a Ty, depth: usize) -> Shape<'a> {
    if depth > MAX_DEPTH {
        return Shape::Unknown("a type that refers to itself".to_string());
    }
    match ty {
        Ty::String | Ty::Date => Shape::Str(None),
        Ty::Literal(s) => Shape::Str(Some(BTreeSet::from([s.clone()]))),
        Ty::Number => Shape::Num,
        Ty::Boolean => Shape::Bool,
        Ty::Any => Shape::Any,
        Ty::Null => Shape::Unknown("only null".to_string()),
        Ty::Array(elem) => Shape::Arr(elem),
        Ty::Record(value) => Shape::Map(value),
        Ty::Object(fields) => Shape::Obj {
            name: "an inline object".to_string(),
            fields: fields.iter().collect(),
        },
        Ty::Opaque(why) => Shape::Unknown(why.clone()),
        Ty::Named(name) => {
            if module.interfaces.contains_key(name) {
                Shape::Obj {
                    name: name.clone(),
                    fields: interface_fields(module, name, depth),
                }
            } else if let Some(values) = module.enums.get(name) {
                Shape::Str(Some(values.iter().cloned().collect()))
            } else if let Some(alias) = module.aliases.get(name) {
                shape(module, alias, depth + 1)
            } else {
                Shape::Unknown(format!("`{name}`, which the contract does not define"))
            }
        }
        Ty::Union(alts) => {
            let mut shapes: Vec<Shape> = alts
                .iter()
                .filter(|t| **t != Ty::Null)
                .map(|t| shape(module, t, depth + 1))
                .collect();
            if shapes.iter().all(|s| matches!(s, Shape::Str(_))) && !shapes.is_empty() {
                let mut all = BTreeSet::new();
                for s in shapes {
                    match s {
                        Shape::Str(Some(values)) => all.extend(values),
                        _ => return Shape::Str(None),
                    }
                }
                Shape::Str(Some(all))
            } else if shapes.len() == 1 {
                shapes.pop().expect("one alternative")
            } else {
                Shape::Alts(shapes)
            }
        }
    }
}

/// An interface's own fields, then those it `extends` that it doesn't redeclare.
pub(super) fn interface_fields<'a>(module: &'a Module, name: &str, depth: usize) -> Vec<&'a Field> {
    let Some(i) = module.interfaces.get(name) else {
        return Vec::new();
    };
    let mut fields: Vec<&Field> = i.fields.iter().collect();
    if depth > MAX_DEPTH {
        return fields;
    }
    for parent in &i.extends {
        for f in interface_fields(module, parent, depth + 1) {
            if !fields.iter().any(|g| g.name == f.name) {
                fields.push(f);
            }
        }
    }
    fields
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// A walk of one sample through the contract's types.
pub(super) struct Walk<'a, 'o> {
    pub module: &'a Module,
    pub side: Side,
    pub method: &'a str,
    pub allowed: &'a [Allowance],
    pub used: &'o mut [bool],
    pub drifts: &'o mut Vec<Drift>,
    pub fields: &'o mut BTreeSet<(Side, String)>,
    /// Request fields the client sends, with the contract's tags on them.
    pub sent: BTreeMap<String, Tags>,
}

impl<'a> Walk<'a, '_> {
    fn drift(&mut self, path: &str, message: String) {
        self.drifts.push(Drift {
            subject: self.method.to_string(),
            side: self.side,
            path: path.to_string(),
            message,
        });
    }

    fn allows(&mut self, path: &str, difference: Difference) -> bool {
        let hit = self
            .allowed
            .iter()
            .position(|a| a.method == self.method && a.path == path && a.difference == difference);
        if let Some(i) = hit {
            self.used[i] = true;
        }
        hit.is_some()
    }

    pub fn root(&mut self, sample: &Value, interface: &str) {
        if !self.module.interfaces.contains_key(interface) {
            let message = format!("the contract has no interface {interface}");
            self.drift("", message);
            return;
        }
        let fields = interface_fields(self.module, interface, 0);
        match sample {
            Value::Object(map) => self.object(map, interface, &fields, ""),
            other => {
                let message = format!("is {} in wire, object in the contract", json_kind(other));
                self.drift("", message);
            }
        }
    }

    fn value(&mut self, v: &Value, ty: &'a Ty, path: &str) {
        if v.is_null() {
            if !ty.nullable() {
                let message = "is null in wire; the contract's type is not nullable".to_string();
                self.drift(path, message);
            }
            return;
        }
        let s = shape(self.module, ty, 0);
        self.matches(v, s, path);
    }

    fn matches(&mut self, v: &Value, s: Shape<'a>, path: &str) {
        match (v, s) {
            (_, Shape::Any) => {}
            (_, Shape::Unknown(why)) => self.drift(
                path,
                format!("the contract's type is beyond this check: {why}"),
            ),
            (_, Shape::Alts(alts)) => {
                let kinds: Vec<&str> = alts.iter().map(Shape::kind).collect();
                match alts.into_iter().find(|a| a.kind() == json_kind(v)) {
                    Some(a) => self.matches(v, a, path),
                    None => {
                        let message = format!(
                            "is {} in wire, {} in the contract",
                            json_kind(v),
                            kinds.join(" or ")
                        );
                        self.drift(path, message);
                    }
                }
            }
            (Value::String(s), Shape::Str(Some(values))) if !values.contains(s) => {
                let message = format!(
                    "value `{s}` is not one of the contract's: {}",
                    values.into_iter().collect::<Vec<_>>().join(", ")
                );
                self.drift(path, message);
            }
            (Value::String(_), Shape::Str(_))
            | (Value::Number(_), Shape::Num)
            | (Value::Bool(_), Shape::Bool) => {}
            (Value::Object(map), Shape::Obj { name, fields }) => {
                self.object(map, &name, &fields, path)
            }
            (Value::Object(map), Shape::Map(value_ty)) => {
                for (k, x) in map {
                    self.value(x, value_ty, &join(path, k));
                }
            }
            (Value::Array(items), Shape::Arr(elem)) => {
                for x in items {
                    self.value(x, elem, &format!("{path}[]"));
                }
            }
            (v, s) => {
                let contract = match &s {
                    Shape::Obj { name, .. } => format!("object ({name})"),
                    Shape::Arr(elem) => {
                        let e = shape(self.module, elem, 0);
                        match e {
                            Shape::Obj { name, .. } => format!("array of object ({name})"),
                            other => format!("array of {}", other.kind()),
                        }
                    }
                    other => other.kind().to_string(),
                };
                let message = format!("is {} in wire, {contract} in the contract", json_kind(v));
                self.drift(path, message);
            }
        }
    }

    fn object(&mut self, map: &Map<String, Value>, name: &str, fields: &[&'a Field], path: &str) {
        for (k, x) in map {
            let child = join(path, k);
            let Some(field) = fields.iter().find(|f| f.name == *k).copied() else {
                let who = match self.side {
                    Side::Request => "the client sends it",
                    Side::Response => "the server emits it",
                };
                self.drift(
                    &child,
                    format!("{who}; the contract's {name} has no such field"),
                );
                continue;
            };
            self.fields.insert((self.side, child.clone()));
            if self.side == Side::Request {
                if field.tags.readonly && !self.allows(&child, Difference::SendsReadonly) {
                    let message = "the client sends it; the contract marks it @readonly";
                    self.drift(&child, message.to_string());
                }
                self.sent.insert(child.clone(), field.tags.clone());
            }
            self.value(x, &field.ty, &child);
        }
        if self.side == Side::Request {
            for f in fields {
                if !f.optional && !map.contains_key(&f.name) {
                    let message =
                        format!("the contract's {name} requires it; the client never sends it");
                    self.drift(&join(path, &f.name), message);
                }
            }
        }
    }
}
