//! Writing rows back as a CSV manifest (`failed.csv`): the header is [`FIELDS`], labels are
//! joined with `|`, so the file can be fixed by hand and fed to the next run as it is.

use std::io::Write;

use super::columns::FIELDS;
use super::row::RawRow;

/// Writes the manifest header, followed by `extra` columns (e.g. `line`, `reason`).
pub fn write_header<W: Write>(writer: &mut ::csv::Writer<W>, extra: &[&str]) -> ::csv::Result<()> {
    writer.write_record(FIELDS.iter().chain(extra))
}

/// Writes one row in [`FIELDS`] order, followed by `extra` values.
pub fn write_raw_row<W: Write>(
    writer: &mut ::csv::Writer<W>,
    row: &RawRow,
    extra: &[&str],
) -> ::csv::Result<()> {
    writer.write_record(row.to_fields().iter().chain(extra))
}

/// A CSV manifest writer: header on creation, then one record per row.
pub struct RawRowWriter<W: Write> {
    inner: ::csv::Writer<W>,
}

impl<W: Write> RawRowWriter<W> {
    pub fn new(output: W) -> ::csv::Result<RawRowWriter<W>> {
        let mut inner = ::csv::Writer::from_writer(output);
        write_header(&mut inner, &[])?;
        Ok(RawRowWriter { inner })
    }

    pub fn write(&mut self, row: &RawRow) -> ::csv::Result<()> {
        write_raw_row(&mut self.inner, row, &[])
    }

    /// Flushes and returns the output.
    pub fn into_inner(self) -> std::io::Result<W> {
        self.inner.into_inner().map_err(|e| e.into_error())
    }
}
