//! Exact money. [`Usd`] is a non-negative decimal amount of US dollars with 36 digits after
//! the point and up to 36 before it, held as four base-10^18 limbs (fixed point, `Copy`, no
//! allocation). Sums, products with token counts and the per-million division of prices are
//! exact integer arithmetic; nothing is ever rounded except by [`Usd::round_dp`] for display.
//!
//! Why this shape: OpenClaw writes costs as JavaScript doubles, so a logged
//! `usage.cost.total` is the shortest decimal that round-trips a double: up to 17 significant
//! digits, such as `0.0075568500000000005` (19 decimals) or `3.0000000000000004e-9` (25). A
//! fixed micro- or nano-dollar unit cannot hold those digits; an i64 of any unit that can is
//! too small for a total (10^-18 leaves $9.2). 10^-36 holds every digit of every literal a
//! double prints for a cost of 10^-20 USD or more (a billionth of the cheapest token), and
//! 10^36 dollars is 10^32 lines at the per-line ceiling: a sum of sane lines cannot overflow.
//! A literal with a digit below 10^-36 is refused by [`Usd::parse`] (the caller reports it as
//! a problem), never rounded. In the ledger an amount is the canonical decimal text
//! ([`Usd`]'s `Display`): SQLite's integers are i64, and text keeps every digit.

use std::cmp::Ordering;
use std::fmt;

const BASE: u64 = 1_000_000_000_000_000_000;
/// Digits after the decimal point.
pub const FRAC_DIGITS: i32 = 36;

/// An exact non-negative amount of US dollars (see the module doc).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Usd {
    /// Little-endian base-10^18 limbs of `value x 10^36`: `[0]` holds 10^-36..10^-19,
    /// `[1]` 10^-18..10^-1, `[2]` 1..10^17 dollars, `[3]` 10^18..10^35 dollars.
    limbs: [u64; 4],
}

/// Why a literal is not an amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// Not a decimal number at all.
    NotANumber,
    /// `NaN`, `Infinity` (only strings can say that in JSON).
    NotFinite,
    Negative,
    /// A non-zero digit below 10^-36 USD.
    TooPrecise,
    /// 10^36 USD or more.
    TooLarge,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParseError::NotANumber => "not a number",
            ParseError::NotFinite => "not a finite number",
            ParseError::Negative => "negative",
            ParseError::TooPrecise => "a digit below 10^-36 USD (more precision than any cost)",
            ParseError::TooLarge => "10^36 USD or more",
        })
    }
}

/// `10^n`, for `n` up to 19.
fn pow10(n: u32) -> u64 {
    const P: [u64; 20] = {
        let mut p = [1u64; 20];
        let mut i = 1;
        while i < 20 {
            p[i] = p[i - 1] * 10;
            i += 1;
        }
        p
    };
    P[n as usize]
}

impl Usd {
    pub const ZERO: Usd = Usd { limbs: [0; 4] };

    /// Whole dollars.
    pub const fn dollars(n: u64) -> Usd {
        Usd {
            limbs: [0, 0, n % BASE, n / BASE],
        }
    }

    pub fn is_zero(&self) -> bool {
        self.limbs == [0; 4]
    }

