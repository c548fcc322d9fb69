//! Topic tagging as a chair sees it: `cfpd tag` on the labelled talks, and
//! `cfpd proposals tag` overrides that survive a speaker's update.

mod support;

use std::time::Duration;

use support::*;

#[test]
fn cfpd_tag_ranks_every_topic_with_evidence_and_files_the_labelled_primary_topic_first() {
    let Some(shared) = shared_dir() else {
        eprintln!("skipped: ../shared not found (labelled talks live there)");
        return;
    };
    let data = shared.join("data/djangocon-talks-2022-2023.jsonl");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cfpd"))
        .args(["tag", "--input"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let labels: Vec<serde_json::Value> = std::fs::read_to_string(&data)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let preds: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(preds.len(), labels.len());
    let (mut hit1, mut hit3) = (0, 0);
    // primary@1 (the top topic is the talk's first label) overall and per
    // year: the two years are the halves the vocabulary was checked on, and
    // a change that helps one year only is suspect.
    let mut primary: std::collections::BTreeMap<i64, (usize, usize)> = Default::default();
    for (l, p) in labels.iter().zip(&preds) {
        assert_eq!(l["id"], p["id"]);
        let topics = p["topics"].as_array().unwrap();
        assert_eq!(topics.len(), 20, "all topics ranked");
        let want: Vec<&str> = l["topics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        let ids: Vec<&str> = topics.iter().map(|t| t["id"].as_str().unwrap()).collect();
        if want.contains(&ids[0]) {
            hit1 += 1;
        }
        let year = primary.entry(l["year"].as_i64().unwrap()).or_default();
        year.1 += 1;
        if ids[0] == want[0] {
            year.0 += 1;
        }
        if ids[..3].iter().any(|i| want.contains(i)) {
            hit3 += 1;
        }
        assert!(
            !topics[0]["evidence"].as_array().unwrap().is_empty(),
            "top topic without evidence: {p}"
        );
    }
    let n = labels.len() as f64;
    assert!(hit1 as f64 / n >= 0.75, "hit@1 {}", hit1 as f64 / n);
    assert!(hit3 as f64 / n >= 0.90, "hit@3 {}", hit3 as f64 / n);
    let per_year: Vec<String> = primary
        .iter()
        .map(|(y, (ok, all))| format!("{y}: {ok}/{all}"))
        .collect();
    let right: usize = primary.values().map(|v| v.0).sum();
    assert!(
        right as f64 / n >= 0.85,
        "primary@1 {:.3} ({per_year:?})",
        right as f64 / n
    );
    for (y, (ok, all)) in &primary {
        assert!(
            *ok as f64 / *all as f64 >= 0.80,
            "primary@1 in {y} alone: {ok}/{all} ({per_year:?})"
        );
    }
}

#[test]
fn a_custom_topic_file_with_an_error_is_refused_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let topics = dir.path().join("topics.toml");
    std::fs::write(
        &topics,
        "[[topic]]\nid = \"web\"\nname = \"Web\"\ndescription = \"d\"\nterms = [\"http\"]\n\n[[topic]]\nid = \"web\"\nname = \"Web 2\"\ndescription = \"d\"\nterms = [\"html\"]\n",
    )
    .unwrap();
    let input = dir.path().join("in.jsonl");
    std::fs::write(
        &input,
        "{\"id\":\"a\",\"title\":\"t\",\"abstract\":\"http\"}\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cfpd"))
        .args(["tag", "--input"])
        .arg(&input)
        .arg("--topics")
        .arg(&topics)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("topics.toml:") && err.contains("duplicate"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn chair_override_survives_a_speaker_update_and_shows_in_the_ack() {
    if !servers_available() {
        return;
    }
    let w = World::start("").await;
    w.dovecot
        .append(
            "cfp",
            &mail(
                "ada@example.org",
                CFP,
                "o1@x",
                "p",
                &proposal_body("HTMX forms"),
            ),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    let ack = w
        .dovecot
        .wait_for("ada", 1, Duration::from_secs(20))
        .await
        .remove(0);
    // Before the chair's override: the speaker's topic first, in plain words.
    let show = w.cfpd(&["proposals", "show", "P-0001"]);
    let first = show
        .lines()
        .find(|l| l.starts_with("filed under "))
        .unwrap_or_default();
    assert!(
        first.starts_with("filed under frontend")
            && first.contains(": the speaker chose \"frontend\"; mentions HTMX, "),
        "{show}"
    );
    assert!(!show.contains("declared:"), "{show}");
    let out = w.cfpd(&["proposals", "tag", "P-0001", "+security", "-frontend"]);
    assert!(
        out.contains("security") && !out.contains("frontend"),
        "{out}"
    );
    // The speaker updates the abstract; the chair's choice stays.
    let upd = reply(
        "ada@example.org",
        &ack,
        "o2@x",
        "Abstract:\n  More htmx and Alpine.js.",
    );
    w.dovecot.append("cfp", &upd).await;
    w.cfpd(&["run", "--once"]);
    let inbox = w.dovecot.wait_for("ada", 2, Duration::from_secs(20)).await;
    let text = body(&inbox[1]);
    assert!(text.contains("updated (version 2)"), "{text}");
    assert!(text.contains("added by the program chair"), "{text}");
    assert!(!text.contains("  - HTMX"), "{text}");
    let show = w.cfpd(&["proposals", "show", "P-0001"]);
    assert!(
        show.contains("topic overrides: +security -frontend"),
        "{show}"
    );
    // Evidence reads as plain words for the chair, never tagger markers.
    assert!(!show.contains("declared:"), "{show}");
    let v2 = show.split("--- version 2").nth(1).unwrap();
    assert!(
        v2.lines()
            .any(|l| l.starts_with("filed under security")
                && l.ends_with("added by the program chair")),
        "{show}"
    );
    assert!(v2.contains("filed under security"), "{show}");
    assert!(!v2.contains("filed under frontend"), "{show}");
}
