//! Mapping another platform's export: templates, nested JSON paths, unmapped fields,
//! fill-down, skipped rows, label separators, delimiters, plain lists, files that are not
//! text, and the errors and hints for common slips.

use super::super::{ColumnMap, Entry, FillDown, Format, ManifestError, ManifestOptions, open};
use super::{invalid, read_all, temp_manifest, valid};

fn options(columns: &[&str]) -> ManifestOptions {
    ManifestOptions {
        columns: ColumnMap::parse_all(columns).expect("valid mappings"),
        ..Default::default()
    }
}

fn fill(items: &[&str]) -> Vec<FillDown> {
    items.iter().map(|i| i.parse().expect("valid")).collect()
}

/// The fatal error opening `content` as `name` with `options`.
fn open_error(name: &str, content: &[u8], options: &ManifestOptions) -> String {
    let (_dir, path) = temp_manifest(name, content);
    match open(&path, options) {
        Ok(_) => panic!("{name} should not open"),
        Err(err) => err.to_string(),
    }
}

const SHOPIFY: &str = "\
Handle,Title,Type,Tags,Image Src,Image Alt Text
red-shoe,Red Shoe,Shoes,\"shoes, red\",https://cdn.test/red-1.jpg,Red shoe
red-shoe,,,,https://cdn.test/red-2.jpg,
red-shoe,,,,,
straw-hat,Straw Hat,,summer,https://cdn.test/hat.jpg,
blue-boot,Blue Boot,Boots,,https://cdn.test/boot.jpg,
";

/// Templates build folders from columns, filled down within a product (reset when the
/// handle changes); rows without an image are skipped, not invalid.
#[test]
fn templates_fill_down_and_skip_a_shopify_export() {
    let mut options = options(&[
        "source=Image Src",
        "folder_path=/Shop/{Type|slug}/{Handle}",
        "labels=Tags",
    ]);
    options.fill_down = fill(&["Type@Handle", "Tags@Handle"]);
    options.skip_empty_source = true;
    options.labels_separator = ",".to_string();
    let (_dir, path) = temp_manifest("products.csv", SHOPIFY.as_bytes());
    let entries = read_all(&path, &options);
    assert_eq!(entries.len(), 5);
    let first = valid(&entries[0]);
    assert_eq!(first.folder_path, "/Shop/shoes/red-shoe");
    assert_eq!(first.labels, ["shoes", "red"]);
    let second = valid(&entries[1]);
    assert_eq!(
        second.folder_path, "/Shop/shoes/red-shoe",
        "Type filled down"
    );
    assert_eq!(second.labels, ["shoes", "red"], "Tags filled down");
    let Entry::Skipped(skipped) = &entries[2] else {
        panic!(
            "a variant row without an image is skipped: {:?}",
            entries[2]
        )
    };
    assert_eq!(skipped.line, 4);
    let hat = invalid(&entries[3]);
    assert_eq!(
        (hat.line, hat.field.as_str()),
        (5, "folder_path"),
        "a new handle doesn't inherit the previous product's Type: {hat:?}"
    );
    assert_eq!(valid(&entries[4]).folder_path, "/Shop/boots/blue-boot");

    options.skip_empty_source = false;
    let entries = read_all(&path, &options);
    let variant = invalid(&entries[2]);
    assert_eq!(variant.field, "source");
    assert!(
        variant.reason.contains("--skip-empty-source"),
        "{variant:?}"
    );
}

/// Without a group, a column fills down across the whole file; state is per column.
#[test]
fn fill_down_without_a_group_spans_the_file() {
    let mut options = options(&["folder_path=/{Dept}/{Shelf}"]);
    options.fill_down = fill(&["Dept", "Shelf"]);
    let (_dir, path) = temp_manifest(
        "f.csv",
        b"source,Dept,Shelf\nhttps://x.test/1.jpg,A,1\nhttps://x.test/2.jpg,,2\nhttps://x.test/3.jpg,B,\n",
    );
    let folders: Vec<String> = read_all(&path, &options)
        .iter()
        .map(|e| valid(e).folder_path.clone())
        .collect();
    assert_eq!(folders, ["/A/1", "/A/2", "/B/2"]);
}

