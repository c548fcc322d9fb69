//! What the CLI prints of outside text, end to end on real servers: proposals
//! whose title, abstract, speaker name and subject carry terminal escapes
//! (clear screen, OSC window titles and hyperlinks, BEL, CSI as C1) and bidi
//! overrides, and titles a spreadsheet would read as formulas. No CLI text
//! output may carry those characters raw, and no CSV cell may start like a
//! formula; JSON stays exact.

mod support;

use std::time::Duration;

use support::*;

const T: Duration = Duration::from_secs(20);

/// Every character that may act on a terminal or reorder the text around it.
fn dangerous(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

fn assert_clean(what: &str, out: &str) {
    let bad: Vec<(usize, char)> = out.char_indices().filter(|(_, c)| dangerous(*c)).collect();
    assert!(bad.is_empty(), "{what} prints {bad:?} raw:\n{out:?}");
}

/// `s` as an RFC 2047 Q-encoded word (every byte hex-escaped).
fn q_word(s: &str) -> String {
    let hex: String = s.bytes().map(|b| format!("={b:02X}")).collect();
    format!("=?UTF-8?Q?{hex}?=")
}

const TITLES: [&str; 5] = [
    "Clear\u{1b}[2J\u{1b}[Hscreen\u{7}",
    "OSC \u{1b}]0;owned\u{7} and \u{1b}]8;;http://evil.example\u{1b}\\link\u{1b}]8;;\u{1b}\\",
    "Invoice \u{202e}fdp.exe\u{202c} \u{2067}isolate\u{2069} C1 \u{9b}31m red",
    "=HYPERLINK(\"http://evil.example\",\"click\")",
    "-2+3+cmd|' /C calc'!A0",
];

#[tokio::test(flavor = "multi_thread")]
async fn hostile_text_is_printed_visibly_and_csv_cells_never_start_a_formula() {
    need_servers!();
    let w = World::start("").await;
    for (i, title) in TITLES.iter().enumerate() {
        let body = proposal_body(title).replace(
            "We build",
            "Esc \u{1b}[31mred\u{1b}[0m, bell \u{7}, \u{202e}reversed\u{202c}. We build",
        );
        let from = format!(
            "{} <s{i}@speakers.example>",
            q_word("Ann\u{1b}]0;x\u{7} \u{202e}Lee")
        );
        let subject = q_word(&format!("Proposal \u{1b}[2J\u{7}\u{202e}{i}"));
        w.dovecot
            .append(
                "cfp",
                &mail(
                    &from,
                    CFP,
                    &format!("o{i}@speakers.example"),
                    &subject,
                    &body,
                ),
            )
            .await;
    }
    w.cfpd(&["run", "--once"]);
    for i in 0..TITLES.len() {
        w.dovecot.wait_for(&format!("s{i}"), 1, T).await;
    }
    let roster = w.dir.path().join("roster.csv");
    std::fs::write(
        &roster,
        "email,name,topics,max_load\n\
         rev@conf.example,\"=cmd \u{1b}[2J\u{202e}Rev\",frontend,5\n\
         rev2@conf.example,\"@SUM(1+1)\u{7}\",frontend,5\n\
         rev3@conf.example,Bob,frontend,5\n",
    )
    .unwrap();
    w.cfpd(&["reviewers", "import", roster.to_str().unwrap()]);

    let list = w.cfpd(&["proposals", "list"]);
    assert!(list.contains("Clear\\x1b[2J"), "{list}");
    let mut outputs = vec![
        ("proposals list", list),
        ("messages", w.cfpd(&["messages"])),
        ("outbox", w.cfpd(&["outbox"])),
        ("reviewers list", w.cfpd(&["reviewers", "list"])),
        ("report", w.cfpd(&["report"])),
    ];
    for i in 1..=TITLES.len() {
        let r = format!("P-{i:04}");
        outputs.push(("proposals show", w.cfpd(&["proposals", "show", &r])));
        let shown = w.cfpd(&["messages", "show", &i.to_string()]);
        assert!(
            shown.starts_with(&format!("message {i}  accepted")) && shown.contains("\nFrom: "),
            "{shown}"
        );
        assert!(shown.contains("Title: "), "the text is shown: {shown}");
        outputs.push(("messages show", shown));
    }
    let missing = w.cfpd_raw(&["messages", "show", "999"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("there is no message 999"));
    let csv_path = w.dir.path().join("assign.csv");
    outputs.push((
        "assign",
        w.cfpd(&["assign", "--preview", "--csv", csv_path.to_str().unwrap()]),
    ));
    for (what, out) in &outputs {
        assert_clean(what, out);
    }
    let shown = w.cfpd(&["proposals", "show", "P-0003"]);
    assert!(shown.contains("\\u{202e}fdp.exe"), "{shown}");
    assert!(shown.contains("\\x9b31m"), "{shown}");

    let report_csv = w.cfpd(&["report", "--format", "csv"]);
    let assign_csv = std::fs::read_to_string(&csv_path).unwrap();
    let list_csv = w.cfpd(&["proposals", "list", "--output", "csv"]);
    // JSON keeps the speakers' text exactly (a program reads it, not a terminal).
    let json: serde_json::Value =
        serde_json::from_str(&w.cfpd(&["proposals", "list", "--output", "json"])).unwrap();
    assert_eq!(json.as_array().unwrap().len(), TITLES.len());
    assert!(json
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["title"].as_str().unwrap().contains('\u{1b}')));
    for (what, text) in [
        ("report --format csv", &report_csv),
        ("assign --csv", &assign_csv),
        ("proposals list --output csv", &list_csv),
    ] {
        assert_clean(what, text);
        let mut cells = 0;
        for table in text.split("\n\n") {
            let mut r = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(table.as_bytes());
            for rec in r.records() {
                for cell in rec.unwrap().iter() {
                    cells += 1;
                    assert!(
                        !cell
                            .trim_start()
                            .starts_with(['=', '+', '-', '@', '\t', '\r']),
                        "{what}: cell {cell:?} starts a formula:\n{text}"
                    );
                }
            }
        }
        assert!(cells > 10, "{what}: {text}");
        assert!(text.contains("'=HYPERLINK"), "{what}: {text}");
        assert!(text.contains("'-2+3"), "{what}: {text}");
    }
    // Reviewer progress is a file of its own; the roster's names are outside text too.
    let reviewers = w.cfpd(&["report", "--format", "reviewers-csv"]);
    assert_clean("report --format reviewers-csv", &reviewers);
    let mut r = csv::Reader::from_reader(reviewers.as_bytes());
    for rec in r.records() {
        for cell in rec.unwrap().iter() {
            assert!(
                !cell
                    .trim_start()
                    .starts_with(['=', '+', '-', '@', '\t', '\r']),
                "cell {cell:?} starts a formula:\n{reviewers}"
            );
        }
    }
    assert!(reviewers.contains("'@SUM(1+1)"), "{reviewers}");

    // JSON stays exact: the title comes back as the speaker wrote it.
    let json = w.cfpd(&["report", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let titles: Vec<String> = v["topics"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["proposals"].as_array().unwrap().clone())
        .map(|p| p["title"].as_str().unwrap().to_string())
        .collect();
    assert!(titles.iter().any(|t| t == TITLES[3]), "{titles:?}");
    assert!(titles.iter().any(|t| t.contains('\u{1b}')), "{titles:?}");
}
