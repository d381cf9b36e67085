//! Shared by the manifest targets: the input written to a temp file with the format's
//! extension, then read to the end. The readers must not panic, and must stop after a fatal
//! error.

use std::io::Write;

use media_migrate::manifest::{self, ManifestOptions};

pub fn read_manifest(data: &[u8], ext: &str) {
    let mut file = tempfile::Builder::new()
        .suffix(&format!(".{ext}"))
        .tempfile()
        .expect("temp file");
    file.write_all(data).expect("write input");
    file.flush().expect("flush input");
    let Ok(reader) = manifest::open(file.path(), &ManifestOptions::default()) else {
        return;
    };
    let mut fatal = false;
    for entry in reader {
        assert!(!fatal, "an entry after a fatal error");
        fatal = entry.is_err();
    }
}
