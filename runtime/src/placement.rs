//! Which engine serves each connection, when the app runs in several.
//!
//! A connection keeps its engine for its life, so its calls run in order
//! against one set of module variables. Tabs of one session go to the same
//! engine, where they share one `@session` object as with a single engine;
//! any other connection goes to the engine serving the fewest.

use std::collections::HashMap;

#[derive(Debug)]
pub(crate) struct Placement {
    /// Connection → its engine and its session's id.
    connections: HashMap<u32, (usize, String)>,
    /// Session id → the engine its tabs go to, and how many are open.
    sessions: HashMap<String, (usize, usize)>,
    /// Open connections per engine.
    load: Vec<usize>,
}

impl Placement {
    pub(crate) fn new(engines: usize) -> Self {
        Self {
            connections: HashMap::new(),
            sessions: HashMap::new(),
            load: vec![0; engines],
        }
    }

    /// The engine for a connection with session `session_id`: where it is
    /// already (a session attached again), else where its session's other
    /// tabs are, else the least loaded of those `usable` says may take it.
    pub(crate) fn place(
        &mut self,
        connection: u32,
        session_id: &str,
        usable: impl Fn(usize) -> bool,
    ) -> usize {
        if let Some((engine, id)) = self.connections.get(&connection)
            && id == session_id
        {
            return *engine;
        }
        self.remove(connection);
        let engine = match self.sessions.get(session_id) {
            Some(&(engine, _)) if usable(engine) => engine,
            _ => self.least_loaded(&usable),
        };
        self.add(connection, engine, session_id.to_owned());
        engine
    }

    /// The engine serving a connection, if it was placed.
    pub(crate) fn engine_of(&self, connection: u32) -> Option<usize> {
        self.connections.get(&connection).map(|(engine, _)| *engine)
    }

    /// Moves a connection (and the tabs of its session that come later) to
    /// the least loaded engine that `usable` allows; the new engine, or
    /// `None` if there is none.
    pub(crate) fn relocate(
        &mut self,
        connection: u32,
        usable: impl Fn(usize) -> bool,
    ) -> Option<usize> {
        let (from, id) = self.connections.get(&connection).cloned()?;
        let to = self.least_loaded(&|engine| engine != from && usable(engine));
        if to == from || !usable(to) {
            return None;
        }
        self.remove(connection);
        self.add(connection, to, id);
        Some(to)
    }

    /// Forgets a closed connection; the engine it was on.
    pub(crate) fn remove(&mut self, connection: u32) -> Option<usize> {
        let (engine, id) = self.connections.remove(&connection)?;
        self.load[engine] -= 1;
        if let Some((_, open)) = self.sessions.get_mut(&id) {
            *open -= 1;
            if *open == 0 {
                self.sessions.remove(&id);
            }
        }
        Some(engine)
    }

    /// A session got a new id (a login): its tabs, open and to come, follow.
    pub(crate) fn rotated(&mut self, old_id: &str, new_id: &str) {
        let Some(entry) = self.sessions.remove(old_id) else {
            return;
        };
        for (_, id) in self.connections.values_mut() {
            if id == old_id {
                new_id.clone_into(id);
            }
        }
        self.sessions.insert(new_id.to_owned(), entry);
    }

    fn add(&mut self, connection: u32, engine: usize, id: String) {
        self.load[engine] += 1;
        let session = self.sessions.entry(id.clone()).or_insert((engine, 0));
        // Later tabs go where the latest one went.
        *session = (engine, session.1 + 1);
        self.connections.insert(connection, (engine, id));
    }

    /// The usable engine with the fewest connections (the first on a tie);
    /// engine 0 when none is usable.
    fn least_loaded(&self, usable: &dyn Fn(usize) -> bool) -> usize {
        (0..self.load.len())
            .filter(|&engine| usable(engine))
            .min_by_key(|&engine| self.load[engine])
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANY: fn(usize) -> bool = |_| true;

    #[test]
    fn connections_spread_and_a_sessions_tabs_stay_together() {
        let mut placement = Placement::new(3);
        assert_eq!(placement.place(1, "a", ANY), 0);
        assert_eq!(placement.place(2, "b", ANY), 1);
        assert_eq!(placement.place(3, "c", ANY), 2);
        // A second tab of session b joins the first.
        assert_eq!(placement.place(4, "b", ANY), 1);
        // Attached again with the same session: it stays.
        assert_eq!(placement.place(4, "b", ANY), 1);
        assert_eq!(placement.place(5, "d", ANY), 0);
        assert_eq!(placement.load, [2, 2, 1]);

        assert_eq!(placement.remove(2), Some(1));
        assert_eq!(placement.remove(4), Some(1));
        assert_eq!(placement.remove(4), None);
        assert!(!placement.sessions.contains_key("b"));
        assert_eq!(placement.place(6, "e", ANY), 1);
    }

    #[test]
    fn an_unusable_engine_gets_no_new_connections() {
        let mut placement = Placement::new(2);
        assert_eq!(placement.place(1, "a", ANY), 0);
        // Engine 0 is down: a new tab of session a goes elsewhere, and so do
        // the tabs after it.
        assert_eq!(placement.place(2, "a", |engine| engine != 0), 1);
        assert_eq!(placement.place(3, "a", ANY), 1);
        // Nothing usable: engine 0, where calls wait for it to come back.
        assert_eq!(placement.place(4, "b", |_| false), 0);
    }

    #[test]
    fn a_connection_moves_off_its_engine_and_its_session_follows_logins() {
        let mut placement = Placement::new(2);
        placement.place(1, "a", ANY);
        placement.place(2, "b", ANY);
        assert_eq!(placement.relocate(1, ANY), Some(1));
        assert_eq!(placement.engine_of(1), Some(1));
        assert_eq!(placement.load, [0, 2]);
        // Nowhere else to go.
        assert_eq!(placement.relocate(1, |engine| engine == 1), None);
        assert_eq!(placement.relocate(9, ANY), None);

        placement.rotated("a", "a2");
        assert_eq!(placement.place(3, "a2", ANY), 1);
        assert_eq!(placement.place(1, "a2", ANY), 1);
        assert!(!placement.sessions.contains_key("a"));
    }
}
