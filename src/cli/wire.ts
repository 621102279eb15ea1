/**
 * `zccache wire decode|encode`: the wire inspector.
 *
 * ```text
 * zccache wire decode --direction request|response [--codec auto|bincode|prost] [--jsonl] [HEX]
 * zccache wire encode --codec bincode|prost|frame --direction request|response
 *                     [--request-id ID] [--frame-id N] [--jsonl]     (value JSON on stdin)
 * ```
 *
 * `decode` reads hex from the argument or from stdin and decodes the FIRST
 * frame: `{"codec":...,"value":...,"request_id"?,"frame_id"?,"consumed":N}`
 * (exit 0), `{"incomplete":true}` (exit 3) or
 * `{"error":{"kind":...,"consumed":N,"message":...}}` (exit 1). `encode` reads
 * the value JSON (the shape of the golden vectors' `value`) on stdin and
 * prints the whole frame as lowercase hex. `--jsonl`: one input per line,
 * one output per line. Usage errors exit 2.
 *
 * The bincode paths do not load protobuf code; prost and frame load it on
 * demand.
 *
 * @module
 */
import type { CliIo } from "./io.ts";
import { decodeBincodeFrame, encodeBincodeFrame } from "../core/bincode.ts";
import { decodeUtf8Strict, fromHex, toHex } from "../core/bytes.ts";
import { isZccacheError } from "../core/errors.ts";
import { fromJsonValue, toJsonValue, u64FromJson, u64ToJson } from "../core/json_value.ts";
import type { Direction, Request } from "../core/messages.ts";

const USAGE = `Usage:
  zccache wire decode --direction request|response [--codec auto|bincode|prost] [--jsonl] [HEX]
  zccache wire encode --codec bincode|prost|frame --direction request|response
                      [--request-id ID] [--frame-id N] [--jsonl]   (value JSON on stdin)

decode prints {"codec","value","request_id"?,"frame_id"?,"consumed"} for the first frame
(exit 0), {"incomplete":true} (exit 3) or {"error":{...}} (exit 1). HEX defaults to stdin.
--jsonl reads one input per line and writes one output per line.
`;

class UsageError extends Error {}

interface Parsed {
  command: "decode" | "encode";
  direction: Direction;
  codec: string;
  requestId?: string;
  frameId?: bigint;
  jsonl: boolean;
  positional: string[];
}

function parseArgs(args: string[]): Parsed | "help" {
  const [command, ...rest] = args;
  if (command === "-h" || command === "--help" || command === "help") return "help";
  if (command !== "decode" && command !== "encode") {
    throw new UsageError(
      command === undefined
        ? "missing subcommand (decode or encode)"
        : `unknown subcommand ${JSON.stringify(command)} (expected decode or encode)`,
    );
  }
  const opts: Record<string, string> = {};
  let jsonl = false;
  const positional: string[] = [];
  const valued = new Set(["--direction", "--codec", "--request-id", "--frame-id"]);
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === "-h" || a === "--help") return "help";
    if (a === "--jsonl") {
      jsonl = true;
      continue;
    }
    if (a === "--") {
      positional.push(...rest.slice(i + 1));
      break;
    }
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = eq < 0 ? a : a.slice(0, eq);
      if (!valued.has(name)) throw new UsageError(`unknown option ${name}`);
      let value: string | undefined;
      if (eq >= 0) value = a.slice(eq + 1);
      else {
        value = rest[++i];
        if (value === undefined) throw new UsageError(`option ${name} needs a value`);
      }
      opts[name] = value;
      continue;
    }
    positional.push(a);
  }
  const direction = opts["--direction"];
  if (direction === undefined) throw new UsageError("missing --direction request|response");
  if (direction !== "request" && direction !== "response") {
    throw new UsageError(
      `--direction must be request or response, got ${JSON.stringify(direction)}`,
    );
  }
  const codecs = command === "decode"
    ? ["auto", "bincode", "prost"]
    : ["bincode", "prost", "frame"];
  const codec = opts["--codec"] ?? (command === "decode" ? "auto" : undefined);
  if (codec === undefined) throw new UsageError("missing --codec bincode|prost|frame");
  if (!codecs.includes(codec)) {
    throw new UsageError(
      `--codec must be one of ${codecs.join(", ")}, got ${JSON.stringify(codec)}`,
    );
  }
  let frameId: bigint | undefined;
  if (opts["--frame-id"] !== undefined) {
    if (command !== "encode") throw new UsageError("--frame-id applies to encode only");
    try {
      frameId = u64FromJson(opts["--frame-id"], "--frame-id");
    } catch {
      throw new UsageError(`--frame-id must be a u64 in decimal, got ${opts["--frame-id"]}`);
    }
  }
  if (opts["--request-id"] !== undefined && command !== "encode") {
    throw new UsageError("--request-id applies to encode only");
  }
  if (command === "encode" && positional.length > 0) {
    throw new UsageError("encode reads the value JSON from stdin; unexpected argument");
  }
  if (positional.length > 1) throw new UsageError("expected at most one HEX argument");
  if (jsonl && positional.length > 0) {
    throw new UsageError("--jsonl reads stdin; unexpected HEX argument");
  }
  return {
    command,
    direction,
    codec,
    requestId: opts["--request-id"],
    frameId,
    jsonl,
    positional,
  };
}