    /// Parse a decimal literal exactly: JSON's number grammar (`-0.5`, `1.2e-7`, `12E+3`),
    /// plus the words a string may hold (`NaN`, `Infinity`, `inf`), which are
    /// [`ParseError::NotFinite`]. Surrounding whitespace is the caller's business.
    pub fn parse(s: &str) -> Result<Usd, ParseError> {
        let b = s.as_bytes();
        let mut i = 0;
        let neg = b.first() == Some(&b'-');
        if neg || b.first() == Some(&b'+') {
            i += 1;
        }
        let int_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let int_digits = &b[int_start..i];
        let mut frac_digits: &[u8] = &[];
        if i < b.len() && b[i] == b'.' {
            let f = i + 1;
            i = f;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            frac_digits = &b[f..i];
        }
        if int_digits.is_empty() && frac_digits.is_empty() {
            let w = s.trim_start_matches(['-', '+']).to_ascii_lowercase();
            return Err(if matches!(w.as_str(), "nan" | "inf" | "infinity") {
                ParseError::NotFinite
            } else {
                ParseError::NotANumber
            });
        }
        // Exponent, saturating: its only use is to say "too large" or "too precise".
        let mut exp: i64 = 0;
        if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
            i += 1;
            let eneg = b.get(i) == Some(&b'-');
            if matches!(b.get(i), Some(b'-' | b'+')) {
                i += 1;
            }
            let e0 = i;
            while i < b.len() && b[i].is_ascii_digit() {
                exp = exp.saturating_mul(10).saturating_add((b[i] - b'0') as i64);
                i += 1;
            }
            if e0 == i {
                return Err(ParseError::NotANumber);
            }
            if eneg {
                exp = -exp;
            }
        }
        if i != b.len() {
            return Err(ParseError::NotANumber);
        }
        // The significant digits (leading and trailing zeros dropped) and the power of ten of
        // the last one, read in place: the integer digits, then the fraction's.
        let digit = |k: usize| match int_digits.get(k) {
            Some(&d) => d,
            None => frac_digits[k - int_digits.len()],
        };
        let total = int_digits.len() + frac_digits.len();
        let first = (0..total).find(|&k| digit(k) != b'0').unwrap_or(total);
        let end = (first..total)
            .rfind(|&k| digit(k) != b'0')
            .map_or(first, |k| k + 1);
        let n = end - first;
        if n == 0 {
            return Ok(Usd::ZERO);
        }
        if neg {
            return Err(ParseError::Negative);
        }
        let trailing = (total - end) as i64;
        let low = exp
            .saturating_sub(frac_digits.len() as i64)
            .saturating_add(trailing);
        let high = low.saturating_add(n as i64 - 1);
        if low < -(FRAC_DIGITS as i64) {
            return Err(ParseError::TooPrecise);
        }
        if high >= FRAC_DIGITS as i64 {
            return Err(ParseError::TooLarge);
        }
        let mut limbs = [0u64; 4];
        for k in 0..n {
            let pos = (low + k as i64 + FRAC_DIGITS as i64) as u32;
            limbs[(pos / 18) as usize] += (digit(end - 1 - k) - b'0') as u64 * pow10(pos % 18);
        }
        Ok(Usd { limbs })
    }

    /// The amount a float prints as: Rust prints the shortest decimal that reads back as the
    /// same double, which is the literal for every literal of up to 15 significant digits and
    /// for every number JavaScript (OpenClaw) or a TOML writer printed. `None` for a
    /// negative or non-finite float or one outside [`Usd`]'s range.
    pub fn from_f64(x: f64) -> Option<Usd> {
        if !x.is_finite() {
            return None;
        }
        Usd::parse(&format!("{x:e}")).ok()
    }

    /// Integer micro-dollars (the ledger's unit before exact money); `None` when negative.
    pub fn from_micros(m: i64) -> Option<Usd> {
        let m = u64::try_from(m).ok()?;
        // 10^-6 = 10^12 units of the 10^-18 limb.
        let frac = (m % 1_000_000) * 1_000_000_000_000;
        Some(Usd {
            limbs: [0, frac, m / 1_000_000, 0],
        })
    }

    pub fn checked_add(self, o: Usd) -> Option<Usd> {
        let mut out = [0u64; 4];
        let mut carry = 0u64;
        for (i, slot) in out.iter_mut().enumerate() {
            let v = self.limbs[i] + o.limbs[i] + carry;
            *slot = v % BASE;
            carry = v / BASE;
        }
        (carry == 0).then_some(Usd { limbs: out })
    }

    /// `self - o`, exact; `None` when `o` is larger (an amount is never negative: a signed
    /// difference is the caller's, see [`Usd::abs_diff`]).
    pub fn checked_sub(self, o: Usd) -> Option<Usd> {
        let mut out = [0u64; 4];
        let mut borrow = 0u64;
        for (i, slot) in out.iter_mut().enumerate() {
            let sub = o.limbs[i] + borrow;
            if self.limbs[i] >= sub {
                *slot = self.limbs[i] - sub;
                borrow = 0;
            } else {
                *slot = self.limbs[i] + BASE - sub;
                borrow = 1;
            }
        }
        (borrow == 0).then_some(Usd { limbs: out })
    }

    /// `|self - o|` and whether `self < o` (a change between two periods).
    pub fn abs_diff(self, o: Usd) -> (Usd, bool) {
        match self.checked_sub(o) {
            Some(d) => (d, false),
            None => (o.checked_sub(self).unwrap_or(Usd::ZERO), true),
        }
    }

    /// Sum that stops at the largest amount instead of wrapping (reaching it takes 10^32
    /// lines at the per-line ceiling; only a hand-edited ledger can get there).
    pub fn saturating_add(self, o: Usd) -> Usd {
        self.checked_add(o).unwrap_or(Usd::MAX)
    }

    pub const MAX: Usd = Usd {
        limbs: [BASE - 1; 4],
    };

    /// `self x n`, exact; `None` past the range.
    pub fn checked_mul_u64(self, n: u64) -> Option<Usd> {
        let mut out = [0u64; 4];
        let mut carry: u128 = 0;
        for (i, slot) in out.iter_mut().enumerate() {
            let v = self.limbs[i] as u128 * n as u128 + carry;
            // A 128-bit division is a library call; a price has zero limbs, a count is small.
            if v < BASE as u128 {
                (*slot, carry) = (v as u64, 0);
                continue;
            }
            *slot = (v % BASE as u128) as u64;
            carry = v / BASE as u128;
        }
        (carry == 0).then_some(Usd { limbs: out })
    }

    /// `self x o`, exact; `None` past the range or when the product has a digit below
    /// 10^-36.
    pub fn checked_mul(self, o: Usd) -> Option<Usd> {
        // Schoolbook product of the two limb vectors; each partial product < 10^36 < 2^120.
        let mut acc = [0u128; 8];
        for i in 0..4 {
            for j in 0..4 {
                acc[i + j] += self.limbs[i] as u128 * o.limbs[j] as u128;
            }
        }
        let mut wide = [0u64; 8];
        let mut carry: u128 = 0;
        for k in 0..8 {
            let v = acc[k] + carry;
            wide[k] = (v % BASE as u128) as u64;
            carry = v / BASE as u128;
        }
        // value x 10^72 -> value x 10^36: drop two limbs, which must be zero.
        if carry != 0 || wide[0] != 0 || wide[1] != 0 || wide[6] != 0 || wide[7] != 0 {
            return None;
        }
        Some(Usd {
            limbs: [wide[2], wide[3], wide[4], wide[5]],
        })
    }

    /// `self / 10^k` (k <= 18), exact; `None` when a digit would fall below 10^-36.
    pub fn checked_div_pow10(self, k: u32) -> Option<Usd> {
        let d = pow10(k) as u128;
        let mut out = [0u64; 4];
        let mut rem: u128 = 0;
        for i in (0..4).rev() {
            let cur = rem * BASE as u128 + self.limbs[i] as u128;
            // In 64 bits when it fits (a 128-bit division is a library call).
            if let Ok(c) = u64::try_from(cur) {
                let d = d as u64;
                (out[i], rem) = (c / d, (c % d) as u128);
                continue;
            }
            out[i] = (cur / d) as u64;
            rem = cur % d;
        }
        (rem == 0).then_some(Usd { limbs: out })
    }

    /// `self x num / den`, rounded half up at 10^-36 (for projections, which are estimates
    /// from exact inputs). `None` past the range or for `den == 0`.
    pub fn mul_div(self, num: u64, den: u64) -> Option<Usd> {
        if den == 0 {
            return None;
        }
        let p = self.checked_mul_u64(num)?;
        let d = den as u128;
        let mut out = [0u64; 4];
        let mut rem: u128 = 0;
        for i in (0..4).rev() {
            let cur = rem * BASE as u128 + p.limbs[i] as u128;
            out[i] = (cur / d) as u64;
            rem = cur % d;
        }
        let q = Usd { limbs: out };
        if rem * 2 >= d {
            q.checked_add(Usd {
                limbs: [1, 0, 0, 0],
            })
        } else {
            Some(q)
        }
    }

    /// The nearest double (for Prometheus and ratios only: never summed again).
    pub fn to_f64(self) -> f64 {
        self.to_string().parse().unwrap_or(f64::MAX)
    }

    /// Whole dollars and the 36 fraction digits.
    fn parts(&self) -> (u128, String) {
        let int = self.limbs[3] as u128 * BASE as u128 + self.limbs[2] as u128;
        (int, format!("{:018}{:018}", self.limbs[1], self.limbs[0]))
    }

    /// Rounded half away from zero to `dp` decimals (at most 36), for display: `"0.19"`.
    pub fn round_dp(self, dp: u32) -> String {
        let dp = dp.min(FRAC_DIGITS as u32);
        let mut v = self;
        if dp < FRAC_DIGITS as u32 {
            // + 0.5 x 10^-dp, then cut.
            let pos = FRAC_DIGITS as u32 - dp - 1;
            let mut half = [0u64; 4];
            half[(pos / 18) as usize] = 5 * pow10(pos % 18);
            v = v.saturating_add(Usd { limbs: half });
        }
        let (int, frac) = v.parts();
        if dp == 0 {
            int.to_string()
        } else {
            format!("{int}.{}", &frac[..dp as usize])
        }
    }
}

