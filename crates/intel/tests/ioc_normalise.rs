//! Normalisation and kind detection of indicator values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use shield_intel::ioc::{Ioc, IocError, IocKind, detect, detect_kind, refang};

#[test]
fn normalisation_table() {
    let cases: &[(IocKind, &str, IocKind, &str)] = &[
        (IocKind::Ipv4, " 203.0.113.5 ", IocKind::Ipv4, "203.0.113.5"),
        (
            IocKind::Ipv4,
            "2001:DB8:0:0::1",
            IocKind::Ipv6,
            "2001:db8::1",
        ),
        (IocKind::Ipv6, "[2001:db8::1]", IocKind::Ipv6, "2001:db8::1"),
        (IocKind::Ipv6, "fe80::1%eth0", IocKind::Ipv6, "fe80::1"),
        (
            IocKind::Ipv6,
            "::ffff:192.0.2.1",
            IocKind::Ipv4,
            "192.0.2.1",
        ),
        (
            IocKind::Ipv4,
            "198.51.100.77/24",
            IocKind::Cidr,
            "198.51.100.0/24",
        ),
        (
            IocKind::Cidr,
            "2001:db8:abcd::5/48",
            IocKind::Cidr,
            "2001:db8:abcd::/48",
        ),
        (IocKind::Cidr, "192.0.2.9/32", IocKind::Ipv4, "192.0.2.9"),
        (
            IocKind::Domain,
            "Evil.Example.",
            IocKind::Domain,
            "evil.example",
        ),
        (
            IocKind::Domain,
            "*.Evil.example",
            IocKind::Domain,
            "evil.example",
        ),
        (
            IocKind::Domain,
            "_dmarc.Example.org",
            IocKind::Domain,
            "_dmarc.example.org",
        ),
        (
            IocKind::Domain,
            "BÜCHER.example",
            IocKind::Domain,
            "bücher.example",
        ),
        (
            IocKind::Domain,
            "xn--bcher-kva.example",
            IocKind::Domain,
            "xn--bcher-kva.example",
        ),
        (
            IocKind::Url,
            "HTTP://Evil.Example:80/Path?Q=1#frag",
            IocKind::Url,
            "http://evil.example/Path?Q=1",
        ),
        (
            IocKind::Url,
            "https://evil.example:443",
            IocKind::Url,
            "https://evil.example/",
        ),
        (
            IocKind::Url,
            "https://evil.example:8443?a",
            IocKind::Url,
            "https://evil.example:8443/?a",
        ),
        (
            IocKind::Url,
            "http://user:pw@EVIL.example./x",
            IocKind::Url,
            "http://user:pw@evil.example/x",
        ),
        (
            IocKind::Url,
            "http://[2001:DB8::1]:80/",
            IocKind::Url,
            "http://[2001:db8::1]/",
        ),
        (
            IocKind::Url,
            "ftp://files.example:021/a",
            IocKind::Url,
            "ftp://files.example/a",
        ),
        (
            IocKind::Md5,
            "D41D8CD98F00B204E9800998ECF8427E",
            IocKind::Md5,
            "d41d8cd98f00b204e9800998ecf8427e",
        ),
        (
            IocKind::Sha1,
            "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709",
            IocKind::Sha1,
            "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        ),
        (
            IocKind::Sha256,
            "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
            IocKind::Sha256,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
        (
            IocKind::Email,
            "Bob.Smith@Evil.Example",
            IocKind::Email,
            "bob.smith@evil.example",
        ),
        (
            IocKind::Email,
            "<mailto:bob@evil.example>",
            IocKind::Email,
            "bob@evil.example",
        ),
        (
            IocKind::Email,
            "mailto:Bob@Evil.example",
            IocKind::Email,
            "bob@evil.example",
        ),
        (
            IocKind::FileName,
            "C:\\Users\\Public\\Invoice.PDF.exe",
            IocKind::FileName,
            "invoice.pdf.exe",
        ),
        (
            IocKind::FileName,
            "/tmp/.x/kworker",
            IocKind::FileName,
            "kworker",
        ),
        (
            IocKind::UserAgent,
            " Mozilla/4.0 (compatible; MSIE 6.0) ",
            IocKind::UserAgent,
            "Mozilla/4.0 (compatible; MSIE 6.0)",
        ),
    ];
    for &(kind, input, want_kind, want) in cases {
        let ioc = Ioc::new(kind, input).unwrap_or_else(|e| panic!("{kind} {input:?}: {e}"));
        assert_eq!(
            (ioc.kind(), ioc.value()),
            (want_kind, want),
            "{kind} {input:?}"
        );
    }
}

#[test]
fn invalid_values_are_rejected_with_the_reason() {
    let cases: &[(IocKind, &str)] = &[
        (IocKind::Ipv4, "256.1.1.1"),
        (IocKind::Ipv4, "1.2.3"),
        (IocKind::Ipv4, "01.2.3.4"),
        (IocKind::Cidr, "10.0.0.0/33"),
        (IocKind::Domain, "evil..example"),
        (IocKind::Domain, "evil example.org"),
        (IocKind::Domain, "1.2.3.4"),
        (IocKind::Domain, &"a".repeat(64)),
        (IocKind::Url, "evil.example/path"),
        (IocKind::Url, "http://evil.example:99999/"),
        (IocKind::Url, "http:///nohost"),
        (IocKind::Url, "http://201:db8::/"),
        (IocKind::Url, "http://]a.example/"),
        (IocKind::Url, "http://[2001:db8::1/"),
        (IocKind::Md5, "d41d8cd98f00b204e9800998ecf8427"),
        (
            IocKind::Sha256,
            "z3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
        (IocKind::Email, "no-at-sign.example"),
        (IocKind::Email, "bob smith@evil.example"),
        (IocKind::FileName, "C:\\dir\\"),
        (IocKind::UserAgent, "bad\u{0}agent"),
    ];
    for &(kind, input) in cases {
        assert!(
            Ioc::new(kind, input).is_err(),
            "{kind} {input:?} was accepted"
        );
    }
    assert_eq!(Ioc::new(IocKind::Domain, "  "), Err(IocError::Empty));
    assert!(matches!(
        Ioc::new(
            IocKind::Url,
            &format!("http://x.example/{}", "a".repeat(9000))
        ),
        Err(IocError::TooLong { .. })
    ));
    let err = Ioc::new(IocKind::Md5, "abc").unwrap_err().to_string();
    assert!(err.contains("md5") && err.contains("hex digits"), "{err}");
}

#[test]
fn detection_table() {
    let cases: &[(&str, Option<(IocKind, &str)>)] = &[
        ("203.0.113.5", Some((IocKind::Ipv4, "203.0.113.5"))),
        ("2001:db8::5", Some((IocKind::Ipv6, "2001:db8::5"))),
        ("10.1.0.0/16", Some((IocKind::Cidr, "10.1.0.0/16"))),
        (
            "evil.example.com",
            Some((IocKind::Domain, "evil.example.com")),
        ),
        ("EVIL.example.", Some((IocKind::Domain, "evil.example"))),
        (
            "xn--80ak6aa92e.xn--p1ai",
            Some((IocKind::Domain, "xn--80ak6aa92e.xn--p1ai")),
        ),
        (
            "https://evil.example/a",
            Some((IocKind::Url, "https://evil.example/a")),
        ),
        (
            "evil.example/payload.bin",
            Some((IocKind::Url, "http://evil.example/payload.bin")),
        ),
        (
            "198.51.100.1/drop.php",
            Some((IocKind::Url, "http://198.51.100.1/drop.php")),
        ),
        (
            "d41d8cd98f00b204e9800998ecf8427e",
            Some((IocKind::Md5, "d41d8cd98f00b204e9800998ecf8427e")),
        ),
        (
            "da39a3ee5e6b4b0d3255bfef95601890afd80709",
            Some((IocKind::Sha1, "da39a3ee5e6b4b0d3255bfef95601890afd80709")),
        ),
        (
            "bob@evil.example",
            Some((IocKind::Email, "bob@evil.example")),
        ),
        (
            "invoice.pdf.exe",
            Some((IocKind::FileName, "invoice.pdf.exe")),
        ),
        (
            "C:\\Temp\\dropper.dat",
            Some((IocKind::FileName, "dropper.dat")),
        ),
        ("Update.DOCM", Some((IocKind::FileName, "update.docm"))),
        ("archive.zip", Some((IocKind::Domain, "archive.zip"))),
        ("localhost", None),
        ("1.2.3", None),
        ("version 1.2", None),
        ("cafebabe", None),
        ("", None),
        ("just some words", None),
    ];
    for &(input, want) in cases {
        let got = detect(input);
        assert_eq!(
            got.as_ref().map(|i| (i.kind(), i.value())),
            want,
            "detect({input:?})"
        );
    }
    assert_eq!(detect_kind("198.51.100.9"), Some(IocKind::Ipv4));
}

#[test]
fn defanged_inputs() {
    let cases: &[(&str, IocKind, &str)] = &[
        (
            "hxxp://evil[.]example/x",
            IocKind::Url,
            "http://evil.example/x",
        ),
        (
            "hXXps[:]//evil[.]example/x",
            IocKind::Url,
            "https://evil.example/x",
        ),
        (
            "hxxps[://]evil(.)example",
            IocKind::Url,
            "https://evil.example/",
        ),
        (
            "fxp://files[.]example/a",
            IocKind::Url,
            "ftp://files.example/a",
        ),
        ("evil[.]example", IocKind::Domain, "evil.example"),
        ("evil(.)example{.}org", IocKind::Domain, "evil.example.org"),
        ("evil[dot]example", IocKind::Domain, "evil.example"),
        ("203.0.113[.]5", IocKind::Ipv4, "203.0.113.5"),
        ("203[.]0[.]113[.]5", IocKind::Ipv4, "203.0.113.5"),
        ("bob[@]evil[.]example", IocKind::Email, "bob@evil.example"),
        ("bob[at]evil[.]example", IocKind::Email, "bob@evil.example"),
        ("bob(@)evil(.)example", IocKind::Email, "bob@evil.example"),
    ];
    for &(input, kind, value) in cases {
        let ioc = detect(input).unwrap_or_else(|| panic!("detect({input:?}) failed"));
        assert_eq!((ioc.kind(), ioc.value()), (kind, value), "{input:?}");
    }
    assert_eq!(refang("nothing to do"), "nothing to do");
}

#[test]
fn iocs_deserialise_through_normalisation() {
    let ioc: Ioc = serde_json::from_str(r#"{"kind":"domain","value":"Evil.Example."}"#).unwrap();
    assert_eq!(ioc.value(), "evil.example");
    assert!(serde_json::from_str::<Ioc>(r#"{"kind":"md5","value":"nope"}"#).is_err());
    let back = serde_json::to_string(&ioc).unwrap();
    assert_eq!(back, r#"{"kind":"domain","value":"evil.example"}"#);
}

#[test]
fn kind_names_and_aliases() {
    for kind in IocKind::ALL {
        assert_eq!(IocKind::from_name(kind.as_str()), Some(kind));
    }
    assert_eq!(IocKind::from_name("ip-dst"), Some(IocKind::Ipv4));
    assert_eq!(IocKind::from_name("Domain-Name"), Some(IocKind::Domain));
    assert_eq!(IocKind::from_name("SHA-256"), Some(IocKind::Sha256));
    assert_eq!(IocKind::from_name("email-src"), Some(IocKind::Email));
    assert_eq!(IocKind::from_name("ssdeep"), None);
    assert!("bogus".parse::<IocKind>().is_err());
}
