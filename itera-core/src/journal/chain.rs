//! The hash chain of the journal: how an entry is sealed (its canonical body hashed once, the
//! line spliced from it) and how lines are verified as they are read (canonical, self-hashed,
//! linked to the previous line, numbered in order) — [`ChainError`] says why a journal is not
//! trustworthy. What an entry says is [`crate::journal::event`].

use crate::hash::sha256_hex;
use crate::journal::decode::decode_line;
use crate::journal::event::{Entry, Event, GENESIS};
use serde::Serialize;

#[derive(Serialize)]
struct Body<'a> {
    seq: u64,
    prev: &'a str,
    at: &'a str,
    event: &'a Event,
}

/// Why a journal is not trustworthy.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChainError {
    /// A line is not a journal entry.
    #[error(
        "journal line {line} is not a journal entry ({why}): the journal was edited; restore it from a backup or start a new experiment"
    )]
    Unparsable {
        /// 1-based line number.
        line: usize,
        /// The parse error.
        why: String,
    },
    /// A line's content does not match its own hash, or is not in canonical form: it was edited.
    #[error(
        "journal line {line} was edited after it was written (its content no longer matches its hash); restore the journal or start a new experiment"
    )]
    Edited {
        /// 1-based line number.
        line: usize,
    },
    /// A line's chain link does not match the previous line (a deletion or insertion).
    #[error(
        "journal line {line} does not follow line {prev_line} (hash chain broken): a line was removed, inserted or edited; restore the journal or start a new experiment"
    )]
    BrokenLink {
        /// 1-based line number of the first bad line.
        line: usize,
        /// The line it should follow.
        prev_line: usize,
    },
    /// A line's sequence number is out of order.
    #[error(
        "journal line {line} carries sequence number {found}, expected {expected}: lines were reordered or removed"
    )]
    BadSequence {
        /// 1-based line number.
        line: usize,
        /// Sequence number found.
        found: u64,
        /// Sequence number expected.
        expected: u64,
    },
}

/// Builds the entry that follows `prev` and its line (canonical JSON, no newline).
///
/// The event is encoded ONCE: the canonical body `{at, event, prev, seq}` is hashed, and the line
/// is that body with `"hash":"…"` spliced in before `"prev"` (keys are sorted, so `hash` sits
/// between `event` and `prev`): the same bytes as the canonical JSON of the whole [`Entry`]
/// (`tests::sealed_line_is_the_canonical_entry` checks it).
pub(crate) fn seal_entry(
    seq: u64,
    prev: &str,
    at: String,
    event: Event,
) -> Result<(Entry, String), serde_json::Error> {
    // What the next open reads back must equal what is written (G1): a value JSON cannot carry
    // (NaN, ±inf become `null`) would be read back differently and reported as tampering, losing
    // the experiment. It is refused before it is written (test: journal::codec_tests::
    // a_nan_or_infinite_number_is_refused_before_it_is_written): the encoder refuses a non-finite
    // number, and a decision (a few lines per run, of many shapes) is also read back whole. A
    // call record's other fields are strings, integers and JSON values, which read back as
    // written (codec_tests: every_accepted_event_reads_back_equal); its line is not decoded
    // again (issue #17: that read-back was 7% of a 100k-row run).
    let body = match canonical_body(seq, prev, &at, &event) {
        Err(e) if e.to_string().contains(crate::canonical::NON_FINITE) => {
            return Err(refused(event.kind()));
        }
        other => other?,
    };
    let hash = sha256_hex(body.text.as_bytes());
    let line = body.line_with(&serde_json::to_string(&hash)?);
    let entry = Entry {
        seq,
        prev: prev.to_string(),
        at,
        event,
        hash,
    };
    if !matches!(entry.event, Event::Call(_)) {
        let back: Option<Entry> = decode_line(&line).ok();
        if back.as_ref() != Some(&entry) {
            return Err(refused(entry.event.kind()));
        }
    }
    Ok((entry, line))
}

/// The error for an event the journal could not read back as written.
fn refused(kind: &str) -> serde_json::Error {
    serde::ser::Error::custom(format!(
        "the '{kind}' event holds a NaN or infinite number, which the journal cannot read back: \
         it was not written (the value must be refused where it enters: arm usage, judge score, \
         config or data)"
    ))
}

/// The canonical JSON of an entry's body `{at, event, prev, seq}`, split where the entry's
/// `"hash"` key goes.
struct CanonicalBody {
    text: String,
    /// Byte offset of `,"prev":` — the part after it is the body's tail.
    split: usize,
}

impl CanonicalBody {
    /// The entry's canonical line: the body with `,"hash":<hash_json>` before its tail.
    fn line_with(&self, hash_json: &str) -> String {
        let (head, tail) = self.text.split_at(self.split);
        let mut line = String::with_capacity(self.text.len() + hash_json.len() + 8);
        line.push_str(head);
        line.push_str(",\"hash\":");
        line.push_str(hash_json);
        line.push_str(tail);
        line
    }
}

