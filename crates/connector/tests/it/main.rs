//! The shared vendor plumbing against a real simulator over real sockets.

mod http;
