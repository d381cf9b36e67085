//! A small, honest reader of the generated `.d.ts` files: `interface X extends A, B { /** tags */
//! name?: Type; }`, `declare enum`, and `type X = …` aliases (string-literal unions and the
//! `{ ruleName?: '…' } | …` validation errors). Types are unions, `T[]`, `Record<K, V>`, inline
//! objects, literals and names. It is not TypeScript: statements it can't read are skipped whole,
//! and a member type it can't read is kept as [`Ty::Opaque`], which the check reports if used.

use std::collections::BTreeMap;

use wix_media_wire::contract::Tag;

use lex::{Tok, tokenize};

mod lex;

/// A type expression as written.
#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    String,
    Number,
    Boolean,
    /// `Date`: an RFC 3339 string on the REST wire.
    Date,
    Any,
    Null,
    Literal(String),
    Named(String),
    Array(Box<Ty>),
    /// `Record<K, V>`: an object with free keys.
    Record(Box<Ty>),
    Object(Vec<Field>),
    Union(Vec<Ty>),
    /// Something this reader does not model (a function type, a conditional type…).
    Opaque(String),
}

impl Ty {
    /// Whether `null` is one of the alternatives.
    pub fn nullable(&self) -> bool {
        match self {
            Ty::Null => true,
            Ty::Union(alts) => alts.iter().any(Ty::nullable),
            _ => false,
        }
    }
}

/// A member's JSDoc tags that the check reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tags {
    /// Limit tags with their value as written (`@maxLength 100` → `"100"`).
    pub limits: BTreeMap<Tag, String>,
    pub readonly: bool,
    pub format: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub optional: bool,
    pub ty: Ty,
    pub tags: Tags,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Interface {
    pub name: String,
    pub extends: Vec<String>,
    pub fields: Vec<Field>,
}

/// Everything read from one `.d.ts` file.
#[derive(Debug, Clone, Default)]
pub struct Module {
    pub interfaces: BTreeMap<String, Interface>,
    pub aliases: BTreeMap<String, Ty>,
    /// `declare enum X { A = "A" }` → the values.
    pub enums: BTreeMap<String, Vec<String>>,
}

impl Module {
    /// The rule names of a `type XValidationErrors = { ruleName?: 'A' } | …` alias.
    pub fn rule_names(&self, alias: &str) -> Option<Vec<String>> {
        let ty = self.aliases.get(alias)?;
        let alts = match ty {
            Ty::Union(alts) => alts.as_slice(),
            one => std::slice::from_ref(one),
        };
        let mut names = Vec::new();
        for alt in alts {
            if let Ty::Object(fields) = alt {
                for f in fields.iter().filter(|f| f.name == "ruleName") {
                    if let Ty::Literal(s) = &f.ty {
                        names.push(s.clone());
                    }
                }
            }
        }
        Some(names)
    }
}

