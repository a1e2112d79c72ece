#![allow(clippy::unwrap_used)]

use super::*;

#[test]
fn s3_endpoints_are_recognised() {
    for host in [
        "s3.amazonaws.com",
        "bucket.s3.amazonaws.com",
        "my.dotted.bucket.s3.amazonaws.com",
        "s3.us-east-1.amazonaws.com",
        "cognito-sync-streams-us-east-1.s3.us-east-1.amazonaws.com",
        "s3.us-gov-west-1.amazonaws.com",
        "s3-us-west-2.amazonaws.com",
        "bucket.s3-eu-west-1.amazonaws.com",
        "s3-external-1.amazonaws.com",
        "s3.dualstack.eu-central-1.amazonaws.com",
        "bucket.s3.dualstack.eu-central-1.amazonaws.com",
        "s3-fips.us-east-2.amazonaws.com",
        "s3-fips.dualstack.us-east-2.amazonaws.com",
        "bucket.s3-fips.dualstack.us-gov-east-1.amazonaws.com",
        "s3-fips-us-gov-west-1.amazonaws.com",
        "bucket.s3-accelerate.amazonaws.com",
        "bucket.s3-accelerate.dualstack.amazonaws.com",
        "s3.cn-north-1.amazonaws.com.cn",
        "bucket.s3.cn-northwest-1.amazonaws.com.cn",
    ] {
        assert!(is_s3_host(host), "{host}");
    }
}

#[test]
fn look_alikes_are_not_s3() {
    for host in [
        "amazonaws.com",
        "s3.amazonaws.com.evil.com",
        "evil.com",
        "s3amazonaws.com",
        "evils3.amazonaws.com",
        "evil-s3.amazonaws.com",
        "ec2.amazonaws.com",
        "bucket.s3.evil.amazonaws.com.evil.com",
        "s3-accelerate.amazonaws.com",
        "s3.notaregion.amazonaws.com",
        "s3-website-us-east-1.amazonaws.com",
        "bucket.s3-website.us-east-1.amazonaws.com",
        "s3.us-east-1.amazonaws.co",
        "s3..amazonaws.com",
        "-bad.s3.amazonaws.com",
        "169.254.169.254",
        "",
    ] {
        assert!(!is_s3_host(host), "{host}");
    }
}

fn checked(url: &str, allowed: &[&str]) -> Result<(), Refusal> {
    let allowed: Vec<AllowedHost> = allowed.iter().map(|a| a.parse().unwrap()).collect();
    check(&Url::parse(url).unwrap(), &allowed)
}

#[test]
fn urls_are_checked_on_their_parsed_host() {
    assert_eq!(
        checked("https://bucket.s3.us-east-1.amazonaws.com/k?X-Amz-Signature=s", &[]),
        Ok(())
    );
    // The host is what follows `@`; the path and the user name prove nothing.
    assert!(matches!(
        checked("https://s3.amazonaws.com@evil.com/k", &[]),
        Err(Refusal::UserInfo)
    ));
    assert!(matches!(
        checked("https://evil.com/s3.amazonaws.com", &[]),
        Err(Refusal::NotS3(h)) if h == "evil.com"
    ));
    assert!(matches!(
        checked("https://s3.amazonaws.com.evil.com/k", &[]),
        Err(Refusal::NotS3(_))
    ));
    assert!(matches!(
        checked("http://bucket.s3.amazonaws.com/k", &[]),
        Err(Refusal::PlainHttp(_))
    ));
    assert!(matches!(
        checked("https://bucket.s3.amazonaws.com:8443/k", &[]),
        Err(Refusal::Port(8443))
    ));
    assert_eq!(checked("https://bucket.s3.amazonaws.com:443/k", &[]), Ok(()));
    assert!(matches!(
        checked("http://169.254.169.254/latest/meta-data/", &[]),
        Err(Refusal::IpLiteral(_))
    ));
    // Other spellings of an address are normalised by the parser first.
    assert!(matches!(
        checked("http://2852039166/latest/meta-data/", &[]),
        Err(Refusal::IpLiteral(ip)) if ip == "169.254.169.254"
    ));
    assert!(matches!(
        checked("http://[::ffff:169.254.169.254]/", &[]),
        Err(Refusal::IpLiteral(_))
    ));
    assert!(matches!(
        checked("ftp://s3.amazonaws.com/k", &[]),
        Err(Refusal::Scheme(_))
    ));
}

#[test]
fn allowed_hosts_may_use_http_on_their_port() {
    assert_eq!(checked("http://127.0.0.1:9000/b/k", &["127.0.0.1:9000"]), Ok(()));
    assert!(checked("http://127.0.0.1:9001/b/k", &["127.0.0.1:9000"]).is_err());
    assert_eq!(checked("http://minio.internal:9000/b/k", &["MinIO.Internal"]), Ok(()));
    assert_eq!(checked("https://minio.internal/b/k", &["minio.internal:443"]), Ok(()));
    assert_eq!(checked("http://[::1]:9000/b/k", &["[::1]:9000"]), Ok(()));
    assert_eq!(checked("http://[::1]:9000/b/k", &["::1"]), Ok(()));
    assert!(checked("http://minio.internal.evil.com/b/k", &["minio.internal"]).is_err());
    assert!(checked("http://u:p@minio.internal/b/k", &["minio.internal"]).is_err());
}

#[test]
fn allowed_host_values_are_hosts_not_urls() {
    for bad in ["", "http://x", "x/y", "u@x", "x:port", "x:70000", "[::1", "x."] {
        assert!(bad.parse::<AllowedHost>().is_err(), "{bad}");
    }
    let a: AllowedHost = "Example.COM:8080".parse().unwrap();
    assert_eq!(a.to_string(), "example.com:8080");
    assert_eq!(a.domain(), Some("example.com"));
}

#[test]
fn addresses_that_are_not_public_are_refused() {
    for (ip, class) in [
        ("169.254.169.254", "link-local"),
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "shared (CGNAT)"),
        ("100.127.255.255", "shared (CGNAT)"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("255.255.255.255", "reserved"),
        ("::", "unspecified"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fc00::1", "unique local (private)"),
        ("fd00:ec2::254", "unique local (private)"),
        ("ff02::1", "multicast"),
        ("::ffff:169.254.169.254", "link-local"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("::127.0.0.1", "loopback"),
        ("64:ff9b::a9fe:a9fe", "link-local"),
        ("2002:a9fe:a9fe::1", "link-local"),
    ] {
        let addr: IpAddr = ip.parse().unwrap();
        assert_eq!(refused_address_class(addr), Some(class), "{ip}");
    }
    for ip in [
        "52.216.1.1",
        "3.5.0.1",
        "172.32.0.1",
        "100.128.0.1",
        "169.255.0.1",
        "2600:1f18::1",
        "::ffff:52.216.1.1",
    ] {
        assert_eq!(refused_address_class(ip.parse().unwrap()), None, "{ip}");
    }
}