/// Writes `v` in decimal just before `buf[end]`, zero-padded to at least `min` digits (one at
/// least); returns where its digits start.
fn digits_before(buf: &mut [u8], end: usize, mut v: u64, min: usize) -> usize {
    // Two digits a division (cost-track writes two amounts a line, 36 fraction digits each).
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
        2021222324252627282930313233343536373839\
        4041424344454647484950515253545556575859\
        6061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899";
    let mut i = end;
    while v >= 10 {
        let d = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&PAIRS[d..d + 2]);
    }
    // The digit left over (an odd count); a zero is all padding.
    if v > 0 {
        i -= 1;
        buf[i] = b'0' + v as u8;
    }
    while end - i < min.max(1) {
        i -= 1;
        buf[i] = b'0';
    }
    i
}

/// Exact canonical text: every significant digit, no trailing zeros past two decimals
/// (`"12.50"`, `"0.0075568500000000005"`). [`Usd::parse`] reads it back to the same amount.
impl fmt::Display for Usd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text(&mut [0; 80]))
    }
}

impl Usd {
    /// Appends the amount as [`fmt::Display`] writes it, without the formatting machinery
    /// (cost-track writes two amounts a line).
    pub fn push_to(&self, out: &mut String) {
        out.push_str(self.text(&mut [0; 80]));
    }

