/**
 * nginx as the C peer: one worker (the Node peers get one event loop each), upstream keep-alive
 * like the Node proxies' pools, no access log. Everything it writes goes to a temp dir, so it runs
 * as any user without touching /var. The bench never installs nginx; without it the peer is skipped.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Child, freePort, waitForHttp } from './children.ts';
import { commandVersion } from './load.ts';

export interface RunningNginx {
  child: Child;
  origin: string;
  version: string;
}

/** `nginx version: nginx/1.22.1`, or undefined when nginx is not on PATH. */
export function nginxVersion(): string | undefined {
  return commandVersion('nginx', ['-v']);
}

function config(tmp: string, port: number, upstream: string): string {
  const t = (name: string) => path.join(tmp, name);
  return `worker_processes 1;
daemon off;
error_log ${t('error.log')} warn;
pid ${t('nginx.pid')};
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${t('client_body')};
  proxy_temp_path ${t('proxy')};
  fastcgi_temp_path ${t('fastcgi')};
  uwsgi_temp_path ${t('uwsgi')};
  scgi_temp_path ${t('scgi')};
  upstream bench {
    server ${upstream.replace(/^http:\/\//, '')};
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://bench;
      # Upstream keep-alive needs HTTP/1.1 and no "Connection: close" from the client side.
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

export async function startNginx(tmp: string, upstream: string): Promise<RunningNginx> {
  const version = nginxVersion();
  if (version === undefined) throw new Error('nginx is not on PATH');
  const port = await freePort();
  const file = path.join(tmp, 'nginx.conf');
  await writeFile(file, config(tmp, port, upstream));
  // -e: the error log used before the config is read (otherwise /var/log/nginx/error.log).
  const child = new Child('nginx', 'nginx', ['-p', tmp, '-e', path.join(tmp, 'error.log'), '-c', file]);
  const origin = `http://127.0.0.1:${port}`;
  try {
    await child.whileRunning(waitForHttp(`${origin}/x`, 10_000));
  } catch (err) {
    await child.stop();
    throw err;
  }
  return { child, origin, version };
}
