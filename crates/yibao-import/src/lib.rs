//! Import and export of basic data: catalog items, code lists (diseases, operations, chronic
//! diseases), institution mappings, institutions and persons, as CSV or JSON in the format of
//! `docs/import-format.md`.
//!
//! Every row is checked with the national code types before anything is written. A bad row is
//! reported with its line number and the reason, never dropped silently; by default the good
//! rows are imported (in transactions of [`ImportOptions::batch`] rows), in strict mode one bad
//! row rejects the whole file and nothing is written.

mod catalog_specs;
mod fields;
mod read;
mod registry_specs;
mod spec;

use catalog_specs::{CatalogSpec, CodeSpec, MappingSpec};
use fields::Fields;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use registry_specs::{InstitutionSpec, PersonSpec};
use spec::{Spec, WriteError};
use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::Path;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};
use yibao_domain::DateTime;
use yibao_store::catalog::{CatalogError, ListKind};
use yibao_store::registry::RegistryError;
use yibao_store::{DbError, Store};

/// What a file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Catalog,
    Diseases,
    Operations,
    Chronic,
    Mappings,
    Institutions,
    Persons,
}

impl Kind {
    /// Every kind, in an order that satisfies references: mappings need their institutions and
    /// catalog items.
    pub const ALL: [Kind; 7] = [
        Kind::Catalog,
        Kind::Diseases,
        Kind::Operations,
        Kind::Chronic,
        Kind::Institutions,
        Kind::Mappings,
        Kind::Persons,
    ];

    /// Whether an export of this kind carries personal data in clear (names, ID and phone
    /// numbers, addresses): such a file is created readable by its owner only.
    pub fn is_personal(self) -> bool {
        matches!(self, Kind::Persons)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Catalog => "catalog",
            Kind::Diseases => "diseases",
            Kind::Operations => "operations",
            Kind::Chronic => "chronic",
            Kind::Mappings => "mappings",
            Kind::Institutions => "institutions",
            Kind::Persons => "persons",
        }
    }
}

impl FromStr for Kind {
    type Err = ImportError;
    fn from_str(s: &str) -> Result<Kind, ImportError> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s.trim()).ok_or_else(|| ImportError::UnknownKind(s.to_owned()))
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// File format. On import, JSON may be an array of objects or one object per line either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    /// A JSON array of objects.
    Json,
    /// One JSON object per line.
    JsonLines,
}

impl Format {
    /// From the extension: `.csv`, `.json`, `.jsonl` or `.ndjson`.
    pub fn from_path(path: &Path) -> Result<Format, ImportError> {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            "jsonl" | "ndjson" => Ok(Format::JsonLines),
            _ => Err(ImportError::UnknownFormat(path.display().to_string())),
        }
    }
}

#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// Reject the whole file, writing nothing, if any row is bad.
    pub strict: bool,
    /// No progress bar (it is also hidden when stderr is not a terminal).
    pub quiet: bool,
    /// Rows per write transaction (not in strict mode, which writes in one).
    pub batch: usize,
    /// The format, when the file's extension does not tell it.
    pub format: Option<Format>,
    /// The update time recorded on the rows (it orders the 1312–1319 feeds); now by default.
    pub updt_time: Option<DateTime>,
}

impl Default for ImportOptions {
    fn default() -> ImportOptions {
        ImportOptions { strict: false, quiet: false, batch: 1000, format: None, updt_time: None }
    }
}

/// A row that was not imported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    /// The line the row starts on (the header is line 1 of a CSV file).
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportReport {
    pub kind: Kind,
    /// Rows read from the file.
    pub read: usize,
    pub imported: usize,
    /// In line order.
    pub rejected: Vec<Rejected>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    /// The file as a whole cannot be read: bad header, JSON syntax.
    #[error("{0}")]
    Format(String),
    #[error("unknown kind {0:?}: expected catalog, diseases, operations, chronic, mappings, institutions or persons")]
    UnknownKind(String),
    #[error("{0}: cannot tell the format; use a .csv, .json, .jsonl or .ndjson file or name the format")]
    UnknownFormat(String),
    #[error("strict mode: {} of {} rows rejected, nothing written; first: {}", .0.rejected.len(), .0.read, first_rejection(.0))]
    Strict(ImportReport),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
}

fn first_rejection(r: &ImportReport) -> String {
    r.rejected.first().map_or_else(String::new, Rejected::to_string)
}

