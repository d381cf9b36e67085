//! Templates that build a field from a record's columns: `/Shop/{Type}/{Handle}`, with
//! filters after a `|` (`{media_details.file|dirname}`, `{title.rendered|html|trim}`).
//! Parsing and the filters live here; which names exist in a file is the mapping's business.

use std::fmt;

use super::header::normalize;

/// The filters a reference may pass its value through, in the order they are listed.
pub const FILTERS: [&str; 7] = [
    "dirname", "basename", "html", "trim", "slug", "lower", "upper",
];

/// One filter of a reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// Everything before the last `/` (trailing slashes ignored); "" when there is none.
    Dirname,
    /// Everything after the last `/` (trailing slashes ignored).
    Basename,
    /// HTML entities decoded, named and numeric (`&amp;`, `&#8211;`, `&#x2019;`).
    Html,
    /// Whitespace removed at both ends.
    Trim,
    /// Lowercase letters and digits, every other run of characters one `-`.
    Slug,
    Lower,
    Upper,
}

impl Filter {
    fn parse(name: &str) -> Option<Filter> {
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "dirname" => Filter::Dirname,
            "basename" => Filter::Basename,
            "html" => Filter::Html,
            "trim" => Filter::Trim,
            "slug" => Filter::Slug,
            "lower" => Filter::Lower,
            "upper" => Filter::Upper,
            _ => return None,
        })
    }

    /// `text` through this filter.
    pub fn apply(self, text: &str) -> String {
        match self {
            Filter::Dirname => {
                let path = text.trim_end_matches('/');
                path.rsplit_once('/')
                    .map(|(dir, _)| dir.to_string())
                    .unwrap_or_default()
            }
            Filter::Basename => {
                let path = text.trim_end_matches('/');
                path.rsplit('/').next().unwrap_or_default().to_string()
            }
            Filter::Html => html_escape::decode_html_entities(text).into_owned(),
            Filter::Trim => text.trim().to_string(),
            Filter::Slug => slug(text),
            Filter::Lower => text.to_lowercase(),
            Filter::Upper => text.to_uppercase(),
        }
    }
}

fn slug(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut dash = false;
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c);
        } else {
            dash = true;
        }
    }
    out
}

/// A reference to a column (or JSON path) and the filters its value goes through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The normalized column name or dotted JSON path.
    pub name: String,
    pub filters: Vec<Filter>,
}

impl Reference {
    /// The referenced value through every filter, in order.
    pub fn apply(&self, value: &str) -> String {
        let mut text = value.to_string();
        for filter in &self.filters {
            text = filter.apply(&text);
        }
        text
    }
}

/// A piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Literal(String),
    Ref(Reference),
}

/// A parsed template: literal text and `{references}`. `{{` and `}}` stand for braces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub pieces: Vec<Piece>,
    /// The template as written, for messages.
    pub text: String,
}

/// Why a template can't be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateError {
    Unclosed,
    StrayClose,
    EmptyReference,
    UnknownFilter(String),
    EmptyFilter,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TemplateError::Unclosed => write!(f, "a `{{` is not closed by `}}`"),
            TemplateError::StrayClose => {
                write!(f, "a `}}` closes nothing (write `}}}}` for a brace)")
            }
            TemplateError::EmptyReference => write!(f, "`{{}}` names no column"),
            TemplateError::UnknownFilter(name) => write!(
                f,
                "unknown filter {name:?}; filters are {}",
                FILTERS.join(", ")
            ),
            TemplateError::EmptyFilter => write!(f, "an empty filter after `|`"),
        }
    }
}

impl Template {
    /// True when `text` is meant as a template rather than a column name.
    pub fn is_template(text: &str) -> bool {
        text.contains('{') || text.contains('}')
    }

    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '}' => return Err(TemplateError::StrayClose),
                '{' => {
                    let mut inner = String::new();
                    loop {
                        match chars.next() {
                            None => return Err(TemplateError::Unclosed),
                            Some('}') => break,
                            Some('{') => return Err(TemplateError::Unclosed),
                            Some(c) => inner.push(c),
                        }
                    }
                    if !literal.is_empty() {
                        pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Ref(parse_reference(&inner)?));
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        Ok(Template {
            pieces,
            text: text.to_string(),
        })
    }

