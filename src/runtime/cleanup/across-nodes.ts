// dragon-cleanup on every node of an allocation: it starts itself once per
// node with `--local --json` through the same launch plans as the launcher
// (one `srun --overlap` step, one mpiexec, or one ssh/pbsdsh per host),
// reads the JSON lines each node prints, waits for them with a deadline,
// and prints the reports grouped by node ("node2: removed segment ...").
// A node that does not answer in time is named, and the run fails.
//
// The per-node runs are process.execPath + this package's
// bin/dragon-cleanup.js: the same paths must exist on every node (a shared
// filesystem), as for the launcher's backends.
import { rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { packageRoot } from '../package-root.js';
import { compressHostlist } from '../wlm/hostlist.js';
import { startLauncher } from '../wlm/exec.js';
import { explainLaunchFailure, launchPlans, nodeIndexFromEnv } from '../wlm/index.js';
import type { Allocation, LaunchPlan } from '../wlm/types.js';
import { cleanupLocal, type CleanupOptions, type CleanupResult } from './index.js';

// ---- the per-node side: --local --json ------------------------------------

/**
 * One JSON line of a per-node run. `type`: report (a thing removed, or that
 * would be), warn (left alone, or a failure), error (the run itself failed:
 * `text` says why), done (the end: counts). Every line carries the node's
 * host name and its index in the launch, so lines of all nodes can share
 * one stream (srun, mpiexec).
 */
export interface NodeRecord {
  dragonCleanup: 1;
  host: string;
  index: number;
  type: 'report' | 'warn' | 'error' | 'done';
  text?: string;
  removed?: number;
  failed?: number;
  /** Live run-times left alone. */
  kept?: number;
}

export function formatRecord(r: Omit<NodeRecord, 'dragonCleanup'>): string {
  return JSON.stringify({ dragonCleanup: 1, ...r });
}

/** A record, or undefined for any other line (a login banner, srun's noise). */
export function parseRecord(line: string): NodeRecord | undefined {
  const t = line.trim();
  if (!t.startsWith('{')) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch {
    return undefined;
  }
  const r = v as Partial<NodeRecord>;
  if (r?.dragonCleanup !== 1 || typeof r.host !== 'string' || typeof r.index !== 'number') return undefined;
  if (!['report', 'warn', 'error', 'done'].includes(r.type as string)) return undefined;
  return r as NodeRecord;
}

/** `dragon-cleanup --local --json`: this node, every line a record on `write`. */
export async function cleanupLocalJson(
  write: (line: string) => void,
  options: Omit<CleanupOptions, 'report' | 'warn'> = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<CleanupResult | undefined> {
  const host = hostname();
  let index = 0;
  try {
    index = nodeIndexFromEnv(env);
  } catch {
    // a bad index only blurs the attribution; the host name still says who we are
  }
  const emit = (r: Omit<NodeRecord, 'dragonCleanup' | 'host' | 'index'>) => write(formatRecord({ host, index, ...r }));
  try {
    const result = await cleanupLocal({
      ...options,
      report: (text) => emit({ type: 'report', text }),
      warn: (text) => emit({ type: 'warn', text }),
    });
    emit({ type: 'done', removed: result.removed, failed: result.failed, kept: result.plan.kept.length });
    return result;
  } catch (err) {
    emit({ type: 'error', text: (err as Error).message });
    return undefined;
  }
}

// ---- the gathering side ------------------------------------------------------

/** What one node said. */
export interface NodeOutcome {
  node: string;
  lines: NodeRecord[];
  done: NodeRecord | undefined;
  error: string | undefined;
}

const firstLabel = (h: string) => h.toLowerCase().split('.')[0]!;

/**
 * Collects records and attributes each to a node of the allocation: by the
 * plan it came from when there is one plan per node (ssh, pbsdsh), else by
 * host name (compared by first label: node1 = node1.cluster), else by its
 * index in the launch.
 */
export class Gathering {
  readonly outcomes: NodeOutcome[];
  /** Records no node could be found for (a host outside the list, an index out of range). */
  readonly stray: NodeRecord[] = [];

  constructor(readonly nodes: string[]) {
    this.outcomes = nodes.map((node) => ({ node, lines: [], done: undefined, error: undefined }));
  }

  private find(r: NodeRecord, planIndex: number | undefined): NodeOutcome | undefined {
    if (planIndex !== undefined) return this.outcomes[planIndex];
    const byHost = this.outcomes.find((o) => firstLabel(o.node) === firstLabel(r.host));
    return byHost ?? this.outcomes[r.index];
  }

  add(r: NodeRecord, planIndex?: number): void {
    const o = this.find(r, planIndex);
    if (!o) {
      this.stray.push(r);
      return;
    }
    if (r.type === 'done') o.done = r;
    else if (r.type === 'error') o.error = r.text ?? 'failed';
    else o.lines.push(r);
  }

  /** Nodes that have not finished (no done, no error). */
  pending(): string[] {
    return this.outcomes.filter((o) => !o.done && o.error === undefined).map((o) => o.node);
  }

  /** A node failed if it did not answer, its run failed, or something there could not be removed. */
  failedNodes(): string[] {
    return this.outcomes.filter((o) => o.error !== undefined || !o.done || (o.done.failed ?? 0) > 0).map((o) => o.node);
  }
}

/** The line for nodes that did not answer before the deadline. */
export function noAnswerMessage(nodes: string[], deadlineMs: number, why?: string): string {
  const secs = deadlineMs % 1000 === 0 ? `${deadlineMs / 1000} s` : `${deadlineMs} ms`;
  const n = nodes.length;
  return (
    `no answer from ${compressHostlist(nodes)} within ${secs}${why ? ` (${why})` : ''}: ` +
    `${n === 1 ? 'it may be' : 'they may be'} down or hung; run dragon-cleanup --local there when ${n === 1 ? 'it is' : 'they are'} back, or give more time with --timeout`
  );
}

/** The lines to print for one node, each "node: text". */
export function nodeLines(o: NodeOutcome): { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  for (const r of o.lines) (r.type === 'report' ? out : err).push(`${o.node}: ${r.text ?? ''}`);
  if (o.error !== undefined) err.push(`${o.node}: ${o.error}`);
  else if (o.done && (o.done.removed ?? 0) === 0 && (o.done.failed ?? 0) === 0) {
    const kept = o.done.kept ?? 0;
    out.push(`${o.node}: nothing to clean${kept ? ` (${kept} live run-time${kept > 1 ? 's' : ''} left alone)` : ''}`);
  }
  return { out, err };
}

export interface RunPlansOptions {
  deadlineMs: number;
  /** Milliseconds between SIGTERM and SIGKILL for launchers still running at the deadline. */
  killGraceMs?: number;
  /** Lines of the launchers' stdout that are not records. */
  onOther?: (line: string) => void;
}

export interface LauncherExit {
  plan: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/**
 * Runs the plans (all at once), feeds their records into `g`, and returns
 * when every launcher has exited, or at the deadline after stopping those
 * still running (SIGTERM, then SIGKILL). `timedOut` says which happened.
 */
export async function runPlans(plans: LaunchPlan[], g: Gathering, o: RunPlansOptions): Promise<{ exits: LauncherExit[]; timedOut: boolean }> {
  const perNode = plans.length === g.nodes.length;
  let timedOut = false;
  // Own process group (startLauncher): the deadline stops the launcher and what it started here.
  const launched = await Promise.all(plans.map((plan) => startLauncher(plan, 'pipe')));
  const signalAll = (sig: NodeJS.Signals) => {
    for (const { child: c } of launched) {
      if (c.exitCode !== null || c.signalCode !== null || c.pid === undefined) continue;
      try {
        process.kill(-c.pid, sig);
      } catch {
        // already gone
      }
    }
  };
  let killTimer: NodeJS.Timeout | undefined;
  const deadline = setTimeout(() => {
    timedOut = true;
    signalAll('SIGTERM');
    killTimer = setTimeout(() => signalAll('SIGKILL'), o.killGraceMs ?? 2000);
  }, o.deadlineMs);
  const exits = await Promise.all(
    launched.map(async ({ child, exited }, i): Promise<LauncherExit> => {
      let stderr = '';
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (d: string) => {
        // After the deadline only our own kill speaks ("task 2: Killed"): not a reason.
        if (!timedOut && stderr.length < 64 * 1024) stderr += d;
      });
      createInterface({ input: child.stdout!, crlfDelay: Infinity }).on('line', (line) => {
        const r = parseRecord(line);
        if (r) g.add(r, perNode ? i : undefined);
        else if (line.trim()) o.onOther?.(line);
      });
      const e = await exited;
      return { plan: i, code: e.code, signal: e.signal, stderr: e.startError ? `${stderr}${e.startError}\n` : stderr };
    }),
  );
  clearTimeout(deadline);
  if (killTimer) clearTimeout(killTimer);
  for (const p of plans) for (const f of p.files ?? []) rmSync(f, { force: true });
  return { exits, timedOut };
}

/** Where the per-node runs find this command. */
export function cleanupArgv(dryRun: boolean): string[] {
  return [process.execPath, join(packageRoot(), 'bin', 'dragon-cleanup.js'), '--local', '--json', ...(dryRun ? ['--dry-run'] : [])];
}

export interface AcrossOptions {
  dryRun: boolean;
  deadlineMs: number;
  env: NodeJS.ProcessEnv;
  /** stdout lines (reports). */
  print: (line: string) => void;
  /** stderr lines (warnings, failures). */
  warn: (line: string) => void;
  /** Print every record as a JSON line (with "node") instead of text. */
  json?: boolean;
  /** What to run on each node; default cleanupArgv(dryRun). */
  argv?: string[];
  /** Only these nodes of the allocation (the launcher: the nodes whose backend died); default all. */
  nodes?: string[];
}

/**
 * Why `missing` nodes did not report, from the launchers' exit and stderr:
 * one line per node when each had its own launcher (ssh, pbsdsh), else one
 * line for all of them.
 */
export function missingLines(a: Allocation, perNode: boolean, missing: string[], exits: LauncherExit[], timedOut: boolean, deadlineMs: number): string[] {
  const reason = (e: LauncherExit | undefined, host?: string): string | undefined => {
    if (!e) return undefined;
    const explained = explainLaunchFailure(a.kind, e.code, e.stderr, host, 'dragon-cleanup');
    if (explained) return explained;
    const last = e.stderr.trim().split('\n').pop()?.trim();
    if (last) return last;
    if (timedOut && e.signal) return undefined; // our own kill at the deadline
    return e.signal ? `the launcher was killed by ${e.signal}` : e.code !== null ? `the launcher exited with ${e.code} without a report` : undefined;
  };
  if (perNode) {
    return missing.map((node) => {
      const why = reason(exits.find((e) => e.plan === a.nodes.indexOf(node)), node);
      return timedOut ? noAnswerMessage([node], deadlineMs, why) : `no report from ${node}: ${why ?? 'the launcher exited without one'}`;
    });
  }
  const why = exits.map((e) => reason(e)).find((x) => x !== undefined);
  return [timedOut ? noAnswerMessage(missing, deadlineMs, why) : `no report from ${compressHostlist(missing)}: ${why ?? 'the launcher exited without one'}`];
}

/** Cleans every node of `a`; resolves to true when every node answered and nothing failed. */
export async function cleanupAcrossNodes(a: Allocation, o: AcrossOptions): Promise<boolean> {
  const nodes = o.nodes ?? a.nodes;
  const plans = await launchPlans(a, nodes, o.argv ?? cleanupArgv(o.dryRun), o.env, {});
  const g = new Gathering(nodes);
  const { exits, timedOut } = await runPlans(plans, g, { deadlineMs: o.deadlineMs, onOther: (l) => o.warn(l) });

  for (const out of g.outcomes) {
    if (o.json) {
      for (const r of [...out.lines, ...(out.done ? [out.done] : [])]) o.print(JSON.stringify({ node: out.node, ...r }));
      if (out.error !== undefined) o.print(JSON.stringify({ node: out.node, dragonCleanup: 1, type: 'error', text: out.error }));
      continue;
    }
    const { out: lines, err } = nodeLines(out);
    lines.forEach((l) => o.print(l));
    err.forEach((l) => o.warn(l));
  }
  for (const r of g.stray) o.warn(`${r.host}: ${r.text ?? r.type} (a host outside ${compressHostlist(nodes)})`);

  const missing = g.pending();
  if (missing.length) missingLines({ ...a, nodes }, plans.length === nodes.length, missing, exits, timedOut, o.deadlineMs).forEach((l) => o.warn(l));
  return g.failedNodes().length === 0;
}
