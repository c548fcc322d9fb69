//! `cfpd report --html` end to end: a CFP built through real mail (Dovecot + SMTP;
//! proposals over several days, a draft, a withdrawal, a late entry, assignments,
//! reviews, a decline), the page written by the binary, then opened in headless
//! Chromium: the DOM it parsed must have every section and every chart with the marks
//! the data calls for, and its screenshot must show the charts' colours in the order of
//! the sections. Runs against SQLite, and PostgreSQL with `CFPD_TEST_DATABASE=postgres`.
//!
//! Chromium is Debian's `chromium` (scripts/test.sh installs it). Without it the tests
//! skip with a reason, unless `CFPD_REQUIRE_SERVERS=1`, where that is a failure.

mod support;

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::*;

const T: Duration = Duration::from_secs(20);
const CHROMIUM: &str = "/usr/bin/chromium";

// Colours the page promises (README "HTML report"); a rendered chart shows them.
const SUBMITTED: [u8; 3] = [0x2b, 0x6c, 0xb0];
const DRAFT: [u8; 3] = [0xd6, 0x9e, 0x2e];
const LATE: [u8; 3] = [0x80, 0x5a, 0xd5];
const WITHDRAWN: [u8; 3] = [0xa0, 0xae, 0xc0];
const SCORE: [u8; 3] = [0x2c, 0x7a, 0x7b];
const DONE: [u8; 3] = [0x2f, 0x85, 0x5a];
const PENDING: [u8; 3] = [0xdd, 0x6b, 0x20];
const DECLINED: [u8; 3] = [0x71, 0x80, 0x96];
/// The shade of a review count flagged as too few.
const SHORT: [u8; 3] = [0xff, 0xf5, 0xf5];

const HEADINGS: [&str; 6] = [
    "Summary",
    "Proposals over time",
    "Proposals per topic",
    "Score distributions",
    "Reviewer progress",
    "Ranking",
];

macro_rules! need_servers {
    () => {
        if !servers_available() || !chromium_available() {
            return;
        }
    };
}

/// Whether headless Chromium can be used; prints why not, and fails instead when servers
/// are required.
fn chromium_available() -> bool {
    if Path::new(CHROMIUM).exists() {
        return true;
    }
    if std::env::var("CFPD_REQUIRE_SERVERS").as_deref() == Ok("1") {
        panic!("{CHROMIUM} is missing; scripts/test.sh installs Debian's chromium");
    }
    eprintln!(
        "skipped: {CHROMIUM} not installed (apt-get install chromium, or run scripts/test.sh)"
    );
    false
}

/// Run headless Chromium on a file with `mode` (`--dump-dom` or `--screenshot=…`), a
/// fresh profile, no network features; give up after 90 s. Returns stdout.
fn chromium(page: &Path, mode: &str, work: &Path) -> String {
    let profile = tempfile::tempdir_in(work).unwrap();
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--force-color-profile=srgb",
            "--hide-scrollbars",
            "--window-size=1280,4000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(mode)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).unwrap();
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if start.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium {mode} did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = reader.join().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "chromium {mode}: {status}\n{err}");
    out
}

/// A decoded screenshot: RGB pixels, row by row.
struct Shot {
    width: usize,
    height: usize,
    rgb: Vec<[u8; 3]>,
}

impl Shot {
    fn load(path: &Path) -> Shot {
        let bytes = std::fs::read(path).unwrap();
        let mut dec = png::Decoder::new(std::io::Cursor::new(bytes));
        dec.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut reader = dec.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        let channels = match info.color_type {
            png::ColorType::Rgba => 4,
            png::ColorType::Rgb => 3,
            other => panic!("unexpected screenshot colour type {other:?}"),
        };
        let rgb = buf[..info.buffer_size()]
            .chunks(channels)
            .map(|p| [p[0], p[1], p[2]])
            .collect();
        Shot {
            width: info.width as usize,
            height: info.height as usize,
            rgb,
        }
    }

