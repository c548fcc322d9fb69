//! The bid reader on replies as the common clients write them (each trimmed first, as
//! intake does), and on every kind of line it must refuse or ignore.

use super::*;
use crate::mailtext::trim::{trim_html_reply, trim_reply};
use BidKind::*;

/// The bidding mail as a reviewer's client quotes it: it names proposals and even shows
/// the answer format, so nothing of it may count as a bid.
const ORIGINAL: &str = "Hello Rita,\n\nReply with lines such as\n  yes: P-0001, P-0002\n\nP-0001  Fast ORMs\nP-0002  Slow queries\nP-0009  Caching\n";

fn read(body: &str) -> Bids {
    parse(&trim_reply(body).kept)
}

fn quoted(text: &str) -> String {
    text.lines().map(|l| format!("> {l}\n")).collect()
}

#[test]
fn gmail_reply_above_the_quote() {
    let body = format!(
        "yes: P-0003, P-0017\nmaybe: P-0005\n\nOn Mon, May 13, 2024 at 9:30 AM TestConf CFP <\ncfp+abc@conf.example> wrote:\n\n{}",
        quoted(ORIGINAL)
    );
    assert_eq!(read(&body).bids, vec![(3, Yes), (5, Maybe), (17, Yes)]);
    assert!(read(&body).problems.is_empty());
}

#[test]
fn outlook_top_posting_with_the_original_unquoted_below() {
    let body = format!(
        "no: 9\r\nconflict: 4\r\n\r\n________________________________\r\nFrom: TestConf CFP <cfp+abc@conf.example>\r\nSent: Monday, May 13, 2024 9:30 AM\r\nTo: rita@x.org\r\nSubject: Bidding\r\n\r\n{}",
        ORIGINAL.replace('\n', "\r\n")
    );
    let b = read(&body);
    assert_eq!(b.bids, vec![(4, Conflict), (9, No)]);
    assert!(b.problems.is_empty(), "{:?}", b.problems);
}

#[test]
fn apple_mail_with_its_device_signature_and_quoted_attribution() {
    let body = format!(
        "Yes: p-3 and P12\n\nSent from my iPad\n\n> On 13 May 2024, at 09:30, TestConf CFP <cfp+abc@conf.example> wrote:\n> \n{}",
        quoted(ORIGINAL)
    );
    assert_eq!(read(&body).bids, vec![(3, Yes), (12, Yes)]);
}

#[test]
fn html_only_reply_with_a_gmail_quote() {
    let html = "<div dir=\"ltr\">maybe: P-0002<br>no: #7</div><div class=\"gmail_quote\"><div class=\"gmail_attr\">On Mon wrote:</div><blockquote class=\"gmail_quote\">yes: P-0001, P-0002</blockquote></div>";
    assert_eq!(
        parse(&trim_html_reply(html).kept).bids,
        vec![(2, Maybe), (7, No)]
    );
}

#[test]
fn plain_reply_with_greeting_bullets_and_signature() {
    let body = "Hi,\n\nhere are mine:\n - YES: P-0001; P-0002\n * conflict P-0004\n\nThanks!\n-- \nRita\nP-0099 is my favourite number\n";
    let b = read(body);
    assert_eq!(b.bids, vec![(1, Yes), (2, Yes), (4, Conflict)]);
    assert!(b.problems.is_empty(), "{:?}", b.problems);
}

#[test]
fn what_is_not_understood_is_said_and_the_rest_is_kept() {
    let b = parse(
        "yes: P-0001, soon\nmaybe:\nP-0004 please\nyes, I would like to help\nno: P-0001\nmaybe: 6",
    );
    // P-0001 is both yes and no: neither is recorded.
    assert_eq!(b.bids, vec![(6, Maybe)]);
    assert_eq!(
        b.problems,
        vec![
            "\"soon\" (in \"yes: P-0001, soon\") is not a proposal number".to_string(),
            "\"maybe:\": no proposal number after it".to_string(),
            "\"P-0004 please\": start the line with yes, maybe, no or conflict".to_string(),
            "P-0001 is named under two different answers: not recorded, write it once".to_string(),
        ]
    );
}

#[test]
fn the_same_bid_twice_is_one_bid_and_prose_is_ignored() {
    let b = parse("I read them all, 3 of them are great.\nyes: 3, 3\nyes: P-0003");
    assert_eq!(b.bids, vec![(3, Yes)]);
    assert!(b.problems.is_empty(), "{:?}", b.problems);
}

#[test]
fn proposal_numbers_in_every_spelling() {
    for w in ["P-0003", "p-3", "P3", "#3", "3", "0003"] {
        assert_eq!(proposal_number(w), Some(3), "{w}");
    }
    for w in ["P-", "P-0", "x3", "3a", "-3", "", "P-12345678901"] {
        assert_eq!(proposal_number(w), None, "{w}");
    }
}

#[test]
fn a_kind_word_must_stand_alone() {
    assert_eq!(parse("nobody: 3").bids, vec![]);
    assert_eq!(parse("no-show 3").bids, vec![]);
    assert_eq!(parse("NO 3").bids, vec![(3, No)]);
}