fn canonical_body(
    seq: u64,
    prev: &str,
    at: &str,
    event: &Event,
) -> Result<CanonicalBody, serde_json::Error> {
    let body = Body {
        seq,
        prev,
        at,
        event,
    };
    let mut out = Vec::with_capacity(256);
    crate::canonical::write_finite(&body, &mut out)?;
    // serde_json writes UTF-8 only; the conversion cannot fail.
    let text = String::from_utf8(out).map_err(|e| serde::ser::Error::custom(e.to_string()))?;
    // Keys are sorted, so the body ends with `,"prev":<prev>,"seq":<seq>}`.
    let tail = format!(",\"prev\":{},\"seq\":{seq}}}", serde_json::to_string(prev)?);
    let split = if text.ends_with(&tail) {
        text.len() - tail.len()
    } else {
        // Unreachable with the canonical writer; a split at 0 makes every check fail (no panic).
        0
    };
    Ok(CanonicalBody { text, split })
}

/// Verifies journal lines one at a time, in order, and decodes them: each line must be canonical
/// JSON, match its own hash, link to the previous entry and carry the next sequence number. A
/// journal is verified as it is read, without holding it in memory.
#[derive(Clone)]
pub(crate) struct Verifier {
    prev: String,
    next: u64,
}

impl Verifier {
    /// A verifier expecting the first line.
    pub(crate) fn new() -> Verifier {
        Verifier {
            prev: GENESIS.to_string(),
            next: 0,
        }
    }

    /// A verifier expecting line `lines`, linked to `head` (a checkpoint's, checkpoint.rs).
    pub(crate) fn at(head: String, lines: u64) -> Verifier {
        Verifier {
            prev: head,
            next: lines,
        }
    }

    /// Lines verified so far.
    pub(crate) fn count(&self) -> u64 {
        self.next
    }

    /// Moves past an entry verified when it was appended (the in-memory store's decoded
    /// entries, which are never re-read from bytes).
    pub(crate) fn skip_to(&mut self, e: &Entry) {
        self.prev.clone_from(&e.hash);
        self.next = e.seq + 1;
    }

    /// The hash the next entry must carry as `prev`.
    pub(crate) fn head(&self) -> &str {
        &self.prev
    }

    /// Verifies the next complete line like [`Verifier::push`], but decodes it only when `want`
    /// accepts what can be read of it without decoding ([`Peek`]); a line not wanted is verified
    /// from its bytes alone (hash, link, sequence) and skipped. A scan that needs no call
    /// records, or only one part's, thus decodes a handful of lines instead of 140k (issue #17:
    /// every phase re-decoded the whole journal). Any line that fails the byte checks, or whose
    /// kind cannot be read, goes through [`Verifier::push`], so the error is exactly the one a
    /// full decode gives (tests::a_skipped_line_fails_like_a_decoded_one).
    pub(crate) fn push_if(
        &mut self,
        line: &str,
        mut want: impl FnMut(&Peek<'_>) -> bool,
    ) -> Result<Option<Entry>, ChainError> {
        let i = self.next;
        let checked = SplitLine::of(line).filter(|split| {
            split.prev == self.prev
                && split.seq == i.to_string()
                && split.body_hashes_to(split.hash)
        });
        let (Some(split), Some(tag)) = (checked, peek_tag(line)) else {
            return self.push(line).map(Some);
        };
        let peek = Peek {
            call: tag.event == "call",
            kind: &tag.event,
            part: tag.part.as_deref(),
            seq: i,
        };
        if want(&peek) {
            return self.push(line).map(Some);
        }
        self.prev = split.hash.to_string();
        self.next += 1;
        Ok(None)
    }

    /// Verifies and decodes the next complete line (without its newline).
    pub(crate) fn push(&mut self, line: &str) -> Result<Entry, ChainError> {
        let i = self.next;
        let n = i as usize + 1;
        let entry: Entry = decode_line(line).map_err(|e| ChainError::Unparsable {
            line: n,
            why: e.to_string(),
        })?;
        // The writer hashed the canonical body and spliced `,"hash":"…"` into it before `,"prev"`
        // (`seal_entry`): the line without that field IS the hashed body, byte for byte. So the
        // body's SHA-256 is taken over the line's own bytes, with no re-encoding (issue #17: the
        // re-encoding through a JSON tree dominated every scan). Any edited byte changes the
        // digest, or moves the fields the split expects, and fails here (G7; enforcement tested
        // by `tests::verifier_refuses_every_single_byte_edit`). The decoded entry must carry the
        // very hash, link and sequence number the bytes carry.
        let Some(split) = SplitLine::of(line) else {
            return Err(ChainError::Edited { line: n });
        };
        if split.hash != entry.hash
            || split.prev != entry.prev
            || split.seq != entry.seq.to_string()
            || !split.body_hashes_to(&entry.hash)
        {
            return Err(ChainError::Edited { line: n });
        }
        if entry.prev != self.prev {
            return Err(ChainError::BrokenLink {
                line: n,
                prev_line: n - 1,
            });
        }
        if entry.seq != i {
            return Err(ChainError::BadSequence {
                line: n,
                found: entry.seq,
                expected: i,
            });
        }
        self.prev = entry.hash.clone();
        self.next += 1;
        #[cfg(test)]
        if matches!(entry.event, Event::Call(_)) {
            CALL_DECODES.with(|c| c.set(c.get() + 1));
        }
        Ok(entry)
    }
}

/// What a scan knows of a verified line before decoding it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peek<'a> {
    /// Whether it is a call record.
    pub(crate) call: bool,
    /// Its event's tag as written (`"call"`, `"split"`, `"verdict-reached"`, …).
    pub(crate) kind: &'a str,
    /// Its event's `part` (`"dev"`, `"test"`, …), for the events that have one.
    pub(crate) part: Option<&'a str>,
    /// Its sequence number.
    pub(crate) seq: u64,
}

