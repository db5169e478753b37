//! A failed store call as one line for the CLI's user: what failed and what to do, from the
//! error's chain (the SDK error is kept as a `StoreError`'s source), never the SDK's `Debug`.

use std::error::Error;

use app::settings::Settings;
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_types::error::ErrorMetadata;
use store::error::StoreError;

/// What went wrong, by what the user can do about it.
#[derive(Debug, PartialEq)]
enum Cause {
    NoCredentials,
    /// DynamoDB answered with an error: its code and message.
    Service {
        code: String,
        message: String,
    },
    Unreachable,
    TimedOut,
    /// Anything else: the chain's messages, on one line.
    Other(String),
}

/// The one line printed for `e` (after `planocore: `), with the table and endpoint.
pub fn explain(e: &StoreError, settings: &Settings) -> String {
    one_line(&line(e, settings))
}

/// Messages from a service or an SDK may hold line breaks; the CLI prints one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn line(e: &StoreError, settings: &Settings) -> String {
    let endpoint = settings.dynamodb_endpoint.as_deref();
    let place = format!("table '{}' at {}", settings.table_name, endpoint.unwrap_or("AWS"));
    match cause(e) {
        Cause::NoCredentials => {
            format!(
                "no AWS credentials (set DYNAMODB_ENDPOINT for a local emulator, or configure credentials) ({place})"
            )
        }
        Cause::Service { code, message } => {
            format!("DynamoDB refused the request ({place}): {code}: {message}; {}", advice(&code))
        }
        Cause::Unreachable => format!(
            "cannot reach DynamoDB ({place}): start the emulator or fix DYNAMODB_ENDPOINT, or check the network"
        ),
        Cause::TimedOut => {
            format!("DynamoDB did not answer in time ({place}): check DYNAMODB_ENDPOINT and the network")
        }
        Cause::Other(line) => format!("{line} ({place})"),
    }
}

/// What to do about a service error, by its code.
fn advice(code: &str) -> &'static str {
    match code {
        "ResourceNotFoundException" => "create the table with `planocore table create` or fix TABLE_NAME",
        "ValidationException" => "check TABLE_NAME and the command's arguments",
        "UnrecognizedClientException"
        | "AccessDeniedException"
        | "InvalidSignatureException"
        | "ExpiredTokenException" => "check the AWS credentials and their permissions",
        "ProvisionedThroughputExceededException" | "ThrottlingException" | "RequestLimitExceeded" => {
            "try again in a moment"
        }
        _ => "check TABLE_NAME, the credentials and the region",
    }
}

/// An SDK error of one of the operations the store makes, whatever its operation.
macro_rules! sdk_error {
    ($cause:expr, $($op:ident::$err:ident),* $(,)?) => {
        $( if let Some(e) = $cause.downcast_ref::<SdkError<operation::$op::$err, HttpResponse>>() {
            return Some(sdk(e));
        } )*
    };
}

fn cause(e: &StoreError) -> Cause {
    let mut next: Option<&(dyn Error + 'static)> = Some(e);
    while let Some(cause) = next {
        if let Some(found) = known(cause) {
            return found;
        }
        next = cause.source();
    }
    Cause::Other(domain::error_chain::chain(e))
}

fn known(cause: &(dyn Error + 'static)) -> Option<Cause> {
    sdk_error!(
        cause,
        create_table::CreateTableError,
        update_time_to_live::UpdateTimeToLiveError,
        get_item::GetItemError,
        put_item::PutItemError,
        update_item::UpdateItemError,
        delete_item::DeleteItemError,
        query::QueryError,
        scan::ScanError,
        transact_write_items::TransactWriteItemsError,
    );
    if let Some(meta) = cause.downcast_ref::<ErrorMetadata>() {
        return Some(service(meta.code(), meta.message()));
    }
    if cause.downcast_ref::<CredentialsError>().is_some() {
        return Some(Cause::NoCredentials);
    }
    cause.downcast_ref::<ConnectorError>().map(connector)
}

fn sdk<E: ProvideErrorMetadata + Error + 'static>(e: &SdkError<E, HttpResponse>) -> Cause {
    match e {
        SdkError::ServiceError(_) => service(e.code(), e.message()),
        SdkError::TimeoutError(_) => Cause::TimedOut,
        SdkError::DispatchFailure(d) if d.is_timeout() => Cause::TimedOut,
        SdkError::DispatchFailure(d) if d.is_io() => Cause::Unreachable,
        // Credentials are resolved while dispatching: their error sits further down the chain.
        _ => {
            let mut next = e.source();
            while let Some(cause) = next {
                if cause.downcast_ref::<CredentialsError>().is_some() {
                    return Cause::NoCredentials;
                }
                next = cause.source();
            }
            Cause::Other(domain::error_chain::chain(e))
        }
    }
}

fn service(code: Option<&str>, message: Option<&str>) -> Cause {
    let code = code.unwrap_or("UnknownError").to_string();
    let message = message.unwrap_or("no message").to_string();
    Cause::Service { code, message }
}

fn connector(e: &ConnectorError) -> Cause {
    if e.is_timeout() {
        Cause::TimedOut
    } else if e.is_io() {
        Cause::Unreachable
    } else {
        Cause::Other(domain::error_chain::chain(e))
    }
}
