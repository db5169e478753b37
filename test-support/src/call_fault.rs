//! Faults in a store's write: an SDK interceptor that fails one DynamoDB operation, and the
//! same two failure points for the memory store (through `FaultyStore`).

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;

/// Where a write fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultPoint {
    /// Before the request leaves: nothing is written.
    BeforeSend,
    /// After the store answered: everything is written, the answer is lost.
    AfterCommit,
}

/// Fails every call of one DynamoDB operation at one point while armed.
#[derive(Debug, Clone)]
pub struct CallFault {
    operation: &'static str,
    point: FaultPoint,
    armed: Arc<AtomicBool>,
}

impl CallFault {
    pub fn new(operation: &'static str, point: FaultPoint) -> Self {
        CallFault { operation, point, armed: Arc::default() }
    }

    pub fn arm(&self, armed: bool) {
        self.armed.store(armed, SeqCst);
    }

    fn fail_at(
        &self,
        point: FaultPoint,
        cfg: &aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        use aws_smithy_runtime_api::client::orchestrator::Metadata;
        let operation = cfg.load::<Metadata>().map(|m| m.name());
        if self.armed.load(SeqCst) && point == self.point && operation == Some(self.operation) {
            return Err(format!("injected fault: {} {point:?}", self.operation).into());
        }
        Ok(())
    }
}

impl aws_sdk_dynamodb::config::Intercept for CallFault {
    fn name(&self) -> &'static str {
        "CallFault"
    }

    fn read_before_transmit(
        &self,
        _context: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _components: &aws_sdk_dynamodb::config::RuntimeComponents,
        cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        self.fail_at(FaultPoint::BeforeSend, cfg)
    }

    fn read_after_transmit(
        &self,
        _context: &aws_sdk_dynamodb::config::interceptors::BeforeDeserializationInterceptorContextRef<'_>,
        _components: &aws_sdk_dynamodb::config::RuntimeComponents,
        cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        self.fail_at(FaultPoint::AfterCommit, cfg)
    }
}
