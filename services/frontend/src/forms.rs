//! Form parsing and upstream's server-side validation rules (contract §11.3,
//! appendices D and E), with upstream's exact message lines:
//! `Field '<GoFieldName>' is invalid: <tag>` + LF, fields in struct order,
//! first failing tag per field.

use crate::error::AppError;

/// Form values from the URL query and an urlencoded body; like Go's
/// `Request.FormValue`, a key's first body value wins over the query.
#[derive(Debug, Default, Clone)]
pub struct FormValues {
    body: Vec<(String, String)>,
    query: Vec<(String, String)>,
}

impl FormValues {
    /// Parses `query` (without `?`) and an `application/x-www-form-urlencoded` body.
    pub fn parse(query: Option<&str>, body: &[u8]) -> Self {
        let pairs = |b: &[u8]| {
            form_urlencoded::parse(b)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        };
        Self {
            body: pairs(body),
            query: query.map(|q| pairs(q.as_bytes())).unwrap_or_default(),
        }
    }

    /// The first value of `key`, or `""`.
    pub fn get(&self, key: &str) -> &str {
        self.body
            .iter()
            .chain(self.query.iter())
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// Go's `strconv.ParseUint(s, 10, 32)` with the error ignored: a syntax
/// error gives 0, an out-of-range value gives `u32::MAX`.
pub fn parse_u32_go(s: &str) -> u32 {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    s.parse().unwrap_or(u32::MAX)
}

/// Go's `strconv.ParseInt(s, 10, 32)` with the error ignored: a syntax error
/// gives 0, an out-of-range value gives `i32::MAX` or `i32::MIN`.
pub fn parse_i32_go(s: &str) -> i32 {
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    match s.parse::<i32>() {
        Ok(v) => v,
        Err(_) if neg => i32::MIN,
        Err(_) => i32::MAX,
    }
}

/// Collects the failing fields' lines.
#[derive(Default)]
struct Report(String);

impl Report {
    fn check(&mut self, field: &str, failed_tag: Option<&str>) {
        if let Some(tag) = failed_tag {
            self.0
                .push_str(&format!("Field '{field}' is invalid: {tag}\n"));
        }
    }

    fn finish<T>(self, value: T) -> Result<T, AppError> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(AppError::Validation(self.0))
        }
    }
}

fn required_str(s: &str) -> Option<&'static str> {
    s.is_empty().then_some("required")
}

fn str_max(s: &str, max: usize) -> Option<&'static str> {
    required_str(s).or_else(|| (s.chars().count() > max).then_some("max"))
}

fn required_int(v: i64) -> Option<&'static str> {
    (v == 0).then_some("required")
}

fn int_range(v: i64, min: i64, max: i64) -> Option<&'static str> {
    required_int(v)
        .or_else(|| (v < min).then_some("gte"))
        .or_else(|| (v > max).then_some("lte"))
}

/// `POST /cart`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddToCart {
    pub quantity: u32,
    pub product_id: String,
}

impl AddToCart {
    /// `Quantity` `required,gte=1,lte=10`; `ProductID` `required`.
    pub fn validate(f: &FormValues) -> Result<Self, AppError> {
        let quantity = parse_u32_go(f.get("quantity"));
        let product_id = f.get("product_id").to_owned();
        let mut r = Report::default();
        r.check("Quantity", int_range(i64::from(quantity), 1, 10));
        r.check("ProductID", required_str(&product_id));
        r.finish(Self {
            quantity,
            product_id,
        })
    }
}

/// `POST /setCurrency` (the "supported by the currency service" check is the
/// handler's: it needs an RPC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetCurrency {
    pub currency: String,
}

impl SetCurrency {
    /// `Currency` `required,iso4217`.
    pub fn validate(f: &FormValues) -> Result<Self, AppError> {
        let currency = f.get("currency_code").to_owned();
        let mut r = Report::default();
        r.check(
            "Currency",
            required_str(&currency).or_else(|| (!is_iso4217(&currency)).then_some("iso4217")),
        );
        r.finish(Self { currency })
    }
}

