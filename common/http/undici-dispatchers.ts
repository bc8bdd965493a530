// undici's dispatchers, loaded by file rather than through the package index. The index pulls in
// fetch, WebSocket, caching and more: ~30 MB of RSS at start where Pool alone costs ~16 MB, and a
// queue-proxy runs in every pod. undici has no exports map, so these paths are public; the
// version is pinned by package-lock.json and the tests exercise both.
import type { Dispatcher, H2CClient as H2CClientType, Pool as PoolType } from "undici";

// node:module when a dispatcher is first made, not at start (~0.5 MB of RSS: docs/prebuilt.md).
let requireHere: NodeJS.Require | undefined;
function require(id: string): unknown {
  requireHere ??= process.getBuiltinModule("node:module").createRequire(import.meta.url);
  return requireHere(id);
}

export type { Dispatcher };

export function createPool(origin: string, options: PoolType.Options): Dispatcher {
  const Pool = require("undici/lib/dispatcher/pool.js") as typeof PoolType;
  return new Pool(origin, options);
}

export function createH2cClient(origin: string, options: H2CClientType.Options): Dispatcher {
  const H2CClient = require("undici/lib/dispatcher/h2c-client.js") as typeof H2CClientType;
  return new H2CClient(origin, options);
}

export function createAgent(options: PoolType.Options): Dispatcher {
  const Agent = require("undici/lib/dispatcher/agent.js") as typeof import("undici").Agent;
  return new Agent(options);
}

/**
 * A dispatcher made by `create` on its first request. undici's clients load node:http2 (~9 MB of
 * RSS) as they load; the router's h2c agent serves only gRPC revisions, which many installations
 * never have. Forwards what the Exchange and a shutdown use: dispatch() and close().
 */
export function createOnFirstUse(create: () => Dispatcher): Dispatcher {
  let made: Dispatcher | undefined;
  const lazy = {
    dispatch: (options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) => {
      made ??= create();
      return made.dispatch(options, handler);
    },
    close: async () => {
      await made?.close();
    },
  };
  return lazy as unknown as Dispatcher;
}
