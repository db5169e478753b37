//! The app crate's integration tests: the pipeline with a stand-in handler, the DynamoDB store on DynamoDB Local, the Mandrill client.
//!
//! One test binary for the crate (each file a module): one link instead of one per file.

mod dynamodb;
mod mandrill;
mod pipeline;
