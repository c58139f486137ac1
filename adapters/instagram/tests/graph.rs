//! `GraphApi` against a fake Graph API (wiremock): request shapes, status polling, error
//! classification, refresh, look-ups, and that the token never leaks into errors or `Debug`.

use std::time::Duration;

use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use storyline_domain::account::{InstagramUserId, LoginKind};
use storyline_domain::library::MediaKind;
use storyline_domain::ports::{
    ContainerId, ContainerStatus, HostedMedia, InstagramMediaId, PublishError, PublishTarget, PublishingQuota,
    StoryPublisher,
};
use storyline_instagram::{FacebookApp, GraphApi, GraphConfig, PollPolicy};
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

const TOKEN: &str = "IGAAtest-secret-token-0123456789";
const APP_SECRET: &str = "app-secret-0123456789";
const USER: &str = "17841400000000";

fn config(base_url: &str) -> GraphConfig {
    GraphConfig {
        base_url: Some(base_url.to_owned()),
        poll: PollPolicy {
            first: Duration::from_millis(10),
            max_interval: Duration::from_millis(20),
            cap: Duration::from_secs(5),
        },
        timeout: Duration::from_secs(5),
        ..GraphConfig::default()
    }
}

fn graph(config: GraphConfig) -> GraphApi {
    GraphApi::new(config).expect("the config is valid")
}

async fn fake() -> (MockServer, GraphApi) {
    let server = MockServer::start().await;
    let api = graph(config(&server.uri()));
    (server, api)
}

fn target(login: LoginKind) -> PublishTarget {
    PublishTarget {
        instagram_id: InstagramUserId::new(USER).expect("a valid id"),
        login,
        token: SecretString::from(TOKEN.to_owned()),
    }
}

fn image() -> HostedMedia {
    HostedMedia { kind: MediaKind::Image, url: "https://media.example/story.jpg?sig=abc".to_owned() }
}

fn container() -> ContainerId {
    ContainerId("1790000000000001".to_owned())
}

fn meta_error(code: i64, message: &str) -> serde_json::Value {
    json!({"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEf"}})
}

/// The pairs of an `application/x-www-form-urlencoded` body.
fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    let body = String::from_utf8_lossy(body);
    Url::parse(&format!("http://form.invalid/?{body}"))
        .map(|url| url.query_pairs().into_owned().collect())
        .unwrap_or_default()
}

