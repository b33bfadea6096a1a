//! What free text may contain. A name, an address, an e-mail or a note is stored, printed on
//! forms, read out on staff screens and written into calendar files; control characters and the
//! bidirectional overrides have no place in any of them: a NUL is refused by PostgreSQL but
//! stored by SQLite, a line break splits a calendar line into a new property, and a right-to-left
//! override makes a name on a staff screen read differently from what is stored.

/// A CSV cell: quoted when it holds a separator, a quote or a line break; a leading `=`, `+`,
/// `-` or `@` is defused so that a spreadsheet never runs an exported value as a formula (a
/// name or a terminal reference typed by someone else ends up in a leader's spreadsheet).
pub fn csv_cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// A person's name for a page that needs to tell people apart without naming them: the first
/// and last characters kept, those between starred (`陈*明`, `欧**月`); a two-character name
/// keeps its first (`李*`), spaces are dropped (`J*******h`).
pub fn mask_person_name(name: &str) -> String {
    let c: Vec<char> = name.chars().filter(|c| !c.is_whitespace()).collect();
    match c.len() {
        0 => String::new(),
        1 => "*".into(),
        2 => format!("{}*", c[0]),
        n => format!("{}{}{}", c[0], "*".repeat(n - 2), c[n - 1]),
    }
}

/// The first character `s` may not contain, if any: C0 controls other than tab, line feed and
/// carriage return (multi-line notes keep those), DEL, the C1 controls, and the bidirectional
/// embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069).
pub fn forbidden_char(s: &str) -> Option<char> {
    s.chars().find(|&c| is_forbidden(c))
}

/// The same, for a single-line field (names, codes, e-mail addresses): no line breaks or tabs.
pub fn forbidden_in_line(s: &str) -> Option<char> {
    s.chars()
        .find(|&c| is_forbidden(c) || matches!(c, '\t' | '\n' | '\r'))
}

fn is_forbidden(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_their_ends_only() {
        assert_eq!(mask_person_name("陈小明"), "陈*明");
        assert_eq!(mask_person_name("欧阳明月"), "欧**月");
        assert_eq!(mask_person_name("李娜"), "李*");
        assert_eq!(mask_person_name("John Smith"), "J*******h");
        assert_eq!(mask_person_name(" "), "");
    }

    #[test]
    fn csv_cells_are_quoted_and_never_run_as_formulas() {
        assert_eq!(csv_cell("POS-1"), "POS-1");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("-1"), "'-1");
        assert_eq!(csv_cell("@x"), "'@x");
    }

    #[test]
    fn ordinary_text_passes() {
        for ok in [
            "陈晓明",
            "Zhang San-Li",
            "广州市越秀区\n解放南路155号",
            "O'Brien\t(agent)",
        ] {
            assert_eq!(forbidden_char(ok), None, "{ok:?}");
        }
        assert_eq!(forbidden_in_line("Émilie Dupont"), None);
    }

    #[test]
    fn controls_and_bidi_overrides_are_named() {
        assert_eq!(forbidden_char("a\u{0}b"), Some('\u{0}'));
        assert_eq!(forbidden_char("x\u{1b}[31m"), Some('\u{1b}'));
        assert_eq!(forbidden_char("\u{85}"), Some('\u{85}'));
        assert_eq!(forbidden_char("abc\u{202e}gpj.exe"), Some('\u{202e}'));
        assert_eq!(forbidden_char("\u{2067}x"), Some('\u{2067}'));
        assert_eq!(forbidden_in_line("two\nlines"), Some('\n'));
        assert_eq!(forbidden_in_line("cr\r"), Some('\r'));
    }
}
