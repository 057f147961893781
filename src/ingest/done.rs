//! The `_DONE` marker: empty, or exactly one `sha256sum` line per contract
//! file of the system's night. Names found here are only compared with the
//! contract's file names; no path is ever built from them.

use std::collections::BTreeMap;

use crate::contract::System;

/// A parsed `_DONE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    /// Contract file name → expected SHA-256 (lowercase hex); `None` for an
    /// empty `_DONE` (blank lines only).
    pub checksums: Option<BTreeMap<&'static str, String>>,
}

/// A `_DONE` that breaks the contract: the night is rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoneError {
    pub line: Option<u64>,
    pub message: String,
}

pub fn parse(system: System, bytes: &[u8]) -> Result<Done, DoneError> {
    let text = std::str::from_utf8(bytes).map_err(|_| DoneError {
        line: None,
        message: "_DONE is not UTF-8 text".into(),
    })?;
    let expected: Vec<&'static str> = system.tables().map(|t| t.file).collect();
    let mut sums: BTreeMap<&'static str, String> = BTreeMap::new();
    for (i, raw) in text.split('\n').enumerate() {
        let line_no = i as u64 + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            continue;
        }
        let bad = |message: String| DoneError {
            line: Some(line_no),
            message,
        };
        // `<64 hex>  <name>` (text mode) or `<64 hex> *<name>` (binary mode).
        let (hash, rest) = line.split_at_checked(64).ok_or_else(|| {
            bad(format!(
                "expected `<sha256>  <file name>` (sha256sum format); valid file names are {}",
                expected.join(", ")
            ))
        })?;
        if !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("the first 64 characters are not a hexadecimal SHA-256".into()));
        }
        let name = rest
            .strip_prefix("  ")
            .or_else(|| rest.strip_prefix(" *"))
            .ok_or_else(|| bad("expected two spaces (text mode) or ` *` (binary mode) after the checksum".into()))?;
        let Some(file) = expected.iter().find(|f| **f == name) else {
            return Err(bad(format!(
                "lists a file that is not a contract file of {system} (valid: {}); nothing else may be listed",
                expected.join(", ")
            )));
        };
        if sums.insert(file, hash.to_ascii_lowercase()).is_some() {
            return Err(bad(format!("{file} is listed twice")));
        }
    }
    if sums.is_empty() {
        return Ok(Done { checksums: None });
    }
    let missing: Vec<&str> = expected.iter().filter(|f| !sums.contains_key(*f)).copied().collect();
    if !missing.is_empty() {
        return Err(DoneError {
            line: None,
            message: format!(
                "lists some contract files but not {}: a _DONE lists all of them or none",
                missing.join(", ")
            ),
        });
    }
    Ok(Done { checksums: Some(sums) })
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn empty_and_blank_lines_are_empty() {
        assert_eq!(parse(System::Insurance, b"").unwrap().checksums, None);
        assert_eq!(parse(System::Insurance, b"\n \r\n\t\n").unwrap().checksums, None);
    }

    #[test]
    fn text_and_binary_mode() {
        let s = format!("{H}  employers.jsonl.gz\r\n{H} *contributions.jsonl.gz\n");
        let d = parse(System::Insurance, s.as_bytes()).unwrap();
        assert_eq!(d.checksums.unwrap().len(), 2);
    }

    #[test]
    fn partial_listing_and_other_lines_are_errors() {
        let partial = format!("{H}  employers.jsonl.gz\n");
        assert!(
            parse(System::Insurance, partial.as_bytes())
                .unwrap_err()
                .message
                .contains("contributions.jsonl.gz")
        );
        let other = format!("{H}  employers.jsonl.gz\n{H}  contributions.jsonl.gz\nok\n");
        assert_eq!(parse(System::Insurance, other.as_bytes()).unwrap_err().line, Some(3));
        let path = format!("{H}  ../employers.jsonl.gz\n{H}  contributions.jsonl.gz\n");
        assert_eq!(parse(System::Insurance, path.as_bytes()).unwrap_err().line, Some(1));
        let twice = format!("{H}  employers.jsonl.gz\n{H}  employers.jsonl.gz\n{H}  contributions.jsonl.gz\n");
        assert!(parse(System::Insurance, twice.as_bytes()).unwrap_err().message.contains("twice"));
    }
}
