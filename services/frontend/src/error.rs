//! The one error type of the frontend and its mapping to HTTP statuses.
//!
//! Handlers return `Result<_, AppError>`. [`AppError::into_response`] only
//! records *what* went wrong (status + message) in the response extensions;
//! the page middleware ([`crate::pages::render_errors`]) turns that into our
//! "Uh, oh!" page (or a small JSON body for the JSON endpoints), logs it, and
//! is the single place where errors become bodies.

use axum::response::{IntoResponse, Response};
use boutique_money::MoneyError;
use http::StatusCode;
use tonic::{Code, Status};

/// Everything that can go wrong while answering a request.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Form validation failed: upstream's `Field '<X>' is invalid: <tag>` lines.
    #[error("{0}")]
    Validation(String),
    /// The thing asked for does not exist (unknown product, order, page).
    #[error("{0}")]
    NotFound(String),
    /// A backend call failed. `user_fault` marks statuses caused by the
    /// shopper's input (a rejected card), which answer 422.
    #[error("{context}: rpc error: code = {} desc = {}", boutique_runtime::grpc::code_name(.status.code()), .status.message())]
    Backend {
        context: String,
        status: Status,
        user_fault: bool,
    },
    /// Arithmetic on amounts returned by the backends failed.
    #[error("{context}: {source}")]
    Money {
        context: &'static str,
        source: MoneyError,
    },
    /// The shopping assistant could not be reached or answered nonsense.
    #[error("shopping assistant failure: {0}")]
    Assistant(String),
    /// A template failed to render (a defect).
    #[error("cannot render the page: {0}")]
    Render(#[from] askama::Error),
}

impl AppError {
    /// A failed backend call that is the server side's problem.
    pub fn backend(context: impl Into<String>, status: Status) -> Self {
        Self::Backend {
            context: context.into(),
            status,
            user_fault: false,
        }
    }

    /// `PlaceOrder` failed: invalid card data etc. are the shopper's fault.
    pub fn order(status: Status) -> Self {
        let user_fault = matches!(
            status.code(),
            Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange
        );
        Self::Backend {
            context: "failed to complete the order".into(),
            status,
            user_fault,
        }
    }

    /// Money arithmetic failed.
    pub fn money(context: &'static str, source: MoneyError) -> Self {
        Self::Money { context, source }
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Backend {
                user_fault: true, ..
            } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Backend { status, .. } => match status.code() {
                Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
                Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            Self::Assistant(_) => StatusCode::BAD_GATEWAY,
            Self::Money { .. } | Self::Render(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// How an error body is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorFormat {
    /// Our error page.
    Html,
    /// `{"error": "<message>"}` (JSON endpoints).
    Json,
}

/// What the page middleware needs to render an error.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    pub status: StatusCode,
    pub message: String,
    pub format: ErrorFormat,
}

impl ErrorInfo {
    fn response(self) -> Response {
        // The plain-text body is only a fallback: the page middleware
        // replaces it.
        let mut resp = (self.status, self.message.clone()).into_response();
        resp.extensions_mut().insert(self);
        resp
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        ErrorInfo {
            status: self.status(),
            message: self.to_string(),
            format: ErrorFormat::Html,
        }
        .response()
    }
}

/// An [`AppError`] answered as JSON.
#[derive(Debug)]
pub struct JsonError(pub AppError);

impl IntoResponse for JsonError {
    fn into_response(self) -> Response {
        ErrorInfo {
            status: self.0.status(),
            message: self.0.to_string(),
            format: ErrorFormat::Json,
        }
        .response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_texts() {
        let e = AppError::backend("could not retrieve products", Status::unavailable("down"));
        assert_eq!(e.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            e.to_string(),
            "could not retrieve products: rpc error: code = Unavailable desc = down"
        );
        let e = AppError::backend("x", Status::internal("boom"));
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let e = AppError::backend("x", Status::deadline_exceeded("slow"));
        assert_eq!(e.status(), StatusCode::GATEWAY_TIMEOUT);
        let e = AppError::order(Status::invalid_argument("Credit card info is invalid"));
        assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            e.to_string(),
            "failed to complete the order: rpc error: code = InvalidArgument desc = Credit card info is invalid"
        );
        assert_eq!(
            AppError::order(Status::internal("x")).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(
            AppError::Validation("Field 'Quantity' is invalid: required\n".into()).status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            AppError::NotFound("no".into()).status(),
            StatusCode::NOT_FOUND
        );
        let r = AppError::NotFound("gone".into()).into_response();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let info = r.extensions().get::<ErrorInfo>().unwrap();
        assert_eq!(info.message, "gone");
        assert_eq!(info.format, ErrorFormat::Html);
        let r = JsonError(AppError::NotFound("gone".into())).into_response();
        assert_eq!(
            r.extensions().get::<ErrorInfo>().unwrap().format,
            ErrorFormat::Json
        );
    }
}
