//! A hand-written reader of the one shape cost-track meets on nearly every line: a message
//! entry whose keys have no escapes. The pricing stage reads every usage line of a first run
//! (about 100k on a 200 MB tree), and serde's typed reader spends most of its 1.2 µs a line in
//! per-field machinery; this reads the same fields in one pass, skipping strings sixteen bytes
//! at a time (0.85 µs a line on the same lines).
//!
//! It answers only when it is sure to agree with [`super::parse_call`]'s serde reader: the
//! whole line is valid UTF-8 and valid JSON by serde_json's rules (strings without control
//! characters, valid escapes, strict numbers, nothing after the value), and every field serde
//! reads has the type serde accepts, with no escape in its text and no repeat of its key.
//! Anything else is `None`, and the caller asks serde, which then answers or refuses exactly
//! as before.

use super::{literal_usd, Call, Details, Num, RawUsage, Usage};
use std::borrow::Cow;

/// Bit `k` of the first mask set when byte `k` of `chunk` ends a plain run of string text: a
/// `"`, a `\` or a control character; of the second when it is not ASCII. Three vector
/// compares and two masks (SSE2 is part of x86_64).
#[cfg(target_arch = "x86_64")]
fn special16(chunk: &[u8; 16]) -> (u32, u32) {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is always there on x86_64, and the load reads exactly `chunk`'s 16 bytes.
    unsafe {
        let v = _mm_loadu_si128(chunk.as_ptr().cast());
        let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let escape = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        // Below 0x20 exactly when the unsigned minimum with 0x1f is the byte itself.
        let control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
        let special = _mm_or_si128(_mm_or_si128(quote, escape), control);
        (
            _mm_movemask_epi8(special) as u32,
            _mm_movemask_epi8(v) as u32,
        )
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn special16(chunk: &[u8; 16]) -> (u32, u32) {
    let (mut hit, mut high) = (0, 0);
    for (k, &c) in chunk.iter().enumerate() {
        high |= u32::from(c >= 0x80) << k;
        hit |= u32::from((c == b'"') | (c == b'\\') | (c < 0x20)) << k;
    }
    (hit, high)
}

/// Deeper nesting goes to serde (whose own limit is 128).
const MAX_DEPTH: u32 = 64;

/// The line's model call, as [`super::parse_call`] reads it; `None` when unsure.
pub(super) fn call<'a>(line: &'a [u8]) -> Option<Option<Call<'a>>> {
    let mut p = P {
        b: line,
        i: 0,
        depth: 0,
        high: 0,
    };
    p.ws();
    p.eat(b'{')?;
    let top = p.top()?;
    p.ws();
    if p.i != p.b.len() {
        return None;
    }
    // Outside strings only ASCII can be read as JSON, and every byte of every string went
    // through `str_end`: when none was above 0x7f the line is ASCII, else it is checked whole
    // (a line that is not UTF-8 is left to serde).
    if p.high != 0 {
        std::str::from_utf8(line).ok()?;
    }
    let Some(m) = top.message else {
        return Some(None);
    };
    if m.role != Some(b"assistant".as_slice()) {
        return Some(None);
    }
    // SAFETY: the line is UTF-8 (checked above), and each field lies between two of its ASCII
    // quotes, so it is whole characters.
    let text = |f: Option<&'a [u8]>| f.map(|b| Cow::Borrowed(unsafe { utf8(b) }));
    Some(Some(Call {
        id: text(top.id),
        timestamp: text(top.timestamp),
        provider: text(m.provider),
        model: text(m.model),
        usage: m.usage,
    }))
}

/// Bytes known to be UTF-8 as text, without checking them again (a check costs about a
/// hundred instructions even for a short field, and a line has five).
///
/// # Safety
/// `b` must be UTF-8.
unsafe fn utf8(b: &[u8]) -> &str {
    debug_assert!(std::str::from_utf8(b).is_ok());
    // SAFETY: the caller's promise.
    unsafe { std::str::from_utf8_unchecked(b) }
}

