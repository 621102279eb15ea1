/**
 * "Nobody else gets in": modes under umask 000, a wider pre-existing cache
 * root tightened, a planted daemon.log symlink not followed, the client's
 * refusal of a socket that is not ours (a second local user's, or in a
 * group/other-writable directory), and that user's connect refused.
 * Real daemon processes, real sockets.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import process from "node:process";
import { test } from "../_harness.ts";
import { startDaemon, tempDir } from "../daemon/server_helpers.ts";
import { have, runCli } from "../e2e/_e2e.ts";
import { verifyEndpointOwner } from "../../src/client/connect.ts";

const UNIX = process.platform !== "win32";
const ROOT = UNIX && process.getuid?.() === 0;
const CAN_USERADD = ROOT && have("useradd") && have("userdel") && have("runuser") &&
  have("python3");
const GCC = have("gcc");

function mode(p: string): number {
  return lstatSync(p).mode & 0o777;
}

async function withUmask<T>(mask: number, fn: () => Promise<T>): Promise<T> {
  const old = process.umask(mask);
  try {
    return await fn();
  } finally {
    process.umask(old);
  }
}

test("security: socket 0600, dirs 0700, lock/identity/log 0600 under umask 000", async () => {
  const dir = tempDir("zcs-");
  chmodSync(dir, 0o777); // a cache root that exists with a wide mode
  const d = await withUmask(0, () => startDaemon({ dir, args: [] }));
  try {
    assert.equal(mode(d.endpoint), 0o600, "socket");
    assert.equal(mode(dir), 0o700, "cache root tightened");
    assert.equal(mode(join(dir, "zccache-ts")), 0o700, "project dir");
    assert.equal(mode(join(dir, "daemon.lock")), 0o600, "lock");
    const id = join(dir, "daemon.running-process.json");
    if (existsSync(id)) assert.equal(mode(id), 0o600, "identity");
    assert.equal(mode(join(dir, "zccache-ts", "daemon.log")), 0o600, "log");
  } finally {
    await d.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}, { ignore: !UNIX, timeout: 60_000 });

test("security: a planted symlink in place of daemon.log is not followed", async () => {
  const dir = tempDir("zcs-");
  const victim = join(dir, "victim.txt");
  writeFileSync(victim, "precious\n");
  mkdirSync(join(dir, "zccache-ts"), { mode: 0o700 });
  symlinkSync(victim, join(dir, "zccache-ts", "daemon.log"));
  const d = await startDaemon({ dir });
  try {
    assert.equal(readFileSync(victim, "utf8"), "precious\n");
    assert.ok(lstatSync(join(dir, "zccache-ts", "daemon.log")).isSymbolicLink());
  } finally {
    await d.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}, { ignore: !UNIX, timeout: 60_000 });

test("security: a cache root owned by another user is refused with one line", async () => {
  const dir = tempDir("zcs-");
  const root = join(dir, "foreign");
  mkdirSync(root);
  chownSync(root, 65534, 65534);
  try {
    const d = await startDaemon({ dir: root, waitReady: false });
    const code = await d.exited;
    assert.equal(code, 1);
    assert.match(d.output(), /Refusing cache root .*owned by uid 65534/);
    await d.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, { ignore: !ROOT, timeout: 60_000 });

test("security: the client refuses a socket in a group/other-writable directory", () => {
  const dir = tempDir("zcs-");
  try {
    const sock = join(dir, "d", "daemon.sock");
    mkdirSync(join(dir, "d"));
    const srv = createServer();
    return new Promise<void>((resolve, reject) => {
      srv.listen(sock, () => {
        try {
          chmodSync(sock, 0o600);
          chmodSync(join(dir, "d"), 0o777);
          assert.throws(() => verifyEndpointOwner(sock), /writable by group or others/);
          chmodSync(join(dir, "d"), 0o700);
          verifyEndpointOwner(sock);
          chmodSync(sock, 0o666);
          assert.throws(() => verifyEndpointOwner(sock), /writable by group or others/);
          resolve();
        } catch (e) {
          reject(e);
        } finally {
          srv.close();
        }
      });
    });
  } finally {
    setTimeout(() => rmSync(dir, { recursive: true, force: true }), 100);
  }
}, { ignore: !UNIX });

/** Create a throwaway local user; returns its uid, and a remover. */
function makeUser(): { name: string; uid: number; remove: () => void } {
  const name = `zcrel${process.pid % 100000}`;
  try {
    execFileSync("userdel", [name], { stdio: "ignore" });
  } catch {
    // not there
  }
  execFileSync("useradd", ["--no-create-home", "--shell", "/bin/sh", name], { stdio: "ignore" });
  const uid = Number(execFileSync("id", ["-u", name], { encoding: "utf8" }).trim());
  return {
    name,
    uid,
    remove: () => {
      try {
        execFileSync("userdel", [name], { stdio: "ignore" });
      } catch {
        // best effort
      }
    },
  };
}