/// The line `/setCurrency` answers for an ISO code the currency service does
/// not support.
pub fn unsupported_currency() -> AppError {
    AppError::Validation("Field 'Currency' is invalid: oneof\n".into())
}

/// `POST /cart/checkout`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceOrder {
    pub email: String,
    pub street_address: String,
    pub zip_code: i32,
    pub city: String,
    pub state: String,
    pub country: String,
    pub cc_number: String,
    pub cc_month: i32,
    pub cc_year: i32,
    pub cc_cvv: i32,
    /// Our addition: the form's one-time token (empty when absent).
    pub token: String,
}

impl PlaceOrder {
    /// Upstream's `PlaceOrderPayload` rules, in struct order.
    pub fn validate(f: &FormValues) -> Result<Self, AppError> {
        let p = Self {
            email: f.get("email").to_owned(),
            street_address: f.get("street_address").to_owned(),
            zip_code: parse_i32_go(f.get("zip_code")),
            city: f.get("city").to_owned(),
            state: f.get("state").to_owned(),
            country: f.get("country").to_owned(),
            cc_number: f.get("credit_card_number").to_owned(),
            cc_month: parse_i32_go(f.get("credit_card_expiration_month")),
            cc_year: parse_i32_go(f.get("credit_card_expiration_year")),
            cc_cvv: parse_i32_go(f.get("credit_card_cvv")),
            token: f.get("order_token").to_owned(),
        };
        let mut r = Report::default();
        r.check(
            "Email",
            required_str(&p.email).or_else(|| (!is_email(&p.email)).then_some("email")),
        );
        r.check("StreetAddress", str_max(&p.street_address, 512));
        r.check("ZipCode", required_int(p.zip_code.into()));
        r.check("City", str_max(&p.city, 128));
        r.check("State", str_max(&p.state, 128));
        r.check("Country", str_max(&p.country, 128));
        r.check(
            "CcNumber",
            required_str(&p.cc_number)
                .or_else(|| (!is_credit_card(&p.cc_number)).then_some("credit_card")),
        );
        r.check("CcMonth", int_range(p.cc_month.into(), 1, 12));
        r.check("CcYear", required_int(p.cc_year.into()));
        r.check("CcCVV", required_int(p.cc_cvv.into()));
        r.finish(p)
    }
}

/// go-playground's `credit_card`: segments split on single spaces are each at
/// least 3 characters, together 12–19 digits, Luhn-valid.
pub fn is_credit_card(s: &str) -> bool {
    let mut digits = String::new();
    for seg in s.split(' ') {
        if seg.chars().count() < 3 {
            return false;
        }
        digits.push_str(seg);
    }
    let n = digits.chars().count();
    (12..=19).contains(&n) && luhn(&digits)
}

fn luhn(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, c) in digits.chars().rev().enumerate() {
        let Some(mut d) = c.to_digit(10) else {
            return false;
        };
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum.is_multiple_of(10)
}

fn is_intl(c: char) -> bool {
    matches!(c as u32, 0xA0..=0xD7FF | 0xF900..=0xFDCF | 0xFDF0..=0xFFEF)
}

fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || is_intl(c)
}

/// An address both Go's `net/mail.ParseAddress` (as a bare address) and
/// go-playground's `email` pattern accept: a dot-atom local part, `@`, and a
/// domain of dotted labels ending in an alphabetic top-level label.
/// (Quoted local parts, which both also accept, are refused here.)
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    let dot_atom = |part: &str| {
        !part.is_empty()
            && part
                .split('.')
                .all(|a| !a.is_empty() && a.chars().all(is_atext))
    };
    if !dot_atom(local) {
        return false;
    }
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 || labels.iter().any(|l| l.is_empty()) {
        return false;
    }
    let alnum = |c: char| c.is_ascii_alphanumeric() || is_intl(c);
    let alpha = |c: char| c.is_ascii_alphabetic() || is_intl(c);
    let inner = |c: char| alnum(c) || c == '-' || c == '~';
    let label_ok = |l: &str, edge: &dyn Fn(char) -> bool| {
        let (Some(first), Some(last)) = (l.chars().next(), l.chars().last()) else {
            return false;
        };
        edge(first) && edge(last) && l.chars().all(inner)
    };
    let (tld, rest) = labels.split_last().unwrap_or((&"", &[]));
    rest.iter().all(|l| label_ok(l, &alnum)) && label_ok(tld, &alpha)
}

