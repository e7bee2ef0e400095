// Command-line options of `npm run demo -- [--sessions N] [--calls N] [--updates N] [--concurrency N]`.

export interface DemoOptions {
  /** Sessions to open, each with its own auth key (a real handshake). */
  sessions: number;
  /** messages.sendMessage calls per session (plus one help.getConfig each). */
  calls: number;
  /** Updates pushed to each session. */
  updates: number;
  /** Handshakes running at once. */
  concurrency: number;
}

const DEFAULTS: DemoOptions = { sessions: 100, calls: 20, updates: 5, concurrency: 16 };

const USAGE = `usage: npm run demo -- [--sessions N] [--calls N] [--updates N] [--concurrency N]
  --sessions     sessions to open, each creating its auth key (default ${DEFAULTS.sessions})
  --calls        messages.sendMessage calls per session, after one help.getConfig (default ${DEFAULTS.calls})
  --updates      updates TestDc pushes to each session (default ${DEFAULTS.updates})
  --concurrency  handshakes at a time (default ${DEFAULTS.concurrency})
  --fleet        the fleet demo instead (demo/fleet.ts): PostgreSQL, Redis, 3 worker processes,
                 a worker killed; --sessions there defaults to 1000`;

/** Parses argv (without node and the script); prints usage and exits on --help or a bad value. */
export function parseArgs(argv: readonly string[]): DemoOptions {
  const options = { ...DEFAULTS };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    }
    const [flag, inline] = arg.split('=', 2);
    const key = flag.replace(/^--/, '') as keyof DemoOptions;
    if (!flag.startsWith('--') || !(key in DEFAULTS)) fail(`unknown option ${arg}`);
    const raw = inline ?? argv[++i];
    const value = Number(raw);
    const min = key === 'sessions' || key === 'concurrency' ? 1 : 0;
    if (!Number.isInteger(value) || value < min) fail(`${flag} needs an integer >= ${min}, got ${raw}`);
    options[key] = value;
  }
  return options;
}

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}