    fn near(p: [u8; 3], c: [u8; 3]) -> bool {
        p.iter().zip(c).all(|(a, b)| a.abs_diff(b) <= 2)
    }

    /// How many pixels have colour `c`.
    fn count(&self, c: [u8; 3]) -> usize {
        self.rgb.iter().filter(|p| Self::near(**p, c)).count()
    }

    /// Runs of consecutive rows holding at least one pixel of colour `c`: (first, last).
    fn bands(&self, c: [u8; 3]) -> Vec<(usize, usize)> {
        let mut out: Vec<(usize, usize)> = Vec::new();
        for y in 0..self.height {
            let row = &self.rgb[y * self.width..(y + 1) * self.width];
            if row.iter().any(|p| Self::near(*p, c)) {
                match out.last_mut() {
                    Some(b) if b.1 + 1 == y => b.1 = y,
                    _ => out.push((y, y)),
                }
            }
        }
        out
    }

    fn distinct(&self) -> usize {
        let mut v: Vec<[u8; 3]> = self.rgb.clone();
        v.sort_unstable();
        v.dedup();
        v.len()
    }
}

/// The `<svg id="…">…</svg>` element of a chart in a page or DOM dump.
fn chart<'a>(dom: &'a str, id: &str) -> &'a str {
    let start = dom
        .find(&format!("<svg id=\"{id}\""))
        .unwrap_or_else(|| panic!("no chart {id}"));
    let len = dom[start..].find("</svg>").unwrap();
    &dom[start..start + len]
}

/// Write the report at `now` and return its path and bytes.
fn write_report(w: &World, now: &str, name: &str) -> (PathBuf, String) {
    let path = w.dir.path().join(name);
    let out = w.cfpd_at(now, &["report", "--html", path.to_str().unwrap()]);
    assert!(
        out.starts_with(&format!("wrote {}", path.display())),
        "{out}"
    );
    let html = std::fs::read_to_string(&path).unwrap();
    (path, html)
}

/// Nothing in the page loads anything: no scripts, no remote or local references.
fn assert_self_contained(html: &str) {
    let lower = html.to_ascii_lowercase();
    for bad in [
        "<script", "<link", "<img", "<iframe", "<object", "src=", "href=", "@import", "url(",
        "http://", "https://",
    ] {
        assert!(!lower.contains(bad), "the page contains {bad:?}");
    }
}

// Days of the CFP, in UTC; the conference zone is AoE (UTC−12), so 14:00Z is 02:00 on the
// same date there. The deadline is 2025-04-24 23:59:59 AoE: in the real past, so that
// mail can be delivered (IMAP INTERNALDATE) on the day it is processed, and arrival, which
// decides lateness, matches the pretended clock.
const DAY1: &str = "2025-04-20T14:00:00Z";
const DAY2: &str = "2025-04-21T14:00:00Z";
const DAY3: &str = "2025-04-22T14:00:00Z";
const DAY7: &str = "2025-04-26T14:00:00Z";
const DAY8: &str = "2025-04-27T14:00:00Z";
const REPORT_AT: &str = "2025-04-28T09:00:00Z";

