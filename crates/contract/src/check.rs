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

use wix_media_wire::contract::{Allowance, Endpoint, Limit, SDK_PACKAGES};

use crate::dts::{Field, Module};
use crate::sdk::Contract;
use walk::{Shape, Walk, interface_fields, shape};

mod walk;

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

#[cfg(test)]
mod tests;