const WORDPRESS: &str = r#"[
  {"id": 101, "source_url": "https://wp.test/wp-content/uploads/2021/03/photo.jpg",
   "title": {"rendered": "Photo &#8211; Spring &amp; more"}, "media_type": "image",
   "mime_type": "image/jpeg", "media_details": {"file": "2021/03/photo.jpg", "width": 10}},
  {"id": 102, "source_url": "https://wp.test/wp-content/uploads/2021/04/price-list.pdf",
   "title": {"rendered": "Price list"}, "media_type": "file",
   "mime_type": "application/pdf", "media_details": {"filesize": 100}}
]"#;

/// Dotted JSON paths feed fields and templates; `html` decodes entities; WordPress's own
/// `media_type` is ignored once unmapped, and still usable in a template.
#[test]
fn nested_paths_and_unmapped_fields_read_wordpress_media() {
    let options = options(&[
        "source=source_url",
        "display_name={title.rendered|html|trim}",
        "folder_path=/WordPress/{media_details.file|dirname}",
        "external_id=id",
        "labels=wordpress|{media_type}",
        "media_type=",
    ]);
    let (_dir, path) = temp_manifest("media.json", WORDPRESS.as_bytes());
    let entries = read_all(&path, &options);
    let photo = valid(&entries[0]);
    assert_eq!(photo.display_name, "Photo – Spring & more");
    assert_eq!(photo.folder_path, "/WordPress/2021/03");
    assert_eq!(photo.external_id.as_deref(), Some("101"));
    assert_eq!(photo.labels, ["wordpress", "image"]);
    assert_eq!(photo.media_type, None);
    let pdf = valid(&entries[1]);
    assert_eq!(
        pdf.folder_path, "/WordPress",
        "no media_details.file: the literal part"
    );
    assert_eq!(pdf.mime_type.as_deref(), Some("application/pdf"));

    // Left mapped, WordPress's `file` is refused with the way out.
    let mapped = self::options(&["source=source_url", "display_name=title.rendered"]);
    let entries = read_all(&path, &mapped);
    let bad = invalid(&entries[1]);
    assert_eq!(bad.field, "media_type");
    assert!(bad.reason.contains("--column media_type="), "{bad:?}");
    // An object where text is expected names its keys and the dotted path to use.
    let object = self::options(&["source=source_url", "display_name=title", "media_type="]);
    let bad = invalid(&read_all(&path, &object)[0]).clone();
    assert_eq!(bad.field, "display_name");
    assert!(
        bad.reason.contains("found an object with keys rendered")
            && bad.reason.contains("--column display_name=<key>.rendered"),
        "{bad:?}"
    );
}

/// A mapped column, template reference or fill-down column missing from a CSV header is
/// fatal, naming the file, line, the option, the columns found and a near match.
#[test]
fn missing_csv_columns_are_fatal_with_what_was_found() {
    let err = open_error(
        "p.csv",
        SHOPIFY.as_bytes(),
        &options(&["source=Image Src", "display_name=Image Alt"]),
    );
    assert!(
        err.contains("p.csv")
            && err.contains("line 1")
            && err.contains("no \"image alt\" column (--column display_name=image alt)")
            && err.contains("did you mean \"Image Alt Text\"?")
            && err.contains("columns found: \"Handle\", \"Title\""),
        "{err}"
    );
    let err = open_error(
        "p.csv",
        SHOPIFY.as_bytes(),
        &options(&["source=Image Src", "folder_path=/Shop/{Vendor}"]),
    );
    assert!(
        err.contains("no \"vendor\" column (--column folder_path=/Shop/{Vendor})"),
        "{err}"
    );
    let mut filled = options(&["source=Image Src"]);
    filled.fill_down = fill(&["Type@Product"]);
    let err = open_error("p.csv", SHOPIFY.as_bytes(), &filled);
    assert!(
        err.contains("no \"product\" column (--fill-down type@product)"),
        "{err}"
    );
}

