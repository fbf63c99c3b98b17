//! Card number rules: normalisation, type detection by prefix, valid lengths
//! and the Luhn checksum — the rules of upstream's card library
//! (`simple-card-validator` 1.1.0) as the contract records them.

use std::fmt;

/// A card type the rules recognise, named as upstream's library names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardType {
    Amex,
    DinersClubCarteBlanche,
    DinersClubInternational,
    Jcb,
    Laser,
    VisaElectron,
    Visa,
    Mastercard,
    Maestro,
    Rupay,
    Discover,
}

impl CardType {
    /// The library's type name (it appears in the refusal message).
    pub fn name(self) -> &'static str {
        match self {
            Self::Amex => "amex",
            Self::DinersClubCarteBlanche => "diners_club_carte_blanche",
            Self::DinersClubInternational => "diners_club_international",
            Self::Jcb => "jcb",
            Self::Laser => "laser",
            Self::VisaElectron => "visa_electron",
            Self::Visa => "visa",
            Self::Mastercard => "mastercard",
            Self::Maestro => "maestro",
            Self::Rupay => "rupay",
            Self::Discover => "discover",
        }
    }

    /// Whether a (normalised) number of `len` characters has a valid length
    /// for this type.
    pub fn valid_length(self, len: usize) -> bool {
        match self {
            Self::Amex => len == 15,
            Self::DinersClubCarteBlanche | Self::DinersClubInternational => len == 14,
            Self::Laser => (16..=19).contains(&len),
            Self::Maestro => (12..=19).contains(&len),
            Self::Jcb
            | Self::VisaElectron
            | Self::Visa
            | Self::Mastercard
            | Self::Rupay
            | Self::Discover => len == 16,
        }
    }

    /// The only types the shop accepts.
    pub fn accepted(self) -> bool {
        matches!(self, Self::Visa | Self::Mastercard)
    }
}

impl fmt::Display for CardType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The number without spaces and `-`.
pub fn normalise(number: &str) -> String {
    number.chars().filter(|c| *c != ' ' && *c != '-').collect()
}

/// Luhn checksum over the digits of `number`; any non-digit (or no digit at
/// all) makes it fail.
pub fn luhn(number: &str) -> bool {
    let mut sum: u32 = 0;
    for (i, c) in number.chars().rev().enumerate() {
        let Some(d) = c.to_digit(10) else {
            return false;
        };
        sum += if i % 2 == 1 {
            let d2 = d * 2;
            if d2 >= 10 { d2 - 9 } else { d2 }
        } else {
            d
        };
    }
    !number.is_empty() && sum.is_multiple_of(10)
}

/// The `n`-th character of `s` (0-based), if any.
fn nth(s: &str, n: usize) -> Option<char> {
    s.chars().nth(n)
}

/// The number formed by the `len` characters of `s` starting at `start`,
/// when they are all ASCII digits.
fn digits_at(s: &str, start: usize, len: usize) -> Option<u32> {
    let part: String = s.chars().skip(start).take(len).collect();
    if part.chars().count() == len && part.chars().all(|c| c.is_ascii_digit()) {
        part.parse().ok()
    } else {
        None
    }
}

fn starts_with_any(s: &str, prefixes: &[&str]) -> bool {
    prefixes.iter().any(|p| s.starts_with(p))
}

/// RuPay's ranges of the first six characters read as a number.
const RUPAY_RANGES: [(u32, u32); 14] = [
    (508_500, 508_999),
    (606_985, 607_384),
    (607_385, 607_484),
    (607_485, 607_984),
    (608_001, 608_100),
    (608_101, 608_200),
    (608_201, 608_300),
    (608_301, 608_350),
    (608_351, 608_500),
    (652_150, 652_849),
    (652_850, 653_049),
    (653_050, 653_149),
    (817_200, 819_899),
    (819_900, 820_199),
];