type DecodeResult = { code: 0 | 1 | 3; json: unknown };

async function decodeOne(hex: string, p: Parsed): Promise<DecodeResult> {
  let buf: Uint8Array;
  try {
    buf = fromHex(hex.replace(/\s+/g, ""));
  } catch (e) {
    return {
      code: 1,
      json: { error: { kind: "InvalidHex", consumed: 0, message: (e as Error).message } },
    };
  }
  try {
    if (p.codec === "bincode") {
      const r = decodeBincodeFrame(buf, p.direction);
      if (r === null) return { code: 3, json: { incomplete: true } };
      return {
        code: 0,
        json: {
          codec: "bincode",
          value: toJsonValue(p.direction, r.message),
          consumed: r.consumed,
        },
      };
    }
    if (p.codec === "prost") {
      const { decodeProstFrame } = await import("../core/prost.ts");
      const r = decodeProstFrame(buf, p.direction);
      if (r === null) return { code: 3, json: { incomplete: true } };
      return {
        code: 0,
        json: {
          codec: "prost",
          value: toJsonValue(p.direction, r.message),
          request_id: r.requestId,
          consumed: r.consumed,
        },
      };
    }
    const { decodeWireMessage } = await import("../core/wire.ts");
    const r = decodeWireMessage(buf, p.direction);
    if (r === null) return { code: 3, json: { incomplete: true } };
    const json: Record<string, unknown> = {
      codec: r.lane,
      value: toJsonValue(p.direction, r.message),
    };
    if (r.requestId !== undefined) json.request_id = r.requestId;
    if (r.frameId !== undefined) json.frame_id = u64ToJson(r.frameId);
    json.consumed = r.consumed;
    return { code: 0, json };
  } catch (e) {
    if (!isZccacheError(e)) throw e;
    return {
      code: 1,
      json: { error: { kind: e.code, consumed: e.consumed ?? 0, message: e.message } },
    };
  }
}

async function encodeOne(text: string, p: Parsed): Promise<Uint8Array> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new TypeError(`value is not JSON: ${(e as Error).message}`);
  }
  const msg = fromJsonValue(p.direction, json);
  if (p.codec === "bincode") return encodeBincodeFrame(p.direction, msg);
  const { defaultRequestId } = await import("../core/prost.ts");
  const requestId = p.requestId ??
    (p.direction === "request" ? defaultRequestId(msg as Request) : "");
  if (p.codec === "prost") {
    const { encodeProstFrame } = await import("../core/prost.ts");
    return encodeProstFrame(p.direction, msg, requestId);
  }
  const { encodeFrameV1 } = await import("../core/frame_v1.ts");
  return encodeFrameV1(p.direction, msg, { requestId, frameId: p.frameId ?? 1n });
}

async function readStdinText(io: CliIo): Promise<string> {
  const bytes = await io.readStdin();
  try {
    return decodeUtf8Strict(bytes);
  } catch {
    throw new UsageError("stdin is not valid UTF-8");
  }
}

function lines(text: string): string[] {
  return text.split(/\r?\n/).filter((l) => l.trim() !== "");
}

/**
 * Run `zccache wire ...` (args after `wire`). Returns the exit code: 0 ok,
 * 1 invalid frame or value, 2 usage error, 3 incomplete frame.
 */
export async function wireCommand(args: string[], io: CliIo): Promise<number> {
  let p: Parsed | "help";
  try {
    p = parseArgs(args);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    await io.stderr(`zccache wire: ${e.message} (see zccache wire --help)\n`);
    return 2;
  }
  if (p === "help") {
    await io.stdout(USAGE);
    return 0;
  }
  try {
    if (p.command === "decode") {
      const inputs = p.positional.length > 0
        ? [p.positional[0]]
        : p.jsonl
        ? lines(await readStdinText(io))
        : [await readStdinText(io)];
      if (!p.jsonl && inputs[0].trim() === "") throw new UsageError("no hex input");
      let code = 0;
      let out = "";
      for (const hex of inputs) {
        const r = await decodeOne(hex, p);
        out += JSON.stringify(r.json) + "\n";
        if (r.code === 1 || (r.code === 3 && code === 0)) code = r.code;
      }
      await io.stdout(out);
      return code;
    }
    const text = await readStdinText(io);
    const inputs = p.jsonl ? lines(text) : [text];
    let code = 0;
    let out = "";
    for (const input of inputs) {
      try {
        out += toHex(await encodeOne(input, p)) + "\n";
      } catch (e) {
        if (!(e instanceof TypeError) && !isZccacheError(e)) throw e;
        if (!p.jsonl) {
          await io.stderr(`zccache wire encode: ${(e as Error).message}\n`);
          return 1;
        }
        out += JSON.stringify({ error: { kind: "InvalidValue", message: (e as Error).message } }) +
          "\n";
        code = 1;
      }
    }
    await io.stdout(out);
    return code;
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    await io.stderr(`zccache wire: ${e.message} (see zccache wire --help)\n`);
    return 2;
  }
}
