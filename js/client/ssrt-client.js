// The ssrt browser client: SocketStream 0.0.36's `$SS` and `remote` over one
// WebSocket (SPEC 3 and 4), and for apps of the later API (0.1–0.2,
// SPEC-0.2-compat §3) the `SS` global with `SS.server` stubs and `SS.client`.
// Plain browser JavaScript, no dependencies; it is sent to every page ahead
// of the app's own code, after a line that sets `SSRT_API_GENERATION`.
(function (window) {
  "use strict";
  var document = window.document;

  /** Reconnection waits grow from this to MAX_RETRY_MS, each with jitter. */
  var FIRST_RETRY_MS = 200;
  var MAX_RETRY_MS = 5000;

  // ---- a tiny event emitter ------------------------------------------------

  function Emitter() {
    this._listeners = {};
  }
  Emitter.prototype.on = function (name, fn) {
    (this._listeners[name] = this._listeners[name] || []).push(fn);
    return this;
  };
  Emitter.prototype.addListener = Emitter.prototype.on;
  Emitter.prototype.once = function (name, fn) {
    var self = this;
    function once() {
      self.removeListener(name, once);
      fn.apply(this, arguments);
    }
    return this.on(name, once);
  };
  Emitter.prototype.removeListener = function (name, fn) {
    var list = this._listeners[name] || [];
    var index = list.indexOf(fn);
    if (index >= 0) list.splice(index, 1);
    return this;
  };
  Emitter.prototype.removeAllListeners = function (name) {
    if (name === undefined) this._listeners = {};
    else delete this._listeners[name];
    return this;
  };
  Emitter.prototype.emit = function (name) {
    var args = Array.prototype.slice.call(arguments, 1);
    var list = (this._listeners[name] || []).slice();
    for (var i = 0; i < list.length; i++) {
      try {
        list[i].apply(this, args);
      } catch (error) {
        console.error("ssrt: a '" + name + "' listener threw:", error);
      }
    }
    return list.length > 0;
  };

  // ---- $SS -------------------------------------------------------------------

  var $SS = {
    env: null,
    config: { remote_prefix: null, log: { level: 2 } },
    events: new Emitter(),
    socket: new Emitter(),
    connected: false,
  };
  window.$SS = $SS;
  // Shared code defines its classes on `exports` (SPEC 1).
  if (!window.exports) window.exports = {};

  // The later API: the same object as `SS`, which the app's files use from
  // their first line (`SS.socket.on`, `SS.events.on`); `SS.server` fills in
  // at connect, `SS.client` and `SS.shared` as the app's files load.
  var generation = window.SSRT_API_GENERATION || "0.0.36";
  var laterApi = generation !== "0.0.36";
  if (laterApi) {
    window.SS = $SS;
    $SS.server = {};
    $SS.client = {};
    $SS.shared = {};
  }

  function logLevel() {
    var log = $SS.config && $SS.config.log;
    return log && typeof log.level === "number" ? log.level : 0;
  }
  function log(level, args) {
    if (logLevel() >= level) console.log.apply(console, args);
  }

  // ---- calls -----------------------------------------------------------------

  var nextCallId = 1;
  var callbacks = {};
  var queue = [];
  var socket = null;
  var ready = false;

  /** `remote(method, [params], [options], cb)`: calls a server action. */
  function remote(method) {
    var args = Array.prototype.slice.call(arguments, 1);
    var cb = typeof args[args.length - 1] === "function" ? args.pop() : null;
    var params = args.length > 0 ? args[0] : null;
    var options = args.length > 1 && args[1] ? args[1] : {};
    var prefix = $SS.config && $SS.config.remote_prefix;
    if (prefix) method = prefix + "." + method;
    var id = String(nextCallId++);
    callbacks[id] = { method: method, cb: cb, silent: !!options.silent };
    if (!options.silent) log(2, logLevel() >= 4 ? ["<- " + method, params] : ["<- " + method]);
    var frame = JSON.stringify({
      type: "server",
      method: method,
      params: params === undefined ? null : params,
      options: args.length > 1 ? options : null,
      cb_id: id,
    });
    if (ready) socket.send(frame);
    else queue.push(frame);
  }
  window.remote = remote;
  $SS.remote = remote;

  /**
   * `SS.server.<path>.<action>(…)` for every action in `tree`
   * (`{"users/online": {"actions": ["now"]}}`): 0.1's `(params, [options],
   * [cb])`, 0.2's `(arg, arg, …, [cb])`, whose arguments travel as one
   * array. A call without a callback logs the reply (0.0.53).
   */
  function makeStubs(tree) {
    Object.keys(tree || {}).forEach(function (file) {
      var node = $SS.server;
      file.split("/").forEach(function (part) {
        node = node[part] = node[part] || {};
      });
      (tree[file].actions || []).forEach(function (action) {
        var method = file.split("/").join(".") + "." + action;
        node[action] = function () {
          var args = Array.prototype.slice.call(arguments);
          var cb = typeof args[args.length - 1] === "function" ? args.pop() : function (reply) {
            console.log(method + " replied:", reply);
          };
          if (generation === "0.2") remote(method, args, cb);
          else remote.apply(null, [method].concat(args, [cb]));
        };
      });
    });
  }

  function flushQueue() {
    var waiting = queue;
    queue = [];
    for (var i = 0; i < waiting.length; i++) socket.send(waiting[i]);
  }

  // ---- messages from the server ---------------------------------------------

  var SYSTEM = {
    // The server sets the session cookie itself (HttpOnly): the handshake
    // that created the session already did.
    setSession: function () {},
    // The session got a new id (login, logout): trade the one-time token
    // for the new cookie, so that a reload or a new tab resumes it.
    rotateSession: function (token) {
      var request = new XMLHttpRequest();
      request.open("POST", "/_ssrt/session");
      request.setRequestHeader("X-Ssrt-Session-Token", token);
      request.send();
    },
    setEnvironment: function (env) {
      $SS.env = env;
    },
    setConfig: function (config) {
      $SS.config = config || {};
    },
    setApi: function (tree) {
      if (laterApi) makeStubs(tree);
    },
    ready: function () {
      ready = true;
      $SS.connected = true;
      flushQueue();
      $SS.socket.emit("connect");
      // The later API's socket (Socket.IO's) also says `reconnect` then.
      if (laterApi && started) $SS.socket.emit("reconnect");
      if (laterApi) startHeartbeat();
      startApp();
    },
    error: function (params) {
      var code = params && params[0];
      var message = params && params[1];
      console.error("SocketStream error: " + code + (message ? ": " + message : ""));
    },
    /** (ssrt) Live reload in development: "page", or "css" to swap stylesheets. */
    reload: function (what) {
      if (what === "css") reloadStylesheets();
      else window.location.reload();
    },
  };

  function receive(event) {
    var message;
    try {
      message = JSON.parse(event.data);
    } catch (error) {
      console.error("ssrt: the server sent a frame that is not JSON:", event.data);
      return;
    }
    if (message.type === "server") {
      var call = callbacks[message.cb_id];
      if (!call) return;
      delete callbacks[message.cb_id];
      if (!call.silent) {
        log(3, logLevel() >= 4 ? ["-> " + call.method, message.params] : ["-> " + call.method]);
      }
      if (call.cb) call.cb(message.params);
    } else if (message.type === "event") {
      log(2, logLevel() >= 4 ? ["=> " + message.event, message.params] : ["=> " + message.event]);
      // The later API's user and channel events name their destination,
      // which handlers get as a second argument.
      if ("destination" in message) $SS.events.emit(message.event, message.params, message.destination);
      else $SS.events.emit(message.event, message.params);
    } else if (message.type === "system") {
      if (logLevel() >= 4) console.log("system", message.method, message.params);
      var handler = SYSTEM[message.method];
      if (handler) handler(message.params);
    }
  }

  // ---- the connection ---------------------------------------------------------

  var attempts = 0;

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(scheme + "//" + window.location.host + "/ws");
    socket.onopen = function () {
      attempts = 0;
    };
    socket.onmessage = receive;
    socket.onclose = function (event) {
      var wasReady = ready;
      ready = false;
      $SS.connected = false;
      // The server says why when it closes on purpose: shutting down (1001),
      // a message too big (1009), this page too slow to read (1013).
      if (event.reason) {
        log(1, ["ssrt: the server closed the connection (" + event.code + ": " + event.reason + ")"]);
      }
      if (wasReady) $SS.socket.emit("disconnect", event.code, event.reason);
      retry();
    };
  }

  /** Exponential backoff with jitter, so a restarted server is not stampeded. */
  function retry() {
    var ceiling = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * Math.pow(2, attempts));
    attempts++;
    var wait = ceiling / 2 + Math.random() * (ceiling / 2);
    log(1, ["ssrt: connection lost; reconnecting in " + Math.round(wait) + " ms"]);
    window.setTimeout(connect, wait);
  }

  function reloadStylesheets() {
    var links = document.querySelectorAll('link[rel="stylesheet"]');
    for (var i = 0; i < links.length; i++) {
      var href = links[i].getAttribute("href").replace(/[?&]ssrt_reload=\d+/, "");
      links[i].setAttribute(
        "href",
        href + (href.indexOf("?") >= 0 ? "&" : "?") + "ssrt_reload=" + Date.now(),
      );
    }
  }

  // ---- starting the app --------------------------------------------------------

  var started = false;
  var heartbeat = null;

  /**
   * The later API's heartbeat: every `client.heartbeat_interval` seconds
   * (30 by default) while connected, so the server keeps the user online.
   */
  function startHeartbeat() {
    if (heartbeat !== null) return;
    var seconds = Number($SS.config && $SS.config.heartbeat_interval) || 30;
    heartbeat = window.setInterval(function () {
      if (ready) socket.send('{"type":"heartbeat"}');
    }, seconds * 1000);
  }

  /**
   * `app.init()` once: the first time the socket is ready and the page has
   * loaded. The later API's is `SS.client.app.init`, with `window.app.init`
   * as its fallback (through 0.1).
   */
  function startApp() {
    if (started || !ready || document.readyState === "loading") return;
    started = true;
    var later = laterApi && $SS.client.app;
    if (later && typeof later.init === "function") later.init();
    else if (window.app && typeof window.app.init === "function") window.app.init();
  }
  // Connect once the page's scripts have all run: while a script downloads
  // the browser handles socket messages, and a `connect` listener the app
  // adds at file load (`SS.socket.on 'connect'`) would miss the event.
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      connect();
      startApp();
    });
  } else {
    connect();
  }
})(window);
