// `$SS` on the server (SPEC 1): its publish functions, users online, and
// the server events of the later API; and `internal.app`, what the files
// after this one share about the app (04 sessions, 05 dispatch, 06 loading).
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
        ops.op_group_members(String(name)).then(
          (members) => members.length && publish("user", members, event, params),
          (error) => console.error(`$SS.publish.group: ${error.message}`),
        );
      },
    },
  };
  globalThis.$SS = $SS;

  // ---- users online (SPEC 6) ---------------------------------------------

  // The store crate owns the key layout (store/src/keys.rs, online.rs);
  // this side reads the settings and says when.
  const onlineSettings = () => $SS.config.users?.online ?? {};
  const minutesOnline = () => onlineSettings().mins ?? 2;
  const warnFailure = (what) => (error) => console.error(`$SS.users.online.${what}: ${error.message}`);

  const online = {
    add(userId) {
      // A minute's set lives one minute past the window, unless kept as history.
      const bucketTtl = onlineSettings().keep_historic ? 0 : (minutesOnline() + 1) * 60;
      ops.op_online_add(String(userId), bucketTtl).catch(warnFailure("add"));
    },
    confirm(userId) {
      online.add(userId);
    },
    remove(userId) {
      ops.op_online_remove(String(userId)).catch(warnFailure("remove"));
    },
    /** `callback(userIds)` with everyone online now. */
    all(callback) {
      ops.op_online_all().then(
        (ids) => later(callback, ids),
        (error) => {
          warnFailure("all")(error);
          later(callback, []);
        },
      );
    },
    /** Drops users not seen in the last `mins` minutes; `callback()` when done. */
    purge(callback) {
      ops.op_online_purge(minutesOnline())
        .catch(warnFailure("purge"))
        .finally(() => later(callback));
    },
  };
  $SS.users = { online };

  const app = (internal.app = {
    /**
     * The app's SocketStream API generation (`0.0.36`, `0.1`, `0.2`; set at
     * load). Where their rules conflict (SPEC-0.2-compat §2.2, §6), the
     * app's own apply.
     */
    generation: "0.0.36",
    /** Server files by their path name (`users/online`): actions and flags. */
    serverFiles: new Map(),
    online,
    onlineSettings,
    publish,
    serverEvent,
    startOnlinePurge,
  });

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

  /**
   * A server event of the later API (`client:init`, `client:disconnect`,
   * `application:exception`) on `SS.events`; a listener that throws is
   * logged, not passed on.
   */
  function serverEvent(name, ...args) {
    if (app.generation === "0.0.36" || !$SS.events) return;
    try {
      $SS.events.emit(name, ...args);
    } catch (error) {
      internal.reportError(error, `an SS.events '${name}' listener`);
    }
  }
})(globalThis);