    /// The canonical text, its digits written by hand into `buf`.
    fn text<'b>(&self, buf: &'b mut [u8; 80]) -> &'b str {
        // The fraction: 36 digits from the two low limbs, then its trailing zeros dropped
        // (two decimals always kept).
        let mut frac = [b'0'; FRAC_DIGITS as usize];
        for (limb, at) in [(self.limbs[1], 0), (self.limbs[0], 18)] {
            // A limb is below 10^18: exactly 18 digits (a zero limb is the zeros already there).
            if limb > 0 {
                digits_before(&mut frac, at + 18, limb, 18);
            }
        }
        let keep = frac
            .iter()
            .rposition(|&d| d != b'0')
            .map_or(0, |i| i + 1)
            .max(2);
        // The whole dollars, right to left: the low limb (all 18 of its digits when a high
        // limb follows), then the high one; 64-bit arithmetic only (128-bit division is a
        // library call, and cost-track writes two amounts a line).
        let high = self.limbs[3];
        let mut i = digits_before(buf, 40, self.limbs[2], if high > 0 { 18 } else { 1 });
        if high > 0 {
            i = digits_before(buf, i, high, 1);
        }
        buf[40] = b'.';
        buf[41..41 + keep].copy_from_slice(&frac[..keep]);
        let text = &buf[i..41 + keep];
        debug_assert!(text.iter().all(|c| c.is_ascii_digit() || *c == b'.'));
        // SAFETY: only ASCII digits and a dot were written (a check costs a tenth of the
        // rest, and cost-track writes two amounts a line).
        unsafe { std::str::from_utf8_unchecked(text) }
    }
}

impl fmt::Debug for Usd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Usd({self})")
    }
}

impl Ord for Usd {
    fn cmp(&self, o: &Usd) -> Ordering {
        self.limbs.iter().rev().cmp(o.limbs.iter().rev())
    }
}

