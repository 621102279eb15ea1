/**
 * The daemon's running-process identity: `daemon[-NS].running-process.json`
 * and its protobuf form (`DaemonProcess`) served to BackendHandle probes.
 *
 * Reproduces zccache@3eae627:crates/zccache/src/ipc/mod.rs
 * (`current_backend_identity`, `write_backend_identity`,
 * `backend_identity_path`) and running-process@b70d70e (4.4.0)
 * crates/running-process/src/broker/backend_lifecycle/identity.rs
 * (`DaemonProcess`, `DaemonProcessSerde`) and broker/host_identity.rs
 * (`boot_id`).
 *
 * The file is `serde_json::to_vec_pretty` of `DaemonProcessSerde`: two-space
 * indent, one key per line in this order, each array element on its own
 * line, no trailing newline:
 * ```
 * {
 *   "pid": 41234,
 *   "exe_path": "/home/alice/.zccache/runtime-binaries/zccache-daemon.3",
 *   "exe_sha256": [
 *     17,
 *     …32 integers 0-255…
 *   ],
 *   "boot_id": "3f1c…",
 *   "ipc_endpoint": {
 *     "namespace_id": "default",
 *     "path": "/run/user/1000/zccache/sock"
 *   },
 *   "started_at_unix_ms": 1752000000000,
 *   "idle_timeout_secs": null
 * }
 * ```
 * The protobuf form lives in `identity_proto.ts`: its descriptors take
 * ~10 ms to evaluate, which a daemon start (that only writes the JSON) and
 * a wrapper never pay.
 *
 * Location: `identityFilePath(env)` from `src/transport/endpoint.ts`
 * (`R/daemon[-NS].running-process.json`). zccache 1.12.2 writes it
 * non-atomically on every won start and never deletes it.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { createReadStream, mkdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { uptime } from "node:os";
import { dirname } from "node:path";
import process from "node:process";
import { fromHex, toHex } from "../core/bytes.ts";
import { ZccacheError } from "../core/errors.ts";
import { type EnvLike, runningProcessEndpoint } from "../transport/endpoint.ts";
import { writePrivateFile } from "./private_fs.ts";

/** running-process `Endpoint` (`namespace_id`, `path`). */
export interface IdentityEndpoint {
  /** `"default"` or the sanitized daemon namespace. */
  namespaceId: string;
  /** Unix: the socket path; Windows: the pipe name without `\\.\pipe\`. */
  path: string;
}

/** running-process 4.4.0 `DaemonProcess` (SHA-256 form). */
export interface DaemonIdentity {
  /** Daemon PID (u32). */
  pid: number;
  /** The daemon's executable (`current_exe()`). */
  exePath: string;
  /** SHA-256 of the executable, exactly 32 bytes. */
  exeSha256: Uint8Array;
  /** `host_identity::boot_id()`. */
  bootId: string;
  /** The endpoint the daemon serves. */
  ipcEndpoint: IdentityEndpoint;
  /** When the identity was computed (u64 ms since the epoch). */
  startedAtUnixMs: bigint;
  /** Always `null` from zccache. */
  idleTimeoutSecs: number | null;
}

/**
 * running-process `host_identity::boot_id()`: Linux
 * `/proc/sys/kernel/random/boot_id` trimmed (else `unknown`), macOS
 * `macos-boot-<sec>-<usec>` of `kern.boottime`, Windows
 * `windows-boot-<unix secs of now - uptime>`, others `unknown`.
 */
export function bootId(): string {
  switch (process.platform) {
    case "linux": {
      try {
        const v = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
        return v === "" ? "unknown" : v;
      } catch {
        return "unknown";
      }
    }
    case "darwin": {
      const r = spawnSync("sysctl", ["-n", "kern.boottime"], { encoding: "utf8" });
      const m = typeof r.stdout === "string" ? /sec = (\d+), usec = (\d+)/.exec(r.stdout) : null;
      return m ? `macos-boot-${m[1]}-${m[2]}` : "unknown";
    }
    case "win32": {
      const secs = Math.floor((Date.now() - Math.floor(uptime() * 1000)) / 1000);
      return `windows-boot-${secs}`;
    }
    default:
      return "unknown";
  }
}

