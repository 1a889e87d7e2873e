// $SS on the server: loading an app (SPEC 1) and calling its actions (SPEC 2).
// Rust owns sockets and sessions; it calls `internal.dispatch*` with a call id
// and gets the outcome back through the `op_reply` / `op_reply_error` ops.
"use strict";
((globalThis) => {
  const internal = globalThis.__ssrt;
  const { ops, later } = internal;

  const $SS = {
    version: ops.op_ssrt_version(),
    env: "development",
    config: {},
    root: "/",
    server: {},
    shared: {},
    publish: {
      broadcast: (event, params) => publish("broadcast", null, event, params),
      user: (userId, event, params) => publish("user", [userId], event, params),
      users: (userIds, event, params) => publish("user", userIds, event, params),
      /** To every member of the set `<prefix>:group:<name>`. */
      group: (name, event, params) => {
        store("SMEMBERS", storeKey(`group:${name}`)).then(
          (members) => members.length && publish("user", members, event, params),
          (error) => console.error(`$SS.publish.group: ${error.message}`),
        );
      },
    },
  };
  globalThis.$SS = $SS;

  // ---- users online (SPEC 6) ---------------------------------------------

  /** A store command on database 0 (sessions and users online live there). */
  const store = (...args) => ops.op_store_command(0, args.map(String));
  const storeKey = (name) => `${$SS.config.redis?.key_prefix ?? "ss"}:${name}`;
  const onlineSettings = () => $SS.config.users?.online ?? {};
  const minuteStart = () => Math.floor(Date.now() / 60000) * 60;
  const warnFailure = (what) => (error) => console.error(`$SS.users.online.${what}: ${error.message}`);

  /**
   * Users online: the set `<prefix>:online:now`, plus one set per minute,
   * `<prefix>:online:at:<unix minute start>`, of who was seen in it. A purge
   * keeps in `now` only users seen within `config.users.online.mins` minutes.
   */
  const online = {
    add(userId) {
      const id = String(userId);
      const bucket = storeKey(`online:at:${minuteStart()}`);
      store("SADD", storeKey("online:now"), id).catch(warnFailure("add"));
      store("SADD", bucket, id).catch(warnFailure("add"));
      if (!onlineSettings().keep_historic) {
        const seconds = ((onlineSettings().mins ?? 2) + 1) * 60;
        store("EXPIRE", bucket, seconds).catch(warnFailure("add"));
      }
    },
    confirm(userId) {
      online.add(userId);
    },
    remove(userId) {
      store("SREM", storeKey("online:now"), String(userId)).catch(warnFailure("remove"));
    },
    /** `callback(userIds)` with everyone online now. */
    all(callback) {
      store("SMEMBERS", storeKey("online:now")).then(
        (ids) => later(callback, ids),
        (error) => {
          warnFailure("all")(error);
          later(callback, []);
        },
      );
    },
    /** Drops users not seen in the last `mins` minutes; `callback()` when done. */
    purge(callback) {
      const mins = onlineSettings().mins ?? 2;
      const now = minuteStart();
      const recent = [];
      for (let i = 0; i < mins; i++) recent.push(store("SMEMBERS", storeKey(`online:at:${now - i * 60}`)));
      Promise.all([store("SMEMBERS", storeKey("online:now")), ...recent])
        .then(([current, ...buckets]) => {
          const seen = new Set(buckets.flat());
          const gone = current.filter((id) => !seen.has(id));
          return gone.length ? store("SREM", storeKey("online:now"), ...gone) : null;
        })
        .catch(warnFailure("purge"))
        .finally(() => later(callback));
    },
  };
  $SS.users = { online };

  /** Purges users online every minute, when `users.online.enabled`. */
  function startOnlinePurge() {
    if (onlineSettings().enabled === false) return;
    setInterval(() => online.purge(), 60_000);
  }

  function publish(kind, targets, event, params) {
    if (typeof event !== "string" || event === "") {
      throw new TypeError(`$SS.publish.${kind} needs an event name`);
    }
    const ids = targets === null ? [] : (Array.isArray(targets) ? targets : [targets]).map(String);
    ops.op_publish(kind, ids, event, JSON.stringify(params ?? null));
  }

  // ---- loading ---------------------------------------------------------

  /** Server files by their path name (`users/online`): actions and flags. */
  const serverFiles = new Map();

  /** Places `value` at the `/`-separated `name` below `tree`, creating objects between. */
  function place(tree, name, value) {
    const parts = name.split("/");
    const last = parts.pop();
    let node = tree;
    for (const part of parts) node = node[part] ??= {};
    node[last] = value;
  }

  const capitalised = (name) => name.charAt(0).toUpperCase() + name.slice(1);

  /**
   * Loads the app described by `manifest` (built in Rust from the project on
   * disk). Throws, with the file named, when any of it fails to load.
   */
  internal.loadApp = (manifestJson) => {
    const manifest = JSON.parse(manifestJson);
    $SS.env = manifest.env;
    $SS.config = manifest.config;
    $SS.root = manifest.root;
    generation = manifest.generation;
    if (generation !== "0.0.36") defineLaterGlobals(manifest.root);
    internal.setRequirePaths(manifest.root, manifest.requirePaths);
    internal.setNodeVersion($SS.config.node_version);
    const load = (path) => {
      try {
        return internal.require(path);
      } catch (error) {
        throw withFile(error, path);
      }
    };

    for (const file of manifest.shared) {
      const exports = load(file.path);
      const className = capitalised(file.name.split("/").pop());
      const Class = exports[className];
      if (generation !== "0.0.36") {
        // From 0.0.40, shared files are plain modules: their exports.
        place($SS.shared, file.name, exports);
      } else if (typeof Class === "function") {
        place($SS.shared, file.name, new Class());
      } else {
        console.warn(
          `${internal.shownPath(file.path)} has no exports.${className} class; $SS.shared.${file.name.replaceAll("/", ".")} is its exports object`,
        );
        place($SS.shared, file.name, exports);
      }
    }
    if (manifest.db) load(manifest.db);
    if (manifest.events && generation !== "0.0.36") load(manifest.events);
    for (const file of manifest.server) {
      const exports = load(file.path);
      const actions = exports.actions && typeof exports.actions === "object" ? exports.actions : {};
      serverFiles.set(file.name, { actions, authenticate: exports.authenticate === true });
      place($SS.server, file.name, actions);
    }
    let http;
    try {
      http = internal.loadHttpMiddleware(manifest.http, manifest.env);
    } catch (error) {
      throw withFile(error, manifest.http);
    }
    startOnlinePurge();
    return JSON.stringify({ server: manifest.server.length, shared: manifest.shared.length, http });
  };

  /**
   * The later API (0.0.37–0.2, SPEC-0.2-compat §2.1) names the global `SS`;
   * `$SS` stays too. Defined before the app's first file loads: apps read
   * `SS.users.online.now` and call `SS.require` at module load.
   */
  function defineLaterGlobals(root) {
    globalThis.SS = $SS;
    const { EventEmitter } = process.getBuiltinModule("events");
    $SS.events = new EventEmitter();
    $SS.require = (path) => internal.require(`${root}/lib/server/${path}`);
    online.now = online.all;
    $SS.publish.channel = (names, event, params) => publish("channel", names, event, params);
    $SS.publish.channels = $SS.publish.channel;
    $SS.publish.socket = (ids, event, params) => publish("socket", ids, event, params);
    $SS.publish.sockets = $SS.publish.socket;
  }

  /** Makes sure a load error names the file it came from. */
  function withFile(error, path) {
    const file = internal.shownPath(path);
    if (error instanceof Error) {
      if (!String(error.message).includes(file) && !String(error.stack ?? "").includes(path)) {
        error.message = `${file}: ${error.message}`;
      }
      return error;
    }
    return new Error(`${file} threw ${String(error)}`);
  }

  // ---- sessions --------------------------------------------------------

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

  /**
   * A server event of the later API (`client:init`, `client:disconnect`,
   * `application:exception`) on `SS.events`; a listener that throws is
   * logged, not passed on.
   */
  function serverEvent(name, ...args) {
    if (generation === "0.0.36" || !$SS.events) return;
    try {
      $SS.events.emit(name, ...args);
    } catch (error) {
      internal.reportError(error, `an SS.events '${name}' listener`);
    }
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
      const done = typeof cb === "function" && generation !== "0.1" ? cb : null;
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
    if (generation !== "0.0.36") {
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

  // ---- dispatch --------------------------------------------------------

  class ActionError {
    constructor(code, message) {
      this.code = code;
      this.message = message;
    }
  }

  /**
   * The app's SocketStream API generation (`0.0.36`, `0.1`, `0.2`; set at
   * load). Where their dispatch rules conflict (SPEC-0.2-compat §2.2, §6),
   * the app's own apply.
   */
  let generation = "0.0.36";

  /** 0.2's names for the dispatch errors. */
  const CODES_0_2 = {
    invalid_action_length: "INVALID_ACTION_LENGTH",
    reserved_word: "RESERVED_WORD",
    unable_to_find_module: "MODULE_NOT_FOUND",
    action_missing: "ACTION_NOT_FOUND",
    callback_missing: "MISSING_CALLBACK",
    params_missing: "MISSING_ARGS",
    params_not_required: "TOO_MANY_ARGS",
    application_error: "APPLICATION_ERROR",
    not_logged_in: "UNAUTHORIZED",
  };

  /** Names 0.2 keeps for itself on the actions object. */
  const RESERVED_0_2 = new Set(["getSession", "session", "request", "user"]);

  /**
   * A resolved method: the action, the object it lives on, and a constructor
   * for `this` in a call (an object whose prototype is that owner).
   */
  class Route {
    constructor(file, owner, action, name) {
      this.file = file;
      this.owner = owner;
      this.action = action;
      this.name = name;
      this.Context = function Context(session, user) {
        this.session = session;
        this.user = user;
      };
      this.Context.prototype = owner;
    }
  }

  /** Finds the action for `method` (`users.online.yesterday`), or throws ActionError. */
  function lookup(method) {
    const parts = method.split(".");
    if (parts.length < 2 || parts.some((part) => part === "")) {
      throw new ActionError(
        "invalid_action_length",
        `Invalid action '${method}': a method has a file and an action name, e.g. app.square`,
      );
    }
    for (let split = parts.length - 1; split >= 1; split--) {
      const file = serverFiles.get(parts.slice(0, split).join("/"));
      if (!file) continue;
      const actionPath = parts.slice(split);
      let owner = file.actions;
      for (const part of actionPath.slice(0, -1)) {
        owner = owner !== null && typeof owner === "object" && Object.hasOwn(owner, part) ? owner[part] : null;
      }
      const name = actionPath[actionPath.length - 1];
      if (generation === "0.2" && RESERVED_0_2.has(name)) {
        throw new ActionError("reserved_word", `'${name}' is a reserved word and cannot be an action name`);
      }
      const action = owner !== null && typeof owner === "object" && Object.hasOwn(owner, name) ? owner[name] : null;
      if (typeof action !== "function") {
        throw new ActionError(
          "action_missing",
          `Unable to find the '${actionPath.join(".")}' action in /app/server/${parts.slice(0, split).join("/")}. Action names are case sensitive`,
        );
      }
      return new Route(file, owner, action, actionPath.join("."));
    }
    throw new ActionError(
      "unable_to_find_module",
      `Unable to find the /app/server/${parts.slice(0, -1).join("/")} module. Does the file exist?`,
    );
  }

  /** Routes of methods called so far; only found ones, so junk names cannot grow it. */
  const routes = new Map();
  function route(method) {
    let found = routes.get(method);
    if (found === undefined) {
      found = lookup(method);
      routes.set(method, found);
    }
    return found;
  }

  /**
   * SPEC 2's arity rules: the arguments sent (one params value, or for 0.2
   * each of its array's items), then the callback; the action's own
   * arity must match.
   */
  function checkArity(action, name, sent) {
    const arity = action.length;
    const expected = sent + 1;
    if (arity === expected) return;
    if (arity === 0) {
      throw new ActionError("callback_missing", `The ${name} action is missing the callback argument`);
    }
    if (arity > expected) {
      throw new ActionError("params_missing", `The ${name} action expects params but none were sent`);
    }
    throw new ActionError("params_not_required", `The ${name} action was sent params but can't receive them`);
  }

  /**
   * Answers a call with an error. What an action threw goes to the browser
   * with its stack while `throw_errors` is on (development); otherwise the
   * browser gets a plain message and the server's log gets the stack.
   */
  function fail(callId, error) {
    if (error instanceof ActionError) {
      const code = generation === "0.2" ? (CODES_0_2[error.code] ?? error.code) : error.code;
      ops.op_reply_error(callId, code, error.message);
      return;
    }
    serverEvent("application:exception", error);
    if ($SS.config.throw_errors === false) {
      console.error(`An action threw: ${internal.describeError(error)}`);
      fail(callId, new ActionError("application_error", "The server could not complete this request"));
    } else {
      fail(callId, new ActionError("application_error", internal.describeError(error)));
    }
  }

  /** A call that passes no params. */
  const NO_PARAMS = Symbol("no params");

  /**
   * What a call passes before its callback. 0.0.36: the params when sent.
   * 0.1: the params only when truthy. 0.2: the arguments, as an array: each
   * item of the params array (a browser sends its arguments so), or the
   * HTTP API's one value. (No array is made for the one-value rules: this is
   * every call's path.)
   */
  function callParams(paramsJson) {
    if (generation === "0.2") {
      if (paramsJson === undefined) return [];
      const params = JSON.parse(paramsJson);
      return Array.isArray(params) ? params : [params];
    }
    if (paramsJson === undefined) return NO_PARAMS;
    const params = JSON.parse(paramsJson);
    return generation === "0.1" && !params ? NO_PARAMS : params;
  }

  /**
   * Runs the action with `this` holding the call's own session and user,
   * and for the later API `request` (`{id, socket_id, origin}`, where
   * `connection` is the socket's number and `origin` `socketio` or `api`)
   * and `getSession(cb)`.
   */
  function invoke(callId, found, paramsJson, session, origin, connection) {
    const params = callParams(paramsJson);
    const spread = generation === "0.2";
    const sent = spread ? params.length : params === NO_PARAMS ? 0 : 1;
    checkArity(found.action, found.name, sent);
    const user = session.user ?? null;
    // Compatibility: the original left the latest session on the actions
    // object; an action that is itself called `session` or `user` wins.
    const owner = found.owner;
    if (typeof owner.session !== "function") owner.session = session;
    if (typeof owner.user !== "function") owner.user = user;
    const self = new found.Context(session, user);
    if (generation !== "0.0.36") {
      // `request` is left on the actions object too, as `session` is;
      // `getSession` is not, where a client could call it.
      const request = connection === undefined
        ? { id: callId, origin }
        : { id: callId, socket_id: connection, origin };
      self.request = request;
      self.getSession = (cb) => later(cb, session);
      if (typeof owner.request !== "function") owner.request = request;
    }
    let answered = false;
    const callback = (value) => {
      if (answered) {
        console.warn(`The ${found.name} action called its callback more than once; later calls are ignored`);
        return;
      }
      answered = true;
      let json;
      try {
        json = JSON.stringify(value === undefined ? null : value);
      } catch (error) {
        fail(callId, new ActionError("application_error", `The ${found.name} action's reply cannot be sent as JSON: ${error.message}`));
        return;
      }
      ops.op_reply(callId, json ?? "null");
    };
    try {
      if (spread) found.action.call(self, ...params, callback);
      else if (params === NO_PARAMS) found.action.call(self, callback);
      else found.action.call(self, params, callback);
    } catch (error) {
      if (answered) internal.reportError(error, found.name);
      else {
        answered = true;
        fail(callId, error);
      }
    }
  }

  /** A call over the WebSocket, from a connection whose session is attached. */
  internal.dispatch = (callId, method, paramsJson, connection) => {
    try {
      const found = route(method);
      const session = sessionsByConnection.get(connection) ?? makeSession({ id: "", created_at: Date.now() });
      // 0.1's `exports.authenticate` guards the HTTP API only.
      if (found.file.authenticate && generation !== "0.1" && !session.loggedIn()) {
        throw new ActionError("not_logged_in", `The ${method} action requires a logged-in user`);
      }
      invoke(callId, found, paramsJson, session, "socketio", connection);
    } catch (error) {
      fail(callId, error);
    }
  };

  /**
   * A call over the HTTP API, with a session of its own that is never stored.
   * Files with `exports.authenticate = true` need Basic credentials, checked
   * by the module named in `config.api.auth.basic.module_name`.
   */
  internal.dispatchHttp = (callId, method, paramsJson, sessionJson, username, password) => {
    try {
      const found = route(method);
      const session = makeSession(JSON.parse(sessionJson));
      ephemeral.add(session);
      if (!found.file.authenticate) {
        invoke(callId, found, paramsJson, session, "api");
        return;
      }
      if (username === undefined) {
        throw new ActionError("unauthorized", "Authentication required");
      }
      const moduleName = $SS.config.api?.auth?.basic?.module_name;
      if (typeof moduleName !== "string" || moduleName === "") {
        throw new ActionError(
          "auth_not_configured",
          "This action requires authentication, but config.api.auth.basic.module_name names no module",
        );
      }
      // The same module check as `@session.authenticate`; this session is
      // never stored, so logging it in only sets its `user_id`.
      session.authenticate(moduleName, { username, password }, (reply) => {
        if (reply && reply.success) {
          try {
            invoke(callId, found, paramsJson, session, "api");
          } catch (error) {
            fail(callId, error);
          }
        } else {
          fail(callId, new ActionError("invalid_credentials", "Invalid username or password"));
        }
      });
    } catch (error) {
      fail(callId, error);
    }
  };

  /** `{file: [action, …]}` of every public action, for the HTTP API index. */
  internal.describeActions = () => {
    const tree = {};
    const walk = (object, prefix, out) => {
      for (const [key, value] of Object.entries(object)) {
        if (typeof value === "function") out.push(prefix + key);
        else if (value !== null && typeof value === "object" && key !== "session" && key !== "user") {
          walk(value, `${prefix}${key}.`, out);
        }
      }
    };
    for (const [name, file] of serverFiles) {
      const actions = [];
      walk(file.actions, "", actions);
      tree[name] = { actions, authenticate: file.authenticate };
    }
    return JSON.stringify(tree);
  };
})(globalThis);
