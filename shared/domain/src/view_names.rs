//! The names of the views a request may ask for (docs/api.md#views), as enums the params reader
//! parses and the client-field table refers to; what each view shows is [`crate::views`].

/// A view's name in requests, parsed into its enum by the params reader.
pub trait ViewName: Copy + 'static {
    /// Every name, in the documented order.
    const NAMES: &'static [&'static str];
    const ALL: &'static [Self];

    fn as_str(self) -> &'static str;

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.as_str() == name)
    }
}

/// An enum of view names with `ALL`, `NAMES` and `as_str`, as `Status` and `RouteId` have.
macro_rules! views {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl ViewName for $name {
            const NAMES: &'static [&'static str] = &[$($text),+];
            const ALL: &'static [Self] = &[$($name::$variant),+];

            fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }
    };
}

views!(
    /// `session_view` (docs/api.md#session-and-application-views).
    SessionView { Default = "default" }
);
views!(
    /// `application_view` (docs/api.md#session-and-application-views).
    ApplicationView { Default = "default" }
);
views!(
    /// A Clients Update's `view` (docs/api.md#views); `Default` when absent.
    ClientView {
        Default = "default",
        ClientRead = "client_read",
        Profile = "planox_client_read_profile",
        Tours = "planox_client_read_tours",
        Branding = "planox_client_read_branding",
        Preferences = "planox_client_read_preferences",
        ContractType = "contract_type_view",
    }
);
views!(
    /// An Entities Create's `view` (docs/api.md#views); `Entity` when absent.
    EntityView {
        Entity = "entity_view",
        Profile = "planox_company_read_profile",
        Preferences = "planox_company_read_preferences",
        AdminRead = "planoadmin_company_read",
    }
);