/// Matches a form body holding every given field with its value.
struct Form(Vec<(&'static str, String)>);

impl Form {
    fn new(fields: &[(&'static str, &str)]) -> Self {
        Self(fields.iter().map(|(k, v)| (*k, (*v).to_owned())).collect())
    }
}

impl Match for Form {
    fn matches(&self, request: &Request) -> bool {
        let pairs = form_pairs(&request.body);
        self.0.iter().all(|(key, value)| pairs.iter().any(|(k, v)| k == key && v == value))
    }
}

/// Mounts the status answer `body` for the test container, once or forever.
async fn status_answer(server: &MockServer, body: serde_json::Value, times: Option<u64>, priority: u8) {
    let mock = Mock::given(method("GET"))
        .and(path(format!("/v21.0/{}", container().0)))
        .and(query_param("fields", "status_code,status"))
        .and(query_param("access_token", TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .with_priority(priority);
    match times {
        Some(n) => mock.up_to_n_times(n).expect(n).mount(server).await,
        None => mock.mount(server).await,
    }
}

fn assert_no_token(text: &str) {
    assert!(!text.contains(TOKEN), "the token leaked: {text}");
    assert!(!text.contains(APP_SECRET), "the app secret leaked: {text}");
}

#[tokio::test]
async fn a_story_is_created_polled_and_published_with_the_fields_meta_expects() {
    let (server, api) = fake().await;
    Mock::given(method("POST"))
        .and(path(format!("/v21.0/{USER}/media")))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(query_param_is_missing("access_token"))
        .and(Form::new(&[
            ("media_type", "STORIES"),
            ("image_url", "https://media.example/story.jpg?sig=abc"),
            ("access_token", TOKEN),
        ]))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": container().0})))
        .expect(1)
        .mount(&server)
        .await;
    status_answer(&server, json!({"status_code": "FINISHED", "status": "Finished: Media has been uploaded"}), None, 5)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v21.0/{USER}/media_publish")))
        .and(query_param_is_missing("access_token"))
        .and(Form::new(&[("creation_id", &container().0), ("access_token", TOKEN)]))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "17900000000000099"})))
        .expect(1)
        .mount(&server)
        .await;

    let target = target(LoginKind::Facebook);
    let created = api.create_container(&target, &image()).await;
    assert_eq!(created, Ok(container()));
    assert_eq!(api.wait_ready(&target, &container()).await, Ok(ContainerStatus::Finished));
    assert_eq!(api.publish(&target, &container()).await, Ok(InstagramMediaId("17900000000000099".to_owned())));

    let requests = server.received_requests().await.expect("recording is on");
    let created = form_pairs(&requests[0].body);
    assert!(!created.iter().any(|(k, _)| k == "video_url"), "an image sends no video_url: {created:?}");
}

#[tokio::test]
async fn a_video_story_sends_its_url_as_video_url() {
    let (server, api) = fake().await;
    Mock::given(method("POST"))
        .and(path(format!("/v21.0/{USER}/media")))
        .and(Form::new(&[
            ("media_type", "STORIES"),
            ("video_url", "https://media.example/story.mp4"),
            ("access_token", TOKEN),
        ]))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "42"})))
        .expect(1)
        .mount(&server)
        .await;
    let video = HostedMedia { kind: MediaKind::Video, url: "https://media.example/story.mp4".to_owned() };

    let created = api.create_container(&target(LoginKind::Instagram), &video).await;

    assert_eq!(created, Ok(ContainerId("42".to_owned())));
    let requests = server.received_requests().await.expect("recording is on");
    assert!(!form_pairs(&requests[0].body).iter().any(|(k, _)| k == "image_url"));
}

#[tokio::test]
async fn a_container_in_progress_twice_then_finished_is_polled_until_it_is_ready() {
    let (server, api) = fake().await;
    status_answer(&server, json!({"status_code": "IN_PROGRESS", "status": "In Progress"}), Some(2), 1).await;
    status_answer(&server, json!({"status_code": "FINISHED"}), None, 5).await;

    let status = api.wait_ready(&target(LoginKind::Facebook), &container()).await;

    assert_eq!(status, Ok(ContainerStatus::Finished));
    assert_eq!(server.received_requests().await.map(|r| r.len()), Some(3));
}

#[tokio::test]
async fn a_container_meta_could_not_process_reports_metas_status_text() {
    let (server, api) = fake().await;
    let text = "Error: Media upload has failed with error code 2207026";
    status_answer(&server, json!({"status_code": "ERROR", "status": text}), None, 5).await;

    let status = api.wait_ready(&target(LoginKind::Facebook), &container()).await;

    assert_eq!(status, Ok(ContainerStatus::Error(text.to_owned())));
}

#[tokio::test]
async fn a_container_still_in_progress_when_the_cap_runs_out_is_reported_in_progress() {
    let server = MockServer::start().await;
    let mut config = config(&server.uri());
    config.poll = PollPolicy {
        first: Duration::from_millis(10),
        max_interval: Duration::from_millis(20),
        cap: Duration::from_millis(80),
    };
    let api = graph(config);
    status_answer(&server, json!({"status_code": "IN_PROGRESS"}), None, 5).await;

    let started = std::time::Instant::now();
    let status = api.wait_ready(&target(LoginKind::Facebook), &container()).await;

    assert_eq!(status, Ok(ContainerStatus::InProgress));
    assert!(started.elapsed() >= Duration::from_millis(80));
    let looks = server.received_requests().await.map_or(0, |r| r.len());
    // 0, 10, 30, 50, 70 and 80 ms at the earliest: the pauses grow and the last one is cut at the cap.
    assert!((2..=7).contains(&looks), "{looks} looks");
}

