//! Requests raced for real: each on its own task of the test's multi-thread runtime.

use std::future::Future;
use std::sync::Arc;

/// Runs `call` on every input at once, each on its own spawned task, released together by one
/// barrier; the answers in input order.
pub async fn at_once<I, T, F, Fut>(inputs: Vec<I>, call: F) -> Vec<T>
where
    I: Send + 'static,
    T: Send + 'static,
    F: Fn(I) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = T> + Send,
{
    let barrier = Arc::new(tokio::sync::Barrier::new(inputs.len()));
    let tasks: Vec<_> = inputs
        .into_iter()
        .map(|input| {
            let (call, barrier) = (call.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                call(input).await
            })
        })
        .collect();
    let mut answers = Vec::with_capacity(tasks.len());
    for task in tasks {
        answers.push(task.await.expect("the raced task finished"));
    }
    answers
}
