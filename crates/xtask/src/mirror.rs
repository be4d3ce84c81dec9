//! The Debian mirror every extra suite comes from: the one the host's own
//! `debian.sources` names (never a hard-coded host). Read here only; the
//! provisioning script (as `MEMPOOLCTL_MIRROR`) and the chroots get it from here.

use anyhow::{Context, Result};
use std::fs;

/// The host's own sources, whose bookworm stanza names the mirror.
const HOST_SOURCES: &str = "/etc/apt/sources.list.d/debian.sources";
const HOST_SUITE: &str = "bookworm";
/// The mirror: the first URI of the host's bookworm stanza.
pub fn uri() -> Result<String> {
    let text = fs::read_to_string(HOST_SOURCES).with_context(|| {
        format!("reading the mirror URI: cannot read {HOST_SOURCES} (a Debian {HOST_SUITE} host with deb822 sources is expected)")
    })?;
    archive_uri(&text, HOST_SUITE).with_context(|| {
        format!("reading the mirror URI: no stanza with Suites: {HOST_SUITE} and a URIs: line in {HOST_SOURCES}")
    })
}

/// The first URI of the deb822 stanza whose `Suites:` include `suite`.
pub fn archive_uri(sources: &str, suite: &str) -> Option<String> {
    for stanza in stanzas(sources) {
        let field = |name: &str| {
            stanza
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let has_suite = field("Suites").is_some_and(|s| s.split_whitespace().any(|s| s == suite));
        let enabled = field("Enabled").is_none_or(|e| !e.trim().eq_ignore_ascii_case("no"));
        let is_deb = field("Types").is_none_or(|t| t.split_whitespace().any(|t| t == "deb"));
        if has_suite && enabled && is_deb {
            if let Some(uri) = field("URIs").and_then(|u| u.split_whitespace().next()) {
                return Some(uri.to_owned());
            }
        }
    }
    None
}

/// deb822 paragraphs as (field, value) lists; comments dropped, continuation
/// lines joined.
fn stanzas(text: &str) -> Vec<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut cur: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = cur.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
        } else if let Some((k, v)) = line.split_once(':') {
            cur.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCES: &str = "\
Types: deb
# http://snapshot.debian.org/archive/debian-security/20250520T000000Z
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://mirror.example/debian http://other.example/debian
Suites: bookworm
  bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
";

    #[test]
    fn archive_uri_comes_from_the_stanza_with_the_suite() {
        assert_eq!(
            archive_uri(SOURCES, "bookworm").as_deref(),
            Some("http://mirror.example/debian")
        );
        assert_eq!(
            archive_uri(SOURCES, "bookworm-security").as_deref(),
            Some("http://deb.debian.org/debian-security")
        );
        // Continuation lines count as part of Suites.
        assert!(archive_uri(SOURCES, "bookworm-updates").is_some());
        assert_eq!(archive_uri(SOURCES, "trixie"), None);
        let disabled = "Types: deb\nURIs: http://a/debian\nSuites: bookworm\nEnabled: no\n\nTypes: deb-src\nURIs: http://b/debian\nSuites: bookworm\n\nTypes: deb deb-src\nURIs: http://c/debian\nSuites: bookworm\n";
        assert_eq!(
            archive_uri(disabled, "bookworm").as_deref(),
            Some("http://c/debian")
        );
    }
}
