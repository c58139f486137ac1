//! The configuration and the URLs, without a server (the S3 server tests are in
//! `tests/tests/s3.rs`).

use super::*;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

fn config(endpoint: Option<&str>, prefix: &str, path_style: bool) -> SourceConfig {
    SourceConfig::S3 {
        bucket: "stories".to_owned(),
        prefix: prefix.to_owned(),
        endpoint: endpoint.map(str::to_owned),
        region: "eu-west-1".to_owned(),
        path_style,
        access_key_id: "AKIDEXAMPLE".to_owned(),
    }
}

fn source(endpoint: Option<&str>, prefix: &str, path_style: bool) -> S3Source {
    match S3Source::new(&config(endpoint, prefix, path_style), SecretString::from(SECRET)) {
        Ok(source) => source,
        Err(error) => panic!("{error}"),
    }
}

fn refusal(config: &SourceConfig, secret: &str) -> String {
    match S3Source::new(config, SecretString::from(secret)) {
        Ok(source) => panic!("accepted: {source:?}"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn a_config_that_is_not_s3_or_cannot_be_reached_is_refused_with_what_is_wrong() {
    let local = SourceConfig::Local { root: "./media".to_owned() };
    assert_eq!(refusal(&local, SECRET), "local ./media is not an S3 source");
    for endpoint in ["minio:9000", "ftp://minio:9000", "http://", "http://user:pw@minio:9000", "http://minio/?x=1"] {
        let refused = refusal(&config(Some(endpoint), "", true), SECRET);
        assert_eq!(
            refused,
            format!(
                "the S3 endpoint \"{endpoint}\" is not a URL: give it as https://host[:port] (http:// for a local server)"
            )
        );
    }
    for prefix in ["a/../b", "a//b", "./a"] {
        let refused = refusal(&config(None, prefix, false), SECRET);
        assert!(refused.starts_with(&format!("the prefix \"{prefix}\" is not a key prefix")), "{refused}");
    }
    let SourceConfig::S3 { region, prefix, path_style, endpoint, .. } = config(None, "", false) else { unreachable!() };
    let nameless = SourceConfig::S3 {
        bucket: " ".to_owned(),
        prefix,
        endpoint,
        region,
        path_style,
        access_key_id: "AKIDEXAMPLE".to_owned(),
    };
    assert_eq!(refusal(&nameless, SECRET), "an S3 source needs a bucket name");
    assert_eq!(refusal(&config(None, "", false), ""), "the secret access key of access key id AKIDEXAMPLE is empty");
}

#[test]
fn the_secret_is_never_in_debug_output_or_urls() {
    let source = source(Some("http://127.0.0.1:9000"), "photos", true);
    let shown = format!("{source:?}");
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(shown.contains("[redacted]") && shown.contains("AKIDEXAMPLE"), "{shown}");
    let url = source.object_url("photos/memes/a.png", Duration::from_secs(60)).to_string();
    assert!(!url.contains(SECRET) && !url.contains("wJalrXUtnFEMI"), "{url}");
    let listing = source.list_url(Some("next")).to_string();
    assert!(!listing.contains(SECRET) && !listing.contains("wJalrXUtnFEMI"), "{listing}");
}

#[test]
fn path_style_and_virtual_host_urls_and_the_prefix() {
    let path_style = source(Some("http://127.0.0.1:9000"), "/photos/2024/", true);
    let url = path_style.object_url(&path_style.key("memes/a b.png").unwrap_or_default(), REQUEST_VALIDITY);
    assert_eq!(url.path(), "/stories/photos/2024/memes/a%20b.png");
    assert_eq!(url.host_str(), Some("127.0.0.1"));
    assert_eq!(path_style.locate("memes/a.png"), "s3://stories/photos/2024/memes/a.png");
    let listing = path_style.list_url(None);
    let query: Vec<(String, String)> = listing.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    assert!(query.contains(&("prefix".to_owned(), "photos/2024/".to_owned())), "{query:?}");
    assert!(query.contains(&("max-keys".to_owned(), "1000".to_owned())), "{query:?}");
    assert!(!query.iter().any(|(k, _)| k == "encoding-type"), "{query:?}");

    // AWS itself: the regional endpoint, the bucket in the host name.
    let aws = source(None, "", false);
    let url = aws.object_url("memes/a.png", REQUEST_VALIDITY);
    assert_eq!(url.host_str(), Some("stories.s3.eu-west-1.amazonaws.com"));
    assert_eq!(url.path(), "/memes/a.png");
    assert_eq!(aws.locate("memes/a.png"), "s3://stories/memes/a.png");
    assert!(format!("{aws:?}").contains("https://s3.eu-west-1.amazonaws.com"));
}

#[test]
fn paths_that_would_leave_the_prefix_are_refused() {
    let source = source(Some("http://127.0.0.1:9000"), "photos", true);
    for path in ["", "../other/a.png", "memes/../../a.png", "/a.png", "memes//a.png", "./a.png"] {
        assert!(matches!(source.key(path), Err(SourceError::NotFound(_))), "{path}");
    }
    assert_eq!(source.key("memes/a.png").ok().as_deref(), Some("photos/memes/a.png"));
}

#[tokio::test]
async fn a_presigned_url_is_valid_for_at_most_seven_days() -> anyhow::Result<()> {
    let source = source(Some("http://127.0.0.1:9000"), "", true);
    let expires = |url: &str| -> anyhow::Result<String> {
        let url = url::Url::parse(url)?;
        let found = url.query_pairs().find(|(k, _)| k == "X-Amz-Expires").map(|(_, v)| v.into_owned());
        found.ok_or_else(|| anyhow!("no X-Amz-Expires in {url}"))
    };
    let hour = source.public_url("memes/a.png", Duration::from_secs(3600)).await?.unwrap_or_default();
    assert_eq!(expires(&hour)?, "3600");
    let year = source.public_url("memes/a.png", Duration::from_secs(365 * 24 * 3600)).await?.unwrap_or_default();
    assert_eq!(expires(&year)?, "604800");
    Ok(())
}

#[tokio::test]
async fn a_server_that_does_not_answer_is_unreachable_after_the_retries() {
    // A port nothing listens on: bind one, then let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(9);
    let source = source(Some(&format!("http://127.0.0.1:{port}")), "", true)
        .with_retry(Retry { attempts: 2, first_wait: Duration::from_millis(10) });
    let listed = source.list().await;
    assert!(matches!(listed, Err(SourceError::Unreachable(_))), "{listed:?}");
    if let Err(error) = listed {
        let chain = format!("{:#}", anyhow::Error::new(error));
        assert!(!chain.contains(SECRET) && !chain.contains("X-Amz-Signature"), "{chain}");
    }
}

#[test]
fn error_bodies_are_read_for_their_code() {
    let body = "<?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message></Error>";
    assert_eq!(element(body, "Code").as_deref(), Some("NoSuchBucket"));
    assert_eq!(element(body, "Message").as_deref(), Some("The specified bucket does not exist"));
    assert_eq!(element("", "Code"), None);
}

#[test]
fn each_refusal_says_what_is_wrong_in_the_products_words() {
    use reqwest::StatusCode;

    let source = source(Some("http://127.0.0.1:9000"), "photos", true);
    let said = |target, status, code| source.refused(target, status, code, Some("details")).to_string();
    let endpoint = "http://127.0.0.1:9000";
    assert_eq!(
        said(Target::Listing, StatusCode::FORBIDDEN, Some("AccessDenied")),
        format!(
            "access key id AKIDEXAMPLE may not read bucket stories at {endpoint} (access denied: it needs s3:ListBucket and s3:GetObject)"
        )
    );
    assert_eq!(
        said(Target::Listing, StatusCode::MOVED_PERMANENTLY, Some("PermanentRedirect")),
        format!("bucket stories is not in region eu-west-1 at {endpoint}: set the bucket's region (or its endpoint)")
    );
    assert_eq!(
        said(Target::Listing, StatusCode::NOT_FOUND, None),
        format!("there is no bucket named stories at {endpoint}")
    );
    assert_eq!(
        said(Target::Object("memes/a.png"), StatusCode::NOT_FOUND, None),
        "memes/a.png is not there or cannot be read"
    );
    assert_eq!(
        said(Target::Object("memes/a.png"), StatusCode::NOT_FOUND, Some("NoSuchKey")),
        "memes/a.png is not there or cannot be read"
    );
    assert_eq!(
        said(Target::Listing, StatusCode::FORBIDDEN, Some("RequestTimeTooSkewed")),
        format!("{endpoint} refused the request: this machine's clock is too far from the endpoint's")
    );
    assert!(matches!(
        source.refused(Target::Listing, StatusCode::BAD_REQUEST, Some("InvalidArgument"), None),
        SourceError::Unknown(_)
    ));
}