test(
  "security: a second local user can neither connect to our daemon nor get our wrapper to talk to a planted socket",
  async () => {
    const user = makeUser();
    const dir = tempDir("zcs-");
    try {
      // 1. Our daemon: the other user's connect is refused (socket 0600, dir 0700).
      chmodSync(dir, 0o755); // even with a traversable root, the socket itself is 0600
      const d = await startDaemon({ dir });
      try {
        const r = execFileSync("runuser", [
          "-u",
          user.name,
          "--",
          "python3",
          "-c",
          "import socket,sys\ns=socket.socket(socket.AF_UNIX)\ntry:\n s.connect(sys.argv[1]); print('connected')\nexcept OSError as e: print('refused', e.errno)",
          d.endpoint,
        ], { encoding: "utf8" }).trim();
        assert.match(r, /^refused/, `other user: ${r}`);
      } finally {
        await d.dispose();
      }

      // 2. A socket planted by that user at our endpoint: the wrapper never sends a byte.
      const world = tempDir("zcw-");
      const cache = join(world, "cache");
      mkdirSync(cache, { mode: 0o700 });
      const endpoint = join(cache, "daemon.sock");
      let received = 0;
      let connections = 0;
      const srv = createServer((s) => {
        connections++;
        s.on("data", (b: Uint8Array) => (received += b.length));
        s.on("error", () => {});
      });
      await new Promise<void>((r) => srv.listen(endpoint, () => r()));
      chownSync(endpoint, user.uid, user.uid);
      try {
        const src = join(world, "a.c");
        writeFileSync(src, "int main(void){return 0;}\n");
        const env: Record<string, string> = {};
        for (const [k, v] of Object.entries(process.env)) {
          if (v !== undefined && !k.startsWith("ZCCACHE_")) env[k] = v;
        }
        env.ZCCACHE_CACHE_DIR = cache;
        env.RUNNING_PROCESS_DISABLE = "1";
        env.SECRET_TOKEN = "do-not-leak";
        const r = await runCli(["gcc", "-c", src, "-o", join(world, "a.o")], { env, cwd: world });
        assert.equal(r.code, 0, r.err);
        assert.ok(existsSync(join(world, "a.o")), "compiled locally");
        const lines = r.err.trim().split("\n");
        assert.equal(lines.length, 1, r.err);
        assert.match(lines[0], /refusing untrusted daemon socket .*owned by uid/);
        assert.match(lines[0], /without cache/);
        await new Promise((res) => setTimeout(res, 200));
        assert.equal(received, 0, "the planted listener received bytes");
        assert.equal(connections, 0, "the wrapper connected to the planted socket");
      } finally {
        srv.close();
        rmSync(world, { recursive: true, force: true });
      }
    } finally {
      user.remove();
      rmSync(dir, { recursive: true, force: true });
    }
  },
  { ignore: !CAN_USERADD || !GCC, timeout: 60_000 },
);

if (!CAN_USERADD) {
  console.log(
    "security_test: second-user test skipped (needs root with useradd, runuser, python3)",
  );
}
