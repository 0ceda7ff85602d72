// The services' log: one line per event, tagged with the run-time id, in a
// file that is created on the first line at or above the chosen level, so a
// quiet run leaves no file. Writes are synchronous (appends of one line): a
// line written just before a crash is on disk.
import { closeSync, constants, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export const LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LEVELS)[number];

const APPEND_NOFOLLOW = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW;

export class Log {
  #fd = -1;
  #wrote = false;
  #failed = false;
  #closed = false;
  readonly #max: number;

  constructor(
    readonly file: string,
    private readonly rtid: string,
    private readonly host: string,
    level: LogLevel,
  ) {
    this.#max = LEVELS.indexOf(level);
  }

  /** True when a line was written (the file exists). */
  get written(): boolean {
    return this.#wrote;
  }

  enabled(level: LogLevel): boolean {
    return LEVELS.indexOf(level) <= this.#max;
  }

  error(component: string, msg: string): void {
    this.write('error', component, msg);
  }
  warn(component: string, msg: string): void {
    this.write('warn', component, msg);
  }
  info(component: string, msg: string): void {
    this.write('info', component, msg);
  }
  debug(component: string, msg: string): void {
    this.write('debug', component, msg);
  }

  write(level: LogLevel, component: string, msg: string): void {
    if (!this.enabled(level) || this.#failed) return;
    const line = `${new Date().toISOString()} rt=${this.rtid} ${this.host} ${level.toUpperCase()} [${component}] ${msg.replace(/\n/g, '\\n')}\n`;
    // After close (teardown done, its directory removed), a late line must not
    // create the file again: it goes to stderr, which the launcher keeps.
    if (this.#closed) return void process.stderr.write(line);
    try {
      if (this.#fd < 0) {
        mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
        // Never through a link planted in its place (its directory is checked: control/private-dir.ts).
        this.#fd = openSync(this.file, APPEND_NOFOLLOW, 0o600);
      }
      writeSync(this.#fd, line);
      this.#wrote = true;
    } catch {
      // A log that cannot be written must not take the run-time down.
      this.#failed = true;
    }
  }

  close(): void {
    if (this.#fd >= 0) closeSync(this.#fd);
    this.#fd = -1;
    this.#closed = true;
  }
}