/** SHA-256 of a file, streamed. */
export function sha256File(path: string): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const h = createHash("sha256");
    const s = createReadStream(path);
    s.on("data", (c) => h.update(c as Uint8Array));
    s.on("error", reject);
    s.on("end", () => resolve(new Uint8Array(h.digest())));
  });
}

/**
 * SHA-256 of an executable, memoised in `memoFile` by (path, device, inode,
 * size, mtime, ctime): hashing a 100 MiB single-file binary takes ~270 ms,
 * which a daemon start must not pay each time. Any change to the file (a new
 * build, a copy over it) changes its stat and the file is hashed again; the
 * memo lives in the user's private cache root, and a memo that cannot be read
 * or written only costs the hash.
 */
export async function exeSha256(path: string, memoFile?: string): Promise<Uint8Array> {
  const st = statSync(path, { bigint: true });
  const sig = [path, st.dev, st.ino, st.size, st.mtimeNs, st.ctimeNs].join(":");
  if (memoFile !== undefined) {
    try {
      const memo = JSON.parse(readFileSync(memoFile, "utf8")) as {
        sig?: unknown;
        sha256?: unknown;
      };
      if (
        memo.sig === sig && typeof memo.sha256 === "string" && /^[0-9a-f]{64}$/.test(memo.sha256)
      ) {
        return fromHex(memo.sha256);
      }
    } catch {
      // no memo yet
    }
  }
  const digest = await sha256File(path);
  if (memoFile !== undefined) {
    try {
      const tmp = `${memoFile}.${process.pid}.tmp`;
      writePrivateFile(tmp, JSON.stringify({ sig, sha256: toHex(digest) }));
      renameSync(tmp, memoFile);
    } catch {
      // best effort
    }
  }
  return digest;
}

/** Options for {@link currentDaemonIdentity}. */
export interface CurrentIdentityOptions {
  /** Environment (namespace). Default `process.env`. */
  env?: EnvLike;
  /** Executable to name and hash (default `process.execPath`). */
  exePath?: string;
  /** PID (default `process.pid`). */
  pid?: number;
  /** Clock (default `Date.now`). */
  nowMs?: () => number;
  /** Where the executable's hash is memoised (see {@link exeSha256}); none by default. */
  hashMemo?: string;
}

/**
 * zccache `current_backend_identity(endpoint)`: this process, its
 * executable's SHA-256, the boot id and the running-process endpoint.
 * Throws ZccacheError "Endpoint" if the executable cannot be hashed.
 */
export async function currentDaemonIdentity(
  endpoint: string,
  options: CurrentIdentityOptions = {},
): Promise<DaemonIdentity> {
  const env = options.env ?? process.env;
  const exePath = options.exePath ?? process.execPath;
  let digest: Uint8Array;
  try {
    digest = await exeSha256(exePath, options.hashMemo);
  } catch (cause) {
    throw new ZccacheError("Endpoint", `failed to hash executable: ${String(cause)}`, { cause });
  }
  const ep = runningProcessEndpoint(endpoint, env, process.platform);
  return {
    pid: options.pid ?? process.pid,
    exePath,
    exeSha256: digest,
    bootId: bootId(),
    ipcEndpoint: { namespaceId: ep.namespaceId, path: ep.path },
    startedAtUnixMs: BigInt((options.nowMs ?? Date.now)()),
    idleTimeoutSecs: null,
  };
}

