//! End-to-end: the real gateway on a real socket (127.0.0.1:0), driven over HTTP the way
//! Entra ID, Okta and HR systems drive it (docs/identity-providers.md "Identity providers"). Every scenario runs on SQLite and
//! on PostgreSQL (`TEST_DATABASE_URL`, set by .ci/run).

mod common;
mod vendors;

mod auth_and_input;
mod bulk;
mod cache;
mod cli;
mod concurrency;
mod console;
mod deploy;
mod discovery;
mod docs_commands;
mod entra;
mod groups;
mod guard;
mod history;
mod hostile;
mod layout;
mod limits;
mod mytimetable;
mod okta;
mod queue;
mod replicas;
mod restart;
mod signals;
mod timeedit;
mod tls;
mod workspace365;
