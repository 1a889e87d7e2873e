// `ssrt console`: evaluating what the developer types, in the app's own engine
// (so `$SS`, `R` and the app's globals are all there), and completing names.
"use strict";
((globalThis) => {
  const internal = globalThis.__ssrt;
  const { core } = internal;

  let util = null;
  const inspect = (value, colors) => {
    util ??= internal.builtin("util");
    return util.inspect(value, { depth: 2, colors });
  };

  /** Like Node's REPL, the console has `require`, relative to the app. */
  const consoleRequire = (request) => internal.require(request);

  /**
   * Evaluates one entry as a script in the global scope (CoffeeScript first
   * compiled bare when `coffee`) and prints its value, or what it threw,
   * right away: before any callback it started can print. `interactive`
   * adds colours and shows `undefined`. Returns whether it ran (no throw).
   */
  internal.consoleEval = (source, coffee, interactive) => {
    const { ops } = internal;
    globalThis.require ??= consoleRequire;
    let code = source;
    try {
      if (coffee) {
        code = internal.requireEmbedded("coffee-script").compile(source, { bare: true });
      }
      const [value, error] = core.evalContext(code, "ssrt:console");
      if (error) throw error.thrown;
      if (value !== undefined) {
        ops.op_console_write(false, inspect(value, Boolean(interactive)) + "\n");
      } else if (interactive) {
        ops.op_console_write(false, "\x1b[90mundefined\x1b[0m\n");
      }
      return true;
    } catch (error) {
      // The engine's and the console's own frames say nothing to the user.
      const lines = internal.describeError(error).split("\n");
      const own = (line) => /\((ext:core|ssrt:runtime)\/|at (ext:core|ssrt:runtime)\//.test(line);
      const text = lines.filter((line) => !own(line)).join("\n");
      ops.op_console_write(true, interactive ? `\x1b[31m${text}\x1b[0m\n` : text + "\n");
      return false;
    }
  };

  /**
   * Completions for the dotted path being typed (`$SS.serv` → `$SS.server`):
   * the own and inherited property names of the object before the last dot.
   */
  internal.consoleComplete = (path) => {
    const dot = path.lastIndexOf(".");
    const head = dot >= 0 ? path.slice(0, dot) : "";
    const partial = path.slice(dot + 1);
    let target = globalThis;
    if (head) {
      for (const part of head.split(".")) {
        if (!/^[A-Za-z_$][\w$]*$/.test(part) || target == null) return [];
        try {
          target = target[part];
        } catch {
          return [];
        }
      }
    }
    const names = new Set();
    for (let object = target; object != null; object = Object.getPrototypeOf(object)) {
      if (object === Object.prototype && target !== Object.prototype && head) break;
      for (const name of Object.getOwnPropertyNames(object)) {
        if (name.startsWith(partial) && /^[A-Za-z_$][\w$]*$/.test(name)) names.add(name);
      }
    }
    const prefix = head ? head + "." : "";
    return [...names].sort().map((name) => prefix + name);
  };
})(globalThis);
