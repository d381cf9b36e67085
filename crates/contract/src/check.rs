//! The comparison: each endpoint of the wire crate's statement ([`Endpoint`]) against Wix's
//! generated packages ([`Contract`]). It finds drifts; it neither prints nor exits.
//!
//! Per endpoint: the HTTP binding; every key of the request sample exists in the contract's
//! request interface, with the same JSON kind, not `@readonly`, and every required field is
//! sent; each declared limit equals the contract's tag, and each contract limit on a field the
//! client sends is declared; every key of the response sample exists in the contract's response
//! interface with the same JSON kind; the validation rule names are the same set.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::{Map, Value};
use wix_media_wire::contract::{Allowance, Difference, Endpoint, Limit, SDK_PACKAGES};

use crate::dts::{Field, Module, Tags, Ty};
use crate::sdk::Contract;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Side {
    Request,
    Response,
}

/// One difference between the wire crate's statement and the contract.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Drift {
    /// The SDK method, or the package for a version drift.
    pub subject: String,
    pub side: Side,
    /// The field's JSON path (`importFileRequests[].filePath`); empty for the endpoint itself.
    pub path: String,
    pub message: String,
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let side = match self.side {
            Side::Request => "",
            Side::Response => " response",
        };
        if self.path.is_empty() {
            write!(f, "{}{side}: {}", self.subject, self.message)
        } else {
            write!(f, "{}{side}: {}: {}", self.subject, self.path, self.message)
        }
    }
}

/// What a check found and how much it looked at.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub drifts: Vec<Drift>,
    pub endpoints: usize,
    pub fields: usize,
    pub limits: usize,
}

impl Outcome {
    pub fn summary(&self) -> String {
        let found = match self.drifts.len() {
            0 => "no drift".to_string(),
            1 => "1 drift".to_string(),
            n => format!("{n} drifts"),
        };
        format!(
            "{} endpoints, {} fields, {} limits checked, {found}",
            self.endpoints, self.fields, self.limits
        )
    }
}

/// Checks every endpoint against the contract. An [`Allowance`] quiets exactly one
/// difference; one that no longer occurs is itself reported, so the list can't go stale.
pub fn check(contract: &Contract, endpoints: &[Endpoint], allowed: &[Allowance]) -> Outcome {
    let mut out = Outcome::default();
    let mut used = vec![false; allowed.len()];
    for (name, pinned) in SDK_PACKAGES {
        let dir = name.trim_start_matches("@wix/");
        let read = contract
            .packages
            .iter()
            .find(|(p, _)| p.dir() == dir)
            .map(|(_, sdk)| sdk.version.as_str());
        if read != Some(pinned) {
            out.drifts.push(Drift {
                subject: name.to_string(),
                side: Side::Request,
                path: String::new(),
                message: format!(
                    "the wire crate cites {pinned}, the contract read is {}",
                    read.unwrap_or("absent")
                ),
            });
        }
    }
    for e in endpoints {
        out.endpoints += 1;
        let before = out.drifts.len();
        check_endpoint(contract, e, allowed, &mut used, &mut out);
        // One line per drift: the same field can be reached through several list items.
        let mut seen = BTreeSet::new();
        let found = out.drifts.split_off(before);
        out.drifts
            .extend(found.into_iter().filter(|d| seen.insert(d.clone())));
    }
    for (a, used) in allowed.iter().zip(used) {
        if !used {
            out.drifts.push(Drift {
                subject: a.method.to_string(),
                side: Side::Request,
                path: a.path.to_string(),
                message: format!(
                    "the allowed difference {:?} no longer occurs; remove it from ALLOWED",
                    a.difference
                ),
            });
        }
    }
    out
}

