//! A CSV report file written row by row, every cell escaped against formula injection with
//! [`safe_cell`]. Shared by the run, plan and reconcile reports.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use super::safe_cell;

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("writing report {}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing report {}", path.display())]
    Csv { path: PathBuf, source: csv::Error },
}

/// Creates `dir` (and parents) for reports.
pub fn create_dir(dir: &Path) -> Result<(), OutputError> {
    std::fs::create_dir_all(dir).map_err(|source| OutputError::Io {
        path: dir.to_path_buf(),
        source,
    })
}

/// Writes `value` as pretty JSON to `path`.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<(), OutputError> {
    let body = serde_json::to_vec_pretty(value).expect("report types serialise");
    crate::create_private_file(path)
        .and_then(|mut file| std::io::Write::write_all(&mut file, &body))
        .map_err(|source| OutputError::Io {
            path: path.to_path_buf(),
            source,
        })
}

pub struct CsvOut {
    path: PathBuf,
    writer: csv::Writer<BufWriter<File>>,
}

impl CsvOut {
    /// Creates `path` and writes the header.
    pub fn create(path: PathBuf, header: &[&str]) -> Result<CsvOut, OutputError> {
        let file = crate::create_private_file(&path).map_err(|source| OutputError::Io {
            path: path.clone(),
            source,
        })?;
        let mut out = CsvOut {
            writer: csv::Writer::from_writer(BufWriter::new(file)),
            path,
        };
        out.write(header)?;
        Ok(out)
    }

    pub fn write<S: AsRef<str>>(&mut self, cells: &[S]) -> Result<(), OutputError> {
        let record = cells.iter().map(|c| safe_cell(c.as_ref()));
        self.writer
            .write_record(record.collect::<Vec<_>>().iter().map(|c| c.as_bytes()))
            .map_err(|source| OutputError::Csv {
                path: self.path.clone(),
                source,
            })
    }

    pub fn finish(mut self) -> Result<PathBuf, OutputError> {
        self.writer.flush().map_err(|source| OutputError::Io {
            path: self.path.clone(),
            source,
        })?;
        Ok(self.path)
    }
}
