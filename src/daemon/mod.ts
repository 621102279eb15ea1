/**
 * Embed a zccache daemon in a process. {@link startDaemon} serves the
 * daemon wire of zccache 1.12.2 on an endpoint from inside the calling
 * process until it is stopped, so a build tool needs no `zccache daemon`
 * process; {@link daemonMain} is the whole `zccache daemon` command
 * (arguments, environment, log, signals) for a host that wants to be the
 * daemon process itself.
 *
 * @example A build script with its own daemon, then the build-script API against it
 * ```ts ignore
 * import { startDaemon } from "./mod.ts";
 * import { ZccacheClient } from "../client/mod.ts";
 *
 * await using daemon = await startDaemon({ cacheDir: "/tmp/my-cache" });
 * await using zc = await ZccacheClient.connect({ endpoint: daemon.endpoint, autoStart: false });
 * const r = await zc.compile({ compiler: "gcc", args: ["-c", "a.c", "-o", "a.o"] });
 * console.log(r.exitCode, r.cached);
 * ```
 *
 * @example Run exactly what `zccache daemon --foreground` runs
 * ```ts ignore
 * import { daemonMain } from "./mod.ts";
 *
 * Deno.exit(await daemonMain(["--foreground"], Deno.env.toObject()));
 * ```
 *
 * @module
 */
export { type EmbeddedDaemon, type EmbeddedDaemonOptions, startDaemon } from "./embed.ts";
export { daemonMain } from "./main.ts";