/// The tags of one JSDoc comment.
pub fn parse_tags(doc: &str) -> Tags {
    let mut tags = Tags::default();
    for line in doc.lines() {
        let line = line.trim().trim_start_matches('*').trim();
        let Some(rest) = line.strip_prefix('@') else {
            continue;
        };
        let (name, value) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        let value = value.trim();
        if name == "readonly" {
            tags.readonly = true;
        } else if name == "format" {
            tags.format = Some(value.to_string());
        } else if let Some(tag) = Tag::ALL.into_iter().find(|t| t.as_str() == name) {
            let first = value.split_whitespace().next().unwrap_or_default();
            tags.limits.insert(tag, first.to_string());
        }
    }
    tags
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

type Parsed<T> = Result<T, String>;

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn peek_at(&self, n: usize) -> Option<&Tok> {
        self.toks.get(self.pos + n)
    }

    fn bump(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn is_punct(&self, c: char) -> bool {
        self.peek() == Some(&Tok::Punct(c))
    }

    fn eat_punct(&mut self, c: char) -> bool {
        let yes = self.is_punct(c);
        if yes {
            self.pos += 1;
        }
        yes
    }

    fn expect_punct(&mut self, c: char) -> Parsed<()> {
        if self.eat_punct(c) {
            Ok(())
        } else {
            Err(format!("expected `{c}`, found {:?}", self.peek()))
        }
    }

    fn ident(&mut self) -> Parsed<String> {
        match self.bump() {
            Some(Tok::Ident(s)) => Ok(s),
            other => Err(format!("expected a name, found {other:?}")),
        }
    }

    /// Skips to just past the `;` that ends this statement (or the `}` that closes a block
    /// statement), outside any brackets.
    fn skip_statement(&mut self) {
        let mut depth = 0usize;
        while let Some(t) = self.bump() {
            match t {
                Tok::Punct('{' | '(' | '[') => depth += 1,
                Tok::Punct('}' | ')' | ']') => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 && t == Tok::Punct('}') && !self.continues_type() {
                        return;
                    }
                }
                Tok::Punct(';') if depth == 0 => return,
                _ => {}
            }
        }
    }

    /// After a `}`: whether the statement goes on (`} | {`, `}[]`, `};`).
    fn continues_type(&self) -> bool {
        matches!(
            self.peek(),
            Some(Tok::Punct('|' | '&' | '[' | ';' | ',' | ')' | '>'))
        )
    }

    /// Skips `<…>` if it comes next.
    fn skip_generics(&mut self) {
        if !self.is_punct('<') {
            return;
        }
        let mut depth = 0usize;
        while let Some(t) = self.bump() {
            match t {
                Tok::Punct('<') => depth += 1,
                Tok::Punct('>') => {
                    depth -= 1;
                    if depth == 0 {
                        return;
                    }
                }
                _ => {}
            }
        }
    }

    fn module(&mut self) -> Module {
        let mut m = Module::default();
        while let Some(t) = self.peek().cloned() {
            let start = self.pos;
            let done = match t {
                Tok::Doc(_) | Tok::Punct(';') => {
                    self.pos += 1;
                    Ok(())
                }
                Tok::Ident(word) => match word.as_str() {
                    "declare" | "export" if self.peek_at(1) != Some(&Tok::Punct('{')) => {
                        self.pos += 1;
                        Ok(())
                    }
                    "interface" => self.interface().map(|i| {
                        m.interfaces.insert(i.name.clone(), i);
                    }),
                    "enum" => self.enumeration().map(|(name, values)| {
                        m.enums.insert(name, values);
                    }),
                    "type" => self.alias().map(|(name, ty)| {
                        m.aliases.insert(name, ty);
                    }),
                    _ => Err(String::new()),
                },
                _ => Err(String::new()),
            };
            if done.is_err() {
                self.pos = start;
                self.skip_statement();
            }
        }
        m
    }

    fn interface(&mut self) -> Parsed<Interface> {
        self.pos += 1;
        let name = self.ident()?;
        self.skip_generics();
        let mut extends = Vec::new();
        if self.peek() == Some(&Tok::Ident("extends".to_string())) {
            self.pos += 1;
            loop {
                extends.push(self.ident()?);
                self.skip_generics();
                if !self.eat_punct(',') {
                    break;
                }
            }
        }
        self.expect_punct('{')?;
        let fields = self.members()?;
        Ok(Interface {
            name,
            extends,
            fields,
        })
    }

    /// Members up to and including the closing `}`.
    fn members(&mut self) -> Parsed<Vec<Field>> {
        let mut fields = Vec::new();
        let mut doc = String::new();
        loop {
            match self.peek().cloned() {
                None => return Err("unclosed `{`".to_string()),
                Some(Tok::Punct('}')) => {
                    self.pos += 1;
                    return Ok(fields);
                }
                Some(Tok::Doc(d)) => {
                    self.pos += 1;
                    doc = d;
                }
                Some(Tok::Punct(';' | ',')) => self.pos += 1,
                Some(_) => {
                    fields.push(self.member(&doc));
                    doc.clear();
                }
            }
        }
    }

    /// One member; one this reader can't type becomes [`Ty::Opaque`] and is skipped whole.
    fn member(&mut self, doc: &str) -> Field {
        let start = self.pos;
        match self.typed_member(doc) {
            Ok(f) => f,
            Err(e) => {
                self.pos = start;
                let name = match self.peek() {
                    Some(Tok::Ident(s) | Tok::Str(s)) => s.clone(),
                    _ => String::new(),
                };
                let mut depth = 0usize;
                while let Some(t) = self.peek() {
                    match t {
                        Tok::Punct('{' | '(' | '[') => depth += 1,
                        Tok::Punct('}') if depth == 0 => break,
                        Tok::Punct('}' | ')' | ']') => depth = depth.saturating_sub(1),
                        Tok::Punct(';' | ',') if depth == 0 => break,
                        _ => {}
                    }
                    self.pos += 1;
                }
                Field {
                    name,
                    optional: true,
                    ty: Ty::Opaque(e),
                    tags: parse_tags(doc),
                }
            }
        }
    }

    fn typed_member(&mut self, doc: &str) -> Parsed<Field> {
        if self.peek() == Some(&Tok::Ident("readonly".to_string()))
            && matches!(self.peek_at(1), Some(Tok::Ident(_) | Tok::Str(_)))
        {
            self.pos += 1;
        }
        let name = match self.bump() {
            Some(Tok::Ident(s) | Tok::Str(s)) => s,
            other => return Err(format!("expected a member name, found {other:?}")),
        };
        let optional = self.eat_punct('?');
        self.expect_punct(':')?;
        let ty = self.union()?;
        if !matches!(self.peek(), Some(Tok::Punct(';' | ',' | '}'))) {
            return Err(format!(
                "unexpected {:?} after `{name}`'s type",
                self.peek()
            ));
        }
        Ok(Field {
            name,
            optional,
            ty,
            tags: parse_tags(doc),
        })
    }

    fn enumeration(&mut self) -> Parsed<(String, Vec<String>)> {
        self.pos += 1;
        let name = self.ident()?;
        self.expect_punct('{')?;
        let mut values = Vec::new();
        loop {
            match self.bump() {
                Some(Tok::Punct('}')) => return Ok((name, values)),
                Some(Tok::Doc(_) | Tok::Punct(',')) => {}
                Some(Tok::Ident(member)) => {
                    if self.eat_punct('=') {
                        match self.bump() {
                            Some(Tok::Str(v) | Tok::Num(v)) => values.push(v),
                            other => return Err(format!("enum value {other:?}")),
                        }
                    } else {
                        values.push(member);
                    }
                }
                other => return Err(format!("in enum {name}: {other:?}")),
            }
        }
    }

    fn alias(&mut self) -> Parsed<(String, Ty)> {
        self.pos += 1;
        let name = self.ident()?;
        self.skip_generics();
        self.expect_punct('=')?;
        let ty = self.union()?;
        self.expect_punct(';')?;
        Ok((name, ty))
    }

    fn union(&mut self) -> Parsed<Ty> {
        self.eat_punct('|');
        let mut alts = vec![self.postfix()?];
        while self.eat_punct('|') {
            alts.push(self.postfix()?);
        }
        Ok(if alts.len() == 1 {
            alts.pop().expect("one alternative")
        } else {
            Ty::Union(alts)
        })
    }

    fn postfix(&mut self) -> Parsed<Ty> {
        let mut ty = self.primary()?;
        while self.is_punct('[') && self.peek_at(1) == Some(&Tok::Punct(']')) {
            self.pos += 2;
            ty = Ty::Array(Box::new(ty));
        }
        Ok(ty)
    }

    fn primary(&mut self) -> Parsed<Ty> {
        match self.bump() {
            Some(Tok::Punct('(')) => {
                let ty = self.union()?;
                self.expect_punct(')')?;
                if self.peek() == Some(&Tok::Arrow) {
                    return Err("a function type".to_string());
                }
                Ok(ty)
            }
            Some(Tok::Punct('{')) => Ok(Ty::Object(self.members()?)),
            Some(Tok::Str(s)) => Ok(Ty::Literal(s)),
            Some(Tok::Num(_)) => Ok(Ty::Number),
            Some(Tok::Ident(word)) => self.named(word),
            other => Err(format!("expected a type, found {other:?}")),
        }
    }

    fn named(&mut self, word: String) -> Parsed<Ty> {
        let simple = match word.as_str() {
            "string" => Some(Ty::String),
            "number" | "bigint" => Some(Ty::Number),
            "boolean" => Some(Ty::Boolean),
            "Date" => Some(Ty::Date),
            "any" | "unknown" => Some(Ty::Any),
            "null" | "undefined" => Some(Ty::Null),
            "keyof" | "typeof" | "infer" => return Err(format!("`{word}` types")),
            _ => None,
        };
        if let Some(ty) = simple {
            return Ok(ty);
        }
        let mut name = word;
        while self.is_punct('.') {
            self.pos += 1;
            name = format!("{name}.{}", self.ident()?);
        }
        if self.eat_punct('<') {
            let mut args = vec![self.union()?];
            while self.eat_punct(',') {
                args.push(self.union()?);
            }
            self.expect_punct('>')?;
            return match (name.as_str(), args.len()) {
                ("Record", 2) => Ok(Ty::Record(Box::new(args.pop().expect("two arguments")))),
                ("Array", 1) => Ok(Ty::Array(Box::new(args.pop().expect("one argument")))),
                _ => Err(format!("the generic type `{name}<…>`")),
            };
        }
        Ok(Ty::Named(name))
    }
}

/// Reads one `.d.ts` file. Never fails: what it can't read is skipped or opaque.
pub fn parse(src: &str) -> Module {
    Parser {
        toks: tokenize(src),
        pos: 0,
    }
    .module()
}

#[cfg(test)]
mod tests;