fn check_endpoint(
    contract: &Contract,
    e: &Endpoint,
    allowed: &[Allowance],
    used: &mut [bool],
    out: &mut Outcome,
) {
    let drift = |side, path: &str, message: String| Drift {
        subject: e.method.to_string(),
        side,
        path: path.to_string(),
        message,
    };
    let Some(sdk) = contract.packages.get(&e.package) else {
        let message = format!("package {} was not read", e.package.dir());
        out.drifts.push(drift(Side::Request, "", message));
        return;
    };
    match sdk.bindings.get(e.method) {
        None => out.drifts.push(drift(
            Side::Request,
            "",
            "the contract has no such method".to_string(),
        )),
        Some(b) if b.http != e.http || b.path != e.path => out.drifts.push(drift(
            Side::Request,
            "",
            format!(
                "HTTP binding is {} {} in wire, {} {} in the contract",
                e.http, e.path, b.http, b.path
            ),
        )),
        Some(_) => {}
    }
    let contract_rules: BTreeSet<&str> = sdk
        .rules
        .get(e.method)
        .map(|r| r.iter().map(String::as_str).collect())
        .unwrap_or_default();
    let wire_rules: BTreeSet<&str> = e.rules.iter().copied().collect();
    for r in contract_rules.difference(&wire_rules) {
        let message = format!("validation rule {r} is in the contract, not in wire");
        out.drifts.push(drift(Side::Request, "", message));
    }
    for r in wire_rules.difference(&contract_rules) {
        let message = format!("validation rule {r} is in wire, not in the contract");
        out.drifts.push(drift(Side::Request, "", message));
    }

    let mut fields = BTreeSet::new();
    let mut walk = Walk {
        module: &sdk.types,
        side: Side::Request,
        method: e.method,
        allowed,
        used,
        drifts: &mut out.drifts,
        fields: &mut fields,
        sent: BTreeMap::new(),
    };
    walk.root(&e.request, e.request_type);
    let sent = std::mem::take(&mut walk.sent);
    walk.side = Side::Response;
    walk.root(&e.response, e.response_type);
    out.fields += fields.len();

    let mut limits = BTreeSet::new();
    for l in &e.limits {
        limits.insert((l.path.clone(), l.tag));
        if let Some(d) = compare_limit(&sdk.types, e.request_type, l) {
            out.drifts.push(drift(Side::Request, &l.path, d));
        }
    }
    for (path, tags) in &sent {
        for (tag, value) in &tags.limits {
            if limits.insert((path.clone(), *tag)) {
                let message = format!(
                    "limit {} is {value} in the contract, none in wire",
                    tag.as_str()
                );
                out.drifts.push(drift(Side::Request, path, message));
            }
        }
    }
    out.limits += limits.len();
}

/// A declared limit against the contract's tag on the same field; `None` when they agree.
fn compare_limit(module: &Module, request_type: &str, l: &Limit) -> Option<String> {
    let wire = l.value.to_string();
    let tag = l.tag.as_str();
    let Some(field) = resolve(module, request_type, &l.path) else {
        return Some(format!(
            "limit {tag} is {wire} in wire, on a field the contract lacks"
        ));
    };
    match field.tags.limits.get(&l.tag) {
        None => Some(format!(
            "limit {tag} is {wire} in wire, absent in the contract"
        )),
        Some(c) if *c != wire => Some(format!(
            "limit {tag} is {wire} in wire, {c} in the contract"
        )),
        Some(_) => None,
    }
}

/// The contract's field at a JSON path (`importFileRequests[].filePath`) of an interface.
fn resolve<'a>(module: &'a Module, interface: &str, path: &str) -> Option<&'a Field> {
    let mut fields = interface_fields(module, interface, 0);
    let mut segments = path.split('.').peekable();
    while let Some(segment) = segments.next() {
        let name = segment.trim_end_matches("[]");
        let field = fields.iter().find(|f| f.name == name).copied()?;
        if segments.peek().is_none() {
            return Some(field);
        }
        let mut ty = &field.ty;
        for _ in 0..(segment.len() - name.len()) / 2 {
            let Shape::Arr(elem) = shape(module, ty, 0) else {
                return None;
            };
            ty = elem;
        }
        let Shape::Obj { fields: next, .. } = shape(module, ty, 0) else {
            return None;
        };
        fields = next;
    }
    None
}

/// What a contract type asks of a JSON value.
#[derive(Debug)]
enum Shape<'a> {
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

fn shape<'a>(module: &'a Module, ty: &'a Ty, depth: usize) -> Shape<'a> {
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
fn interface_fields<'a>(module: &'a Module, name: &str, depth: usize) -> Vec<&'a Field> {
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
struct Walk<'a, 'o> {
    module: &'a Module,
    side: Side,
    method: &'a str,
    allowed: &'a [Allowance],
    used: &'o mut [bool],
    drifts: &'o mut Vec<Drift>,
    fields: &'o mut BTreeSet<(Side, String)>,
    /// Request fields the client sends, with the contract's tags on them.
    sent: BTreeMap<String, Tags>,
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

    fn root(&mut self, sample: &Value, interface: &str) {
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

#[cfg(test)]
mod tests;
