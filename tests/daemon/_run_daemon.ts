/**
 * Test entry: run the daemon as a real separate process.
 *
 *   deno run -A tests/daemon/_run_daemon.ts [--no-engine] [daemon args...]
 *   bun tests/daemon/_run_daemon.ts [--no-engine] [daemon args...]
 *
 * Without `--no-engine` this is exactly `zccache daemon` (`daemonMain`);
 * with it, the server runs with no compile engine (control requests only),
 * which keeps the wire tests independent of the engine.
 */
import process from "node:process";

const argv = process.argv.slice(2);
const noEngine = argv[0] === "--no-engine";
const rest = noEngine ? argv.slice(1) : argv;
const env = process.env as Record<string, string | undefined>;

let code: number;
if (noEngine) {
  const { parseDaemonArgs, idleTimeoutFromEnv } = await import("../../src/daemon/main.ts");
  const { resolveDaemonPaths } = await import("../../src/daemon/paths.ts");
  const { runDaemon } = await import("../../src/daemon/server.ts");
  const { DaemonLog } = await import("../../src/daemon/log.ts");
  const a = parseDaemonArgs(rest);
  const paths = resolveDaemonPaths(env, { endpoint: a.endpoint, cacheDir: a.cacheDir });
  code = await runDaemon({
    paths,
    env,
    engine: null,
    idleTimeoutSecs: a.idleTimeoutSecs ?? idleTimeoutFromEnv(env),
    log: new DaemonLog(paths.logFile, (line) => process.stderr.write(line + "\n")),
    handleSignals: true,
  });
} else {
  const { daemonMain } = await import("../../src/daemon/main.ts");
  code = await daemonMain(rest, env);
}
process.exit(code);
