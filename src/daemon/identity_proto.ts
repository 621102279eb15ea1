/**
 * The protobuf form of the daemon's running-process identity
 * (`DaemonProcess`), served to BackendHandle probes and read from their
 * replies. Separate from `identity.ts` so that only a probe loads the
 * protobuf descriptors.
 *
 * @module
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ZccacheError } from "../core/errors.ts";
import { DaemonProcessSchema } from "../core/gen/running_process_broker_v1_pb.ts";
import type { DaemonIdentity } from "./identity.ts";

/** The protobuf `DaemonProcess` bytes of an identity (probe responses). */
export function identityToProto(id: DaemonIdentity): Uint8Array {
  return toBinary(
    DaemonProcessSchema,
    create(DaemonProcessSchema, {
      pid: id.pid,
      exePath: id.exePath,
      exeSha256: id.exeSha256,
      ipcEndpoint: { namespaceId: id.ipcEndpoint.namespaceId, path: id.ipcEndpoint.path },
      startedAtUnixMs: id.startedAtUnixMs,
      bootId: id.bootId,
      ...(id.idleTimeoutSecs === null ? {} : { idleTimeoutSecs: id.idleTimeoutSecs }),
    }),
  );
}

/**
 * Decode a protobuf `DaemonProcess` into an identity (running-process
 * `TryFrom`): the endpoint is required and `exe_sha256` must be 32 bytes.
 */
export function identityFromProto(bytes: Uint8Array): DaemonIdentity {
  let m;
  try {
    m = fromBinary(DaemonProcessSchema, bytes);
  } catch (cause) {
    throw new ZccacheError("Deserialization", `failed to decode DaemonProcess: ${String(cause)}`, {
      cause,
    });
  }
  if (m.ipcEndpoint === undefined) {
    throw new ZccacheError("Deserialization", "daemon process is missing ipc_endpoint");
  }
  if (m.exeSha256.length !== 32) {
    throw new ZccacheError(
      "Deserialization",
      `daemon process exe_sha256 must be 32 bytes, got ${m.exeSha256.length}`,
    );
  }
  return {
    pid: m.pid,
    exePath: m.exePath,
    exeSha256: m.exeSha256,
    bootId: m.bootId,
    ipcEndpoint: { namespaceId: m.ipcEndpoint.namespaceId, path: m.ipcEndpoint.path },
    startedAtUnixMs: m.startedAtUnixMs,
    idleTimeoutSecs: m.idleTimeoutSecs ?? null,
  };
}
