//! The mytimetable connector against the MyTimetable simulator over real sockets.

mod connector;
mod status;
