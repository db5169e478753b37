//! An SDK interceptor that records the calls a client makes (IAM needs each one): the store's
//! DynamoDB client, or a Secrets Manager client.

use std::sync::Arc;

/// An SDK interceptor that notes each call: its operation name, for
/// `TransactWriteItems` the kinds of its items, e.g. `TransactWriteItems[ConditionCheck,Put]`,
/// and for a `Query` of an index the index, e.g. `Query@GSI1` (IAM grants indexes apart).
#[derive(Debug, Default, Clone)]
pub struct CallRecorder {
    calls: Arc<std::sync::Mutex<Vec<String>>>,
}

impl CallRecorder {
    /// The calls since the last `take`.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }
}

impl aws_sdk_dynamodb::config::Intercept for CallRecorder {
    fn name(&self) -> &'static str {
        "CallRecorder"
    }

    // Not `read_before_execution`: a client interceptor runs that before the operation's own
    // config (which holds its name) is in the bag.
    fn read_before_serialization(
        &self,
        context: &aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef<'_>,
        _components: &aws_sdk_dynamodb::config::RuntimeComponents,
        cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        use aws_sdk_dynamodb::operation::query::QueryInput;
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
        use aws_smithy_runtime_api::client::orchestrator::Metadata;
        let mut call = cfg.load::<Metadata>().map(|m| m.name().to_string()).unwrap_or_default();
        if let Some(tx) = context.input().downcast_ref::<TransactWriteItemsInput>() {
            let kinds: Vec<&str> = tx
                .transact_items()
                .iter()
                .map(|item| match item {
                    i if i.condition_check.is_some() => "ConditionCheck",
                    i if i.put.is_some() => "Put",
                    i if i.update.is_some() => "Update",
                    _ => "Delete",
                })
                .collect();
            call = format!("{call}[{}]", kinds.join(","));
        }
        if let Some(index) = context.input().downcast_ref::<QueryInput>().and_then(|q| q.index_name()) {
            call = format!("{call}@{index}");
        }
        self.calls.lock().unwrap().push(call);
        Ok(())
    }
}