/// Appendix D: the 178 codes go-playground's `iso4217` accepts.
const ISO4217: &str = "AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV \
BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP DZD EGP \
ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD \
JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR \
MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF \
SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH \
UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF \
XPT XSU XTS XUA XXX YER ZAR ZMW ZWG";

/// Exact, case-sensitive membership in Appendix D.
pub fn is_iso4217(code: &str) -> bool {
    code.len() == 3 && ISO4217.split(' ').any(|c| c == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> FormValues {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        FormValues::parse(None, body.as_bytes())
    }

    fn lines(e: AppError) -> String {
        match e {
            AppError::Validation(s) => s,
            other => panic!("not a validation error: {other}"),
        }
    }

    fn valid_order() -> Vec<(&'static str, &'static str)> {
        // Appendix E's valid vector.
        vec![
            ("email", "test@example.com"),
            ("street_address", "12345 example street"),
            ("zip_code", "10004"),
            ("city", "New York"),
            ("state", "New York"),
            ("country", "United States"),
            ("credit_card_number", "5272940000751666"),
            ("credit_card_expiration_month", "4"),
            ("credit_card_expiration_year", "2024"),
            ("credit_card_cvv", "584"),
        ]
    }

    fn with(field: &'static str, value: &'static str) -> Vec<(&'static str, &'static str)> {
        valid_order()
            .into_iter()
            .map(|(k, v)| if k == field { (k, value) } else { (k, v) })
            .collect()
    }

    #[test]
    fn go_integer_parsing() {
        assert_eq!(parse_u32_go("10"), 10);
        assert_eq!(parse_u32_go(""), 0);
        assert_eq!(parse_u32_go("+1"), 0);
        assert_eq!(parse_u32_go("-1"), 0);
        assert_eq!(parse_u32_go("abc"), 0);
        assert_eq!(parse_u32_go("1.5"), 0);
        assert_eq!(parse_u32_go("99999999999"), u32::MAX);
        assert_eq!(parse_i32_go("+7"), 7);
        assert_eq!(parse_i32_go("-7"), -7);
        assert_eq!(parse_i32_go("-"), 0);
        assert_eq!(parse_i32_go("x1"), 0);
        assert_eq!(parse_i32_go("99999999999"), i32::MAX);
        assert_eq!(parse_i32_go("-99999999999"), i32::MIN);
    }

    #[test]
    fn body_wins_over_query() {
        let f = FormValues::parse(Some("quantity=3&product_id=Q"), b"quantity=2");
        assert_eq!(f.get("quantity"), "2");
        assert_eq!(f.get("product_id"), "Q");
        assert_eq!(f.get("missing"), "");
    }

    #[test]
    fn add_to_cart_vectors() {
        for q in ["1", "10"] {
            assert!(AddToCart::validate(&form(&[("quantity", q), ("product_id", "X")])).is_ok());
        }
        let cases = [
            ("0", "X", "Field 'Quantity' is invalid: required\n"),
            ("", "X", "Field 'Quantity' is invalid: required\n"),
            ("abc", "X", "Field 'Quantity' is invalid: required\n"),
            ("11", "X", "Field 'Quantity' is invalid: lte\n"),
            ("99999999999", "X", "Field 'Quantity' is invalid: lte\n"),
            ("1", "", "Field 'ProductID' is invalid: required\n"),
            (
                "0",
                "",
                "Field 'Quantity' is invalid: required\nField 'ProductID' is invalid: required\n",
            ),
        ];
        for (q, id, want) in cases {
            let e = AddToCart::validate(&form(&[("quantity", q), ("product_id", id)])).unwrap_err();
            assert_eq!(lines(e), want, "quantity={q:?} product_id={id:?}");
        }
    }

    #[test]
    fn currency_vectors() {
        for c in ["EUR", "USD", "JPY", "GBP", "TRY", "CAD", "CHF", "XAU"] {
            assert!(
                SetCurrency::validate(&form(&[("currency_code", c)])).is_ok(),
                "{c}"
            );
        }
        for (c, tag) in [
            ("ABC", "iso4217"),
            ("$", "iso4217"),
            ("eur", "iso4217"),
            ("HRK", "iso4217"),
            ("", "required"),
        ] {
            let e = SetCurrency::validate(&form(&[("currency_code", c)])).unwrap_err();
            assert_eq!(lines(e), format!("Field 'Currency' is invalid: {tag}\n"));
        }
        assert_eq!(ISO4217.split(' ').count(), 178);
    }

    #[test]
    fn place_order_vectors() {
        let ok = PlaceOrder::validate(&form(&valid_order())).unwrap();
        assert_eq!(ok.zip_code, 10004);
        assert_eq!(ok.cc_cvv, 584);
        let long = "a".repeat(20 * 513);
        let long: &'static str = Box::leak(long.into_boxed_str());
        let cases = [
            ("email", "test@example", "Email", "email"),
            ("email", "", "Email", "required"),
            ("street_address", long, "StreetAddress", "max"),
            ("zip_code", "0", "ZipCode", "required"),
            ("city", "", "City", "required"),
            ("state", "", "State", "required"),
            ("country", "", "Country", "required"),
            (
                "credit_card_number",
                "5272940000",
                "CcNumber",
                "credit_card",
            ),
            (
                "credit_card_number",
                "4432801561520455",
                "CcNumber",
                "credit_card",
            ),
            ("credit_card_expiration_month", "0", "CcMonth", "required"),
            ("credit_card_expiration_month", "13", "CcMonth", "lte"),
            ("credit_card_expiration_month", "-1", "CcMonth", "gte"),
            ("credit_card_expiration_year", "0", "CcYear", "required"),
            ("credit_card_cvv", "0", "CcCVV", "required"),
        ];
        for (field, value, go_name, tag) in cases {
            let e = PlaceOrder::validate(&form(&with(field, value))).unwrap_err();
            assert_eq!(
                lines(e),
                format!("Field '{go_name}' is invalid: {tag}\n"),
                "{field}={value:?}"
            );
        }
        // Negative zip codes pass upstream's `required`.
        assert!(PlaceOrder::validate(&form(&with("zip_code", "-5"))).is_ok());
        // Every failing field, in struct order.
        let e = PlaceOrder::validate(&FormValues::default()).unwrap_err();
        assert_eq!(
            lines(e),
            "Field 'Email' is invalid: required\nField 'StreetAddress' is invalid: required\n\
             Field 'ZipCode' is invalid: required\nField 'City' is invalid: required\n\
             Field 'State' is invalid: required\nField 'Country' is invalid: required\n\
             Field 'CcNumber' is invalid: required\nField 'CcMonth' is invalid: required\n\
             Field 'CcYear' is invalid: required\nField 'CcCVV' is invalid: required\n"
        );
    }

    #[test]
    fn credit_cards() {
        assert!(is_credit_card("4432801561520454"));
        assert!(is_credit_card("4432 8015 6152 0454"));
        assert!(!is_credit_card("4432  8015 6152 0454"), "double space");
        assert!(!is_credit_card("44 32801561520454"), "short segment");
        assert!(!is_credit_card("4432-8015-6152-0454"));
        assert!(!is_credit_card("44328015615204540000"), "20 digits");
    }

    #[test]
    fn emails() {
        for ok in [
            "someone@example.com",
            "a.b+c@sub.example.org",
            "x@example.co.uk.",
            "o'neil@ex-ample.com",
        ] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in [
            "test@example",
            "plain",
            "@example.com",
            "a..b@example.com",
            ".a@example.com",
            "a@example.c0m1",
            "a@-example.com",
            "a b@example.com",
            "a@example..com",
            "a@exa mple.com",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }
}