#[tokio::test]
async fn published_and_expired_containers_are_reported_as_such() {
    let (server, api) = fake().await;
    status_answer(&server, json!({"status_code": "PUBLISHED"}), Some(1), 1).await;
    status_answer(&server, json!({"status_code": "EXPIRED"}), None, 5).await;
    let target = target(LoginKind::Facebook);

    assert_eq!(api.wait_ready(&target, &container()).await, Ok(ContainerStatus::Published));
    assert_eq!(api.wait_ready(&target, &container()).await, Ok(ContainerStatus::Expired));
}

/// Answers every request with `status` and `body`.
async fn answer_all(server: &MockServer, status: u16, body: Option<serde_json::Value>) {
    let template = match body {
        Some(body) => ResponseTemplate::new(status).set_body_json(body),
        None => ResponseTemplate::new(status).set_body_string("<html>busy</html>"),
    };
    Mock::given(wiremock::matchers::any()).respond_with(template).mount(server).await;
}

async fn publish_error(status: u16, body: Option<serde_json::Value>) -> PublishError {
    let (server, api) = fake().await;
    answer_all(&server, status, body).await;
    match api.publish(&target(LoginKind::Facebook), &container()).await {
        Ok(id) => panic!("expected an error, got {id:?}"),
        Err(error) => error,
    }
}

#[tokio::test]
async fn error_190_means_the_token_is_invalid() {
    let error = publish_error(400, Some(meta_error(190, "Error validating access token: Session has expired"))).await;
    assert_eq!(error, PublishError::TokenInvalid("Error validating access token: Session has expired".to_owned()));
}

#[tokio::test]
async fn throttling_codes_and_http_429_mean_rate_limited() {
    for code in [4, 17, 32, 341, 9, 613] {
        let error = publish_error(400, Some(meta_error(code, "Application request limit reached"))).await;
        assert_eq!(error, PublishError::RateLimited("Application request limit reached".to_owned()), "code {code}");
    }
    assert!(matches!(publish_error(429, None).await, PublishError::RateLimited(_)));
}

#[tokio::test]
async fn codes_1_and_2_and_http_5xx_are_transient() {
    for code in [1, 2] {
        let error = publish_error(500, Some(meta_error(code, "An unexpected error has occurred"))).await;
        assert_eq!(error, PublishError::Transient("An unexpected error has occurred".to_owned()), "code {code}");
    }
    assert_eq!(publish_error(500, None).await, PublishError::Transient("HTTP status 500".to_owned()));
    assert!(matches!(publish_error(503, None).await, PublishError::Transient(_)));
}

#[tokio::test]
async fn an_unknown_code_fails_with_metas_message_and_not_the_raw_body() {
    let error = publish_error(400, Some(meta_error(100, "Invalid parameter"))).await;
    assert_eq!(error, PublishError::Failed("Invalid parameter".to_owned()));
    assert!(!error.to_string().contains("fbtrace"));
}

#[tokio::test]
async fn a_network_failure_is_transient() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let address = listener.local_addr().expect("an address");
    drop(listener);
    let api = graph(config(&format!("http://{address}")));

    let error = api.quota(&target(LoginKind::Facebook)).await;

    assert!(matches!(error, Err(PublishError::Transient(_))), "{error:?}");
}

#[tokio::test]
async fn the_quota_is_read_from_content_publishing_limit() {
    let (server, api) = fake().await;
    Mock::given(method("GET"))
        .and(path(format!("/v21.0/{USER}/content_publishing_limit")))
        .and(query_param("fields", "quota_usage,config"))
        .and(query_param("access_token", TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"data": [{"quota_usage": 7, "config": {"quota_total": 100, "quota_duration": 86400}}]}),
        ))
        .expect(1)
        .mount(&server)
        .await;

    assert_eq!(api.quota(&target(LoginKind::Instagram)).await, Ok(PublishingQuota { used: 7, total: 100 }));
}

