//! The reader on small inline fixtures.

use super::*;

const FIXTURE: &str = r#"
import { X as Y } from './index.typings.js';
interface ImportFileRequest {
    /**
     * Publicly accessible external file URL.
     * @format WEB_URL
     * @minLength 2
     */
    url: string;
    /**
     * Path.
     * @maxLength 100
     */
    filePath?: string | null;
    /**
     * Labels.
     * @maxSize 500
     * @maxLength 200
     */
    labels?: string[] | null;
    urlParams?: Record<string, any> | null;
    mediaType?: MediaTypeWithLiterals;
    /** @readonly */
    media?: FileMedia;
}
interface FileMedia extends FileMediaOneOf, Other {
    audio?: AudioV2;
}
declare enum MediaType {
    /** comment */
    IMAGE = "IMAGE",
    VIDEO = "VIDEO"
}
/** @enumType */
type MediaTypeWithLiterals = MediaType | 'IMAGE' | 'VIDEO';
/** @docsIgnore */
type ImportFileValidationErrors = {
    ruleName?: 'SITE_QUOTA_EXCEEDED';
} | {
    ruleName?: 'OTHER_RULE';
};
type __Meta<K = string, M = unknown> = {
    getUrl: (context: any) => string;
    httpMethod: K;
};
declare function importFile(): __Meta<'POST', {}>;
export { type ImportFileRequest as Orig, importFile };
"#;

/// Tags, optionality, nullability, arrays, records, `extends` and enums are read.
#[test]
fn reads_tags_and_nesting() {
    let m = parse(FIXTURE);
    let i = &m.interfaces["ImportFileRequest"];
    let field = |n: &str| i.fields.iter().find(|f| f.name == n).expect(n);
    let url = field("url");
    assert!(!url.optional);
    assert_eq!(url.ty, Ty::String);
    assert_eq!(url.tags.limits[&Tag::MinLength], "2");
    assert_eq!(url.tags.format.as_deref(), Some("WEB_URL"));
    let path = field("filePath");
    assert!(path.optional && path.ty.nullable());
    assert_eq!(path.tags.limits[&Tag::MaxLength], "100");
    let labels = field("labels");
    assert_eq!(
        labels.ty,
        Ty::Union(vec![Ty::Array(Box::new(Ty::String)), Ty::Null])
    );
    assert_eq!(labels.tags.limits[&Tag::MaxSize], "500");
    assert_eq!(labels.tags.limits[&Tag::MaxLength], "200");
    assert!(
        matches!(field("urlParams").ty, Ty::Union(ref a) if a[0] == Ty::Record(Box::new(Ty::Any)))
    );
    assert!(field("media").tags.readonly);
    assert_eq!(
        m.interfaces["FileMedia"].extends,
        vec!["FileMediaOneOf".to_string(), "Other".to_string()]
    );
    assert_eq!(m.enums["MediaType"], vec!["IMAGE", "VIDEO"]);
    assert!(matches!(&m.aliases["MediaTypeWithLiterals"], Ty::Union(a) if a.len() == 3));
    assert_eq!(
        m.rule_names("ImportFileValidationErrors"),
        Some(vec![
            "SITE_QUOTA_EXCEEDED".to_string(),
            "OTHER_RULE".to_string()
        ])
    );
}

/// A type this reader can't model is skipped, and what follows it is still read.
#[test]
fn skips_what_it_cannot_read() {
    let m = parse(
        "type F<T> = T extends string ? 'a' : 'b';\n\
             interface A { f?: (x: number) => void; g?: number; }\n\
             interface B { h?: string; }",
    );
    assert!(!m.aliases.contains_key("F"));
    let a = &m.interfaces["A"];
    assert!(matches!(a.fields[0].ty, Ty::Opaque(_)));
    assert_eq!(a.fields[1].ty, Ty::Number);
    assert!(m.interfaces.contains_key("B"));
}
