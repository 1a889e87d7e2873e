// Loading an app (SPEC 1): its shared and server files, `config/db`,
// `config/events` and `config/http`, in the order SocketStream loaded them,
// with the later API's globals defined before the first of them.
"use strict";
((globalThis) => {
  const internal = globalThis.__ssrt;
  const { ops, later, app } = internal;
  const { serverFiles, online, publish, startOnlinePurge } = app;

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
    app.generation = manifest.generation;
    if (app.generation !== "0.0.36") defineLaterGlobals(manifest.root);
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
      if (app.generation !== "0.0.36") {
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
    if (manifest.events && app.generation !== "0.0.36") load(manifest.events);
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
    // Read by serde_v8 as `LoadCounts` (runtime/src/engine.rs).
    return { server: manifest.server.length, shared: manifest.shared.length, http };
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
})(globalThis);
