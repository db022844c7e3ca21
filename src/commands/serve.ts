import type { Command } from 'commander';
import { DEFAULTS, reloadDotEnv } from '../config.js';
import { UserError } from '../errors.js';
import { acquireServeLock } from '../log/serve-lock.js';
import { createLogger } from '../logger.js';
import { resolveSecrets } from '../receive/secrets.js';
import { globalsOf } from './globals.js';

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UserError(`--port: "${value}" is not a port number`);
  return port;
}

function parseBytes(value: string): number {
  const match = /^(\d+)\s*(b|kb|kib|mb|mib)?$/i.exec(value.trim());
  if (!match) throw new UserError(`--max-body: "${value}" is not a size (e.g. 1MiB, 512KiB, 65536)`);
  const unit = (match[2] ?? 'b').toLowerCase();
  const factor = unit.startsWith('k') ? 1024 : unit.startsWith('m') ? 1024 * 1024 : 1;
  return Number(match[1]) * factor;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('receive webhooks, route them through the rules and deliver them, in one process')
    .option('--port <n>', 'port to listen on (env PORT)', parsePort)
    .option('--host <h>', 'address to listen on (env HOST)')
    .option('--max-body <size>', 'largest body accepted (default 1MiB)', parseBytes)
    .action(async (opts: { port?: number; host?: string; maxBody?: number }) => {
      const g = globalsOf(program);
      // one serve per database; replay --rebuild refuses while this is held
      const lock = acquireServeLock(g.dbPath);
      const logger = createLogger();
      if (g.rulesWarning) logger.warn(g.rulesWarning);
      const resolved = resolveSecrets(g.env, g.dbPath, true)!;
      if (resolved.generated) {
        process.stderr.write(
          [
            '',
            `  No HUSKY_WEBHOOK_SECRET was set, so husky-relay generated one and saved it (mode 0600) in:`,
            `    ${resolved.file}`,
            `  Paste its contents into HuskyVoice: Dashboard → Integrations → Outbound Webhooks → your endpoint → Secret.`,
            `  Print it with:  cat ${resolved.file}`,
            '',
          ].join('\n') + '\n',
        );
      } else if (resolved.source === 'file') {
        logger.info({ file: resolved.file }, 'using the webhook secret saved beside the database');
      }
      let secrets = resolved.secrets;
      // loaded here, not at the top: other commands (replay over a million entries) should
      // not pay for koa and the Slack and HubSpot SDKs in memory and start-up time
      const { startRelay } = await import('../serve.js');
      const relay = await startRelay({
        dbPath: g.dbPath,
        secrets: () => secrets,
        logger,
        port: opts.port ?? (g.env['PORT'] ? parsePort(g.env['PORT']) : DEFAULTS.port),
        host: opts.host ?? g.env['HOST'] ?? DEFAULTS.host,
        maxBodyBytes: opts.maxBody,
        rulesPath: g.rulesPath,
        rulesPreferredPath: g.rulesPreferred,
        env: g.env,
        sinkEnv: {
          slackApiUrl: g.env['SLACK_API_URL'] ?? DEFAULTS.slackApiUrl,
          hubspotBaseUrl: g.env['HUBSPOT_BASE_URL'] ?? DEFAULTS.hubspotBaseUrl,
        },
      });
      logger.info({ url: `${relay.url}/webhooks/husky`, db: g.dbPath }, 'husky-relay is listening');

      process.on('SIGHUP', () => {
        reloadDotEnv();
        const again = resolveSecrets(process.env, g.dbPath, false);
        if (again) secrets = again.secrets;
        logger.info({ secrets: secrets.length }, 'SIGHUP: webhook secrets reloaded');
        void relay.pipeline?.rules.reload('SIGHUP');
      });
      const stop = async (signal: string) => {
        logger.info({ signal }, 'stopping: no new requests; answering those in flight');
        await relay.close();
        lock.release();
        logger.info('stopped cleanly');
        logger.flush();
        process.exit(0);
      };
      process.once('SIGTERM', () => void stop('SIGTERM'));
      process.once('SIGINT', () => void stop('SIGINT'));
    });
}