/// A JSON key or path found in none of the first records is fatal, listing the keys found
/// (and, for a path, the keys where it stops); a key some records lack is fine.
#[test]
fn missing_json_keys_are_fatal_with_the_keys_found() {
    let err = open_error("m.json", WORDPRESS.as_bytes(), &options(&["source=url"]));
    assert!(
        err.contains("m.json")
            && err.contains("line 2")
            && err.contains("no key \"url\" (--column source=url)")
            && err.contains("did you mean \"source_url\"?")
            && err.contains("keys found: \"id\", \"media_details\""),
        "{err}"
    );
    let err = open_error(
        "m.json",
        WORDPRESS.as_bytes(),
        &options(&["source=source_url", "display_name=title.raw"]),
    );
    assert!(
        err.contains("\"title\" holds the keys \"rendered\""),
        "{err}"
    );
    let err = open_error(
        "m.jsonl",
        b"{\"url\": \"https://x.test/a.jpg\"}\n",
        &options(&[]),
    );
    assert!(
        err.contains("no key \"source\"") && err.contains("--column source=KEY"),
        "{err}"
    );
    // media_details.file is missing from the second record only: that row just has no value.
    let fine = options(&[
        "source=source_url",
        "folder_path={media_details.file|dirname}",
    ]);
    let (_dir, path) = temp_manifest("m.json", WORDPRESS.as_bytes());
    assert_eq!(read_all(&path, &fine).len(), 2);
}

/// Semicolon and tab CSVs are read with their delimiter guessed from the header or given.
#[test]
fn delimiters_are_guessed_or_given() {
    let (_dir, path) = temp_manifest(
        "semi.csv",
        "source;folder_path;labels\nhttps://x.test/a.jpg;/A;x|y\n".as_bytes(),
    );
    let row = valid(&read_all(&path, &ManifestOptions::default())[0]).clone();
    assert_eq!((row.folder_path.as_str(), row.labels.len()), ("/A", 2));
    let (_dir, path) = temp_manifest("list.tsv", b"Key\tSize\nshoes/a.jpg\t10\n");
    let options = options(&["source=https://bucket.test/{Key}"]);
    let row = valid(&read_all(&path, &options)[0]).clone();
    assert_eq!(row.display_name, "a.jpg");
    let given = ManifestOptions {
        delimiter: Some(b';'),
        ..Default::default()
    };
    let (_dir, path) = temp_manifest("odd.csv", b"source;x,y\nhttps://x.test/a.jpg;1,2\n");
    assert_eq!(read_all(&path, &given).len(), 1);
}

/// A plain list: one URL or path a line, comments and blank lines skipped, lines kept.
#[test]
fn plain_lists_keep_their_line_numbers() {
    let list = "# exported 2024-05-01\n\nhttps://x.test/a.jpg\n  https://x.test/b.png  \n# done\nwww.x.test/c.jpg\n";
    let (_dir, path) = temp_manifest("urls.txt", list.as_bytes());
    let entries = read_all(&path, &ManifestOptions::default());
    let lines: Vec<u64> = entries.iter().map(Entry::line).collect();
    assert_eq!(lines, [3, 4, 6]);
    assert_eq!(valid(&entries[1]).display_name, "b.png");
    let slip = invalid(&entries[2]);
    assert_eq!(slip.field, "source");
    assert!(
        slip.reason
            .contains("did you mean https://www.x.test/c.jpg?"),
        "{slip:?}"
    );
    let named = options(&["display_name={source|basename|upper}"]);
    assert_eq!(valid(&read_all(&path, &named)[0]).display_name, "A.JPG");
    let err = open_error(
        "urls.txt",
        list.as_bytes(),
        &options(&["folder_path={Dir}"]),
    );
    assert!(
        err.contains("a plain list has one column, \"source\""),
        "{err}"
    );
}

