/**
 * Reliability 3, corruption: the cache's own files damaged under a real
 * daemon (real wrapper `zccache gcc ...`, real gcc), with the daemon stopped
 * and with it running:
 *
 * - artifacts (`blobs/<2hex>/<sha256>`): truncated, bit-flipped, two blobs
 *   exchanged, deleted;
 * - `index.json` and `index.wal`: truncated, garbage bytes, deleted, and
 *   hostile (entries whose blob names are path traversal or absolute paths,
 *   huge or negative sizes, wrong types in every field);
 * - the layout: `tmp/` or `blobs/` replaced by a file, `index.json` by a
 *   directory, `tmp/` and `blobs/` planted as symlinks pointing outside.
 *
 * For each: every compile exits 0 with the object plain gcc makes, nothing
 * falls back, a later compile of the same sources is a hit again (the
 * daemon's `cache_hits` grows by one per source), the daemon keeps its PID
 * (or, stopped, the next compile starts one that stays up), and victim files
 * planted next to the cache dir, inside the cache root and in /tmp keep
 * their bytes and mtime (an outside directory the symlinks point to keeps its
 * listing and mtime).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { runCli } from "../e2e/_e2e.ts";
import { test } from "../_harness.ts";
import {
  daemonProcesses,
  delay,
  disposeAll,
  fallbackLines,
  have,
  HAVE_PROC,
  join,
  makeWorld,
  plainObject,
  report,
  runWrapped,
  sameBytes,
  statusJson,
} from "./_rel.ts";

const SOURCES: Record<string, string> = {
  "s0.c": "int f0(int x) { return x * 3 + 1; }\n",
  "s1.c":
    "static int t[4] = {1, 2, 3, 4};\nint f1(int x) { int s = 0; for (int i = 0; i < x; i++) s += t[i & 3]; return s; }\n",
};
const SRCS = Object.keys(SOURCES);
const FLAGS = ["-O1"];

type Mode = "stopped" | "running";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

test(
  "corruption: damaged blobs, index, log and layout, daemon stopped and running: exact objects, self-repair, no crash, nothing outside touched",
  async () => {
    const w = makeWorld("corrupt");
    const outside = mkdtempSync(join(tmpdir(), "zc-corrupt-outside-"));
    const root = join(w.cacheDir, "zccache-ts");
    const blobs = join(root, "blobs");
    const indexPath = join(root, "index.json");
    const walPath = join(root, "index.wal");
    const t0 = performance.now();
    // Victims: next to the cache dir, inside the cache root (not ours), in /tmp.
    const victims = [
      join(w.dir, "victim"),
      join(w.cacheDir, "victim"),
      join(tmpdir(), "victim"),
      join(outside, "victim"),
    ];
    const tmpVictimExisted = existsSync(victims[2]);
    const victimState = new Map<string, string>();
    for (const v of victims) {
      if (!existsSync(v)) writeFileSync(v, `victim ${v}\n`);
      const st = statSync(v);
      victimState.set(v, `${sha(readFileSync(v))} ${st.mtimeMs} ${st.size}`);
    }
    const outsideState = () =>
      `${readdirSync(outside).sort().join(",")} ${statSync(outside).mtimeMs}`;
    const outside0 = outsideState();

    let compiles = 0;
    let wrong = 0;
    let failed = 0;
    let fellBack = 0;
    let restarts = 0;
    const notRepaired: string[] = [];
    const faults: string[] = [];
    try {
      mkdirSync(join(w.dir, "out"));
      mkdirSync(join(w.dir, "ref"));
      const refs = new Map<string, Uint8Array>();
      for (const s of SRCS) {
        writeFileSync(join(w.dir, s), SOURCES[s]);
        refs.set(
          s,
          await plainObject(
            [...FLAGS, "-c", s, "-o", "x.o"],
            w.dir,
            w.env,
            join(w.dir, "ref", s + ".o"),
          ),
        );
      }
      /** The stored file of `s`'s object: `<hash>`, or an encoded form `<hash>.<ext>`. */
      const blobOf = (s: string) => {
        const h = sha(refs.get(s)!);
        const d = join(blobs, h.slice(0, 2));
        const names = existsSync(d) ? readdirSync(d).filter((n) => n.startsWith(h)) : [];
        assert.equal(names.length, 1, `one stored file for ${s} (${names.join(",")})`);
        return join(d, names[0]);
      };
      assert.notEqual(refs.get("s0.c")!.length, refs.get("s1.c")!.length, "sources differ in size");

      let outN = 0;
      /** Compile `src` through the wrapper: exit 0, plain gcc's bytes, no fallback. */
      const compile = async (src: string, label: string) => {
        const out = `out/o${outN++}.o`;
        const r = await runWrapped(["gcc", ...FLAGS, "-c", src, "-o", out], {
          env: w.env,
          cwd: w.dir,
          timeoutMs: 60_000,
        });
        compiles++;
        if (r.code !== 0) failed++;
        if (fallbackLines(r.err).length > 0) fellBack++;
        assert.equal(r.code, 0, `${label}: ${src}: ${r.err}`);
        const same = sameBytes(readFileSync(join(w.dir, out)), refs.get(src)!);
        if (!same) wrong++;
        assert.ok(same, `${label}: ${src}: object equals plain gcc's`);
        assert.deepEqual(fallbackLines(r.err), [], `${label}: ${src}: no fallback`);
      };
      const both = (label: string) => Promise.all(SRCS.map((s) => compile(s, label)));
      const hits = async () => Number((await statusJson(w)).cache_hits);
      /** One live daemon for this world; its PID. */
      const daemon = async (label: string): Promise<number> => {
        if (!HAVE_PROC) return 0;
        let pids = daemonProcesses(w.cacheDir);
        for (let i = 0; i < 20 && pids.length !== 1; i++) {
          await delay(50);
          pids = daemonProcesses(w.cacheDir);
        }
        assert.equal(pids.length, 1, `${label}: one daemon (${pids.join(",")})`);
        return pids[0];
      };
      const stop = async () => {
        const r = await runCli(["stop"], { env: w.env });
        assert.equal(r.code, 0, `stop: ${r.out}${r.err}`);
        for (let i = 0; i < 100 && daemonProcesses(w.cacheDir).length > 0; i++) await delay(50);
        assert.deepEqual(daemonProcesses(w.cacheDir), [], "daemon stopped");
      };
      const checkOutside = (label: string) => {
        for (const v of victims) {
          const st = lstatSync(v, { throwIfNoEntry: false });
          assert.ok(st?.isFile(), `${label}: victim ${v} still there`);
          assert.equal(
            `${sha(readFileSync(v))} ${st!.mtimeMs} ${st!.size}`,
            victimState.get(v),
            `${label}: victim ${v} untouched`,
          );
        }
        assert.equal(outsideState(), outside0, `${label}: outside directory untouched`);
      };
      const writable = (p: string) => {
        try {
          chmodSync(p, 0o600);
        } catch {
          // absent
        }
      };

      /** The persisted artifact entries (daemon stopped, index flushed). */
      const realEntries = (): Record<string, unknown>[] => {
        const idx = JSON.parse(readFileSync(indexPath, "utf8"));
        return idx.artifacts;
      };
      const hostileEntries = (real: Record<string, unknown>[]): Record<string, unknown>[] => {
        const out: Record<string, unknown>[] = [];
        const names = [
          "../../../victim",
          "../../victim",
          "../victim",
          victims[0],
          victims[1],
          victims[2],
          "/etc/passwd",
          "",
          "..",
        ];
        for (const [i, e] of real.entries()) {
          const o = (e.outputs as Record<string, unknown>[])[0];
          const mk = (tag: string, patch: Record<string, unknown>) =>
            out.push({
              ...e,
              key: `${e.key}-${tag}${i}`,
              lastUse: Number(e.lastUse) + 1,
              ...patch,
            });
          for (const [n, blob] of names.entries()) {
            mk(`trav${n}-`, { outputs: [{ ...o, blob }] });
            mk(`travsub${n}-`, {
              outputs: [{ ...o, blob: `${String(o.blob).slice(0, 2)}/${blob}` }],
            });
          }
          mk("huge", { size: 2 ** 52, outputs: [{ ...o, size: 2 ** 52 }] });
          mk("hugeunsafe", { size: 1e300, outputs: [{ ...o, size: 1e300 }] });
          mk("neg", { size: -(2 ** 52), outputs: [{ ...o, size: -(2 ** 52) }] });
          mk("nan", { size: "NaN" });
          mk("types1", { outputs: "x" });
          mk("types2", { inputs: { a: 1 } });
          mk("types3", { stdout: 7, stderr: null });
          mk("types4", { exitCode: "0" });
          mk("types5", { probes: "garbage" });
          mk("types6", { probes: [null, 5, { dirs: 7 }] });
          mk("types7", { stamps: 5 });
          mk("types8", { stamps: [[1, 2], null] });
          mk("types9", { depTargets: 3, flavor: {} });
          mk("types10", { date: 7 });
          mk("types11", { inputs: [[5, 6]], outputs: [null] });
          mk("types12", { context: "../../../victim" });
          out.push({ ...e, key: 12345 });
          out.push(null as unknown as Record<string, unknown>);
          out.push([] as unknown as Record<string, unknown>);
        }
        return out;
      };
      const walText = (entries: unknown[]) =>
        entries.map((e) => JSON.stringify(e)).join("\n") + "\n";

      /**
       * One fault: with the daemon `mode`, apply `inject`, compile both sources
       * (exact), then compile them again: each must be a hit.
       */
      const scenario = async (
        name: string,
        mode: Mode,
        inject: () => void,
        opts: { restartAfter?: boolean } = {},
      ) => {
        const label = `${mode}: ${name}`;
        faults.push(label);
        let pid = 0;
        if (mode === "stopped") await stop();
        else pid = await daemon(label);
        inject();
        await both(label);
        if (mode === "stopped") {
          restarts++;
          pid = await daemon(label);
        }
        if (opts.restartAfter) {
          // The running daemon's repair reaches the disk on its next flush: restart.
          assert.equal(await daemon(label), pid, `${label}: same daemon`);
          await stop();
          await both(`${label} (after restart)`);
          restarts++;
          pid = await daemon(label);
        }
        // A later compile is a hit again.
        const h0 = await hits();
        await both(`${label} (again)`);
        const got = (await hits()) - h0;
        if (got !== SRCS.length) notRepaired.push(label);
        assert.equal(got, SRCS.length, `${label}: every source hits again after the repair`);
        assert.equal(await daemon(label), pid, `${label}: the daemon did not crash`);
        checkOutside(label);
      };

      // Fill the cache.
      await both("fill");
      await both("warm");

      for (const mode of ["stopped", "running"] as Mode[]) {
        // Artifacts.
        await scenario("blob truncated", mode, () => {
          const f = blobOf("s0.c");
          writable(f);
          writeFileSync(f, readFileSync(f).subarray(0, 100));
        });
        await scenario("blob bit-flipped", mode, () => {
          for (const s of SRCS) {
            const f = blobOf(s);
            writable(f);
            const b = readFileSync(f);
            b[b.length >> 1] ^= 0x10;
            writeFileSync(f, b);
          }
        });
        await scenario("two blobs swapped", mode, () => {
          const [a, b] = SRCS.map(blobOf);
          const [ba, bb] = [readFileSync(a), readFileSync(b)];
          writable(a);
          writable(b);
          writeFileSync(a, bb);
          writeFileSync(b, ba);
        });
        await scenario("blobs deleted", mode, () => {
          for (const s of SRCS) unlinkSync(blobOf(s));
        });
        await scenario("every blob deleted (blobs/ removed)", mode, () => {
          rmSync(blobs, { recursive: true, force: true });
        });

        // Index and write-ahead log.
        if (mode === "stopped") {
          await scenario("index.json truncated", mode, () => {
            writeFileSync(indexPath, readFileSync(indexPath).subarray(0, 300));
          });
          await scenario("index.json garbage bytes", mode, () => {
            const b = readFileSync(indexPath);
            for (let i = 0; i < b.length; i += 7) b[i] = (i * 131) & 0xff;
            writeFileSync(indexPath, b);
          });
          await scenario("index.json deleted", mode, () => unlinkSync(indexPath));
          await scenario("index.json hostile entries", mode, () => {
            const idx = JSON.parse(readFileSync(indexPath, "utf8"));
            idx.artifacts = [...idx.artifacts, ...hostileEntries(idx.artifacts)];
            idx.contexts = [...idx.contexts, ["../../../victim", ["x"]], null, 5];
            writeFileSync(indexPath, JSON.stringify(idx));
          });
          await scenario("index.json hostile files/compilers records", mode, () => {
            const idx = JSON.parse(readFileSync(indexPath, "utf8"));
            idx.files = [...idx.files, ["../../../victim", "x", null, 5], null];
            idx.compilers = [["/usr/bin/gcc", "garbage"], [5, { size: "x" }], null];
            writeFileSync(indexPath, JSON.stringify(idx));
          });
          await scenario("index.json wrong top-level types", mode, () => {
            writeFileSync(
              indexPath,
              JSON.stringify({
                format: "zccache-ts-index",
                version: 2,
                artifacts: {},
                contexts: 5,
              }),
            );
          });
          await scenario("index.json deleted, index.wal truncated mid-entry", mode, () => {
            const text = walText(realEntries());
            unlinkSync(indexPath);
            writeFileSync(walPath, text.slice(0, text.length - 200));
          });
          await scenario("index.json deleted, index.wal garbage bytes", mode, () => {
            const b = new TextEncoder().encode(walText(realEntries()));
            for (let i = 0; i < b.length; i += 5) b[i] = (i * 37) & 0xff;
            unlinkSync(indexPath);
            writeFileSync(walPath, b);
          });
          await scenario("index.json deleted, index.wal hostile entries", mode, () => {
            const real = realEntries();
            unlinkSync(indexPath);
            writeFileSync(
              walPath,
              walText(hostileEntries(real)) + "x".repeat(1 << 20) + "\n" + walText(real),
            );
          });
        } else {
          // A running daemon does not read its index again: damage it, compile
          // (hits from memory), then restart and check the next daemon.
          await scenario("index.json truncated, index.wal garbage", mode, () => {
            writeFileSync(indexPath, readFileSync(indexPath).subarray(0, 300));
            writeFileSync(walPath, '\x00\xff garbage {\n{"key":');
          }, { restartAfter: true });
          await scenario("index.json garbage, index.wal hostile entries", mode, () => {
            const idx = readFileSync(indexPath, "utf8");
            const real = JSON.parse(idx).artifacts;
            writeFileSync(indexPath, "\x01\x02garbage" + idx.slice(20));
            writeFileSync(walPath, walText(hostileEntries(real)));
          }, { restartAfter: true });
          await scenario("index.json and index.wal deleted", mode, () => {
            rmSync(indexPath, { force: true });
            rmSync(walPath, { force: true });
          }, { restartAfter: true });
          await scenario("index.json hostile entries", mode, () => {
            const idx = JSON.parse(readFileSync(indexPath, "utf8"));
            idx.artifacts = [...idx.artifacts, ...hostileEntries(idx.artifacts)];
            writeFileSync(indexPath, JSON.stringify(idx));
          }, { restartAfter: true });
        }

        // The layout.
        await scenario("tmp/ replaced by a file", mode, () => {
          rmSync(join(root, "tmp"), { recursive: true, force: true });
          writeFileSync(join(root, "tmp"), "not a dir");
        });
        await scenario("blobs/ replaced by a file", mode, () => {
          rmSync(blobs, { recursive: true, force: true });
          writeFileSync(blobs, "not a dir");
        });
        await scenario("blobs/<2hex> replaced by a file", mode, () => {
          for (const s of SRCS) {
            const d = join(blobOf(s), "..");
            rmSync(d, { recursive: true, force: true });
            writeFileSync(d, "not a dir");
          }
        });
        await scenario("index.json replaced by a directory", mode, () => {
          rmSync(indexPath, { force: true });
          mkdirSync(join(indexPath, "sub"), { recursive: true });
          writeFileSync(join(indexPath, "sub", "f"), "x");
        }, { restartAfter: mode === "running" });
        await scenario("tmp/ a symlink to a directory outside", mode, () => {
          rmSync(join(root, "tmp"), { recursive: true, force: true });
          symlinkSync(outside, join(root, "tmp"));
        });
        await scenario("blobs/ a symlink to a directory outside", mode, () => {
          rmSync(blobs, { recursive: true, force: true });
          symlinkSync(outside, blobs);
        });
      }
      await stop();
      const ms = performance.now() - t0;
      report("corruption", {
        faults: faults.length,
        compiles,
        builds_failed: failed,
        fell_back: fellBack,
        wrong_objects: wrong,
        daemon_restarts: restarts,
        hit_again_after_repair: faults.length - notRepaired.length,
        hostile_entries_per_index: hostileEntries([{ outputs: [{}] }]).length,
        ms: Math.round(ms),
      });
      checkOutside("end");
      assert.equal(wrong, 0);
      assert.equal(failed, 0);
      assert.equal(fellBack, 0);
    } finally {
      await disposeAll(w);
      rmSync(outside, { recursive: true, force: true });
      if (!tmpVictimExisted) rmSync(victims[2], { force: true });
    }
  },
  { ignore: !have("gcc"), timeout: 90_000 },
);
