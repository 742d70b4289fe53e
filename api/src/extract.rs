//! The JSON body extractor of every endpoint. It reads the body as actix's
//! `web::Json` does (content type, size limit and malformed JSON answered by
//! `JsonConfig`'s error handler), then decodes it into `T`; a body of the
//! wrong shape is 422 `validation_failed`. A JSON number with no fractional
//! part (`2.0`) is an integer, as JSON Schema (and so the OpenAPI document)
//! says it is: such numbers are read as integers before decoding.

use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde_json::{Number, Value};

use crate::error::ApiError;

/// A decoded JSON request body.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Rewrites numbers like `2.0` as `2` (within i64), everywhere in `v`.
pub fn integral_numbers(v: &mut Value) {
    match v {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64() {
                let in_range =
                    (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f);
                if f.fract() == 0.0 && in_range {
                    #[expect(clippy::cast_possible_truncation, reason = "integral and in range")]
                    let i = f as i64;
                    *v = Value::Number(Number::from(i));
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_numbers),
        Value::Object(map) => map.values_mut().for_each(integral_numbers),
        _ => {}
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = web::Json::<Value>::from_request(req, payload);
        Box::pin(async move {
            let mut value = body.await?.into_inner();
            integral_numbers(&mut value);
            serde_json::from_value(value)
                .map(Json)
                .map_err(|e| ApiError::body_shape(&e).into())
        })
    }
}

/// A JSON body that may be left out: no body at all (or `null`) is `None`;
/// a body that is there must be valid JSON of the right shape, exactly as
/// for [`Json`] (an invalid body is an error, never taken as absent).
#[derive(Debug)]
pub struct OptionalJson<T>(pub Option<T>);

impl<T: DeserializeOwned + 'static> FromRequest for OptionalJson<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let empty = req
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() == "0")
            || (!req
                .headers()
                .contains_key(actix_web::http::header::CONTENT_LENGTH)
                && !req
                    .headers()
                    .contains_key(actix_web::http::header::TRANSFER_ENCODING));
        if empty {
            return Box::pin(async { Ok(OptionalJson(None)) });
        }
        // `null` is absent too (the documents say the body is nullable)
        let body = Json::<Option<T>>::from_request(req, payload);
        Box::pin(async move { Ok(OptionalJson(body.await?.into_inner())) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integral_floats_become_integers_and_others_stay() {
        let mut v =
            serde_json::json!({"a": 2.0, "b": [1.5, -3.0, 1e300], "c": {"d": 7}, "e": "2.0"});
        integral_numbers(&mut v);
        assert_eq!(v["a"], serde_json::json!(2));
        assert_eq!(v["b"][0], serde_json::json!(1.5));
        assert_eq!(v["b"][1], serde_json::json!(-3));
        assert!(v["b"][2].is_f64(), "out of i64 range stays a float");
        assert_eq!(v["c"]["d"], serde_json::json!(7));
        assert_eq!(v["e"], serde_json::json!("2.0"));
        #[derive(serde::Deserialize)]
        struct Q {
            a: i32,
        }
        let q: Result<Q, _> = serde_json::from_value(v);
        assert_eq!(q.map(|q| q.a).ok(), Some(2));
    }
}