impl Peek<'_> {
    /// The peek of an entry already decoded (the in-memory store's cached entries).
    pub(crate) fn of(e: &Entry) -> Peek<'_> {
        let part = match &e.event {
            Event::Call(rec) => Some(rec.part.name()),
            Event::BatchSubmitted { part, .. } => Some(part.name()),
            _ => None,
        };
        Peek {
            call: matches!(e.event, Event::Call(_)),
            // The serde tag, which `Event::kind` shortens for one event.
            kind: match &e.event {
                Event::VerdictReached { .. } => "verdict-reached",
                other => other.kind(),
            },
            part,
            seq: e.seq,
        }
    }
}

#[derive(serde::Deserialize)]
struct Tag<'a> {
    #[serde(borrow)]
    event: std::borrow::Cow<'a, str>,
    #[serde(borrow, default)]
    part: Option<std::borrow::Cow<'a, str>>,
}

/// The tag of the event a line carries (its `"event"` kind and `"part"`), read without decoding
/// the event: the parse skips every other field. `None` when the line is not an entry.
fn peek_tag(line: &str) -> Option<Tag<'_>> {
    #[derive(serde::Deserialize)]
    struct Line<'a> {
        #[serde(borrow)]
        event: Tag<'a>,
    }
    serde_json::from_str::<Line<'_>>(line).ok().map(|l| l.event)
}

#[cfg(test)]
thread_local! {
    /// Call lines decoded on this thread (the scans' tests count them, issue #17).
    pub(crate) static CALL_DECODES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Whether `line` is journal line `seq` (0-based) and its body hashes to `hash`: a checkpoint's
/// head is the chain's, not only its own word (checkpoint.rs).
pub(crate) fn line_is(line: &str, seq: u64, hash: &str) -> bool {
    SplitLine::of(line).is_some_and(|split| {
        split.hash == hash && split.seq == seq.to_string() && split.body_hashes_to(hash)
    })
}

/// A journal line cut where the writer spliced its hash: `head` `,"hash":"H"` `tail`, with
/// `tail` = `,"prev":"P","seq":N}` (top-level keys are sorted, so these are the line's last
/// three fields). `head + tail` is the canonical body the writer hashed.
struct SplitLine<'a> {
    head: &'a str,
    tail: &'a str,
    hash: &'a str,
    prev: &'a str,
    seq: &'a str,
}

impl<'a> SplitLine<'a> {
    /// Cuts `line`, or `None` when its last fields are not `"hash"`, `"prev"`, `"seq"` as the
    /// writer lays them out (hex digests of 64 characters, a decimal sequence number).
    fn of(line: &'a str) -> Option<SplitLine<'a>> {
        const HASH_KEY: &str = ",\"hash\":\"";
        const PREV_KEY: &str = ",\"prev\":\"";
        const SEQ_KEY: &str = "\",\"seq\":";
        let inner = line.strip_suffix('}')?;
        let seq_at = inner.rfind(SEQ_KEY)?;
        let seq = inner.get(seq_at + SEQ_KEY.len()..)?;
        if seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let prev_at = seq_at.checked_sub(PREV_KEY.len() + 64)?;
        if inner.get(prev_at..prev_at + PREV_KEY.len())? != PREV_KEY {
            return None;
        }
        let prev = inner.get(prev_at + PREV_KEY.len()..seq_at)?;
        // The hash's closing quote sits right before `,"prev"`.
        let close = prev_at.checked_sub(1)?;
        let hash_at = close.checked_sub(HASH_KEY.len() + 64)?;
        if inner.get(hash_at..hash_at + HASH_KEY.len())? != HASH_KEY
            || inner.get(close..prev_at)? != "\""
        {
            return None;
        }
        Some(SplitLine {
            head: line.get(..hash_at)?,
            tail: line.get(prev_at..)?,
            hash: inner.get(hash_at + HASH_KEY.len()..close)?,
            prev,
            seq,
        })
    }

    /// Whether SHA-256(`head + tail`) is `hash` (lower-case hex).
    fn body_hashes_to(&self, hash: &str) -> bool {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(self.head.as_bytes());
        h.update(self.tail.as_bytes());
        let digest = h.finalize();
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let want = hash.as_bytes();
        want.len() == 64
            && digest.iter().enumerate().all(|(i, b)| {
                want[2 * i] == HEX[(b >> 4) as usize] && want[2 * i + 1] == HEX[(b & 0x0f) as usize]
            })
    }
}

#[cfg(test)]
#[path = "chain_tests.rs"]
mod tests;