/// Imports one file of `kind` into the store.
pub fn import_path(store: &Store, kind: Kind, path: &Path, opts: &ImportOptions) -> Result<ImportReport, ImportError> {
    let format = opts.format.map_or_else(|| Format::from_path(path), Ok)?;
    let job = Job { store, kind, path, format, opts };
    match kind {
        Kind::Catalog => job.run(&CatalogSpec),
        Kind::Diseases => job.run(&CodeSpec(ListKind::Diag)),
        Kind::Operations => job.run(&CodeSpec(ListKind::Oprn)),
        Kind::Chronic => job.run(&CodeSpec(ListKind::Opsp)),
        Kind::Mappings => job.run(&MappingSpec),
        Kind::Institutions => job.run(&InstitutionSpec),
        Kind::Persons => job.run(&PersonSpec),
    }
}

/// Exports every stored row of `kind` to `path`, in the import format. Returns the row count.
pub fn export_path(store: &Store, kind: Kind, path: &Path, format: Format) -> Result<usize, ImportError> {
    match kind {
        Kind::Catalog => export_with(store, kind, &CatalogSpec, path, format),
        Kind::Diseases => export_with(store, kind, &CodeSpec(ListKind::Diag), path, format),
        Kind::Operations => export_with(store, kind, &CodeSpec(ListKind::Oprn), path, format),
        Kind::Chronic => export_with(store, kind, &CodeSpec(ListKind::Opsp), path, format),
        Kind::Mappings => export_with(store, kind, &MappingSpec, path, format),
        Kind::Institutions => export_with(store, kind, &InstitutionSpec, path, format),
        Kind::Persons => export_with(store, kind, &PersonSpec, path, format),
    }
}

struct Job<'a> {
    store: &'a Store,
    kind: Kind,
    path: &'a Path,
    format: Format,
    opts: &'a ImportOptions,
}

/// Why a write transaction ended early.
enum TxFail {
    Db(DbError),
    /// Strict mode: this row could not be written, so nothing is.
    Row(Rejected),
}

impl From<DbError> for TxFail {
    fn from(e: DbError) -> TxFail {
        TxFail::Db(e)
    }
}

impl Job<'_> {
    fn run<S: Spec>(&self, spec: &S) -> Result<ImportReport, ImportError> {
        let input = read::read_file(self.path, self.format, spec.columns())?;
        let mut report = ImportReport {
            kind: self.kind,
            read: input.records.len() + input.unreadable.len(),
            imported: 0,
            rejected: input.unreadable,
        };
        let good = check_rows(spec, &input.records, &mut report.rejected);
        if self.opts.strict && !report.rejected.is_empty() {
            report.rejected.sort_by_key(|r| r.line);
            return Err(ImportError::Strict(report));
        }
        let bar = progress(good.len(), self.opts.quiet, self.kind);
        let written = if self.opts.strict {
            self.write_all(spec, &good, &bar)
        } else {
            self.write_batches(spec, &good, &bar, &mut report.rejected)
        };
        bar.finish_and_clear();
        match written {
            Ok(n) => report.imported = n,
            Err(TxFail::Db(e)) => return Err(e.into()),
            Err(TxFail::Row(r)) => {
                report.rejected.push(r);
                return Err(ImportError::Strict(report));
            }
        }
        report.rejected.sort_by_key(|r| r.line);
        Ok(report)
    }

    fn now(&self) -> DateTime {
        self.opts.updt_time.unwrap_or_else(|| {
            let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
            // Times are stored as China local time (UTC+8), like the interface's.
            DateTime(secs + 8 * 3600)
        })
    }

    /// Strict mode: one transaction, rolled back by the first row that cannot be written.
    fn write_all<S: Spec>(&self, spec: &S, rows: &[(usize, S::Rec)], bar: &ProgressBar) -> Result<usize, TxFail> {
        let now = self.now();
        self.store.write(|tx| {
            for (line, rec) in rows {
                match spec.write(tx, rec, self.store.ids().next(), now) {
                    Ok(()) => bar.inc(1),
                    Err(WriteError::Row(reason)) => return Err(TxFail::Row(Rejected { line: *line, reason })),
                    Err(WriteError::Fatal(e)) => return Err(TxFail::Db(e)),
                }
            }
            Ok(rows.len())
        })
    }

    /// Default mode: a transaction per batch; rows the store refuses are reported, the rest of
    /// the batch is written. Repositories report such rows without a failed statement, so the
    /// transaction stays usable on every engine.
    fn write_batches<S: Spec>(
        &self,
        spec: &S,
        rows: &[(usize, S::Rec)],
        bar: &ProgressBar,
        rejected: &mut Vec<Rejected>,
    ) -> Result<usize, TxFail> {
        let now = self.now();
        let mut imported = 0;
        for chunk in rows.chunks(self.opts.batch.max(1)) {
            let (n, refused) = self.store.write(|tx| {
                let mut refused = Vec::new();
                for (line, rec) in chunk {
                    match spec.write(tx, rec, self.store.ids().next(), now) {
                        Ok(()) => {}
                        Err(WriteError::Row(reason)) => refused.push(Rejected { line: *line, reason }),
                        Err(WriteError::Fatal(e)) => return Err(TxFail::Db(e)),
                    }
                }
                Ok((chunk.len() - refused.len(), refused))
            })?;
            imported += n;
            rejected.extend(refused);
            bar.inc(chunk.len() as u64);
        }
        Ok(imported)
    }
}

