//! `GET /openapi.json`: the hand-written OpenAPI 3 document (`openapi.json` next to this file),
//! kept in step with [`super::ROUTES`] by a test.

use axum::http::header;
use axum::response::IntoResponse;

/// The document, as committed.
pub const DOCUMENT: &str = include_str!("openapi.json");

/// Serves [`DOCUMENT`].
pub async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_exactly_the_served_routes() {
        let doc: serde_json::Value = serde_json::from_str(DOCUMENT).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        for (method, path) in super::super::ROUTES {
            assert!(
                paths.get(*path).and_then(|p| p.get(*method)).is_some(),
                "{method} {path}"
            );
        }
        assert_eq!(paths.len(), super::super::ROUTES.len());
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    }
}