    /// The references, in order.
    pub fn references(&self) -> impl Iterator<Item = &Reference> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Ref(r) => Some(r),
            Piece::Literal(_) => None,
        })
    }
}

fn parse_reference(inner: &str) -> Result<Reference, TemplateError> {
    let mut parts = inner.split('|');
    let name = normalize(parts.next().unwrap_or_default());
    if name.is_empty() {
        return Err(TemplateError::EmptyReference);
    }
    let filters = parts
        .map(|f| {
            if f.trim().is_empty() {
                Err(TemplateError::EmptyFilter)
            } else {
                Filter::parse(f).ok_or_else(|| TemplateError::UnknownFilter(f.trim().to_string()))
            }
        })
        .collect::<Result<_, _>>()?;
    Ok(Reference { name, filters })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(template: &str, value: &str) -> String {
        let t = Template::parse(template).expect("valid template");
        t.pieces
            .iter()
            .map(|p| match p {
                Piece::Literal(l) => l.clone(),
                Piece::Ref(r) => r.apply(value),
            })
            .collect()
    }

    /// Literals, references, escaped braces and chained filters parse; names are normalized.
    #[test]
    fn parses_templates() {
        let t = Template::parse("/Shop/{ Type }/{Handle|slug|upper}{{x}}").expect("valid");
        assert_eq!(
            t.pieces,
            vec![
                Piece::Literal("/Shop/".into()),
                Piece::Ref(Reference {
                    name: "type".into(),
                    filters: vec![]
                }),
                Piece::Literal("/".into()),
                Piece::Ref(Reference {
                    name: "handle".into(),
                    filters: vec![Filter::Slug, Filter::Upper]
                }),
                Piece::Literal("{x}".into()),
            ]
        );
        assert!(Template::is_template("{a}") && !Template::is_template("Image Src"));
    }

    /// Bad templates say what is wrong; an unknown filter lists the filters there are.
    #[test]
    fn rejects_bad_templates() {
        let err = |t: &str| Template::parse(t).expect_err(t);
        assert_eq!(err("/a/{Type"), TemplateError::Unclosed);
        assert_eq!(err("/a/Type}"), TemplateError::StrayClose);
        assert_eq!(err("/a/{ }"), TemplateError::EmptyReference);
        assert_eq!(err("{a|}"), TemplateError::EmptyFilter);
        let unknown = err("{a|dirnam}");
        assert_eq!(unknown, TemplateError::UnknownFilter("dirnam".into()));
        let message = unknown.to_string();
        assert!(
            message.contains("dirname, basename, html, trim, slug"),
            "{message}"
        );
    }

    /// Each filter does what the README says, and filters chain left to right.
    #[test]
    fn filters_transform_values() {
        assert_eq!(render("{f|dirname}", "2021/03/photo.jpg"), "2021/03");
        assert_eq!(render("{f|dirname}", "photo.jpg"), "");
        assert_eq!(render("{f|dirname}", "a/b/"), "a");
        assert_eq!(render("{f|basename}", "2021/03/photo.jpg"), "photo.jpg");
        assert_eq!(render("{f|basename}", "photo.jpg"), "photo.jpg");
        assert_eq!(
            render(
                "{f|html}",
                "Photo &#8211; Spring &amp; Co&#x2019;s &eacute;t&eacute;"
            ),
            "Photo – Spring & Co’s été"
        );
        assert_eq!(render("{f|html}", "AT&T &bogus;"), "AT&T &bogus;");
        assert_eq!(render("{f|trim}", "  a b \t"), "a b");
        assert_eq!(
            render("{f|slug}", "  Summer Hats & Caps!  "),
            "summer-hats-caps"
        );
        assert_eq!(render("{f|slug}", "Café Crème"), "café-crème");
        assert_eq!(render("{f|html|trim|upper}", " &lt;b&gt; "), "<B>");
        assert_eq!(render("/x/{f|dirname|basename}", "a/b/c.png"), "/x/b");
    }
}