/// The first rule that matches the normalised `number`, in the library's
/// order; `None` is the library's "unknown" type.
pub fn detect(number: &str) -> Option<CardType> {
    let s = number;
    // amex: ^3[47]
    if starts_with_any(s, &["34", "37"]) {
        return Some(CardType::Amex);
    }
    // diners_club_carte_blanche: ^30[0-5]
    if s.starts_with("30") && matches!(nth(s, 2), Some('0'..='5')) {
        return Some(CardType::DinersClubCarteBlanche);
    }
    // diners_club_international: ^3([689]|09)
    if starts_with_any(s, &["36", "38", "39", "309"]) {
        return Some(CardType::DinersClubInternational);
    }
    // jcb: ^35(2[89]|[3-8][0-9])
    if s.starts_with("35")
        && match (nth(s, 2), nth(s, 3)) {
            (Some('2'), Some('8' | '9')) => true,
            (Some('3'..='8'), Some(d)) => d.is_ascii_digit(),
            _ => false,
        }
    {
        return Some(CardType::Jcb);
    }
    // laser: ^(6304|670[69]|6771)
    if starts_with_any(s, &["6304", "6706", "6709", "6771"]) {
        return Some(CardType::Laser);
    }
    // visa_electron: ^(4026|417500|4508|4844|491(3|7))
    if starts_with_any(s, &["4026", "417500", "4508", "4844", "4913", "4917"]) {
        return Some(CardType::VisaElectron);
    }
    // visa: ^4
    if s.starts_with('4') {
        return Some(CardType::Visa);
    }
    // mastercard: ^5[1-5] (the 2-series is not recognised)
    if s.starts_with('5') && matches!(nth(s, 1), Some('1'..='5')) {
        return Some(CardType::Mastercard);
    }
    // maestro: ^(5018|5081|5044|5020|5038|603845|6304|6759|676[1-3]|6220|504834|504817|504645)
    if starts_with_any(
        s,
        &[
            "5018", "5081", "5044", "5020", "5038", "603845", "6304", "6759", "6761", "6762",
            "6763", "6220", "504834", "504817", "504645",
        ],
    ) {
        return Some(CardType::Maestro);
    }
    // rupay: the first six characters as a number in one of the ranges; when
    // they are not numeric, detection stops here with no type.
    let first6: String = s.chars().take(6).collect();
    if first6.is_empty() || !first6.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let n: u32 = first6.parse().ok()?;
    if RUPAY_RANGES.iter().any(|(lo, hi)| (*lo..=*hi).contains(&n)) {
        return Some(CardType::Rupay);
    }
    // discover: ^(6011|622(12[6-9]|1[3-9][0-9]|[2-8][0-9]{2}|9[0-1][0-9]|92[0-5]|64[4-9])|65)
    // The alternatives after 622 together cover exactly 622126..=622925.
    if starts_with_any(s, &["6011", "65"])
        || (s.starts_with("622") && digits_at(s, 3, 3).is_some_and(|n| (126..=925).contains(&n)))
    {
        return Some(CardType::Discover);
    }
    None
}

/// What the rules say about a normalised number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardCheck {
    /// The detected type (`None` = unknown).
    pub card_type: Option<CardType>,
    /// Known type, valid length for it, and a correct Luhn checksum.
    pub valid: bool,
}

