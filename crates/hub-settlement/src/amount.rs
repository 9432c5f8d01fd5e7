//! Yuan amounts to integer fen, exactly: the decimal text is parsed digit by digit, never
//! through a floating-point number (0.1 + 0.2 is not 0.3 in f64, and a fund total must add up
//! to the fen).

/// Why an amount text is not a valid amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AmountError {
    /// Not a plain decimal number (`-`? digits, optionally `.` and digits).
    NotNumeric,
    /// More than two digits after the decimal point.
    TooManyDecimals,
    /// Does not fit in a signed 64-bit number of fen.
    TooLarge,
}

/// Parses `[-]digits[.d[d]]` (yuan) into fen. Surrounding whitespace is allowed; signs other
/// than a leading `-`, exponents, thousands separators and more than two decimals are not.
pub(crate) fn parse_fen(text: &str) -> Result<i64, AmountError> {
    let text = text.trim();
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || fraction.is_some_and(|f| !digits(f)) {
        return Err(AmountError::NotNumeric);
    }
    let fraction = fraction.unwrap_or("");
    if fraction.len() > 2 {
        return Err(AmountError::TooManyDecimals);
    }
    let mut fen: i64 = 0;
    for b in whole
        .bytes()
        .chain(fraction.bytes())
        .chain("00".bytes().take(2 - fraction.len()))
    {
        fen = fen
            .checked_mul(10)
            .and_then(|f| f.checked_add(i64::from(b - b'0')))
            .ok_or(AmountError::TooLarge)?;
    }
    Ok(if negative { -fen } else { fen })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_exactly() {
        let cases = [
            ("0", 0),
            ("0.1", 10),
            ("0.10", 10),
            ("0.01", 1),
            ("12", 1200),
            ("12.3", 1230),
            ("1234.56", 123_456),
            (" 88.80 ", 8880),
            ("-35.5", -3550),
            ("-0.00", 0),
            ("007.07", 707),
            // 0.29 * 100 is 28.999999999999996 in f64: exact parsing gives 29.
            ("0.29", 29),
            ("92233720368547758.07", i64::MAX),
        ];
        for (text, fen) in cases {
            assert_eq!(parse_fen(text), Ok(fen), "{text}");
        }
    }

    #[test]
    fn rejects_what_is_not_a_two_decimal_amount() {
        use AmountError::*;
        let cases = [
            ("12.345", TooManyDecimals),
            ("0.001", TooManyDecimals),
            ("", NotNumeric),
            ("-", NotNumeric),
            (".5", NotNumeric),
            ("5.", NotNumeric),
            ("+5", NotNumeric),
            ("1e3", NotNumeric),
            ("1,234.00", NotNumeric),
            ("12.3.4", NotNumeric),
            ("十二", NotNumeric),
            ("NaN", NotNumeric),
            ("--1", NotNumeric),
            ("92233720368547758.08", TooLarge),
            ("99999999999999999999", TooLarge),
        ];
        for (text, error) in cases {
            assert_eq!(parse_fen(text), Err(error), "{text}");
        }
    }
}
