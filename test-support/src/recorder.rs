//! An SDK interceptor that records the calls a client makes (IAM needs each one): the store's
//! DynamoDB client, or a Secrets Manager client.

use std::sync::Arc;

/// An SDK interceptor that notes each call: its operation name, for
/// `TransactWriteItems` the kinds of its items, e.g. `TransactWriteItems[ConditionCheck,Put]`,
/// and for a `Query` of an index the index, e.g. `Query@GSI1` (IAM grants indexes apart).
///
/// Each call also gets its sequential step: a call that starts while another is in flight
/// shares that one's step, a call that starts when none is opens the next.
#[derive(Debug, Default, Clone)]
pub struct CallRecorder {
    calls: Arc<std::sync::Mutex<Calls>>,
}

#[derive(Debug, Default)]
struct Calls {
    made: Vec<(usize, String)>,
    in_flight: usize,
    steps: usize,
}

impl CallRecorder {
    /// The calls since the last `take`.
    pub fn take(&self) -> Vec<String> {
        self.take_steps().into_iter().flatten().collect()
    }

    /// The calls since the last `take`, by sequential step, each step's in the order they began.
    pub fn take_steps(&self) -> Vec<Vec<String>> {
        let made = std::mem::take(&mut self.calls.lock().unwrap().made);
        let mut steps: Vec<(usize, Vec<String>)> = Vec::new();
        for (step, call) in made {
            match steps.last_mut() {
                Some((last, calls)) if *last == step => calls.push(call),
                _ => steps.push((step, vec![call])),
            }
        }
        steps.into_iter().map(|(_, calls)| calls).collect()
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
        let mut calls = self.calls.lock().unwrap();
        if calls.in_flight == 0 {
            calls.steps += 1;
        }
        calls.in_flight += 1;
        let step = calls.steps;
        calls.made.push((step, call));
        Ok(())
    }

    fn read_after_execution(
        &self,
        _context: &aws_sdk_dynamodb::config::interceptors::FinalizerInterceptorContextRef<'_>,
        _components: &aws_sdk_dynamodb::config::RuntimeComponents,
        _cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let mut calls = self.calls.lock().unwrap();
        calls.in_flight = calls.in_flight.saturating_sub(1);
        Ok(())
    }
}
