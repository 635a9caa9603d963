//! Authentication of SCIM clients (being written).
