//! The route catalogue (docs/api.md#routes): which method and exact path is which route.

use http::Method;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteId {
    ClientsUpdate,
    EntitiesCreate,
}

impl RouteId {
    pub const ALL: [RouteId; 2] = [RouteId::ClientsUpdate, RouteId::EntitiesCreate];

    /// The route's name in the registry and in application permissions.
    pub fn name(self) -> &'static str {
        match self {
            RouteId::ClientsUpdate => "clients.update",
            RouteId::EntitiesCreate => "entities.create",
        }
    }

    pub fn service(self) -> &'static str {
        match self {
            RouteId::ClientsUpdate => "clients",
            RouteId::EntitiesCreate => "entities",
        }
    }

    pub fn method(self) -> Method {
        match self {
            RouteId::ClientsUpdate => Method::PUT,
            RouteId::EntitiesCreate => Method::POST,
        }
    }

    pub fn path(self) -> &'static str {
        match self {
            RouteId::ClientsUpdate => "/api/v1/clients/update",
            RouteId::EntitiesCreate => "/api/v1/entities/create",
        }
    }

    /// Sensitive routes take their JSON body base64-encoded (docs/api.md#sensitive-routes).
    pub fn sensitive(self) -> bool {
        matches!(self, RouteId::ClientsUpdate)
    }

    pub fn from_name(name: &str) -> Option<RouteId> {
        RouteId::ALL.into_iter().find(|r| r.name() == name)
    }

    /// Method and exact path; a trailing `/` is another path and the query string is ignored.
    pub fn identify(method: &Method, path: &str) -> Option<RouteId> {
        RouteId::ALL.into_iter().find(|r| r.method() == method && r.path() == path)
    }
}

/// Every service named by a route, once.
pub fn services() -> Vec<&'static str> {
    let mut all: Vec<_> = RouteId::ALL.iter().map(|r| r.service()).collect();
    all.dedup();
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifies_exact_method_and_path_only() {
        assert_eq!(RouteId::identify(&Method::PUT, "/api/v1/clients/update"), Some(RouteId::ClientsUpdate));
        assert_eq!(RouteId::identify(&Method::POST, "/api/v1/entities/create"), Some(RouteId::EntitiesCreate));
        assert_eq!(RouteId::identify(&Method::PUT, "/api/v1/clients/update/"), None);
        assert_eq!(RouteId::identify(&Method::POST, "/api/v1/clients/update"), None);
        assert_eq!(RouteId::identify(&Method::POST, "/API/v1/entities/create"), None);
    }
}
