//! The shared vendor plumbing against a real simulator over real sockets.

mod http;
mod mytimetable;
mod status;
mod timeedit;
mod timeedit_soap;
mod workspace365;
mod workspace365_adsync;
