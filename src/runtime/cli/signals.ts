// SIGINT/SIGTERM of the `dragon` process, turned into the two AbortSignals
// runDragon takes (it installs no handler itself, so a program embedding it
// keeps control of its own signals):
//   1st signal  -> `signal` aborts (reason: the signal's name): graceful teardown
//   2nd signal  -> `hasten` aborts: SIGKILL what is left, now
//   3rd signal  -> the frontend exits at once with 128+n; the backend notices
//                  its frontend is gone and tears down on its own.
import { constants } from 'node:os';

export interface TeardownSignals {
  signal: AbortSignal;
  hasten: AbortSignal;
}

type Handled = 'SIGINT' | 'SIGTERM';
const HANDLED: Handled[] = ['SIGINT', 'SIGTERM'];

export async function withSignals<T>(
  fn: (signals: TeardownSignals) => Promise<T>,
  exit: (code: number) => void = (code) => process.exit(code),
): Promise<T> {
  const graceful = new AbortController();
  const hasten = new AbortController();
  let count = 0;
  const onSignal = (name: Handled) => {
    count++;
    if (count === 1) graceful.abort(name);
    else if (count === 2) hasten.abort(name);
    else exit(128 + constants.signals[name]);
  };
  for (const name of HANDLED) process.on(name, onSignal);
  try {
    return await fn({ signal: graceful.signal, hasten: hasten.signal });
  } finally {
    for (const name of HANDLED) process.off(name, onSignal);
  }
}