/** The exact `serde_json::to_vec_pretty` text of an identity. */
export function identityToJson(id: DaemonIdentity): string {
  if (id.exeSha256.length !== 32) {
    throw new ZccacheError(
      "Serialization",
      `daemon process exe_sha256 must be 32 bytes, got ${id.exeSha256.length}`,
    );
  }
  const s = JSON.stringify;
  const lines = [
    "{",
    `  "pid": ${id.pid},`,
    `  "exe_path": ${s(id.exePath)},`,
    `  "exe_sha256": [`,
    ...Array.from(id.exeSha256, (b, i) => `    ${b}${i < 31 ? "," : ""}`),
    `  ],`,
    `  "boot_id": ${s(id.bootId)},`,
    `  "ipc_endpoint": {`,
    `    "namespace_id": ${s(id.ipcEndpoint.namespaceId)},`,
    `    "path": ${s(id.ipcEndpoint.path)}`,
    `  },`,
    `  "started_at_unix_ms": ${id.startedAtUnixMs.toString()},`,
    `  "idle_timeout_secs": ${id.idleTimeoutSecs === null ? "null" : String(id.idleTimeoutSecs)}`,
    "}",
  ];
  return lines.join("\n");
}

function isUint(v: unknown, max: number): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= max;
}

/**
 * Parse the identity JSON with serde's rules: all fields but
 * `idle_timeout_secs` required, unknown fields ignored, `exe_sha256` exactly
 * 32 integers 0-255. Throws ZccacheError "Deserialization".
 */
export function identityFromJson(text: string): DaemonIdentity {
  const fail = (why: string): never => {
    throw new ZccacheError("Deserialization", `invalid daemon identity: ${why}`);
  };
  let raw: unknown;
  try {
    // Keep u64 precision for started_at_unix_ms.
    raw = JSON.parse(text);
  } catch (cause) {
    throw new ZccacheError("Deserialization", `invalid daemon identity: ${String(cause)}`, {
      cause,
    });
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return fail("not an object");
  const o = raw as Record<string, unknown>;
  if (!isUint(o.pid, 0xffff_ffff)) return fail("missing or invalid field `pid`");
  if (typeof o.exe_path !== "string") return fail("missing or invalid field `exe_path`");
  const sha = o.exe_sha256;
  if (!Array.isArray(sha) || sha.length !== 32 || !sha.every((b) => isUint(b, 255))) {
    return fail("`exe_sha256` must be an array of 32 integers 0-255");
  }
  if (typeof o.boot_id !== "string") return fail("missing or invalid field `boot_id`");
  const ep = o.ipc_endpoint as Record<string, unknown> | null | undefined;
  if (
    typeof ep !== "object" || ep === null || typeof ep.namespace_id !== "string" ||
    typeof ep.path !== "string"
  ) return fail("missing or invalid field `ipc_endpoint`");
  const started = o.started_at_unix_ms;
  if (typeof started !== "number" || !Number.isInteger(started) || started < 0) {
    return fail("missing or invalid field `started_at_unix_ms`");
  }
  const idle = o.idle_timeout_secs;
  if (idle !== undefined && idle !== null && !isUint(idle, 0xffff_ffff)) {
    return fail("invalid field `idle_timeout_secs`");
  }
  return {
    pid: o.pid,
    exePath: o.exe_path,
    exeSha256: Uint8Array.from(sha as number[]),
    bootId: o.boot_id,
    ipcEndpoint: { namespaceId: ep.namespace_id, path: ep.path },
    startedAtUnixMs: BigInt(started),
    idleTimeoutSecs: idle === undefined || idle === null ? null : idle as number,
  };
}

/**
 * zccache `write_backend_identity`: create the parent directories, then a
 * plain (non-atomic) write of the pretty JSON, no trailing newline.
 */
export function writeIdentityFile(path: string, identity: DaemonIdentity): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writePrivateFile(path, identityToJson(identity));
}

/** Read and parse the identity file; `null` when missing or invalid. */
export function readIdentityFile(path: string): DaemonIdentity | null {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return null;
  }
  try {
    return identityFromJson(text);
  } catch {
    return null;
  }
}

/**
 * Remove the identity file (ignores a missing file). Note: zccache 1.12.2
 * itself never deletes it; a daemon that wants byte-for-byte on-disk parity
 * leaves it in place.
 */
export function removeIdentityFile(path: string): void {
  rmSync(path, { force: true });
}
