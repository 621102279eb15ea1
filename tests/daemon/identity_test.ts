/**
 * daemon.running-process.json: exact 1.12.2 schema, location and the
 * DaemonProcess protobuf form.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { test } from "../_harness.ts";
import { toHex } from "../../src/core/bytes.ts";
import {
  currentDaemonIdentity,
  type DaemonIdentity,
  exeSha256,
  identityFromJson,
  identityToJson,
  readIdentityFile,
  writeIdentityFile,
} from "../../src/daemon/identity.ts";
import { identityFromProto, identityToProto } from "../../src/daemon/identity_proto.ts";
import { identityFilePath } from "../../src/transport/endpoint.ts";

const sample: DaemonIdentity = {
  pid: 41234,
  exePath: "/home/alice/.zccache/runtime-binaries/zccache-daemon.3",
  exeSha256: Uint8Array.from({ length: 32 }, (_, i) => (i * 37) % 256),
  bootId: "3f1c2b4a-0000-4000-8000-000000000001",
  ipcEndpoint: { namespaceId: "default", path: "/run/user/1000/zccache/sock" },
  startedAtUnixMs: 1752000000000n,
  idleTimeoutSecs: null,
};

test("identityToJson() writes serde_json's pretty form, keys in DaemonProcessSerde order", () => {
  const text = identityToJson(sample);
  const lines = text.split("\n");
  assert.equal(lines[0], "{");
  assert.equal(lines[1], '  "pid": 41234,');
  assert.equal(lines[2], '  "exe_path": "/home/alice/.zccache/runtime-binaries/zccache-daemon.3",');
  assert.equal(lines[3], '  "exe_sha256": [');
  for (let i = 0; i < 32; i++) {
    assert.equal(lines[4 + i], `    ${(i * 37) % 256}${i < 31 ? "," : ""}`);
  }
  assert.deepEqual(lines.slice(36), [
    "  ],",
    '  "boot_id": "3f1c2b4a-0000-4000-8000-000000000001",',
    '  "ipc_endpoint": {',
    '    "namespace_id": "default",',
    '    "path": "/run/user/1000/zccache/sock"',
    "  },",
    '  "started_at_unix_ms": 1752000000000,',
    '  "idle_timeout_secs": null',
    "}",
  ]);
  assert.ok(!text.endsWith("\n"));
  // The same text JSON.stringify gives for the same key order (both 2-space pretty).
  assert.equal(
    text,
    JSON.stringify(
      {
        pid: 41234,
        exe_path: sample.exePath,
        exe_sha256: Array.from(sample.exeSha256),
        boot_id: sample.bootId,
        ipc_endpoint: { namespace_id: "default", path: sample.ipcEndpoint.path },
        started_at_unix_ms: 1752000000000,
        idle_timeout_secs: null,
      },
      null,
      2,
    ),
  );
});

test("identityFromJson() follows serde: optional idle timeout, unknown fields ignored, strict sha", () => {
  assert.deepEqual(identityFromJson(identityToJson(sample)), sample);
  const o = JSON.parse(identityToJson(sample));
  delete o.idle_timeout_secs;
  o.extra_field = 1;
  assert.deepEqual(identityFromJson(JSON.stringify(o)), sample);
  o.idle_timeout_secs = 30;
  assert.equal(identityFromJson(JSON.stringify(o)).idleTimeoutSecs, 30);
  for (
    const bad of [
      { ...o, exe_sha256: o.exe_sha256.slice(1) },
      { ...o, exe_sha256: [...o.exe_sha256.slice(1), 256] },
      { ...o, pid: -1 },
      { ...o, boot_id: undefined },
      { ...o, ipc_endpoint: { path: "/x" } },
      { ...o, started_at_unix_ms: "1" },
    ]
  ) {
    assert.throws(() => identityFromJson(JSON.stringify(bad)), { name: "ZccacheError" });
  }
});

test("identity file lives at R/daemon[-NS].running-process.json", () => {
  assert.equal(
    identityFilePath({ ZCCACHE_CACHE_DIR: "/x/zc" }, "linux"),
    "/x/zc/daemon.running-process.json",
  );
  assert.equal(
    identityFilePath({ HOME: "/home/alice", ZCCACHE_DAEMON_NAMESPACE: "soldr-dev" }, "linux"),
    "/home/alice/.zccache/daemon-soldr-dev.running-process.json",
  );
});

test("writeIdentityFile() creates parents and round-trips; readIdentityFile() is null on junk", () => {
  const dir = mkdtempSync(join(tmpdir(), "zcc-id-"));
  try {
    const path = join(dir, "a", "b", "daemon.running-process.json");
    writeIdentityFile(path, sample);
    assert.equal(readFileSync(path, "utf8"), identityToJson(sample));
    assert.deepEqual(readIdentityFile(path), sample);
    writeFileSync(path, "{not json");
    assert.equal(readIdentityFile(path), null);
    assert.equal(readIdentityFile(join(dir, "missing.json")), null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("currentDaemonIdentity() hashes the executable and maps the endpoint", async () => {
  const dir = mkdtempSync(join(tmpdir(), "zcc-id-"));
  try {
    const exe = join(dir, "zccache-daemon");
    writeFileSync(exe, "not really a binary");
    const id = await currentDaemonIdentity("/tmp/zccache-alice/sock-soldr-dev", {
      env: { ZCCACHE_DAEMON_NAMESPACE: "soldr-dev" },
      exePath: exe,
      nowMs: () => 1234,
    });
    assert.equal(id.pid, process.pid);
    assert.equal(id.exePath, exe);
    assert.equal(
      toHex(id.exeSha256),
      createHash("sha256").update("not really a binary").digest("hex"),
    );
    assert.deepEqual(id.ipcEndpoint, {
      namespaceId: "soldr-dev",
      path: "/tmp/zccache-alice/sock-soldr-dev",
    });
    assert.equal(id.startedAtUnixMs, 1234n);
    assert.equal(id.idleTimeoutSecs, null);
    if (process.platform === "linux") {
      const boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
      assert.equal(id.bootId, boot);
    }
    await assert.rejects(
      currentDaemonIdentity("/x", { exePath: join(dir, "missing") }),
      { name: "ZccacheError" },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("identityToProto() is the DaemonProcess protobuf (hand-built bytes)", () => {
  const id: DaemonIdentity = {
    pid: 300,
    exePath: "/d",
    exeSha256: new Uint8Array(32).fill(0xab),
    bootId: "b",
    ipcEndpoint: { namespaceId: "default", path: "/s" },
    startedAtUnixMs: 5n,
    idleTimeoutSecs: null,
  };
  const expected = "08ac02" + "12022f64" + "1a20" + "ab".repeat(32) +
    "220d" + "0a0764656661756c74" + "12022f73" + "2805" + "320162";
  assert.equal(toHex(identityToProto(id)), expected);
  assert.deepEqual(identityFromProto(identityToProto(id)), id);
  assert.throws(() => identityFromProto(new Uint8Array([0x08, 0x01])), { name: "ZccacheError" });
});

test("exeSha256 memoises by stat: a hit reads the memo, any change to the file hashes again", async () => {
  const dir = mkdtempSync(join(tmpdir(), "zcid-memo-"));
  try {
    const exe = join(dir, "tool");
    const memo = join(dir, "memo.json");
    const sha = (b: string) => createHash("sha256").update(b).digest("hex");
    writeFileSync(exe, "one");
    assert.equal(toHex(await exeSha256(exe, memo)), sha("one"));
    const written = JSON.parse(readFileSync(memo, "utf8"));
    assert.equal(written.sha256, sha("one"));
    // A hit comes from the memo: a forged digest under the same stat is what it returns.
    writeFileSync(memo, JSON.stringify({ ...written, sha256: "ab".repeat(32) }));
    assert.equal(toHex(await exeSha256(exe, memo)), "ab".repeat(32));
    // The file changes (content, size, mtime): hashed again, memo rewritten.
    writeFileSync(exe, "two!");
    assert.equal(toHex(await exeSha256(exe, memo)), sha("two!"));
    assert.equal(JSON.parse(readFileSync(memo, "utf8")).sha256, sha("two!"));
    // A corrupt memo only costs the hash.
    writeFileSync(memo, "{not json");
    assert.equal(toHex(await exeSha256(exe, memo)), sha("two!"));
    // No memo path: plain hash.
    assert.equal(toHex(await exeSha256(exe)), sha("two!"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
