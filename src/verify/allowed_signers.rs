//! The OpenSSH `allowed_signers` format (see `ssh-keygen(1)`, "ALLOWED
//! SIGNERS"): one key per line, `<principals> [options] <keytype> <base64>
//! [comment]`; `#` comments and blank lines ignored. Options understood:
//! `namespaces="a,b"` (the key is used only for those namespaces);
//! `cert-authority` lines are skipped (bundles are signed by plain keys);
//! `valid-after`/`valid-before` are accepted and ignored (a signature has no
//! trusted time to compare them with offline).

use ssh_key::PublicKey;

/// One usable line.
#[derive(Debug, Clone)]
pub struct AllowedSigner {
    pub principals: String,
    pub namespaces: Option<Vec<String>>,
    pub key: PublicKey,
}

impl AllowedSigner {
    pub fn allows_namespace(&self, ns: &str) -> bool {
        self.namespaces.as_ref().is_none_or(|list| list.iter().any(|n| n == ns))
    }
}

/// Split a line into fields on whitespace, keeping double-quoted runs together.
fn fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn is_key_type(s: &str) -> bool {
    s.starts_with("ssh-") || s.starts_with("ecdsa-") || s.starts_with("sk-")
}

/// Parse the file; the error is `(line number, message)`.
pub fn parse(text: &str) -> Result<Vec<AllowedSigner>, (usize, String)> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let f = fields(line);
        let Some(principals) = f.first() else { continue };
        let Some(kt) = f.iter().skip(1).position(|s| is_key_type(s)).map(|p| p + 1) else {
            return Err((i + 1, "no key type (e.g. ssh-ed25519) found".to_string()));
        };
        let options: Vec<&String> = f[1..kt].iter().collect();
        if options.iter().any(|o| o.eq_ignore_ascii_case("cert-authority")) {
            continue;
        }
        let namespaces = options.iter().find_map(|o| {
            let lower = o.to_ascii_lowercase();
            lower.starts_with("namespaces=").then(|| {
                o["namespaces=".len()..]
                    .trim_matches('"')
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .collect::<Vec<_>>()
            })
        });
        let Some(b64) = f.get(kt + 1) else {
            return Err((i + 1, "the key type is not followed by the key".to_string()));
        };
        let key = PublicKey::from_openssh(&format!("{} {}", f[kt], b64)).map_err(|e| (i + 1, format!("unreadable key: {e}")))?;
        out.push(AllowedSigner {
            principals: principals.clone(),
            namespaces,
            key,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILM+rvN+ot98qgEN796jTiQfZfG1KaT0PtFDJ/XFSqti";

    #[test]
    fn parses_lines_with_options_and_comments() {
        let text = format!(
            "# comment\n\nops@kemnaker.example {KEY} a comment\nother namespaces=\"git,file\" {KEY}\nca cert-authority {KEY}\nx namespaces=\"git\" valid-after=\"20260101\" {KEY}\n"
        );
        let s = parse(&text).unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].principals, "ops@kemnaker.example");
        assert!(s[0].allows_namespace("file"));
        assert!(s[1].allows_namespace("file"));
        assert!(!s[2].allows_namespace("file"));
        assert_eq!(parse("bad line\n").unwrap_err().0, 1);
        assert_eq!(parse(&format!("a\n{KEY}x\n")).unwrap_err().0, 1);
    }
}
