//! Display masking of identifiers: what a screen, an API response or an error shows.

/// `210102********1234`: keeps the first 6 and last 4 characters of an ID number. Anything that
/// is not 15 or 18 characters long is masked entirely.
pub fn id_number(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    match chars.len() {
        15 | 18 => keep_ends(&chars, 6, 4),
        n => "*".repeat(n.max(1)),
    }
}

/// `138****5678`: keeps the first 3 and last 4 digits of a phone number (11-digit mobile);
/// shorter numbers keep only their last 2.
pub fn phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().filter(|c| !c.is_whitespace()).collect();
    match chars.len() {
        n if n >= 11 => keep_ends(&chars, 3, 4),
        n if n > 4 => keep_ends(&chars, 0, 2),
        n => "*".repeat(n.max(1)),
    }
}

/// `张*`, `李**`, `欧阳**`: keeps the first character of a Chinese name (the surname for most
/// names); a two-character surname is not recognised, which masks more, never less.
pub fn name(name: &str) -> String {
    let mut chars = name.trim().chars();
    match chars.next() {
        Some(first) => {
            let rest = chars.count().max(1);
            format!("{first}{}", "*".repeat(rest))
        }
        None => String::new(),
    }
}

fn keep_ends(chars: &[char], head: usize, tail: usize) -> String {
    let hidden = chars.len() - head - tail;
    let mut out: String = chars[..head].iter().collect();
    out.push_str(&"*".repeat(hidden));
    out.extend(&chars[chars.len() - tail..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_as_the_privacy_rules_say() {
        assert_eq!(id_number("210102199003071234"), "210102********1234");
        assert_eq!(id_number("310112850409522"), "310112*****9522");
        assert_eq!(id_number("12345"), "*****");
        assert_eq!(phone("13856785678"), "138****5678");
        assert_eq!(phone("138 5678 5678"), "138****5678");
        assert_eq!(phone("6612345"), "*****45");
        assert_eq!(name("张三"), "张*");
        assert_eq!(name("李小明"), "李**");
        assert_eq!(name(""), "");
    }
}