#[tokio::test]
async fn a_quota_answer_without_its_total_assumes_50() {
    let (server, api) = fake().await;
    answer_all(&server, 200, Some(json!({"data": [{"quota_usage": 50}]}))).await;

    let quota = api.quota(&target(LoginKind::Facebook)).await;

    assert_eq!(quota, Ok(PublishingQuota { used: 50, total: 50 }));
    assert!(quota.is_ok_and(|q| q.exhausted()));
}

#[tokio::test]
async fn an_instagram_login_token_is_refreshed_with_ig_refresh_token() {
    let (server, api) = fake().await;
    Mock::given(method("GET"))
        .and(path("/refresh_access_token"))
        .and(query_param("grant_type", "ig_refresh_token"))
        .and(query_param("access_token", TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "IGAAnew-token-9876543210", "token_type": "bearer", "expires_in": 5_184_000}),
        ))
        .expect(1)
        .mount(&server)
        .await;

    let refreshed = api.refresh(LoginKind::Instagram, &SecretString::from(TOKEN.to_owned())).await;

    let refreshed = refreshed.expect("refreshed");
    assert_eq!(refreshed.token.expose_secret(), "IGAAnew-token-9876543210");
    assert_eq!(refreshed.expires_in, Some(chrono::Duration::days(60)), "5184000 s is 60 days");
}

#[tokio::test]
async fn a_facebook_login_token_is_exchanged_with_the_app_credentials() {
    let server = MockServer::start().await;
    let mut config = config(&server.uri());
    config.facebook_app =
        Some(FacebookApp { id: "112233".to_owned(), secret: SecretString::from(APP_SECRET.to_owned()) });
    let api = graph(config);
    Mock::given(method("GET"))
        .and(path("/v21.0/oauth/access_token"))
        .and(query_param("grant_type", "fb_exchange_token"))
        .and(query_param("client_id", "112233"))
        .and(query_param("client_secret", APP_SECRET))
        .and(query_param("fb_exchange_token", TOKEN))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"access_token": "EAAnew-token", "token_type": "bearer"})),
        )
        .expect(1)
        .mount(&server)
        .await;

    let refreshed = api.refresh(LoginKind::Facebook, &SecretString::from(TOKEN.to_owned())).await.expect("refreshed");

    assert_eq!(refreshed.token.expose_secret(), "EAAnew-token");
    assert_eq!(refreshed.expires_in, None, "no expires_in, no known expiry");
}

#[tokio::test]
async fn a_facebook_login_token_cannot_be_refreshed_without_app_credentials() {
    let (server, api) = fake().await;

    let result = api.refresh(LoginKind::Facebook, &SecretString::from(TOKEN.to_owned())).await;

    assert_eq!(
        result.err(),
        Some(PublishError::Failed(
            "FACEBOOK_APP_ID and FACEBOOK_APP_SECRET are needed to refresh Facebook Login tokens".to_owned()
        ))
    );
    assert_eq!(server.received_requests().await.map(|r| r.len()), Some(0));
}

#[tokio::test]
async fn the_username_is_looked_up_by_the_account_id() {
    let (server, api) = fake().await;
    Mock::given(method("GET"))
        .and(path(format!("/v21.0/{USER}")))
        .and(query_param("fields", "username"))
        .and(query_param("access_token", TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"username": "brand_main", "id": USER})))
        .expect(1)
        .mount(&server)
        .await;

    let username = api.username(&target(LoginKind::Instagram)).await;

    assert_eq!(username.map(|u| u.to_string()), Ok("@brand_main".to_owned()));
}

#[tokio::test]
async fn an_unusable_username_fails() {
    let (server, api) = fake().await;
    answer_all(&server, 200, Some(json!({"username": "not a username!"}))).await;

    assert!(matches!(api.username(&target(LoginKind::Facebook)).await, Err(PublishError::Failed(_))));
}