#[tokio::test(flavor = "multi_thread")]
async fn the_html_report_renders_every_chart_in_chromium() {
    need_servers!();
    let w = World::start("[review]\nreviewers_per_proposal = 2\n").await;
    w.set_cfp_deadline("2025-04-24T23:59:59", "");
    let at = |day: &str| chrono::DateTime::parse_from_rfc3339(day).unwrap().to_utc();
    let script_title = "<script>alert(\"owned\")</script> & other tricks";
    // Day 1: three complete proposals.
    for (i, (from, title, topic)) in [
        ("ada@a.example", "Fast pages with htmx", "frontend"),
        ("bob@b.example", script_title, "frontend"),
        ("cy@c.example", "Postgres tricks", "database"),
    ]
    .iter()
    .enumerate()
    {
        let m = mail(
            from,
            CFP,
            &format!("d1-{i}@s"),
            "Proposal",
            &proposal_with(title, topic),
        );
        w.dovecot.append_at("cfp", &m, at(DAY1)).await;
    }
    w.cfpd_at(DAY1, &["run", "--once"]);
    // Day 2: one more, a draft (no abstract), one that will be withdrawn.
    for (i, (from, body)) in [
        (
            "di@d.example",
            proposal_with("Indexes that matter", "database"),
        ),
        (
            "eve@e.example",
            "Title: Half an idea\nTopics: security\n".to_string(),
        ),
        (
            "fay@f.example",
            proposal_with("Testing without tears", "dev-testing"),
        ),
    ]
    .iter()
    .enumerate()
    {
        let m = mail(from, CFP, &format!("d2-{i}@s"), "Proposal", body);
        w.dovecot.append_at("cfp", &m, at(DAY2)).await;
    }
    w.cfpd_at(DAY2, &["run", "--once"]);
    // Day 3: fay withdraws through her reply token.
    let ack = w.dovecot.wait_for("fay", 1, T).await.remove(0);
    w.dovecot
        .append_at(
            "cfp",
            &reply("fay@f.example", &ack, "fay-w@s", "withdraw"),
            at(DAY3),
        )
        .await;
    w.cfpd_at(DAY3, &["run", "--once"]);
    // Day 7, after the deadline: a late entry; then the roster and the assignment.
    let late = mail(
        "gus@g.example",
        CFP,
        "d7@s",
        "Proposal",
        &proposal_with("Deploying late", "deployment"),
    );
    w.dovecot.append_at("cfp", &late, at(DAY7)).await;
    w.cfpd_at(DAY7, &["run", "--once"]);
    let roster = w.dir.path().join("roster.csv");
    std::fs::write(
        &roster,
        "email,name,topics,max_load\n\
         rita@cs.uni.edu,Rita <R.> Reviewer,frontend;database,4\n\
         sam@other.org,Sam,frontend;database,4\n\
         tom@tom.example,,frontend;database,4\n",
    )
    .unwrap();
    w.cfpd_at(DAY7, &["reviewers", "import", roster.to_str().unwrap()]);
    let out = w.cfpd_at(DAY7, &["assign", "--commit"]);
    assert!(out.contains("committed"), "{out}");
    w.cfpd_at(DAY7, &["run", "--once"]);

    // Day 8: reviews. Per proposal, what its reviewers answer (in address order).
    let store = w.store().await;
    let (assigned, emails) = {
        let mut c = store.pool.acquire().await.unwrap();
        let revs = cfpd::store::review::reviewers(&mut c).await.unwrap();
        let email: HashMap<i64, String> = revs.into_iter().map(|r| (r.id, r.email)).collect();
        let a = cfpd::store::review::assignments(&mut c).await.unwrap();
        (a, email)
    };
    assert_eq!(assigned.len(), 8, "4 submitted proposals × 2 reviewers");
    let plan: HashMap<i64, [&str; 2]> = HashMap::from([
        (1, ["Score: 5", "Score: 3"]), // mean 4, median 4
        (2, ["Score: 4", "Score: 4"]), // mean 4, median 4: ties with P-0001
        (3, ["Score: 2", "decline"]),  // the decline is refilled: one pending
        (4, ["Score: 3", ""]),         // one review still pending
    ]);
    let mut per_proposal: HashMap<i64, Vec<&str>> = HashMap::new();
    let mut sorted = assigned.clone();
    sorted.sort_by_key(|a| (a.proposal_id, emails[&a.reviewer_id].clone()));
    let mut mails_per_reviewer: HashMap<&str, usize> = HashMap::new();
    for a in &sorted {
        *mails_per_reviewer
            .entry(emails[&a.reviewer_id].as_str())
            .or_default() += 1;
    }
    for (n, a) in sorted.iter().enumerate() {
        let email = emails[&a.reviewer_id].as_str();
        let slot = per_proposal.entry(a.proposal_id).or_default();
        let text = plan[&a.proposal_id][slot.len()];
        slot.push(email);
        if text.is_empty() {
            continue;
        }
        let user = email.split('@').next().unwrap();
        let inbox = w.dovecot.wait_for(user, mails_per_reviewer[email], T).await;
        let needle = format!("Review P-{:04}:", a.proposal_id);
        let original = inbox
            .iter()
            .find(|m| parsed(m).subject().unwrap_or("").contains(&needle))
            .unwrap_or_else(|| panic!("no {needle} mail for {user}"));
        w.dovecot
            .append_at(
                "cfp",
                &reply(email, original, &format!("rev{n}@r"), text),
                at(DAY8),
            )
            .await;
    }
    w.cfpd_at(DAY8, &["run", "--once"]);

    // The page.
    let (page, html) = write_report(&w, REPORT_AT, "report.html");
    assert_self_contained(&html);
    assert!(
        !html.contains(script_title),
        "a speaker's title became markup"
    );
    assert!(
        html.contains("&#60;script&#62;alert(&#34;owned&#34;)&#60;/script&#62; &#38; other tricks"),
        "the title is shown, escaped"
    );
    assert!(
        html.contains("Rita &lt;R.&gt; Reviewer") && !html.contains("Rita <R.>"),
        "roster names are escaped in charts"
    );

    // Same database, another time: the same bytes but the generated-at line.
    let (_, again) = write_report(&w, "2025-05-30T09:00:00Z", "again.html");
    let differing: Vec<(&str, &str)> = html
        .lines()
        .zip(again.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(html.lines().count(), again.lines().count());
    assert_eq!(differing.len(), 1, "{differing:?}");
    assert!(differing[0]
        .0
        .contains("Generated 2025-04-27 21:00 AoE (2025-04-28 09:00 UTC)"));

    // What the data says the charts must show.
    let json: serde_json::Value =
        serde_json::from_str(&w.cfpd(&["report", "--format", "json"])).unwrap();
    let proposals = {
        let mut c = store.pool.acquire().await.unwrap();
        cfpd::store::proposals::list(&mut c).await.unwrap()
    };
    let mut primary: Vec<String> = proposals
        .iter()
        .map(|p| p.topics.first().map_or("none".into(), |t| t.id.clone()))
        .collect();
    primary.sort();
    primary.dedup();
    let counted_scores: usize = json["topics"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["proposals"].as_array().unwrap())
        .map(|p| p["scores"].as_array().unwrap().len())
        .sum();
    assert_eq!(counted_scores, 6, "{json}");
    let reviewer_segments: usize = json["reviewers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            ["done", "pending", "declined", "conflicts"]
                .iter()
                .filter(|k| r[**k].as_u64().unwrap() > 0)
                .count()
        })
        .sum();
    let declined: u64 = json["reviewers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["declined"].as_u64().unwrap())
        .sum();
    assert_eq!(declined, 1);

    // Chromium's DOM: every section, every chart with its marks.
    let work = tempfile::tempdir().unwrap();
    let dom = chromium(&page, "--dump-dom", work.path());
    for h in HEADINGS {
        assert!(
            dom.contains(&format!("\">{h}</h2>")),
            "heading {h:?} missing"
        );
    }
    assert!(
        !dom.contains("<script"),
        "no script element in the parsed page"
    );
    // Proposals over time: 20–26 April (AoE) = 7 days; (day, status) segments:
    // 20th submitted; 21st submitted+draft; 22nd–25th submitted+draft+withdrawn;
    // 26th the same plus late.
    let timeline = chart(&dom, "chart-timeline");
    assert_eq!(
        timeline.matches("class=\"mark s-").count(),
        1 + 2 + 3 * 4 + 4
    );
    assert_eq!(timeline.matches("class=\"mark s-late\"").count(), 1);
    assert_eq!(timeline.matches("class=\"mark s-withdrawn\"").count(), 5);
    assert_eq!(timeline.matches("class=\"deadline\"").count(), 1);
    assert!(
        timeline.contains("2025-04-26: 4 submitted of 7"),
        "{timeline}"
    );
    // Proposals per topic: one bar per primary topic of any proposal.
    let topics = chart(&dom, "chart-topics");
    assert_eq!(topics.matches("<g class=\"bar\"").count(), primary.len());
    assert!(primary.len() >= 4, "{primary:?}");
    let mut topic_status: Vec<(String, &str)> = proposals
        .iter()
        .map(|p| {
            (
                p.topics.first().map_or("none".into(), |t| t.id.clone()),
                p.status.as_str(),
            )
        })
        .collect();
    topic_status.sort();
    topic_status.dedup();
    assert_eq!(
        topics.matches("class=\"mark s-").count(),
        topic_status.len(),
        "one segment per (topic, status) that has proposals: {topic_status:?}"
    );
    assert!(topics.contains("HTMX, Alpine, Tailwind and other"));
    // Score distributions: one dot per counted review, one row per topic in review.
    let scores = chart(&dom, "chart-scores");
    assert_eq!(
        scores.matches("<circle class=\"mark\"").count(),
        counted_scores
    );
    assert_eq!(scores.matches("<g class=\"strip\"").count(), 2);
    assert_eq!(scores.matches("class=\"mean\"").count(), 2);
    // Reviewer progress: one bar per reviewer, one segment per non-zero count.
    let reviewers = chart(&dom, "chart-reviewers");
    assert_eq!(reviewers.matches("<g class=\"bar\"").count(), 3);
    assert_eq!(
        reviewers.matches("class=\"mark r-").count(),
        reviewer_segments
    );
    assert_eq!(reviewers.matches("class=\"mark r-declined\"").count(), 1);
    // Ranking: a table per topic in review; P-0002 ties with P-0001.
    assert_eq!(dom.matches("<table class=\"ranking\">").count(), 2);
    assert!(
        dom.contains("<tr class=\"tie\"><td class=\"n\">2 (tie)</td><td>P-0002</td>"),
        "P-0002 is marked as a tie"
    );
    for svg in [timeline, topics, scores, reviewers] {
        assert!(svg.contains("role=\"img\"") && svg.contains("<title id=\""));
    }
    // The overall ranking across topics: each mean beside the reviews it
    // rests on, flagged when fewer than assigned (P-0003: a decline was
    // refilled, P-0004: one pending); format, no speaker (blind review).
    // A small CFP gets the compact page.
    assert!(dom.contains("<body class=\"compact\">"), "compact layout");
    assert!(dom.contains("<h2 id=\"h-overall\">Overall ranking</h2>"));
    let overall = {
        let start = dom
            .find("<table class=\"overall\">")
            .expect("an overall ranking");
        &dom[start..start + dom[start..].find("</table>").unwrap()]
    };
    let rows: Vec<&str> = overall.split("<tr").skip(2).collect();
    let refs: Vec<&str> = rows
        .iter()
        .map(|r| &r[r.find("P-").unwrap()..][..6])
        .collect();
    assert_eq!(refs, ["P-0001", "P-0002", "P-0004", "P-0003"], "{overall}");
    assert!(
        rows[0].contains("<td class=\"n\">4.00</td><td class=\"n\">2 of 2</td>"),
        "{overall}"
    );
    assert!(rows[1].starts_with(" class=\"tie\""), "{overall}");
    for (row, mean) in [(rows[2], "3.00"), (rows[3], "2.00")] {
        assert!(
            row.contains(&format!(
                "<td class=\"n\">{mean}</td><td class=\"n short\">1 of 2<span class=\"flag\""
            )),
            "{overall}"
        );
    }
    assert_eq!(
        overall.matches("<span class=\"flag\"").count(),
        2,
        "{overall}"
    );
    assert!(overall.contains("<td>talk-25</td>"), "{overall}");
    assert!(!overall.contains("<th>speaker</th>") && !overall.contains("ada@a.example"));

    // The screenshot: a real picture with every chart's colours, in section order.
    let png = work.path().join("report.png");
    chromium(
        &page,
        &format!("--screenshot={}", png.display()),
        work.path(),
    );
    // CFPD_KEEP_SCREENSHOT=DIR keeps the page and its screenshot for a human to look at.
    if let Ok(dir) = std::env::var("CFPD_KEEP_SCREENSHOT") {
        std::fs::copy(&png, Path::new(&dir).join("report.png")).unwrap();
        std::fs::copy(&page, Path::new(&dir).join("report.html")).unwrap();
    }
    let shot = Shot::load(&png);
    assert_eq!((shot.width, shot.height), (1280, 4000));
    assert!(
        shot.distinct() > 50,
        "the screenshot is (nearly) one colour"
    );
    for (name, c) in [
        ("submitted", SUBMITTED),
        ("draft", DRAFT),
        ("late", LATE),
        ("withdrawn", WITHDRAWN),
        ("done", DONE),
        ("pending", PENDING),
        ("declined", DECLINED),
    ] {
        // Legend swatches are 12×12; bars are far larger.
        assert!(shot.count(c) > 1000, "{name}: {} pixels", shot.count(c));
    }
    // The flagged review counts stand out (their cells' shade).
    assert!(
        shot.count(SHORT) > 500,
        "flagged cells: {} pixels",
        shot.count(SHORT)
    );
    assert!(
        shot.count(SCORE) > counted_scores * 30,
        "score dots: {} pixels",
        shot.count(SCORE)
    );
    // Vertical order: the timeline (one tall band of stacked bars), then the topic bars,
    // then the score dots, then the reviewer bars.
    let blue = shot.bands(SUBMITTED);
    let tall = blue
        .iter()
        .position(|b| b.1 - b.0 > 100)
        .expect("timeline bars");
    assert!(
        blue.len() > tall + 1,
        "topic bars below the timeline: {blue:?}"
    );
    let topic_bars_end = blue.last().unwrap().1;
    let teal = shot.bands(SCORE);
    let green = shot.bands(DONE);
    assert!(blue[tall].1 < blue[tall + 1].0);
    assert!(topic_bars_end < teal[0].0, "{blue:?} {teal:?}");
    assert!(teal.last().unwrap().1 < green[0].0, "{teal:?} {green:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_cfp_gets_clear_messages_instead_of_charts() {
    need_servers!();
    let w = World::start("").await;
    let (page, html) = write_report(&w, REPORT_AT, "empty.html");
    assert_self_contained(&html);
    let work = tempfile::tempdir().unwrap();
    let dom = chromium(&page, "--dump-dom", work.path());
    for h in HEADINGS {
        assert!(
            dom.contains(&format!("\">{h}</h2>")),
            "heading {h:?} missing"
        );
    }
    assert!(!dom.contains("<svg"), "no chart without data");
    assert_eq!(
        dom.matches("<p class=\"empty\">No proposals yet.</p>")
            .count(),
        2
    );
    assert!(dom.contains("<p class=\"empty\">No submitted proposals yet.</p>"));
    assert!(dom.contains("No reviewers yet"));
    let png = work.path().join("empty.png");
    chromium(
        &page,
        &format!("--screenshot={}", png.display()),
        work.path(),
    );
    let shot = Shot::load(&png);
    assert!(shot.distinct() > 10, "the empty page still shows its text");
    assert_eq!(shot.count(SUBMITTED), 0, "nothing drawn");
}
