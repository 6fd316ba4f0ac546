//! Reading a file into records of text fields, each with the line it starts on. CSV and JSON
//! end up in the same shape, so every kind is checked by one parser whatever the format.

use crate::{Format, ImportError, Rejected};
use std::collections::HashMap;
use std::path::Path;

/// One input record: column → text, with empty values left out.
pub struct Record {
    pub line: usize,
    pub fields: HashMap<String, String>,
}

/// What a file holds: the records that could be read, and the ones that could not.
#[derive(Default)]
pub struct Input {
    pub records: Vec<Record>,
    pub unreadable: Vec<Rejected>,
}

pub fn read_file(path: &Path, format: Format, columns: &[&str]) -> Result<Input, ImportError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| ImportError::Io { path: path.display().to_string(), source })?;
    // Spreadsheet programs write a byte-order mark at the start of UTF-8 files.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    match format {
        Format::Csv => read_csv(text, columns),
        Format::Json | Format::JsonLines => read_json(text, columns),
    }
}

fn read_csv(text: &str, columns: &[&str]) -> Result<Input, ImportError> {
    let mut rdr = csv::ReaderBuilder::new().has_headers(true).from_reader(text.as_bytes());
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| ImportError::Format(format!("line 1: cannot read the header: {e}")))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    check_header(&header, columns)?;
    let mut input = Input::default();
    for result in rdr.records() {
        match result {
            Ok(rec) => {
                let line = rec.position().map_or(0, |p| p.line() as usize);
                let fields = header
                    .iter()
                    .zip(rec.iter())
                    .filter(|(_, v)| !v.trim().is_empty())
                    .map(|(h, v)| (h.clone(), v.to_owned()))
                    .collect();
                input.records.push(Record { line, fields });
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                input.unreadable.push(Rejected { line, reason: csv_reason(&e) });
            }
        }
    }
    Ok(input)
}

fn csv_reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("expected {expected_len} fields as in the header, found {len}")
        }
        _ => e.to_string(),
    }
}

/// Every column must be known: a misspelt column would otherwise be ignored, and its values
/// silently lost.
fn check_header(header: &[String], columns: &[&str]) -> Result<(), ImportError> {
    for h in header {
        if !columns.contains(&h.as_str()) {
            return Err(ImportError::Format(format!(
                "line 1: unknown column {h:?}; the columns are {}",
                columns.join(", ")
            )));
        }
    }
    Ok(())
}

/// A JSON array of objects or one object per line (JSON lines); each object's line is where
/// it starts. A syntax error stops the file: what follows it cannot be trusted.
fn read_json(text: &str, columns: &[&str]) -> Result<Input, ImportError> {
    let mut input = Input::default();
    let mut lines = LineCounter::default();
    let mut pos = skip_ws(text, 0);
    let in_array = text[pos..].starts_with('[');
    if in_array {
        pos = skip_ws(text, pos + 1);
    }
    loop {
        if pos >= text.len() || (in_array && text[pos..].starts_with(']')) {
            break;
        }
        let line = lines.line_at(text, pos);
        let mut stream = serde_json::Deserializer::from_str(&text[pos..]).into_iter::<serde_json::Value>();
        let value = match stream.next() {
            Some(Ok(v)) => v,
            Some(Err(e)) => return Err(json_error(text, pos, &e)),
            None => break,
        };
        pos = skip_ws(text, pos + stream.byte_offset());
        match object_fields(value, columns) {
            Ok(fields) => input.records.push(Record { line, fields }),
            Err(reason) => input.unreadable.push(Rejected { line, reason }),
        }
        if in_array {
            pos = after_separator(text, pos)?;
        }
    }
    Ok(input)
}

fn json_error(text: &str, pos: usize, e: &serde_json::Error) -> ImportError {
    let line = line_of(text, pos) + e.line().saturating_sub(1);
    ImportError::Format(format!("line {line}: invalid JSON: {e}"))
}

/// After an array element: a comma, or the closing bracket.
fn after_separator(text: &str, pos: usize) -> Result<usize, ImportError> {
    if text[pos..].starts_with(',') {
        return Ok(skip_ws(text, pos + 1));
    }
    if text[pos..].starts_with(']') || pos >= text.len() {
        return Ok(pos);
    }
    Err(ImportError::Format(format!("line {}: expected ',' or ']' after an array element", line_of(text, pos))))
}

fn skip_ws(text: &str, pos: usize) -> usize {
    let rest = &text[pos.min(text.len())..];
    pos + (rest.len() - rest.trim_start().len())
}

fn line_of(text: &str, pos: usize) -> usize {
    LineCounter::default().line_at(text, pos)
}

/// Line numbers of increasing positions, counting each newline once: records are many, and
/// counting from the start for each would take quadratic time.
struct LineCounter {
    pos: usize,
    line: usize,
}

impl Default for LineCounter {
    fn default() -> LineCounter {
        LineCounter { pos: 0, line: 1 }
    }
}

impl LineCounter {
    fn line_at(&mut self, text: &str, pos: usize) -> usize {
        let pos = pos.clamp(self.pos, text.len());
        self.line += text.as_bytes()[self.pos..pos].iter().filter(|&&b| b == b'\n').count();
        self.pos = pos;
        self.line
    }
}

/// An object's members as text. Numbers keep their exact text (serde_json is built with
/// arbitrary_precision), so decimals are never rounded through a float.
fn object_fields(value: serde_json::Value, columns: &[&str]) -> Result<HashMap<String, String>, String> {
    let serde_json::Value::Object(map) = value else {
        return Err(format!("expected an object, found {value}"));
    };
    let mut fields = HashMap::new();
    for (k, v) in map {
        if !columns.contains(&k.as_str()) {
            return Err(format!("unknown field {k:?}; the fields are {}", columns.join(", ")));
        }
        let text = match v {
            serde_json::Value::Null => continue,
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => if b { "1" } else { "0" }.to_owned(),
            other => return Err(format!("{k}: expected a string or a number, found {other}")),
        };
        if !text.trim().is_empty() {
            fields.insert(k, text);
        }
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLS: &[&str] = &["a", "b"];

    #[test]
    fn json_array_and_lines_keep_line_numbers() {
        let arr = "[\n {\"a\": \"1\"},\n {\"a\": 2.50,\n  \"b\": null},\n 7\n]\n";
        let input = read_json(arr, COLS).unwrap();
        let lines: Vec<usize> = input.records.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 3]);
        assert_eq!(input.records[1].fields["a"], "2.50");
        assert!(!input.records[1].fields.contains_key("b"));
        assert_eq!(input.unreadable[0].line, 5);
        let lines = read_json("{\"a\":\"x\"}\n\n{\"c\":1}\n", COLS).unwrap();
        assert_eq!(lines.records[0].line, 1);
        assert_eq!(lines.unreadable[0].line, 3);
        assert!(lines.unreadable[0].reason.contains("unknown field \"c\""));
        let bad = read_json("[{\"a\":1}\n{\"a\":2}]", COLS).err().unwrap();
        assert!(bad.to_string().contains("line 2"), "{bad}");
    }

    #[test]
    fn csv_lines_and_header() {
        let input = read_csv("a,b\n1,2\n\"x\ny\",3\n4\n", COLS).unwrap();
        let lines: Vec<usize> = input.records.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 3]);
        assert_eq!(input.unreadable[0].line, 5);
        assert!(read_csv("a,c\n1,2\n", COLS).is_err());
    }
}