#[derive(Default)]
struct Top<'a> {
    id: Option<&'a [u8]>,
    timestamp: Option<&'a [u8]>,
    message: Option<Message<'a>>,
}

#[derive(Default)]
struct Message<'a> {
    role: Option<&'a [u8]>,
    provider: Option<&'a [u8]>,
    model: Option<&'a [u8]>,
    usage: Option<Usage>,
}

/// The cursor over one line.
struct P<'a> {
    b: &'a [u8],
    i: usize,
    depth: u32,
    /// Not 0 once a string had a byte above 0x7f (see [`call`]).
    high: u32,
}

/// Marks `key`'s bit in `seen`; `None` when it was already set (serde refuses a repeated
/// field).
fn once(seen: &mut u32, bit: u32) -> Option<()> {
    (*seen & bit == 0).then(|| *seen |= bit)
}

impl<'a> P<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.bump()? == c).then_some(())
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    /// The first `"` or `\` from `from`, refusing a control character before it.
    #[inline(always)]
    fn str_end(&mut self, from: usize) -> Option<usize> {
        let mut j = from;
        let mut high = 0;
        // Sixteen bytes at a time: the first byte that needs a look is the mask's lowest bit,
        // found without a second pass.
        while let Some(chunk) = self
            .b
            .get(j..j + 16)
            .and_then(|c| <&[u8; 16]>::try_from(c).ok())
        {
            let (hit, h) = special16(chunk);
            // Bytes past the hit too: at worst the line is checked whole.
            high |= h;
            if hit != 0 {
                self.high |= high;
                let k = j + hit.trailing_zeros() as usize;
                return (self.b[k] >= 0x20).then_some(k);
            }
            j += 16;
        }
        self.high |= high;
        for (k, &c) in self.b[j..].iter().enumerate() {
            match c {
                b'"' | b'\\' => return Some(j + k),
                0..0x20 => return None,
                0x80.. => self.high = 1,
                _ => {}
            }
        }
        None
    }

    /// A string whose `"` is read, when it has no escape: borrowed from the line.
    #[inline(always)]
    fn plain_str(&mut self) -> Option<&'a [u8]> {
        let start = self.i;
        let end = self.str_end(start)?;
        if self.b[end] != b'"' {
            return None;
        }
        self.i = end + 1;
        Some(&self.b[start..end])
    }

    /// Reads over a string whose `"` is read, escapes and all.
    fn skip_str(&mut self) -> Option<()> {
        self.over_str(false)
    }

    /// Reads over a string whose `"` is read. With `decoded`, serde decodes it (a field it
    /// reads but cost-track does not use), refusing a lone surrogate: any surrogate escape
    /// then goes to serde.
    fn over_str(&mut self, decoded: bool) -> Option<()> {
        loop {
            let k = self.str_end(self.i)?;
            self.i = k + 1;
            if self.b[k] == b'"' {
                return Some(());
            }
            match self.bump()? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                b'u' => {
                    let hex = self.b.get(self.i..self.i + 4)?;
                    let code = hex.iter().try_fold(0u16, |v, &c| {
                        Some(v << 4 | char::from(c).to_digit(16)? as u16)
                    })?;
                    if decoded && (0xD800..=0xDFFF).contains(&code) {
                        return None;
                    }
                    self.i += 4;
                }
                _ => return None,
            }
        }
    }

    fn lit(&mut self, word: &[u8]) -> Option<()> {
        let end = self.i + word.len();
        (self.b.get(self.i..end)? == word).then(|| self.i = end)
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - start
    }

    /// A number, by JSON's grammar: its text.
    fn number(&mut self) -> Option<&'a [u8]> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.bump()? {
            b'0' => {}
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            (self.digits() > 0).then_some(())?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            (self.digits() > 0).then_some(())?;
        }
        Some(&self.b[start..self.i])
    }

    /// Reads over any value.
    fn skip(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => {
                self.i += 1;
                self.skip_str()
            }
            b'{' => {
                self.i += 1;
                self.enter()?;
                let mut first = true;
                while self.key_start(first)? {
                    first = false;
                    self.skip_str()?;
                    self.colon()?;
                    self.skip()?;
                }
                self.depth -= 1;
                Some(())
            }
            b'[' => {
                self.i += 1;
                self.enter()?;
                self.ws();
                if self.peek() == Some(b']') {
                    self.i += 1;
                } else {
                    loop {
                        self.ws();
                        self.skip()?;
                        self.ws();
                        match self.bump()? {
                            b',' => {}
                            b']' => break,
                            _ => return None,
                        }
                    }
                }
                self.depth -= 1;
                Some(())
            }
            b't' => self.lit(b"true"),
            b'f' => self.lit(b"false"),
            b'n' => self.lit(b"null"),
            _ => self.number().map(drop),
        }
    }

    /// Past the separator before an object's next key: `true` with the key's `"` read,
    /// `false` at the object's end.
    #[inline(always)]
    fn key_start(&mut self, first: bool) -> Option<bool> {
        // OpenClaw writes no whitespace: the usual `,"` (or a first key's `"`) at once.
        match self.b.get(self.i..self.i + 2) {
            Some([b',', b'"']) if !first => {
                self.i += 2;
                return Some(true);
            }
            Some([b'"', _]) if first => {
                self.i += 1;
                return Some(true);
            }
            _ => {}
        }
        self.ws();
        if !first {
            match self.bump()? {
                b',' => self.ws(),
                b'}' => return Some(false),
                _ => return None,
            }
        } else if self.peek() == Some(b'}') {
            self.i += 1;
            return Some(false);
        }
        self.eat(b'"')?;
        Some(true)
    }

    /// The next key the caller reads (no escape), its `:` read; `None` inside at the end.
    #[inline(always)]
    fn key(&mut self, first: bool) -> Option<Option<&'a [u8]>> {
        if !self.key_start(first)? {
            return Some(None);
        }
        let k = self.plain_str()?;
        self.colon()?;
        Some(Some(k))
    }

    #[inline(always)]
    fn colon(&mut self) -> Option<()> {
        if self.peek() == Some(b':') {
            self.i += 1;
            self.ws();
            return Some(());
        }
        self.ws();
        self.eat(b':')?;
        self.ws();
        Some(())
    }

    /// A field serde reads as an optional string: `null` or a string without escapes.
    fn opt_str(&mut self) -> Option<Option<&'a [u8]>> {
        match self.bump()? {
            b'"' => self.plain_str().map(Some),
            b'n' => self.lit(b"ull").map(|_| None),
            _ => None,
        }
    }

    /// A field serde reads as an optional string that cost-track does not use: `null` or
    /// any string serde decodes.
    fn unused_str(&mut self) -> Option<()> {
        match self.bump()? {
            b'"' => self.over_str(true),
            b'n' => self.lit(b"ull"),
            _ => None,
        }
    }

    /// A field serde reads as an optional struct: `null`, or an object `read` reads after its
    /// `{`. serde would read an array as the struct's fields in order: that goes to serde.
    fn null_or_object<T>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Option<T>,
    ) -> Option<Option<T>> {
        match self.peek()? {
            b'{' => {
                self.i += 1;
                read(self).map(Some)
            }
            b'n' => self.lit(b"null").map(|_| None),
            _ => None,
        }
    }

    /// `id` or `timestamp` (serde's `Scalar`): a string, or a value serde reads as no text.
    /// A number goes to serde (it prints numbers its own way).
    fn scalar(&mut self) -> Option<Option<&'a [u8]>> {
        match self.peek()? {
            b'"' => {
                self.i += 1;
                self.plain_str().map(Some)
            }
            b'n' | b't' | b'f' | b'[' | b'{' => self.skip().map(|_| None),
            _ => None,
        }
    }

    /// The top-level object, its `{` read.
    fn top(&mut self) -> Option<Top<'a>> {
        self.enter()?;
        let mut top = Top::default();
        let mut seen = 0;
        let mut first = true;
        while let Some(key) = self.key(first)? {
            first = false;
            match key {
                b"type" => {
                    once(&mut seen, 1)?;
                    self.unused_str()?;
                }
                b"id" => {
                    once(&mut seen, 2)?;
                    // serde's `id_cow`: an empty string is no id.
                    top.id = self.scalar()?.filter(|s| !s.is_empty());
                }
                b"timestamp" => {
                    once(&mut seen, 4)?;
                    top.timestamp = self.scalar()?;
                }
                b"message" => {
                    once(&mut seen, 8)?;
                    top.message = self.null_or_object(P::message)?;
                }
                _ => self.skip()?,
            }
        }
        self.depth -= 1;
        Some(top)
    }

    /// `message`, its `{` read.
    fn message(&mut self) -> Option<Message<'a>> {
        self.enter()?;
        let mut m = Message::default();
        let mut seen = 0;
        let mut first = true;
        while let Some(key) = self.key(first)? {
            first = false;
            match key {
                b"role" => {
                    once(&mut seen, 1)?;
                    m.role = self.opt_str()?;
                }
                b"provider" => {
                    once(&mut seen, 2)?;
                    m.provider = self.opt_str()?;
                }
                b"model" => {
                    once(&mut seen, 4)?;
                    m.model = self.opt_str()?;
                }
                b"api" => {
                    once(&mut seen, 8)?;
                    self.unused_str()?;
                }
                b"stopReason" => {
                    once(&mut seen, 16)?;
                    self.unused_str()?;
                }
                b"errorMessage" => {
                    once(&mut seen, 32)?;
                    self.unused_str()?;
                }
                b"usage" => {
                    once(&mut seen, 64)?;
                    m.usage = self.null_or_object(P::usage)?;
                }
                _ => self.skip()?,
            }
        }
        self.depth -= 1;
        Some(m)
    }

    /// `usage`, its `{` read: token counts that are plain integers, a cost that is a number
    /// or an object with a numeric `total`. Other spellings go to serde.
    fn usage(&mut self) -> Option<Usage> {
        self.enter()?;
        let mut u = RawUsage::default();
        let mut cost = None;
        let mut seen = 0;
        let mut first = true;
        while let Some(key) = self.key(first)? {
            first = false;
            let (slot, bit) = match key {
                b"input" => (&mut u.input, 1),
                b"input_tokens" => (&mut u.input_tokens, 2),
                b"prompt_tokens" => (&mut u.prompt_tokens, 4),
                b"output" => (&mut u.output, 8),
                b"output_tokens" => (&mut u.output_tokens, 16),
                b"completion_tokens" => (&mut u.completion_tokens, 32),
                b"cacheRead" => (&mut u.cache_read, 64),
                b"cache_read_input_tokens" => (&mut u.cache_read_input_tokens, 128),
                b"cached_tokens" => (&mut u.cached_tokens, 256),
                b"cacheWrite" => (&mut u.cache_write, 512),
                b"cache_creation_input_tokens" => (&mut u.cache_creation_input_tokens, 1024),
                b"cost" => {
                    once(&mut seen, 2048)?;
                    cost = self.cost()?;
                    continue;
                }
                b"prompt_tokens_details" => {
                    once(&mut seen, 4096)?;
                    u.prompt_tokens_details = self.null_or_object(P::details)?;
                    continue;
                }
                _ => {
                    self.skip()?;
                    continue;
                }
            };
            once(&mut seen, bit)?;
            *slot = self.count()?;
        }
        self.depth -= 1;
        // SAFETY: a number's characters are ASCII (see `number`).
        let cost = cost.map(|n| unsafe { utf8(n) });
        Some(u.fold_cost(cost.and_then(literal_usd)))
    }

    /// `usage.prompt_tokens_details`, its `{` read: only `cached_tokens` is read, a count.
    fn details(&mut self) -> Option<Details> {
        self.enter()?;
        let mut d = Details::default();
        let mut seen = 0;
        let mut first = true;
        while let Some(key) = self.key(first)? {
            first = false;
            if key == b"cached_tokens" {
                once(&mut seen, 1)?;
                d.cached_tokens = self.count()?;
            } else {
                self.skip()?;
            }
        }
        self.depth -= 1;
        Some(d)
    }

    /// A token count: `null`, or an integer small enough to be exact as serde reads it.
    fn count(&mut self) -> Option<Option<Num>> {
        // Digits read and added up in one pass; any other number (a sign, a fraction, an
        // exponent, a leading zero, 16 digits) goes to serde.
        let start = self.i;
        let mut v = 0u64;
        while let Some(&c @ b'0'..=b'9') = self.b.get(self.i) {
            self.i += 1;
            if self.i - start > 15 {
                return None;
            }
            // At most 15 digits: no overflow.
            v = v * 10 + u64::from(c - b'0');
        }
        match (self.i - start, self.peek()) {
            (0, Some(b'n')) => self.lit(b"null").map(|_| None),
            (0, _) | (_, Some(b'.' | b'e' | b'E')) => None,
            (n, _) if n > 1 && self.b[start] == b'0' => None,
            _ => Some(Some(Num::F(v as f64))),
        }
    }

    /// `usage.cost`: the literal of its amount (the number itself, or its `total`).
    fn cost(&mut self) -> Option<Option<&'a [u8]>> {
        match self.peek()? {
            b'n' => self.lit(b"null").map(|_| None),
            b'{' => {
                self.i += 1;
                self.enter()?;
                let mut total = None;
                let mut seen = 0;
                let mut first = true;
                while let Some(key) = self.key(first)? {
                    first = false;
                    if key != b"total" {
                        self.skip()?;
                        continue;
                    }
                    once(&mut seen, 1)?;
                    total = match self.peek()? {
                        b'n' => self.lit(b"null").map(|_| None)?,
                        b'-' | b'0'..=b'9' => Some(self.number()?),
                        _ => return None,
                    };
                }
                self.depth -= 1;
                Some(total)
            }
            b'-' | b'0'..=b'9' => self.number().map(Some),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse_call_serde;
    use super::*;
    use std::path::Path;

    #[test]
    fn the_sixteen_byte_masks_flag_exactly_quotes_escapes_controls_and_non_ascii() {
        for b in 0..=255u8 {
            for k in 0..16 {
                let mut chunk = [b'a'; 16];
                chunk[k] = b;
                let special = matches!(b, b'"' | b'\\' | 0..0x20);
                assert_eq!(
                    special16(&chunk),
                    (u32::from(special) << k, u32::from(b >= 0x80) << k),
                    "byte {b:#04x} at {k}"
                );
            }
        }
        assert_eq!(
            special16(b"\"\\\x1f\x20\x7f\x80\xffaaaaaaaa\n"),
            (0b1000_0000_0000_0111, 0b0000_0000_0110_0000)
        );
    }

    #[test]
    fn reads_text_that_is_not_ascii_and_leaves_bytes_that_are_not_utf8_to_serde() {
        let line = |text: &[u8]| {
            let mut l = br#"{"type":"message","id":"d9560230","timestamp":"2026-11-20T15:14:56.674Z","message":{"role":"assistant","content":[{"type":"text","text":""#.to_vec();
            l.extend_from_slice(text);
            l.extend_from_slice(
                br#""}],"provider":"p","model":"m","usage":{"input":5,"output":2}}}"#,
            );
            l
        };
        // Valid UTF-8 beyond ASCII, in a chunk of sixteen or in the tail after the last one.
        for text in [
            "caf\u{e9}",
            "\u{2019}",
            &"x".repeat(40),
            &format!("{}\u{1f600}", "y".repeat(21)),
        ] {
            for pad in 0..17 {
                let t = format!("{}{text}", "z".repeat(pad));
                assert!(agrees(&line(t.as_bytes())), "{t}");
            }
        }
        // A byte that is no UTF-8 at each place of a string: serde decides, whatever it says.
        for bad in [
            &b"\xff"[..],
            b"\xc3",
            b"\xe2\x80",
            b"\xed\xa0\x80",
            b"\xc0\xaf",
        ] {
            for pad in 0..17 {
                let mut t = vec![b'z'; pad];
                t.extend_from_slice(bad);
                t.extend_from_slice(b"tail");
                assert_eq!(call(&line(&t)), None, "{t:?}");
                let mut model = line(b"x");
                let at = model.windows(5).position(|w| w == b"\"m\",\"").unwrap() + 1;
                model.splice(at..at + 1, t.iter().copied());
                assert_eq!(call(&model), None, "model {t:?}");
                // In the last sixteen bytes of the line, read one at a time.
                let mut last = line(b"x");
                last.truncate(last.len() - 2);
                last.extend_from_slice(b",\"note\":\"");
                last.extend_from_slice(&t[..pad + bad.len()]);
                last.extend_from_slice(b"\"}}");
                assert_eq!(call(&last), None, "last {last:?}");
            }
        }
    }

    /// The hand-written reader's answer, when it gives one, is serde's.
    fn agrees(line: &[u8]) -> bool {
        let Some(fast) = call(line) else {
            return false;
        };
        assert_eq!(
            Ok(fast),
            parse_call_serde(line),
            "{}",
            String::from_utf8_lossy(line)
        );
        true
    }

    /// Every line of the transcripts under `dir` (plain files only).
    fn lines_under(dir: &Path, out: &mut Vec<Vec<u8>>) {
        for e in walkdir::WalkDir::new(dir).into_iter().flatten() {
            let name = e.file_name().to_string_lossy();
            if e.file_type().is_file() && name.contains(".jsonl") && !name.ends_with(".zst") {
                let text = std::fs::read(e.path()).unwrap();
                out.extend(text.split(|&b| b == b'\n').map(<[u8]>::to_vec));
            }
        }
    }

    const BASES: [&str; 8] = [
        r#"{"type":"message","id":"21071fd6","parentId":"46b9c7b0","timestamp":"2026-03-08T13:04:04.928Z","message":{"role":"assistant","content":[{"type":"text","text":"a\"b\\c\u00e9 x"}],"api":"a","provider":"p","model":"m","usage":{"input":787,"output":267,"cacheRead":13952,"cacheWrite":0,"totalTokens":15006,"cost":{"input":0.00137725,"total":0.00755685}},"stopReason":"stop","timestamp":1772975036308}}"#,
        r#"{"type":"message","id":"a","timestamp":"t","message":{"role":"assistant","content":[],"usage":{"input_tokens":10,"output_tokens":5,"cache_read_input_tokens":7,"cost":0.5},"errorMessage":null}}"#,
        r#"{"id":"b","message":{"role":"assistant","usage":{"prompt_tokens":100,"completion_tokens":9,"cached_tokens":40,"cost":{"total":null}}},"x":[true,false,null,-1.5e-3,{"k":[]}]}"#,
        r#"{"id":"f","message":{"role":"assistant","usage":{"prompt_tokens":2759,"completion_tokens":251,"total_tokens":3010,"prompt_tokens_details":{"cached_tokens":2122,"audio_tokens":0}}}}"#,
        r#"{"type":"message","id":"c","message":{"role":"user","content":"hi","usage":{"input":1}}}"#,
        r#"{"type":"message","id":"e","timestamp":"x","message":{"role":"assistant","stopReason":"error","errorMessage":"429 {\"type\":\"error\"} \u00e9\n","usage":{"input":0}}}"#,
        r#" {"message":null,"id":{"a":[1,2]},"timestamp":["x"]} "#,
        r#"{"type":"message","id":"d","timestamp":"2026-01-01T00:00:00Z","message":{"role":"assistant","provider":"openclaw","model":"gateway-injected","usage":{"input":0,"output":0,"cost":{"total":-2}}}}"#,
    ];

    #[test]
    fn agrees_with_serde_on_every_line_it_reads_and_reads_the_usual_ones() {
        for l in BASES {
            assert!(agrees(l.as_bytes()), "the fast reader should read {l}");
        }
        let mut lines = Vec::new();
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        lines_under(&root.join("examples/openclaw-home/agents"), &mut lines);
        let shared = root.join("../shared/samples");
        if shared.is_dir() {
            lines_under(&shared, &mut lines);
        } else {
            println!("note: ../shared/samples is absent; the real transcripts are not read");
        }
        let usage: Vec<_> = lines
            .iter()
            .filter(|l| super::super::may_carry_usage(l))
            .collect();
        let read = usage.iter().filter(|l| agrees(l)).count();
        // The bundled home writes a few spellings on purpose (string counts, details objects).
        assert!(
            read * 10 >= usage.len() * 9,
            "{read} of {} usage lines read by hand",
            usage.len()
        );
        for l in &lines {
            agrees(l);
        }
    }

    #[test]
    fn agrees_with_serde_on_every_damaged_line() {
        // Each byte of each base deleted or replaced by what most often breaks a reader.
        const BYTES: &[u8] = b"\"\\{}[],:0-.e n\x01\x7f\x80\xc3\xff";
        let mut read = 0;
        for base in BASES {
            let base = base.as_bytes();
            for i in 0..base.len() {
                let mut cut = base.to_vec();
                cut.remove(i);
                read += agrees(&cut) as usize;
                read += agrees(&base[..i]) as usize;
                for &b in BYTES {
                    let mut bad = base.to_vec();
                    bad[i] = b;
                    read += agrees(&bad) as usize;
                }
            }
        }
        // Many damaged lines are still valid JSON, and serde reads them the same way.
        assert!(read > 1000, "{read}");
    }

    #[test]
    fn leaves_what_it_is_unsure_of_to_serde() {
        for l in [
            // Escaped or repeated keys, numbers serde prints its own way, other spellings.
            r#"{"i\u0064":"a","message":{"role":"assistant"}}"#,
            r#"{"id":"a","id":"b","message":{"role":"assistant"}}"#,
            r#"{"id":7,"message":{"role":"assistant"}}"#,
            r#"{"message":{"role":"assistant","usage":{"input":1.0}}}"#,
            r#"{"message":{"role":"assistant","usage":{"input":"1"}}}"#,
            r#"{"message":{"role":"assistant","usage":{"input":1234567890123456}}}"#,
            r#"{"message":{"role":"assistant","usage":{"input":1e3}}}"#,
            r#"{"message":{"role":"assistant","usage":{"input":-1}}}"#,
            r#"{"message":{"role":"assistant","usage":{"input":012}}}"#,
            r#"{"message":{"role":"assistant","usage":{"prompt_tokens_details":[]}}}"#,
            r#"{"message":{"role":"assistant","usage":{"prompt_tokens_details":{"cached_tokens":1,"cached_tokens":1}}}}"#,
            r#"{"message":{"role":"assistant","usage":{"cost":{"total":"0.1"}}}}"#,
            r#"{"message":{"role":"assistant","usage":{"cost":{"total":1,"total":2}}}}"#,
            r#"{"message":{"role":"assistant","model":"m\u00e9"}}"#,
            r#"{"message":{"role":"assistant","errorMessage":"\ud83d\ude00"}}"#,
            r#"{"message":["assistant"]}"#,
            r#"{"message":{"role":"assistant"}}x"#,
            "{\"message\":{\"role\":\"assistant\",\"x\":\"a\tb\"}}",
            "\u{feff}{\"message\":{}}",
        ] {
            assert_eq!(call(l.as_bytes()), None, "{l}");
        }
        let deep = format!("{{\"x\":{}{}}}", "[".repeat(70), "]".repeat(70));
        assert_eq!(call(deep.as_bytes()), None);
        assert!(parse_call_serde(deep.as_bytes()).is_ok());
    }
}
