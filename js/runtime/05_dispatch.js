// Calling the app's actions (SPEC 2, and the later API's rules): Rust calls
// `internal.dispatch*` with a call id and gets the outcome back through the
// `op_reply` / `op_reply_error` ops.
"use strict";
((globalThis) => {
  const internal = globalThis.__ssrt;
  const { ops, later, app } = internal;
  const { serverFiles, serverEvent } = app;
  const { byConnection: sessionsByConnection, make: makeSession, ephemeral } = app.sessions;

  class ActionError {
    constructor(code, message) {
      this.code = code;
      this.message = message;
    }
  }

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
      if (app.generation === "0.2" && RESERVED_0_2.has(name)) {
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
      const code = app.generation === "0.2" ? (CODES_0_2[error.code] ?? error.code) : error.code;
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
    if (app.generation === "0.2") {
      if (paramsJson === undefined) return [];
      const params = JSON.parse(paramsJson);
      return Array.isArray(params) ? params : [params];
    }
    if (paramsJson === undefined) return NO_PARAMS;
    const params = JSON.parse(paramsJson);
    return app.generation === "0.1" && !params ? NO_PARAMS : params;
  }

  /**
   * Runs the action with `this` holding the call's own session and user,
   * and for the later API `request` (`{id, socket_id, origin}`, where
   * `connection` is the socket's number and `origin` `socketio` or `api`)
   * and `getSession(cb)`.
   */
  function invoke(callId, found, paramsJson, session, origin, connection) {
    const params = callParams(paramsJson);
    const spread = app.generation === "0.2";
    const sent = spread ? params.length : params === NO_PARAMS ? 0 : 1;
    checkArity(found.action, found.name, sent);
    const user = session.user ?? null;
    // Compatibility: the original left the latest session on the actions
    // object; an action that is itself called `session` or `user` wins.
    const owner = found.owner;
    if (typeof owner.session !== "function") owner.session = session;
    if (typeof owner.user !== "function") owner.user = user;
    const self = new found.Context(session, user);
    if (app.generation !== "0.0.36") {
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
      if (found.file.authenticate && app.generation !== "0.1" && !session.loggedIn()) {
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
