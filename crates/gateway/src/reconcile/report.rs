//! What a reconciliation found: the drift between the store and a vendor.

use scim::ResourceKind;

/// One difference between the store and the vendor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// The store has the resource; the vendor has no account for it.
    MissingAtVendor {
        kind: ResourceKind,
        id: String,
        name: String,
    },
    /// The vendor has an account the store does not know; `imported_as` is the new id when
    /// it was imported.
    OnlyAtVendor {
        kind: ResourceKind,
        name: String,
        imported_as: Option<String>,
    },
    /// Both have it, but they disagree.
    Differs {
        kind: ResourceKind,
        id: String,
        name: String,
        differences: Vec<String>,
    },
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Drift::MissingAtVendor { kind, id, name } => {
                write!(f, "{kind} {name} ({id}): missing at the vendor")
            }
            Drift::OnlyAtVendor {
                kind,
                name,
                imported_as: None,
            } => write!(f, "{kind} {name}: only at the vendor"),
            Drift::OnlyAtVendor {
                kind,
                name,
                imported_as: Some(id),
            } => write!(f, "{kind} {name}: only at the vendor; imported as {id}"),
            Drift::Differs {
                kind,
                id,
                name,
                differences,
            } => write!(f, "{kind} {name} ({id}): {}", differences.join("; ")),
        }
    }
}

/// What a reconciliation found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Resources in the store, per kind compared.
    pub stored: usize,
    /// Accounts the vendor listed.
    pub at_vendor: usize,
    /// Resources that agree.
    pub in_sync: usize,
    pub drift: Vec<Drift>,
}

impl Report {
    /// Drift an operator still has to act on (imported accounts are settled).
    pub fn unresolved(&self) -> usize {
        self.drift
            .iter()
            .filter(|d| {
                !matches!(
                    d,
                    Drift::OnlyAtVendor {
                        imported_as: Some(_),
                        ..
                    }
                )
            })
            .count()
    }
}
