// `@session` (SPEC 6, and the later API's additions): one object per
// session shared by its tabs, channels, the session's own events, login and
// logout; and the connections Rust attaches and detaches.
"use strict";
((globalThis) => {
  const internal = globalThis.__ssrt;
  const { ops, later, app } = internal;
  const { online, onlineSettings, serverEvent } = app;

  /** Sessions by id, shared by every tab (connection) that uses them. */
  const sessionsById = new Map();
  /** The session of each open connection, by the connection's number. */
  const sessionsByConnection = new Map();

  /** Sessions of HTTP API calls, which are never stored. */
  const ephemeral = new WeakSet();

  /** Stores one field of a session, then calls `callback(true|false)`. */
  function persist(session, field, value, callback) {
    if (ephemeral.has(session)) {
      later(callback, true);
      return;
    }
    ops.op_session_set(session.id, session.created_at, field, value).then(
      () => later(callback, true),
      (error) => {
        console.error(`Cannot store session ${session.id}: ${error.message}`);
        later(callback, false);
      },
    );
  }

  /** Moves a session to a new id (Rust renames it in the store and tells
   * its connections), then calls `done`; on failure it keeps its id. */
  function rotate(session, done) {
    const oldId = session.id;
    ops.op_session_rotate(oldId).then(
      (newId) => {
        const entry = sessionsById.get(oldId);
        if (entry) {
          sessionsById.delete(oldId);
          sessionsById.set(newId, entry);
        }
        session.id = newId;
        done();
      },
      (error) => {
        console.error(`Cannot give session ${oldId} a new id: ${error.message}`);
        done();
      },
    );
  }

  /** Each session's listeners (`@session.on 'disconnect'`), made on first use. */
  const sessionEmitters = new WeakMap();
  function emitterOf(session) {
    let emitter = sessionEmitters.get(session);
    if (!emitter) {
      const { EventEmitter } = process.getBuiltinModule("events");
      emitter = new EventEmitter();
      sessionEmitters.set(session, emitter);
    }
    return emitter;
  }

  /** Each session's `@session.channel`, made on first use. */
  const channelApis = new WeakMap();

  /**
   * `@session.channel` (the later API): the channels whose events the
   * session's tabs get. Changes are stored with the session and reach the
   * server's fan-out at once. Callbacks get `true` (0.1 passed something
   * else there, never a callback, so 0.1 apps' second arguments are ignored);
   * `list` also returns the list, as apps up to 0.2.4 used it.
   */
  function channelApi(session) {
    const names = (nameOrArray) => (Array.isArray(nameOrArray) ? nameOrArray : [nameOrArray]).map(String);
    const change = (channels, cb) => {
      session.channels = channels;
      ops.op_session_channels(session.id, channels);
      const done = typeof cb === "function" && app.generation !== "0.1" ? cb : null;
      persist(session, "channels", JSON.stringify(channels), () => later(done, true));
    };
    return {
      subscribe(nameOrArray, cb) {
        const added = names(nameOrArray).filter((name) => !session.channels.includes(name));
        change([...session.channels, ...added], cb);
        for (const name of added) serverEvent("channel:subscribe", session, name);
      },
      unsubscribe(nameOrArray, cb) {
        const removed = names(nameOrArray).filter((name) => session.channels.includes(name));
        change(session.channels.filter((name) => !removed.includes(name)), cb);
        for (const name of removed) serverEvent("channel:unsubscribe", session, name);
      },
      unsubscribeAll(cb) {
        this.unsubscribe(session.channels, cb);
      },
      list(cb) {
        const list = [...session.channels];
        if (typeof cb === "function") later(cb, list);
        return list;
      },
    };
  }

  /** Methods every `@session` shares (one copy, not one per session). */
  const SessionMethods = {
    get channel() {
      let api = channelApis.get(this);
      if (!api) {
        api = channelApi(this);
        channelApis.set(this, api);
      }
      return api;
    },
    /** 0.0.44–0.1's session events: `'disconnect'` when a tab of it closes. */
    on(name, listener) {
      emitterOf(this).on(name, listener);
      return this;
    },
    once(name, listener) {
      emitterOf(this).once(name, listener);
      return this;
    },
    removeListener(name, listener) {
      emitterOf(this).removeListener(name, listener);
      return this;
    },
    emit(name, ...args) {
      return sessionEmitters.has(this) && emitterOf(this).emit(name, ...args);
    },
    loggedIn() {
      return this.user_id !== null && this.user_id !== undefined && this.user_id !== "";
    },
    /** Stores `attributes`, so any instance resuming the session sees them. */
    save(callback) {
      persist(this, "attributes", JSON.stringify(this.attributes ?? {}), callback);
    },
    /**
     * Logs the session in as `userId` (null logs it out): the session gets a
     * new id (an id known before cannot follow it), every tab now gets that
     * user's events, and the user is marked online.
     */
    setUserId(userId, callback) {
      const previous = this.user_id;
      this.user_id = userId === null || userId === undefined ? null : String(userId);
      if (ephemeral.has(this)) {
        persist(this, "user_id", this.user_id ?? "", callback);
        return;
      }
      rotate(this, () => {
        ops.op_session_user_changed(this.id, this.user_id ?? "");
        if (this.user_id !== null && onlineSettings().enabled !== false) online.add(this.user_id);
        if (this.user_id === null && previous) online.remove(previous);
        persist(this, "user_id", this.user_id ?? "", callback);
      });
    },
    logout(callback) {
      this.setUserId(null, callback);
    },
    /**
     * Asks the module `moduleName` (normally in lib/server) whether `params`
     * log a user in: its `exports.authenticate(params, cb)` answers
     * `{success, user_id, …}`; on success the session is logged in.
     */
    authenticate(moduleName, params, callback) {
      const auth = internal.require(moduleName, $SS.root + "/app/server/index");
      if (!auth || typeof auth.authenticate !== "function") {
        throw new Error(`The module '${moduleName}' has no exports.authenticate function`);
      }
      auth.authenticate(params, (reply) => {
        if (reply && reply.success) {
          this.setUserId(reply.user_id ?? null, () => later(callback, reply));
        } else {
          later(callback, reply);
        }
      });
    },
  };

  function makeSession(data) {
    const session = Object.create(SessionMethods);
    session.id = data.id;
    session.created_at = data.created_at;
    session.attributes = data.attributes ?? {};
    session.user_id = data.user_id ?? null;
    session.channels = Array.isArray(data.channels) ? data.channels : [];
    session.newly_created = !!data.newly_created;
    return session;
  }

  internal.attachSession = (connection, dataJson) => {
    const data = JSON.parse(dataJson);
    let entry = sessionsById.get(data.id);
    if (entry) {
      // Another tab resumed it: the session is shared, and no longer new.
      entry.refs += 1;
      entry.session.newly_created = !!data.newly_created;
    } else {
      entry = { session: makeSession(data), refs: 1 };
      sessionsById.set(data.id, entry);
    }
    sessionsByConnection.set(connection, entry.session);
    serverEvent("client:init", entry.session);
  };
  internal.detachSession = (connection) => {
    const session = sessionsByConnection.get(connection);
    if (!session) return;
    sessionsByConnection.delete(connection);
    const entry = sessionsById.get(session.id);
    if (entry && --entry.refs === 0) sessionsById.delete(session.id);
    if (app.generation !== "0.0.36") {
      serverEvent("client:disconnect", session);
      try {
        session.emit("disconnect", session);
      } catch (error) {
        internal.reportError(error, "a session 'disconnect' listener");
      }
    }
  };

  /**
   * A later-API client's heartbeat (every `client.heartbeat_interval` s):
   * its user stays online (`users_online` purges those unheard of), and
   * `client:heartbeat` is emitted.
   */
  internal.heartbeat = (connection) => {
    const session = sessionsByConnection.get(connection);
    if (!session) return;
    if (session.loggedIn() && onlineSettings().enabled !== false) online.confirm(session.user_id);
    serverEvent("client:heartbeat", session);
  };

  app.sessions = { byConnection: sessionsByConnection, make: makeSession, ephemeral };
})(globalThis);
