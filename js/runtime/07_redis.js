// `R`: a global Redis client in the node_redis style (SPEC 6), over the store
// (Redis, or the embedded store). Every command is a method; the callback,
// if any, is last and gets `(err, reply)`.
"use strict";
((globalThis) => {
  const internal = globalThis.__ssrt;
  const { ops, later } = internal;

  /** Property names that are never commands (promise checks, inspection). */
  const NOT_COMMANDS = new Set(["then", "catch", "finally", "constructor", "toJSON", "inspect", "valueOf", "toString"]);

  /**
   * node_redis's arguments: a trailing callback; one array standing for all
   * arguments (or for the last ones); an object as field/value pairs
   * (`hmset(key, {a: 1})`); every value sent as a string.
   */
  function parse(args) {
    args = [...args];
    const callback = typeof args[args.length - 1] === "function" ? args.pop() : null;
    if (args.length > 0 && Array.isArray(args[args.length - 1])) {
      args = [...args.slice(0, -1), ...args[args.length - 1]];
    }
    const strings = [];
    for (const arg of args) {
      if (arg !== null && typeof arg === "object") {
        for (const [field, value] of Object.entries(arg)) strings.push(field, String(value));
      } else {
        strings.push(String(arg));
      }
    }
    return { strings, callback };
  }

  /** Replies as node_redis shaped them: `hgetall` gives an object, or null. */
  function shape(command, reply) {
    if (command.toLowerCase() !== "hgetall" || !Array.isArray(reply)) return reply;
    if (reply.length === 0) return null;
    const object = {};
    for (let i = 0; i + 1 < reply.length; i += 2) object[reply[i]] = reply[i + 1];
    return object;
  }

  function failed(error, callback, what) {
    const wrapped = error instanceof Error ? error : new Error(String(error));
    if (callback) later(callback, wrapped);
    else console.error(`R.${what}: ${wrapped.message}`);
  }

  let database = 0;

  function send(command, args) {
    const { strings, callback } = parse(args);
    ops.op_store_command(database, [command, ...strings]).then(
      (reply) => later(callback, null, shape(command, reply)),
      (error) => failed(error, callback, command),
    );
    return true;
  }

  /** `R.multi()`: queue commands, then `exec(cb)` runs them as one transaction. */
  function multi(initial) {
    const queued = [];
    const transaction = new Proxy(
      {},
      {
        get(_, name) {
          if (name === "exec") return exec;
          if (typeof name !== "string" || NOT_COMMANDS.has(name)) return undefined;
          return (...args) => {
            const { strings, callback } = parse(args);
            queued.push({ command: name, strings, callback });
            return transaction;
          };
        },
      },
    );
    for (const [command, ...args] of Array.isArray(initial) ? initial : []) {
      transaction[command](...args);
    }
    function exec(callback) {
      const commands = queued.map(({ command, strings }) => [command, ...strings]);
      ops.op_store_transaction(database, commands).then(
        ([replies, errors]) => {
          const results = replies.map((reply, i) =>
            errors[i] ? new Error(errors[i]) : shape(queued[i].command, reply),
          );
          queued.forEach(({ callback: each }, i) =>
            later(each, errors[i] ? results[i] : null, errors[i] ? undefined : results[i]),
          );
          later(callback, null, results);
        },
        (error) => {
          queued.forEach(({ callback: each }) => later(each, error));
          failed(error, callback, "exec");
        },
      );
      return true;
    }
    return transaction;
  }

  /** `R.select(n)`: later commands of `R` go to database `n`. */
  function select(db, callback) {
    const n = Number(db);
    if (!Number.isInteger(n) || n < 0) {
      failed(new Error("ERR DB index is out of range"), callback, "select");
      return true;
    }
    database = n;
    later(callback, null, "OK");
    return true;
  }

  const methods = { multi, MULTI: multi, select, SELECT: select };
  globalThis.R = new Proxy(methods, {
    get(target, name) {
      if (Object.hasOwn(target, name)) return target[name];
      if (typeof name !== "string" || NOT_COMMANDS.has(name)) return undefined;
      return (...args) => send(name, args);
    },
  });
})(globalThis);
