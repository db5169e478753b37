use super::*;
use aws_sdk_dynamodb::types::CancellationReason;

/// Reason codes as the SDK hands them over, from injected `CancellationReason`s.
fn reasons(codes: &[&str]) -> Vec<Option<String>> {
    codes.iter().map(|c| CancellationReason::builder().code(*c).build()).map(|r| r.code().map(str::to_string)).collect()
}

/// A cancellation of items with these roles, one code each.
fn cancelled<R: Copy>(items: &[(R, &str)]) -> Cancelled<R> {
    let codes = reasons(&items.iter().map(|(_, code)| *code).collect::<Vec<_>>());
    Cancelled { reasons: items.iter().map(|(role, _)| *role).zip(codes).collect() }
}

const FAILED: &str = "ConditionalCheckFailed";

#[test]
fn create_reasons_map_to_statuses() {
    use CreateFailure::*;
    use CreateRole::{EmailGuard, Entity, Integration, SlugGuard};
    let create = |codes: [&str; 4]| {
        create_failure(&cancelled(&[
            (Integration, codes[0]),
            (Entity, codes[1]),
            (SlugGuard, codes[2]),
            (EmailGuard, codes[3]),
        ]))
    };
    assert_eq!(create([FAILED, "None", FAILED, "None"]), IntegrationNotFound);
    assert_eq!(create(["None", "None", FAILED, "None"]), Taken { slug_taken: true, email_taken: false });
    assert_eq!(create(["None", "None", "None", FAILED]), Taken { slug_taken: false, email_taken: true });
    assert_eq!(create(["None", "None", FAILED, FAILED]), Taken { slug_taken: true, email_taken: true });
    assert_eq!(create(["None", FAILED, "None", "None"]), IdTaken);
    assert_eq!(create(["None", "ThrottlingError", "None", "None"]), Other);
}

#[test]
fn patch_reasons_map_to_statuses() {
    use PatchFailure::*;
    use PatchRole::{Client, NewEmailGuard, OldEmailGuard, User};
    let patch = |items: &[(PatchRole, &str)]| patch_failure(&cancelled(items));
    assert_eq!(patch(&[(Client, "None"), (NewEmailGuard, FAILED), (OldEmailGuard, "None")]), EmailTaken);
    assert_eq!(patch(&[(Client, FAILED), (NewEmailGuard, "None"), (OldEmailGuard, "None")]), RecordChanged);
    assert_eq!(
        patch(&[(Client, "None"), (NewEmailGuard, "None"), (OldEmailGuard, "None"), (User, FAILED)]),
        UserChanged
    );
    assert_eq!(patch(&[(Client, "None"), (User, FAILED)]), UserChanged);
    assert_eq!(patch(&[(Client, "None"), (User, "ValidationError")]), Other);
}

#[test]
fn reasons_are_read_by_role_whatever_the_order() {
    use PatchRole::{Client, User};
    let cancelled = cancelled(&[(User, FAILED), (Client, "None")]);
    assert!(cancelled.failed(User) && !cancelled.failed(Client) && !cancelled.failed(PatchRole::NewEmailGuard));
    assert_eq!(format!("{cancelled:?}"), r#"[Some("ConditionalCheckFailed"), Some("None")]"#);
}

#[test]
fn only_pure_conflicts_are_retried() {
    assert!(conflicted(&reasons(&["TransactionConflict", "None"])));
    assert!(!conflicted(&reasons(&["TransactionConflict", FAILED])), "a failed condition is final");
    assert!(!conflicted(&reasons(&["None", "None"])));
}
