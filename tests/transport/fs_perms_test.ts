/** Socket directory permissions and stale socket removal on the real file system. */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import process from "node:process";
import { isZccacheError } from "../../src/core/errors.ts";
import { ensurePrivateDir, removeStaleSocket } from "../../src/transport/fs_perms.ts";
import { test } from "../_harness.ts";
import { makeStaleSocket, tempDir } from "./_helpers.ts";

const posix = process.platform !== "win32";

test("ensurePrivateDir() creates missing directories with mode 0700", async () => {
  const root = await tempDir();
  const dir = path.join(root, "a", "zccache");
  const r = await ensurePrivateDir(dir);
  assert.equal(r.created, true);
  assert.equal((await fs.stat(dir)).mode & 0o777, 0o700);
  assert.equal(r.mode, 0o700);
  await fs.rm(root, { recursive: true });
}, { ignore: !posix });

test("ensurePrivateDir() leaves an existing directory's mode unless tighten is set", async () => {
  const root = await tempDir();
  const dir = path.join(root, "shared");
  await fs.mkdir(dir);
  await fs.chmod(dir, 0o755);
  const r1 = await ensurePrivateDir(dir);
  assert.equal(r1.created, false);
  assert.equal((await fs.stat(dir)).mode & 0o777, 0o755);
  const r2 = await ensurePrivateDir(dir, { tighten: true });
  assert.equal(r2.mode, 0o700);
  assert.equal((await fs.stat(dir)).mode & 0o777, 0o700);
  await fs.rm(root, { recursive: true });
}, { ignore: !posix });

test("ensurePrivateDir() refuses a path that is a file", async () => {
  const root = await tempDir();
  const file = path.join(root, "f");
  await fs.writeFile(file, "x");
  await assert.rejects(ensurePrivateDir(file), (e) => isZccacheError(e, "Endpoint"));
  await fs.rm(root, { recursive: true });
}, { ignore: !posix });

test("removeStaleSocket() removes a stale socket file and reports a missing one", async () => {
  const root = await tempDir();
  const sock = path.join(root, "stale.sock");
  await makeStaleSocket(sock);
  assert.ok((await fs.lstat(sock)).isSocket(), "the child left a socket file");
  assert.equal(await removeStaleSocket(sock), true);
  await assert.rejects(fs.lstat(sock));
  assert.equal(await removeStaleSocket(sock), false);
  await fs.rm(root, { recursive: true });
}, { ignore: !posix });

test("removeStaleSocket() never deletes a regular file", async () => {
  const root = await tempDir();
  const file = path.join(root, "daemon.sock");
  await fs.writeFile(file, "precious");
  await assert.rejects(removeStaleSocket(file), (e) => isZccacheError(e, "Endpoint"));
  assert.equal(await fs.readFile(file, "utf8"), "precious");
  await fs.rm(root, { recursive: true });
}, { ignore: !posix });