/// Type, length and Luhn checks of the normalised `number`.
pub fn check(number: &str) -> CardCheck {
    let card_type = detect(number);
    let valid = card_type.is_some_and(|t| t.valid_length(number.chars().count()) && luhn(number));
    CardCheck { card_type, valid }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_accepts_known_numbers_and_rejects_others() {
        for ok in [
            "4432801561520454",
            "5555555555554444",
            "378282246310005",
            "2221000000000009",
            "4111111111111111",
            "79927398713",
            "0",
            "00",
        ] {
            assert!(luhn(ok), "{ok}");
        }
        for bad in [
            "4432801561520455",
            "4432801561520445",
            "79927398710",
            "",
            "1",
            "4432 8015 6152 0454",
            "4432-8015-6152-0454",
            "443280156152045a",
            "٤٤٣٢",
        ] {
            assert!(!luhn(bad), "{bad:?}");
        }
    }

    #[test]
    fn normalise_strips_spaces_and_dashes_only() {
        assert_eq!(normalise(" 4432-8015 6152--0454 "), "4432801561520454");
        assert_eq!(normalise("4432\t8015"), "4432\t8015");
        assert_eq!(normalise(""), "");
    }

    #[test]
    fn detection_follows_the_table_in_order() {
        use CardType::*;
        let cases: &[(&str, Option<CardType>)] = &[
            ("340000000000000", Some(Amex)),
            ("370000000000000", Some(Amex)),
            ("350000", None), // 35 then 00: not jcb; numeric, no range
            ("300", Some(DinersClubCarteBlanche)),
            ("305", Some(DinersClubCarteBlanche)),
            ("306", None), // 30 followed by 6: no rule (not 309)
            ("309", Some(DinersClubInternational)),
            ("36", Some(DinersClubInternational)),
            ("38", Some(DinersClubInternational)),
            ("39", Some(DinersClubInternational)),
            ("3528", Some(Jcb)),
            ("3529", Some(Jcb)),
            ("3527", None),
            ("3530", Some(Jcb)),
            ("3589", Some(Jcb)),
            ("3590", None),
            ("358", None),
            ("6304", Some(Laser)), // laser wins over maestro's 6304
            ("6706", Some(Laser)),
            ("6709", Some(Laser)),
            ("6707", None),
            ("6771", Some(Laser)),
            ("4026", Some(VisaElectron)),
            ("417500", Some(VisaElectron)),
            ("417501", Some(Visa)),
            ("4508", Some(VisaElectron)),
            ("4844", Some(VisaElectron)),
            ("4913", Some(VisaElectron)),
            ("4917", Some(VisaElectron)),
            ("4914", Some(Visa)),
            ("4", Some(Visa)),
            ("4432801561520454", Some(Visa)),
            ("51", Some(Mastercard)),
            ("55", Some(Mastercard)),
            ("5555555555554444", Some(Mastercard)),
            ("56", None),
            ("50", None),
            ("2221000000000009", None), // 2-series not recognised
            ("2720990000000000", None),
            ("5018", Some(Maestro)),
            ("5081", Some(Maestro)),
            ("5044", Some(Maestro)),
            ("5020", Some(Maestro)),
            ("5038", Some(Maestro)),
            ("603845", Some(Maestro)),
            ("6759", Some(Maestro)),
            ("6761", Some(Maestro)),
            ("6763", Some(Maestro)),
            ("6764", None),
            ("6220", Some(Maestro)),
            ("504834", Some(Maestro)),
            ("504817", Some(Maestro)),
            ("504645", Some(Maestro)),
            ("508500", Some(Rupay)),
            ("508999", Some(Rupay)),
            ("509000", None),
            ("606985", Some(Rupay)),
            ("606984", None),
            ("607984", Some(Rupay)),
            ("608000", None),
            ("608001", Some(Rupay)),
            ("608500", Some(Rupay)),
            ("652150", Some(Rupay)), // rupay wins over discover's 65
            ("653149", Some(Rupay)),
            ("653150", Some(Discover)),
            ("817200", Some(Rupay)),
            ("820199", Some(Rupay)),
            ("820200", None),
            ("6011000000000004", Some(Discover)),
            ("622126", Some(Discover)),
            ("622125", None),
            ("622199", Some(Discover)),
            ("622644", Some(Discover)),
            ("622925", Some(Discover)),
            ("622926", None),
            ("650000", Some(Discover)),
            ("6011", Some(Discover)), // fewer than six characters, all numeric
            ("65", Some(Discover)),
            // The first six characters are not numeric: detection stops
            // before discover.
            ("6011ab0000000000", None),
            ("65 123", None),
            ("", None),
            ("1234567890123456", None),
        ];
        for (number, expected) in cases {
            assert_eq!(detect(number), *expected, "{number:?}");
        }
    }

    #[test]
    fn lengths_per_type() {
        use CardType::*;
        assert!(Amex.valid_length(15) && !Amex.valid_length(16));
        assert!(
            DinersClubCarteBlanche.valid_length(14) && !DinersClubCarteBlanche.valid_length(15)
        );
        assert!(DinersClubInternational.valid_length(14));
        assert!(Laser.valid_length(16) && Laser.valid_length(19) && !Laser.valid_length(15));
        assert!(Maestro.valid_length(12) && Maestro.valid_length(19) && !Maestro.valid_length(11));
        assert!(!Maestro.valid_length(20));
        for t in [Jcb, VisaElectron, Visa, Mastercard, Rupay, Discover] {
            assert!(
                t.valid_length(16) && !t.valid_length(15) && !t.valid_length(17),
                "{t}"
            );
        }
    }

    #[test]
    fn validity_needs_type_length_and_luhn() {
        let c = check("4432801561520454");
        assert_eq!(c.card_type, Some(CardType::Visa));
        assert!(c.valid);
        // Luhn-valid but 13 digits: visa needs 16.
        assert!(!check("4222222222222").valid);
        // Luhn-valid, 16 digits, unknown type.
        assert_eq!(
            check("2221000000000009"),
            CardCheck {
                card_type: None,
                valid: false
            }
        );
        assert!(!check("4432801561520455").valid);
        let amex = check("378282246310005");
        assert_eq!(amex.card_type, Some(CardType::Amex));
        assert!(amex.valid);
        assert!(!CardType::Amex.accepted());
        assert!(CardType::Visa.accepted() && CardType::Mastercard.accepted());
        assert!(!CardType::VisaElectron.accepted());
    }
}
