//! Replies built the way real mail clients build them (Gmail, Outlook, Apple Mail,
//! Thunderbird, mutt, HTML-only webmail), and plain replies with arbitrary threading.

use super::*;

/// What a reply needs from the mail it answers.
pub struct Orig {
    /// Reply-To (the tokenized address) — where a client sends the reply.
    pub reply_to: String,
    /// Its subject.
    pub subject: String,
    /// Its Message-ID.
    pub message_id: String,
    /// Its text body.
    pub text: String,
}

pub fn orig(raw: &[u8]) -> Orig {
    Orig {
        reply_to: reply_to(raw),
        subject: parsed(raw).subject().unwrap_or("").to_string(),
        message_id: message_id(raw),
        text: body(raw),
    }
}

pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn html_lines(s: &str) -> String {
    s.lines()
        .map(|l| {
            if l.is_empty() {
                "<div><br></div>".to_string()
            } else {
                format!("<div>{}</div>", html_escape(l))
            }
        })
        .collect()
}

pub fn quote(s: &str) -> String {
    s.lines()
        .map(|l| {
            if l.is_empty() {
                ">\n".to_string()
            } else {
                format!("> {l}\n")
            }
        })
        .collect()
}

pub fn crlf(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\n', "\r\n")
}

/// Minimal quoted-printable (RFC 2045), as Apple Mail writes its plain part.
pub fn qp(s: &str) -> String {
    let mut out = String::new();
    for line in s.split('\n') {
        let mut cur = String::new();
        for b in line.bytes() {
            let piece = if b == b'=' || b >= 0x7f || (b < 0x20 && b != b'\t') {
                format!("={b:02X}")
            } else {
                (b as char).to_string()
            };
            if cur.len() + piece.len() > 73 {
                out.push_str(&cur);
                out.push_str("=\r\n");
                cur.clear();
            }
            cur.push_str(&piece);
        }
        out.push_str(&cur);
        out.push_str("\r\n");
    }
    out
}

pub fn b64(s: &str) -> String {
    let e = data_encoding::BASE64.encode(s.as_bytes());
    e.as_bytes()
        .chunks(76)
        .map(|c| String::from_utf8_lossy(c).into_owned() + "\r\n")
        .collect()
}

pub fn headers(from: &str, to: &str, subject: &str, mid: &str, o: &Orig, extra: &str) -> String {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{mid}>\r\nIn-Reply-To: <{irt}>\r\nReferences: <{irt}>\r\nDate: Mon, 13 May 2024 09:30:00 +0200\r\nMIME-Version: 1.0\r\n{extra}",
        irt = o.message_id
    )
}

/// A reply from `from` to `o` with subject `{re}: …`, the client's own `extra` headers
/// (ending in the blank line) and `body`.
pub fn reply_mail(from: &str, o: &Orig, mid: &str, re: &str, extra: &str, body: String) -> Vec<u8> {
    let mut m = headers(
        from,
        &o.reply_to,
        &format!("{re}: {}", o.subject),
        mid,
        o,
        extra,
    );
    m.push_str(&body);
    m.into_bytes()
}

/// A multipart/alternative body: `preamble`, then the plain part and the HTML part
/// (each with its part headers) between `boundary` lines.
pub fn alternative(
    preamble: &str,
    boundary: &str,
    plain_headers: &str,
    plain: String,
    html_headers: &str,
    html: String,
) -> String {
    format!(
        "{preamble}--{boundary}\r\n{plain_headers}\r\n\r\n{plain}\r\n--{boundary}\r\n{html_headers}\r\n\r\n{html}\r\n--{boundary}--\r\n"
    )
}