impl PartialOrd for Usd {
    fn partial_cmp(&self, o: &Usd) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl std::iter::Sum for Usd {
    fn sum<I: Iterator<Item = Usd>>(it: I) -> Usd {
        it.fold(Usd::ZERO, Usd::saturating_add)
    }
}

/// JSON: the exact decimal string (a float would lose the digits this type exists for).
impl serde::Serialize for Usd {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl std::str::FromStr for Usd {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Usd, ParseError> {
        Usd::parse(s)
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn display_writes_what_the_parts_say() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for k in 0..20_000 {
            let mut limbs = [next() % BASE, next() % BASE, next() % BASE, next() % BASE];
            // Mostly the small amounts cost-track writes, some at every limb's edges.
            match k % 4 {
                0 => limbs[3] = 0,
                1 => limbs = [limbs[0] % 1000, limbs[1] % 10, 0, 0],
                2 => limbs = [0, limbs[1], limbs[2] % 7, 0],
                _ => {}
            }
            let v = Usd { limbs };
            let (int, frac) = v.parts();
            let keep = frac.trim_end_matches('0').len().max(2);
            assert_eq!(
                v.to_string(),
                format!("{int}.{}", &frac[..keep]),
                "{limbs:?}"
            );
        }
        assert_eq!(Usd::MAX.to_string().len(), 36 + 1 + 36);
    }

    #[test]
    fn digits_are_written_right_to_left_and_padded() {
        let edges = (0..19).flat_map(|k| {
            let p = 10u64.pow(k);
            [p - 1, p, p + 1, 5 * p]
        });
        for v in (0..=1000).chain(edges).chain([BASE - 1, u64::MAX]) {
            for min in [0, 1, 2, 18] {
                let mut buf = [b'x'; 60];
                let i = digits_before(&mut buf, 50, v, min);
                let want = format!("{v:0w$}", w = min.max(1));
                assert_eq!(&buf[i..50], want.as_bytes(), "{v} {min}");
                assert!(buf[..i].iter().chain(&buf[50..]).all(|&b| b == b'x'));
            }
        }
    }

    #[test]
    fn differences_are_exact_and_signed_by_the_caller() {
        let u = |s: &str| Usd::parse(s).unwrap();
        assert_eq!(u("3.000001").checked_sub(u("2")), Some(u("1.000001")));
        assert_eq!(
            u("1").checked_sub(u("0.0075568500000000005")),
            Some(u("0.9924431499999999995"))
        );
        assert_eq!(
            u("1").checked_sub(u("1.000000000000000000000000000000000001")),
            None
        );
        assert_eq!(u("2").abs_diff(u("3.5")), (u("1.5"), true));
        assert_eq!(u("3.5").abs_diff(u("2")), (u("1.5"), false));
        assert_eq!(Usd::MAX.abs_diff(Usd::ZERO), (Usd::MAX, false));
    }

    use super::*;

    fn u(s: &str) -> Usd {
        Usd::parse(s).unwrap()
    }

    #[test]
    fn parses_every_literal_shape_exactly() {
        assert_eq!(u("0.00755685").to_string(), "0.00755685");
        assert_eq!(
            u("0.0075568500000000005").to_string(),
            "0.0075568500000000005"
        );
        assert_eq!(u("1.2e-7").to_string(), "0.00000012");
        assert_eq!(u("1.2E-7"), u("0.00000012"));
        assert_eq!(
            u("3.0000000000000004e-9").to_string(),
            "0.0000000030000000000000004"
        );
        assert_eq!(u("12E+3").to_string(), "12000.00");
        assert_eq!(u("0").to_string(), "0.00");
        assert_eq!(u("-0").to_string(), "0.00");
        assert_eq!(u("0.000e5"), Usd::ZERO);
        assert_eq!(u("10000").to_string(), "10000.00");
        assert_eq!(u("1e-36").to_string(), format!("0.{}1", "0".repeat(35)));
        assert_eq!(u("123456789012345678901234567890.5"), {
            let a = u("123456789012345678901234567890");
            a.checked_add(u("0.5")).unwrap()
        });
        assert_eq!(Usd::parse("1e-37"), Err(ParseError::TooPrecise));
        assert_eq!(Usd::parse("1.5e-36"), Err(ParseError::TooPrecise));
        assert_eq!(Usd::parse("1e36"), Err(ParseError::TooLarge));
        assert_eq!(
            Usd::parse("1e999999999999999999999"),
            Err(ParseError::TooLarge)
        );
        assert_eq!(
            Usd::parse("1e-999999999999999999999"),
            Err(ParseError::TooPrecise)
        );
        assert_eq!(Usd::parse("-0.5"), Err(ParseError::Negative));
        assert_eq!(Usd::parse("NaN"), Err(ParseError::NotFinite));
        assert_eq!(Usd::parse("-Infinity"), Err(ParseError::NotFinite));
        for bad in ["", ".", "e5", "1e", "1.2.3", "0x10", "1 ", "abc"] {
            assert_eq!(Usd::parse(bad), Err(ParseError::NotANumber), "{bad:?}");
        }
    }

