//! Integration tests of the store, each run on SQLite and on PostgreSQL (see `support`).

#[macro_use]
mod support;

mod crud;
mod guard;
mod journal;
mod keyset;
mod list;
mod membership;
mod open;
mod paging;
mod queue;
mod trail;
mod uniqueness;
