//! Errors: what the registry answers when a request cannot be served, in Confluent's terms.
//!
//! Every [`RegistryError`] carries a Confluent error code (`40401`, `42201`, ...) and an HTTP
//! status derived from it, so clients written for Confluent's registry react to ours the same
//! way. Only [`RegistryError::Storage`] and [`RegistryError::CorruptSchema`] are the server's
//! fault (`50001`); everything else is the client's.

use axum::http::StatusCode;

/// Why a registry operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The subject has no (visible) version.
    #[error("Subject '{0}' not found.")]
    SubjectNotFound(String),
    /// The subject has no (visible) version with this number.
    #[error("Version {0} not found.")]
    VersionNotFound(String),
    /// No schema has this id, or the subject has no version with this schema.
    #[error("{0}")]
    SchemaNotFound(String),
    /// A soft delete of a subject whose versions are all soft-deleted already.
    #[error("Subject '{0}' was soft deleted. Set permanent=true to delete permanently")]
    SubjectSoftDeleted(String),
    /// A permanent delete of a subject that was not soft-deleted first.
    #[error("Subject '{0}' was not deleted first before being permanently deleted")]
    SubjectNotSoftDeleted(String),
    /// A soft delete of a version that is soft-deleted already.
    #[error(
        "Subject '{subject}' Version {version} was soft deleted. \
         Set permanent=true to delete permanently"
    )]
    VersionSoftDeleted {
        /// The subject.
        subject: String,
        /// The version.
        version: i32,
    },
    /// A permanent delete of a version that was not soft-deleted first.
    #[error(
        "Subject '{subject}' Version {version} was not deleted first before being permanently \
         deleted"
    )]
    VersionNotSoftDeleted {
        /// The subject.
        subject: String,
        /// The version.
        version: i32,
    },
    /// `GET /config/{subject}` for a subject without its own level.
    #[error("Subject '{0}' does not have subject-level compatibility configured")]
    SubjectLevelNotConfigured(String),
    /// The schema is incompatible with earlier versions under the subject's level.
    #[error(
        "Schema being registered is incompatible with an earlier schema for subject \
         \"{subject}\", details: [{}]",
        messages.join("; ")
    )]
    Incompatible {
        /// The subject.
        subject: String,
        /// One line per failed check.
        messages: Vec<String>,
    },
    /// The schema text is not a valid Avro schema, or not a schema this registry supports.
    #[error("Invalid schema: {0}")]
    InvalidSchema(String),
    /// A version that is neither a positive 32-bit integer nor `latest`/`-1`.
    #[error(
        "The specified version '{0}' is not a valid version id. Allowed values are between \
         [1, 2^31-1] and the string \"latest\""
    )]
    InvalidVersion(String),
    /// A compatibility level that does not exist.
    #[error(
        "Invalid compatibility level '{0}'. Valid values are NONE, BACKWARD, \
         BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL and FULL_TRANSITIVE"
    )]
    InvalidLevel(String),
    /// A subject name that cannot be stored (empty, too long, control characters).
    #[error("Invalid subject: {0}")]
    InvalidSubject(String),
    /// A request body that is not the JSON the endpoint expects.
    #[error("Unprocessable entity: {0}")]
    UnprocessableBody(String),
    /// A request body in a media type other than JSON.
    #[error(
        "Unsupported media type: send application/vnd.schemaregistry.v1+json or application/json"
    )]
    UnsupportedMediaType,
    /// A request body over the size limit.
    #[error("Request body too large")]
    PayloadTooLarge,
    /// No route matches the path.
    #[error("HTTP 404 Not Found")]
    NotFound,
    /// The route exists but not with this method.
    #[error("HTTP 405 Method Not Allowed")]
    MethodNotAllowed,
    /// PostgreSQL failed; the details are logged, not returned.
    #[error("Error in the backend datastore")]
    Storage(#[from] sqlx::Error),
    /// A stored schema no longer parses (it did when it was registered).
    #[error("Error in the backend datastore: stored schema {0} cannot be parsed")]
    CorruptSchema(i32),
}

impl RegistryError {
    /// The 40403 error for a schema id.
    pub fn schema_id_not_found(id: i32) -> Self {
        Self::SchemaNotFound(format!("Schema {id} not found."))
    }

    /// The Confluent error code.
    pub fn error_code(&self) -> u32 {
        match self {
            Self::SubjectNotFound(_) => 40401,
            Self::VersionNotFound(_) => 40402,
            Self::SchemaNotFound(_) => 40403,
            Self::SubjectSoftDeleted(_) => 40404,
            Self::SubjectNotSoftDeleted(_) => 40405,
            Self::VersionSoftDeleted { .. } => 40406,
            Self::VersionNotSoftDeleted { .. } => 40407,
            Self::SubjectLevelNotConfigured(_) => 40408,
            Self::Incompatible { .. } => 409,
            Self::InvalidSchema(_) => 42201,
            Self::InvalidVersion(_) => 42202,
            Self::InvalidLevel(_) => 42203,
            Self::InvalidSubject(_) => 42208,
            Self::UnprocessableBody(_) => 422,
            Self::UnsupportedMediaType => 415,
            Self::PayloadTooLarge => 413,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::Storage(_) | Self::CorruptSchema(_) => 50001,
        }
    }

    /// The HTTP status: the first three digits of the error code.
    pub fn status(&self) -> StatusCode {
        let code = self.error_code();
        let status = if code >= 10_000 { code / 100 } else { code };
        u16::try_from(status)
            .ok()
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// Whether the server, not the client, is at fault.
    pub fn is_server_error(&self) -> bool {
        self.status().is_server_error()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_error_codes() {
        assert_eq!(
            RegistryError::SubjectNotFound("s".into()).status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            RegistryError::InvalidVersion("x".into()).status().as_u16(),
            422
        );
        let incompatible = RegistryError::Incompatible {
            subject: "s".into(),
            messages: vec![],
        };
        assert_eq!(incompatible.status(), StatusCode::CONFLICT);
        assert_eq!(RegistryError::CorruptSchema(1).status().as_u16(), 500);
        assert!(!RegistryError::PayloadTooLarge.is_server_error());
    }
}