    /// What a literal's amount reads as, by moving its decimal point in the digit string
    /// (no arithmetic): the reference [`Usd::parse`] is checked against.
    fn by_shifting(int: &str, frac: &str, exp: i64, neg: bool) -> Result<String, ParseError> {
        let digits = format!("{int}{frac}");
        // Where the point falls in `digits`, padded with zeros on either side as needed.
        let point = int.len() as i64 + exp;
        let left = (-point).max(0) as usize;
        let right = (point - digits.len() as i64).max(0) as usize;
        let padded = format!("{}{digits}{}", "0".repeat(left), "0".repeat(right));
        let at = (point + left as i64) as usize;
        let (whole, frac) = padded.split_at(at);
        let whole = whole.trim_start_matches('0');
        let frac = frac.trim_end_matches('0');
        if whole.is_empty() && frac.is_empty() {
            return Ok("0.00".into());
        }
        if neg {
            return Err(ParseError::Negative);
        }
        if frac.len() > FRAC_DIGITS as usize {
            return Err(ParseError::TooPrecise);
        }
        if whole.len() > FRAC_DIGITS as usize {
            return Err(ParseError::TooLarge);
        }
        let whole = if whole.is_empty() { "0" } else { whole };
        Ok(format!("{whole}.{frac:0<2}"))
    }