/// A list of URLs given as CSV (no header row) gets a hint instead of losing its first URL.
#[test]
fn a_header_that_is_a_url_points_to_plain_lists() {
    let list = b"https://x.test/a.jpg\nhttps://x.test/b.jpg\n";
    let err = open_error("urls.csv", list, &ManifestOptions::default());
    assert!(err.contains("--format txt"), "{err}");
    let err = open_error("urls.csv", list, &options(&["source=https://x.test/a.jpg"]));
    assert!(err.contains("--format txt"), "{err}");
    let (_dir, path) = temp_manifest("urls.csv", list);
    let as_text = ManifestOptions {
        format: Some(Format::Text),
        ..Default::default()
    };
    assert_eq!(read_all(&path, &as_text).len(), 2, "no URL lost");
}

/// Workbooks, UTF-16 text and PDFs are named with what to do, whatever their extension.
#[test]
fn files_that_are_not_text_are_named() {
    let mut xlsx = b"PK\x03\x04\x14\x00\x06\x00\x08\x00[Content_Types].xml".to_vec();
    xlsx.extend_from_slice(b"\x00\x00\x00xl/worksheets/sheet1.xml");
    let err = open_error("products.csv", &xlsx, &ManifestOptions::default());
    assert!(
        err.contains("products.csv")
            && err.contains("looks like an Excel workbook (.xlsx)")
            && err.contains("save it as CSV UTF-8"),
        "{err}"
    );
    let err = open_error("products.xlsx", &xlsx, &ManifestOptions::default());
    assert!(err.contains("Excel workbook"), "{err}");
    let utf16: Vec<u8> = "\u{feff}source\nhttps://x.test/a.jpg\n"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let err = open_error("list.csv", &utf16, &ManifestOptions::default());
    assert!(
        err.contains("UTF-16 text") && err.contains("UTF-8"),
        "{err}"
    );
    let err = open_error(
        "list.json",
        b"%PDF-1.4\n%\xE2\xE3\n",
        &ManifestOptions::default(),
    );
    assert!(err.contains("a PDF document"), "{err}");
    assert!(matches!(
        {
            let (_dir, path) = temp_manifest("x.csv", b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00");
            open(&path, &ManifestOptions::default()).err()
        },
        Some(ManifestError::NotText { .. })
    ));
}

/// Sources and types with common slips say what was probably meant.
#[test]
fn common_slips_carry_hints() {
    let csv = "source,mime_type\n\
        www.example.com/x.png,\n\
        //cdn.example.com/y.png,\n\
        htps://cdn.example.com/z.png,\n\
        https://cdn.example.com/w,jpg\n\
        images/missing.png,\n";
    let (_dir, path) = temp_manifest("slips.csv", csv.as_bytes());
    let entries = read_all(&path, &ManifestOptions::default());
    let reason = |i: usize| invalid(&entries[i]).reason.clone();
    assert!(
        reason(0).contains("did you mean https://www.example.com/x.png?"),
        "{}",
        reason(0)
    );
    assert!(
        reason(1).contains("did you mean https://cdn.example.com/y.png?"),
        "{}",
        reason(1)
    );
    assert!(
        reason(2).contains("did you mean https://cdn.example.com/z.png?"),
        "{}",
        reason(2)
    );
    assert!(
        reason(3).contains("did you mean image/jpeg?"),
        "{}",
        reason(3)
    );
    assert!(!reason(4).contains("did you mean"), "{}", reason(4));
    assert_eq!(invalid(&entries[3]).line, 5);
}

/// A template over bytes that are not UTF-8 makes its field invalid, named.
#[test]
fn templates_over_bad_bytes_name_the_field() {
    let (_dir, path) = temp_manifest("bad.csv", b"source,Dept\nhttps://x.test/a.jpg,Caf\xe9\n");
    let entries = read_all(&path, &options(&["folder_path=/{Dept}"]));
    let bad = invalid(&entries[0]);
    assert_eq!((bad.line, bad.field.as_str()), (2, "folder_path"));
    assert!(bad.reason.contains("UTF-8"), "{bad:?}");
}