/// Parses every record and rejects the bad ones and the repeats of a key seen on an earlier
/// line (a later row must not silently replace an earlier one).
fn check_rows<S: Spec>(spec: &S, records: &[read::Record], rejected: &mut Vec<Rejected>) -> Vec<(usize, S::Rec)> {
    let mut seen: HashMap<(&'static str, String), usize> = HashMap::new();
    let mut good = Vec::with_capacity(records.len());
    for r in records {
        let rec = match spec.parse(&Fields(r)) {
            Ok(rec) => rec,
            Err(reason) => {
                rejected.push(Rejected { line: r.line, reason });
                continue;
            }
        };
        let keys = spec.keys(&rec);
        let dup = keys.iter().find_map(|(what, k)| seen.get(&(*what, k.clone())).map(|l| (*what, *l)));
        if let Some((what, first)) = dup {
            rejected.push(Rejected { line: r.line, reason: format!("same {what} as line {first}") });
            continue;
        }
        for (what, k) in keys {
            seen.insert((what, k), r.line);
        }
        good.push((r.line, rec));
    }
    good
}

fn progress(len: usize, quiet: bool, kind: Kind) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{prefix:>12} [{bar:40}] {pos}/{len} rows {eta}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(kind.as_str());
    bar
}

fn export_with<S: Spec>(
    store: &Store,
    kind: Kind,
    spec: &S,
    path: &Path,
    format: Format,
) -> Result<usize, ImportError> {
    let io = |source: std::io::Error| ImportError::Io { path: path.display().to_string(), source };
    let file = create_export(path, kind.is_personal()).map_err(io)?;
    let mut sink = Sink::new(std::io::BufWriter::new(file), format, spec.columns()).map_err(io)?;
    let n = store.read(|tx| {
        let mut n = 0;
        spec.export(tx, &mut |rec| {
            n += 1;
            sink.row(&spec.values(rec)).map_err(io)
        })?;
        Ok::<_, ImportError>(n)
    })?;
    sink.finish().map_err(io)?;
    Ok(n)
}

/// Creates (or truncates) an export file; one with personal data is made owner-only (0600)
/// before a byte is written, also when it existed with wider permissions.
fn create_export(path: &Path, personal: bool) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if personal {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        o.mode(0o600);
        let f = o.open(path)?;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        return Ok(f);
    }
    let _ = personal;
    o.open(path)
}

/// Writes rows as CSV (header first) or JSON objects (array or lines), leaving out empty
/// values in JSON.
enum Sink<W: Write> {
    Csv(Box<csv::Writer<W>>),
    Json { out: W, columns: &'static [&'static str], lines: bool, first: bool },
}

impl<W: Write> Sink<W> {
    fn new(mut out: W, format: Format, columns: &'static [&'static str]) -> std::io::Result<Sink<W>> {
        match format {
            Format::Csv => {
                let mut w = csv::Writer::from_writer(out);
                w.write_record(columns)?;
                Ok(Sink::Csv(Box::new(w)))
            }
            Format::Json | Format::JsonLines => {
                let lines = format == Format::JsonLines;
                if !lines {
                    out.write_all(b"[")?;
                }
                Ok(Sink::Json { out, columns, lines, first: true })
            }
        }
    }

    fn row(&mut self, values: &[String]) -> std::io::Result<()> {
        match self {
            Sink::Csv(w) => Ok(w.write_record(values)?),
            Sink::Json { out, columns, lines, first } => {
                let obj: serde_json::Map<String, serde_json::Value> = columns
                    .iter()
                    .zip(values)
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(c, v)| ((*c).to_owned(), serde_json::Value::String(v.clone())))
                    .collect();
                let sep: &[u8] = if *lines {
                    b""
                } else if *first {
                    b"\n"
                } else {
                    b",\n"
                };
                out.write_all(sep)?;
                serde_json::to_writer(&mut *out, &obj)?;
                if *lines {
                    out.write_all(b"\n")?;
                }
                *first = false;
                Ok(())
            }
        }
    }

    fn finish(self) -> std::io::Result<()> {
        match self {
            Sink::Csv(mut w) => w.flush(),
            Sink::Json { mut out, lines, .. } => {
                if !lines {
                    out.write_all(b"\n]\n")?;
                }
                out.flush()
            }
        }
    }
}
