//! The application in-process, called through `tower::ServiceExt::oneshot`.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use todo_api::config::Config;
use todo_api::{AppState, app, server, store};
use tower::ServiceExt;

use super::db::{Kind, TestDb};

pub struct TestApp {
    pub db: TestDb,
    pub state: AppState,
    router: Router,
}

#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The body as JSON (`Value::Null` when empty or not JSON).
    pub body: Value,
    pub text: String,
    pub bytes: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }
}

pub fn config_for(db: &TestDb) -> Config {
    let url = db.url.clone();
    let mut config = Config::from_lookup(|name| match name {
        "DATABASE_URL" => Some(url.clone()),
        "LOG_FORMAT" => Some("json".into()),
        _ => None,
    })
    .expect("test configuration");
    config.database.max_connections = 5;
    // Tests sign up many users at once; the limits' own tests set them.
    config.rate_limits = todo_api::config::RateLimitSettings {
        signup_per_ip: None,
        signup_total: None,
        token_per_user: None,
        token_per_ip: None,
    };
    config
}

impl TestApp {
    pub async fn start(kind: Kind) -> Option<TestApp> {
        Self::start_with(kind, |_| {}).await
    }

    pub async fn start_with(kind: Kind, configure: impl FnOnce(&mut Config)) -> Option<TestApp> {
        Self::start_with_routes(kind, configure, axum::Router::new()).await
    }

    /// The application with `extra` routes under its layers (a handler the API lacks).
    pub async fn start_with_routes(
        kind: Kind,
        configure: impl FnOnce(&mut Config),
        extra: axum::Router<AppState>,
    ) -> Option<TestApp> {
        let db = TestDb::create(kind).await?;
        let mut config = config_for(&db);
        configure(&mut config);
        let store = store::connect(&config.database).expect("store");
        store.migrate().await.expect("migrations");
        let state = server::state(&config, store);
        Some(TestApp {
            router: todo_api::http::app_with_routes(state.clone(), extra),
            state,
            db,
        })
    }

    /// Another application instance over the same database, configured differently (a
    /// restart with new settings).
    pub async fn restarted_with(&self, configure: impl FnOnce(&mut Config)) -> TestApp {
        let mut config = config_for(&self.db);
        configure(&mut config);
        let store = store::connect(&config.database).expect("store");
        let state = server::state(&config, store);
        TestApp {
            router: app(state.clone()),
            state,
            db: self.db.shallow(),
        }
    }

    pub async fn call(&self, request: Request<Body>) -> Resp {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            text,
            bytes: bytes.to_vec(),
        }
    }

    /// A request with raw headers and body bytes.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Body>,
    ) -> Resp {
        let mut request = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(path);
        for (name, value) in headers {
            // from_bytes admits non-ASCII (obs-text), as a real client may send it.
            let value = axum::http::HeaderValue::from_bytes(value.as_bytes())
                .expect("a header value without control characters");
            request = request.header(*name, value);
        }
        self.call(request.body(body.into()).unwrap()).await
    }

    /// A request with an optional token and an optional JSON body.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut headers = vec![];
        if let Some(token) = token {
            headers.push(("x-api-token", token));
        }
        match body {
            Some(body) => {
                headers.push(("content-type", "application/json"));
                self.raw(method, path, &headers, body.to_string()).await
            }
            None => self.raw(method, path, &headers, Body::empty()).await,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.send("GET", path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.send("POST", path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Resp {
        self.send("PATCH", path, Some(token), Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Resp {
        self.send("DELETE", path, Some(token), None).await
    }

    /// Signs up and returns (id, token).
    pub async fn signup(&self, email: &str) -> (i64, String) {
        let resp = self
            .send(
                "POST",
                "/users",
                None,
                Some(json!({"email": email, "password": "password123"})),
            )
            .await;
        resp.expect(200);
        (
            resp.body["id"].as_i64().unwrap(),
            resp.body["token"].as_str().unwrap().to_owned(),
        )
    }

    /// Creates an item for `owner` and returns its JSON.
    pub async fn item(&self, token: &str, owner: i64, title: &str) -> Value {
        let resp = self
            .post(
                &format!("/users/{owner}/items"),
                token,
                json!({"title": title, "description": format!("about {title}")}),
            )
            .await;
        resp.expect(200);
        resp.body
    }

    /// Sets `created_at` directly in the database (`YYYY-MM-DDTHH:MM:SS`, UTC), as the
    /// original app's tests do.
    pub async fn set_created_at(&self, item_id: i64, at: &str) {
        let at = at.replace('T', " ");
        self.db
            .exec(&format!(
                "UPDATE items SET created_at = '{at}' WHERE id = {item_id}"
            ))
            .await;
    }
}

impl TestDb {
    /// A second handle on the same database that does not drop it.
    pub fn shallow(&self) -> TestDb {
        TestDb::borrowed(self.kind, self.url.clone())
    }
}