#[tokio::test]
async fn calls_go_under_the_configured_version_and_the_instagram_refresh_has_none() {
    let server = MockServer::start().await;
    let mut config = config(&server.uri());
    config.version = "v22.0".to_owned();
    let api = graph(config);
    Mock::given(method("GET"))
        .and(path(format!("/v22.0/{USER}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"username": "brand_main"})))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/refresh_access_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "IGAAnew", "expires_in": 60})))
        .expect(1)
        .mount(&server)
        .await;

    assert!(api.username(&target(LoginKind::Facebook)).await.is_ok());
    assert!(api.username(&target(LoginKind::Instagram)).await.is_ok());
    assert!(api.refresh(LoginKind::Instagram, &SecretString::from(TOKEN.to_owned())).await.is_ok());
}

#[tokio::test]
async fn the_token_never_appears_in_errors_even_when_meta_echoes_it() {
    let echo = format!("Invalid OAuth access token - Cannot parse access token: '{TOKEN}'");
    let error = publish_error(400, Some(meta_error(190, &echo))).await;
    assert_eq!(
        error,
        PublishError::TokenInvalid("Invalid OAuth access token - Cannot parse access token: '[REDACTED]'".to_owned())
    );
    assert_no_token(&error.to_string());
    assert_no_token(&format!("{error:?}"));

    let error = publish_error(400, Some(meta_error(100, &format!("bad parameter access_token={TOKEN}")))).await;
    assert_no_token(&error.to_string());
    assert_no_token(&format!("{error:?}"));

    // A success answer in an unexpected shape that holds the token.
    let (server, api) = fake().await;
    answer_all(&server, 200, Some(json!({"data": [{"quota_usage": TOKEN}]}))).await;
    let error = api.quota(&target(LoginKind::Facebook)).await.expect_err("not a number");
    assert_no_token(&format!("{error} {error:?}"));

    // A refresh echoing both the token and the app secret.
    let server = MockServer::start().await;
    let mut config = config(&server.uri());
    config.facebook_app =
        Some(FacebookApp { id: "112233".to_owned(), secret: SecretString::from(APP_SECRET.to_owned()) });
    let api = graph(config);
    answer_all(&server, 400, Some(meta_error(1, &format!("cannot exchange {TOKEN} with secret {APP_SECRET}")))).await;
    let error = api.refresh(LoginKind::Facebook, &SecretString::from(TOKEN.to_owned())).await.expect_err("refused");
    assert_eq!(error, PublishError::Transient("cannot exchange [REDACTED] with secret [REDACTED]".to_owned()));
}

#[tokio::test]
async fn the_token_never_appears_in_network_errors_or_time_outs() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let address = listener.local_addr().expect("an address");
    drop(listener);
    let api = graph(config(&format!("http://{address}")));
    let target = target(LoginKind::Facebook);
    for error in [
        api.username(&target).await.expect_err("nobody listens"),
        api.refresh(LoginKind::Instagram, &target.token).await.expect_err("nobody listens"),
        api.wait_ready(&target, &container()).await.expect_err("nobody listens"),
    ] {
        assert!(matches!(error, PublishError::Transient(_)), "{error:?}");
        assert_no_token(&format!("{error} {error:?}"));
        assert!(!error.to_string().contains("127.0.0.1"), "no URL in {error}");
    }

    let server = MockServer::start().await;
    let mut config = config(&server.uri());
    config.timeout = Duration::from_millis(100);
    let api = graph(config);
    Mock::given(wiremock::matchers::any())
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"username": "x"})).set_delay(Duration::from_secs(2)),
        )
        .mount(&server)
        .await;
    let error = api.username(&target).await.expect_err("too slow");
    assert!(matches!(error, PublishError::Transient(_)), "{error:?}");
    assert_no_token(&format!("{error} {error:?}"));
}

#[tokio::test]
async fn debug_output_never_shows_the_token_or_the_app_secret() {
    let mut config = config("http://127.0.0.1:9");
    config.facebook_app =
        Some(FacebookApp { id: "112233".to_owned(), secret: SecretString::from(APP_SECRET.to_owned()) });
    let api = graph(config.clone());
    assert_no_token(&format!("{api:?}"));
    assert_no_token(&format!("{config:?}"));
    assert_no_token(&format!("{:?}", target(LoginKind::Instagram)));
}