/// Gmail: multipart/alternative; the plain part quotes with "> " under a wrapped
/// "On … wrote:" line; the HTML part has `gmail_quote` with a `gmail_attr` attribution.
pub fn gmail(from: &str, o: &Orig, mid: &str, answer: &str) -> Vec<u8> {
    let attribution = format!(
        "On Mon, May 13, 2024 at 9:30 AM TestConf CFP <\n{}> wrote:",
        o.reply_to
    );
    let plain = format!("{answer}\n\n{attribution}\n\n{}", quote(&o.text));
    let html = format!(
        "<div dir=\"ltr\">{}</div><br><div class=\"gmail_quote\"><div dir=\"ltr\" class=\"gmail_attr\">On Mon, May 13, 2024 at 9:30 AM TestConf CFP &lt;<a href=\"mailto:{rt}\">{rt}</a>&gt; wrote:<br></div><blockquote class=\"gmail_quote\" style=\"margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex\">{}</blockquote></div>\n",
        html_lines(answer),
        html_lines(&o.text),
        rt = o.reply_to
    );
    let extra = "Content-Type: multipart/alternative; boundary=\"000000000000gmail\"\r\n\r\n";
    reply_mail(from, o, mid, "Re", extra, alternative(
        "",
        "000000000000gmail",
        "Content-Type: text/plain; charset=\"UTF-8\"\r\nContent-Transfer-Encoding: quoted-printable",
        qp(&plain),
        "Content-Type: text/html; charset=\"UTF-8\"\r\nContent-Transfer-Encoding: quoted-printable",
        qp(&html),
    ))
}

/// Outlook (desktop / Microsoft 365): multipart/alternative; the plain part has the
/// original *unquoted* below a rule and a From/Sent/To/Subject block; the HTML part has
/// `divRplyFwdMsg`.
pub fn outlook(from: &str, o: &Orig, mid: &str, answer: &str) -> Vec<u8> {
    let plain = format!(
        "{answer}\n\n________________________________\nFrom: TestConf CFP <{rt}>\nSent: Monday, May 13, 2024 9:30 AM\nTo: {from}\nSubject: {subj}\n\n{text}",
        rt = o.reply_to,
        subj = o.subject,
        text = o.text
    );
    let html = format!(
        "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\"><style type=\"text/css\" style=\"display:none;\"> P {{margin-top:0;margin-bottom:0;}} </style></head><body dir=\"ltr\"><div class=\"elementToProof\" style=\"font-family: Aptos, sans-serif; font-size: 12pt;\">{}</div><div id=\"appendonsend\"></div><hr style=\"display:inline-block;width:98%\" tabindex=\"-1\"><div id=\"divRplyFwdMsg\" dir=\"ltr\"><font face=\"Calibri, sans-serif\" style=\"font-size:11pt\" color=\"#000000\"><b>From:</b> TestConf CFP &lt;{}&gt;<br><b>Sent:</b> Monday, May 13, 2024 9:30 AM<br><b>To:</b> {}<br><b>Subject:</b> {}</font><div>&nbsp;</div></div><div><pre>{}</pre></div></body></html>",
        html_lines(answer),
        o.reply_to,
        html_escape(from),
        html_escape(&o.subject),
        html_escape(&o.text)
    );
    let extra = "Thread-Topic: review\r\nThread-Index: AQHasd8fT2\r\nX-MS-Has-Attach: \r\nContent-Language: en-US\r\nContent-Type: multipart/alternative; boundary=\"_000_outlook_\"\r\n\r\n";
    reply_mail(
        from,
        o,
        mid,
        "RE",
        extra,
        alternative(
            "",
            "_000_outlook_",
            "Content-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: base64",
            b64(&plain),
            "Content-Type: text/html; charset=\"utf-8\"\r\nContent-Transfer-Encoding: base64",
            b64(&html),
        ),
    )
}

/// Apple Mail: multipart/alternative; plain part in quoted-printable with the attribution
/// itself quoted; HTML with `<blockquote type="cite">`; "Sent from my iPhone"-style
/// signature.
pub fn apple_mail(from: &str, o: &Orig, mid: &str, answer: &str) -> Vec<u8> {
    let plain = format!(
        "{answer}\n\nSent from my iPad\n\n> On 13 May 2024, at 09:30, TestConf CFP <{}> wrote:\n> \n{}",
        o.reply_to,
        quote(&o.text)
    );
    let html = format!(
        "<html><head><meta http-equiv=\"content-type\" content=\"text/html; charset=utf-8\"></head><body dir=\"auto\">{}<div dir=\"ltr\"><br><div dir=\"ltr\">Sent from my iPad</div><div dir=\"ltr\"><br><blockquote type=\"cite\">On 13 May 2024, at 09:30, TestConf CFP &lt;{}&gt; wrote:<br><br></blockquote></div><blockquote type=\"cite\"><div dir=\"ltr\">{}</div></blockquote></div></body></html>",
        html_lines(answer),
        o.reply_to,
        html_lines(&o.text)
    );
    let extra = "X-Mailer: iPad Mail (21E236)\r\nContent-Type: multipart/alternative; boundary=Apple-Mail-5E1D\r\n\r\n";
    reply_mail(from, o, mid, "Re", extra, alternative(
        "",
        "Apple-Mail-5E1D",
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable",
        qp(&plain),
        "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable",
        qp(&html),
    ))
}