    #[test]
    fn parse_agrees_with_moving_the_point_in_the_digits() {
        let ints = [
            "",
            "0",
            "00",
            "1",
            "10",
            "123",
            "0001200",
            "999999999999999999",
            "1000000000000000000",
            "123456789012345678901234567890123456",
            "1234567890123456789012345678901234567",
        ];
        let fracs = [
            None,
            Some(""),
            Some("0"),
            Some("5"),
            Some("050"),
            Some("000000001"),
            Some("123456789012345678"),
            Some("1234567890123456789"),
            Some("000000000000000000000000000000000001"),
            Some("0000000000000000000000000000000000001"),
            Some("100000000000000000000000000000000000000"),
        ];
        let exps = [
            None,
            Some(0),
            Some(-7),
            Some(3),
            Some(18),
            Some(-18),
            Some(-36),
            Some(36),
        ];
        let mut checked = 0;
        for int in ints {
            for frac in fracs {
                // JSON needs an integer part; Usd::parse also reads ".5" (a string's text).
                if int.is_empty() && frac.is_none_or(str::is_empty) {
                    continue;
                }
                for exp in exps {
                    for neg in [false, true] {
                        let mut lit = format!("{}{int}", if neg { "-" } else { "" });
                        if let Some(f) = frac {
                            if f.is_empty() {
                                continue;
                            }
                            lit += &format!(".{f}");
                        }
                        if let Some(e) = exp {
                            lit += &format!("e{e}");
                        }
                        let want = by_shifting(int, frac.unwrap_or(""), exp.unwrap_or(0), neg);
                        let got = Usd::parse(&lit).map(|v| v.to_string());
                        assert_eq!(got, want, "{lit}");
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 1000, "{checked} literals");
    }

    #[test]
    fn products_by_counts_and_powers_of_ten_agree_with_their_references() {
        let amounts = [
            "0",
            "0.000001",
            "3",
            "0.3",
            "15.00",
            "0.0000003",
            "1e-36",
            "999999999999999999",
            "1000000000000000000.5",
            "123456789012345678901234567890.123456789012345678",
            "0.123456789012345678901234567890123456",
            "99999999999999999999999999999999999",
        ];
        for a in amounts.map(u) {
            for n in [0, 1, 7, 1_000_000, 123_456_789_012, u64::MAX] {
                // The schoolbook product of two amounts is the reference for a count.
                assert_eq!(
                    a.checked_mul_u64(n),
                    a.checked_mul(Usd::dollars(n)),
                    "{a} x {n}"
                );
            }
            for k in 0..=18 {
                // Dividing by 10^k is moving the point: the literal with an exponent.
                let want = Usd::parse(&format!("{a}e-{k}")).ok();
                assert_eq!(a.checked_div_pow10(k), want, "{a} / 10^{k}");
            }
        }
    }

    #[test]
    fn sums_are_exact_where_floats_drift() {
        // 0.1 + 0.2 is 0.30000000000000004 in f64.
        assert_eq!(u("0.1").checked_add(u("0.2")).unwrap(), u("0.3"));
        let tenth = u("0.0000001");
        let mut s = Usd::ZERO;
        for _ in 0..10_000_000 / 1000 {
            s = s.checked_add(tenth).unwrap();
        }
        assert_eq!(s, u("0.001"));
        assert_eq!(Usd::MAX.checked_add(u("1e-36")), None);
        assert_eq!(Usd::MAX.saturating_add(u("1")), Usd::MAX);
    }

    #[test]
    fn products_and_per_million_prices() {
        // 787 input tokens at $1.75 per million.
        let p = u("1.75").checked_mul_u64(787).unwrap();
        assert_eq!(p.checked_div_pow10(6).unwrap(), u("0.00137725"));
        assert_eq!(u("0.5").checked_mul(u("0.25")).unwrap(), u("0.125"));
        assert_eq!(
            u("3e-6").checked_mul(Usd::dollars(1_000_000)).unwrap(),
            u("3")
        );
        assert_eq!(u("1e-20").checked_mul(u("1e-20")), None);
        assert_eq!(u("1e-36").checked_div_pow10(1), None);
        assert_eq!(u("1e20").checked_mul(u("1e20")), None);
        assert_eq!(Usd::MAX.checked_mul_u64(2), None);
        assert_eq!(
            u("1").mul_div(1, 3).unwrap().to_string(),
            format!("0.{}", "3".repeat(36))
        );
        assert_eq!(
            u("2").mul_div(1, 3).unwrap().to_string(),
            format!("0.{}7", "6".repeat(35))
        );
        assert_eq!(u("1").mul_div(1, 0), None);
    }

    #[test]
    fn conversions_and_display_rounding() {
        assert_eq!(Usd::from_f64(0.00755685), Some(u("0.00755685")));
        assert_eq!(Usd::from_f64(0.1 + 0.2), Some(u("0.30000000000000004")));
        assert_eq!(Usd::from_f64(1.2e-7), Some(u("1.2e-7")));
        assert_eq!(Usd::from_f64(-1.0), None);
        assert_eq!(Usd::from_f64(f64::NAN), None);
        assert_eq!(Usd::from_micros(187_933), Some(u("0.187933")));
        assert_eq!(Usd::from_micros(12_000_001), Some(u("12.000001")));
        assert_eq!(Usd::from_micros(-1), None);
        assert_eq!(
            Usd::from_micros(i64::MAX).unwrap().to_string(),
            "9223372036854.775807"
        );
        assert_eq!(u("0.005").round_dp(2), "0.01");
        assert_eq!(u("0.00499999").round_dp(2), "0.00");
        assert_eq!(u("1234.5").round_dp(0), "1235");
        assert_eq!(u("0.0075568500000000005").round_dp(6), "0.007557");
        assert_eq!(u("9.999").round_dp(2), "10.00");
        assert_eq!(u("0.1").to_f64(), 0.1);
        assert!(u("0.1") < u("0.10000000000000000000000000000000001"));
        assert!(Usd::dollars(2) > u("1.999999999999999999999999999999999999"));
        assert_eq!(
            Usd::dollars(5_000_000_000_000_000_000).to_string(),
            "5000000000000000000.00"
        );
        let v: Vec<Usd> = vec![u("0.1"), u("0.2"), u("0.3")];
        assert_eq!(v.into_iter().sum::<Usd>(), u("0.6"));
    }
}
