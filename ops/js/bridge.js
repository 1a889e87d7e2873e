// Runs as the engine starts, before anything else: keeps ssrt's ops where
// ssrt's bootstrap finds them. A Deno worker's own bootstrap later removes the
// ops from `Deno.core.ops` (ext modules import theirs instead), so they are
// copied here, onto the non-enumerable `globalThis.__ssrt` the bootstrap grows.
"use strict";
((globalThis) => {
  const core = globalThis.Deno.core;
  const ops = Object.assign(Object.create(null), core.ops);
  Object.defineProperty(globalThis, "__ssrt", { value: { core, ops }, enumerable: false });
})(globalThis);