/// Thunderbird: multipart/alternative; plain part format=flowed with "On … wrote:" and
/// "> " quoting and a "-- " signature; HTML with `moz-cite-prefix` + `<blockquote
/// type="cite">` holding a `moz-quote-pre`.
pub fn thunderbird(from: &str, o: &Orig, mid: &str, answer: &str) -> Vec<u8> {
    let plain = format!(
        "{answer}\n\n-- \nRita, reviewing for fun\n\nOn 13/05/2024 09:30, TestConf CFP wrote:\n{}",
        quote(&o.text)
    );
    let html = format!(
        "<!DOCTYPE html>\n<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\"></head><body><p>{}</p><div class=\"moz-signature\">-- <br>Rita, reviewing for fun</div><div class=\"moz-cite-prefix\">On 13/05/2024 09:30, TestConf CFP wrote:<br></div><blockquote type=\"cite\" cite=\"mid:{}\"><pre class=\"moz-quote-pre\" wrap=\"\">{}</pre></blockquote></body></html>",
        answer
            .lines()
            .map(html_escape)
            .collect::<Vec<_>>()
            .join("<br>\n"),
        o.message_id,
        html_escape(&o.text)
    );
    let extra = "User-Agent: Mozilla Thunderbird\r\nContent-Language: en-GB\r\nContent-Type: multipart/alternative; boundary=\"------------tb0123\"\r\n\r\n";
    reply_mail(from, o, mid, "Re", extra, alternative(
        "This is a multi-part message in MIME format.\r\n",
        "------------tb0123",
        "Content-Type: text/plain; charset=UTF-8; format=flowed\r\nContent-Transfer-Encoding: 8bit",
        crlf(&plain),
        "Content-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit",
        crlf(&html),
    ))
}

/// mutt: text/plain, "* Name <addr> [date]:" attribution, answers typed inline under the
/// quoted form labels, the rest of the original still quoted.
pub fn mutt(from: &str, o: &Orig, mid: &str, inline: &[(&str, &str)]) -> Vec<u8> {
    let mut text = format!(
        "* TestConf CFP <{}> [2024-05-13 09:30:00 +0200]:\n",
        o.reply_to
    );
    for line in o.text.lines() {
        text.push_str(&if line.is_empty() {
            ">\n".to_string()
        } else {
            format!("> {line}\n")
        });
        for (label, answer) in inline {
            if line.starts_with(label) {
                text.push_str(answer);
                text.push('\n');
            }
        }
    }
    text.push_str("\n-- \nRita\n");
    let extra = "User-Agent: NeoMutt/20231103\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: inline\r\nContent-Transfer-Encoding: 8bit\r\n\r\n";
    reply_mail(from, o, mid, "Re", extra, crlf(&text))
}

/// HTML only (Outlook on the web, a phone client): a single text/html part, base64,
/// the original under `divRplyFwdMsg`.
pub fn html_only(from: &str, o: &Orig, mid: &str, answer: &str) -> Vec<u8> {
    let html = format!(
        "<html><body><div style=\"font-family: Aptos\">{}</div><div><br></div><div id=\"appendonsend\"></div><hr style=\"display:inline-block;width:98%\"><div id=\"divRplyFwdMsg\" dir=\"ltr\"><b>From:</b> TestConf CFP &lt;{}&gt;<br><b>Sent:</b> 13 May 2024 09:30<br><b>Subject:</b> {}</div><div>{}</div></body></html>",
        html_lines(answer),
        o.reply_to,
        html_escape(&o.subject),
        html_lines(&o.text)
    );
    reply_mail(
        from,
        o,
        mid,
        "Re",
        "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n",
        b64(&html),
    )
}

/// A plain reply with arbitrary recipient, subject and threading (for the security cases).
pub fn raw_reply(
    from: &str,
    to: &str,
    subject: &str,
    mid: &str,
    in_reply_to: Option<&str>,
    text: &str,
) -> Vec<u8> {
    let threading = in_reply_to
        .map(|i| format!("In-Reply-To: <{i}>\r\nReferences: <{i}>\r\n"))
        .unwrap_or_default();
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{mid}>\r\n{threading}Date: Mon, 13 May 2024 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}",
        crlf(text)
    )
    .into_bytes()
}
