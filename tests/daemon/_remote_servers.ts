/**
 * Real remote-cache servers for the tests, on 127.0.0.1 and a free port:
 * `redis-server` (no persistence) and `nginx` as a WebDAV PUT/GET store
 * (`dav_methods PUT; create_full_put_path on;`). Each test starts its own
 * and stops it; `pause()`/`resume()` (SIGSTOP/SIGCONT) make a server that
 * accepts connections but never answers.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

/** Absolute path of `tool`, or null. */
export function tool(name: string): string | null {
  for (const dir of ["/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"]) {
    try {
      execFileSync("test", ["-x", join(dir, name)]);
      return join(dir, name);
    } catch {
      // next
    }
  }
  return null;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitPort(port: number, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = connect({ host: "127.0.0.1", port });
      c.on("connect", () => {
        c.destroy();
        resolve(true);
      });
      c.on("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`server on port ${port} did not start`);
}

/** One running server. */
export interface Server {
  url: string;
  /** Stop answering (SIGSTOP). */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

function signal(child: ChildProcess, sig: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(child.pid, sig);
  } catch {
    // already gone
  }
}

function handle(child: ChildProcess, dir: string, url: string): Server {
  let exited = false;
  const gone = new Promise<void>((r) =>
    child.on("exit", () => {
      exited = true;
      r();
    })
  );
  return {
    url,
    // process.kill by pid: Deno's ChildProcess.kill sends only one signal per child.
    pause: () => signal(child, "SIGSTOP"),
    resume: () => signal(child, "SIGCONT"),
    stop: async () => {
      if (!exited) {
        signal(child, "SIGCONT");
        signal(child, "SIGKILL");
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** redis-server on a free port (no persistence). */
export async function startRedis(): Promise<Server> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "zc-redis-"));
  const child = spawn(tool("redis-server")!, [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    dir,
  ], { stdio: "ignore" });
  await waitPort(port);
  return handle(child, dir, `redis://127.0.0.1:${port}`);
}

/**
 * redis-server with TLS only (`rediss://`), a self-signed certificate for
 * 127.0.0.1 made with openssl; `ca` is the PEM file clients trust.
 */
export async function startRedisTls(): Promise<Server & { ca: string }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "zc-redis-tls-"));
  const key = join(dir, "key.pem");
  const cert = join(dir, "cert.pem");
  execFileSync("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    key,
    "-out",
    cert,
    "-days",
    "1",
    "-subj",
    "/CN=127.0.0.1",
    "-addext",
    "subjectAltName=IP:127.0.0.1",
  ], { stdio: "ignore" });
  const child = spawn(tool("redis-server")!, [
    "--port",
    "0",
    "--tls-port",
    String(port),
    "--tls-cert-file",
    cert,
    "--tls-key-file",
    key,
    "--tls-auth-clients",
    "no",
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    dir,
  ], { stdio: "ignore" });
  await waitPort(port);
  return { ...handle(child, dir, `rediss://127.0.0.1:${port}`), ca: cert };
}

/** nginx serving a WebDAV PUT/GET directory on a free port. */
export async function startNginx(): Promise<Server> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "zc-nginx-"));
  mkdirSync(join(dir, "data"));
  mkdirSync(join(dir, "tmp"));
  writeFileSync(
    join(dir, "nginx.conf"),
    `daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp;
  proxy_temp_path ${dir}/tmp;
  fastcgi_temp_path ${dir}/tmp;
  uwsgi_temp_path ${dir}/tmp;
  scgi_temp_path ${dir}/tmp;
  client_max_body_size 64m;
  server {
    listen 127.0.0.1:${port};
    location /cache/ {
      alias ${dir}/data/;
      dav_methods PUT;
      create_full_put_path on;
      dav_access user:rw;
    }
  }
}
`,
  );
  const child = spawn(tool("nginx")!, ["-p", dir, "-c", join(dir, "nginx.conf")], {
    stdio: "ignore",
  });
  await waitPort(port);
  return handle(child, dir, `http://127.0.0.1:${port}/cache`);
}
