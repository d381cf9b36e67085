//! The one error type of the local Media Manager: every failure a handler can meet, rendered
//! as Wix renders it (`{message, details}` with the right status; 5xx with an empty body).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use wix_media_wire::types::{
    ApplicationError, ErrorBody, ErrorDetails, FieldViolation, ValidationError,
};

#[derive(Debug, Clone, PartialEq)]
pub struct WixError {
    pub status: StatusCode,
    pub body: Option<Box<ErrorBody>>,
    pub retry_after_secs: Option<u64>,
}

pub type WixResult<T> = Result<T, WixError>;

impl WixError {
    fn application(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            status,
            body: Some(Box::new(ErrorBody {
                message: message.clone(),
                details: ErrorDetails {
                    application_error: Some(ApplicationError {
                        code: code.to_string(),
                        description: message,
                        data: None,
                    }),
                    validation_error: None,
                },
            })),
            retry_after_secs: None,
        }
    }

    /// 400 with a `validationError.fieldViolations` body naming the field.
    pub fn invalid(field: &str, description: impl Into<String>) -> Self {
        Self::violations(vec![violation(field, description, "VALIDATION")])
    }

    /// 400 with a `validationError` body holding `violations` (at least one); the message
    /// names the first.
    pub fn violations(violations: Vec<FieldViolation>) -> Self {
        let message = match violations.as_slice() {
            [] => "invalid request".to_string(),
            [one] => format!("{}: {}", one.field, one.description),
            [first, rest @ ..] => format!(
                "{}: {} (and {} more)",
                first.field,
                first.description,
                rest.len()
            ),
        };
        Self {
            status: StatusCode::BAD_REQUEST,
            body: Some(Box::new(ErrorBody {
                message,
                details: ErrorDetails {
                    application_error: None,
                    validation_error: Some(ValidationError {
                        field_violations: violations,
                    }),
                },
            })),
            retry_after_secs: None,
        }
    }

    /// 400: a documented validation error of the contract (`violatedRule: OTHER` with its
    /// `ruleName`, as `*ValidationErrors` in Wix's packages name them), with what helps the
    /// caller in `data`.
    pub fn rule(
        field: &str,
        rule_name: &str,
        description: impl Into<String>,
        data: Option<serde_json::Value>,
    ) -> Self {
        let mut v = violation(field, description, "OTHER");
        v.rule_name = Some(rule_name.to_string());
        v.data = data;
        Self::violations(vec![v])
    }

    /// The same error about an item of a list: every violated field is put under `prefix`
    /// (`importFileRequests[3]` + `filePath` → `importFileRequests[3].filePath`).
    pub fn within(mut self, prefix: &str) -> Self {
        if let Some(body) = self.body.as_deref_mut()
            && let Some(validation) = body.details.validation_error.as_mut()
        {
            for v in &mut validation.field_violations {
                v.field = format!("{prefix}.{}", v.field);
            }
            let violations = std::mem::take(&mut validation.field_violations);
            return Self {
                retry_after_secs: self.retry_after_secs,
                ..Self::violations(violations)
            };
        }
        self
    }

    /// The field violations of a validation error (none for other errors).
    pub fn field_violations(&self) -> &[FieldViolation] {
        self.body
            .as_ref()
            .and_then(|b| b.details.validation_error.as_ref())
            .map_or(&[], |v| v.field_violations.as_slice())
    }

    /// 400 for a request that is well-formed but not acceptable (an application error).
    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::application(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found(code: &str, message: impl Into<String>) -> Self {
        Self::application(StatusCode::NOT_FOUND, code, message)
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::application(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", message)
    }

    pub fn forbidden(code: &str, message: impl Into<String>) -> Self {
        Self::application(StatusCode::FORBIDDEN, code, message)
    }

    /// 405 for a method the path doesn't serve.
    pub fn method_not_allowed() -> Self {
        Self::application(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            "This endpoint does not accept that HTTP method",
        )
    }

    /// 408: the request body stalled for longer than the idle timeout.
    pub fn request_timeout() -> Self {
        Self::application(
            StatusCode::REQUEST_TIMEOUT,
            "REQUEST_TIMEOUT",
            "The request body stalled for longer than the idle timeout",
        )
    }

    /// 415: a JSON endpoint was sent something else.
    pub fn unsupported_media_type() -> Self {
        Self::application(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "The request body must be JSON, sent with Content-Type: application/json",
        )
    }

    /// 413: a JSON body over the server's limit.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::application(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!("The request body is larger than the limit of {limit} bytes"),
        )
    }

    pub fn conflict(code: &str, message: impl Into<String>) -> Self {
        Self::application(StatusCode::CONFLICT, code, message)
    }

    /// 429, with `Retry-After` when `retry_after_secs` is given.
    pub fn too_many_requests(retry_after_secs: Option<u64>) -> Self {
        let mut e = Self::application(
            StatusCode::TOO_MANY_REQUESTS,
            "RESOURCE_EXHAUSTED",
            "Resource exhausted: too many requests",
        );
        e.retry_after_secs = retry_after_secs;
        e
    }

    /// 503 with an empty body, as Wix sends system errors.
    pub fn unavailable() -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            body: None,
            retry_after_secs: None,
        }
    }

    /// A gateway's error (502 or 503) with no body of the API's: what a proxy answers when it
    /// loses the backend's answer.
    pub fn gateway(status: u16) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
            body: None,
            retry_after_secs: None,
        }
    }

    /// A transient failure of one bulk item: the caller should retry that item.
    pub fn unavailable_item() -> Self {
        Self::application(
            StatusCode::SERVICE_UNAVAILABLE,
            "UNAVAILABLE",
            "Temporarily unavailable; retry this item",
        )
    }

    /// 500 with an empty body; the cause goes to the log, never to the caller.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            body: None,
            retry_after_secs: None,
        }
    }

    /// The application error code, if any (used for bulk item errors).
    pub fn code(&self) -> String {
        let rule = || {
            self.field_violations()
                .iter()
                .find_map(|v| v.rule_name.clone())
        };
        self.body
            .as_ref()
            .and_then(|b| b.details.application_error.as_ref().map(|a| a.code.clone()))
            .or_else(rule)
            .unwrap_or_else(|| {
                if self.status == StatusCode::BAD_REQUEST {
                    "INVALID_ARGUMENT".to_string()
                } else {
                    self.status.as_str().to_string()
                }
            })
    }

    pub fn message(&self) -> String {
        self.body
            .as_ref()
            .map(|b| b.message.clone())
            .unwrap_or_else(|| self.status.to_string())
    }

    pub fn to_application_error(&self) -> ApplicationError {
        ApplicationError {
            code: self.code(),
            description: self.message(),
            // What a documented rule adds (the quota and its use, the unknown ids).
            data: self
                .field_violations()
                .iter()
                .find(|v| v.rule_name.is_some())
                .and_then(|v| v.data.clone()),
        }
    }
}

/// One field violation with no rule name.
pub fn violation(
    field: &str,
    description: impl Into<String>,
    violated_rule: &str,
) -> FieldViolation {
    FieldViolation {
        field: field.to_string(),
        description: description.into(),
        violated_rule: violated_rule.to_string(),
        rule_name: None,
        data: None,
    }
}

impl From<rusqlite::Error> for WixError {
    fn from(e: rusqlite::Error) -> Self {
        Self::internal(format_args!("storage: {e}"))
    }
}

impl From<std::io::Error> for WixError {
    fn from(e: std::io::Error) -> Self {
        Self::internal(format_args!("i/o: {e}"))
    }
}

impl IntoResponse for WixError {
    fn into_response(self) -> Response {
        let mut response = match &self.body {
            Some(body) => (self.status, axum::Json(body.as_ref())).into_response(),
            None => self.status.into_response(),
        };
        if let Some(secs) = self.retry_after_secs {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_str(&secs.to_string()).expect("digits are a valid header"),
            );
        }
        response
    }
}
