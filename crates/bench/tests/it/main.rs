//! Integration tests of scim-bench against the real gateway over real sockets.

mod gateway;
