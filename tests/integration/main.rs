//! The end-to-end tests, one binary (as ripgrep's): each module starts the
//! real `ssrt` binary on a copy of a fixture app and talks to it with real
//! WebSocket, HTTP and browser clients, against real Redis, Sentinel,
//! PostgreSQL and MariaDB servers it starts. `support` holds the helpers.
//!
//! Run one group with `cargo test --test integration <module>::`.

mod support;

mod assets;
mod browser;
mod chat;
mod cli;
mod console;
mod engines;
mod generations;
mod http_api;
mod https;
mod later_api_browser;
mod logging;
mod new_project;
mod node;
mod r_global;
mod redis;
mod sentinel;
mod sessions;
mod websocket;
